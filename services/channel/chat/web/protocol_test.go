package web

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeFrame(t *testing.T) {
	yes := true
	for _, tt := range []struct {
		name, frame string
		want        ClientFrame
	}{
		{"hello", `{"type":"hello","token":"v1.x.y","chat":"01a25110-a544-7a5b-aa57-2081055d17fd","after":12,"locale":"zh-CN"}`,
			ClientFrame{Type: "hello", Token: "v1.x.y", Chat: "01a25110-a544-7a5b-aa57-2081055d17fd", After: 12, Locale: "zh-CN"}},
		{"first hello", `{"type":"hello"}`, ClientFrame{Type: "hello"}},
		{"message", `{"type":"message","id":"m-1_a","text":"你好 <img src=x onerror=alert(1)>\n"}`,
			ClientFrame{Type: "message", ID: "m-1_a", Text: "你好 <img src=x onerror=alert(1)>\n"}},
		{"typing", `{"type":"typing","typing":true}`, ClientFrame{Type: "typing", Typing: &yes}},
		{"read", `{"type":"read","seq":3}`, ClientFrame{Type: "read", Seq: 3}},
		{"email", ` {"type":"email","email":"li.na@example.com"} `, ClientFrame{Type: "email", Email: "li.na@example.com"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFrame([]byte(tt.frame), 64)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeFrameRefusals(t *testing.T) {
	for _, tt := range []struct {
		name, frame, code, msg, id string
	}{
		{"not JSON", `hello`, CodeBadFrame, `frame: not a JSON object of the chat protocol (invalid JSON at byte 1); accepted: e.g. {"type":"message","id":"m-1","text":"hello"}`, ""},
		{"empty", ``, CodeBadFrame, `frame: not a JSON object of the chat protocol (empty or cut short); accepted: e.g. {"type":"message","id":"m-1","text":"hello"}`, ""},
		{"unknown field", `{"type":"message","id":"m1","text":"hi","html":"<b>hi</b>"}`, CodeBadFrame,
			`frame: not a JSON object of the chat protocol (json: unknown field "html"); accepted: e.g. {"type":"message","id":"m-1","text":"hello"}`, ""},
		{"wrong type of value", `{"type":"read","seq":"3"}`, CodeBadFrame,
			`frame: not a JSON object of the chat protocol (field seq: a JSON string, not int64); accepted: e.g. {"type":"message","id":"m-1","text":"hello"}`, ""},
		{"two objects", `{"type":"typing","typing":true}{"type":"typing","typing":false}`, CodeBadFrame, "frame: has more after its JSON object; accepted: one object per frame", ""},
		{"unknown type", `{"type":"html"}`, CodeBadFrame, `type: "html" is not a frame type; accepted: hello, message, typing, read, email`, ""},
		{"no id", `{"type":"message","text":"hi"}`, CodeBadFrame, `id: "" is not a message ID; accepted: 1 to 64 letters, digits, '-' and '_'`, ""},
		{"bad id", `{"type":"message","id":"<b>","text":"hi"}`, CodeBadFrame, `id: "<b>" is not a message ID; accepted: 1 to 64 letters, digits, '-' and '_'`, ""},
		{"too large", `{"type":"message","id":"m1","text":"` + strings.Repeat("字", 6) + `"}`, CodeTooLarge, "text: has 18 bytes; accepted: at most 16 bytes of text (UTF-8)", "m1"},
		{"empty text", `{"type":"message","id":"m1","text":"  "}`, CodeBadFrame, "text: is empty; accepted: 1 to 16 bytes of text", "m1"},
		{"control character", `{"type":"message","id":"m1","text":"a\u0000b"}`, CodeBadFrame,
			"text: holds the control character U+0000 at byte 1; accepted: text without control characters other than tab and line breaks", "m1"},
		{"typing without a value", `{"type":"typing"}`, CodeBadFrame, "typing: is missing; accepted: true or false", ""},
		{"read nothing", `{"type":"read","seq":0}`, CodeBadFrame, "seq: 0; accepted: the seq of a message read, 1 or more", ""},
		{"no address", `{"type":"email"}`, CodeBadFrame, "email: has 0 bytes; accepted: an e-mail address of 3 to 320 bytes", ""},
		{"bad chat", `{"type":"hello","chat":"../etc"}`, CodeBadFrame, `chat: "../etc" is not a chat ID; accepted: the ID of a chat frame, or empty`, ""},
		{"negative after", `{"type":"hello","after":-1}`, CodeBadFrame, "after: -1; accepted: the seq of the last message seen, 0 or more", ""},
		{"long token", `{"type":"hello","token":"` + strings.Repeat("t", 257) + `"}`, CodeBadFrame, "token: has 257 bytes; accepted: at most 256", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFrame([]byte(tt.frame), 16)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a *FrameError", err)
			}
			if fe.Code != tt.code || fe.Message != tt.msg || fe.ID != tt.id {
				t.Errorf("= %s %q (id %q), want %s %q (id %q)", fe.Code, fe.Message, fe.ID, tt.code, tt.msg, tt.id)
			}
		})
	}
}
