package mail_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/channel/mail"
)

// nested builds a message of n multiparts, each inside the one before.
func nested(n int) string {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i, i+1)
	}
	return b.String()
}

// siblings builds a multipart/mixed of n text parts.
func siblings(n int) string {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := 0; i < n; i++ {
		b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n")
	}
	b.WriteString("--b--\r\n")
	return b.String()
}

// endless is a reader of a header and then one line of n bytes of 'a',
// made on the fly so that the test itself holds none of it.
type endless struct {
	head string
	n    int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.head != "" {
		k := copy(p, e.head)
		e.head = e.head[k:]
		return k, nil
	}
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := len(p)
	if int64(k) > e.n {
		k = int(e.n)
	}
	for i := range p[:k] {
		p[i] = 'a'
	}
	e.n -= int64(k)
	return k, nil
}

func TestParseLimits(t *testing.T) {
	deep := "part 1" + strings.Repeat(".1", 15)
	tests := []struct {
		name  string
		input func() io.Reader
		lim   mail.Limits
		want  *mail.ParseError
	}{
		{"10,000 nested parts", func() io.Reader { return strings.NewReader(nested(10000)) }, mail.Limits{},
			&mail.ParseError{Field: deep, Msg: "multipart nested deeper than 16 levels; Limits.MaxDepth accepts at most 16"}},
		{"10,000 sibling parts", func() io.Reader { return strings.NewReader(siblings(10000)) }, mail.Limits{},
			&mail.ParseError{Field: "part 201", Msg: "more than 200 MIME parts; Limits.MaxParts accepts at most 200"}},
		{"100 MB body line", func() io.Reader { return &endless{head: "From: a@example.com\r\n\r\n", n: 100 << 20} }, mail.Limits{},
			&mail.ParseError{Field: "message", Msg: "line 3 is longer than 1048576 bytes; Limits.MaxLineBytes accepts lines of at most 1048576 bytes (RFC 5322 allows 998)"}},
		{"100 MB header line", func() io.Reader { return &endless{head: "From: a@example.com\r\nSubject: ", n: 100 << 20} }, mail.Limits{},
			&mail.ParseError{Field: "header", Msg: "larger than 262144 bytes; Limits.MaxHeaderBytes accepts at most 262144 bytes of header"}},
		{"100 MB line in a part", func() io.Reader {
			return &endless{head: "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/pdf\r\n\r\n", n: 100 << 20}
		}, mail.Limits{},
			&mail.ParseError{Field: "message", Msg: "line 7 is longer than 1048576 bytes; Limits.MaxLineBytes accepts lines of at most 1048576 bytes (RFC 5322 allows 998)"}},
		{"message too big", func() io.Reader { return strings.NewReader(siblings(100)) }, mail.Limits{MaxMessageBytes: 1000},
			&mail.ParseError{Field: "message", Msg: "larger than 1000 bytes; Limits.MaxMessageBytes accepts at most 1000"}},
		{"part header too big", func() io.Reader {
			return strings.NewReader("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX-Long: " + strings.Repeat("y", 300) + "\r\n\r\nx\r\n--b--\r\n")
		}, mail.Limits{MaxHeaderBytes: 200},
			&mail.ParseError{Field: "part 1", Msg: "header larger than 200 bytes; Limits.MaxHeaderBytes accepts at most 200 bytes of header"}},
		{"custom depth", func() io.Reader { return strings.NewReader(nested(5)) }, mail.Limits{MaxDepth: 2},
			&mail.ParseError{Field: "part 1.1", Msg: "multipart nested deeper than 2 levels; Limits.MaxDepth accepts at most 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.input()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			m, err := mail.Parse(r, tt.lim)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			var pe *mail.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, %v; want *ParseError", m, err)
			}
			if diff := cmp.Diff(tt.want, pe); diff != "" {
				t.Errorf("ParseError (-want +got):\n%s", diff)
			}
			// The brief asks for limits that fail fast and small; the
			// bounds are loose so that a busy machine does not flake.
			if elapsed > time.Second {
				t.Errorf("Parse took %v, want well under a second", elapsed)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("took %v, allocated %d KiB", elapsed, alloc>>10)
			if alloc > 32<<20 {
				t.Errorf("Parse allocated %d MiB, want a few", alloc>>20)
			}
		})
	}
}

func TestParseWithinLimits(t *testing.T) {
	m, err := mail.Parse(strings.NewReader(nested(15)+"--b15\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--b15--\r\n"), mail.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "deep" {
		t.Errorf("Text = %q, want %q", m.Text, "deep")
	}
	if _, err := mail.Parse(strings.NewReader(siblings(199)), mail.Limits{}); err != nil {
		t.Errorf("199 parts: %v", err)
	}
}
