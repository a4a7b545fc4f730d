package smtpout

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/google/go-cmp/cmp"
)

// leaf is one decoded non-multipart entity of a parsed message.
type leaf struct {
	Path        string // content types from the root, e.g. "multipart/mixed/multipart/alternative/text/plain"
	ContentType string
	Charset     string
	Disposition string
	Filename    string
	ContentID   string
	Body        string
}

// parse reads raw back with go-message and flattens its tree.
func parse(t *testing.T, raw []byte) (gomail.Header, []leaf) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("message.Read: %v", err)
	}
	var leaves []leaf
	var walk func(e *message.Entity, path string)
	walk = func(e *message.Entity, path string) {
		ct, params, err := e.Header.ContentType()
		if err != nil {
			t.Fatalf("%s: Content-Type: %v", path, err)
		}
		path += "/" + ct
		if mr := e.MultipartReader(); mr != nil {
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					t.Fatalf("%s: next part: %v", path, err)
				}
				walk(p, path)
			}
		}
		body, err := io.ReadAll(e.Body)
		if err != nil {
			t.Fatalf("%s: body: %v", path, err)
		}
		l := leaf{Path: strings.TrimPrefix(path, "/"), ContentType: ct, Charset: params["charset"], Body: string(body)}
		ah := gomail.AttachmentHeader{Header: e.Header}
		l.Disposition, _, _ = ah.ContentDisposition()
		l.Filename, _ = ah.Filename()
		l.ContentID = strings.Trim(e.Header.Get("Content-Id"), "<>")
		leaves = append(leaves, l)
	}
	walk(e, "")
	return gomail.Header{Header: e.Header}, leaves
}

func chineseMail() Mail {
	return Mail{
		From:       Address{Name: "技术支持 (Acme)", Email: "support@acme.example"},
		To:         []Address{{Name: "王小明", Email: "xiaoming@example.cn"}},
		Cc:         []Address{{Name: "Ops, Team", Email: "ops@acme.example"}},
		ReplyTo:    []Address{{Email: "support+1042@acme.example"}},
		Subject:    "回复：打印机无法连接 [#1042]",
		MessageID:  "ticket-1042.event-7@acme.example",
		InReplyTo:  "CAF=abc123@mail.example.cn",
		References: []string{"root-1@mail.example.cn", "CAF=abc123@mail.example.cn"},
		Date:       time.Date(2026, 12, 7, 9, 30, 0, 0, time.FixedZone("CST", 8*3600)),
		Text:       "您好，\n\n请重新启动打印机后再试。\n" + strings.Repeat("长行", 100) + "\n",
		HTML:       "<p>您好，</p><p>请重新启动打印机后再试。</p><img src=\"cid:logo@acme\">",
		Attachments: []Attachment{
			{Filename: "打印机驱动安装说明（2026版）.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.7 fake")},
			{Filename: "logo.png", ContentType: "image/png", Inline: true, ContentID: "logo@acme", Data: []byte{0x89, 'P', 'N', 'G', 0, 1, 2}},
			{Filename: strings.Repeat("很长的文件名", 20) + ".txt", Data: []byte("x")},
			{Filename: "empty.bin", Data: nil},
		},
		Headers: map[string]string{"Auto-Submitted": "auto-replied", "X-Kubedesk-Ticket": "1042", "X-Kubedesk-Note": "已回复"},
	}
}

func TestComposeRoundTrip(t *testing.T) {
	m := chineseMail()
	raw, err := Compose(m)
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("a line ends in a bare LF")
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d has %d bytes, over RFC 5322's 998", i+1, len(line))
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %q", i+1, line)
			}
		}
	}
	// The raw header has the encoded forms.
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	rawHeader := string(head)
	for _, want := range []string{
		"Message-Id: <ticket-1042.event-7@acme.example>",
		"In-Reply-To: <CAF=abc123@mail.example.cn>",
		"References: <root-1@mail.example.cn> <CAF=abc123@mail.example.cn>",
		"Subject: =?utf-8?b?",
		"Date: Mon, 07 Dec 2026 09:30:00 +0800",
		"Mime-Version: 1.0",
	} {
		if !strings.Contains(rawHeader, want) {
			t.Errorf("header lacks %q:\n%s", want, rawHeader)
		}
	}

	h, leaves := parse(t, raw)
	subject, err := h.Subject()
	if err != nil || subject != m.Subject {
		t.Errorf("Subject() = %q, %v; want %q", subject, err, m.Subject)
	}
	id, err := h.MessageID()
	if err != nil || id != m.MessageID {
		t.Errorf("MessageID() = %q, %v; want %q", id, err, m.MessageID)
	}
	inReplyTo, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	if diff := cmp.Diff([]string{m.InReplyTo}, inReplyTo); diff != "" {
		t.Errorf("In-Reply-To (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(m.References, refs); diff != "" {
		t.Errorf("References (-want +got):\n%s", diff)
	}
	date, err := h.Date()
	if err != nil || !date.Equal(m.Date) {
		t.Errorf("Date() = %v, %v; want %v", date, err, m.Date)
	}
	for _, f := range []struct {
		key  string
		want []Address
	}{{"From", []Address{m.From}}, {"To", m.To}, {"Cc", m.Cc}, {"Reply-To", m.ReplyTo}} {
		list, err := h.AddressList(f.key)
		if err != nil {
			t.Errorf("%s: %v", f.key, err)
			continue
		}
		var got []Address
		for _, a := range list {
			got = append(got, Address{Name: a.Name, Email: a.Address})
		}
		if diff := cmp.Diff(f.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f.key, diff)
		}
	}
	for k, v := range m.Headers {
		if got, err := h.Text(k); err != nil || got != v {
			t.Errorf("header %s = %q, %v; want %q", k, got, err, v)
		}
	}

	text := strings.ReplaceAll(m.Text, "\n", "\r\n")
	want := []leaf{
		{Path: "multipart/mixed/multipart/alternative/text/plain", ContentType: "text/plain", Charset: "utf-8", Disposition: "", Body: text},
		{Path: "multipart/mixed/multipart/alternative/multipart/related/text/html", ContentType: "text/html", Charset: "utf-8", Body: m.HTML},
		{Path: "multipart/mixed/multipart/alternative/multipart/related/image/png", ContentType: "image/png", Disposition: "inline", Filename: "logo.png", ContentID: "logo@acme", Body: string(m.Attachments[1].Data)},
		{Path: "multipart/mixed/application/pdf", ContentType: "application/pdf", Disposition: "attachment", Filename: m.Attachments[0].Filename, Body: string(m.Attachments[0].Data)},
		{Path: "multipart/mixed/text/plain", ContentType: "text/plain", Charset: "utf-8", Disposition: "attachment", Filename: m.Attachments[2].Filename, Body: "x"},
		{Path: "multipart/mixed/application/octet-stream", ContentType: "application/octet-stream", Disposition: "attachment", Filename: "empty.bin", Body: ""},
	}
	if diff := cmp.Diff(want, leaves); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	// File names are RFC 2231 in Content-Disposition, not RFC 2047.
	if !strings.Contains(string(raw), "filename*0*=utf-8''%E6%89%93%E5%8D%B0") {
		t.Errorf("the Chinese file name is not RFC 2231 encoded:\n%s", raw)
	}
	if !strings.Contains(string(raw), "filename*0*=utf-8''") || !strings.Contains(string(raw), "filename*1*=") {
		t.Errorf("the long file name is not split in RFC 2231 sections")
	}
}

func TestDispositionWithFilename(t *testing.T) {
	tests := []struct{ name, want string }{
		{"report.pdf", "attachment; filename=report.pdf"},
		{"my report.pdf", `attachment; filename="my report.pdf"`},
		{"说明.pdf", "attachment; filename*=utf-8''%E8%AF%B4%E6%98%8E.pdf"},
		{"a'b*c%d.txt", "attachment; filename=a'b*c%d.txt"},
		{"a\"b;c.txt", `attachment; filename="a\"b;c.txt"`},
		{"打印机驱动安装说明.pdf", "attachment; filename*0*=utf-8''%E6%89%93%E5%8D%B0%E6%9C%BA%E9%A9%B1%E5%8A%A8; filename*1*=%E5%AE%89%E8%A3%85%E8%AF%B4%E6%98%8E.pdf"},
	}
	for _, tt := range tests {
		if got := dispositionWithFilename("attachment", tt.name); got != tt.want {
			t.Errorf("dispositionWithFilename(%q) =\n %s\nwant\n %s", tt.name, got, tt.want)
		}
	}
}

func TestComposeStructure(t *testing.T) {
	base := Mail{
		From:      Address{Email: "support@acme.example"},
		To:        []Address{{Email: "a@example.com"}},
		MessageID: "1@acme.example",
		Text:      "hello",
	}
	pdf := Attachment{Filename: "a.pdf", Data: []byte("pdf")}
	tests := []struct {
		name  string
		edit  func(*Mail)
		paths []string
	}{
		{"text only", func(*Mail) {}, []string{"text/plain"}},
		{"text and html", func(m *Mail) { m.HTML = "<p>hello</p>" }, []string{"multipart/alternative/text/plain", "multipart/alternative/text/html"}},
		{"text and attachment", func(m *Mail) { m.Attachments = []Attachment{pdf} }, []string{"multipart/mixed/text/plain", "multipart/mixed/application/pdf"}},
		{"inline without html goes to mixed", func(m *Mail) {
			m.Attachments = []Attachment{{Filename: "x.png", Inline: true, ContentID: "x@y", Data: []byte{1}}}
		}, []string{"multipart/mixed/text/plain", "multipart/mixed/image/png"}},
		{"html with inline image only", func(m *Mail) {
			m.HTML = `<img src="cid:x@y">`
			m.Attachments = []Attachment{{Filename: "x.png", Inline: true, ContentID: "x@y", Data: []byte{1}}}
		}, []string{"multipart/alternative/text/plain", "multipart/alternative/multipart/related/text/html", "multipart/alternative/multipart/related/image/png"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			tt.edit(&m)
			raw, err := Compose(m)
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			_, leaves := parse(t, raw)
			var paths []string
			for _, l := range leaves {
				paths = append(paths, l.Path)
			}
			if diff := cmp.Diff(tt.paths, paths); diff != "" {
				t.Errorf("structure (-want +got):\n%s\n%s", diff, raw)
			}
		})
	}
}

func TestComposeErrors(t *testing.T) {
	valid := Mail{
		From:      Address{Email: "support@acme.example"},
		To:        []Address{{Email: "a@example.com"}},
		MessageID: "1@acme.example",
		Text:      "hello",
	}
	tests := []struct {
		name string
		edit func(*Mail)
		want string
	}{
		{"missing from", func(m *Mail) { m.From = Address{Name: "Support"} }, "mail.from: is required"},
		{"bad from", func(m *Mail) { m.From.Email = "support" }, `mail.from.email: "support" is not an email address; accepted: local@domain`},
		{"header injection in address", func(m *Mail) { m.To[0].Email = "a@example.com>\r\nBcc: x@evil" }, `mail.to[0].email: "a@example.com>\r\nBcc: x@evil" is not an email address; accepted: local@domain`},
		{"no recipients", func(m *Mail) { m.To = nil }, "mail.to: at least one recipient (to or cc) is required"},
		{"cc without email", func(m *Mail) { m.Cc = []Address{{Name: "x"}} }, "mail.cc[0].email: is required"},
		{"missing message id", func(m *Mail) { m.MessageID = "" }, "mail.message_id: is required; accepted: id-left@id-right without <>, stable across retries"},
		{"message id with brackets", func(m *Mail) { m.MessageID = "<1@x>" }, `mail.message_id: "<1@x>" is not a message ID; accepted: id-left@id-right in printable ASCII, without <> or spaces`},
		{"bad reference", func(m *Mail) { m.References = []string{"ok@x", "no at"} }, `mail.references[1]: "no at" is not a message ID; accepted: id-left@id-right in printable ASCII, without <> or spaces`},
		{"bad in-reply-to", func(m *Mail) { m.InReplyTo = "x" }, `mail.in_reply_to: "x" is not a message ID; accepted: id-left@id-right in printable ASCII, without <> or spaces`},
		{"missing text", func(m *Mail) { m.Text = "" }, "mail.text: is required"},
		{"text not utf-8", func(m *Mail) { m.Text = "\xb4\xf2\xd3\xa1" }, "mail.text: is not valid UTF-8"},
		{"attachment without name", func(m *Mail) { m.Attachments = []Attachment{{Data: []byte("x")}} }, "mail.attachments[0].filename: is required"},
		{"attachment name with newline", func(m *Mail) { m.Attachments = []Attachment{{Filename: "a\r\nb.txt"}} }, `mail.attachments[0].filename: "a\r\nb.txt" contains control characters; accepted: a file name on one line`},
		{"bad content type", func(m *Mail) { m.Attachments = []Attachment{{Filename: "a", ContentType: "pdf"}} }, `mail.attachments[0].content_type: "pdf" is not a media type; accepted: e.g. application/pdf, or empty to guess from the file name`},
		{"multipart attachment", func(m *Mail) { m.Attachments = []Attachment{{Filename: "a", ContentType: "multipart/mixed"}} }, `mail.attachments[0].content_type: "multipart/mixed" is not accepted for an attachment; accepted: a leaf type such as application/pdf or image/png`},
		{"reserved header", func(m *Mail) { m.Headers = map[string]string{"content-type": "text/html"} }, `mail.headers["content-type"]: is written from the Mail's own fields; accepted: other fields such as Auto-Submitted or X-Kubedesk-Ticket`},
		{"header value with newline", func(m *Mail) { m.Headers = map[string]string{"X-A": "1\r\nBcc: x@evil"} }, `mail.headers["X-A"]: contains a line break; accepted: a one-line value`},
		{"bad header name", func(m *Mail) { m.Headers = map[string]string{"X A": "1"} }, `mail.headers: "X A" is not a header field name; accepted: printable ASCII without spaces or ':'`},
		{"several at once", func(m *Mail) { m.From = Address{}; m.Text = "" }, "mail.from: is required\nmail.text: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid
			m.To = append([]Address(nil), valid.To...)
			tt.edit(&m)
			raw, err := Compose(m)
			if err == nil {
				t.Fatalf("Compose: no error, want %q\n%s", tt.want, raw)
			}
			if err.Error() != tt.want {
				t.Errorf("Compose error:\n got %q\nwant %q", err, tt.want)
			}
		})
	}
}

func TestComposeSubjectLineBreaks(t *testing.T) {
	raw, err := Compose(Mail{
		From: Address{Email: "s@acme.example"}, To: []Address{{Email: "a@example.com"}},
		MessageID: "1@acme.example", Text: "x", Subject: "Re: printer\r\nBcc: evil@example.com",
	})
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	h, _ := parse(t, raw)
	if got, _ := h.Subject(); got != "Re: printer  Bcc: evil@example.com" {
		t.Errorf("Subject() = %q", got)
	}
	if h.Has("Bcc") {
		t.Errorf("a line break in the subject made a Bcc field")
	}
}

// FuzzCompose checks that whatever the subject, names, file name and text,
// Compose either refuses with an error or writes a message that parses back
// to the same values.
func FuzzCompose(f *testing.F) {
	f.Add("回复：打印机无法连接 [#1042]", "王小明", "说明.pdf", "您好\n谢谢", "<p>hi</p>")
	f.Add("=?utf-8?q?not encoded?=", "\"quoted\" name", "a;b=c.txt", ".\r\n.\r\n", "")
	f.Add(strings.Repeat("x", 2000), strings.Repeat("名", 100), strings.Repeat("%", 80), strings.Repeat("a", 5000), "")
	f.Fuzz(func(t *testing.T, subject, name, filename, text, html string) {
		m := Mail{
			From: Address{Name: name, Email: "support@acme.example"}, To: []Address{{Email: "a@example.com"}},
			MessageID: "1@acme.example", Subject: subject, Text: text, HTML: html,
			Attachments: []Attachment{{Filename: filename, Data: []byte(text)}},
		}
		raw, err := Compose(m)
		if err != nil {
			return
		}
		e, err := message.Read(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("composed message does not parse: %v\n%q", err, raw)
		}
		h := gomail.Header{Header: e.Header}
		if got, err := h.Subject(); err != nil || got != oneLine(subject) {
			t.Fatalf("Subject() = %q, %v; want %q", got, err, oneLine(subject))
		}
		from, err := h.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Name != oneLine(name) {
			t.Fatalf("From = %v, %v; want name %q", from, err, oneLine(name))
		}
		mr := e.MultipartReader()
		if mr == nil {
			t.Fatalf("no multipart body")
		}
		var gotName string
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if disp, _, _ := p.Header.ContentDisposition(); disp == "attachment" {
				ah := gomail.AttachmentHeader{Header: p.Header}
				gotName, _ = ah.Filename()
			}
		}
		if gotName != filename {
			t.Fatalf("attachment file name = %q, want %q", gotName, filename)
		}
	})
}
