package smtpin

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// rawSession writes lines (each followed by CRLF) one at a time and
// returns the code of each reply, the greeting first.
func rawSession(t *testing.T, addr string, lines []string) []int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	readReply := func() int {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return 0 // closed
			}
			if len(line) >= 4 && line[3] == '-' {
				continue
			}
			code, _ := strconv.Atoi(line[:min(3, len(line))])
			return code
		}
	}
	codes := []int{readReply()}
	for _, l := range lines {
		if _, err := io.WriteString(c, l+"\r\n"); err != nil {
			codes = append(codes, 0)
			continue
		}
		codes = append(codes, readReply())
	}
	return codes
}

func TestGarbage(t *testing.T) {
	st := newStore()
	ts := start(t, testConfig(), st)
	tests := []struct {
		name  string
		lines []string
		want  []int // replies, the greeting first; 0: the server hung up
	}{
		{name: "HELO without a domain", lines: []string{"HELO"}, want: []int{220, 501}},
		{name: "MAIL before EHLO", lines: []string{"MAIL FROM:<a@example.com>"}, want: []int{220, 502}},
		{name: "RCPT before MAIL", lines: []string{"EHLO c", "RCPT TO:<support@acme.example>"}, want: []int{220, 250, 502}},
		{name: "DATA before RCPT", lines: []string{"EHLO c", "MAIL FROM:<>", "DATA"}, want: []int{220, 250, 250, 502}},
		{name: "unknown command", lines: []string{"EHLO c", "FROB"}, want: []int{220, 250, 500}},
		{name: "binary junk", lines: []string{"\x00\xff\xfe\x01 junk", "EHLO c"}, want: []int{220, 500, 250}},
		{name: "bad MAIL syntax", lines: []string{"EHLO c", "MAIL FROM:bad address"}, want: []int{220, 250, 501}},
		{name: "unknown MAIL parameter", lines: []string{"EHLO c", "MAIL FROM:<a@b.example> X-EVIL=1"}, want: []int{220, 250, 500}},
		{name: "AUTH is not offered", lines: []string{"EHLO c", "AUTH PLAIN AGFAAGI="}, want: []int{220, 250, 523}},
		{name: "STARTTLS without a certificate", lines: []string{"EHLO c", "STARTTLS"}, want: []int{220, 250, 502}},
		{name: "VRFY reveals nothing", lines: []string{"EHLO c", "VRFY support"}, want: []int{220, 250, 252}},
		// The fourth error is answered, then "500 5.5.1 Too many errors" and
		// the server hangs up.
		{name: "too many errors hang up", lines: []string{"A", "B", "C", "D", "EHLO c", "NOOP"}, want: []int{220, 501, 501, 501, 501, 500, 0}},
		{name: "a line too long hangs up", lines: []string{"EHLO " + strings.Repeat("x", 70_000), "EHLO c"}, want: []int{220, 500, 0}},
		{name: "BDAT without a transaction", lines: []string{"EHLO c", "BDAT 4 LAST"}, want: []int{220, 250, 502}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rawSession(t, ts.addr, tt.lines)
			if len(got) != len(tt.want) {
				t.Fatalf("replies %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("replies %v, want %v", got, tt.want)
				}
			}
		})
	}
	if calls, _ := st.stats(); calls != 0 {
		t.Errorf("Deliver called %d times", calls)
	}
	if err := sendOne(t, ts.addr, "ana@customer.example", []string{"support@acme.example"}, message); err != nil {
		t.Errorf("a good message after the garbage: %v", err)
	}
}

func TestDisconnectMidData(t *testing.T) {
	for _, tt := range []struct {
		name string
		cut  func(net.Conn)
	}{
		{name: "close", cut: func(c net.Conn) { _ = c.Close() }},
		{name: "half close", cut: func(c net.Conn) { _ = c.(*net.TCPConn).CloseWrite() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore()
			ts := start(t, testConfig(), st)
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _ = io.WriteString(c, "EHLO c\r\nMAIL FROM:<ana@customer.example>\r\nRCPT TO:<support@acme.example>\r\nDATA\r\n")
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(line, "354") {
					break
				}
			}
			_, _ = io.WriteString(c, "Subject: half\r\n\r\nthe first half of a mess")
			tt.cut(c)
			waitFor(t, "the connection to be forgotten", func() bool {
				ts.mu.Lock()
				defer ts.mu.Unlock()
				return len(ts.conns) == 0
			})
			if calls, _ := st.stats(); calls != 0 {
				t.Errorf("Deliver called %d times for an interrupted message", calls)
			}
			if err := sendOne(t, ts.addr, "ana@customer.example", []string{"support@acme.example"}, message); err != nil {
				t.Errorf("the next message: %v", err)
			}
		})
	}
}

// FuzzSession sends arbitrary bytes as a client session; the server must
// neither crash nor stop serving, and never pass Deliver more than the
// size limit.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<support@acme.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n",
		"EHLO c\r\nMAIL FROM:<a@b> SIZE=99999999999\r\n",
		"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<support@acme.example>\r\nBDAT 5 LAST\r\nhello",
		"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<support@acme.example>\r\nBDAT 400000000\r\nxx",
		"HELO \x00\r\nRSET\r\nNOOP\r\nVRFY x\r\nEXPN y\r\nHELP\r\n",
		"EHLO c\r\nMAIL FROM:<\"quoted local\"@[127.0.0.1]> SMTPUTF8 BODY=8BITMIME\r\nRCPT TO:<any+é@acme.example>\r\nDATA\r\n..\r\n.\r\n",
		"EHLO c\r\nSTARTTLS\r\n\x16\x03\x01\x02\x00",
		"\r\n\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	cfg := testConfig()
	cfg.MaxMessageBytes = 4096
	cfg.PerIP.Messages = Rate{} // fuzzing sends many
	cfg.ReadTimeout = 2 * time.Second
	st := newStore()
	st.setDeliver(func(_ context.Context, _ Envelope, data []byte) error {
		if len(data) > 4096 {
			return &Reply{Code: 554, Message: "over the limit"}
		}
		return nil
	})
	ts := start(f, cfg, st)
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write(in)
		_ = c.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, c)

		c2, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatalf("the server stopped accepting: %v", err)
		}
		defer c2.Close()
		_ = c2.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c2).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "220 ") {
			t.Fatalf("greeting after the fuzzed session: %q, %v", line, err)
		}
		_, _ = io.WriteString(c2, "QUIT\r\n")
		if _, stored := st.stats(); len(stored) > 0 && len(stored[len(stored)-1].data) > 4096 {
			t.Fatalf("Deliver got %d bytes over a 4096-byte limit", len(stored[len(stored)-1].data))
		}
	})
}

func TestBackendPanic(t *testing.T) {
	st := newStore()
	panics := true
	st.setDeliver(func(context.Context, Envelope, []byte) error {
		if panics {
			panics = false
			panic("store bug")
		}
		return nil
	})
	ts := start(t, testConfig(), st)
	code, enh := reply(t, sendOne(t, ts.addr, "ana@customer.example", []string{"support@acme.example"}, message))
	if code != 421 || enh != (smtp.EnhancedCode{4, 0, 0}) {
		t.Errorf("reply to a message whose Deliver panicked: %d %v, want 421 4.0.0", code, enh)
	}
	if err := sendOne(t, ts.addr, "ana@customer.example", []string{"support@acme.example"}, message); err != nil {
		t.Errorf("the next message: %v", err)
	}
}
