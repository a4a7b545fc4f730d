package chat

import (
	"context"
	"log/slog"
	"slices"
	"time"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
)

// ConsumerName is the chat follower's name in the consumer cursors.
const ConsumerName = "channel-chat"

// FollowerEvents are the ticket events the Follower acts on.
var FollowerEvents = []ticketv1.EventType{
	ticketv1.EventType_EVENT_TYPE_TICKET_CREATED,
	ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED,
	ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED,
}

// Follower keeps the chats in step with their tickets: it numbers each
// public comment of a chat's ticket as the chat's next message (agents'
// replies, and the visitor's messages, which their sender numbered
// already), and follows the ticket's group and its closing. Internal
// notes are never a chat's message. It is a consumer.Handler: an event
// that comes twice numbers its comment once.
type Follower struct {
	Store Store
	Hub   *Hub
	Log   *slog.Logger

	metrics *metrics // Service.Follower's; none when nil
}

var _ consumer.Handler = (*Follower)(nil)

// Handle implements consumer.Handler.
func (f *Follower) Handle(ctx context.Context, ev *ticketv1.Event) error {
	t := ev.GetTicket()
	if t.GetChannel() != ticketv1.Channel_CHANNEL_CHAT {
		return nil
	}
	conv, ok, err := f.Store.ChatConversation(ctx, t.GetTenant(), t.GetId())
	if err != nil || !ok {
		return err // a chat ticket the widget did not open has no chat
	}
	switch ev.GetType() {
	case ticketv1.EventType_EVENT_TYPE_TICKET_CREATED:
		return f.append(ctx, store.ChatMessage{
			Tenant: t.GetTenant(), TicketID: t.GetId(), SourceID: t.GetId(), Author: store.ChatByVisitor,
			AuthorName: t.GetRequester().GetName(), Body: t.GetDescription(), CreateTime: t.GetCreateTime().AsTime(),
		})
	case ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED:
		c := ev.GetComment()
		if c.GetVisibility() == ticketv1.Visibility_VISIBILITY_INTERNAL {
			return nil
		}
		return f.append(ctx, store.ChatMessage{
			Tenant: t.GetTenant(), TicketID: t.GetId(), SourceID: c.GetId(), Author: authorOf(c.GetAuthorType()),
			AuthorName: c.GetAuthor(), Body: c.GetBody(), CreateTime: c.GetCreateTime().AsTime(),
		})
	case ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED:
		closed := t.GetStatus() == ticketv1.Status_STATUS_CLOSED
		moved := slices.ContainsFunc(ev.GetChanges(), func(c *ticketv1.FieldChange) bool { return c.GetField() == "group" })
		if !closed && !moved {
			return nil
		}
		_, changed, err := f.Store.UpdateChat(ctx, t.GetTenant(), t.GetId(), func(c *store.ChatConversation) (bool, error) {
			changed := false
			if closed && c.State != store.ChatClosed {
				c.State, changed = store.ChatClosed, true
			}
			if c.Group != t.GetGroup() {
				// Transferred: offered to the new group, which has its
				// whole wait.
				c.Group, c.OnlineTime, changed = t.GetGroup(), time.Now(), true
			}
			return changed, nil
		})
		if err != nil {
			return err
		}
		if changed {
			f.Hub.Wake(ChatTopic(conv.Tenant, conv.TicketID), VisitorTopic(conv.Tenant, conv.VisitorID))
		}
	}
	return nil
}

func (f *Follower) append(ctx context.Context, m store.ChatMessage) error {
	_, conv, created, err := f.Store.AppendChatMessage(ctx, m)
	if err != nil {
		return err
	}
	if created {
		f.metrics.message(ctx, m.Author)
		f.Hub.Wake(ChatTopic(conv.Tenant, conv.TicketID), VisitorTopic(conv.Tenant, conv.VisitorID))
	}
	return nil
}

func authorOf(t ticketv1.AuthorType) string {
	switch t {
	case ticketv1.AuthorType_AUTHOR_TYPE_AGENT:
		return store.ChatByAgent
	case ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER:
		return store.ChatByVisitor
	}
	return store.ChatBySystem
}
