package smtpin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestReplies(t *testing.T) {
	tests := []struct {
		name     string
		from     string
		to       []string
		deliver  func(context.Context, Envelope, []byte) error
		code     int
		enhanced smtp.EnhancedCode
		stored   int // messages stored
		calls    int // Deliver calls
	}{
		{name: "stored", from: "ana@customer.example", to: []string{"support@acme.example"}, code: 250, enhanced: smtp.EnhancedCode{2, 0, 0}, stored: 1, calls: 1},
		{name: "null sender", from: "", to: []string{"support@acme.example"}, code: 250, enhanced: smtp.EnhancedCode{2, 0, 0}, stored: 1, calls: 1},
		{name: "unknown recipient", from: "ana@customer.example", to: []string{"nobody@acme.example"}, code: 550, enhanced: smtp.EnhancedCode{5, 1, 1}},
		{name: "recipient check fails", from: "ana@customer.example", to: []string{"deferred@acme.example"}, code: 451, enhanced: smtp.EnhancedCode{4, 3, 0}},
		{name: "recipient refused by reply", from: "ana@customer.example", to: []string{"blocked@acme.example"}, code: 550, enhanced: smtp.EnhancedCode{5, 7, 1}},
		{name: "storage fails", from: "ana@customer.example", to: []string{"support@acme.example"},
			deliver: func(context.Context, Envelope, []byte) error { return errors.New("disk full") },
			code:    451, enhanced: smtp.EnhancedCode{4, 3, 0}, calls: 1},
		{name: "backend refuses", from: "ana@customer.example", to: []string{"support@acme.example"},
			deliver: func(context.Context, Envelope, []byte) error {
				return fmt.Errorf("policy: %w", &Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Message: "spam"})
			},
			code: 554, enhanced: smtp.EnhancedCode{5, 7, 1}, calls: 1},
		{name: "backend reply with a wrong class gets X.0.0", from: "ana@customer.example", to: []string{"support@acme.example"},
			deliver: func(context.Context, Envelope, []byte) error {
				return &Reply{Code: 452, Enhanced: [3]int{5, 2, 2}, Message: "mailbox\r\nfull"}
			},
			code: 452, enhanced: smtp.EnhancedCode{4, 0, 0}, calls: 1},
		{name: "backend reply that is no error code is a failure", from: "ana@customer.example", to: []string{"support@acme.example"},
			deliver: func(context.Context, Envelope, []byte) error { return &Reply{Code: 250, Message: "fine?"} },
			code:    451, enhanced: smtp.EnhancedCode{4, 3, 0}, calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore()
			st.setDeliver(tt.deliver)
			ts := start(t, testConfig(), st)
			code, enh := reply(t, sendOne(t, ts.addr, tt.from, tt.to, message))
			if code != tt.code || enh != tt.enhanced {
				t.Errorf("reply %d %v, want %d %v", code, enh, tt.code, tt.enhanced)
			}
			calls, stored := st.stats()
			if calls != tt.calls || len(stored) != tt.stored {
				t.Errorf("Deliver called %d times, %d stored; want %d, %d", calls, len(stored), tt.calls, tt.stored)
			}
		})
	}
}

func TestEnvelope(t *testing.T) {
	st := newStore()
	ts := start(t, testConfig(), st)
	c := dial(t, ts.addr)
	if err := c.Mail("", nil); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"support@acme.example", "nobody@acme.example", "sales@acme.example", "support@acme.example"} {
		_ = c.Rcpt(rcpt, nil)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	body := "Subject: =?UTF-8?B?5omT5Y2w5py6?=\r\n\r\n打印机坏了\r\n..leading dot\r\n"
	_, _ = io.WriteString(w, body)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, got := st.stats()
	want := []delivery{{
		env: Envelope{RemoteIP: netip.MustParseAddr("127.0.0.1"), Helo: "client.example", From: "",
			To: []string{"support@acme.example", "sales@acme.example"}},
		data: body,
	}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(delivery{}), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

func TestRetryAfterStorageFailure(t *testing.T) {
	st := newStore()
	fails := 1
	st.setDeliver(func(context.Context, Envelope, []byte) error {
		if fails > 0 {
			fails--
			return errors.New("database restarting")
		}
		return nil
	})
	ts := start(t, testConfig(), st)
	c := dial(t, ts.addr)
	for i, want := range []int{451, 250} {
		// The sender retries on the same connection, as an MTA may.
		if code, _ := reply(t, send(c, "ana@customer.example", []string{"support@acme.example"}, strings.NewReader(message))); code != want {
			t.Fatalf("try %d: reply %d, want %d", i+1, code, want)
		}
	}
	if calls, stored := st.stats(); calls != 2 || len(stored) != 1 {
		t.Errorf("Deliver called %d times, %d stored; want 2, 1", calls, len(stored))
	}
}

func TestTooManyRecipients(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRecipients = 2
	st := newStore()
	ts := start(t, cfg, st)
	c := dial(t, ts.addr)
	if err := c.Mail("ana@customer.example", nil); err != nil {
		t.Fatal(err)
	}
	var codes []int
	for i := range 3 {
		code, _ := reply(t, c.Rcpt(fmt.Sprintf("any+%d@acme.example", i), nil))
		codes = append(codes, code)
	}
	if diff := cmp.Diff([]int{250, 250, 452}, codes); diff != "" {
		t.Errorf("RCPT replies (-want +got):\n%s", diff)
	}
	err := c.Rcpt("any+4@acme.example", nil)
	if code, enh := reply(t, err); code != 452 || enh != (smtp.EnhancedCode{4, 5, 3}) {
		t.Errorf("reply %d %v, want 452 4.5.3", code, enh)
	}
}

// bigBody is n bytes of message text in 78-character lines, generated
// as it is read.
func bigBody(n int64) io.Reader {
	line := []byte(strings.Repeat("x", 76) + "\r\n")
	return io.LimitReader(&repeater{line: line}, n)
}

type repeater struct {
	line []byte
	off  int
}

func (r *repeater) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c := copy(b[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}

func TestTooLarge(t *testing.T) {
	const limit = 64 << 10
	cfg := testConfig()
	cfg.MaxMessageBytes = limit
	st := newStore()
	ts := start(t, cfg, st)
	tests := []struct {
		name string
		size int64
		code int
	}{
		{name: "within the limit", size: limit - 2048, code: 250},
		{name: "just over", size: limit + 1024, code: 552},
		{name: "far over", size: 16 << 20, code: 552},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := st.stats()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			c := dial(t, ts.addr)
			err := send(c, "ana@customer.example", []string{"support@acme.example"}, bigBody(tt.size))
			runtime.ReadMemStats(&ms1)
			code, enh := reply(t, err)
			if code != tt.code {
				t.Fatalf("reply %d %v, want %d", code, enh, tt.code)
			}
			after, _ := st.stats()
			if code == 552 {
				if enh != (smtp.EnhancedCode{5, 3, 4}) {
					t.Errorf("enhanced code %v, want 5.3.4", enh)
				}
				if after != before {
					t.Errorf("Deliver was called for a message over the limit")
				}
				// The server keeps at most the limit (twice, as the buffer
				// grows), never the 16 MiB sent.
				if grew := ms1.TotalAlloc - ms0.TotalAlloc; tt.size > 1<<20 && grew > 8<<20 {
					t.Errorf("allocated %d bytes receiving a %d-byte message over a %d-byte limit", grew, tt.size, limit)
				}
			}
			// The session goes on after the refusal.
			if code, _ := reply(t, send(c, "ana@customer.example", []string{"support@acme.example"}, strings.NewReader(message))); code != 250 {
				t.Errorf("next message on the connection: %d, want 250", code)
			}
		})
	}
}

func TestTooLargeBySize(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 4096
	ts := start(t, cfg, newStore())
	c := dial(t, ts.addr)
	if size, ok := c.MaxMessageSize(); !ok || size != 4096 {
		t.Errorf("EHLO SIZE %d %v, want 4096", size, ok)
	}
	code, enh := reply(t, c.Mail("ana@customer.example", &smtp.MailOptions{Size: 5000}))
	if code != 552 || enh != (smtp.EnhancedCode{5, 3, 4}) {
		t.Errorf("MAIL SIZE=5000: %d %v, want 552 5.3.4", code, enh)
	}
}

func TestExtensions(t *testing.T) {
	ts := start(t, testConfig(), newStore())
	c := dial(t, ts.addr)
	for _, ext := range []string{"8BITMIME", "SMTPUTF8", "PIPELINING", "ENHANCEDSTATUSCODES"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("EHLO does not offer %s", ext)
		}
	}
	for _, ext := range []string{"AUTH", "STARTTLS"} {
		if ok, _ := c.Extension(ext); ok {
			t.Errorf("EHLO offers %s", ext)
		}
	}
	// A UTF-8 address with SMTPUTF8 goes through.
	if err := c.Mail("安娜@客户.example", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Errorf("MAIL SMTPUTF8: %v", err)
	}
}

func TestBackendDeadline(t *testing.T) {
	cfg := testConfig()
	cfg.BackendTimeout = time.Second
	st := newStore()
	st.setDeliver(func(ctx context.Context, _ Envelope, _ []byte) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		<-ctx.Done() // a store that hangs
		return ctx.Err()
	})
	ts := start(t, cfg, st)
	code, enh := reply(t, sendOne(t, ts.addr, "ana@customer.example", []string{"support@acme.example"}, message))
	if code != 451 || enh != (smtp.EnhancedCode{4, 3, 0}) {
		t.Errorf("reply %d %v, want 451 4.3.0", code, enh)
	}
}

func TestShutdown(t *testing.T) {
	t.Run("waits for a message in DATA", func(t *testing.T) {
		st := newStore()
		inDeliver, release := make(chan struct{}), make(chan struct{})
		st.setDeliver(func(context.Context, Envelope, []byte) error {
			close(inDeliver)
			<-release
			return nil
		})
		ts := start(t, testConfig(), st)
		idle := dial(t, ts.addr)
		done := make(chan error, 1)
		go func() {
			c, err := smtp.Dial(ts.addr)
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			done <- send(c, "ana@customer.example", []string{"support@acme.example"}, strings.NewReader(message))
		}()
		<-inDeliver
		shut := make(chan error, 1)
		go func() { shut <- ts.Shutdown(context.Background()) }()
		// The idle session is told 421 and closed as soon as the drain
		// begins.
		waitFor(t, "421 to the idle session's NOOP", func() bool {
			code, _ := reply(t, idle.Noop())
			return code == 421
		})
		close(release)
		if err := <-done; err != nil {
			t.Errorf("message in DATA during Shutdown: %v, want 250", err)
		}
		if err := <-shut; err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-ts.served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		ts.served <- nil // for the cleanup
		if _, err := smtp.Dial(ts.addr); err == nil {
			t.Error("the server still accepts after Shutdown")
		}
	})
	t.Run("hard stop cancels the backend", func(t *testing.T) {
		st := newStore()
		inDeliver, cancelled := make(chan struct{}), make(chan error, 1)
		st.setDeliver(func(ctx context.Context, _ Envelope, _ []byte) error {
			close(inDeliver)
			<-ctx.Done()
			cancelled <- ctx.Err()
			return ctx.Err()
		})
		ts := start(t, testConfig(), st)
		go func() { _ = sendOne(t, ts.addr, "ana@customer.example", []string{"support@acme.example"}, message) }()
		<-inDeliver
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v, want the deadline exceeded", err)
		}
		select {
		case err := <-cancelled:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("backend context ended with %v, want cancelled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the backend's context was not cancelled by the hard stop")
		}
	})
	t.Run("ending Serve's context", func(t *testing.T) {
		s, err := New(testConfig(), newStore(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ln := listen(t)
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx, ln) }()
		c := dial(t, ln.Addr().String())
		cancel()
		// The drain runs once the context's end is seen: the session is
		// answered 421 from then on.
		waitFor(t, "421 to NOOP", func() bool {
			code, _ := reply(t, c.Noop())
			return code == 421
		})
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after its context ended")
		}
	})
}

func TestReplyError(t *testing.T) {
	r := &Reply{Code: 550, Enhanced: [3]int{5, 7, 1}, Message: "not here"}
	if got, want := r.Error(), "550 5.7.1 not here"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestLongLine(t *testing.T) {
	st := newStore()
	ts := start(t, testConfig(), st)
	tests := []struct {
		name     string
		line     int
		code     int
		enhanced smtp.EnhancedCode
	}{
		{name: "longer than RFC 5321's 1000 is accepted", line: 10_000, code: 250, enhanced: smtp.EnhancedCode{2, 0, 0}},
		{name: "longer than 64 KiB is refused for good", line: 100_000, code: 554, enhanced: smtp.EnhancedCode{5, 6, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := st.stats()
			err := sendOne(t, ts.addr, "ana@customer.example", []string{"support@acme.example"}, "Subject: long\r\n\r\n"+strings.Repeat("x", tt.line)+"\r\n")
			// The server may answer and hang up while the client is still
			// writing the line: then its reply is lost with the connection.
			reset := errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
			if tt.code == 250 || !reset {
				if code, enh := reply(t, err); code != tt.code || enh != tt.enhanced {
					t.Errorf("reply %d %v, want %d %v", code, enh, tt.code, tt.enhanced)
				}
			}
			if after, _ := st.stats(); (after > before) != (tt.code == 250) {
				t.Errorf("Deliver calls %d -> %d", before, after)
			}
		})
	}
}
