package smtpout

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"mime"
	"net/textproto"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
)

// reservedHeaders are written from Mail's own fields; Mail.Headers cannot
// set them.
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Reply-To": true,
	"Subject": true, "Message-Id": true, "In-Reply-To": true, "References": true,
	"Date": true, "Mime-Version": true, "Content-Type": true,
	"Content-Transfer-Encoding": true, "Content-Disposition": true, "Content-Id": true,
}

// part is one MIME entity: a leaf with a body, or a multipart with parts.
type part struct {
	header message.Header
	body   []byte
	parts  []*part
}

// Compose renders m as an RFC 5322 message with CRLF line endings:
//
//	multipart/mixed{
//	  multipart/alternative{ text/plain; charset=utf-8 (quoted-printable),
//	                         text/html (in multipart/related with inline images that have a ContentID) },
//	  attachments (base64; RFC 2231 file names when not ASCII) }
//
// A multipart level with one part collapses into that part: a text-only mail
// without attachments is a single text/plain entity. Errors name the field,
// e.g. "mail.from: is required".
func Compose(m Mail) ([]byte, error) {
	if err := validate(m); err != nil {
		return nil, err
	}
	h, err := topHeader(m)
	if err != nil {
		return nil, err
	}
	root := tree(m)
	// The body's Content-* fields come last, after MIME-Version.
	rootFields := fields(root.header)
	for i := len(rootFields) - 1; i >= 0; i-- {
		h.Add(rootFields[i][0], rootFields[i][1])
	}
	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, inWritingOrder(h))
	if err != nil {
		return nil, fmt.Errorf("mail: write header: %w", err)
	}
	if err := writePart(w, root); err != nil {
		return nil, fmt.Errorf("mail: write body: %w", err)
	}
	// A message is lines: end the last one, or the relay's DATA framing
	// would add the CRLF and the bytes sent differ from these.
	if !bytes.HasSuffix(buf.Bytes(), []byte("\r\n")) {
		buf.WriteString("\r\n")
	}
	return buf.Bytes(), nil
}

// topHeader holds the message's own header fields, in reading order.
func topHeader(m Mail) (message.Header, error) {
	var mh gomail.Header
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	mh.SetDate(date)
	setAddressList(&mh, "From", []Address{m.From})
	setAddressList(&mh, "To", m.To)
	setAddressList(&mh, "Cc", m.Cc)
	setAddressList(&mh, "Reply-To", m.ReplyTo)
	if subject := encodeText(oneLine(m.Subject)); subject != "" {
		mh.Set("Subject", subject)
	}
	mh.SetMessageID(m.MessageID)
	if m.InReplyTo != "" {
		mh.SetMsgIDList("In-Reply-To", []string{m.InReplyTo})
	}
	mh.SetMsgIDList("References", m.References)
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		mh.Set(k, encodeText(m.Headers[k]))
	}
	mh.Set("MIME-Version", "1.0")
	return mh.Header, nil
}

// tree lays out the MIME structure of m, collapsing single-part levels.
func tree(m Mail) *part {
	body := textPart("text/plain", m.Text)
	var attachments []*part
	if m.HTML != "" {
		html := textPart("text/html", m.HTML)
		var related []*part
		for _, a := range m.Attachments {
			if a.Inline && a.ContentID != "" {
				related = append(related, attachmentPart(a))
			}
		}
		if len(related) > 0 {
			html = multipart("multipart/related", map[string]string{"type": "text/html"}, append([]*part{html}, related...))
		}
		body = multipart("multipart/alternative", nil, []*part{body, html})
	}
	for _, a := range m.Attachments {
		if m.HTML != "" && a.Inline && a.ContentID != "" {
			continue
		}
		attachments = append(attachments, attachmentPart(a))
	}
	if len(attachments) == 0 {
		return body
	}
	return multipart("multipart/mixed", nil, append([]*part{body}, attachments...))
}

func textPart(mediaType, text string) *part {
	p := &part{body: []byte(text)}
	p.header.SetContentType(mediaType, map[string]string{"charset": "utf-8"})
	p.header.Set("Content-Transfer-Encoding", "quoted-printable")
	return p
}

func multipart(mediaType string, params map[string]string, parts []*part) *part {
	p := &part{parts: parts}
	if params == nil {
		params = map[string]string{}
	}
	p.header.SetContentType(mediaType, params)
	return p
}

func attachmentPart(a Attachment) *part {
	p := &part{body: a.Data}
	contentType := a.ContentType
	if contentType == "" {
		contentType = mime.TypeByExtension(path.Ext(a.Filename))
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	mediaType, params, _ := mime.ParseMediaType(contentType) // validated
	delete(params, "name")
	// The name in Content-Type is for clients that ignore Content-Disposition;
	// they understand RFC 2047 there better than RFC 2231.
	params["name"] = mime.BEncoding.Encode("utf-8", a.Filename)
	p.header.Set("Content-Type", mime.FormatMediaType(mediaType, params))
	disposition := "attachment"
	if a.Inline {
		disposition = "inline"
	}
	p.header.Set("Content-Disposition", dispositionWithFilename(disposition, a.Filename))
	if a.ContentID != "" {
		p.header.Set("Content-Id", "<"+a.ContentID+">")
	}
	p.header.Set("Content-Transfer-Encoding", "base64")
	return p
}

// maxParamChunk bounds one RFC 2231 section so that each fits on a header
// line of 76 characters ("filename*10*=" and "utf-8”" included), where
// go-message folds.
const maxParamChunk = 45

// dispositionWithFilename formats a Content-Disposition with the file name
// quoted when it is short ASCII, otherwise RFC 2231 percent-encoded UTF-8,
// in numbered sections (filename*0*, filename*1*, ...) when long.
func dispositionWithFilename(disposition, filename string) string {
	if isASCII(filename) && len(filename) <= maxParamChunk {
		if s := mime.FormatMediaType(disposition, map[string]string{"filename": filename}); s != "" {
			return s
		}
	}
	encoded := percentEncode(filename)
	if len(encoded) <= maxParamChunk {
		return disposition + "; filename*=utf-8''" + encoded
	}
	var b strings.Builder
	b.WriteString(disposition)
	for i := 0; encoded != ""; i++ {
		n := min(maxParamChunk, len(encoded))
		// Never split a %XX triplet.
		if j := strings.LastIndexByte(encoded[:n], '%'); j >= 0 && j > n-3 {
			n = j
		}
		prefix := ""
		if i == 0 {
			prefix = "utf-8''"
		}
		fmt.Fprintf(&b, "; filename*%d*=%s%s", i, prefix, encoded[:n])
		encoded = encoded[n:]
	}
	return b.String()
}

// percentEncode encodes s for an RFC 2231 extended value: attr-chars stay,
// every other byte becomes %XX.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// isAttrChar reports whether c may appear unencoded in an RFC 2231 value:
// a printable ASCII character other than a tspecial, space, '*', '\” or '%'.
func isAttrChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune("*'%()<>@,;:\\\"/[]?=", rune(c))
}

func writePart(w *message.Writer, p *part) error {
	if p.parts == nil {
		if _, err := w.Write(p.body); err != nil {
			return err
		}
		return w.Close()
	}
	for _, child := range p.parts {
		cw, err := w.CreatePart(child.header)
		if err != nil {
			return err
		}
		if err := writePart(cw, child); err != nil {
			return err
		}
	}
	return w.Close()
}

// setAddressList sets field k to as, display names RFC 2047 encoded (base64
// for Chinese, shorter than net/mail's quoted-printable).
func setAddressList(h *gomail.Header, k string, as []Address) {
	if len(as) == 0 {
		return
	}
	formatted := make([]string, len(as))
	for i, a := range as {
		name := oneLine(a.Name)
		if isPlainText(name) {
			formatted[i] = (&gomail.Address{Name: name, Address: a.Email}).String()
		} else {
			formatted[i] = encodeText(name) + " <" + a.Email + ">"
		}
	}
	h.Set(k, strings.Join(formatted, ", "))
}

// encodeText returns s as it is when it is printable ASCII that no reader
// would take for an encoded word and that go-message can fold unchanged;
// otherwise as RFC 2047 base64 encoded words (UTF-8), which also keep
// leading, trailing and repeated spaces.
func encodeText(s string) string {
	if isPlainText(s) {
		return s
	}
	// An encoded word is at most 75 characters: "=?utf-8?b?" + 60 base64
	// characters (45 bytes) + "?=". Words never split a UTF-8 sequence.
	const maxBytes = 45
	var words []string
	for s != "" {
		n := min(maxBytes, len(s))
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		if n == 0 { // not UTF-8 at all; validate refuses this before
			n = min(maxBytes, len(s))
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// isPlainText reports whether s can be a header value unencoded.
func isPlainText(s string) bool {
	if s != strings.TrimSpace(s) || strings.Contains(s, "=?") || strings.Contains(s, "  ") {
		return false
	}
	word := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' {
			return false
		}
		if c == ' ' {
			word = 0
		} else if word++; word > 900 {
			return false // go-message would break the word with a space
		}
	}
	return true
}

// oneLine replaces line breaks and other control characters with spaces: a
// header value is one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// fields lists h's fields in writing order.
func fields(h message.Header) [][2]string {
	var out [][2]string
	for f := h.Fields(); f.Next(); {
		out = append(out, [2]string{f.Key(), f.Value()})
	}
	return out
}

// inWritingOrder returns h with its fields added so that go-message, which
// writes fields last-added first, writes them in h's adding order.
func inWritingOrder(h message.Header) message.Header {
	var out message.Header
	for _, f := range fields(h) { // fields lists them last-added first
		out.Add(f[0], f[1])
	}
	return out
}

// canonicalKey is the form reservedHeaders uses.
func canonicalKey(k string) string { return textproto.CanonicalMIMEHeaderKey(k) }
