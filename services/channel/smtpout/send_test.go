package smtpout_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/channel/smtpout"
	"github.com/kubedesk/kubedesk/services/channel/smtpout/smtptest"
)

const waitFor = 5 * time.Second

func testMessage(t *testing.T) []byte {
	t.Helper()
	raw, err := smtpout.Compose(smtpout.Mail{
		From:      smtpout.Address{Name: "技术支持", Email: "support@acme.example"},
		To:        []smtpout.Address{{Name: "王小明", Email: "xiaoming@example.cn"}},
		Subject:   "回复：打印机无法连接 [#1042]",
		MessageID: "ticket-1042.event-7@acme.example",
		Text:      "您好\n.\n..a line that starts with a dot",
	})
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	return raw
}

func relay(t *testing.T, url string) smtpout.Relay {
	t.Helper()
	r, err := smtpout.ParseRelay("relay", url)
	if err != nil {
		t.Fatalf("ParseRelay(%q): %v", url, err)
	}
	return r
}

func TestSendDelivers(t *testing.T) {
	tests := []struct {
		name     string
		opts     []smtptest.Option
		url      func(s *smtptest.Sink) string
		pool     bool // trust the sink's certificate instead of skipping verification
		wantTLS  bool
		wantUser string
	}{
		{name: "plain", url: (*smtptest.Sink).URL},
		{name: "auth plain in clear text to loopback", opts: []smtptest.Option{smtptest.WithAuth("kubedesk", "s3cret")}, url: (*smtptest.Sink).URL, wantUser: "kubedesk"},
		{name: "starttls", opts: []smtptest.Option{smtptest.WithTLS()}, url: (*smtptest.Sink).URL, wantTLS: true},
		{name: "starttls with auth", opts: []smtptest.Option{smtptest.WithTLS(), smtptest.WithAuth("kubedesk", "s3cret")}, url: (*smtptest.Sink).URL, wantTLS: true, wantUser: "kubedesk"},
		{name: "required starttls verified by pool", opts: []smtptest.Option{smtptest.WithTLS()}, pool: true, wantTLS: true,
			url: func(s *smtptest.Sink) string { return "smtp://" + s.Addr() + "?tls=required-starttls" }},
		{name: "starttls not offered goes on in clear text", url: func(s *smtptest.Sink) string { return "smtp://" + s.Addr() + "?tls=starttls" }},
		{name: "implicit tls with auth", opts: []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.WithAuth("kubedesk", "s3cret")}, url: (*smtptest.Sink).URL, wantTLS: true, wantUser: "kubedesk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := smtptest.Start(t, tt.opts...)
			sender := smtpout.NewSender(relay(t, tt.url(sink)), "kubedesk.test")
			if tt.pool {
				sender = sender.WithRootCAs(sink.CertPool())
			}
			msg := testMessage(t)
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			if err := sender.Send(ctx, "bounces@acme.example", []string{"xiaoming@example.cn", "cc@example.com"}, msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := sink.Wait(t, 1, waitFor)[0]
			want := smtptest.Received{From: "bounces@acme.example", To: []string{"xiaoming@example.cn", "cc@example.com"}, Data: msg, TLS: tt.wantTLS, Username: tt.wantUser}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendRefusals(t *testing.T) {
	tests := []struct {
		name          string
		opts          []smtptest.Option
		url           func(s *smtptest.Sink) string
		setup         func(s *smtptest.Sink)
		rcpts         []string
		wantCode      int
		wantEnhanced  string
		wantCommand   string
		wantPermanent bool
		wantError     string // exact, or with "%s" for the sink's address
	}{
		{
			name: "4xx on data is temporary", setup: func(s *smtptest.Sink) { s.FailNext(1, 451, "try again later") },
			wantCode: 451, wantEnhanced: "4.0.0", wantCommand: "DATA",
			wantError: "smtp relay DATA: refused with 451 4.0.0 try again later",
		},
		{
			name: "5xx on data is permanent", setup: func(s *smtptest.Sink) { s.FailNext(1, 554, "message rejected") },
			wantCode: 554, wantEnhanced: "5.0.0", wantCommand: "DATA", wantPermanent: true,
			wantError: "smtp relay DATA: refused with 554 5.0.0 message rejected",
		},
		{
			name: "all recipients refused", setup: func(s *smtptest.Sink) { s.FailRecipient("a@example.com", 550) },
			wantCode: 550, wantEnhanced: "5.0.0", wantCommand: "RCPT TO", wantPermanent: true,
			wantError: "smtp relay RCPT TO: refused with 550 5.0.0 recipient <a@example.com> refused by smtptest",
		},
		{
			name: "4xx for one recipient sends to none", rcpts: []string{"a@example.com", "b@example.com"},
			setup:    func(s *smtptest.Sink) { s.FailRecipient("b@example.com", 450) },
			wantCode: 450, wantEnhanced: "4.0.0", wantCommand: "RCPT TO",
			wantError: "smtp relay RCPT TO: refused with 450 4.0.0 recipient <b@example.com> refused by smtptest",
		},
		{
			name: "wrong password", opts: []smtptest.Option{smtptest.WithAuth("kubedesk", "s3cret")},
			url:      func(s *smtptest.Sink) string { return "smtp://kubedesk:wrong@" + s.Addr() + "?tls=none" },
			wantCode: 535, wantEnhanced: "5.7.8", wantCommand: "AUTH", wantPermanent: true,
			wantError: "smtp relay AUTH: refused with 535 5.7.8 Authentication failed",
		},
		{
			name: "auth required but no credentials", opts: []smtptest.Option{smtptest.WithAuth("kubedesk", "s3cret")},
			url:      func(s *smtptest.Sink) string { return "smtp://" + s.Addr() + "?tls=none" },
			wantCode: 502, wantEnhanced: "5.7.0", wantCommand: "MAIL FROM", wantPermanent: true,
			wantError: "smtp relay MAIL FROM: refused with 502 5.7.0 Please authenticate first",
		},
		{
			name:        "required starttls not offered",
			url:         func(s *smtptest.Sink) string { return "smtp://" + s.Addr() + "?tls=required-starttls" },
			wantCommand: "STARTTLS",
			wantError:   "smtp relay STARTTLS: %s does not offer STARTTLS and the relay URL says tls=required-starttls",
		},
		{
			name: "untrusted certificate", opts: []smtptest.Option{smtptest.WithTLS()},
			url:         func(s *smtptest.Sink) string { return "smtp://" + s.Addr() + "?tls=required-starttls" },
			wantCommand: "STARTTLS",
			wantError:   "smtp relay STARTTLS: TLS handshake: tls: failed to verify certificate: x509: certificate signed by unknown authority",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := smtptest.Start(t, tt.opts...)
			if tt.setup != nil {
				tt.setup(sink)
			}
			url := sink.URL()
			if tt.url != nil {
				url = tt.url(sink)
			}
			rcpts := tt.rcpts
			if rcpts == nil {
				rcpts = []string{"a@example.com"}
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			err := smtpout.NewSender(relay(t, url), "kubedesk.test").Send(ctx, "bounces@acme.example", rcpts, testMessage(t))
			var se *smtpout.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error = %v (%T), want a *SendError", err, err)
			}
			if se.Code != tt.wantCode || se.Enhanced != tt.wantEnhanced || se.Command != tt.wantCommand || se.Permanent != tt.wantPermanent {
				t.Errorf("SendError = {Code %d, Enhanced %q, Command %q, Permanent %v}, want {%d, %q, %q, %v}",
					se.Code, se.Enhanced, se.Command, se.Permanent, tt.wantCode, tt.wantEnhanced, tt.wantCommand, tt.wantPermanent)
			}
			if smtpout.IsPermanent(err) != tt.wantPermanent {
				t.Errorf("IsPermanent = %v, want %v", smtpout.IsPermanent(err), tt.wantPermanent)
			}
			if tt.wantError = strings.ReplaceAll(tt.wantError, "%s", sink.Addr()); err.Error() != tt.wantError {
				t.Errorf("Error() =\n %q\nwant\n %q", err, tt.wantError)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong") {
				t.Errorf("error leaks the password: %v", err)
			}
			if n := len(sink.Messages()); n != 0 {
				t.Errorf("the sink received %d message(s), want none", n)
			}
		})
	}
}

func TestSendTemporaryFailureThenRetry(t *testing.T) {
	sink := smtptest.Start(t)
	sink.FailNext(2, 451, "greylisted")
	sender := smtpout.NewSender(relay(t, sink.URL()), "kubedesk.test")
	msg := testMessage(t)
	for attempt := 1; ; attempt++ {
		err := sender.Send(context.Background(), "b@acme.example", []string{"a@example.com"}, msg)
		if err == nil {
			if attempt != 3 {
				t.Fatalf("delivered at attempt %d, want 3", attempt)
			}
			break
		}
		if smtpout.IsPermanent(err) || attempt >= 3 {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	if got := sink.Wait(t, 1, waitFor); len(got) != 1 {
		t.Errorf("received %d messages, want 1", len(got))
	}
}

func TestSendPartialRefusal(t *testing.T) {
	sink := smtptest.Start(t)
	sink.FailRecipient("gone@example.com", 550)
	sink.FailRecipient("full@example.com", 552)
	sender := smtpout.NewSender(relay(t, sink.URL()), "kubedesk.test")
	err := sender.Send(context.Background(), "b@acme.example", []string{"a@example.com", "gone@example.com", "c@example.com", "full@example.com"}, testMessage(t))
	var partial *smtpout.PartialError
	if !errors.As(err, &partial) {
		t.Fatalf("Send error = %v (%T), want a *PartialError", err, err)
	}
	codes := map[string]int{}
	for rcpt, se := range partial.Refused {
		codes[rcpt] = se.Code
	}
	if diff := cmp.Diff(map[string]int{"gone@example.com": 550, "full@example.com": 552}, codes); diff != "" {
		t.Errorf("refused (-want +got):\n%s", diff)
	}
	want := "smtp relay refused 2 recipient(s), delivered to the others: " +
		"<full@example.com>: smtp relay RCPT TO: refused with 552 5.0.0 recipient <full@example.com> refused by smtptest; " +
		"<gone@example.com>: smtp relay RCPT TO: refused with 550 5.0.0 recipient <gone@example.com> refused by smtptest"
	if err.Error() != want {
		t.Errorf("Error() =\n %q\nwant\n %q", err, want)
	}
	if !smtpout.IsPermanent(err) {
		t.Errorf("IsPermanent(PartialError) = false, want true: sending again would duplicate")
	}
	got := sink.Wait(t, 1, waitFor)
	if diff := cmp.Diff([]string{"a@example.com", "c@example.com"}, got[0].To); diff != "" {
		t.Errorf("delivered to (-want +got):\n%s", diff)
	}
}

// silentServer accepts connections and never says anything, like a relay
// behind a black-holing firewall or a hung process.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

func TestSendContextDeadline(t *testing.T) {
	addr := silentServer(t)
	for _, url := range []string{
		"smtp://" + addr + "?tls=none",
		"smtp://" + addr + "?tls=starttls",
		"smtps://" + addr,
	} {
		t.Run(url, func(t *testing.T) {
			const deadline = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err := smtpout.NewSender(relay(t, url), "kubedesk.test").Send(ctx, "b@acme.example", []string{"a@example.com"}, []byte("Subject: x\r\n\r\nx\r\n"))
			elapsed := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Send error = %v, want context.DeadlineExceeded in its chain", err)
			}
			var se *smtpout.SendError
			if !errors.As(err, &se) || se.Code != 0 || se.Permanent {
				t.Errorf("Send error = %#v, want a temporary *SendError with Code 0", err)
			}
			// Generous bound for a shared machine; without the context the
			// client would wait its 5-minute command timeout.
			if elapsed > deadline+5*time.Second {
				t.Errorf("Send returned after %s, deadline was %s", elapsed, deadline)
			}
		})
	}
}

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	err = smtpout.NewSender(relay(t, "smtp://"+addr+"?tls=none"), "kubedesk.test").Send(context.Background(), "b@acme.example", []string{"a@example.com"}, []byte("x\r\n"))
	var se *smtpout.SendError
	if !errors.As(err, &se) || se.Code != 0 || se.Command != "connect" || smtpout.IsPermanent(err) {
		t.Fatalf("Send error = %v, want a temporary connect *SendError", err)
	}
	if !strings.HasPrefix(err.Error(), "smtp relay connect: dial tcp "+addr) {
		t.Errorf("Error() = %q", err)
	}
}

func TestSendBadEnvelope(t *testing.T) {
	sender := smtpout.NewSender(relay(t, "smtp://127.0.0.1:1?tls=none"), "kubedesk.test")
	tests := []struct {
		from  string
		rcpts []string
		want  string
	}{
		{"b@acme.example", nil, "smtpout: send: rcpts: at least one envelope recipient is required"},
		{"b@acme.example\r\nRCPT TO:<x@evil>", []string{"a@example.com"}, `smtpout: send: from: "b@acme.example\r\nRCPT TO:<x@evil>" is not an envelope address; accepted: local@domain without <>, CR or LF`},
		{"", []string{"a@example.com", "<c@example.com>"}, `smtpout: send: rcpts[1]: "<c@example.com>" is not an envelope address; accepted: local@domain without <>, CR or LF`},
	}
	for _, tt := range tests {
		err := sender.Send(context.Background(), tt.from, tt.rcpts, []byte("x\r\n"))
		if err == nil || err.Error() != tt.want {
			t.Errorf("Send(%q, %q) error =\n %v\nwant\n %s", tt.from, tt.rcpts, err, tt.want)
		}
	}
}

func TestSendNullSenderAndDotLines(t *testing.T) {
	sink := smtptest.Start(t)
	msg := []byte("Subject: dots\r\n\r\n.\r\n..\r\n.x\r\n")
	if err := smtpout.NewSender(relay(t, sink.URL()), "").Send(context.Background(), "", []string{"a@example.com"}, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := sink.Wait(t, 1, waitFor)[0]
	if got.From != "" || !bytes.Equal(got.Data, msg) {
		t.Errorf("received From %q Data %q, want null sender and %q", got.From, got.Data, msg)
	}
}
