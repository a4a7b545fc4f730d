package smtpout

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Sender sends mail through one relay. It is safe for concurrent use: each
// Send opens its own connection (no pooling yet).
type Sender struct {
	relay    Relay
	hostname string
	rootCAs  *x509.CertPool
}

// NewSender sends through r, greeting with hostname in EHLO ("localhost"
// when empty).
func NewSender(r Relay, hostname string) *Sender {
	if hostname == "" {
		hostname = "localhost"
	}
	return &Sender{relay: r, hostname: hostname}
}

// WithRootCAs returns a copy of s that trusts the certificates in pool
// instead of the system's (e.g. smtptest.Sink.CertPool).
func (s *Sender) WithRootCAs(pool *x509.CertPool) *Sender {
	c := *s
	c.rootCAs = pool
	return &c
}

// Relay returns the relay s sends through.
func (s *Sender) Relay() Relay { return s.relay }

// Send delivers msg to the relay for rcpts (envelope recipients) with the
// envelope sender from ("" for the null sender). ctx bounds the whole
// exchange: dial, TLS, commands and data.
//
// A recipient refused with 4xx aborts the transaction (RSET) and Send returns
// that *SendError: nobody got the message, so a retry duplicates nothing. With
// several recipients, a permanent refusal of some while others are accepted
// is a *PartialError (the message went to the rest); when every recipient is
// refused, the first refusal is returned as a *SendError.
func (s *Sender) Send(ctx context.Context, from string, rcpts []string, msg []byte) error {
	if len(rcpts) == 0 {
		return errors.New("smtpout: send: rcpts: at least one envelope recipient is required")
	}
	for i, addr := range append([]string{from}, rcpts...) {
		if strings.ContainsAny(addr, "\r\n<>") || !utf8.ValidString(addr) {
			name := "from"
			if i > 0 {
				name = fmt.Sprintf("rcpts[%d]", i-1)
			}
			return fmt.Errorf("smtpout: send: %s: %q is not an envelope address; accepted: local@domain without <>, CR or LF", name, addr)
		}
	}
	if err := ctx.Err(); err != nil {
		return &SendError{Command: "connect", Message: err.Error(), Err: err}
	}
	conn, err := s.dial(ctx)
	if err != nil {
		return s.contextError(ctx, &SendError{Command: "connect", Message: err.Error(), Err: err})
	}
	// Closing the connection is what interrupts a blocked read or write when
	// ctx ends: go-smtp's client knows only its own per-command timeouts.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer func() { _ = conn.Close() }()

	err = s.exchange(ctx, conn, from, rcpts, msg)
	var se *SendError
	if errors.As(err, &se) && se.Code == 0 {
		return s.contextError(ctx, se)
	}
	return err
}

// contextError names ctx's error in se when ctx ended: the failure is then
// the deadline's doing, whatever the socket said.
func (s *Sender) contextError(ctx context.Context, se *SendError) *SendError {
	ctxErr := ctx.Err()
	if ctxErr == nil || errors.Is(se.Err, ctxErr) {
		return se
	}
	se.Message = fmt.Sprintf("%v (while %s: %s)", ctxErr, stepName(se.Command), se.Message)
	se.Err = errors.Join(ctxErr, se.Err)
	return se
}

func stepName(command string) string {
	if command == "" {
		return "talking to the relay"
	}
	return command
}

func (s *Sender) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         s.relay.serverName(),
		RootCAs:            s.rootCAs,
		InsecureSkipVerify: s.relay.InsecureSkipVerify, // only with insecure_skip_verify=true in the URL, for test relays
		MinVersion:         tls.VersionTLS12,
	}
}

func (s *Sender) dial(ctx context.Context) (net.Conn, error) {
	if s.relay.TLSMode == TLSImplicit {
		d := tls.Dialer{Config: s.tlsConfig()}
		return d.DialContext(ctx, "tcp", s.relay.Host)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.relay.Host)
}

// exchange runs one SMTP session on conn.
func (s *Sender) exchange(ctx context.Context, conn net.Conn, from string, rcpts []string, msg []byte) error {
	secure := s.relay.TLSMode == TLSImplicit
	switch s.relay.TLSMode {
	case TLSStartTLS, TLSRequiredStartTLS:
		upgraded, ok, err := s.startTLS(ctx, conn)
		if err != nil {
			return err
		}
		conn, secure = upgraded, ok
	}
	c := smtp.NewClient(conn)
	defer func() { _ = c.Close() }()
	if err := c.Hello(s.hostname); err != nil {
		return replyError("EHLO", err)
	}
	if err := s.auth(c, secure); err != nil {
		return err
	}

	opts := &smtp.MailOptions{}
	if !isASCII(from) || !allASCII(rcpts) {
		opts.UTF8 = true
	}
	if ok, _ := c.Extension("SIZE"); ok {
		opts.Size = int64(len(msg))
	}
	if err := c.Mail(from, opts); err != nil {
		return replyError("MAIL FROM", err)
	}

	refused := map[string]*SendError{}
	var firstRefusal *SendError
	for _, rcpt := range rcpts {
		err := c.Rcpt(rcpt, nil)
		if err == nil {
			continue
		}
		se := replyError("RCPT TO", err)
		if se.Code == 0 {
			return se
		}
		if !se.Permanent {
			// Deliver to all or none, so that a retry duplicates nothing.
			_ = c.Reset()
			return se
		}
		if firstRefusal == nil {
			firstRefusal = se
		}
		refused[rcpt] = se
	}
	if len(refused) == len(rcpts) {
		_ = c.Reset()
		return firstRefusal
	}

	w, err := c.Data()
	if err != nil {
		return replyError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return replyError("DATA", err)
	}
	if err := w.Close(); err != nil {
		return replyError("DATA", err)
	}
	// The relay has the message; a failed QUIT changes nothing.
	_ = c.Quit()
	if len(refused) > 0 {
		return &PartialError{Refused: refused}
	}
	return nil
}

// auth logs in when the relay has credentials, never in clear text except
// to a loopback relay.
func (s *Sender) auth(c *smtp.Client, secure bool) error {
	if s.relay.Username == "" {
		return nil
	}
	if !secure && !isLoopback(s.relay.serverName()) {
		return &SendError{Command: "AUTH", Message: fmt.Sprintf("the connection to %s is not encrypted (the relay did not offer STARTTLS); credentials are sent only over TLS", s.relay.Host)}
	}
	ok, params := c.Extension("AUTH")
	if !ok {
		return &SendError{Command: "AUTH", Message: "credentials are configured but the relay does not offer AUTH"}
	}
	var client sasl.Client
	for _, mech := range strings.Fields(strings.ToUpper(params)) {
		switch mech {
		case sasl.Plain:
			client = sasl.NewPlainClient("", s.relay.Username, s.relay.Password)
		case sasl.Login:
			if client == nil {
				client = sasl.NewLoginClient(s.relay.Username, s.relay.Password)
			}
		}
	}
	if client == nil {
		return &SendError{Command: "AUTH", Message: fmt.Sprintf("the relay offers AUTH %s; supported: PLAIN, LOGIN", params)}
	}
	if err := c.Auth(client); err != nil {
		return replyError("AUTH", err)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !isASCII(s) {
			return false
		}
	}
	return true
}
