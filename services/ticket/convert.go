package ticket

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

// The wire enums and the domain's strings map one to one; these tables are
// the only place that knows both.
var (
	statusToProto = map[Status]ticketv1.Status{
		StatusNew: ticketv1.Status_STATUS_NEW, StatusOpen: ticketv1.Status_STATUS_OPEN,
		StatusPending: ticketv1.Status_STATUS_PENDING, StatusOnHold: ticketv1.Status_STATUS_ON_HOLD,
		StatusSolved: ticketv1.Status_STATUS_SOLVED, StatusClosed: ticketv1.Status_STATUS_CLOSED,
	}
	channelToProto = map[Channel]ticketv1.Channel{
		ChannelWeb: ticketv1.Channel_CHANNEL_WEB, ChannelEmail: ticketv1.Channel_CHANNEL_EMAIL,
		ChannelChat: ticketv1.Channel_CHANNEL_CHAT, ChannelWeChat: ticketv1.Channel_CHANNEL_WECHAT,
		ChannelAPI: ticketv1.Channel_CHANNEL_API, ChannelPhone: ticketv1.Channel_CHANNEL_PHONE,
	}
	authorToProto = map[AuthorType]ticketv1.AuthorType{
		AuthorAgent: ticketv1.AuthorType_AUTHOR_TYPE_AGENT, AuthorCustomer: ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER,
		AuthorSystem: ticketv1.AuthorType_AUTHOR_TYPE_SYSTEM,
	}
	visibilityToProto = map[Visibility]ticketv1.Visibility{
		VisibilityPublic: ticketv1.Visibility_VISIBILITY_PUBLIC, VisibilityInternal: ticketv1.Visibility_VISIBILITY_INTERNAL,
	}
	eventToProto = map[EventType]ticketv1.EventType{
		EventTicketCreated: ticketv1.EventType_EVENT_TYPE_TICKET_CREATED,
		EventTicketUpdated: ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED,
		EventCommentAdded:  ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED,
	}
)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	statusFromProto     = invert(statusToProto)
	channelFromProto    = invert(channelToProto)
	authorFromProto     = invert(authorToProto)
	visibilityFromProto = invert(visibilityToProto)
)

// ETag is the ticket's version tag for optimistic concurrency.
func ETag(version int64) string { return "v" + strconv.FormatInt(version, 10) }

// parseETag accepts the forms clients send back: v3, "v3" and W/"v3".
func parseETag(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	s = strings.TrimPrefix(strings.Trim(s, `"`), "v")
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v > 0
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// ToProto renders a ticket for the API.
func ToProto(t Ticket) *ticketv1.Ticket {
	return &ticketv1.Ticket{
		Id:          t.ID,
		Tenant:      t.Tenant,
		Subject:     t.Subject,
		Description: t.Description,
		Status:      statusToProto[t.Status],
		Impact:      int32(t.Impact),
		Urgency:     int32(t.Urgency),
		Priority:    ticketv1.Priority(t.Priority),
		Channel:     channelToProto[t.Channel],
		Requester: &ticketv1.Requester{
			Name: t.Requester.Name, Email: t.Requester.Email, Identity: t.Requester.Identity,
		},
		Group:        t.Group,
		Assignee:     t.Assignee,
		Tags:         t.Tags,
		CustomFields: t.CustomFields,
		CreateTime:   timestamp(t.CreateTime),
		UpdateTime:   timestamp(t.UpdateTime),
		SolveTime:    timestamp(t.SolveTime),
		Version:      t.Version,
		Etag:         ETag(t.Version),
	}
}

// CommentToProto renders a comment for the API.
func CommentToProto(c Comment) *ticketv1.Comment {
	return &ticketv1.Comment{
		Id:         c.ID,
		TicketId:   c.TicketID,
		Author:     c.Author,
		AuthorType: authorToProto[c.AuthorType],
		Body:       c.Body,
		Visibility: visibilityToProto[c.Visibility],
		CreateTime: timestamp(c.CreateTime),
	}
}

// EventToProto renders an outbox event for WatchEvents.
func EventToProto(e Event) *ticketv1.Event {
	out := &ticketv1.Event{
		Cursor:     e.Cursor,
		Type:       eventToProto[e.Type],
		TicketId:   e.TicketID,
		Ticket:     ToProto(e.Ticket),
		CreateTime: timestamp(e.CreateTime),
	}
	if e.Comment != nil {
		out.Comment = CommentToProto(*e.Comment)
	}
	for _, c := range e.Changes {
		out.Changes = append(out.Changes, &ticketv1.FieldChange{Field: c.Field, OldValue: c.Old, NewValue: c.New})
	}
	return out
}

func requesterFromProto(r *ticketv1.Requester) Requester {
	if r == nil {
		return Requester{}
	}
	return Requester{Name: strings.TrimSpace(r.GetName()), Email: r.GetEmail(), Identity: r.GetIdentity()}
}
