package smtpin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// Envelope is what the SMTP session said about one message.
type Envelope struct {
	RemoteIP netip.Addr
	Helo     string
	From     string   // MAIL FROM, "" for the null sender <>
	To       []string // accepted RCPT TO addresses, as given (trimmed, without <>)
	TLS      bool     // whether the session was under STARTTLS
}

// Backend decides what happens to recipients and messages.
type Backend interface {
	// Recipient vets one RCPT TO. ErrUnknownRecipient -> 550 5.1.1; a *Reply -> that reply; other error -> 451 4.3.0.
	Recipient(ctx context.Context, addr string) error
	// Deliver is called once the whole DATA was read within the size limit. It returns nil only after
	// the message is stored (the server then answers 250). A *Reply error is sent as is; any other
	// error answers 451 4.3.0 "storage temporarily unavailable; try again later" (sender retries).
	Deliver(ctx context.Context, env Envelope, data []byte) error
}

// ErrUnknownRecipient is what Backend.Recipient returns (or wraps) for an
// address nobody receives at: the server answers 550 5.1.1.
var ErrUnknownRecipient = errors.New("no such mailbox here")

// Reply is an SMTP reply a Backend chooses, e.g. &Reply{Code: 550, Enhanced: [3]int{5,7,1}, Message: "..."}.
type Reply struct {
	Code     int
	Enhanced [3]int
	Message  string
}

// Error formats the reply as it goes on the wire.
func (r *Reply) Error() string {
	return fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.Enhanced[0], r.Enhanced[1], r.Enhanced[2], r.Message)
}
