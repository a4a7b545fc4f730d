package chat

import (
	"testing"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
)

// relayTo is a Relay that hands every payload to other hubs, as the
// replicas' PostgreSQL connection does.
type relayTo []*Hub

func (r relayTo) Send(payload string) {
	for _, h := range r {
		h.Receive(payload)
	}
}

func TestHubAcrossReplicas(t *testing.T) {
	a, b := NewHub(), NewHub()
	// Both hear everything, their own payloads included, as LISTEN does.
	a.SetRelay(relayTo{a, b})
	b.SetRelay(relayTo{a, b})
	topic := ChatTopic("acme", "t1")
	onA, cancelA := a.Subscribe(topic)
	defer cancelA()
	onB, cancelB := b.Subscribe(topic)
	other, cancelOther := b.Subscribe(ChatTopic("acme", "t2"))
	defer cancelOther()

	a.Wake(topic)
	for name, s := range map[string]*Sub{"a": onA, "b": onB} {
		select {
		case <-s.Wake:
		default:
			t.Errorf("%s's subscriber was not woken", name)
		}
		select {
		case <-s.Wake:
			t.Errorf("%s's subscriber was woken twice (its own payload came back)", name)
		default:
		}
	}
	a.Typing(topic, &channelv1.ChatTyping{Author: channelv1.ChatAuthor_CHAT_AUTHOR_AGENT, AuthorName: "李|娜", Typing: true})
	for name, s := range map[string]*Sub{"a": onA, "b": onB} {
		select {
		case ty := <-s.Typing:
			if ty.GetAuthorName() != "李|娜" || !ty.GetTyping() || ty.GetAuthor() != channelv1.ChatAuthor_CHAT_AUTHOR_AGENT {
				t.Errorf("%s got typing %v", name, ty)
			}
		default:
			t.Errorf("%s's subscriber got no typing", name)
		}
		if len(s.Typing) != 0 {
			t.Errorf("%s got typing twice", name)
		}
	}
	select {
	case <-other.Wake:
		t.Error("another chat's subscriber was woken")
	default:
	}
	// Cancelled: no more signals; malformed payloads are ignored.
	cancelB()
	cancelB()
	a.Wake(topic)
	if len(onB.Wake) != 0 {
		t.Error("a cancelled subscription was woken")
	}
	for _, p := range []string{"", "w", "t|x|" + topic + "|notanumber|1|n", "x|y|" + topic} {
		b.Receive(p)
	}
	// A lost connection wakes everyone.
	<-onA.Wake
	a.WakeAll()
	if len(onA.Wake) != 1 {
		t.Error("WakeAll did not wake a subscriber")
	}
}
