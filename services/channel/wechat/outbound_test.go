package wechat_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/channel/wechat"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp/mptest"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

func TestOutbound(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	tickets := serveTickets(t)
	api := mptest.Start(t, "wxapp", "secret")
	client := &mp.Client{BaseURL: api.URL(), AppID: "wxapp", AppSecret: "secret", HTTP: &http.Client{Timeout: 5 * time.Second}}
	now := time.Now()
	out := &wechat.Outbound{
		Outbox: st, Tickets: tickets, Now: func() time.Time { return now },
		Sender: func(tenantID string) (wechat.Sender, bool) { return client, tenantID == "acme" },
	}
	tctx := tenant.Outgoing(ctx, "acme")
	// wrote records a message from openid at the given time.
	wrote := func(openid string, at time.Time) {
		t.Helper()
		if _, err := st.RecordWeChat(ctx, store.WeChatMessage{Tenant: "acme", DedupKey: "msg:" + openid + at.String(), OpenID: openid, MsgType: "text", ReceivedTime: at}); err != nil {
			t.Fatal(err)
		}
	}
	ticketOf := func(openid string) *ticketv1.Ticket {
		t.Helper()
		res, err := tickets.CreateTicket(tctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "s", Channel: ticketv1.Channel_CHANNEL_WECHAT, Requester: &ticketv1.Requester{Identity: "wechat:" + openid}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetTicket()
	}
	reply := func(tk *ticketv1.Ticket, body string, vis ticketv1.Visibility, author ticketv1.AuthorType) *ticketv1.Event {
		t.Helper()
		c, err := tickets.AddComment(tctx, &ticketv1.AddCommentRequest{TicketId: tk.GetId(), Comment: &ticketv1.Comment{Author: "王芳", AuthorType: author, Body: body, Visibility: vis}})
		if err != nil {
			t.Fatal(err)
		}
		return &ticketv1.Event{Type: ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED, TicketId: tk.GetId(), Ticket: tk, Comment: c.GetComment()}
	}
	notes := func(tk *ticketv1.Ticket) []string {
		t.Helper()
		res, err := tickets.ListComments(tctx, &ticketv1.ListCommentsRequest{TicketId: tk.GetId(), PageSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range res.GetComments() {
			if c.GetVisibility() == ticketv1.Visibility_VISIBILITY_INTERNAL {
				out = append(out, c.GetBody())
			}
		}
		return out
	}
	sentTo := func(openid string) []string {
		var out []string
		for _, s := range api.Sent() {
			if s.ToUser == openid {
				out = append(out, s.Content)
			}
		}
		return out
	}
	public, internal := ticketv1.Visibility_VISIBILITY_PUBLIC, ticketv1.Visibility_VISIBILITY_INTERNAL
	agent, customer := ticketv1.AuthorType_AUTHOR_TYPE_AGENT, ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER

	t.Run("inside the window: sent once, however often the event comes", func(t *testing.T) {
		wrote("oUser", now.Add(-time.Hour))
		tk := ticketOf("oUser")
		ev := reply(tk, "您好，VPN 已恢复", public, agent)
		for range 2 {
			if err := out.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if got := sentTo("oUser"); len(got) != 1 || got[0] != "您好，VPN 已恢复" {
			t.Fatalf("sent %q", got)
		}
		for _, ev := range []*ticketv1.Event{reply(tk, "internal", internal, agent), reply(tk, "the customer's own", public, customer)} {
			if err := out.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if got := sentTo("oUser"); len(got) != 1 {
			t.Errorf("notes or the customer's comments went out: %q", got)
		}
	})
	t.Run("outside the window: held with a note, sent when the user writes again", func(t *testing.T) {
		wrote("oQuiet", now.Add(-49*time.Hour))
		tk := ticketOf("oQuiet")
		ev := reply(tk, "请问还有问题吗？", public, agent)
		for range 2 {
			if err := out.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if got := sentTo("oQuiet"); len(got) != 0 {
			t.Fatalf("sent outside the window: %q", got)
		}
		if n := notes(tk); len(n) != 1 || !strings.Contains(n[0], "48-hour") {
			t.Fatalf("notes %q, want one saying why", n)
		}
		wrote("oQuiet", now)
		if err := out.Flush(ctx, "acme", "oQuiet"); err != nil {
			t.Fatal(err)
		}
		if got := sentTo("oQuiet"); len(got) != 1 || got[0] != "请问还有问题吗？" {
			t.Fatalf("after the user wrote: sent %q", got)
		}
		if err := out.Flush(ctx, "acme", "oQuiet"); err != nil || len(sentTo("oQuiet")) != 1 {
			t.Fatalf("a second flush sent again: %v", err)
		}
	})
	t.Run("WeChat says the window is closed: held", func(t *testing.T) {
		wrote("oGone", now.Add(-time.Minute))
		api.OutsideWindow("oGone", true)
		tk := ticketOf("oGone")
		if err := out.Handle(ctx, reply(tk, "x", public, agent)); err != nil {
			t.Fatal(err)
		}
		if n := notes(tk); len(n) != 1 || !strings.Contains(n[0], "unsubscribed") {
			t.Fatalf("notes %q", n)
		}
	})
	t.Run("WeChat busy: the event is retried, then sent", func(t *testing.T) {
		wrote("oBusy", now.Add(-time.Minute))
		tk := ticketOf("oBusy")
		ev := reply(tk, "稍等", public, agent)
		api.FailSends(2)
		for range 2 {
			if err := out.Handle(ctx, ev); err == nil {
				t.Fatal("a busy WeChat answered nil: the consumer would not retry")
			}
		}
		// The agents hear of it once, however often it is tried.
		if n := notes(tk); len(n) != 1 || !strings.Contains(n[0], "Not sent yet") || !strings.Contains(n[0], "tried again") {
			t.Fatalf("notes %q, want one saying the reply waits", n)
		}
		if err := out.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if got := sentTo("oBusy"); len(got) != 1 {
			t.Fatalf("sent %q", got)
		}
	})
	t.Run("a tenant without an account, a ticket not from WeChat: nothing", func(t *testing.T) {
		before := len(api.Sent())
		tk := ticketOf("oUser")
		ev := reply(tk, "x", public, agent)
		ev.Ticket.Tenant = "globex"
		if err := out.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
		mail := reply(tk, "y", public, agent)
		mail.Ticket = &ticketv1.Ticket{Id: tk.GetId(), Tenant: "acme", Requester: &ticketv1.Requester{Email: "a@example.com"}}
		if err := out.Handle(ctx, mail); err != nil {
			t.Fatal(err)
		}
		if len(api.Sent()) != before {
			t.Errorf("sent %v", api.Sent()[before:])
		}
	})
}
