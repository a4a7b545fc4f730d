package mail_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubedesk/kubedesk/services/channel/mail"
)

// crlf turns the LF line ends of a Go literal into the CRLF of the wire.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func mustParse(t *testing.T, raw string) *mail.Message {
	t.Helper()
	m, err := mail.Parse(strings.NewReader(crlf(raw)), mail.Limits{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseStructure(t *testing.T) {
	tests := []struct {
		name        string
		file        string
		text        string
		htmlHas     []string
		htmlHasNot  []string
		attachments []mail.Attachment
	}{
		{
			name:    "multipart/alternative",
			file:    "alternative.eml",
			text:    "Hello,\nthe printer on floor 3 is broken.\n",
			htmlHas: []string{"<p>Hello,</p>", "<b>broken</b>"},
		},
		{
			name: "multipart/mixed with attachments",
			file: "mixed.eml",
			text: "See the attached log.\n",
			attachments: []mail.Attachment{
				{Filename: "printer.log", ContentType: "text/plain", Data: []byte("E42 paper jam\n")},
				{Filename: "report.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4")},
				{Filename: "attachment-3.bin", ContentType: "application/octet-stream", Data: []byte{0, 1, 2}},
			},
		},
		{
			name:    "multipart/related with inline image",
			file:    "related.eml",
			text:    "Screenshot:\n\nThanks",
			htmlHas: []string{`<img src="cid:shot1@example.com"`},
			attachments: []mail.Attachment{
				{Filename: "shot.png", ContentType: "image/png", ContentID: "shot1@example.com", Inline: true, Data: []byte("\x89PNG\r\n\x1a\n")},
			},
		},
		{
			name: "nested message/rfc822",
			file: "forward.eml",
			text: "Forwarding the complaint below.\n",
			attachments: []mail.Attachment{
				{Filename: "forwarded.eml", ContentType: "message/rfc822", Data: []byte(crlf("From: Customer <c@example.org>\nSubject: Broken\n\nIt is broken.\n"))},
			},
		},
		{
			name:       "html only",
			file:       "html-only.eml",
			text:       "Hello & welcome\nline two\nfirst\nsecond\nblock <x>",
			htmlHas:    []string{"<p>Hello &amp; welcome<br>line two</p>"},
			htmlHasNot: []string{"script", "alert"},
		},
		{
			name: "text only",
			file: "text-only.eml",
			text: "Just text.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, readTestdata(t, tt.file))
			if m.Text != tt.text {
				t.Errorf("Text = %q, want %q", m.Text, tt.text)
			}
			for _, s := range tt.htmlHas {
				if !strings.Contains(m.HTML, s) {
					t.Errorf("HTML %q lacks %q", m.HTML, s)
				}
			}
			for _, s := range tt.htmlHasNot {
				if strings.Contains(m.HTML, s) {
					t.Errorf("HTML %q holds %q", m.HTML, s)
				}
			}
			if len(tt.htmlHas) == 0 && m.HTML != "" {
				t.Errorf("HTML = %q, want none", m.HTML)
			}
			if diff := cmp.Diff(tt.attachments, m.Attachments, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Attachments (-want +got):\n%s", diff)
			}
			if len(m.Warnings) != 0 {
				t.Errorf("Warnings = %q, want none", m.Warnings)
			}
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	m := mustParse(t, readTestdata(t, "alternative.eml"))
	want := &mail.Message{
		MessageID:  "abc.123@mail.example.com",
		InReplyTo:  []string{"prev@example.com"},
		References: []string{"first@example.com", "prev@example.com"},
		From:       mail.Address{Name: "Alice Smith", Email: "Alice@example.com"},
		To:         []mail.Address{{Name: "Help Desk", Email: "help@desk.example"}},
		Cc:         []mail.Address{{Email: "bob@example.com"}, {Name: "Carol", Email: "carol@example.net"}},
		ReplyTo:    []mail.Address{{Email: "alice.private@example.com"}},
		Subject:    "Re: Printer broken [#1042]",
		Date:       time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("", 8*3600)),
	}
	got := &mail.Message{MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References, From: m.From,
		To: m.To, Cc: m.Cc, ReplyTo: m.ReplyTo, Subject: m.Subject, Date: m.Date}
	if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
	if m.Kind != mail.KindNormal || m.KindReason != "" {
		t.Errorf("Kind = %v %q, want normal", m.Kind, m.KindReason)
	}
}

func TestParseEncodedHeaders(t *testing.T) {
	tests := []struct {
		name, subject, from   string
		wantSubject, wantName string
	}{
		{"utf-8 B", "=?UTF-8?B?5omT5Y2w5py65Z2P5LqG?=", "=?UTF-8?B?5byg5LiJ?= <z@example.com>", "打印机坏了", "张三"},
		{"utf-8 Q", "=?utf-8?Q?Re:_=E6=89=93=E5=8D=B0?= [#7]", `"=?utf-8?q?=E5=BC=A0=E4=B8=89?=" <z@example.com>`, "Re: 打印 [#7]", "张三"},
		{"gb2312", "=?GB2312?B?tPLTobv6u7XByw==?=", "=?gb2312?B?1cWGtA==?= <z@example.com>", "打印机坏了", "张喆"},
		{"gbk", "=?GBK?B?tPLTobv6u7XByw==?=", "=?GBK?B?1cWGtA==?= <z@example.com>", "打印机坏了", "张喆"},
		{"gb18030", "=?GB18030?B?lDn8NrGo0N4=?=", "=?gb18030?B?1cWGtA==?= <z@example.com>", "😀报修", "张喆"},
		{"big5", "=?big5?B?pbSmTL73w2GkRg==?=", "=?Big5?B?pbSmTL73w2GkRg==?= <z@example.com>", "打印機壞了", "打印機壞了"},
		{"adjacent words joined", "=?UTF-8?B?5omT5Y2w?= =?UTF-8?B?5py65Z2P5LqG?=", "=?UTF-8?B?5byg?=\n =?UTF-8?B?5LiJ?= <z@example.com>", "打印机坏了", "张三"},
		{"utf-8 split inside a character", "=?UTF-8?B?5omT5Y2w5g==?= =?UTF-8?B?nLrlnY/kuoY=?=", "Zhang San <z@example.com>", "打印机坏了", "Zhang San"},
		{"raw utf-8", "打印机坏了", "张三 <z@example.com>", "打印机坏了", "张三"},
		{"raw 8-bit gbk", "\xb2\xe2\xca\xd4\xd6\xf7\xcc\xe2", "\xd5\xc5\x86\xb4 <z@example.com>", "测试主题", "张喆"},
		{"encoded word with comma", "x", "=?UTF-8?Q?Smith,_John?= <j@EXAMPLE.com>", "x", "Smith, John"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, "From: "+tt.from+"\nSubject: "+tt.subject+"\n\nbody\n")
			if m.Subject != tt.wantSubject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.wantSubject)
			}
			if m.From.Name != tt.wantName {
				t.Errorf("From.Name = %q, want %q", m.From.Name, tt.wantName)
			}
			if m.From.Email != "z@example.com" && m.From.Email != "j@example.com" {
				t.Errorf("From.Email = %q", m.From.Email)
			}
			if len(m.Warnings) != 0 {
				t.Errorf("Warnings = %q", m.Warnings)
			}
		})
	}
}

func TestParseFilenames(t *testing.T) {
	tests := []struct {
		name, disposition, contentType, want string
	}{
		{"rfc 2231 utf-8", `attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf`, "application/pdf", "报告.pdf"},
		{"rfc 2231 continuations", "attachment;\n filename*0*=UTF-8''%E6%8A%A5;\n filename*1*=%E5%91%8A;\n filename*2=.pdf", "application/pdf", "报告.pdf"},
		{"rfc 2231 gbk", `attachment; filename*=gbk''%B1%A8%B8%E6.pdf`, "application/pdf", "报告.pdf"},
		{"rfc 2231 wins over plain", `attachment; filename="old.pdf"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf`, "application/pdf", "报告.pdf"},
		{"rfc 2047 in filename", `attachment; filename="=?GBK?B?sai45i5wZGY=?="`, "application/pdf", "报告.pdf"},
		{"rfc 2047 in name of content-type", `attachment`, `application/pdf; name="=?UTF-8?B?5oql5ZGKLnBkZg==?="`, "报告.pdf"},
		{"path is cut to base name", `attachment; filename="../../etc/passwd"`, "text/plain", "passwd"},
		{"windows path", `attachment; filename="C:\\Users\\x\\a.pdf"`, "application/pdf", "a.pdf"},
		{"dots only", `attachment; filename=".."`, "image/png", "attachment-1.png"},
		{"missing", `attachment`, "IMAGE/JPEG", "attachment-1.jpg"},
		{"unquoted with spaces", `attachment; filename=my report.pdf`, "application/pdf", "my report.pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\n" +
				"Content-Type: " + tt.contentType + "\nContent-Disposition: " + tt.disposition + "\n\ndata\n--b--\n"
			m := mustParse(t, raw)
			if len(m.Attachments) != 1 {
				t.Fatalf("got %d attachments, want 1", len(m.Attachments))
			}
			if got := m.Attachments[0].Filename; got != tt.want {
				t.Errorf("Filename = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseBodyCharsets(t *testing.T) {
	tests := []struct {
		name, contentType, encoding, body string
		want                              string
		warnings                          []string
	}{
		{"utf-8 base64", "text/plain; charset=utf-8", "base64", "5L2g5aW977yM5LiW55WMCg==", "你好，世界\n", nil},
		{"gb2312 holding gbk chars", "text/plain; charset=gb2312", "quoted-printable", "=D5=C5=86=B4=C4=FA=BA=C3", "张喆您好", nil},
		{"gbk qp", `text/plain; charset="GBK"`, "quoted-printable", "=C4=E3=BA=C3=A3=AC=CA=C0=BD=E7", "你好，世界", nil},
		{"gb18030 base64", "text/plain; charset=gb18030", "base64", "lDn8NiCy4srU", "😀 测试", nil},
		{"big5 base64", "text/plain; charset=big5", "base64", "sXqmbqFBpkyq7b73w2GkRg==", "您好，印表機壞了", nil},
		{"iso-8859-1 qp", "text/plain; charset=iso-8859-1", "quoted-printable", "caf=E9 cr=E8me", "café crème", nil},
		{"windows-1252 qp", "text/plain; charset=windows-1252", "quoted-printable", "=80 5 =93quoted=94", "€ 5 “quoted”", nil},
		{"us-ascii 7bit", "text/plain; charset=us-ascii", "7bit", "plain ascii", "plain ascii", nil},
		{"qp soft breaks", "text/plain; charset=utf-8", "quoted-printable", "long=\nline =3D ok", "longline = ok", nil},
		{"no charset, 8-bit gbk", "text/plain", "8bit", "\xc4\xe3\xba\xc3", "你好", nil},
		{"unknown charset", "text/plain; charset=x-unknown", "8bit", "a\xe9b", "a\uFFFDb",
			[]string{`body: charset "x-unknown" is not supported: decoded with replacement characters`}},
		{"unknown transfer encoding", "text/plain", "x-foo", "kept", "kept",
			[]string{`body: Content-Transfer-Encoding "x-foo" is not supported (accepted: 7bit, 8bit, binary, quoted-printable, base64): body kept undecoded`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: a@example.com\nContent-Type: " + tt.contentType + "\nContent-Transfer-Encoding: " + tt.encoding + "\n\n" + tt.body
			m, err := mail.Parse(strings.NewReader(raw), mail.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != tt.want {
				t.Errorf("Text = %q, want %q", m.Text, tt.want)
			}
			if diff := cmp.Diff(tt.warnings, m.Warnings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	tests := []struct {
		name, headers string
		kind          mail.Kind
		reason        string
	}{
		{"normal", "From: a@example.com\n", mail.KindNormal, ""},
		{"auto-submitted no", "From: a@example.com\nAuto-Submitted: no\n", mail.KindNormal, ""},
		{"auto-replied", "From: a@example.com\nAuto-Submitted: auto-replied\n", mail.KindAutoReply, "Auto-Submitted: auto-replied"},
		{"auto-generated with params", "From: a@example.com\nAuto-Submitted: Auto-Generated; owner-email=x@y\n", mail.KindAutoReply, "Auto-Submitted: auto-generated"},
		{"x-autoreply", "From: a@example.com\nX-Autoreply: yes\n", mail.KindAutoReply, "X-Autoreply present"},
		{"x-autorespond", "From: a@example.com\nX-Autorespond: 1\n", mail.KindAutoReply, "X-Autorespond present"},
		{"precedence bulk", "From: a@example.com\nPrecedence: bulk\n", mail.KindBulk, "Precedence: bulk"},
		{"precedence junk", "From: a@example.com\nPrecedence: JUNK\n", mail.KindBulk, "Precedence: junk"},
		{"precedence list", "From: a@example.com\nPrecedence: list\n", mail.KindBulk, "Precedence: list"},
		{"list-id", "From: a@example.com\nList-Id: <users.lists.example.com>\n", mail.KindBulk, "List-Id present"},
		{"list-unsubscribe", "From: a@example.com\nList-Unsubscribe: <mailto:u@example.com>\n", mail.KindBulk, "List-Unsubscribe present"},
		{"multipart/report", "From: a@example.com\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n", mail.KindBounce, "multipart/report"},
		{"mailer-daemon", "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\n", mail.KindBounce, "sender mailer-daemon"},
		{"postmaster", "From: PostMaster@example.com\n", mail.KindBounce, "sender postmaster"},
		{"bounce beats auto-reply", "From: mailer-daemon@example.com\nAuto-Submitted: auto-replied\n", mail.KindBounce, "sender mailer-daemon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "hi\n"
			if strings.Contains(tt.headers, "boundary=b") {
				body = "--b\nContent-Type: text/plain\n\nundeliverable\n--b\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\n--b--\n"
			}
			m := mustParse(t, tt.headers+"\n"+body)
			if m.Kind != tt.kind || m.KindReason != tt.reason {
				t.Errorf("Kind = %v %q, want %v %q", m.Kind, m.KindReason, tt.kind, tt.reason)
			}
		})
	}
	if got := mail.KindAutoReply.String(); got != "auto-reply" {
		t.Errorf("String = %q", got)
	}
}

func TestParseHeadersMap(t *testing.T) {
	m := mustParse(t, "From: a@example.com\nReturn-Path: <bounce@example.com>\nList-Id: =?UTF-8?Q?Caf=C3=A9?= <cafe.example.com>\nPrecedence: list\n\nhi\n")
	want := map[string]string{"Return-Path": "<bounce@example.com>", "List-Id": "Café <cafe.example.com>", "Precedence": "list"}
	if diff := cmp.Diff(want, m.Headers); diff != "" {
		t.Errorf("Headers (-want +got):\n%s", diff)
	}
}

func TestParseBadInput(t *testing.T) {
	tests := []struct {
		name, raw string
		want      *mail.ParseError
	}{
		{"missing From", "To: a@example.com\nSubject: x\n\nbody\n",
			&mail.ParseError{Field: "From", Msg: `missing; a message needs a From header with the sender's mailbox, e.g. "Name <user@example.com>"`}},
		{"empty input", "",
			&mail.ParseError{Field: "From", Msg: `missing; a message needs a From header with the sender's mailbox, e.g. "Name <user@example.com>"`}},
		{"unparseable From", "From: not an address\n\nbody\n",
			&mail.ParseError{Field: "From", Msg: `cannot read "not an address"; accepted: a mailbox such as "Name <user@example.com>" or "user@example.com"`}},
		{"garbage", "\x00\x01 garbage without a colon\n\nbody\n",
			&mail.ParseError{Field: "header", Msg: "malformed (malformed MIME header line: \x00\x01 garbage without a colon); accepted: \"Name: value\" fields, one per line, then an empty line and the body"}},
		{"leading space", " From: a@example.com\n\nbody\n",
			&mail.ParseError{Field: "header", Msg: "malformed (malformed MIME header initial line:  From: a@example.com); accepted: \"Name: value\" fields, one per line, then an empty line and the body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := mail.Parse(strings.NewReader(crlf(tt.raw)), mail.Limits{})
			var pe *mail.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, %v; want *ParseError", m, err)
			}
			if diff := cmp.Diff(tt.want, pe); diff != "" {
				t.Errorf("ParseError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMalformedMIME(t *testing.T) {
	tests := []struct {
		name, raw string
		text      string
		warnings  []string
	}{
		{
			name:     "boundary never found",
			raw:      "From: a@example.com\nContent-Type: multipart/mixed; boundary=nothere\n\nplain words\nmore words\n",
			text:     "plain words\nmore words\n",
			warnings: []string{`body: multipart/mixed boundary "nothere" not found: body kept as plain text`},
		},
		{
			name:     "wrong boundary is recovered",
			raw:      "From: a@example.com\nContent-Type: multipart/alternative; boundary=abc\n\n--abd\nContent-Type: text/plain\n\nrecovered\n--abd--\n",
			text:     "recovered",
			warnings: []string{`body: multipart/alternative boundary "abc" not found: read with "abd" found in the body`},
		},
		{
			name:     "no boundary parameter",
			raw:      "From: a@example.com\nContent-Type: multipart/mixed\n\nkept\n",
			text:     "kept\n",
			warnings: []string{`body: multipart/mixed has no boundary parameter: body kept as plain text`},
		},
		{
			name:     "truncated after first part",
			raw:      "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nfirst\n--b\nContent-Type: text/plain\n\nsecond is cut",
			text:     "first\nsecond is cut",
			warnings: []string{`part 2: truncated (unexpected EOF): what was read is kept`},
		},
		{
			name:     "garbage part header",
			raw:      "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nfirst\n--b\n\x00garbage\n\nx\n--b--\n",
			text:     "first",
			warnings: []string{"body: malformed multipart/mixed after part 1 (message: malformed MIME header line: \x00garbage): the rest is left out"},
		},
		{
			name:     "bad content type",
			raw:      "From: a@example.com\nContent-Type: what ever\n\nxyz",
			text:     "",
			warnings: []string{`body: Content-Type "what ever" is not a media type: read as application/octet-stream`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.raw)
			if m.Text != tt.text {
				t.Errorf("Text = %q, want %q", m.Text, tt.text)
			}
			if diff := cmp.Diff(tt.warnings, m.Warnings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseZeroByteAttachment(t *testing.T) {
	m := mustParse(t, "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nhi\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=empty.pdf\nContent-Transfer-Encoding: base64\n\n\n--b--\n")
	want := []mail.Attachment{{Filename: "empty.pdf", ContentType: "application/pdf", Data: []byte{}}}
	if diff := cmp.Diff(want, m.Attachments); diff != "" {
		t.Errorf("Attachments (-want +got):\n%s", diff)
	}
	if m.Attachments[0].Data == nil {
		t.Error("Data is nil, want empty")
	}
}

func TestParseSanitizesHTML(t *testing.T) {
	m := mustParse(t, readTestdata(t, "xss.eml"))
	for _, bad := range []string{"<script", "alert", "onclick", "onerror", "javascript:", "<iframe", "<style", "<form", "<object", "style="} {
		if strings.Contains(strings.ToLower(m.HTML), bad) {
			t.Errorf("HTML holds %q: %s", bad, m.HTML)
		}
	}
	for _, good := range []string{"<b>Hi</b>", `<a href="https://example.com"`, `<img src="cid:logo@x"`} {
		if !strings.Contains(m.HTML, good) {
			t.Errorf("HTML lacks %q: %s", good, m.HTML)
		}
	}
	if strings.Contains(m.Text, "alert") || strings.Contains(m.Text, "color") {
		t.Errorf("Text holds script or style: %q", m.Text)
	}
}

func TestParseVisible(t *testing.T) {
	m := mustParse(t, "From: a@example.com\n\nThanks, fixed.\n\nOn Mon, 1 Dec 2026 at 10:00, Desk <help@desk.example> wrote:\n> Is it fixed?\n")
	if m.Visible != "Thanks, fixed.\n" || m.Visible+m.Folded != m.Text {
		t.Errorf("Visible = %q, Folded = %q", m.Visible, m.Folded)
	}
}

func TestParseChineseClient(t *testing.T) {
	m := mustParse(t, readTestdata(t, "qqmail-gbk.eml"))
	if m.From != (mail.Address{Name: "张喆", Email: "zhezhang@qq.com"}) {
		t.Errorf("From = %+v", m.From)
	}
	if m.Subject != "回复：打印机 [#1042]" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if n, ok := mail.SubjectToken(m.Subject); n != 1042 || !ok {
		t.Errorf("SubjectToken = %d, %v", n, ok)
	}
	if m.Visible != "您好，\n打印机又坏了，请尽快处理。\n" {
		t.Errorf("Visible = %q", m.Visible)
	}
	if !strings.HasPrefix(m.Folded, "\n------------------ 原始邮件 ------------------\n") || m.Visible+m.Folded != m.Text {
		t.Errorf("Folded = %q", m.Folded)
	}
	if m.HTML != "<div>您好，</div><div>打印机又坏了，请尽快处理。</div>" {
		t.Errorf("HTML = %q", m.HTML)
	}
	want := []mail.Attachment{{Filename: "报告.pdf", ContentType: "application/octet-stream", Data: []byte("%PDF-1.4")}}
	if diff := cmp.Diff(want, m.Attachments); diff != "" {
		t.Errorf("Attachments (-want +got):\n%s", diff)
	}
	if len(m.Warnings) != 0 {
		t.Errorf("Warnings = %q", m.Warnings)
	}
}
