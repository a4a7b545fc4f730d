package mail_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubedesk/kubedesk/services/channel/mail"
)

// FuzzParse checks that Parse never panics and that what it returns keeps
// its promises: UTF-8 text, Visible+Folded == Text, base file names.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")))
	}
	f.Add([]byte("From: a@example.com\r\nSubject: =?GBK?B?tPLTobv6u7XByw==?=\r\n\r\nhi"))
	f.Add([]byte("From: =?utf-8?q?=E5=BC=A0?= <a@b>\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; filename*0*=gbk''%B1%A8; filename*1=x\n\n\n--b--"))
	f.Add([]byte("From: a@b\nContent-Type: text/html\n\n<p>x<script>y</script>"))
	lim := mail.Limits{MaxParts: 50, MaxDepth: 8, MaxHeaderBytes: 64 << 10, MaxLineBytes: 64 << 10, MaxMessageBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := mail.Parse(bytes.NewReader(data), lim)
		if err != nil {
			var pe *mail.ParseError
			if !errors.As(err, &pe) || pe.Field == "" || pe.Msg == "" {
				t.Fatalf("error %v is not a complete *ParseError", err)
			}
			return
		}
		if m.Visible+m.Folded != m.Text {
			t.Fatalf("Visible+Folded != Text")
		}
		for _, s := range []string{m.Text, m.HTML, m.Subject, m.From.Name, m.From.Email, m.MessageID} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8: %q", s)
			}
		}
		if m.From.Email == "" {
			t.Fatal("From.Email is empty")
		}
		for _, a := range m.Attachments {
			if a.Filename == "" || strings.ContainsAny(a.Filename, "/\\\x00") || !utf8.ValidString(a.Filename) {
				t.Fatalf("bad file name %q", a.Filename)
			}
			if a.ContentType == "" || a.Data == nil {
				t.Fatalf("attachment without type or data: %+v", a)
			}
		}
		if strings.Contains(strings.ToLower(m.HTML), "<script") {
			t.Fatalf("script in HTML: %q", m.HTML)
		}
	})
}

// FuzzSplitQuoted checks that nothing is lost and nothing panics.
func FuzzSplitQuoted(f *testing.F) {
	f.Add("hi\n\nOn Mon, X wrote:\n> a\n")
	f.Add("x\n-- \nsig")
	f.Add("在 2026年12月1日 10:00，张三 <z@y> 写道：\n> 好\n")
	f.Fuzz(func(t *testing.T, text string) {
		v, fo := mail.SplitQuoted(text)
		if v+fo != text {
			t.Fatalf("visible+folded != text")
		}
		if strings.TrimSpace(text) != "" && strings.TrimSpace(v) == "" {
			t.Fatalf("visible is empty for %q", text)
		}
	})
}
