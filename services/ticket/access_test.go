package ticket_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/tenant/tenanttest"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// The callers of the access tests, one per role, as the access
// interceptor would put them in the context.
var principals = map[string]*iamv1.Principal{
	"admin": {Id: "u-admin", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, Tenant: "acme", DisplayName: "Admin",
		Roles: []iamv1.Role{iamv1.Role_ROLE_ADMIN}},
	"supervisor": {Id: "u-sup", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, Tenant: "acme", DisplayName: "Sup",
		Roles: []iamv1.Role{iamv1.Role_ROLE_SUPERVISOR}},
	// An agent of group it, to whom one billing ticket is assigned by email.
	"agent": {Id: "u-ana", UserId: "u-ana", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_OIDC, Tenant: "acme",
		DisplayName: "Ana", Email: "ana@acme.test", Groups: []string{"it"}, Roles: []iamv1.Role{iamv1.Role_ROLE_AGENT}},
	"integration": {Id: "k-crm", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY, Tenant: "acme", DisplayName: "CRM",
		Roles: []iamv1.Role{iamv1.Role_ROLE_INTEGRATION}},
	"service": {Id: "service:worker", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE, Tenant: "acme",
		DisplayName: "SLA worker", Roles: []iamv1.Role{iamv1.Role_ROLE_SERVICE}},
	// A customer known by email and by a WeChat identity.
	"customer": {Id: "wechat:oWang", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER, Tenant: "acme",
		DisplayName: "王芳", Email: "wang@example.com", Roles: []iamv1.Role{iamv1.Role_ROLE_CUSTOMER}},
	"other customer": {Id: "c-li", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER, Tenant: "acme",
		DisplayName: "Li", Email: "li@example.com", Roles: []iamv1.Role{iamv1.Role_ROLE_CUSTOMER}},
	// Customers signed in with a one-time code: their principal names
	// their contact (TestCustomerByContact).
	"contact wang": {Id: "c-wang", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER, Tenant: "acme", SessionId: "s-1",
		DisplayName: "王芳", Email: "wang@example.com", ContactId: "c-wang", Roles: []iamv1.Role{iamv1.Role_ROLE_CUSTOMER}},
	"contact li": {Id: "c-li", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER, Tenant: "acme", SessionId: "s-2",
		DisplayName: "Li", Email: "li@example.com", ContactId: "c-li", Roles: []iamv1.Role{iamv1.Role_ROLE_CUSTOMER}},
}

// as is ctx with tenant acme and the named principal ("" for none).
func as(name string) context.Context {
	ctx := tenant.With(context.Background(), "acme")
	if name == "" {
		return ctx
	}
	return auth.With(ctx, principals[name])
}

// accessFixture is a server on a real SQLite store with four tickets that
// different callers see.
type accessFixture struct {
	srv *ticket.Server
	s   ticket.Store
	// it: group it, requested by Wang (email in another case).
	// billing: group billing, requested by Li.
	// assigned: group billing, assigned to the agent by email, requested by Li.
	// wechat: group sales, requested by Wang's WeChat identity only.
	it, billing, assigned, wechat string
}

func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	f := &accessFixture{s: openSQLite(t)}
	f.srv = ticket.NewServer(f.s, ticket.Config{}, slog.New(slog.DiscardHandler))
	mk := func(subject, group, assignee string, r *ticketv1.Requester) string {
		resp, err := f.srv.CreateTicket(as("admin"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{
			Subject: subject, Group: group, Assignee: assignee, Requester: r,
		}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetTicket().GetId()
	}
	f.it = mk("VPN down", "it", "", &ticketv1.Requester{Email: "Wang@Example.COM"})
	f.billing = mk("invoice", "billing", "", &ticketv1.Requester{Email: "li@example.com"})
	f.assigned = mk("refund", "billing", "ana@acme.test", &ticketv1.Requester{Email: "li@example.com"})
	f.wechat = mk("微信", "sales", "", &ticketv1.Requester{Identity: "wechat:oWang"})
	return f
}

// notFoundAlike fails unless err is NOT_FOUND with the message a ticket
// that does not exist gets, the ID aside.
func (f *accessFixture) notFoundAlike(t *testing.T, err error, id string, unknown func(id string) error) {
	t.Helper()
	const missing = "01900000-0000-7000-8000-00000000dead"
	want := status.Convert(unknown(missing))
	got := status.Convert(err)
	if want.Code() != codes.NotFound {
		t.Fatalf("the unknown ticket got %v, want NotFound", want.Err())
	}
	if got.Code() != codes.NotFound || strings.ReplaceAll(got.Message(), id, missing) != want.Message() {
		t.Errorf("got %v; want NotFound as for an unknown ticket: %q", err, want.Message())
	}
}

func TestAccessByRole(t *testing.T) {
	f := newAccessFixture(t)
	all := []string{f.wechat, f.assigned, f.billing, f.it} // newest first
	name := map[string]string{f.wechat: "wechat", f.assigned: "assigned", f.billing: "billing", f.it: "it"}
	tests := []struct {
		caller string
		sees   []string // newest first
		update bool     // the access declaration lets it call UpdateTicket
	}{
		{caller: "", sees: all, update: true}, // no principal: as before authentication
		{caller: "admin", sees: all, update: true},
		{caller: "supervisor", sees: all, update: true},
		{caller: "integration", sees: all, update: true},
		{caller: "service", sees: all, update: true},
		{caller: "agent", sees: []string{f.assigned, f.it}, update: true},
		{caller: "customer", sees: []string{f.wechat, f.it}},
		{caller: "other customer", sees: []string{f.assigned, f.billing}},
	}
	for _, tt := range tests {
		t.Run(callerName(tt.caller), func(t *testing.T) {
			ctx := as(tt.caller)
			t.Run("ListTickets", func(t *testing.T) {
				for _, size := range []int32{1, 3, 50} {
					var got []string
					token := ""
					for {
						resp, err := f.srv.ListTickets(ctx, &ticketv1.ListTicketsRequest{PageSize: size, PageToken: token})
						if err != nil {
							t.Fatal(err)
						}
						for _, tk := range resp.GetTickets() {
							got = append(got, tk.GetId())
						}
						if token = resp.GetNextPageToken(); token == "" {
							break
						}
					}
					if diff := cmp.Diff(tt.sees, got); diff != "" {
						t.Errorf("page size %d: IDs (-want +got):\n%s", size, diff)
					}
				}
			})
			for _, id := range all {
				visible := slices.Contains(tt.sees, id)
				check := func(t *testing.T, err error, unknown func(string) error) {
					t.Helper()
					if visible {
						if err != nil {
							t.Errorf("ticket %s in scope: %v", id, err)
						}
						return
					}
					f.notFoundAlike(t, err, id, unknown)
				}
				t.Run("GetTicket "+name[id], func(t *testing.T) {
					get := func(id string) error {
						_, err := f.srv.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: id})
						return err
					}
					check(t, get(id), get)
				})
				t.Run("ListComments "+name[id], func(t *testing.T) {
					list := func(id string) error {
						_, err := f.srv.ListComments(ctx, &ticketv1.ListCommentsRequest{TicketId: id})
						return err
					}
					check(t, list(id), list)
				})
				t.Run("AddComment "+name[id], func(t *testing.T) {
					add := func(id string) error {
						_, err := f.srv.AddComment(ctx, &ticketv1.AddCommentRequest{TicketId: id, Comment: &ticketv1.Comment{
							Author: "someone", Body: "hello",
						}})
						return err
					}
					check(t, add(id), add)
				})
				if !tt.update {
					continue
				}
				t.Run("UpdateTicket "+name[id], func(t *testing.T) {
					update := func(id string) error {
						// A stale etag too: the answer must not tell that the
						// ticket exists.
						_, err := f.srv.UpdateTicket(ctx, &ticketv1.UpdateTicketRequest{
							Ticket:     &ticketv1.Ticket{Id: id, Impact: 1},
							UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"impact"}},
						})
						return err
					}
					check(t, update(id), update)
				})
			}
		})
	}
}

func TestCommentAuthorFromCredential(t *testing.T) {
	f := newAccessFixture(t)
	// Every body claims to be an agent called Mallory.
	body := &ticketv1.Comment{Author: "Mallory", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_AGENT, Body: "hi"}
	tests := []struct {
		caller     string
		author     string
		authorType ticketv1.AuthorType
	}{
		{"", "Mallory", ticketv1.AuthorType_AUTHOR_TYPE_AGENT},
		{"admin", "Admin", ticketv1.AuthorType_AUTHOR_TYPE_AGENT},
		{"agent", "Ana", ticketv1.AuthorType_AUTHOR_TYPE_AGENT},
		// An integration relays others' words: the author it names stands
		// (the actor still records the key).
		{"integration", "Mallory", ticketv1.AuthorType_AUTHOR_TYPE_AGENT},
		// So does kubedesk's own module, and the type it names (the mail
		// channel relays what customers and agents wrote).
		{"service", "Mallory", ticketv1.AuthorType_AUTHOR_TYPE_AGENT},
		{"customer", "wang@example.com", ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER},
	}
	// ... and one, relayed by an integration, says a customer wrote it.
	relayed := &ticketv1.Comment{Author: "wang@example.com", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER, Body: "还是不行"}
	tests = append(tests, struct {
		caller     string
		author     string
		authorType ticketv1.AuthorType
	}{"integration", "wang@example.com", ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER})
	for i, tt := range tests {
		t.Run(callerName(tt.caller), func(t *testing.T) {
			sent := body
			if i == len(tests)-1 {
				sent = relayed
			}
			resp, err := f.srv.AddComment(as(tt.caller), &ticketv1.AddCommentRequest{TicketId: f.it, Comment: sent})
			if err != nil {
				t.Fatal(err)
			}
			c := resp.GetComment()
			if c.GetAuthor() != tt.author || c.GetAuthorType() != tt.authorType {
				t.Errorf("author = %q %s, want %q %s", c.GetAuthor(), c.GetAuthorType(), tt.author, tt.authorType)
			}
			want := auth.ActorOf(principals[tt.caller])
			if diff := cmp.Diff(want, c.GetActor(), protocmp.Transform()); diff != "" {
				t.Errorf("actor (-want +got):\n%s", diff)
			}
			// As stored.
			listed, err := f.srv.ListComments(as("admin"), &ticketv1.ListCommentsRequest{TicketId: f.it})
			if err != nil {
				t.Fatal(err)
			}
			last := listed.GetComments()[len(listed.GetComments())-1]
			if diff := cmp.Diff(c, last, protocmp.Transform()); diff != "" {
				t.Errorf("listed comment (-returned +listed):\n%s", diff)
			}
		})
	}

	t.Run("a service may leave the author to its credential", func(t *testing.T) {
		resp, err := f.srv.AddComment(as("service"), &ticketv1.AddCommentRequest{TicketId: f.it, Comment: &ticketv1.Comment{Body: "x"}})
		if err != nil || resp.GetComment().GetAuthor() != "SLA worker" || resp.GetComment().GetAuthorType() != ticketv1.AuthorType_AUTHOR_TYPE_SYSTEM {
			t.Errorf("AddComment = %v, %v; want the author SLA worker, the system", resp.GetComment(), err)
		}
	})
	t.Run("a service relays a customer's words", func(t *testing.T) {
		resp, err := f.srv.AddComment(as("service"), &ticketv1.AddCommentRequest{TicketId: f.it, Comment: relayed})
		c := resp.GetComment()
		if err != nil || c.GetAuthor() != "wang@example.com" || c.GetAuthorType() != ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER {
			t.Errorf("AddComment = %v, %v; want wang@example.com as the customer", c, err)
		}
		if c.GetActor().GetId() != "service:worker" {
			t.Errorf("actor = %v, want the service", c.GetActor())
		}
	})
	t.Run("a service's customer comment is public only", func(t *testing.T) {
		_, err := f.srv.AddComment(as("service"), &ticketv1.AddCommentRequest{TicketId: f.it, Comment: &ticketv1.Comment{
			Author: "wang@example.com", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER,
			Body: "secret", Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL,
		}})
		want := "comment.visibility: a customer cannot write an internal note; accepted for AUTHOR_TYPE_CUSTOMER: VISIBILITY_PUBLIC"
		if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != want {
			t.Errorf("AddComment = %v; want InvalidArgument %q", err, want)
		}
	})
	t.Run("a customer's internal note is refused", func(t *testing.T) {
		_, err := f.srv.AddComment(as("customer"), &ticketv1.AddCommentRequest{TicketId: f.it, Comment: &ticketv1.Comment{
			Body: "secret", Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL,
		}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "comment.visibility") {
			t.Errorf("AddComment = %v; want InvalidArgument naming comment.visibility", err)
		}
	})
	t.Run("another caller reusing an idempotency key gets nothing of the first", func(t *testing.T) {
		req := &ticketv1.AddCommentRequest{TicketId: f.it, RequestId: "c-1", Comment: &ticketv1.Comment{Body: "same"}}
		if _, err := f.srv.AddComment(as("agent"), req); err != nil {
			t.Fatal(err)
		}
		if _, err := f.srv.AddComment(as("agent"), req); err != nil {
			t.Errorf("the same caller's retry: %v", err)
		}
		if _, err := f.srv.AddComment(as("admin"), req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("another caller's request with the key: %v; want InvalidArgument", err)
		}
	})
}

func TestCustomerNeverSeesInternalNotes(t *testing.T) {
	f := newAccessFixture(t)
	var public []string
	for i, v := range []ticketv1.Visibility{
		ticketv1.Visibility_VISIBILITY_INTERNAL, ticketv1.Visibility_VISIBILITY_PUBLIC, ticketv1.Visibility_VISIBILITY_INTERNAL,
		ticketv1.Visibility_VISIBILITY_INTERNAL, ticketv1.Visibility_VISIBILITY_PUBLIC, ticketv1.Visibility_VISIBILITY_PUBLIC,
		ticketv1.Visibility_VISIBILITY_INTERNAL,
	} {
		resp, err := f.srv.AddComment(as("agent"), &ticketv1.AddCommentRequest{TicketId: f.it, Comment: &ticketv1.Comment{
			Body: "note " + string(rune('a'+i)), Visibility: v,
		}})
		if err != nil {
			t.Fatal(err)
		}
		if v == ticketv1.Visibility_VISIBILITY_PUBLIC {
			public = append(public, resp.GetComment().GetId())
		}
	}
	list := func(caller string, size int32) []string {
		var got []string
		token := ""
		for {
			resp, err := f.srv.ListComments(as(caller), &ticketv1.ListCommentsRequest{TicketId: f.it, PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range resp.GetComments() {
				got = append(got, c.GetId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				return got
			}
		}
	}
	for _, size := range []int32{1, 2, 50} {
		if diff := cmp.Diff(public, list("customer", size)); diff != "" {
			t.Errorf("customer, page size %d (-want +got):\n%s", size, diff)
		}
		if got := list("agent", size); len(got) != 7 {
			t.Errorf("agent, page size %d: %d comments, want 7", size, len(got))
		}
	}
}

func TestCustomerCreatesTicket(t *testing.T) {
	f := newAccessFixture(t)
	resp, err := f.srv.CreateTicket(as("customer"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{
		Subject: "printer", Requester: &ticketv1.Requester{Email: "li@example.com", Name: "Li"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := &ticketv1.Requester{Name: "王芳", Email: "wang@example.com"}
	if diff := cmp.Diff(want, resp.GetTicket().GetRequester(), protocmp.Transform()); diff != "" {
		t.Errorf("requester (-want +got):\n%s", diff)
	}
	if _, err := f.srv.GetTicket(as("customer"), &ticketv1.GetTicketRequest{Id: resp.GetTicket().GetId()}); err != nil {
		t.Errorf("the customer cannot read its own ticket: %v", err)
	}
	if _, err := f.srv.GetTicket(as("other customer"), &ticketv1.GetTicketRequest{Id: resp.GetTicket().GetId()}); status.Code(err) != codes.NotFound {
		t.Errorf("the customer named in the body reads it: %v", err)
	}

	for _, tt := range []struct {
		field string
		in    *ticketv1.Ticket
	}{
		{"ticket.group", &ticketv1.Ticket{Group: "vip"}},
		{"ticket.assignee", &ticketv1.Ticket{Assignee: "ana"}},
		{"ticket.tags", &ticketv1.Ticket{Tags: []string{"urgent"}}},
		{"ticket.custom_fields", &ticketv1.Ticket{CustomFields: map[string]string{"plan": "gold"}}},
		{"ticket.status", &ticketv1.Ticket{Status: ticketv1.Status_STATUS_SOLVED}},
	} {
		t.Run(tt.field, func(t *testing.T) {
			tt.in.Subject = "x"
			_, err := f.srv.CreateTicket(as("customer"), &ticketv1.CreateTicketRequest{Ticket: tt.in})
			if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), tt.field+":") {
				t.Errorf("CreateTicket = %v; want InvalidArgument naming %s", err, tt.field)
			}
		})
	}
	t.Run("an agent may set them", func(t *testing.T) {
		if _, err := f.srv.CreateTicket(as("agent"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{
			Subject: "x", Group: "vip", Tags: []string{"urgent"},
		}}); err != nil {
			t.Error(err)
		}
	})
}

func TestAgentMayMoveTicketOutOfScope(t *testing.T) {
	f := newAccessFixture(t)
	if _, err := f.srv.UpdateTicket(as("agent"), &ticketv1.UpdateTicketRequest{
		Ticket:     &ticketv1.Ticket{Id: f.it, Group: "billing"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"group"}},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := f.srv.GetTicket(as("agent"), &ticketv1.GetTicketRequest{Id: f.it})
	if status.Code(err) != codes.NotFound {
		t.Errorf("after moving it to billing the agent reads it: %v", err)
	}
}

// principalInterceptors put the principal named in the test's
// "test-principal" metadata in the context, as the access interceptor
// does with a real credential.
func principalInterceptors() []grpc.ServerOption {
	from := func(ctx context.Context) context.Context {
		if v := metadata.ValueFromIncomingContext(ctx, "test-principal"); len(v) > 0 {
			return auth.With(ctx, principals[v[0]])
		}
		return ctx
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(tenanttest.Unary(),
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				return h(from(ctx), req)
			}),
		grpc.ChainStreamInterceptor(tenanttest.Stream(),
			func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				return h(srv, contextStream{ss, from(ss.Context())})
			}),
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s contextStream) Context() context.Context { return s.ctx }

func TestEventStreamCarriesActor(t *testing.T) {
	client := serveTickets(t, openSQLite(t), principalInterceptors()...)
	ctx, cancel := context.WithTimeout(tenant.Outgoing(context.Background(), "acme"), time.Minute)
	defer cancel()
	call := func(who string) context.Context { return metadata.AppendToOutgoingContext(ctx, "test-principal", who) }

	created, err := client.CreateTicket(call("integration"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "s", Group: "it"}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetTicket().GetId()
	if _, err := client.UpdateTicket(call("agent"), &ticketv1.UpdateTicketRequest{
		Ticket: &ticketv1.Ticket{Id: id, Subject: "s2"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"subject"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AddComment(call("agent"), &ticketv1.AddCommentRequest{TicketId: id, Comment: &ticketv1.Comment{Body: "on it"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AddComment(ctx, &ticketv1.AddCommentRequest{TicketId: id, Comment: &ticketv1.Comment{Author: "a", Body: "anonymous"}}); err != nil {
		t.Fatal(err)
	}

	t.Run("agents may not watch", func(t *testing.T) {
		stream, err := client.WatchEvents(call("agent"), &ticketv1.WatchEventsRequest{})
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("WatchEvents as an agent = %v; want PermissionDenied", err)
		}
	})

	stream, err := client.WatchEvents(call("supervisor"), &ticketv1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []*ticketv1.Event
	for {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetBookmark() != nil {
			break
		}
		got = append(got, resp.GetEvent())
	}
	agent := auth.ActorOf(principals["agent"])
	want := []struct {
		typ            ticketv1.EventType
		actor, comment *iamv1.Actor
	}{
		{ticketv1.EventType_EVENT_TYPE_TICKET_CREATED, auth.ActorOf(principals["integration"]), nil},
		{ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED, agent, nil},
		{ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED, agent, agent},
		{ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED, nil, nil},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		e := got[i]
		if e.GetType() != w.typ {
			t.Errorf("event %d: type %s, want %s", i, e.GetType(), w.typ)
		}
		if diff := cmp.Diff(w.actor, e.GetActor(), protocmp.Transform()); diff != "" {
			t.Errorf("event %d (%s) actor (-want +got):\n%s", i, w.typ, diff)
		}
		if diff := cmp.Diff(w.comment, e.GetComment().GetActor(), protocmp.Transform()); diff != "" {
			t.Errorf("event %d (%s) comment actor (-want +got):\n%s", i, w.typ, diff)
		}
	}
}

func callerName(name string) string {
	if name == "" {
		return "no principal"
	}
	return name
}
