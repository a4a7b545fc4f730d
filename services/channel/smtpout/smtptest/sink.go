package smtptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the sink accepted.
type Received struct {
	// From is the envelope sender (MAIL FROM).
	From string
	// To are the accepted envelope recipients (RCPT TO).
	To []string
	// Data is the message as sent, after dot-unstuffing.
	Data []byte
	// TLS reports whether the message came over TLS (STARTTLS).
	TLS bool
	// Username is the AUTH PLAIN user, "" without authentication.
	Username string
}

// Option configures a Sink.
type Option func(*config)

type config struct {
	user, pass  string
	tls         bool
	implicitTLS bool
}

// WithAuth requires AUTH PLAIN as user with pass before MAIL FROM. Without
// WithTLS, AUTH is offered in clear text (the sink listens on loopback only).
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithTLS offers STARTTLS with a self-signed certificate for 127.0.0.1 and
// localhost (trust it with CertPool, or insecure_skip_verify=true as URL
// does). With WithAuth too, AUTH is offered only after STARTTLS.
func WithTLS() Option {
	return func(c *config) { c.tls = true }
}

// WithImplicitTLS makes the sink speak TLS from the first byte, like a relay
// on port 465 (added to the contract); URL is then
// smtps://[user:pass@]127.0.0.1:port?insecure_skip_verify=true.
func WithImplicitTLS() Option {
	return func(c *config) { c.tls, c.implicitTLS = true, true }
}

// failure is a refusal the sink has been told to give.
type failure struct {
	code    int
	message string
}

// Sink is a local SMTP server that keeps what it receives, for tests.
type Sink struct {
	cfg      config
	server   *smtp.Server
	addr     string
	certPool *x509.CertPool

	mu          sync.Mutex
	received    []Received
	arrived     chan struct{} // closed and replaced at each arrival
	failData    []failure
	failRcpt    []failure
	failAddress map[string]int
}

// Start starts a sink on 127.0.0.1 on a free port and stops it at
// t.Cleanup.
func Start(t testing.TB, opts ...Option) *Sink {
	t.Helper()
	s := &Sink{arrived: make(chan struct{}), failAddress: map[string]int{}}
	for _, o := range opts {
		o(&s.cfg)
	}
	server := smtp.NewServer(smtp.BackendFunc(s.newSession))
	server.Domain = "smtptest.localhost"
	server.ReadTimeout = time.Minute
	server.WriteTimeout = time.Minute
	server.MaxMessageBytes = 64 << 20
	server.EnableSMTPUTF8 = true
	server.AllowInsecureAuth = !s.cfg.tls
	server.ErrorLog = &testLogger{t: t}
	if s.cfg.tls {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		server.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.certPool = pool
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	if s.cfg.implicitTLS {
		l = tls.NewListener(l, server.TLSConfig)
		server.TLSConfig = nil // no STARTTLS inside TLS
	}
	s.server, s.addr = server, l.Addr().String()
	done := make(chan struct{})
	var stopping atomic.Bool
	go func() {
		defer close(done)
		if err := server.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !stopping.Load() {
			t.Errorf("smtptest: serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopping.Store(true)
		if err := server.Shutdown(ctx); err != nil {
			_ = server.Close()
		}
		// A Shutdown that came before Serve took the listener closed
		// nothing: close it here, or Serve would wait on it for ever.
		_ = l.Close()
		<-done
		server.ErrorLog.(*testLogger).stop()
	})
	return s
}

// Addr is the sink's host:port.
func (s *Sink) Addr() string { return s.addr }

// CertPool trusts the sink's certificate (nil without WithTLS).
func (s *Sink) CertPool() *x509.CertPool { return s.certPool }

// URL is a relay URL for smtpout.ParseRelay: smtp://[user:pass@]127.0.0.1:port?tls=none,
// ?tls=starttls&insecure_skip_verify=true with WithTLS, smtps://... with
// WithImplicitTLS.
func (s *Sink) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr, RawQuery: "tls=none"}
	if s.cfg.user != "" {
		u.User = url.UserPassword(s.cfg.user, s.cfg.pass)
	}
	switch {
	case s.cfg.implicitTLS:
		u.Scheme, u.RawQuery = "smtps", "insecure_skip_verify=true"
	case s.cfg.tls:
		u.RawQuery = "tls=starttls&insecure_skip_verify=true"
	}
	return u.String()
}

// Messages returns what the sink received so far, oldest first.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Wait blocks until n messages have arrived and returns them; it fails the
// test when they have not within timeout.
func (s *Sink) Wait(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, arrived := len(s.received), s.arrived
		if got >= n {
			out := slices.Clone(s.received)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline.C:
			t.Fatalf("smtptest: %d message(s) arrived within %s, want %d", got, timeout, n)
			return nil
		}
	}
}

// FailNext makes the next k DATA commands fail with code (e.g. 451 or 554)
// and message.
func (s *Sink) FailNext(k int, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range k {
		s.failData = append(s.failData, failure{code, message})
	}
}

// ClearFailures drops the failures FailNext and FailNextRcpt queued and
// not yet used.
func (s *Sink) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failData, s.failRcpt = nil, nil
}

// FailNextRcpt makes the next k RCPT TO commands fail with code and message.
func (s *Sink) FailNextRcpt(k int, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range k {
		s.failRcpt = append(s.failRcpt, failure{code, message})
	}
}

// FailRecipient refuses RCPT TO for addr with code, until the sink stops.
func (s *Sink) FailRecipient(addr string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAddress[strings.ToLower(addr)] = code
}

func (s *Sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{sink: s, tls: isTLS}, nil
}

// takeFailure pops the first of *list, if any.
func (s *Sink) takeFailure(list *[]failure) *failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(*list) == 0 {
		return nil
	}
	f := (*list)[0]
	*list = (*list)[1:]
	return &f
}

func (s *Sink) deliver(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, r)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// smtpError is a refusal with the enhanced code that matches code's class.
func smtpError(code int, message string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: message}
}

// session is one SMTP session (one transaction at a time).
type session struct {
	sink     *Sink
	tls      bool
	username string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.sink.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.sink.cfg.user == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) || username != s.sink.cfg.user || password != s.sink.cfg.pass {
			return smtp.ErrAuthFailed
		}
		s.username = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.cfg.user != "" && s.username == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.sink.mu.Lock()
	code, refused := s.sink.failAddress[strings.ToLower(to)]
	s.sink.mu.Unlock()
	if refused {
		return smtpError(code, fmt.Sprintf("recipient <%s> refused by smtptest", to))
	}
	if f := s.sink.takeFailure(&s.sink.failRcpt); f != nil {
		return smtpError(f.code, f.message)
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if f := s.sink.takeFailure(&s.sink.failData); f != nil {
		return smtpError(f.code, f.message)
	}
	s.sink.deliver(Received{From: s.from, To: slices.Clone(s.to), Data: data, TLS: s.tls, Username: s.username})
	return nil
}

func (s *session) Reset() {
	s.from, s.to = "", nil
}

func (s *session) Logout() error { return nil }

// testLogger sends go-smtp's server errors to the test log until the sink
// stops (t.Logf after a test ends panics).
type testLogger struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (l *testLogger) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("smtptest: "+format, v...)
	}
}

func (l *testLogger) Println(v ...any) {
	l.Printf("%s", fmt.Sprintln(v...))
}

func (l *testLogger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}
