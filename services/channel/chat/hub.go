package chat

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
)

// Relay carries the Hub's signals to the channel service's other
// replicas; PGRelay does it over PostgreSQL. Send must not block.
type Relay interface {
	Send(payload string)
}

// Hub passes a chat's signals to the streams that follow it in this
// process, and through a Relay to the other replicas': wake-ups (a
// message was stored, the chat changed: read the store) and typing. A
// stream subscribes to topics: a chat's (agents watch it) or a visitor's
// (the visitor's stream, whichever chat is current).
type Hub struct {
	origin string // marks this process's payloads, which it skips when they come back

	mu    sync.Mutex
	subs  map[string]map[*Sub]struct{}
	relay Relay
}

// NewHub returns a hub with no relay (one process).
func NewHub() *Hub {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return &Hub{origin: base64.RawURLEncoding.EncodeToString(b), subs: map[string]map[*Sub]struct{}{}}
}

// SetRelay makes the hub send its signals to r too.
func (h *Hub) SetRelay(r Relay) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.relay = r
}

// Sub is one stream's subscription.
type Sub struct {
	// Wake holds at most one pending wake-up: a burst of them reaches a
	// slow stream as one, after which it reads everything new.
	Wake chan struct{}
	// Typing holds the latest typing signals; when it is full, newer ones
	// are dropped (typing is a hint the next one corrects).
	Typing chan *channelv1.ChatTyping
}

// ChatTopic is the topic of a chat: agents' streams follow it.
func ChatTopic(tenantID, ticketID string) string { return "c:" + tenantID + ":" + ticketID }

// VisitorTopic is the topic of a visitor: the visitor's stream follows
// it, whichever chat is current.
func VisitorTopic(tenantID, visitorID string) string { return "v:" + tenantID + ":" + visitorID }

// Subscribe returns a subscription to topic and its cancel func (safe to
// call twice).
func (h *Hub) Subscribe(topic string) (*Sub, func()) {
	s := &Sub{Wake: make(chan struct{}, 1), Typing: make(chan *channelv1.ChatTyping, 8)}
	h.mu.Lock()
	set := h.subs[topic]
	if set == nil {
		set = map[*Sub]struct{}{}
		h.subs[topic] = set
	}
	set[s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return s, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs[topic], s)
			if len(h.subs[topic]) == 0 {
				delete(h.subs, topic)
			}
		})
	}
}

// Wake wakes the subscribers of the topics, here and in the other
// replicas.
func (h *Hub) Wake(topics ...string) {
	for _, t := range topics {
		h.wakeLocal(t)
		h.send("w|" + h.origin + "|" + t)
	}
}

// Typing passes a typing signal to the subscribers of topic, here and in
// the other replicas.
func (h *Hub) Typing(topic string, t *channelv1.ChatTyping) {
	h.typingLocal(topic, t)
	typing := "0"
	if t.GetTyping() {
		typing = "1"
	}
	// The name goes last: it is the one part that may hold a '|'.
	h.send("t|" + h.origin + "|" + topic + "|" + strconv.Itoa(int(t.GetAuthor())) + "|" + typing + "|" + t.GetAuthorName())
}

// WakeAll wakes every subscriber of this process (after the relay's
// connection was lost, when signals may have been missed).
func (h *Hub) WakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for s := range set {
			wake(s.Wake)
		}
	}
}

// Receive takes a payload another replica sent through the relay.
func (h *Hub) Receive(payload string) {
	parts := strings.SplitN(payload, "|", 6)
	if len(parts) < 3 || parts[1] == h.origin {
		return
	}
	switch {
	case parts[0] == "w":
		h.wakeLocal(parts[2])
	case parts[0] == "t" && len(parts) == 6:
		author, err := strconv.Atoi(parts[3])
		if err != nil {
			return
		}
		h.typingLocal(parts[2], &channelv1.ChatTyping{Author: channelv1.ChatAuthor(author), Typing: parts[4] == "1", AuthorName: parts[5]})
	}
}

func (h *Hub) send(payload string) {
	h.mu.Lock()
	r := h.relay
	h.mu.Unlock()
	if r != nil {
		r.Send(payload)
	}
}

func (h *Hub) wakeLocal(topic string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[topic] {
		wake(s.Wake)
	}
}

func (h *Hub) typingLocal(topic string, t *channelv1.ChatTyping) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[topic] {
		select {
		case s.Typing <- t:
		default:
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
