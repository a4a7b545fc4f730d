package chat

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/tenant/tenanttest"
	"github.com/kubedesk/kubedesk/services/ticket/tickettest"
)

// fixture is the chat service over a real channel store (SQLite) and a
// real ticket service, served on a loopback gRPC listener as the gateway
// calls it. Its clock is now, which a test moves.
type fixture struct {
	st      *store.SQLite
	tickets ticketv1.TicketServiceClient
	svc     *Service
	hub     *Hub
	visits  channelv1.ChatVisitorServiceClient
	now     time.Time
}

var testSettings = map[string]tenant.ChatSettings{
	"acme":   {Group: "sales", OfferWait: 30 * time.Second},
	"globex": {OfferWait: time.Minute},
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "channel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{st: st, tickets: ticketv1.NewTicketServiceClient(tickettest.Start(t)), hub: NewHub(), now: time.Now()}
	f.svc = NewService(st, f.tickets, NewTokens([]byte("0123456789abcdef0123456789abcdef")), f.hub,
		func(id string) (tenant.ChatSettings, bool) { s, ok := testSettings[id]; return s, ok },
		Limits{MaxMessageBytes: 4096, PerVisitor: auth.Rate{PerSecond: 1, Burst: 5}, NewVisitors: auth.Rate{PerSecond: 1, Burst: 3}}, nil)
	f.svc.Now = func() time.Time { return f.now }
	gs := grpc.NewServer(tenanttest.ServerOptions()...)
	f.svc.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	f.visits = channelv1.NewChatVisitorServiceClient(conn)
	return f
}

func in(tenantID string) context.Context { return tenant.Outgoing(context.Background(), tenantID) }

// visitor starts a visit of tenantID and returns its token.
func (f *fixture) visitor(t *testing.T, tenantID string) string {
	t.Helper()
	resp, err := f.visits.StartChatVisit(in(tenantID), &channelv1.StartChatVisitRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetToken()
}

func (f *fixture) post(t *testing.T, tenantID, token, id, text string) *channelv1.PostChatMessageResponse {
	t.Helper()
	resp, err := f.visits.PostChatMessage(in(tenantID), &channelv1.PostChatMessageRequest{Token: token, ClientId: id, Text: text, Locale: "zh-CN"})
	if err != nil {
		t.Fatalf("post %s: %v", id, err)
	}
	return resp
}

// follow runs the follower over the tenant's events so far, as the
// channel's consumer would, and returns the last cursor.
func (f *fixture) follow(t *testing.T, tenantID, after string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(in(tenantID))
	defer cancel()
	stream, err := f.tickets.WatchEvents(ctx, &ticketv1.WatchEventsRequest{AfterCursor: after})
	if err != nil {
		t.Fatal(err)
	}
	fl := &Follower{Store: f.st, Hub: f.hub}
	for {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetBookmark() != nil {
			return resp.GetBookmark().GetCursor()
		}
		if err := fl.Handle(context.Background(), resp.GetEvent()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVisitorRefusals(t *testing.T) {
	f := newFixture(t)
	token := f.visitor(t, "acme")
	globex := f.visitor(t, "globex")
	for _, tt := range []struct {
		name, tenant, token, text string
		code                      codes.Code
		msg                       string
	}{
		{"empty", "acme", token, " \n\t", codes.InvalidArgument, "text: is empty; accepted: 1 to 4096 bytes of text"},
		{"too long", "acme", token, strings.Repeat("字", 1366), codes.InvalidArgument, "text: has 4098 bytes; accepted: at most 4096 bytes of text (UTF-8)"},
		{"100 KB", "acme", token, strings.Repeat("x", 100<<10), codes.InvalidArgument, "text: has 102400 bytes; accepted: at most 4096 bytes of text (UTF-8)"},
		{"control character", "acme", token, "a\x07b", codes.InvalidArgument, "text: holds the control character U+0007 at byte 1; accepted: text without control characters other than tab and line breaks"},
		{"forged token", "acme", "v1.AAAAAAAAAAAAAAAAAAAAAA.forged", "hi", codes.Unauthenticated, "token: not a visitor token of this tenant; start a visit for a new one"},
		{"another tenant's token", "acme", globex, "hi", codes.Unauthenticated, "token: not a visitor token of this tenant; start a visit for a new one"},
		{"a tenant without chat", "initech", token, "hi", codes.NotFound, `tenant "initech" has no web chat`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.visits.PostChatMessage(in(tt.tenant), &channelv1.PostChatMessageRequest{Token: tt.token, ClientId: "m1", Text: tt.text})
			if st := status.Convert(err); st.Code() != tt.code || st.Message() != tt.msg {
				t.Errorf("= %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
		})
	}
	// Nothing was written.
	for _, tid := range []string{"acme", "globex"} {
		list, err := f.tickets.ListTickets(in(tid), &ticketv1.ListTicketsRequest{})
		if err != nil || len(list.GetTickets()) != 0 {
			t.Errorf("%s's tickets after refusals: %v, %v", tid, list.GetTickets(), err)
		}
	}
	// Five messages at once, then one a second.
	for i := range 5 {
		f.post(t, "acme", token, "burst"+string(rune('a'+i)), "hi")
	}
	_, err := f.visits.PostChatMessage(in("acme"), &channelv1.PostChatMessageRequest{Token: token, ClientId: "burst-f", Text: "hi"})
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != "too many messages from this visitor; retry in 1 s" {
		t.Errorf("the sixth message: %v %q", st.Code(), st.Message())
	}
	// New visitors per address: three at once (one made above, and
	// globex's counts apart).
	for range 2 {
		f.visitor(t, "acme")
	}
	if _, err := f.visits.StartChatVisit(in("acme"), &channelv1.StartChatVisitRequest{}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a fourth new visitor from one address: %v", err)
	}
	// A valid token is no new visitor.
	if resp, err := f.visits.StartChatVisit(in("acme"), &channelv1.StartChatVisitRequest{Token: token}); err != nil || resp.GetToken() != token {
		t.Errorf("resuming a visit: %v, %v", resp, err)
	}
}

func TestConversation(t *testing.T) {
	f := newFixture(t)
	token := f.visitor(t, "acme")
	first := f.post(t, "acme", token, "m1", "打印机连不上 <img src=x onerror=alert(1)>\n第二行")
	chat := first.GetConversation()
	if first.GetMessage().GetSeq() != 1 || chat.GetState() != channelv1.ChatState_CHAT_STATE_WAITING || chat.GetGroup() != "sales" {
		t.Fatalf("first message: %v", first)
	}
	got, err := f.tickets.GetTicket(in("acme"), &ticketv1.GetTicketRequest{Id: chat.GetTicketId()})
	if err != nil {
		t.Fatal(err)
	}
	tk := got.GetTicket()
	if tk.GetChannel() != ticketv1.Channel_CHANNEL_CHAT || tk.GetSubject() != "打印机连不上 <img src=x onerror=alert(1)>" ||
		tk.GetDescription() != "打印机连不上 <img src=x onerror=alert(1)>\n第二行" || tk.GetGroup() != "sales" ||
		tk.GetRequester().GetIdentity() != "web:"+chat.GetVisitorId() || tk.GetRequester().GetContactId() != chat.GetContactId() {
		t.Errorf("the chat's ticket: %v", tk)
	}
	contact, err := f.st.GetContact(context.Background(), "acme", chat.GetContactId())
	if err != nil || len(contact.Identities) != 1 || contact.Identities[0].Value != chat.GetVisitorId() {
		t.Errorf("the visitor's contact: %+v, %v", contact, err)
	}

	// A retry adds nothing; the next message is a comment.
	if again := f.post(t, "acme", token, "m1", "打印机连不上 <img src=x onerror=alert(1)>\n第二行"); again.GetMessage().GetSeq() != 1 || again.GetConversation().GetTicketId() != chat.GetTicketId() {
		t.Errorf("retried first message: %v", again)
	}
	second := f.post(t, "acme", token, "m2", "还在吗")
	if again := f.post(t, "acme", token, "m2", "还在吗"); second.GetMessage().GetSeq() != 2 || again.GetMessage().GetSeq() != 2 {
		t.Errorf("second message %d, retried %d; want 2, 2", second.GetMessage().GetSeq(), again.GetMessage().GetSeq())
	}
	comments, err := f.tickets.ListComments(in("acme"), &ticketv1.ListCommentsRequest{TicketId: chat.GetTicketId()})
	if err != nil || len(comments.GetComments()) != 1 {
		t.Fatalf("comments: %v, %v; want the second message alone", comments.GetComments(), err)
	}

	// An agent's reply and an internal note: the reply is the chat's
	// third message, the note none of its.
	for _, c := range []*ticketv1.Comment{
		{Author: "李娜", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_AGENT, Body: "请重启打印机", Visibility: ticketv1.Visibility_VISIBILITY_PUBLIC},
		{Author: "李娜", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_AGENT, Body: "内部备注：客户是 VIP", Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL},
	} {
		if _, err := f.tickets.AddComment(in("acme"), &ticketv1.AddCommentRequest{TicketId: chat.GetTicketId(), Comment: c}); err != nil {
			t.Fatal(err)
		}
	}
	cursor := f.follow(t, "acme", "")
	f.follow(t, "acme", "") // every event again: nothing changes
	msgs, err := f.st.ChatMessages(context.Background(), "acme", chat.GetTicketId(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Author+":"+m.Body)
	}
	want := []string{"visitor:打印机连不上 <img src=x onerror=alert(1)>\n第二行", "visitor:还在吗", "agent:请重启打印机"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("messages %q, want %q", texts, want)
	}

	// The visitor's stream: the chat, then the messages after the seq it
	// saw; then what comes.
	ctx, cancel := context.WithCancel(in("acme"))
	defer cancel()
	stream, err := f.visits.FollowChatVisit(ctx, &channelv1.FollowChatVisitRequest{Token: token, TicketId: chat.GetTicketId(), AfterSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	recv := func() *channelv1.ChatFrame {
		t.Helper()
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetFrame()
	}
	if c := recv().GetConversation(); c.GetState() != channelv1.ChatState_CHAT_STATE_ANSWERED {
		t.Errorf("first frame %v, want the answered chat", c)
	}
	for _, seq := range []int64{2, 3} {
		if m := recv().GetMessage(); m.GetSeq() != seq {
			t.Fatalf("message %v, want seq %d", m, seq)
		}
	}
	// The visitor's receipt moves the chat; its own typing does not come
	// back, an agent's does.
	if _, err := f.visits.SignalChatVisit(in("acme"), &channelv1.SignalChatVisitRequest{Token: token, Typing: ptr(true), ReadSeq: 3}); err != nil {
		t.Fatal(err)
	}
	if c := recv().GetConversation(); c.GetVisitorReadSeq() != 3 {
		t.Errorf("chat after the visitor's receipt: %v", c)
	}
	f.hub.Typing(VisitorTopic("acme", chat.GetVisitorId()), &channelv1.ChatTyping{Author: channelv1.ChatAuthor_CHAT_AUTHOR_AGENT, AuthorName: "李娜", Typing: true})
	if ty := recv().GetTyping(); ty.GetAuthorName() != "李娜" || !ty.GetTyping() {
		t.Errorf("typing %v", ty)
	}

	// Closed: the next message opens a new chat, which the stream follows
	// from its first message.
	for _, s := range []ticketv1.Status{ticketv1.Status_STATUS_SOLVED, ticketv1.Status_STATUS_CLOSED} {
		if _, err := f.tickets.UpdateTicket(in("acme"), &ticketv1.UpdateTicketRequest{
			Ticket: &ticketv1.Ticket{Id: chat.GetTicketId(), Status: s}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	f.follow(t, "acme", cursor)
	if c := recv().GetConversation(); c.GetState() != channelv1.ChatState_CHAT_STATE_CLOSED {
		t.Errorf("chat after its ticket closed: %v", c)
	}
	f.now = f.now.Add(time.Minute) // the rate limit refilled
	next := f.post(t, "acme", token, "m3", "又坏了")
	if next.GetConversation().GetTicketId() == chat.GetTicketId() || next.GetMessage().GetSeq() != 1 {
		t.Fatalf("message after closing: %v; want seq 1 of a new chat", next)
	}
	if c := recv().GetConversation(); c.GetTicketId() != next.GetConversation().GetTicketId() {
		t.Errorf("the stream's next chat %v", c)
	}
	if m := recv().GetMessage(); m.GetSeq() != 1 || m.GetText() != "又坏了" || m.GetClientId() != "m3" {
		t.Errorf("the new chat's first message %v", m)
	}
	cancel()
	for {
		if _, err := stream.Recv(); err != nil {
			if !errors.Is(err, io.EOF) && status.Code(err) != codes.Canceled {
				t.Errorf("stream end: %v", err)
			}
			break
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestOffersAndHandOff(t *testing.T) {
	f := newFixture(t)
	sweeper := &Sweeper{Store: f.st, Tickets: f.tickets, Hub: f.hub, Tenants: func(id string) (tenant.ChatSettings, bool) {
		s, ok := testSettings[id]
		return s, ok
	}, Now: func() time.Time { return f.now }}
	ctx := context.Background()
	sales := f.post(t, "acme", f.visitor(t, "acme"), "m1", "想买东西").GetConversation()
	lonely := f.post(t, "globex", f.visitor(t, "globex"), "m1", "Anyone there?").GetConversation()
	state := func(tid, ticketID string) string {
		c, _, err := f.st.ChatConversation(ctx, tid, ticketID)
		if err != nil {
			t.Fatal(err)
		}
		return c.State
	}

	agent := auth.With(tenant.With(ctx, "acme"), &iamv1.Principal{Id: "u1", UserId: "u1", DisplayName: "李娜", Tenant: "acme",
		Roles: []iamv1.Role{iamv1.Role_ROLE_AGENT}, Groups: []string{"sales", "billing"}})
	for _, tt := range []struct {
		name   string
		ctx    context.Context
		groups []string
		code   codes.Code
		msg    string
	}{
		{"another group", agent, []string{"sales", "support"}, codes.InvalidArgument, `groups[1]: "support" is not one of your groups; accepted: "sales", "billing"`},
		{"no group", auth.With(tenant.With(ctx, "acme"), &iamv1.Principal{Id: "u2", Roles: []iamv1.Role{iamv1.Role_ROLE_AGENT}}), nil,
			codes.FailedPrecondition, "groups: you are in no group, and an agent takes the chats of its groups; an admin adds you to the tenant's chat group (spec.channels.chat.group)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.ReportChatPresence(tt.ctx, &channelv1.ReportChatPresenceRequest{Groups: tt.groups})
			if st := status.Convert(err); st.Code() != tt.code || st.Message() != tt.msg {
				t.Errorf("= %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
		})
	}

	// acme's agent of sales comes online: offered acme's chat, which the
	// sweep marks offered; globex has nobody, and its wait runs out.
	resp, err := f.svc.ReportChatPresence(agent, &channelv1.ReportChatPresenceRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if offers := resp.GetOffers(); len(offers) != 1 || offers[0].GetTicketId() != sales.GetTicketId() || resp.GetReportWithin().AsDuration() != DefaultPresenceTTL {
		t.Errorf("offers %v, report within %v", offers, resp.GetReportWithin())
	}
	if err := sweeper.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if s, l := state("acme", sales.GetTicketId()), state("globex", lonely.GetTicketId()); s != store.ChatOffered || l != store.ChatWaiting {
		t.Errorf("after a sweep: acme %s, globex %s; want offered, waiting", s, l)
	}
	f.now = f.now.Add(time.Minute + time.Second)
	if err := sweeper.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if s, l := state("acme", sales.GetTicketId()), state("globex", lonely.GetTicketId()); s != store.ChatAskEmail || l != store.ChatAskEmail {
		// acme's agent's report expired too (60 s): nobody online for
		// acme's 30 s either.
		t.Errorf("a minute later: acme %s, globex %s; want ask_email both", s, l)
	}
	notes, err := f.tickets.ListComments(in("globex"), &ticketv1.ListCommentsRequest{TicketId: lonely.GetTicketId()})
	if err != nil || len(notes.GetComments()) != 1 || notes.GetComments()[0].GetVisibility() != ticketv1.Visibility_VISIBILITY_INTERNAL ||
		notes.GetComments()[0].GetBody() != "No agent of any group was online within 1m0s: the visitor is asked for an e-mail address, and the chat goes on by e-mail once one is given." {
		t.Errorf("notes %v, %v", notes.GetComments(), err)
	}

	// The visitor leaves an address: the contact gets it, the ticket's
	// requester too, and the chat goes on by e-mail.
	token := f.visitor(t, "globex")
	f.now = f.now.Add(time.Minute)
	chat := f.post(t, "globex", token, "m1", "Hello?").GetConversation()
	for _, tt := range []struct{ email, msg string }{
		{"not an address", `email: "not an address" is not an email address; accepted: an address such as li.na@example.com`},
	} {
		_, err := f.visits.SetChatVisitEmail(in("globex"), &channelv1.SetChatVisitEmailRequest{Token: token, Email: tt.email})
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != tt.msg {
			t.Errorf("email %q: %v %q, want %q", tt.email, st.Code(), st.Message(), tt.msg)
		}
	}
	done, err := f.visits.SetChatVisitEmail(in("globex"), &channelv1.SetChatVisitEmailRequest{Token: token, Email: " Li.Na@Example.com ", Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	if c := done.GetConversation(); c.GetState() != channelv1.ChatState_CHAT_STATE_EMAIL || c.GetEmail() != "li.na@example.com" {
		t.Errorf("chat after the address: %v", c)
	}
	if byMail, err := f.st.ChatByEmail(ctx, "globex", chat.GetTicketId()); !byMail || err != nil {
		t.Errorf("ChatByEmail = %v, %v", byMail, err)
	}
	got, _ := f.tickets.GetTicket(in("globex"), &ticketv1.GetTicketRequest{Id: chat.GetTicketId()})
	if r := got.GetTicket().GetRequester(); r.GetEmail() != "li.na@example.com" || r.GetContactId() != chat.GetContactId() {
		t.Errorf("requester %v", r)
	}
	contact, _ := f.st.GetContact(ctx, "globex", chat.GetContactId())
	if len(contact.Identities) != 2 || contact.Identities[1].Value != "li.na@example.com" || !contact.Identities[1].Primary || contact.Locale != "zh-CN" {
		t.Errorf("contact %+v", contact)
	}
	// Another visitor giving the same address: its chat's requester is
	// the contact that holds it (not merged: the address is unproven).
	other := f.visitor(t, "globex")
	f.now = f.now.Add(time.Minute)
	otherChat := f.post(t, "globex", other, "m1", "me again").GetConversation()
	if _, err := f.visits.SetChatVisitEmail(in("globex"), &channelv1.SetChatVisitEmailRequest{Token: other, Email: "li.na@example.com"}); err != nil {
		t.Fatal(err)
	}
	got, _ = f.tickets.GetTicket(in("globex"), &ticketv1.GetTicketRequest{Id: otherChat.GetTicketId()})
	if r := got.GetTicket().GetRequester(); r.GetContactId() != chat.GetContactId() || r.GetIdentity() != "web:"+otherChat.GetVisitorId() {
		t.Errorf("the second visitor's requester %v, want contact %s", r, chat.GetContactId())
	}
}

func TestAgentAccess(t *testing.T) {
	f := newFixture(t)
	chat := f.post(t, "acme", f.visitor(t, "acme"), "m1", "hi").GetConversation()
	if _, err := f.tickets.UpdateTicket(in("acme"), &ticketv1.UpdateTicketRequest{
		Ticket: &ticketv1.Ticket{Id: chat.GetTicketId(), Assignee: "u9"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assignee"}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		p    *iamv1.Principal
		sees bool
	}{
		{"admin", &iamv1.Principal{Id: "k1", Roles: []iamv1.Role{iamv1.Role_ROLE_ADMIN}}, true},
		{"agent of the group", &iamv1.Principal{Id: "u1", Roles: []iamv1.Role{iamv1.Role_ROLE_AGENT}, Groups: []string{"sales"}}, true},
		{"agent assigned", &iamv1.Principal{Id: "u9", UserId: "u9", Roles: []iamv1.Role{iamv1.Role_ROLE_AGENT}}, true},
		{"agent of another group", &iamv1.Principal{Id: "u2", Roles: []iamv1.Role{iamv1.Role_ROLE_AGENT}, Groups: []string{"billing"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := auth.With(tenant.With(context.Background(), "acme"), tt.p)
			_, err := f.svc.SignalChat(ctx, &channelv1.SignalChatRequest{TicketId: chat.GetTicketId(), ReadSeq: 1})
			if tt.sees && err != nil {
				t.Errorf("SignalChat: %v", err)
			}
			if st := status.Convert(err); !tt.sees && (st.Code() != codes.NotFound || st.Message() != `chat "`+chat.GetTicketId()+`" not found`) {
				t.Errorf("SignalChat = %v %q, want NotFound as for no chat", st.Code(), st.Message())
			}
		})
	}
}
