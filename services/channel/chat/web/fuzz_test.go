package web

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeFrame: whatever a visitor sends, DecodeFrame never panics,
// refuses with a *FrameError, and what it accepts keeps the protocol's
// promises (a known type; a message with a valid ID and at most the limit
// of UTF-8 text without control characters).
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","token":"v1.a.b","chat":"01a25110-a544-7a5b-aa57-2081055d17fd","after":3}`,
		`{"type":"message","id":"m1","text":"你好 <img src=x onerror=alert(1)>"}`,
		`{"type":"typing","typing":false}`, `{"type":"read","seq":9}`, `{"type":"email","email":"a@b.c"}`,
		`{"type":"message","id":"m1","text":"\ud800"}`, `{"type":"message","id":"m1","text":"a\u0007"}`,
		`[]`, `null`, `{"type":1}`, `{"type":"message"}{}`, "\xff\xfe", `{"type":"read","seq":1e400}`,
	} {
		f.Add([]byte(s))
	}
	const limit = 64
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeFrame(data, limit)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Code == "" || fe.Message == "" {
				t.Fatalf("refusal %v is not a FrameError with a code and a message", err)
			}
			return
		}
		switch got.Type {
		case TypeHello, TypeTyping, TypeRead, TypeEmail:
		case TypeMessage:
			if !clientIDPattern.MatchString(got.ID) || len(got.Text) > limit || !utf8.ValidString(got.Text) || strings.TrimSpace(got.Text) == "" {
				t.Fatalf("accepted message %+v", got)
			}
			for _, r := range got.Text {
				if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
					t.Fatalf("accepted a control character in %q", got.Text)
				}
			}
		default:
			t.Fatalf("accepted type %q", got.Type)
		}
	})
}
