package mail

import (
	"fmt"
	"time"
)

// Address is a mailbox: display name (decoded to UTF-8) and address (trimmed;
// domain lower-cased).
type Address struct{ Name, Email string }

// Kind says whether a message may open tickets and get auto-replies.
type Kind int

// Kinds of message, from the headers and the sender.
const (
	// KindNormal is a message written by a person: it may open a ticket.
	KindNormal Kind = iota
	// KindAutoReply is an out-of-office or other automatic reply.
	KindAutoReply
	// KindBulk is list or bulk mail (newsletters, mailing lists).
	KindBulk
	// KindBounce is a delivery status notification or other report.
	KindBounce
)

// String returns "normal", "auto-reply", "bulk" or "bounce".
func (k Kind) String() string {
	switch k {
	case KindNormal:
		return "normal"
	case KindAutoReply:
		return "auto-reply"
	case KindBulk:
		return "bulk"
	case KindBounce:
		return "bounce"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Attachment is an attached or inline part of a message.
type Attachment struct {
	// Filename is decoded (RFC 2047 / RFC 2231), the base name only, never a
	// path; "attachment-N.<ext>" when missing, "forwarded.eml" for a nested
	// message without a name.
	Filename string
	// ContentType is the media type only, lower-case, e.g. "image/png";
	// "application/octet-stream" when unknown.
	ContentType string
	// ContentID is the Content-ID without <>, for inline images.
	ContentID string
	// Inline is true for a part with Content-Disposition inline, or with a
	// Content-ID and no disposition.
	Inline bool
	// Data is the transfer-decoded content; it may be empty.
	Data []byte
}

// Message is one parsed inbound e-mail.
type Message struct {
	MessageID  string   // without <>; "" when missing
	InReplyTo  []string // ids without <>
	References []string // ids without <>, in order
	From       Address  // required
	To         []Address
	Cc         []Address
	ReplyTo    []Address
	Subject    string    // decoded to UTF-8
	Date       time.Time // zero when missing or unparseable
	// Text is the plain-text body: the text/plain part(s), else text derived
	// from the HTML. Line ends are "\n".
	Text string
	// HTML is the sanitised HTML body; "" when the message has none.
	HTML string
	// Visible is Text without the quoted history and signature.
	Visible string
	// Folded is exactly what Visible left out (Visible+Folded == Text); ""
	// if nothing.
	Folded string
	// Attachments holds attachments and inline parts; nested message/rfc822
	// parts are kept as .eml attachments.
	Attachments []Attachment
	Kind        Kind
	// KindReason says why Kind is not KindNormal, e.g. "Precedence: bulk".
	KindReason string
	// Warnings lists non-fatal problems, each "<where>: <what>".
	Warnings []string
	// Headers holds a few decoded headers useful later, keyed by canonical
	// name, when present: Auto-Submitted, Precedence, List-Id,
	// List-Unsubscribe, Return-Path, X-Autoreply, X-Autorespond, Sender.
	Headers map[string]string
}

// Default limits, used for zero fields of Limits.
const (
	DefaultMaxParts        = 200
	DefaultMaxDepth        = 16
	DefaultMaxHeaderBytes  = 256 << 10
	DefaultMaxLineBytes    = 1 << 20
	DefaultMaxMessageBytes = 25 << 20
)

// Limits bound the work one message may cost. Zero fields take the defaults.
type Limits struct {
	MaxParts       int // default 200 MIME parts in total
	MaxDepth       int // default 16 levels of nesting
	MaxHeaderBytes int // default 256 KiB of header per part
	MaxLineBytes   int // default 1 MiB: a longer line is an error
	// MaxMessageBytes bounds the whole message (default 25 MiB, what the
	// SMTP server accepts); a longer message is an error.
	MaxMessageBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	return l
}

// ParseError is a message that cannot be read. Field names the header or
// part ("From", "header", "body", "part 3"), Msg says what is wrong and what
// is accepted.
type ParseError struct{ Field, Msg string }

// Error returns "<Field>: <Msg>".
func (e *ParseError) Error() string { return e.Field + ": " + e.Msg }
