package wechat_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/channel/wechat"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket/tickettest"
)

// contacts resolves openids through the channel server, as the binary does.
type contacts struct{ s *channel.Server }

func (c contacts) ResolveWeChat(ctx context.Context, tenantID, openid string) (string, string, error) {
	ct, _, err := c.s.Resolve(tenant.With(ctx, tenantID), store.Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_WECHAT, Value: openid}, "")
	return ct.ID, ct.DisplayName, err
}

func serveTickets(t *testing.T) ticketv1.TicketServiceClient {
	return ticketv1.NewTicketServiceClient(tickettest.Start(t))
}

// TestWorker: a user's first message opens a ticket on channel wechat,
// the next ones are its comments in order, a message delivered twice is
// one comment, subscribe makes a contact, and a closed ticket makes the
// next message a new ticket.
func TestWorker(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "channel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tickets := serveTickets(t)
	srv := channel.NewServer(st, tickets, slog.New(slog.DiscardHandler))
	flushed := map[string]int{}
	w := &wechat.Worker{Queue: st, Contacts: contacts{srv}, Tickets: tickets,
		Flush: func(_ context.Context, tenantID, openid string) error { flushed[tenantID+"/"+openid]++; return nil }}
	at := time.Now().Add(-time.Minute)
	record := func(key, openid, xml string) {
		t.Helper()
		at = at.Add(time.Millisecond)
		if _, err := st.RecordWeChat(ctx, store.WeChatMessage{Tenant: "acme", DedupKey: key, OpenID: openid, MsgType: "x", Payload: []byte(xml), ReceivedTime: at}); err != nil {
			t.Fatal(err)
		}
	}
	event := func(openid, ev string) string {
		return "<xml><FromUserName>" + openid + "</FromUserName><CreateTime>1765000000</CreateTime><MsgType>event</MsgType><Event>" + ev + "</Event></xml>"
	}
	record("event:oNew:1765000000:subscribe", "oNew", event("oNew", "subscribe"))
	record("msg:1", "oUser", textMessage("oUser", 1, "VPN 断线\n每十分钟一次"))
	record("msg:2", "oUser", textMessage("oUser", 2, "还是不行"))
	record("msg:3", "oUser", "<xml><FromUserName>oUser</FromUserName><CreateTime>1765000001</CreateTime><MsgType>location</MsgType><Location_X>31.2</Location_X><Location_Y>121.5</Location_Y><Label>上海市浦东新区</Label><MsgId>3</MsgId></xml>")
	record("msg:4", "oOther", textMessage("oOther", 4, "发票"))
	record("event:oUser:1765000002:CLICK", "oUser", event("oUser", "CLICK"))
	record("msg:5", "oUser", "<xml><broken")

	if n, err := w.Drain(ctx); err != nil || n != 7 {
		t.Fatalf("Drain = %d, %v; want 7 settled", n, err)
	}
	tctx := tenant.Outgoing(ctx, "acme")
	list, err := tickets.ListTickets(tctx, &ticketv1.ListTicketsRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetTickets()) != 2 {
		t.Fatalf("%d tickets, want 2 (oUser's and oOther's)", len(list.GetTickets()))
	}
	var user *ticketv1.Ticket
	for _, tk := range list.GetTickets() {
		if tk.GetRequester().GetIdentity() == "wechat:oUser" {
			user = tk
		}
	}
	if user == nil || user.GetSubject() != "VPN 断线" || user.GetChannel() != ticketv1.Channel_CHANNEL_WECHAT || user.GetRequester().GetContactId() == "" {
		t.Fatalf("oUser's ticket: %v", user)
	}
	comments := func(id string) []string {
		res, err := tickets.ListComments(tctx, &ticketv1.ListCommentsRequest{TicketId: id, PageSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range res.GetComments() {
			out = append(out, c.GetBody())
		}
		return out
	}
	got := comments(user.GetId())
	want := []string{"还是不行", "[位置 location] 上海市浦东新区 (31.2, 121.5)"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("comments %q, want %q", got, want)
	}
	if flushed["acme/oUser"] != 4 || flushed["acme/oNew"] != 1 || flushed["acme/oOther"] != 1 {
		t.Errorf("held replies flushed %v; want after each message settled done (oUser 4: three messages and a click)", flushed)
	}
	c, err := srv.ListContacts(tenant.With(ctx, "acme"), &channelv1.ListContactsRequest{Filter: "identity = wechat:oNew"})
	if err != nil || len(c.GetContacts()) != 1 {
		t.Errorf("subscribe made no contact: %v, %v", c, err)
	}

	// A message stored twice (WeChat's retry racing the worker) is one
	// comment: the request ID is the message's key.
	if err := st.SettleWeChat(ctx, store.WeChatMessage{Tenant: "acme", DedupKey: "msg:2", Status: store.WeChatPending}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := comments(user.GetId()); len(got) != 2 {
		t.Errorf("after processing msg:2 again: %d comments, want 2", len(got))
	}

	// Once the ticket is closed, the user's next message opens another.
	for _, st := range []ticketv1.Status{ticketv1.Status_STATUS_SOLVED, ticketv1.Status_STATUS_CLOSED} {
		if _, err := tickets.UpdateTicket(tctx, &ticketv1.UpdateTicketRequest{Ticket: &ticketv1.Ticket{Id: user.GetId(), Status: st}, UpdateMask: mask("status")}); err != nil {
			t.Fatal(err)
		}
	}
	record("msg:6", "oUser", textMessage("oUser", 6, "又断了"))
	if _, err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ = tickets.ListTickets(tctx, &ticketv1.ListTicketsRequest{PageSize: 10, Filter: "requester = wechat:oUser"})
	if len(list.GetTickets()) != 2 {
		t.Errorf("oUser has %d tickets after writing to a closed one, want 2", len(list.GetTickets()))
	}
	pending, _ := st.PendingWeChat(ctx, 10)
	if len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
