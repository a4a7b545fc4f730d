package smtpin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.opentelemetry.io/otel/metric/noop"
)

// store is the tests' Backend: a mailbox list and an in-memory store
// whose Deliver a test may replace.
type store struct {
	mu        sync.Mutex
	known     []string
	deliver   func(ctx context.Context, env Envelope, data []byte) error
	delivered []delivery
	calls     int
}

type delivery struct {
	env  Envelope
	data string
}

func newStore(known ...string) *store {
	if len(known) == 0 {
		known = []string{"support@acme.example", "sales@acme.example"}
	}
	return &store{known: known}
}

func (s *store) Recipient(_ context.Context, addr string) error {
	switch {
	case addr == "deferred@acme.example":
		return errors.New("directory down")
	case addr == "blocked@acme.example":
		return &Reply{Code: 550, Enhanced: [3]int{5, 7, 1}, Message: "delivery not authorized"}
	case strings.HasPrefix(addr, "any+"):
		return nil
	case slices.Contains(s.known, strings.ToLower(addr)):
		return nil
	}
	return ErrUnknownRecipient
}

func (s *store) Deliver(ctx context.Context, env Envelope, data []byte) error {
	s.mu.Lock()
	s.calls++
	f := s.deliver
	s.mu.Unlock()
	if f != nil {
		if err := f(ctx, env, data); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivered = append(s.delivered, delivery{env: env, data: string(data)})
	return nil
}

func (s *store) setDeliver(f func(context.Context, Envelope, []byte) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliver = f
}

func (s *store) stats() (calls int, delivered []delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, slices.Clone(s.delivered)
}

// testConfig is the default configuration with a fixed hostname and
// timeouts short enough for tests.
func testConfig() Config {
	c := DefaultConfig()
	c.Addr = "127.0.0.1:0"
	c.Hostname = "mx.kubedesk.test"
	c.ReadTimeout = 5 * time.Second
	c.WriteTimeout = 5 * time.Second
	c.BackendTimeout = 5 * time.Second
	return c
}

// testServer is a server listening on a loopback port.
type testServer struct {
	*Server
	addr   string
	served chan error
}

// start serves cfg and b on 127.0.0.1 until the test ends.
func start(t testing.TB, cfg Config, b Backend) *testServer {
	t.Helper()
	return startWith(t, cfg, b, nil)
}

func startWith(t testing.TB, cfg Config, b Backend, s *Server) *testServer {
	t.Helper()
	if s == nil {
		var err error
		if s, err = newServer(cfg, b, slog.New(slog.DiscardHandler), noop.NewMeterProvider().Meter(MeterName)); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { ts.served <- s.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		select {
		case err := <-ts.served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return ts
}

// dial opens a client session that has said EHLO.
func dial(t testing.TB, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Hello("client.example"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	return c
}

// send sends one message on c and returns the first refusal.
func send(c *smtp.Client, from string, to []string, body io.Reader) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, body); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}

// sendOne sends one message over a new connection.
func sendOne(t *testing.T, addr, from string, to []string, body string) error {
	t.Helper()
	c := dial(t, addr)
	err := send(c, from, to, strings.NewReader(body))
	_ = c.Quit()
	return err
}

// reply is the code and enhanced code of err, or 250 2.0.0 for nil.
func reply(t *testing.T, err error) (int, smtp.EnhancedCode) {
	t.Helper()
	if err == nil {
		return 250, smtp.EnhancedCode{2, 0, 0}
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("not an SMTP reply: %v", err)
	}
	return se.Code, se.EnhancedCode
}

const message = "From: ana@customer.example\r\nTo: support@acme.example\r\nSubject: printer\r\n\r\nThe printer is on fire.\r\n"

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// listen opens a loopback listener.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func asSMTP(err error, target **smtp.SMTPError) bool { return errors.As(err, target) }

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
