package smtpout

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
)

// startTLS speaks the clear-text start of a session (greeting, EHLO,
// STARTTLS) itself and returns the connection to hand to go-smtp's client,
// upgraded when the relay offered STARTTLS (ok true).
//
// go-smtp v0.26 upgrades only in NewClientStartTLS, which greets as
// "localhost" before Hello can name us and fails outright when STARTTLS is
// not offered; doing these three commands here keeps our EHLO name and lets
// tls=starttls go on in clear text. The returned connection replays a 220
// greeting so that the client, which starts by reading one, then sends its
// own EHLO (RFC 3207 requires a new EHLO after TLS anyway).
func (s *Sender) startTLS(ctx context.Context, conn net.Conn) (net.Conn, bool, error) {
	br := bufio.NewReader(conn)
	tp := textproto.NewReader(br)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, false, protoError("greeting", err)
	}
	if _, err := fmt.Fprintf(conn, "EHLO %s\r\n", s.hostname); err != nil {
		return nil, false, protoError("EHLO", err)
	}
	_, msg, err := tp.ReadResponse(250)
	if err != nil {
		return nil, false, protoError("EHLO", err)
	}
	if !offersStartTLS(msg) {
		if s.relay.TLSMode == TLSRequiredStartTLS {
			return nil, false, &SendError{Command: "STARTTLS", Message: fmt.Sprintf("%s does not offer STARTTLS and the relay URL says tls=required-starttls", s.relay.Host)}
		}
		return &greetedConn{Conn: conn, r: io.MultiReader(strings.NewReader(replayedGreeting), br)}, false, nil
	}
	if _, err := io.WriteString(conn, "STARTTLS\r\n"); err != nil {
		return nil, false, protoError("STARTTLS", err)
	}
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, false, protoError("STARTTLS", err)
	}
	if br.Buffered() > 0 {
		// Clear text injected after the 220 would otherwise be read as if it
		// came over TLS (CVE-2011-0411 style).
		return nil, false, &SendError{Command: "STARTTLS", Message: "the relay sent data after its STARTTLS reply"}
	}
	tlsConn := tls.Client(conn, s.tlsConfig())
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		return nil, false, &SendError{Command: "STARTTLS", Message: "TLS handshake: " + err.Error(), Err: err}
	}
	return &greetedConn{Conn: tlsConn, r: io.MultiReader(strings.NewReader(replayedGreeting), tlsConn)}, true, nil
}

// replayedGreeting is what go-smtp's client reads first on a connection
// whose real greeting startTLS already consumed.
const replayedGreeting = "220 greeting already received\r\n"

// greetedConn is a connection whose reads start with a replayed greeting.
type greetedConn struct {
	net.Conn
	r io.Reader
}

func (c *greetedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// offersStartTLS reports whether an EHLO reply (lines joined by "\n", the
// first being the greeting) lists STARTTLS.
func offersStartTLS(msg string) bool {
	lines := strings.Split(msg, "\n")
	for _, line := range lines[1:] {
		if strings.EqualFold(strings.TrimSpace(line), "STARTTLS") {
			return true
		}
	}
	return false
}

// protoError turns an error of net/textproto into a *SendError.
func protoError(command string, err error) *SendError {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return &SendError{Command: command, Message: err.Error(), Err: err}
	}
	se := &SendError{Code: te.Code, Message: te.Msg, Permanent: te.Code >= 500 && te.Code < 600, Err: err, Command: command}
	if code, rest, ok := strings.Cut(te.Msg, " "); ok && isEnhancedCode(code) {
		se.Enhanced, se.Message = code, rest
	}
	return se
}

func isEnhancedCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return true
}
