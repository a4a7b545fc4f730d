package smtpin

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// connectFrom opens a raw connection from local address from (any
// 127.0.0.0/8 address is the loopback on Linux) and returns the greeting.
func connectFrom(t *testing.T, addr, from string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("greeting from %s: %v", from, err)
	}
	return c, line
}

func TestConnectionLimits(t *testing.T) {
	const (
		greeting  = "220 mx.kubedesk.test ESMTP Service Ready\r\n"
		serverCap = "421 4.7.0 mx.kubedesk.test too many connections; try again later\r\n"
		ipCap     = "421 4.7.0 mx.kubedesk.test too many connections from your address; try again later\r\n"
	)
	tests := []struct {
		name           string
		maxConnections int
		perIP          int
		from           []string // local addresses, one connection each
		want           []string // greetings
	}{
		{name: "per address", maxConnections: 10, perIP: 2,
			from: []string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2"},
			want: []string{greeting, greeting, ipCap, greeting}},
		{name: "whole server", maxConnections: 3, perIP: 2,
			from: []string{"127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.3"},
			want: []string{greeting, greeting, greeting, serverCap}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxConnections, cfg.PerIP.Connections = tt.maxConnections, tt.perIP
			ts := start(t, cfg, newStore())
			var conns []net.Conn
			for i, from := range tt.from {
				c, got := connectFrom(t, ts.addr, from)
				if got != tt.want[i] {
					t.Errorf("connection %d from %s: %q, want %q", i+1, from, got, tt.want[i])
				}
				conns = append(conns, c)
			}
			// A refused connection is closed; a closed one frees its place.
			_ = conns[0].Close()
			waitFor(t, "a place to free", func() bool {
				ts.mu.Lock()
				defer ts.mu.Unlock()
				return len(ts.conns) == len(tt.from)-2
			})
			if _, got := connectFrom(t, ts.addr, tt.from[0]); got != greeting {
				t.Errorf("after one closed: %q, want %q", got, greeting)
			}
		})
	}
}

func TestPerAddressMapsEmpty(t *testing.T) {
	ts := start(t, testConfig(), newStore())
	for _, from := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		c, _ := connectFrom(t, ts.addr, from)
		_, _ = c.Write([]byte("QUIT\r\n"))
	}
	waitFor(t, "every connection forgotten", func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		return len(ts.conns) == 0 && len(ts.perIP) == 0
	})
}

func TestMessageRate(t *testing.T) {
	cfg := testConfig()
	cfg.PerIP.Messages = Rate{Per: 0.001, Burst: 2}
	st := newStore()
	ts := start(t, cfg, st)
	c := dial(t, ts.addr)
	var codes []int
	for range 3 {
		code, _ := reply(t, send(c, "ana@customer.example", []string{"support@acme.example"}, strings.NewReader(message)))
		codes = append(codes, code)
	}
	if codes[0] != 250 || codes[1] != 250 || codes[2] != 451 {
		t.Errorf("replies %v, want [250 250 451]", codes)
	}
	err := c.Mail("ana@customer.example", nil)
	var se *smtp.SMTPError
	want := "too many messages from 127.0.0.1; try again in 1000 seconds"
	if code, enh := reply(t, err); code != 451 || enh != (smtp.EnhancedCode{4, 7, 1}) || !asSMTP(err, &se) || se.Message != want {
		t.Errorf("MAIL over the rate: %v, want 451 4.7.1 %s", err, want)
	}
	if calls, _ := st.stats(); calls != 2 {
		t.Errorf("Deliver called %d times, want 2", calls)
	}

	// Another address has a bucket of its own.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	raw, err := d.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	other := smtp.NewClient(raw)
	defer other.Close()
	if err := other.Hello("other.example"); err != nil {
		t.Fatal(err)
	}
	if err := send(other, "bo@customer.example", []string{"support@acme.example"}, strings.NewReader(message)); err != nil {
		t.Errorf("message from another address: %v, want 250", err)
	}
}

func TestIPKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		if got := ipKey(mustAddr(tt.ip)); got != tt.want {
			t.Errorf("ipKey(%s) = %s, want %s", tt.ip, got, tt.want)
		}
	}
}
