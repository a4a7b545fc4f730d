package mail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// maxWarnings bounds Message.Warnings; a hostile message could otherwise
// make one per part.
const maxWarnings = 50

// maxRecordBytes bounds the copy of a multipart body kept until its first
// boundary is found, to show it as text when the boundary never comes.
const maxRecordBytes = 4 << 20

// keptHeaders are copied, decoded, into Message.Headers when present.
var keptHeaders = []string{
	"Auto-Submitted", "Precedence", "List-Id", "List-Unsubscribe", "Return-Path",
	"X-Autoreply", "X-Autorespond", "Sender",
}

// Parse reads one RFC 5322 message. It returns *ParseError for a message
// that cannot become a ticket (missing or unparseable From, malformed
// top-level header, too many parts, too deep, over-long line or message);
// any other content problem is a Warning and the message is kept. An error
// from r itself is returned wrapped, not as a *ParseError.
func Parse(r io.Reader, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	p := &parser{lim: lim, guard: newGuardReader(r, lim), msg: &Message{Headers: map[string]string{}}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.msg, nil
}

// parser holds the state of one Parse call.
type parser struct {
	lim      Limits
	guard    *guardReader
	msg      *Message
	parts    int
	warnings int
	// truncated is set once a part ended without its closing boundary.
	truncated bool
	plain     []string
	html      []string
}

func (p *parser) warn(s string) {
	p.warnings++
	switch {
	case p.warnings <= maxWarnings:
		p.msg.Warnings = append(p.msg.Warnings, s)
	case p.warnings == maxWarnings+1:
		p.msg.Warnings = append(p.msg.Warnings, fmt.Sprintf("more than %d warnings: the rest are left out", maxWarnings))
	}
}

func (p *parser) parse() error {
	hl := &headerLimitReader{r: p.guard, n: int64(p.lim.MaxHeaderBytes) + 4096}
	br := bufio.NewReader(hl)
	h, err := textproto.ReadHeader(br)
	if p.guard.err != nil {
		return p.guard.err
	}
	if p.guard.ioErr != nil {
		return fmt.Errorf("read message header: %w", p.guard.ioErr)
	}
	if hl.exceeded || headerSize(h) > p.lim.MaxHeaderBytes {
		return &ParseError{Field: "header", Msg: fmt.Sprintf("larger than %d bytes; Limits.MaxHeaderBytes accepts at most %d bytes of header", p.lim.MaxHeaderBytes, p.lim.MaxHeaderBytes)}
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "message: malformed") {
			return &ParseError{Field: "header", Msg: fmt.Sprintf("malformed (%s); accepted: \"Name: value\" fields, one per line, then an empty line and the body",
				strings.ToValidUTF8(clip(strings.TrimSpace(strings.TrimPrefix(err.Error(), "message: ")), 120), "\uFFFD"))}
		}
		return fmt.Errorf("read message header: %w", err)
	}
	hl.n = math.MaxInt64
	if err := p.envelope(h); err != nil {
		return err
	}
	if err := p.walk(h, br, 0, "body", "text/plain"); err != nil {
		return err
	}
	p.finish(h)
	return nil
}

// envelope reads the addressing headers; only From is required.
func (p *parser) envelope(h textproto.Header) error {
	m, d := p.msg, headerDecoder{warn: p.warn}
	fromRaw := strings.Join(h.Values("From"), ", ")
	if strings.TrimSpace(fromRaw) == "" {
		return &ParseError{Field: "From", Msg: `missing; a message needs a From header with the sender's mailbox, e.g. "Name <user@example.com>"`}
	}
	from := d.addresses("From", fromRaw)
	if len(from) == 0 {
		return &ParseError{Field: "From", Msg: fmt.Sprintf(`cannot read %q; accepted: a mailbox such as "Name <user@example.com>" or "user@example.com"`,
			clip(strings.ToValidUTF8(fromRaw, "\uFFFD"), 200))}
	}
	if len(from) > 1 {
		p.warn(fmt.Sprintf("From: %d mailboxes: the first is taken as the sender", len(from)))
	}
	m.From = from[0]
	m.To = d.addresses("To", strings.Join(h.Values("To"), ", "))
	m.Cc = d.addresses("Cc", strings.Join(h.Values("Cc"), ", "))
	m.ReplyTo = d.addresses("Reply-To", strings.Join(h.Values("Reply-To"), ", "))
	m.Subject = strings.TrimSpace(d.text("Subject", h.Get("Subject")))
	if raw := strings.TrimSpace(h.Get("Date")); raw != "" {
		if t, ok := parseDate(d.utf8("Date", raw)); ok {
			m.Date = t
		} else {
			p.warn(fmt.Sprintf("Date: cannot read %q: left zero", clip(strings.ToValidUTF8(raw, "\uFFFD"), 80)))
		}
	}
	if ids := messageIDs(d.utf8("Message-Id", h.Get("Message-Id"))); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	m.InReplyTo = messageIDs(d.utf8("In-Reply-To", strings.Join(h.Values("In-Reply-To"), " ")))
	m.References = messageIDs(d.utf8("References", strings.Join(h.Values("References"), " ")))
	for _, k := range keptHeaders {
		if h.Has(k) {
			m.Headers[k] = strings.TrimSpace(d.text(k, h.Get(k)))
		}
	}
	return nil
}

// finish derives the text views and the kind once all parts are read.
func (p *parser) finish(h textproto.Header) {
	m := p.msg
	html := strings.Join(p.html, "\n")
	text := strings.Join(p.plain, "\n")
	if len(p.plain) == 0 && html != "" {
		text = htmlToText(html)
	}
	m.Text = lineEndings.Replace(text)
	if html != "" {
		m.HTML = sanitizeHTML(html)
	}
	m.Visible, m.Folded = SplitQuoted(m.Text)
	top, _ := parseParams(headerDecoder{warn: func(string) {}}.utf8("Content-Type", h.Get("Content-Type")), nil)
	m.Kind, m.KindReason = classify(h, top, m.From)
}

// walk reads one entity: a multipart container or a leaf.
func (p *parser) walk(h textproto.Header, body io.Reader, depth int, where, defType string) error {
	mt, params := p.contentType(h, where, defType)
	if strings.HasPrefix(mt, "multipart/") {
		if depth+1 > p.lim.MaxDepth {
			return &ParseError{Field: where, Msg: fmt.Sprintf("multipart nested deeper than %d levels; Limits.MaxDepth accepts at most %d", p.lim.MaxDepth, p.lim.MaxDepth)}
		}
		return p.walkMultipart(body, mt, params, depth, where, false)
	}
	return p.leaf(h, body, mt, params, where)
}

// contentType returns the media type and parameters of an entity.
func (p *parser) contentType(h textproto.Header, where, defType string) (string, map[string]string) {
	raw := h.Get("Content-Type")
	if strings.TrimSpace(raw) == "" {
		return defType, map[string]string{}
	}
	d := headerDecoder{warn: p.warn}
	mt, params := parseParams(d.utf8(where+": Content-Type", raw), d.warnf(where+": Content-Type"))
	if mt == "text" {
		mt = "text/plain"
	}
	typ, sub, _ := strings.Cut(mt, "/")
	if typ == "" || sub == "" || strings.Count(mt, "/") != 1 || strings.ContainsAny(mt, " \t\"") {
		p.warn(fmt.Sprintf("%s: Content-Type %q is not a media type: read as application/octet-stream", where, clip(mt, 80)))
		return "application/octet-stream", params
	}
	return mt, params
}

// walkMultipart reads the parts of a multipart body. A boundary that never
// appears keeps the body as plain text (after one try with a boundary
// found in the body itself), since the sender's words matter more than the
// structure.
func (p *parser) walkMultipart(body io.Reader, mt string, params map[string]string, depth int, where string, sniffed bool) error {
	rec := &recorder{r: body, on: true}
	boundary := params["boundary"]
	if boundary == "" {
		p.warn(fmt.Sprintf("%s: %s has no boundary parameter: body kept as plain text", where, mt))
		return p.fallbackText(rec, where)
	}
	childType := "text/plain"
	if mt == "multipart/digest" {
		childType = "message/rfc822"
	}
	mr := textproto.NewMultipartReader(rec, boundary)
	n := 0
	for {
		part, err := mr.NextPart()
		if p.guard.err != nil {
			return p.guard.err
		}
		if p.guard.ioErr != nil {
			return fmt.Errorf("read message: %w", p.guard.ioErr)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if n > 0 {
				if !p.truncated { // a truncated part was reported already
					p.warn(fmt.Sprintf("%s: malformed %s after part %d (%s): the rest is left out", where, mt, n, clip(strings.ToValidUTF8(strings.TrimSpace(err.Error()), "\uFFFD"), 100)))
				}
				break
			}
			if err := rec.drain(); err != nil {
				if err := p.readFailure(err, where); err != nil {
					return err
				}
			}
			if found := sniffBoundary(rec.buf); !sniffed && !rec.truncated && found != "" && found != boundary {
				p.warn(fmt.Sprintf("%s: %s boundary %q not found: read with %q found in the body", where, mt, clip(boundary, 80), clip(found, 80)))
				return p.walkMultipart(bytes.NewReader(rec.buf), mt, map[string]string{"boundary": found}, depth, where, true)
			}
			p.warn(fmt.Sprintf("%s: %s boundary %q not found: body kept as plain text", where, mt, clip(boundary, 80)))
			return p.fallbackText(rec, where)
		}
		rec.stop()
		n++
		p.parts++
		child := childName(where, n)
		if p.parts > p.lim.MaxParts {
			return &ParseError{Field: child, Msg: fmt.Sprintf("more than %d MIME parts; Limits.MaxParts accepts at most %d", p.lim.MaxParts, p.lim.MaxParts)}
		}
		if headerSize(part.Header) > p.lim.MaxHeaderBytes {
			return &ParseError{Field: child, Msg: fmt.Sprintf("header larger than %d bytes; Limits.MaxHeaderBytes accepts at most %d bytes of header", p.lim.MaxHeaderBytes, p.lim.MaxHeaderBytes)}
		}
		if err := p.walk(part.Header, part, depth+1, child, childType); err != nil {
			return err
		}
	}
	if n == 0 {
		p.warn(fmt.Sprintf("%s: %s has no parts", where, mt))
	}
	return nil
}

// fallbackText keeps the raw body of a broken multipart as plain text.
func (p *parser) fallbackText(rec *recorder, where string) error {
	if err := rec.drain(); err != nil {
		if err := p.readFailure(err, where); err != nil {
			return err
		}
	}
	if rec.truncated {
		p.warn(fmt.Sprintf("%s: only the first %d bytes are kept", where, maxRecordBytes))
	}
	text, _ := guessText(rec.buf)
	if strings.TrimSpace(text) != "" {
		p.plain = append(p.plain, text)
	}
	return nil
}

// readFailure sorts out a failed read of a part: a crossed limit is the
// guard's ParseError, an error of the input itself is returned wrapped,
// and anything else is a truncated part, a warning.
func (p *parser) readFailure(err error, where string) error {
	if p.guard.err != nil {
		return p.guard.err
	}
	if p.guard.ioErr != nil {
		return fmt.Errorf("read message: %w", p.guard.ioErr)
	}
	p.truncated = true
	p.warn(fmt.Sprintf("%s: truncated (%s): what was read is kept", where, clip(err.Error(), 80)))
	return nil
}

// leaf reads a non-multipart entity into a body text or an attachment.
func (p *parser) leaf(h textproto.Header, body io.Reader, mt string, params map[string]string, where string) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		if err := p.readFailure(err, where); err != nil {
			return err
		}
	}
	data, w := decodeTransfer(h.Get("Content-Transfer-Encoding"), raw)
	if w != "" {
		p.warn(where + ": " + w)
	}
	d := headerDecoder{warn: p.warn}
	disp, dparams := parseParams(d.utf8(where+": Content-Disposition", h.Get("Content-Disposition")), d.warnf(where+": Content-Disposition"))
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	if (mt == "text/plain" || mt == "text/html") && disp != "attachment" && filename == "" {
		text, w := decodeCharset(params["charset"], data)
		if w != "" {
			p.warn(where + ": " + w)
		}
		if mt == "text/plain" {
			p.plain = append(p.plain, text)
		} else {
			p.html = append(p.html, text)
		}
		return nil
	}
	name := baseName(filename)
	if name == "" && (mt == "message/rfc822" || mt == "message/global") {
		name = "forwarded.eml"
	}
	if name == "" {
		name = fmt.Sprintf("attachment-%d.%s", len(p.msg.Attachments)+1, extension(mt))
	}
	cid := strings.TrimSpace(d.utf8(where+": Content-Id", h.Get("Content-Id")))
	cid = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(cid, "<"), ">"))
	if data == nil {
		data = []byte{}
	}
	p.msg.Attachments = append(p.msg.Attachments, Attachment{
		Filename:    name,
		ContentType: mt,
		ContentID:   cid,
		Inline:      disp == "inline" || disp == "" && cid != "",
		Data:        data,
	})
	return nil
}

func childName(where string, n int) string {
	if where == "body" {
		return "part " + strconv.Itoa(n)
	}
	return where + "." + strconv.Itoa(n)
}

// headerSize is the size of a header as its fields add up.
func headerSize(h textproto.Header) int {
	n := 0
	for f := h.Fields(); f.Next(); {
		n += len(f.Key()) + len(f.Value()) + 4
	}
	return n
}

// sniffBoundary returns the boundary of the first line that looks like a
// multipart delimiter ("--" and 1 to 70 characters), or "".
func sniffBoundary(b []byte) string {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimRight(line, " \t\r")
		if len(line) > 2 && len(line) <= 72 && bytes.HasPrefix(line, []byte("--")) && !bytes.HasSuffix(line, []byte("--")) {
			s := string(line[2:])
			if !strings.ContainsAny(s, " \t") {
				return s
			}
		}
	}
	return ""
}

// recorder keeps a copy of what is read through it while on, up to
// maxRecordBytes.
type recorder struct {
	r         io.Reader
	buf       []byte
	on        bool
	truncated bool
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.on && n > 0 {
		if len(r.buf)+n <= maxRecordBytes {
			r.buf = append(r.buf, p[:n]...)
		} else {
			r.truncated = true
		}
	}
	return n, err
}

// stop ends recording and frees the copy.
func (r *recorder) stop() { r.on, r.buf = false, nil }

// drain reads the rest of the body through the recorder.
func (r *recorder) drain() error {
	_, err := io.Copy(io.Discard, r)
	return err
}
