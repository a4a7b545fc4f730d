package wechat_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/channel/wechat"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp/mptest"
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
	st := openStore(t)
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

// TestWorkerMedia: an image a user sends is fetched through the media API
// into the blob store and attached to the ticket; a voice message whose
// media WeChat no longer has goes in as its text alone; new tickets go to
// the account's group.
func TestWorkerMedia(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	conn := tickettest.Start(t)
	tickets := ticketv1.NewTicketServiceClient(conn)
	srv := channel.NewServer(st, tickets, slog.New(slog.DiscardHandler))
	api := mptest.Start(t, appID, "secret")
	photo := bytes.Repeat([]byte("\xff\xd8\xff\xe0 jpeg "), 40000) // ~360 KB
	api.AddMedia("media-photo", "image/jpeg", photo)
	client := &mp.Client{BaseURL: api.URL(), AppID: appID, AppSecret: "secret"}
	w := &wechat.Worker{Queue: st, Contacts: contacts{srv}, Tickets: tickets,
		Group: func(string) string { return "wechat-support" },
		Media: func(string) (wechat.MediaSource, bool) { return client, true },
		Blobs: ticketv1.NewTicketBlobServiceClient(conn)}
	at := time.Now().Add(-time.Minute)
	for _, m := range []struct{ key, xml string }{
		{"msg:11", "<xml><FromUserName>oPic</FromUserName><CreateTime>1765000000</CreateTime><MsgType>image</MsgType><PicUrl>http://mmbiz.example/x</PicUrl><MediaId>media-photo</MediaId><MsgId>11</MsgId></xml>"},
		{"msg:12", "<xml><FromUserName>oPic</FromUserName><CreateTime>1765000001</CreateTime><MsgType>voice</MsgType><MediaId>media-gone</MediaId><Format>amr</Format><Recognition>打印机卡纸了</Recognition><MsgId>12</MsgId></xml>"},
	} {
		at = at.Add(time.Millisecond)
		if _, err := st.RecordWeChat(ctx, store.WeChatMessage{Tenant: "acme", DedupKey: m.key, OpenID: "oPic", MsgType: "x", Payload: []byte(m.xml), ReceivedTime: at}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.Drain(ctx); err != nil || n != 2 {
		t.Fatalf("Drain = %d, %v; want 2 settled", n, err)
	}
	tctx := tenant.Outgoing(ctx, "acme")
	list, err := tickets.ListTickets(tctx, &ticketv1.ListTicketsRequest{PageSize: 10})
	if err != nil || len(list.GetTickets()) != 1 {
		t.Fatalf("tickets %v, %v; want one", list, err)
	}
	tk := list.GetTickets()[0]
	if tk.GetGroup() != "wechat-support" {
		t.Errorf("group %q, want the account's wechat-support", tk.GetGroup())
	}
	atts := tk.GetAttachments()
	if len(atts) != 1 || atts[0].GetFilename() != "wechat-image-11.jpg" || atts[0].GetContentType() != "image/jpeg" || atts[0].GetSize() != int64(len(photo)) {
		t.Fatalf("attachments %v, want the photo as wechat-image-11.jpg", atts)
	}
	stream, err := tickets.GetAttachmentContent(tctx, &ticketv1.GetAttachmentContentRequest{TicketId: tk.GetId(), AttachmentId: atts[0].GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		chunk, err := stream.Recv()
		if err != nil {
			break
		}
		got = append(got, chunk.GetData()...)
	}
	if !bytes.Equal(got, photo) {
		t.Errorf("stored photo has %d bytes, want the %d sent", len(got), len(photo))
	}
	comments, err := tickets.ListComments(tctx, &ticketv1.ListCommentsRequest{TicketId: tk.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if c := comments.GetComments(); len(c) != 1 || c[0].GetBody() != "打印机卡纸了" || len(c[0].GetAttachments()) != 0 {
		t.Errorf("comments %v, want the voice message's recognised text without media", c)
	}
}

// TestWorkerLease: of two replicas' workers on one inbox, only the one
// holding the lease takes messages; when it stops, the other takes over.
func TestWorkerLease(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	tickets := serveTickets(t)
	srv := channel.NewServer(st, tickets, slog.New(slog.DiscardHandler))
	settled := map[string]chan struct{}{"a": make(chan struct{}, 10), "b": make(chan struct{}, 10)}
	worker := func(holder string) *wechat.Worker {
		return &wechat.Worker{Queue: st, Contacts: contacts{srv}, Tickets: tickets, Poll: 20 * time.Millisecond,
			Lease: st, Holder: holder, LeaseTTL: time.Minute,
			Flush: func(context.Context, string, string) error { settled[holder] <- struct{}{}; return nil }}
	}
	record := func(id int) {
		t.Helper()
		if _, err := st.RecordWeChat(ctx, store.WeChatMessage{Tenant: "acme", DedupKey: fmt.Sprintf("msg:%d", id), OpenID: "oLease", MsgType: "text",
			Payload: []byte(textMessage("oLease", id, "租约")), ReceivedTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(holder string) {
		t.Helper()
		select {
		case <-settled[holder]:
		case <-time.After(10 * time.Second):
			t.Fatalf("worker %s took no message within 10s", holder)
		}
	}

	// a holds the lease first; b runs beside it and takes nothing.
	if held, err := st.HoldLease(ctx, store.LeaseWeChatInbox, "a", time.Minute); err != nil || !held {
		t.Fatalf("HoldLease(a) = %v, %v", held, err)
	}
	actx, stopA := context.WithCancel(ctx)
	aDone := make(chan error, 1)
	go func() { aDone <- worker("a").Run(actx) }()
	bctx, stopB := context.WithCancel(ctx)
	defer stopB()
	go func() { _ = worker("b").Run(bctx) }()
	record(1)
	wait("a")
	time.Sleep(100 * time.Millisecond) // b polls several times meanwhile
	if n := len(settled["b"]); n != 0 {
		t.Fatalf("b took %d messages while a held the lease", n)
	}

	// a stops and gives the lease up: b takes the next message.
	stopA()
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	record(2)
	wait("b")
	if n := len(settled["a"]); n != 0 {
		t.Errorf("a took %d messages after it stopped", n)
	}
}
