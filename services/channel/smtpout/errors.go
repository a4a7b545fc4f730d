package smtpout

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/emersion/go-smtp"
)

// SendError is a relay's refusal (Code is its reply code) or a failure to
// talk to it at all (Code 0: dial, TLS, a dropped connection, the context's
// deadline).
type SendError struct {
	// Code is the SMTP reply code, 0 when the relay did not answer.
	Code int
	// Enhanced is the RFC 3463 enhanced status code ("5.1.1"), if the relay
	// sent one.
	Enhanced string
	// Message is the relay's text, or what went wrong when Code is 0.
	Message string
	// Permanent is true for 5xx replies: sending the same mail again will be
	// refused again.
	Permanent bool
	// Err is the underlying error (for Code 0, e.g. context.DeadlineExceeded
	// or a *net.OpError).
	Err error
	// Command is the step that failed: "connect", "greeting", "EHLO",
	// "STARTTLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA" (added to the
	// contract: it tells a bad login from a refused message).
	Command string
}

// Error describes the refusal without credentials: the relay never echoes
// them and the connection errors name only the address.
func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("smtp relay")
	if e.Command != "" {
		b.WriteString(" " + e.Command)
	}
	if e.Code == 0 {
		b.WriteString(": ")
		b.WriteString(e.Message)
		return b.String()
	}
	fmt.Fprintf(&b, ": refused with %d", e.Code)
	if e.Enhanced != "" {
		b.WriteString(" " + e.Enhanced)
	}
	if e.Message != "" {
		b.WriteString(" " + e.Message)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

// PartialError is returned by Send when the relay refused some recipients
// permanently and accepted the message for the others: the message went out,
// so sending it again would duplicate it for them.
type PartialError struct {
	// Refused maps each refused envelope recipient to the relay's refusal.
	Refused map[string]*SendError
}

// Error lists the refused recipients in order.
func (e *PartialError) Error() string {
	rcpts := slices.Sorted(maps.Keys(e.Refused))
	parts := make([]string, len(rcpts))
	for i, rcpt := range rcpts {
		parts[i] = fmt.Sprintf("<%s>: %v", rcpt, e.Refused[rcpt])
	}
	return fmt.Sprintf("smtp relay refused %d recipient(s), delivered to the others: %s", len(rcpts), strings.Join(parts, "; "))
}

// Unwrap returns the refusals, in recipient order.
func (e *PartialError) Unwrap() []error {
	rcpts := slices.Sorted(maps.Keys(e.Refused))
	errs := make([]error, len(rcpts))
	for i, rcpt := range rcpts {
		errs[i] = e.Refused[rcpt]
	}
	return errs
}

// IsPermanent reports whether err (anywhere in its chain) is a permanent
// refusal: sending again will not help. A *PartialError is permanent too (the
// message went to the other recipients; sending again would duplicate it).
func IsPermanent(err error) bool {
	var partial *PartialError
	if errors.As(err, &partial) {
		return true
	}
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// replyError turns an error from the go-smtp client into a *SendError,
// keeping the relay's code when there is one.
func replyError(command string, err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	var smtpErr *smtp.SMTPError
	if errors.As(err, &smtpErr) {
		return &SendError{
			Code:      smtpErr.Code,
			Enhanced:  enhanced(smtpErr.EnhancedCode),
			Message:   smtpErr.Message,
			Permanent: smtpErr.Code >= 500 && smtpErr.Code < 600,
			Err:       err,
			Command:   command,
		}
	}
	return &SendError{Message: err.Error(), Err: err, Command: command}
}

func enhanced(c smtp.EnhancedCode) string {
	if c == smtp.EnhancedCodeNotSet || c == smtp.NoEnhancedCode {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
}
