package mail_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubedesk/kubedesk/services/channel/mail"
)

func TestParseHeaderWarnings(t *testing.T) {
	tests := []struct {
		name, headers string
		subject       string
		warnings      []string
	}{
		{"unknown charset in encoded word", "Subject: =?x-unknown?Q?caf=E9?=\n", "caf\uFFFD",
			[]string{`Subject: charset "x-unknown" is not supported: decoded with replacement characters`}},
		{"8-bit neither utf-8 nor gb18030", "Subject: a\xff\xffb\n", "a\uFFFD\uFFFDb",
			[]string{"Subject: invalid 8-bit bytes replaced with U+FFFD"}},
		{"malformed encoded word kept", "Subject: =?utf-8?X?abc?= ok\n", "=?utf-8?X?abc?= ok", nil},
		{"bad date", "Subject: s\nDate: yesterday\n", "s", []string{`Date: cannot read "yesterday": left zero`}},
		{"bad cc address is left out", "Subject: s\nCc: good@example.com, <broken\n", "s", []string{`Cc: cannot read address "<broken": left out`}},
		{"two senders", "Subject: s\nFrom: b@example.com\n", "s", []string{"From: 2 mailboxes: the first is taken as the sender"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, "From: a@example.com\n"+tt.headers+"\nbody\n")
			if m.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.subject)
			}
			if diff := cmp.Diff(tt.warnings, m.Warnings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDates(t *testing.T) {
	cst := time.FixedZone("", 8*3600)
	want := time.Date(2026, 12, 1, 10, 0, 0, 0, cst)
	for _, d := range []string{
		"Tue, 1 Dec 2026 10:00:00 +0800",
		"Tue, 1 Dec 2026 10:00:00 +0800 (CST)",
		"1 Dec 2026 10:00:00 +0800",
		"Tue, 01 Dec 2026 02:00:00 GMT",
		"2026-12-01T10:00:00+08:00",
	} {
		t.Run(d, func(t *testing.T) {
			m := mustParse(t, "From: a@example.com\nDate: "+d+"\n\nx")
			if !m.Date.Equal(want) {
				t.Errorf("Date = %v, want %v", m.Date, want)
			}
		})
	}
}

func TestParseAddresses(t *testing.T) {
	tests := []struct {
		name, to string
		want     []mail.Address
	}{
		{"list", `"Doe, Jane" <Jane@Example.COM>, bob@EXAMPLE.org`, []mail.Address{{Name: "Doe, Jane", Email: "Jane@example.com"}, {Email: "bob@example.org"}}},
		{"group", "undisclosed-recipients:;", nil},
		{"unquoted utf-8 name", "张三 <z@example.com>", []mail.Address{{Name: "张三", Email: "z@example.com"}}},
		{"comment name", "z@example.com (Zhang San)", []mail.Address{{Name: "Zhang San", Email: "z@example.com"}}},
		{"lenient fallback", `Bad <x@example.com>>, ok@example.com`, []mail.Address{{Name: "Bad", Email: "x@example.com"}, {Email: "ok@example.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, "From: a@example.com\nTo: "+tt.to+"\n\nx")
			if diff := cmp.Diff(tt.want, m.To, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("To (-want +got):\n%s", diff)
			}
		})
	}
}

// failingReader returns its header and then an I/O error.
type failingReader struct{ data string }

var errDisk = errors.New("disk on fire")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, errDisk
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestParseReadError(t *testing.T) {
	for _, raw := range []string{
		"From: a@example.com\r\nSubj",
		"From: a@example.com\r\n\r\nbody",
		"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx",
	} {
		_, err := mail.Parse(&failingReader{data: raw}, mail.Limits{})
		var pe *mail.ParseError
		if !errors.Is(err, errDisk) || errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want the reader's error, not a ParseError", raw, err)
		}
	}
	if _, err := mail.Parse(io.MultiReader(strings.NewReader("From: a@example.com\r\n\r\nok")), mail.Limits{}); err != nil {
		t.Errorf("Parse: %v", err)
	}
}
