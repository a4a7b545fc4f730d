package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
)

// helloWithin is how long a new WebSocket may take to say hello.
const helloWithin = 10 * time.Second

// writeWithin bounds one write to a visitor.
const writeWithin = 10 * time.Second

// websocket serves a visitor over one WebSocket: hello first, then
// messages, typing, read receipts and an address up, the chat's frames
// and each message's ack down.
func (h *handler) websocket(w http.ResponseWriter, r *http.Request) {
	ctx, _, ok := h.outgoing(w, r)
	if !ok {
		return
	}
	// Any origin: the token comes in the first frame, from the page's
	// storage, never from a cookie (see the package comment).
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept answered the request
	}
	defer func() { _ = c.CloseNow() }()
	c.SetReadLimit(MaxFrameBytes)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	write := func(v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		wctx, done := context.WithTimeout(ctx, writeWithin)
		defer done()
		return c.Write(wctx, websocket.MessageText, data)
	}

	hctx, done := context.WithTimeout(ctx, helloWithin)
	_, data, err := c.Read(hctx)
	done()
	if err != nil {
		_ = c.Close(websocket.StatusPolicyViolation, "no hello within "+helloWithin.String())
		return
	}
	hello, err := DecodeFrame(data, h.opts.MaxMessageBytes)
	if err == nil && hello.Type != TypeHello {
		err = bad("", "type: %q before hello; accepted: hello first, with the token kept from the last visit (or none)", hello.Type)
	}
	if err != nil {
		e, _ := h.errorFrame(ctx, err, "")
		_ = write(e)
		_ = c.Close(websocket.StatusPolicyViolation, "hello expected")
		return
	}
	welcome, err := h.start(ctx, hello.Token)
	if err != nil {
		e, _ := h.errorFrame(ctx, err, "")
		_ = write(e)
		_ = c.Close(websocket.StatusTryAgainLater, e.Message)
		return
	}
	if err := write(welcome); err != nil {
		return
	}
	stream, err := h.follow(ctx, welcome.Token, hello.Chat, hello.After)
	if err != nil {
		_ = c.Close(websocket.StatusTryAgainLater, "the chat service is unavailable; reconnect")
		return
	}
	// Down: the chat's frames; the connection ends with the stream.
	go func() {
		defer cancel()
		chat := ""
		for {
			resp, err := stream.Recv()
			if err != nil {
				if ctx.Err() == nil {
					_ = c.Close(websocket.StatusTryAgainLater, closeReason(err))
				}
				return
			}
			if conv := resp.GetFrame().GetConversation(); conv != nil {
				chat = conv.GetTicketId()
			}
			if f := frameOf(resp.GetFrame(), chat); f != nil {
				if err := write(f); err != nil {
					return
				}
			}
		}
	}()
	go func() {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pctx, done := context.WithTimeout(ctx, writeWithin)
				err := c.Ping(pctx)
				done()
				if err != nil {
					cancel()
					return
				}
			}
		}
	}()
	// Up: one frame at a time, so a visitor's messages keep their order.
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return // closed, or over MaxFrameBytes (closed with 1009 by the library)
		}
		if typ != websocket.MessageText {
			_ = write(&ErrorFrame{Type: "error", Code: CodeBadFrame, Message: "frame: binary; accepted: JSON text frames"})
			continue
		}
		f, err := DecodeFrame(data, h.opts.MaxMessageBytes)
		if err == nil && f.Type == TypeHello {
			err = bad("", "type: hello again; accepted: hello once, first")
		}
		if err == nil && f.Locale == "" {
			f.Locale = hello.Locale
		}
		var reply any
		if err == nil {
			reply, err = h.dispatch(ctx, welcome.Token, f)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			reply, _ = h.errorFrame(ctx, err, f.ID)
		}
		if reply != nil {
			if err := write(reply); err != nil {
				return
			}
		}
	}
}

// closeReason tells the visitor why its stream ended (at most the 123
// bytes a close frame carries).
func closeReason(err error) string {
	msg := "the chat service is unavailable; reconnect"
	if st := status.Convert(err); st.Code() == codes.Unauthenticated || st.Code() == codes.NotFound {
		msg = st.Message()
	}
	if len(msg) > 123 {
		msg = msg[:123]
	}
	return msg
}

// events serves the visitor's chat as server-sent events: the fallback
// where WebSockets do not get through. The token is the
// X-Kubedesk-Visitor header; where to resume is Last-Event-ID (the id of
// the last message event, "<chat>/<seq>"), else the chat and after query
// parameters.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	ctx, _, ok := h.outgoing(w, r)
	if !ok {
		return
	}
	chat, after, err := resumePoint(r)
	if err != nil {
		h.refuse(w, r, err, "")
		return
	}
	token := r.Header.Get(TokenHeader)
	if token == "" {
		writeJSON(w, http.StatusUnauthorized, &ErrorFrame{Type: "error", Code: CodeToken,
			Message: TokenHeader + ": missing; accepted: the token POST /chat/" + r.PathValue("tenant") + "/visit returned"})
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := h.follow(ctx, token, chat, after)
	var first *channelv1.FollowChatVisitResponse
	if err == nil {
		// A refused token comes with the first answer: still in time for
		// an HTTP status.
		first, err = stream.Recv()
	}
	if err != nil {
		h.refuse(w, r, err, "")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	frames := make(chan *channelv1.FollowChatVisitResponse, 16)
	frames <- first
	go func() {
		defer close(frames)
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case frames <- resp:
			case <-ctx.Done():
				return
			}
		}
	}()
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	current := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, err = io.WriteString(w, ": keep-alive\n\n")
		case resp, ok := <-frames:
			if !ok {
				return // the stream ended: the client reconnects from its last id
			}
			if conv := resp.GetFrame().GetConversation(); conv != nil {
				current = conv.GetTicketId()
			}
			err = writeEvent(w, frameOf(resp.GetFrame(), current))
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// writeEvent writes one frame as an event named for its type; a message's
// id is where a reconnection resumes.
func writeEvent(w io.Writer, f any) error {
	if f == nil {
		return nil
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	var b strings.Builder
	switch v := f.(type) {
	case *Message:
		fmt.Fprintf(&b, "event: message\nid: %s/%d\n", v.Chat, v.Seq)
	case *Conversation:
		b.WriteString("event: chat\n")
	case *Typing:
		b.WriteString("event: typing\n")
	}
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	_, err = io.WriteString(w, b.String())
	return err
}

// resumePoint reads where an event stream resumes.
func resumePoint(r *http.Request) (string, int64, error) {
	chat, after := r.URL.Query().Get("chat"), r.URL.Query().Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		var ok bool
		if chat, after, ok = strings.Cut(id, "/"); !ok {
			return "", 0, bad("", "Last-Event-ID: %q is not an event id of the chat; accepted: <chat>/<seq> as the events carry it", truncate(id))
		}
	}
	if chat != "" && !chatIDPattern.MatchString(chat) {
		return "", 0, bad("", "chat: %q is not a chat ID; accepted: the id of a chat event, or empty", truncate(chat))
	}
	seq := int64(0)
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 0 {
			return "", 0, bad("", "after: %q; accepted: the seq of the last message seen, 0 or more", truncate(after))
		}
		seq = n
	}
	return chat, seq, nil
}
