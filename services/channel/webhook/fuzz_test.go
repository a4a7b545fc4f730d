package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// noDNS is a resolver that answers nothing, so that fuzzing asks no
// name server.
var noDNS = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no name server in the fuzz test")
}}

// FuzzCheckURL: whatever a caller sends as a webhook's URL, CheckURL
// does not panic, and what it accepts is http or https, has a host,
// carries no user information, and an IP host is one the guard allows.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://93.184.215.14/hooks", "http://127.0.0.1:8080/x", "http://169.254.169.254/latest", "ftp://x",
		"http://[::ffff:10.0.0.1]/", "http://[fe80::1%25eth0]:80/", "https://user:pw@1.2.3.4/", "http://1.2.3.4:99999/",
		"http://0x7f.1/", "http://2130706433/", "//1.2.3.4/", "http:/1.2.3.4", "HTTP://[64:ff9b::7f00:1]/", "",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowPrivate bool) {
		g := Guard{AllowPrivate: allowPrivate, Resolver: noDNS}
		u, err := g.CheckURL(context.Background(), raw)
		if err != nil {
			return
		}
		if s := strings.ToLower(u.Scheme); s != "http" && s != "https" || u.Hostname() == "" || u.User != nil {
			t.Fatalf("accepted %q: scheme %q, host %q, user %v", raw, u.Scheme, u.Hostname(), u.User)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil {
			if err := g.Check(a); err != nil {
				t.Fatalf("accepted %q, whose host the guard refuses: %v", raw, err)
			}
		}
	})
}

// FuzzDeliveryFilter: ListWebhookDeliveries' filter never panics, and
// what it accepts names a known state.
func FuzzDeliveryFilter(f *testing.F) {
	for _, s := range []string{"", "state = pending", "state = dead_lettered AND ticket = t1", "ticket=\"a b\"", "state", "x = y AND", " AND "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		q, err := deliveryQuery(filter)
		if err == nil && q.State != "" && !slices.Contains(deliveryStates, q.State) {
			t.Fatalf("filter %q gave state %q", filter, q.State)
		}
	})
}
