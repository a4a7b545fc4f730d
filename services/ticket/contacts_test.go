package ticket_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// addressBook is the contact side as the ticket service sees it: one
// contact per address and tenant, or the error a test makes it fail with.
type addressBook struct {
	mu    sync.Mutex
	ids   map[string]string // tenant/address -> contact ID
	calls []string          // tenant/address/name of every call
	fail  error
}

func (b *addressBook) ContactOf(ctx context.Context, email, name string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := tenant.From(ctx) + "/" + strings.ToLower(email)
	b.calls = append(b.calls, key+"/"+name)
	if b.fail != nil {
		return "", b.fail
	}
	if id, ok := b.ids[key]; ok {
		return id, nil
	}
	id := "c-" + string(rune('a'+len(b.ids)))
	b.ids[key] = id
	return id, nil
}

func (b *addressBook) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	calls := b.calls
	b.calls = nil
	return calls
}

// TestRequesterContacts: a ticket that names its requester by e-mail
// address alone gets that address's contact, on create and on a change
// of requester; a contact that cannot be found writes nothing.
func TestRequesterContacts(t *testing.T) {
	book := &addressBook{ids: map[string]string{}}
	st := openSQLite(t)
	conn := serveServer(t, ticket.NewServer(st, ticket.Config{}, slog.New(slog.DiscardHandler), ticket.WithContacts(book)), principalInterceptors()...)
	client := ticketv1.NewTicketServiceClient(conn)
	ctx, cancel := context.WithTimeout(tenant.Outgoing(context.Background(), "acme"), time.Minute)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "test-principal", "service")

	create := []struct {
		name      string
		requester *ticketv1.Requester
		fail      error
		code      codes.Code
		msg       string   // part of the error message
		contact   string   // the created ticket's requester contact
		calls     []string // the lookups made
	}{
		{name: "an address becomes its contact", requester: &ticketv1.Requester{Name: "李雷", Email: "li.lei@example.com"},
			contact: "c-a", calls: []string{"acme/li.lei@example.com/李雷"}},
		{name: "the same address in other case is the same contact", requester: &ticketv1.Requester{Email: "Li.Lei@Example.com"},
			contact: "c-a", calls: []string{"acme/li.lei@example.com/"}},
		{name: "a contact named by the caller is kept", requester: &ticketv1.Requester{Email: "li.lei@example.com", ContactId: "c-own"},
			contact: "c-own"},
		{name: "no address, no lookup", requester: &ticketv1.Requester{Identity: "wechat:oAbC"}},
		{name: "no requester, no lookup"},
		{name: "an address the contacts refuse names the field", requester: &ticketv1.Requester{Email: "x@example.com"},
			fail: status.Error(codes.InvalidArgument, "identity.value: not an e-mail address"),
			code: codes.InvalidArgument, msg: `ticket.requester.email: "x@example.com": identity.value`, calls: []string{"acme/x@example.com/"}},
		{name: "contacts unreachable: nothing is written", requester: &ticketv1.Requester{Email: "y@example.com"},
			fail: status.Error(codes.Unavailable, "connection refused"),
			code: codes.Unavailable, msg: "nothing was written, retry", calls: []string{"acme/y@example.com/"}},
	}
	for _, tt := range create {
		t.Run("create/"+tt.name, func(t *testing.T) {
			book.fail = tt.fail
			defer func() { book.fail = nil }()
			subject := "subject " + tt.name
			resp, err := client.CreateTicket(ctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: subject, Requester: tt.requester}})
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %v, want %v (%v)", got, tt.code, err)
			}
			if calls := book.take(); strings.Join(calls, ",") != strings.Join(tt.calls, ",") {
				t.Errorf("lookups %q, want %q", calls, tt.calls)
			}
			if err != nil {
				if !strings.Contains(status.Convert(err).Message(), tt.msg) {
					t.Errorf("message %q, want it to contain %q", status.Convert(err).Message(), tt.msg)
				}
				list, lerr := st.ListTickets(context.Background(), "acme", ticket.ListQuery{Limit: 100})
				if lerr != nil {
					t.Fatal(lerr)
				}
				for _, tk := range list {
					if tk.Subject == subject {
						t.Errorf("a refused create wrote ticket %s", tk.ID)
					}
				}
				return
			}
			if got := resp.GetTicket().GetRequester().GetContactId(); got != tt.contact {
				t.Errorf("contact %q, want %q", got, tt.contact)
			}
			if got := resp.GetTicket().GetVersion(); got != 1 {
				t.Errorf("version %d after create, want 1 (If-Match \"v1\" must hold)", got)
			}
		})
	}

	t.Run("update/a new requester by address gets its contact", func(t *testing.T) {
		created, err := client.CreateTicket(ctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "moved"}})
		if err != nil {
			t.Fatal(err)
		}
		book.take()
		updated, err := client.UpdateTicket(ctx, &ticketv1.UpdateTicketRequest{
			Ticket:     &ticketv1.Ticket{Id: created.GetTicket().GetId(), Requester: &ticketv1.Requester{Name: "Han Meimei", Email: "han@example.com"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"requester"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := updated.GetTicket().GetRequester().GetContactId(); got == "" || got == "c-a" {
			t.Errorf("contact %q, want a new one", got)
		}
		if calls := book.take(); len(calls) != 1 || calls[0] != "acme/han@example.com/Han Meimei" {
			t.Errorf("lookups %q", calls)
		}
	})
	t.Run("update/other fields look nothing up", func(t *testing.T) {
		created, err := client.CreateTicket(ctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "s", Requester: &ticketv1.Requester{Email: "li.lei@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		book.take()
		if _, err := client.UpdateTicket(ctx, &ticketv1.UpdateTicketRequest{
			Ticket:     &ticketv1.Ticket{Id: created.GetTicket().GetId(), Subject: "s2"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"subject"}},
		}); err != nil {
			t.Fatal(err)
		}
		if calls := book.take(); len(calls) != 0 {
			t.Errorf("lookups %q, want none", calls)
		}
	})
	t.Run("update/contacts unreachable: the ticket is unchanged", func(t *testing.T) {
		created, err := client.CreateTicket(ctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "kept"}})
		if err != nil {
			t.Fatal(err)
		}
		book.fail = status.Error(codes.Unavailable, "down")
		defer func() { book.fail = nil }()
		_, err = client.UpdateTicket(ctx, &ticketv1.UpdateTicketRequest{
			Ticket:     &ticketv1.Ticket{Id: created.GetTicket().GetId(), Requester: &ticketv1.Requester{Email: "z@example.com"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"requester"}},
		})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("got %v, want UNAVAILABLE", err)
		}
		got, err := client.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: created.GetTicket().GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if got.GetTicket().GetVersion() != created.GetTicket().GetVersion() || got.GetTicket().GetRequester().GetEmail() != "" {
			t.Errorf("the ticket changed: %v", got.GetTicket())
		}
	})
}

// TestChosenID: a caller may name the new ticket's ID; an ID the tenant
// has is ALREADY_EXISTS, and a retry with the same request ID returns the
// first ticket whatever ID it names.
func TestChosenID(t *testing.T) {
	client := serveTickets(t, openSQLite(t))
	ctx, cancel := context.WithTimeout(tenant.Outgoing(context.Background(), "acme"), time.Minute)
	defer cancel()
	const id, other = "01936f3e-8b7a-7c4d-9e2f-0123456789ab", "01936f3e-8b7a-7c4d-9e2f-0123456789ac"
	created, err := client.CreateTicket(ctx, &ticketv1.CreateTicketRequest{TicketId: strings.ToUpper(id), RequestId: "k1", Ticket: &ticketv1.Ticket{Subject: "chosen"}})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetTicket().GetId() != id {
		t.Fatalf("id %q, want %q", created.GetTicket().GetId(), id)
	}
	if _, err := client.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	_, err = client.CreateTicket(ctx, &ticketv1.CreateTicketRequest{TicketId: id, Ticket: &ticketv1.Ticket{Subject: "again"}})
	if status.Code(err) != codes.AlreadyExists || !strings.Contains(err.Error(), "ticket_id") {
		t.Fatalf("the same ID again = %v, want ALREADY_EXISTS naming ticket_id", err)
	}
	retry, err := client.CreateTicket(ctx, &ticketv1.CreateTicketRequest{TicketId: other, RequestId: "k1", Ticket: &ticketv1.Ticket{Subject: "chosen"}})
	if err != nil || retry.GetTicket().GetId() != id {
		t.Fatalf("a retry naming another ID = %v, %v; want the first ticket", retry.GetTicket().GetId(), err)
	}
	if _, err := client.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: other}); status.Code(err) != codes.NotFound {
		t.Errorf("the retry's ID = %v, want NOT_FOUND (nothing created)", err)
	}
}
