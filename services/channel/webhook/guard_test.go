package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestGuardCheck(t *testing.T) {
	for _, tt := range []struct {
		addr string
		rule string // "" when reachable
		// private: the rule gives way to allowPrivateNetworks.
		private bool
	}{
		{"93.184.215.14", "", false},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", "", false},
		{"8.8.8.8", "", false},
		{"169.254.169.254", "cloud metadata", false},
		{"169.254.170.2", "cloud metadata", false},
		{"100.100.100.200", "cloud metadata", false},
		{"fd00:ec2::254", "cloud metadata", false},
		{"::ffff:169.254.169.254", "cloud metadata", false},
		{"0.0.0.0", "unspecified", false},
		{"0.1.2.3", "unspecified", false},
		{"::", "unspecified", false},
		{"224.0.0.1", "multicast", false},
		{"ff02::1", "multicast", false},
		{"255.255.255.255", "reserved", false},
		{"240.0.0.1", "reserved", false},
		{"192.0.2.10", "reserved", false},
		{"2001:db8::1", "reserved", false},
		{"127.0.0.1", "loopback", true},
		{"127.8.9.10", "loopback", true},
		{"::1", "loopback", true},
		{"::ffff:127.0.0.1", "loopback", true},
		{"169.254.10.20", "link-local", true},
		{"fe80::1", "link-local", true},
		{"fe80::1%eth0", "link-local", true},
		{"10.1.2.3", "private", true},
		{"172.16.0.1", "private", true},
		{"172.31.255.255", "private", true},
		{"172.32.0.1", "", false},
		{"192.168.1.1", "private", true},
		{"fd12:3456::1", "private", true},
		{"100.64.0.1", "carrier-grade NAT", true},
		{"100.127.255.254", "carrier-grade NAT", true},
		{"100.128.0.1", "", false},
		// IPv4 inside IPv6: NAT64, 6to4, IPv4-compatible.
		{"64:ff9b::a9fe:a9fe", "cloud metadata", false},
		{"64:ff9b::7f00:1", "loopback", true},
		{"64:ff9b::808:808", "", false},
		{"2002:a00:1::1", "private", true},
		{"::127.0.0.1", "loopback", true},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			for _, allow := range []bool{false, true} {
				err := Guard{AllowPrivate: allow}.Check(a)
				wantRefused := tt.rule != "" && (!allow || !tt.private)
				if !wantRefused {
					if err != nil {
						t.Errorf("allowPrivate %v: %v, want reachable", allow, err)
					}
					continue
				}
				var refused *RefusedError
				if !errors.As(err, &refused) || refused.Rule != tt.rule || refused.Private != tt.private {
					t.Errorf("allowPrivate %v: %v, want refused by rule %q (private %v)", allow, err, tt.rule, tt.private)
				}
			}
		})
	}
}

// TestRefusedErrorText pins the words users see.
func TestRefusedErrorText(t *testing.T) {
	for addr, want := range map[string]string{
		"169.254.169.254": `169.254.169.254 is a cloud metadata address (rule "cloud metadata": never a webhook's target)`,
		"127.0.0.1":       `127.0.0.1 is a loopback address (rule "loopback": refused unless the tenant sets spec.channels.webhooks.allowPrivateNetworks)`,
		"0.0.0.0":         `0.0.0.0 is an unspecified address (rule "unspecified": never a webhook's target)`,
	} {
		if got := (Guard{}).Check(netip.MustParseAddr(addr)); got == nil || got.Error() != want {
			t.Errorf("Check(%s) = %v\nwant %s", addr, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	const accepted = "; accepted: an http or https URL whose host resolves to public addresses, e.g. https://hooks.example.com/kubedesk"
	for _, tt := range []struct {
		url, err     string
		allowPrivate bool
	}{
		{url: "https://93.184.215.14/hooks"},
		{url: "HTTP://93.184.215.14:8080/hooks?x=1"},
		{url: "http://127.0.0.1:9999/hooks", allowPrivate: true},
		{url: "http://[::1]:9999/hooks", allowPrivate: true},
		{url: "http://localhost:9999/hooks", allowPrivate: true},
		{url: "http://169.254.169.254/latest/meta-data/", allowPrivate: true,
			err: `"http://169.254.169.254/latest/meta-data/": 169.254.169.254 is a cloud metadata address (rule "cloud metadata": never a webhook's target)` + accepted},
		{url: "http://127.0.0.1:9999/hooks",
			err: `"http://127.0.0.1:9999/hooks": 127.0.0.1 is a loopback address (rule "loopback": refused unless the tenant sets spec.channels.webhooks.allowPrivateNetworks)` + accepted},
		{url: "http://localhost:9999/hooks", err: `"http://localhost:9999/hooks": host localhost resolves to an address webhooks may not reach: `},
		{url: "http://[::ffff:10.0.0.1]/", err: `10.0.0.1 is a private address`},
		{url: "ftp://93.184.215.14/hooks", err: `"ftp://93.184.215.14/hooks": scheme "ftp" is not accepted` + accepted},
		{url: "file:///etc/passwd", err: `"file:///etc/passwd": scheme "file" is not accepted` + accepted},
		{url: "gopher://93.184.215.14:70/", err: `scheme "gopher" is not accepted`},
		{url: "hooks.example.com/kubedesk", err: `"hooks.example.com/kubedesk" has no scheme` + accepted},
		{url: "https:///kubedesk", err: `"https:///kubedesk" has no host` + accepted},
		{url: "https:hooks", err: `"https:hooks" has no host`},
		{url: "https://user:pass@93.184.215.14/", err: `"https://user:pass@93.184.215.14/" carries user information; accepted: a URL without it`},
		{url: "https://93.184.215.14:99999999/", err: `"https://93.184.215.14:99999999/": port 99999999 is not a TCP port; accepted: 1 to 65535`},
		{url: "https://93.184.215.14:0/", err: `port 0 is not a TCP port`},
		{url: "https://93.184.215.14:8x/", err: `is not a URL (invalid port ":8x" after host)`},
		{url: "https://no-such-host.invalid/", err: `"https://no-such-host.invalid/": host no-such-host.invalid does not resolve (`},
	} {
		t.Run(tt.url, func(t *testing.T) {
			_, err := Guard{AllowPrivate: tt.allowPrivate}.CheckURL(context.Background(), tt.url)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("error %v\nwant it to hold %s", err, tt.err)
			}
		})
	}
}

// TestControlRefusesAtConnect: the dialer's hook refuses the address it
// is about to connect to, whatever name led there, so a host that
// resolved to a public address when the webhook was written and to a
// private one now (DNS rebinding) gets no connection.
func TestControlRefusesAtConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, allow := range []bool{false, true} {
		d := net.Dialer{Control: Guard{AllowPrivate: allow}.Control}
		// A name, resolved by the dialer: the hook sees the address.
		c, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port))
		if allow {
			if err != nil {
				t.Errorf("allowPrivate: dial localhost: %v", err)
			} else {
				c.Close()
			}
			continue
		}
		var refused *RefusedError
		if !errors.As(err, &refused) || refused.Rule != "loopback" {
			if c != nil {
				c.Close()
			}
			t.Errorf("dial localhost = %v, want refused by the loopback rule", err)
		}
	}
}
