package ticket_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// contactFixture is a server with tickets whose requesters are contacts,
// as the channel service names them.
type contactFixture struct {
	srv *ticket.Server
	// mine: Wang's contact, by her usual address.
	// mineElsewhere: Wang's contact, by another of its addresses.
	// legacy: Wang's address, no contact (written before contacts).
	// moved: Wang's address, but another contact's (the address moved).
	// li: Li's contact.
	mine, mineElsewhere, legacy, moved, li string
}

func newContactFixture(t *testing.T) *contactFixture {
	t.Helper()
	f := &contactFixture{srv: ticket.NewServer(openSQLite(t), ticket.Config{}, slog.New(slog.DiscardHandler))}
	mk := func(subject string, r *ticketv1.Requester) string {
		resp, err := f.srv.CreateTicket(as("admin"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: subject, Requester: r}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetTicket().GetId()
	}
	f.mine = mk("VPN", &ticketv1.Requester{Email: "wang@example.com", ContactId: "c-wang"})
	f.mineElsewhere = mk("打印机", &ticketv1.Requester{Email: "fang@work.example", ContactId: "c-wang"})
	f.legacy = mk("old", &ticketv1.Requester{Email: "Wang@Example.com"})
	f.moved = mk("moved", &ticketv1.Requester{Email: "wang@example.com", ContactId: "c-zhao"})
	f.li = mk("invoice", &ticketv1.Requester{Email: "li@example.com", ContactId: "c-li"})
	return f
}

// TestCustomerByContact: a customer whose principal names a contact sees
// the tickets of that contact and no others, whatever address they name;
// one without a contact keeps the match by address.
func TestCustomerByContact(t *testing.T) {
	f := newContactFixture(t)
	all := []string{f.li, f.moved, f.legacy, f.mineElsewhere, f.mine} // newest first
	name := map[string]string{f.mine: "mine", f.mineElsewhere: "mine elsewhere", f.legacy: "legacy", f.moved: "moved", f.li: "li"}
	tests := []struct {
		caller string
		sees   []string // newest first
	}{
		{caller: "contact wang", sees: []string{f.mineElsewhere, f.mine}},
		{caller: "contact li", sees: []string{f.li}},
		// Without a contact: by address, whichever contact it is now.
		{caller: "customer", sees: []string{f.moved, f.legacy, f.mine}},
		{caller: "agent", sees: nil}, // no group, no assignment
		{caller: "admin", sees: all},
	}
	for _, tt := range tests {
		t.Run(tt.caller, func(t *testing.T) {
			ctx := as(tt.caller)
			for _, size := range []int32{1, 2, 50} {
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
					t.Errorf("ListTickets, page size %d (-want +got):\n%s", size, diff)
				}
			}
			// A filter cannot widen the scope.
			resp, err := f.srv.ListTickets(ctx, &ticketv1.ListTicketsRequest{Filter: `contact = "c-li"`})
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range resp.GetTickets() {
				if !slices.Contains(tt.sees, tk.GetId()) {
					t.Errorf("filter contact = c-li lists %s (%s), out of scope", tk.GetId(), name[tk.GetId()])
				}
			}
			for _, id := range all {
				visible := slices.Contains(tt.sees, id)
				for _, op := range []struct {
					name string
					call func(id string) error
				}{
					{"GetTicket", func(id string) error {
						_, err := f.srv.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: id})
						return err
					}},
					{"ListComments", func(id string) error {
						_, err := f.srv.ListComments(ctx, &ticketv1.ListCommentsRequest{TicketId: id})
						return err
					}},
					{"AddComment", func(id string) error {
						_, err := f.srv.AddComment(ctx, &ticketv1.AddCommentRequest{TicketId: id, Comment: &ticketv1.Comment{Body: "hello"}})
						return err
					}},
				} {
					t.Run(op.name+" "+name[id], func(t *testing.T) {
						err := op.call(id)
						if visible {
							if err != nil {
								t.Errorf("in scope: %v", err)
							}
							return
						}
						(&accessFixture{}).notFoundAlike(t, err, id, op.call)
					})
				}
			}
		})
	}
}

// TestContactCustomerComments: a contact's customer reads the public
// replies on its ticket, never the internal notes, and writes as itself.
func TestContactCustomerComments(t *testing.T) {
	f := newContactFixture(t)
	var public []string
	for i, v := range []ticketv1.Visibility{
		ticketv1.Visibility_VISIBILITY_PUBLIC, ticketv1.Visibility_VISIBILITY_INTERNAL,
		ticketv1.Visibility_VISIBILITY_INTERNAL, ticketv1.Visibility_VISIBILITY_PUBLIC,
	} {
		resp, err := f.srv.AddComment(as("admin"), &ticketv1.AddCommentRequest{TicketId: f.mine, Comment: &ticketv1.Comment{
			Body: "reply " + string(rune('a'+i)), Visibility: v,
		}})
		if err != nil {
			t.Fatal(err)
		}
		if v == ticketv1.Visibility_VISIBILITY_PUBLIC {
			public = append(public, resp.GetComment().GetId())
		}
	}
	own, err := f.srv.AddComment(as("contact wang"), &ticketv1.AddCommentRequest{TicketId: f.mine, Comment: &ticketv1.Comment{
		Author: "Mallory", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_AGENT, Body: "还是不行",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c := own.GetComment(); c.GetAuthor() != "wang@example.com" || c.GetAuthorType() != ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER ||
		c.GetActor().GetId() != "c-wang" {
		t.Errorf("the customer's comment: author %q %s, actor %v; want wang@example.com, a customer, c-wang", c.GetAuthor(), c.GetAuthorType(), c.GetActor())
	}
	public = append(public, own.GetComment().GetId())
	for _, size := range []int32{1, 2, 50} {
		var got []string
		token := ""
		for {
			resp, err := f.srv.ListComments(as("contact wang"), &ticketv1.ListCommentsRequest{TicketId: f.mine, PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range resp.GetComments() {
				got = append(got, c.GetId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if diff := cmp.Diff(public, got); diff != "" {
			t.Errorf("page size %d: comments (-want +got):\n%s", size, diff)
		}
	}
	if _, err := f.srv.AddComment(as("contact wang"), &ticketv1.AddCommentRequest{TicketId: f.mine, Comment: &ticketv1.Comment{
		Body: "secret", Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL,
	}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a customer's internal note: %v; want InvalidArgument", err)
	}
}

// TestContactCustomerCreatesTicket: the new ticket's requester is the
// customer's contact, whatever the body names.
func TestContactCustomerCreatesTicket(t *testing.T) {
	f := newContactFixture(t)
	resp, err := f.srv.CreateTicket(as("contact wang"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{
		Subject: "新问题", Requester: &ticketv1.Requester{Email: "li@example.com", Name: "Li", ContactId: "c-li", Identity: "wechat:oLi"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := &ticketv1.Requester{Name: "王芳", Email: "wang@example.com", ContactId: "c-wang"}
	if diff := cmp.Diff(want, resp.GetTicket().GetRequester(), protocmp.Transform()); diff != "" {
		t.Errorf("requester (-want +got):\n%s", diff)
	}
	id := resp.GetTicket().GetId()
	if _, err := f.srv.GetTicket(as("contact wang"), &ticketv1.GetTicketRequest{Id: id}); err != nil {
		t.Errorf("the customer cannot read its new ticket: %v", err)
	}
	if _, err := f.srv.GetTicket(as("contact li"), &ticketv1.GetTicketRequest{Id: id}); status.Code(err) != codes.NotFound {
		t.Errorf("the contact named in the body reads it: %v; want NotFound", err)
	}
	listed, err := f.srv.ListTickets(as("admin"), &ticketv1.ListTicketsRequest{Filter: `contact = "c-wang"`})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(listed.GetTickets()); n != 3 {
		t.Errorf("contact c-wang has %d tickets, want 3 (two before, the new one)", n)
	}
}

// TestContactCustomerMayNotWatch: the event stream is every ticket of the
// tenant; a customer is refused it.
func TestContactCustomerMayNotWatch(t *testing.T) {
	client := serveTickets(t, openSQLite(t), principalInterceptors()...)
	ctx, cancel := context.WithTimeout(tenant.Outgoing(context.Background(), "acme"), time.Minute)
	defer cancel()
	stream, err := client.WatchEvents(metadata.AppendToOutgoingContext(ctx, "test-principal", "contact wang"), &ticketv1.WatchEventsRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("WatchEvents as a customer = %v; want PermissionDenied", err)
	}
}
