package wechat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// ConsumerName is the WeChat replies' name in the consumer cursors.
const ConsumerName = "channel-wechat-out"

// OutboundEvents are the ticket events Outbound acts on.
var OutboundEvents = []ticketv1.EventType{ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED}

// Window is how long after a user's last message WeChat accepts
// customer-service messages to them.
const Window = 48 * time.Hour

// Sender sends customer-service text messages for a tenant's account;
// *mp.Client is one per account.
type Sender interface {
	SendText(ctx context.Context, openid, content string) error
}

// Outbox is Outbound's side of the store.
type Outbox interface {
	LastWeChat(ctx context.Context, tenant, openid string) (time.Time, bool, error)
	WeChatReplyByComment(ctx context.Context, tenant, commentID string) (store.WeChatReply, bool, error)
	SaveWeChatReply(ctx context.Context, r store.WeChatReply) error
	HeldWeChatReplies(ctx context.Context, tenant, openid string, limit int) ([]store.WeChatReply, error)
}

// Outbound sends agents' public replies on WeChat tickets to the user
// through the customer-service message API. Inside WeChat's 48-hour
// window a reply goes at once; outside it the reply is held, the ticket
// gets an internal note saying why, and Flush sends it when the user
// writes again. It is a consumer.Handler: a reply is recorded by comment,
// so an event that comes twice sends once.
type Outbound struct {
	Outbox  Outbox
	Tickets ticketv1.TicketServiceClient
	// Sender is the account of a tenant; false when it has none.
	Sender func(tenant string) (Sender, bool)
	Now    func() time.Time
	Log    *slog.Logger
}

var _ consumer.Handler = (*Outbound)(nil)

// Handle implements consumer.Handler.
func (o *Outbound) Handle(ctx context.Context, ev *ticketv1.Event) error {
	t, c := ev.GetTicket(), ev.GetComment()
	openid, ok := strings.CutPrefix(t.GetRequester().GetIdentity(), "wechat:")
	if !ok || c.GetVisibility() != ticketv1.Visibility_VISIBILITY_PUBLIC || c.GetAuthorType() != ticketv1.AuthorType_AUTHOR_TYPE_AGENT {
		return nil
	}
	send, ok := o.Sender(t.GetTenant())
	if !ok {
		return nil
	}
	if r, seen, err := o.Outbox.WeChatReplyByComment(ctx, t.GetTenant(), c.GetId()); err != nil || seen && r.Status != "" {
		return err
	}
	r := store.WeChatReply{Tenant: t.GetTenant(), CommentID: c.GetId(), TicketID: t.GetId(), OpenID: openid, Body: c.GetBody()}
	last, ok, err := o.Outbox.LastWeChat(ctx, t.GetTenant(), openid)
	if err != nil {
		return err
	}
	if !ok || o.now().Sub(last) > Window {
		return o.hold(ctx, r, "the user has not written within WeChat's 48-hour window; it is sent when they write again")
	}
	return o.send(ctx, send, r)
}

// Flush sends a user's held replies, oldest first: the user has written,
// so WeChat's window is open again.
func (o *Outbound) Flush(ctx context.Context, tenantID, openid string) error {
	send, ok := o.Sender(tenantID)
	if !ok {
		return nil
	}
	held, err := o.Outbox.HeldWeChatReplies(ctx, tenantID, openid, 100)
	if err != nil {
		return err
	}
	for _, r := range held {
		if err := o.send(ctx, send, r); err != nil {
			return err
		}
	}
	return nil
}

func (o *Outbound) send(ctx context.Context, send Sender, r store.WeChatReply) error {
	err := send.SendText(ctx, r.OpenID, r.Body)
	switch {
	case err == nil:
		r.Status, r.Detail = store.ReplySent, ""
		o.log().InfoContext(ctx, "wechat reply sent", "tenant", r.Tenant, "ticket", r.TicketID, "comment", r.CommentID)
		return o.Outbox.SaveWeChatReply(ctx, r)
	case errors.Is(err, mp.ErrOutsideWindow):
		return o.hold(ctx, r, "WeChat refused it: the user has not written within 48 hours, or has unsubscribed; it is sent when they write again")
	}
	var apiErr *mp.APIError
	if errors.As(err, &apiErr) && apiErr.Code > 0 {
		// WeChat refused this message (a bad openid, content it
		// rejects): no retry helps.
		r.Status, r.Detail = store.ReplyFailed, apiErr.Error()
		if err := o.Outbox.SaveWeChatReply(ctx, r); err != nil {
			return err
		}
		return o.note(ctx, r, r.Status, "Not sent by WeChat: "+apiErr.Error())
	}
	// WeChat busy or out of reach: the consumer tries again until it
	// goes (and the replies after it wait); the agents are told once.
	err = fmt.Errorf("send the reply %s by WeChat: %w", r.CommentID, err)
	if nerr := o.note(ctx, r, "retrying", "Not sent yet: WeChat did not take it ("+err.Error()+"); it is tried again until it goes."); nerr != nil {
		o.log().WarnContext(ctx, "noting a wechat reply that waits", "tenant", r.Tenant, "ticket", r.TicketID, "err", nerr)
	}
	return err
}

func (o *Outbound) hold(ctx context.Context, r store.WeChatReply, why string) error {
	if r.Status == store.ReplyHeld {
		return nil // held before: the note is there
	}
	r.Status, r.Detail = store.ReplyHeld, why
	if err := o.Outbox.SaveWeChatReply(ctx, r); err != nil {
		return err
	}
	return o.note(ctx, r, r.Status, "Held, not sent by WeChat: "+why+".")
}

// note tells the agents on the ticket, once per reply and kind of news
// (its request ID).
func (o *Outbound) note(ctx context.Context, r store.WeChatReply, kind, text string) error {
	_, err := o.Tickets.AddComment(tenant.Outgoing(ctx, r.Tenant), &ticketv1.AddCommentRequest{
		TicketId:  r.TicketID,
		RequestId: "wechat-note:" + r.Tenant + ":" + r.CommentID + ":" + kind,
		Comment: &ticketv1.Comment{
			Author: "kubedesk", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_SYSTEM,
			Body: text, Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL,
		},
	})
	return err
}

func (o *Outbound) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Outbound) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}
