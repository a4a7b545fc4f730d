package smtpin

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// session is one SMTP session: the envelope of the message under way.
type session struct {
	s    *Server
	c    *smtp.Conn
	conn *trackedConn // nil only if go-smtp hands a connection not ours
	ip   netip.Addr

	from     string
	sizeHint int64
	to       []string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	ses := &session{s: s, c: c}
	if tc, ok := nc.(*trackedConn); ok {
		ses.conn, ses.ip = tc, tc.ip
	} else {
		ses.ip = remoteIP(nc)
	}
	return ses, nil
}

// Mail starts a message, within the address's message rate.
func (ses *session) Mail(from string, opts *smtp.MailOptions) error {
	d := ses.s.messages.Allow(ipKey(ses.ip), ses.s.now())
	if !d.Allowed {
		retry := int(math.Ceil(d.RetryAfter.Seconds()))
		ses.s.metrics.message(ResultRateLimited, -1)
		ses.s.log.Info("smtp message", "remote_ip", ses.ip.String(), "from", from, "recipients", 0,
			"bytes", 0, "result", ResultRateLimited, "duration", time.Duration(0))
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1},
			Message: fmt.Sprintf("too many messages from %s; try again in %d seconds", ses.ip, retry)}
	}
	ses.from, ses.to = from, nil
	ses.sizeHint = 0
	if opts != nil {
		ses.sizeHint = opts.Size
	}
	return nil
}

// Rcpt asks the Backend about one recipient.
func (ses *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	to = strings.TrimSpace(to)
	ctx, cancel := context.WithTimeout(ses.s.base, ses.s.cfg.BackendTimeout)
	defer cancel()
	err := ses.s.backend.Recipient(ctx, to)
	var r *Reply
	switch {
	case err == nil:
		if !slices.Contains(ses.to, to) {
			ses.to = append(ses.to, to)
		}
		return nil
	case errors.Is(err, ErrUnknownRecipient):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: fmt.Sprintf("<%s>: no such mailbox here", to)}
	case errors.As(err, &r) && validReply(r):
		return r.smtp()
	default:
		ses.s.log.Warn("smtp recipient check failed", "remote_ip", ses.ip.String(), "to", to, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "recipient check temporarily unavailable; try again later"}
	}
}

// errStorage is the reply to a Deliver that failed.
var errStorage = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "storage temporarily unavailable; try again later"}

// Data reads the message within the size limit and hands it to the
// Backend; the reply is the Backend's answer.
func (ses *session) Data(r io.Reader) error {
	start := ses.s.now()
	if ses.conn != nil {
		// Until Reset (after the reply), the transfer is bounded by
		// dataTimeout and a drain does not interrupt it.
		ses.conn.setInData(true, start.Add(ses.s.cfg.DataTimeout))
	}
	env := Envelope{RemoteIP: ses.ip, Helo: ses.c.Hostname(), From: ses.from, To: slices.Clone(ses.to)}
	_, env.TLS = ses.c.TLSConnectionState()

	var buf bytes.Buffer
	if ses.sizeHint > 0 {
		buf.Grow(int(min(ses.sizeHint, ses.s.cfg.MaxMessageBytes)))
	}
	_, err := buf.ReadFrom(r)
	switch {
	case errors.Is(err, smtp.ErrDataTooLarge):
		ses.done(env, buf.Len(), ResultTooLarge, start, -1)
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
			Message: fmt.Sprintf("message exceeds the size limit of %d bytes", ses.s.cfg.MaxMessageBytes)}
	case errors.Is(err, smtp.ErrTooLongLine):
		// Permanent, so the sender bounces the message instead of
		// retrying it for days; go-smtp then hangs up.
		ses.done(env, buf.Len(), ResultRefused, start, -1)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message: fmt.Sprintf("a line is longer than %d bytes; accepted: lines up to %d bytes", maxLineBytes, maxLineBytes)}
	case err != nil:
		// The client went away or timed out: nothing reaches the Backend.
		ses.done(env, buf.Len(), ResultAborted, start, -1)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "message transfer interrupted; try again later"}
	}

	dataEnd := ses.s.now()
	ctx, cancel := context.WithTimeout(ses.s.base, ses.s.cfg.BackendTimeout)
	err = ses.s.backend.Deliver(ctx, env, buf.Bytes())
	cancel()
	took := ses.s.now().Sub(dataEnd)
	var rep *Reply
	switch {
	case err == nil:
		ses.done(env, buf.Len(), ResultAccepted, start, took)
		return nil
	case errors.As(err, &rep) && validReply(rep):
		result := ResultRefused
		if rep.Code < 500 {
			result = ResultFailed
		}
		ses.done(env, buf.Len(), result, start, took)
		return rep.smtp()
	default:
		ses.s.log.Warn("smtp deliver failed", "remote_ip", ses.ip.String(), "from", env.From, "err", err)
		ses.done(env, buf.Len(), ResultFailed, start, took)
		return errStorage
	}
}

// done logs and counts one message.
func (ses *session) done(env Envelope, n int, result string, start time.Time, took time.Duration) {
	ses.s.metrics.message(result, took)
	ses.s.log.Info("smtp message", "remote_ip", env.RemoteIP.String(), "from", env.From,
		"recipients", len(env.To), "bytes", n, "result", result, "tls", env.TLS,
		"duration", ses.s.now().Sub(start))
}

// Reset ends the message under way.
func (ses *session) Reset() {
	ses.from, ses.to, ses.sizeHint = "", nil, 0
	if ses.conn != nil {
		ses.conn.setInData(false, time.Time{})
	}
}

// Logout ends the session; the connection's limits are released when
// it closes.
func (ses *session) Logout() error { return nil }

// validReply reports whether a Backend's Reply can go on the wire: a 4xx
// or 5xx code.
func validReply(r *Reply) bool {
	return r != nil && r.Code >= 400 && r.Code <= 599
}

// smtp is the reply as go-smtp sends it: one line, and an enhanced code
// of the code's class (X.0.0 when the Backend gave none or a wrong one).
func (r *Reply) smtp() *smtp.SMTPError {
	ec := smtp.EnhancedCode(r.Enhanced)
	if ec[0] != r.Code/100 || ec[1] < 0 || ec[1] > 999 || ec[2] < 0 || ec[2] > 999 {
		ec = smtp.EnhancedCodeNotSet
	}
	msg := strings.Map(func(c rune) rune {
		if c == '\r' || c == '\n' {
			return ' '
		}
		return c
	}, r.Message)
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: ec, Message: msg}
}
