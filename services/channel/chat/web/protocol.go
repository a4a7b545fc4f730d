package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	"github.com/kubedesk/kubedesk/services/channel/chat"
)

// The visitor's protocol is JSON frames, one per WebSocket text message,
// POST body or server-sent event. A client sends:
//
//	{"type":"hello","token":"v1...","chat":"<ticket ID>","after":12,"locale":"zh-CN"}  (WebSocket: first)
//	{"type":"message","id":"m-1","text":"你好"}
//	{"type":"typing","typing":true}
//	{"type":"read","seq":12}
//	{"type":"email","email":"li.na@example.com"}
//
// and gets welcome, chat (the conversation: state, read receipt),
// message (with its seq), typing, ack (of a message: its seq) and error
// frames; see docs/chat.md.

// Frame types a client sends.
const (
	TypeHello   = "hello"
	TypeMessage = "message"
	TypeTyping  = "typing"
	TypeRead    = "read"
	TypeEmail   = "email"
)

// ClientFrame is one frame from a visitor.
type ClientFrame struct {
	Type   string `json:"type"`
	Token  string `json:"token,omitempty"`
	Chat   string `json:"chat,omitempty"`
	After  int64  `json:"after,omitempty"`
	Locale string `json:"locale,omitempty"`
	ID     string `json:"id,omitempty"`
	Text   string `json:"text,omitempty"`
	Typing *bool  `json:"typing,omitempty"`
	Seq    int64  `json:"seq,omitempty"`
	Email  string `json:"email,omitempty"`
}

// Error codes of error frames (and of the JSON of refused POSTs).
const (
	CodeBadFrame    = "bad_frame"    // not a frame of the protocol
	CodeTooLarge    = "too_large"    // a message over the limit
	CodeInvalid     = "invalid"      // refused by the channel service (an address, a message)
	CodeToken       = "token"        // the token is not valid: start a new visit
	CodeRateLimited = "rate_limited" // too many; retry later
	CodeNotFound    = "not_found"    // no chat for this tenant
	CodeState       = "state"        // not now (no chat yet, the chat is closed)
	CodeUnavailable = "unavailable"  // the chat service failed; retry
)

// FrameError is a frame refused, with what to tell the visitor.
type FrameError struct {
	Code    string
	Message string
	// ID is the refused message's ID, when it had one.
	ID string
}

func (e *FrameError) Error() string { return e.Code + ": " + e.Message }

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	chatIDPattern   = regexp.MustCompile(`^[0-9a-f-]{36}$`)
)

// Limits of a frame apart from its message text.
const (
	maxToken  = 256
	maxEmail  = 320
	maxLocale = 35
)

// DecodeFrame reads one client frame: a JSON object of the protocol, no
// unknown fields, nothing after it, with the fields its type needs
// (message text at most maxText bytes of UTF-8). A refused frame is a
// *FrameError naming the field, the value's problem and what is accepted.
func DecodeFrame(data []byte, maxText int) (ClientFrame, error) {
	var f ClientFrame
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return ClientFrame{}, bad("", "frame: not a JSON object of the chat protocol (%s); accepted: e.g. {\"type\":\"message\",\"id\":\"m-1\",\"text\":\"hello\"}", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ClientFrame{}, bad("", "frame: has more after its JSON object; accepted: one object per frame")
	}
	if len(f.Token) > maxToken {
		return ClientFrame{}, bad("", "token: has %d bytes; accepted: at most %d", len(f.Token), maxToken)
	}
	switch f.Type {
	case TypeHello:
		if f.Chat != "" && !chatIDPattern.MatchString(f.Chat) {
			return ClientFrame{}, bad("", "chat: %q is not a chat ID; accepted: the ID of a chat frame, or empty", truncate(f.Chat))
		}
		if f.After < 0 {
			return ClientFrame{}, bad("", "after: %d; accepted: the seq of the last message seen, 0 or more", f.After)
		}
		if len(f.Locale) > maxLocale {
			return ClientFrame{}, bad("", "locale: has %d bytes; accepted: a language tag such as zh-CN or en", len(f.Locale))
		}
	case TypeMessage:
		if !clientIDPattern.MatchString(f.ID) {
			return ClientFrame{}, bad("", "id: %q is not a message ID; accepted: 1 to 64 letters, digits, '-' and '_'", truncate(f.ID))
		}
		if len(f.Text) > maxText {
			return ClientFrame{}, &FrameError{Code: CodeTooLarge, ID: f.ID, Message: fmt.Sprintf("text: has %d bytes; accepted: at most %d bytes of text (UTF-8)", len(f.Text), maxText)}
		}
		if err := chat.CheckText("text", f.Text, maxText); err != nil {
			return ClientFrame{}, bad(f.ID, "%s", err.Error())
		}
	case TypeTyping:
		if f.Typing == nil {
			return ClientFrame{}, bad("", "typing: is missing; accepted: true or false")
		}
	case TypeRead:
		if f.Seq < 1 {
			return ClientFrame{}, bad("", "seq: %d; accepted: the seq of a message read, 1 or more", f.Seq)
		}
	case TypeEmail:
		if f.Email == "" || len(f.Email) > maxEmail {
			return ClientFrame{}, bad("", "email: has %d bytes; accepted: an e-mail address of 3 to %d bytes", len(f.Email), maxEmail)
		}
	default:
		return ClientFrame{}, bad("", "type: %q is not a frame type; accepted: hello, message, typing, read, email", truncate(f.Type))
	}
	return f, nil
}

func bad(id, format string, args ...any) *FrameError {
	return &FrameError{Code: CodeBadFrame, ID: id, Message: fmt.Sprintf(format, args...)}
}

// jsonProblem says what is wrong with JSON without repeating the frame.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s: a JSON %s, not %s", typ.Field, typ.Value, typ.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or cut short"
	}
	return truncate(err.Error())
}

// truncate keeps what an error repeats of a visitor's input short.
func truncate(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}

// Frames a visitor gets.

// Welcome answers hello (and POST .../visit): the visitor's token (a new
// one when the token sent was not valid), its ID, the longest message
// accepted and its chat, if any.
type Welcome struct {
	Type     string        `json:"type"` // welcome
	Token    string        `json:"token"`
	Visitor  string        `json:"visitor"`
	MaxBytes int32         `json:"maxBytes"`
	Chat     *Conversation `json:"chat,omitempty"`
}

// Conversation is a chat as the visitor sees it.
type Conversation struct {
	Type  string `json:"type,omitempty"` // chat, as a frame of its own
	ID    string `json:"id"`
	State string `json:"state"` // waiting, offered, answered, ask_email, email, closed
	Email string `json:"email,omitempty"`
	// LastSeq is the seq of its last message; AgentRead the last an
	// agent has read.
	LastSeq   int64 `json:"lastSeq"`
	AgentRead int64 `json:"agentRead"`
}

// Message is one message of the chat.
type Message struct {
	Type   string    `json:"type"` // message
	Chat   string    `json:"chat"`
	Seq    int64     `json:"seq"`
	Author string    `json:"author"` // visitor, agent, system
	Name   string    `json:"name,omitempty"`
	Text   string    `json:"text"`
	Time   time.Time `json:"time"`
	// ID is the visitor's ID of a message it sent.
	ID string `json:"id,omitempty"`
}

// Typing says an agent is typing, or stopped.
type Typing struct {
	Type   string `json:"type"` // typing
	Name   string `json:"name,omitempty"`
	Typing bool   `json:"typing"`
}

// Ack answers a message: stored, with its seq.
type Ack struct {
	Type string `json:"type"` // ack
	ID   string `json:"id"`
	Chat string `json:"chat"`
	Seq  int64  `json:"seq"`
}

// ErrorFrame refuses a frame.
type ErrorFrame struct {
	Type    string `json:"type"` // error
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`
	// RetryAfter is the seconds to wait, for rate_limited.
	RetryAfter int `json:"retryAfter,omitempty"`
}

var stateNames = map[channelv1.ChatState]string{
	channelv1.ChatState_CHAT_STATE_WAITING:   "waiting",
	channelv1.ChatState_CHAT_STATE_OFFERED:   "offered",
	channelv1.ChatState_CHAT_STATE_ANSWERED:  "answered",
	channelv1.ChatState_CHAT_STATE_ASK_EMAIL: "ask_email",
	channelv1.ChatState_CHAT_STATE_EMAIL:     "email",
	channelv1.ChatState_CHAT_STATE_CLOSED:    "closed",
}

var authorNames = map[channelv1.ChatAuthor]string{
	channelv1.ChatAuthor_CHAT_AUTHOR_VISITOR: "visitor",
	channelv1.ChatAuthor_CHAT_AUTHOR_AGENT:   "agent",
	channelv1.ChatAuthor_CHAT_AUTHOR_SYSTEM:  "system",
}

// conversationFrame is what the visitor sees of a chat: not its contact,
// group or the visitor's own receipt.
func conversationFrame(c *channelv1.ChatConversation) *Conversation {
	if c == nil {
		return nil
	}
	return &Conversation{ID: c.GetTicketId(), State: stateNames[c.GetState()], Email: c.GetEmail(), LastSeq: c.GetLastSeq(), AgentRead: c.GetAgentReadSeq()}
}

// frameOf is a stream's frame as the visitor gets it; chat is the chat
// of the last conversation frame, which messages name.
func frameOf(f *channelv1.ChatFrame, chat string) any {
	switch {
	case f.GetConversation() != nil:
		c := conversationFrame(f.GetConversation())
		c.Type = "chat"
		return c
	case f.GetMessage() != nil:
		m := f.GetMessage()
		return &Message{Type: TypeMessage, Chat: chat, Seq: m.GetSeq(), Author: authorNames[m.GetAuthor()], Name: m.GetAuthorName(),
			Text: m.GetText(), Time: m.GetCreateTime().AsTime(), ID: m.GetClientId()}
	case f.GetTyping() != nil:
		return &Typing{Type: TypeTyping, Name: f.GetTyping().GetAuthorName(), Typing: f.GetTyping().GetTyping()}
	}
	return nil
}
