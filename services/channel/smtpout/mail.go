package smtpout

import (
	"time"
)

// Address is a mailbox: an optional display name (any script) and an email
// address.
type Address struct {
	Name, Email string
}

// Attachment is a file sent with a Mail.
type Attachment struct {
	// Filename is the name the recipient sees (any script; RFC 2231 encoded
	// when not ASCII). Required.
	Filename string
	// ContentType is a media type such as "application/pdf"; empty means
	// guessed from the file name's extension, else application/octet-stream.
	ContentType string
	// Inline asks to show the file in the body (Content-Disposition: inline)
	// rather than as a download. With ContentID and an HTML body, the file
	// goes beside the HTML in multipart/related so that "cid:" URLs find it.
	Inline bool
	// ContentID (without <>) is what the HTML refers to as "cid:<ContentID>".
	ContentID string
	// Data is the file's content; it may be empty.
	Data []byte
}

// Mail is one outgoing message.
type Mail struct {
	From    Address
	To, Cc  []Address
	ReplyTo []Address
	// Subject is in any script; encoded per RFC 2047 (UTF-8) when not ASCII.
	Subject string
	// MessageID is without <>; required: the caller makes it stable so that
	// retries are recognisable.
	MessageID string
	// InReplyTo is without <>; optional.
	InReplyTo string
	// References are without <>.
	References []string
	// Date is when the message was written; zero means now.
	Date time.Time
	// Text is the plain text body; required.
	Text string
	// HTML is optional; when set the body is multipart/alternative(text, html).
	HTML        string
	Attachments []Attachment
	// Headers are extra header fields, e.g. "Auto-Submitted": "auto-replied",
	// "X-Kubedesk-Ticket": "...". They cannot replace the fields that Compose
	// writes from the other members (From, Subject, Content-Type, ...).
	Headers map[string]string
}
