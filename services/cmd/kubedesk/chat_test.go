package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kubedesk/kubedesk/services/channel/smtpout/smtptest"
)

// chatTenants: acme's chats go to group support and wait 5 s for an
// agent; its mail goes out from support@acme.example.
const chatTenants = `apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: acme}
spec:
  displayName: 艾克米
  channels:
    chat: {group: support, offerWait: 5s}
    email:
      inbound: [{address: support@acme.example}]
      from: 艾克米客服 <support@acme.example>
`

// frame is one JSON frame of the visitor's protocol.
type frame map[string]any

func (f frame) str(k string) string { s, _ := f[k].(string); return s }
func (f frame) num(k string) int64  { n, _ := f[k].(float64); return int64(n) }

// chatSocket is a visitor's WebSocket, its frames read into a channel.
type chatSocket struct {
	c       *websocket.Conn
	frames  chan frame
	closed  chan struct{}
	welcome frame
	backlog []frame // frames until passed over
}

// dialChat opens a visitor's WebSocket to tenantID on srv and says hello
// with token (none: a new visitor), resuming chat after seq.
func dialChat(t *testing.T, srv *instance, tenantID, token, chat string, after int64) *chatSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(srv.base, "http", "ws", 1)+"/chat/"+tenantID+"/ws", nil) //nolint:bodyclose // Dial closes it ("you never need to close resp.Body")
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	s := &chatSocket{c: c, frames: make(chan frame, 1024), closed: make(chan struct{})}
	t.Cleanup(func() { _ = c.CloseNow() })
	go func() {
		defer close(s.closed)
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var f frame
			if err := json.Unmarshal(data, &f); err != nil {
				t.Errorf("frame %s: %v", data, err)
				return
			}
			s.frames <- f
		}
	}()
	s.send(t, frame{"type": "hello", "token": token, "chat": chat, "after": after, "locale": "zh-CN"})
	s.welcome = s.next(t)
	if s.welcome.str("type") != "welcome" || s.welcome.str("token") == "" {
		t.Fatalf("first frame %v, want a welcome", s.welcome)
	}
	return s
}

func (s *chatSocket) send(t *testing.T, f frame) {
	t.Helper()
	data, _ := json.Marshal(f)
	if err := s.c.Write(t.Context(), websocket.MessageText, data); err != nil {
		t.Fatal(err)
	}
}

// next is the next frame, within 10 s.
func (s *chatSocket) next(t *testing.T) frame {
	t.Helper()
	select {
	case f := <-s.frames:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
		return nil
	}
}

// until returns the first frame of typ for which ok holds (nil: any),
// oldest first; the frames it passes over stay for later calls (a
// message's ack and the stream's frames come in either order).
func (s *chatSocket) until(t *testing.T, typ string, ok func(frame) bool) frame {
	t.Helper()
	match := func(f frame) bool { return f.str("type") == typ && (ok == nil || ok(f)) }
	if i := slices.IndexFunc(s.backlog, match); i >= 0 {
		f := s.backlog[i]
		s.backlog = slices.Delete(s.backlog, i, i+1)
		return f
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case f := <-s.frames:
			if match(f) {
				return f
			}
			s.backlog = append(s.backlog, f)
		case <-deadline:
			t.Fatalf("no %s frame within 15s", typ)
			return nil
		}
	}
}

// agentWatch follows a chat as an agent does (GET /v1/chats/{id}:watch)
// and hands its frames to a channel.
func agentWatch(t *testing.T, srv *instance, tenantID, chat string, after int64, headers ...string) chan map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/chats/%s:watch?after_seq=%d", srv.base, chat, after), nil)
	req.Header.Set("X-Kubedesk-Tenant", tenantID)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	srv.authorize(t, req)
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed by the reader below, or at once on failure
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("watch chat %s: %d %s", chat, resp.StatusCode, body)
	}
	out := make(chan map[string]any, 256)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var line struct {
				Result struct {
					Frame map[string]any `json:"frame"`
				} `json:"result"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Result.Frame != nil {
				out <- line.Result.Frame
			}
		}
	}()
	return out
}

// agentFrame waits for the agent's stream to send a frame of kind
// (conversation, message, typing) for which ok holds.
func agentFrame(t *testing.T, frames chan map[string]any, kind string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case f := <-frames:
			if v, has := f[kind].(map[string]any); has && (ok == nil || ok(v)) {
				return v
			}
		case <-deadline:
			t.Fatalf("no %s on the agent's stream within 15s", kind)
			return nil
		}
	}
}

// TestChat runs the web chat end to end on both engines, through the
// gateway's endpoints: a WebSocket conversation with an agent, resuming
// without loss or repeats, the server-sent events fallback, refusals,
// offers to an agent online and the hand-off to e-mail.
func TestChat(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			sink := smtptest.Start(t)
			file := filepath.Join(t.TempDir(), "kubedesk.yaml")
			writeFile(t, file, chatTenants)
			srv := startServe(t, append(args, "--config="+file, "--smtp-relay="+sink.URL())...)
			t.Run("conversation", func(t *testing.T) { testChatConversation(t, srv) })
			t.Run("resume", func(t *testing.T) { testChatResume(t, srv) })
			t.Run("fallback", func(t *testing.T) { testChatFallback(t, srv) })
			t.Run("refusals", func(t *testing.T) { testChatRefusals(t, srv) })
			t.Run("hand-off to e-mail", func(t *testing.T) { testChatHandOff(t, srv, sink) })
			t.Run("offered to an agent online", func(t *testing.T) { testChatOffer(t, srv) })
		})
	}
}

const xss = `<img src=x onerror="document.title='owned'">`

func testChatConversation(t *testing.T, srv *instance) {
	ws := dialChat(t, srv, "acme", "", "", 0)
	if ws.welcome.num("maxBytes") != 4096 || ws.welcome["chat"] != nil {
		t.Errorf("welcome %v", ws.welcome)
	}
	ws.send(t, frame{"type": "message", "id": "m1", "text": "打印机坏了 " + xss})
	ack := ws.until(t, "ack", nil)
	chat := ack.str("chat")
	if ack.str("id") != "m1" || ack.num("seq") != 1 || chat == "" {
		t.Fatalf("ack %v", ack)
	}
	// (Its id is there unless the channel saw the message in the ticket
	// events before its sender's answer: the ack's seq matches it.)
	if m := ws.until(t, "message", nil); m.num("seq") != 1 || m.str("text") != "打印机坏了 "+xss || m.str("author") != "visitor" || (m.str("id") != "m1" && m.str("id") != "") {
		t.Errorf("the visitor's message from the stream: %v", m)
	}
	tk := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+chat, nil, "X-Kubedesk-Tenant", "acme")
	if tk.str("channel") != "CHANNEL_CHAT" || tk.str("group") != "support" || tk.str("description") != "打印机坏了 "+xss {
		t.Errorf("the chat's ticket: %s", tk.body)
	}
	requester := tk.json["requester"].(map[string]any)
	if !strings.HasPrefix(requester["identity"].(string), "web:") || requester["contactId"] == "" {
		t.Errorf("requester %v: want the visitor's web identity and contact", requester)
	}

	// The agent's stream: the chat, its message, then the visitor typing.
	agent := agentWatch(t, srv, "acme", chat, 0)
	agentFrame(t, agent, "conversation", func(c map[string]any) bool { return c["state"] == "CHAT_STATE_WAITING" })
	agentFrame(t, agent, "message", func(m map[string]any) bool { return m["seq"] == "1" })
	ws.send(t, frame{"type": "typing", "typing": true})
	if ty := agentFrame(t, agent, "typing", nil); ty["typing"] != true || ty["author"] != "CHAT_AUTHOR_VISITOR" {
		t.Errorf("visitor typing on the agent's stream: %v", ty)
	}

	// An internal note, then a reply: the reply is the visitor's next
	// message; the note never comes.
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+chat+"/comments", map[string]any{"body": "内部：VIP 客户", "visibility": "VISIBILITY_INTERNAL"}, "X-Kubedesk-Tenant", "acme")
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+chat+"/comments", map[string]any{"body": "请重启打印机 <b>试试</b>"}, "X-Kubedesk-Tenant", "acme")
	m := ws.until(t, "message", nil)
	if m.num("seq") != 2 || m.str("author") != "agent" || m.str("text") != "请重启打印机 <b>试试</b>" {
		t.Errorf("the agent's reply on the visitor's socket: %v", m)
	}
	ws.until(t, "chat", func(f frame) bool { return f.str("state") == "answered" })

	// Typing and read receipts the other way.
	srv.mustCall(t, http.StatusOK, "POST", "/v1/chats/"+chat+":signal", map[string]any{"typing": true}, "X-Kubedesk-Tenant", "acme")
	if ty := ws.until(t, "typing", nil); ty["typing"] != true || ty.str("name") == "" {
		t.Errorf("agent typing on the visitor's socket: %v", ty)
	}
	srv.mustCall(t, http.StatusOK, "POST", "/v1/chats/"+chat+":signal", map[string]any{"readSeq": 2}, "X-Kubedesk-Tenant", "acme")
	ws.until(t, "chat", func(f frame) bool { return f.num("agentRead") == 2 })
	ws.send(t, frame{"type": "read", "seq": 2})
	agentFrame(t, agent, "conversation", func(c map[string]any) bool { return c["visitorReadSeq"] == "2" })

}

// testChatResume: a visitor that reconnects with the last seq it saw gets
// every message after it once, whatever happened while it was away, and
// a message sent again (its ack lost) is stored once.
func testChatResume(t *testing.T, srv *instance) {
	ws := dialChat(t, srv, "acme", "", "", 0)
	token := ws.welcome.str("token")
	ws.send(t, frame{"type": "message", "id": "r1", "text": "开始"})
	chat := ws.until(t, "ack", nil).str("chat")
	reply := func(text string) {
		// Called from a goroutine too: no t.Fatal.
		if r := srv.call(t, "POST", "/v1/tickets/"+chat+"/comments", map[string]any{"body": text}, "X-Kubedesk-Tenant", "acme"); r.code != http.StatusOK {
			t.Errorf("reply %q: %d %s", text, r.code, r.body)
		}
	}

	// While the visitor comes and goes, an agent writes 40 replies.
	const replies = 40
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range replies {
			reply(fmt.Sprintf("回复 %d", i+1))
		}
	})
	var seqs []int64
	last := int64(0)
	for connection := 0; last < replies+1; connection++ {
		s := ws
		if connection > 0 {
			s = dialChat(t, srv, "acme", token, chat, last)
		}
		// Read a few messages, then drop the connection.
		for range 1 + connection%4 {
			m := s.until(t, "message", nil)
			seqs = append(seqs, m.num("seq"))
			last = m.num("seq")
			if last == replies+1 {
				break
			}
		}
		_ = s.c.CloseNow()
	}
	wg.Wait()
	want := make([]int64, replies+1)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(seqs, want) {
		t.Fatalf("seqs over the reconnections %v, want 1..%d once each, in order", seqs, replies+1)
	}

	// A message sent twice (as after a lost ack) is one message.
	ws = dialChat(t, srv, "acme", token, chat, last)
	for range 2 {
		ws.send(t, frame{"type": "message", "id": "r2", "text": "收到了吗？"})
	}
	a1, a2 := ws.until(t, "ack", nil), ws.until(t, "ack", nil)
	if a1.num("seq") != replies+2 || a2.num("seq") != replies+2 {
		t.Errorf("acks of one message sent twice: %v, %v; want seq %d both", a1, a2, replies+2)
	}
	reply("最后一条")
	if m := ws.until(t, "message", func(f frame) bool { return f.str("author") == "agent" }); m.num("seq") != replies+3 {
		t.Errorf("the next reply has seq %d, want %d (the repeated message took one seq)", m.num("seq"), replies+3)
	}
	comments := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+chat+"/comments?page_size=100", nil, "X-Kubedesk-Tenant", "acme")
	if n := strings.Count(string(comments.body), "收到了吗？"); n != 1 {
		t.Errorf("the message sent twice is %d comments, want 1", n)
	}
}

// sse reads a visitor's server-sent events.
type sse struct {
	body   io.Closer
	events chan [3]string // event, id, data
}

func openChatEvents(t *testing.T, srv *instance, tenantID, token string, headers ...string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.base+"/chat/"+tenantID+"/events", nil)
	req.Header.Set("X-Kubedesk-Visitor", token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // the test closes s.body, or the context ends the request
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("events: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	s := &sse{body: resp.Body, events: make(chan [3]string, 256)}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev [3]string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev[2] != "" {
					s.events <- ev
				}
				ev = [3]string{}
			case strings.HasPrefix(line, "event: "):
				ev[0] = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev[1] = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev[2] = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

func (s *sse) until(t *testing.T, event string) ([3]string, frame) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-s.events:
			if ev[0] == event {
				var f frame
				if err := json.Unmarshal([]byte(ev[2]), &f); err != nil {
					t.Fatalf("event data %q: %v", ev[2], err)
				}
				return ev, f
			}
		case <-deadline:
			t.Fatalf("no %s event within 15s", event)
		}
	}
}

// testChatFallback: server-sent events down and POST up, for where
// WebSockets do not get through; Last-Event-ID resumes.
func testChatFallback(t *testing.T, srv *instance) {
	pre := srv.call(t, "OPTIONS", "/chat/acme/send", nil, "Origin", "https://shop.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type,x-kubedesk-visitor")
	if pre.code != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "X-Kubedesk-Visitor") {
		t.Errorf("preflight: %d %v", pre.code, pre.header)
	}
	welcome := srv.mustCall(t, http.StatusOK, "POST", "/chat/acme/visit", "")
	token := welcome.str("token")
	if welcome.str("type") != "welcome" || token == "" || welcome.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("visit: %s", welcome.body)
	}
	send := func(f frame) response {
		return srv.call(t, "POST", "/chat/acme/send", f, "X-Kubedesk-Visitor", token)
	}
	ack := send(frame{"type": "message", "id": "s1", "text": "用 SSE 发的"})
	chat := ack.str("chat")
	if ack.code != http.StatusOK || ack.str("type") != "ack" || chat == "" {
		t.Fatalf("POST message: %d %s", ack.code, ack.body)
	}
	ev := openChatEvents(t, srv, "acme", token)
	if _, c := ev.until(t, "chat"); c.str("id") != chat || c.str("state") != "waiting" {
		t.Errorf("first chat event %v", c)
	}
	if id, m := ev.until(t, "message"); id[1] != chat+"/1" || m.str("text") != "用 SSE 发的" {
		t.Errorf("first message event %v %v", id, m)
	}
	if r := send(frame{"type": "typing", "typing": true}); r.code != http.StatusNoContent {
		t.Errorf("POST typing: %d %s", r.code, r.body)
	}
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+chat+"/comments", map[string]any{"body": "SSE 收到"}, "X-Kubedesk-Tenant", "acme")
	id, m := ev.until(t, "message")
	if id[1] != chat+"/2" || m.str("author") != "agent" {
		t.Errorf("the reply's event %v %v", id, m)
	}
	_ = ev.body.Close()
	// Away: a reply, then the browser reconnects with the last event id.
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+chat+"/comments", map[string]any{"body": "你不在时的回复"}, "X-Kubedesk-Tenant", "acme")
	ev = openChatEvents(t, srv, "acme", token, "Last-Event-ID", id[1])
	if id, m := ev.until(t, "message"); id[1] != chat+"/3" || m.str("text") != "你不在时的回复" {
		t.Errorf("resumed with Last-Event-ID: first message %v %v, want seq 3", id, m)
	}
	if r := srv.call(t, "GET", "/chat/acme/events", nil, "X-Kubedesk-Visitor", "v1.forged.token"); r.code != http.StatusUnauthorized || r.str("code") != "token" {
		t.Errorf("events with a forged token: %d %s", r.code, r.body)
	}
}

func testChatRefusals(t *testing.T, srv *instance) {
	ws := dialChat(t, srv, "acme", "", "", 0)
	token := ws.welcome.str("token")
	big := strings.Repeat("长", 100<<10/3+1) // 100 KB of text
	const tooLarge = "text: has 102402 bytes; accepted: at most 4096 bytes of text (UTF-8)"
	ws.send(t, frame{"type": "message", "id": "big", "text": big})
	if e := ws.until(t, "error", nil); e.str("code") != "too_large" || e.str("id") != "big" || e.str("message") != tooLarge {
		t.Errorf("100 KB over the WebSocket: %v", e)
	}
	// The connection goes on.
	ws.send(t, frame{"type": "message", "id": "small", "text": "小的可以"})
	chat := ws.until(t, "ack", nil).str("chat")
	for _, tt := range []struct {
		name   string
		body   any
		token  string
		code   int
		errStr string
		msg    string
	}{
		{"100 KB", frame{"type": "message", "id": "big2", "text": big}, token, http.StatusRequestEntityTooLarge, "too_large", tooLarge},
		{"not JSON", "<html>", token, http.StatusBadRequest, "bad_frame",
			`frame: not a JSON object of the chat protocol (invalid JSON at byte 1); accepted: e.g. {"type":"message","id":"m-1","text":"hello"}`},
		{"no token", frame{"type": "message", "id": "m1", "text": "hi"}, "", http.StatusUnauthorized, "token",
			"X-Kubedesk-Visitor: missing; accepted: the token POST /chat/acme/visit returned"},
		{"a forged token", frame{"type": "message", "id": "m1", "text": "hi"}, "v1.AAAAAAAAAAAAAAAAAAAAAA.forged", http.StatusUnauthorized, "token",
			"token: not a visitor token of this tenant; start a visit for a new one"},
		{"a bad address", frame{"type": "email", "email": "not-an-address"}, token, http.StatusBadRequest, "invalid",
			`email: "not-an-address" is not an email address; accepted: an address such as li.na@example.com`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.call(t, "POST", "/chat/acme/send", tt.body, "X-Kubedesk-Visitor", tt.token)
			if r.code != tt.code || r.str("code") != tt.errStr || r.str("message") != tt.msg {
				t.Errorf("= %d %s, want %d %s %q", r.code, r.body, tt.code, tt.errStr, tt.msg)
			}
		})
	}
	if r := srv.call(t, "POST", "/chat/initech/visit", ""); r.code != http.StatusNotFound || r.str("message") != `tenant "initech" has no web chat` {
		t.Errorf("a tenant without chat: %d %s", r.code, r.body)
	}
	// Nothing of the refused was stored.
	tk := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+chat, nil, "X-Kubedesk-Tenant", "acme")
	comments := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+chat+"/comments", nil, "X-Kubedesk-Tenant", "acme")
	if tk.str("description") != "小的可以" || len(comments.json["comments"].([]any)) != 0 {
		t.Errorf("after refusals: description %q, comments %s", tk.str("description"), comments.body)
	}
	// A first frame that is not hello ends the connection.
	c, _, err := websocket.Dial(t.Context(), strings.Replace(srv.base, "http", "ws", 1)+"/chat/acme/ws", nil) //nolint:bodyclose // Dial closes it
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.CloseNow() }()
	_ = c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"message","id":"m1","text":"hi"}`))
	_, data, _ := c.Read(t.Context())
	if !strings.Contains(string(data), `type: \"message\" before hello`) {
		t.Errorf("a message before hello: %s", data)
	}
	if _, _, err := c.Read(t.Context()); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("after a message before hello: %v, want a close with 1008", err)
	}
}

// testChatHandOff: nobody of acme's support group comes within 5 s; the
// visitor is asked for an address, leaves one, and the agent's reply
// reaches it by e-mail.
func testChatHandOff(t *testing.T, srv *instance, sink *smtptest.Sink) {
	ws := dialChat(t, srv, "acme", "", "", 0)
	ws.send(t, frame{"type": "message", "id": "h1", "text": "有人吗？"})
	chat := ws.until(t, "ack", nil).str("chat")
	if c := ws.until(t, "chat", func(f frame) bool { return f.str("state") != "waiting" }); c.str("state") != "ask_email" {
		t.Fatalf("with nobody online: %v, want ask_email", c)
	}
	ws.send(t, frame{"type": "email", "email": "Wang.Fang@Example.com"})
	if c := ws.until(t, "chat", func(f frame) bool { return f.str("state") == "email" }); c.str("email") != "wang.fang@example.com" {
		t.Errorf("after the address: %v", c)
	}
	tk := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+chat, nil, "X-Kubedesk-Tenant", "acme")
	requester := tk.json["requester"].(map[string]any)
	contact := srv.mustCall(t, http.StatusOK, "GET", "/v1/contacts/"+requester["contactId"].(string), nil, "X-Kubedesk-Tenant", "acme")
	if requester["email"] != "wang.fang@example.com" || !strings.Contains(string(contact.body), `"value":"wang.fang@example.com"`) {
		t.Errorf("requester %v, contact %s: want the address on both", requester, contact.body)
	}
	before := len(sink.Messages())
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+chat+"/comments", map[string]any{"body": "我们通过邮件继续：请重启路由器。"}, "X-Kubedesk-Tenant", "acme")
	mails := sink.Wait(t, before+1, 15*time.Second)
	mail := mails[len(mails)-1]
	if !slices.Equal(mail.To, []string{"wang.fang@example.com"}) || !strings.Contains(body(t, mail.Data), "请重启路由器") {
		t.Errorf("mail to %v:\n%s", mail.To, mail.Data)
	}
	// The visitor, still here, sees the reply too.
	if m := ws.until(t, "message", func(f frame) bool { return f.str("author") == "agent" }); !strings.Contains(m.str("text"), "请重启路由器") {
		t.Errorf("the reply on the socket: %v", m)
	}
}

// testChatOffer: an agent of support reports itself online and is offered
// the waiting chat, which the visitor sees.
func testChatOffer(t *testing.T, srv *instance) {
	const email, password = "zhao.lei@acme.example", "correct horse battery staple"
	srv.mustCall(t, http.StatusOK, "POST", "/v1/users", map[string]any{"email": email, "displayName": "赵磊", "password": password,
		"roles": []string{"ROLE_AGENT"}, "groups": []string{"support"}}, "X-Kubedesk-Tenant", "acme")
	r := srv.mustCall(t, http.StatusOK, "POST", "/v1/sessions", map[string]any{"email": email, "password": password}, "Authorization", "", "X-Kubedesk-Tenant", "acme")
	token, _, _ := strings.Cut(strings.TrimPrefix(r.header.Get("Set-Cookie"), "kd_session="), ";")
	agent := session{token: token, csrf: r.str("csrfToken")}

	ws := dialChat(t, srv, "acme", "", "", 0)
	ws.send(t, frame{"type": "message", "id": "o1", "text": "想咨询价格"})
	chat := ws.until(t, "ack", nil).str("chat")
	offers := srv.mustCall(t, http.StatusOK, "POST", "/v1/chatPresence:report", map[string]any{}, agent.headers()...)
	if !strings.Contains(string(offers.body), chat) || offers.str("reportWithin") != "60s" {
		t.Errorf("offers to the agent: %s; want chat %s", offers.body, chat)
	}
	if c := ws.until(t, "chat", func(f frame) bool { return f.str("state") != "waiting" }); c.str("state") != "offered" {
		t.Errorf("with an agent online: %v, want offered", c)
	}
	// The agent watches it (its group's), replies; then goes away.
	frames := agentWatch(t, srv, "acme", chat, 0, agent.headers()...)
	agentFrame(t, frames, "message", func(m map[string]any) bool { return m["seq"] == "1" })
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+chat+"/comments", map[string]any{"body": "您好，我是赵磊"}, agent.headers()...)
	if m := ws.until(t, "message", func(f frame) bool { return f.str("author") == "agent" }); m.str("name") != "赵磊" {
		t.Errorf("the agent's reply: %v", m)
	}
	srv.mustCall(t, http.StatusOK, "POST", "/v1/chatPresence:report", map[string]any{"away": true}, agent.headers()...)
	if r := srv.call(t, "POST", "/v1/chatPresence:report", map[string]any{"groups": []string{"billing"}}, agent.headers()...); r.code != http.StatusBadRequest ||
		r.str("message") != `groups[0]: "billing" is not one of your groups; accepted: "support"` {
		t.Errorf("presence for another group: %d %s", r.code, r.body)
	}
}

// TestChatSplit runs the chat as a cluster does: the ticket service, two
// replicas of the channel service and two gateways, each gateway
// forwarding to its own replica. The visitor talks to one, the agent to
// the other: messages reach each through the ticket events, typing
// through PostgreSQL's NOTIFY between the replicas.
func TestChatSplit(t *testing.T) {
	gw1GRPC, gw2GRPC, ch1GRPC, ch2GRPC := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	db := pg.NewDatabase(t)
	backend := startServe(t, "--target=ticket", "--database-url="+db, "--services=iam="+gw1GRPC+",channel="+ch1GRPC)
	for _, addr := range []string{ch1GRPC, ch2GRPC} {
		startServe(t, "--target=channel", "--grpc-addr="+addr, "--database-url="+db, "--services=iam="+gw1GRPC+",ticket="+backend.grpc)
	}
	gw1 := startServe(t, "--target=gateway", "--grpc-addr="+gw1GRPC, "--database-url="+db, "--services=ticket="+backend.grpc+",channel="+ch1GRPC)
	key := gw1.key(t, "default")
	gw2 := startServe(t, "--target=gateway", "--grpc-addr="+gw2GRPC, "--database-url="+db, "--services=ticket="+backend.grpc+",channel="+ch2GRPC)
	auth := []string{"Authorization", "Bearer " + key}

	ws := dialChat(t, gw1, "default", "", "", 0)
	ws.send(t, frame{"type": "message", "id": "x1", "text": "分开部署也能聊"})
	chat := ws.until(t, "ack", nil).str("chat")
	agent := agentWatch(t, gw2, "default", chat, 0, auth...)
	agentFrame(t, agent, "message", func(m map[string]any) bool { return m["seq"] == "1" && m["text"] == "分开部署也能聊" })
	ws.send(t, frame{"type": "typing", "typing": true})
	agentFrame(t, agent, "typing", func(ty map[string]any) bool { return ty["author"] == "CHAT_AUTHOR_VISITOR" })

	gw2.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+chat+"/comments", map[string]any{"body": "另一台也收到了"}, auth...)
	if m := ws.until(t, "message", func(f frame) bool { return f.str("author") == "agent" }); m.num("seq") != 2 || m.str("text") != "另一台也收到了" {
		t.Errorf("the reply through the other replica: %v", m)
	}
	gw2.mustCall(t, http.StatusOK, "POST", "/v1/chats/"+chat+":signal", map[string]any{"typing": true, "readSeq": 2}, auth...)
	ws.until(t, "typing", func(f frame) bool { return f["typing"] == true })
	ws.until(t, "chat", func(f frame) bool { return f.num("agentRead") == 2 })
	agentFrame(t, agent, "message", func(m map[string]any) bool { return m["seq"] == "2" })
}
