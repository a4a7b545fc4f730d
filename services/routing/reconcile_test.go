package routing_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/tenant/tenanttest"
	"github.com/kubedesk/kubedesk/services/routing"
	routingstore "github.com/kubedesk/kubedesk/services/routing/store"
	"github.com/kubedesk/kubedesk/services/ticket"
	ticketstore "github.com/kubedesk/kubedesk/services/ticket/store"
)

const acme = "acme"

// ticketsOver is the ticket service as the router calls it, over gRPC.
type ticketsOver struct {
	tickets ticketv1.TicketServiceClient
	routing ticketv1.TicketRoutingServiceClient
}

func (t ticketsOver) GetTicket(ctx context.Context, tenantID, id string) (*ticketv1.Ticket, error) {
	resp, err := t.tickets.GetTicket(tenant.Outgoing(ctx, tenantID), &ticketv1.GetTicketRequest{Id: id})
	return resp.GetTicket(), err
}

func (t ticketsOver) AssignTicket(ctx context.Context, tenantID string, in *ticketv1.AssignTicketRequest) (*ticketv1.AssignTicketResponse, error) {
	return t.routing.AssignTicket(tenant.Outgoing(ctx, tenantID), in)
}

// routerFixture is a router on a SQLite routing store, applying its
// decisions through a ticket service (SQLite) on a loopback listener.
type routerFixture struct {
	r       *routing.Router
	store   routing.Store
	tickets ticketv1.TicketServiceClient
	ctx     context.Context // the tenant's, for the ticket service
}

func newRouterFixture(t *testing.T) routerFixture {
	t.Helper()
	ctx := context.Background()
	ts, err := ticketstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "ticket.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	gs := grpc.NewServer(tenanttest.ServerOptions()...)
	ticket.NewServer(ts, ticket.Config{}, slog.New(slog.DiscardHandler)).Register(gs)
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
	rs, err := routingstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "routing.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	tickets := ticketv1.NewTicketServiceClient(conn)
	return routerFixture{
		r: &routing.Router{Store: rs, Tickets: ticketsOver{tickets, ticketv1.NewTicketRoutingServiceClient(conn)},
			OfflineGrace: time.Hour, Log: slog.New(slog.DiscardHandler)},
		store: rs, tickets: tickets, ctx: tenant.Outgoing(ctx, acme),
	}
}

// create makes a ticket in group and returns its creation event.
func (f routerFixture) create(t *testing.T, group string) *ticketv1.Event {
	t.Helper()
	resp, err := f.tickets.CreateTicket(f.ctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "打印机无法连接", Group: group}})
	if err != nil {
		t.Fatal(err)
	}
	return f.last(t, resp.GetTicket().GetId(), ticketv1.EventType_EVENT_TYPE_TICKET_CREATED)
}

// last is the latest event of the type of the ticket.
func (f routerFixture) last(t *testing.T, id string, typ ticketv1.EventType) *ticketv1.Event {
	t.Helper()
	stream, err := f.tickets.WatchEvents(f.ctx, &ticketv1.WatchEventsRequest{Types: []ticketv1.EventType{typ}})
	if err != nil {
		t.Fatal(err)
	}
	var found *ticketv1.Event
	for {
		r, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if r.GetBookmark() != nil {
			if found == nil {
				t.Fatalf("no %s event of ticket %s", typ, id)
			}
			return found
		}
		if r.GetEvent().GetTicketId() == id {
			found = r.GetEvent()
		}
	}
}

func (f routerFixture) handle(t *testing.T, ev *ticketv1.Event) {
	t.Helper()
	if err := f.r.Handle(context.Background(), ev); err != nil {
		t.Fatalf("Handle(%s of %s): %v", ev.GetType(), ev.GetTicketId(), err)
	}
}

func (f routerFixture) ticket(t *testing.T, id string) *ticketv1.Ticket {
	t.Helper()
	resp, err := f.tickets.GetTicket(f.ctx, &ticketv1.GetTicketRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetTicket()
}

func (f routerFixture) holder(t *testing.T, id string) string {
	t.Helper()
	a, held, err := f.store.Assignment(context.Background(), acme, id)
	if err != nil {
		t.Fatal(err)
	}
	if !held {
		return ""
	}
	return a.Agent
}

func (f routerFixture) load(t *testing.T, agent string) int {
	t.Helper()
	loads, err := f.store.Loads(context.Background(), acme, []string{agent})
	if err != nil {
		t.Fatal(err)
	}
	return loads[agent]["api"]
}

// TestStaleEventKeepsClaim: a ticket's creation event handled again after
// the ticket was claimed (as after a restart, or when the claim overtakes
// the event) shows it unassigned. The claim stands: the claimer keeps the
// ticket in the ledger, and a later claim is refused naming it.
func TestStaleEventKeepsClaim(t *testing.T) {
	f := newRouterFixture(t)
	ctx := context.Background()
	if _, err := f.store.CreateGroup(ctx, routing.Group{Tenant: acme, ID: "grab", DisplayName: "抢单池", Strategy: routing.Pool,
		Members: []string{"u-wang", "u-li"}}); err != nil {
		t.Fatal(err)
	}
	created := f.create(t, "grab")
	f.handle(t, created) // offered
	id := created.GetTicketId()
	if _, err := f.r.Claim(ctx, acme, f.ticket(t, id), routing.User{ID: "u-wang", DisplayName: "王芳"}, false); err != nil {
		t.Fatal(err)
	}
	f.handle(t, created) // again

	if got := f.holder(t, id); got != "u-wang" {
		t.Errorf("the ledger holds the ticket for %q, want u-wang, who claimed it", got)
	}
	if got := f.load(t, "u-wang"); got != 1 {
		t.Errorf("u-wang's load %d, want 1", got)
	}
	_, err := f.r.Claim(ctx, acme, created.GetTicket(), routing.User{ID: "u-li", DisplayName: "Li Lei"}, false)
	if status.Code(err) != codes.Aborted || status.Convert(err).Message() != "ticket #1 was claimed by u-wang" {
		t.Errorf("a later claim from the same stale view: %v, want ABORTED naming u-wang", err)
	}
}

// TestStaleEventKeepsCapacity: a ticket drained from the queue to an
// agent whose capacity is 1, then its creation event (showing it
// unassigned) handled again: the agent still holds it, and the next
// ticket waits rather than going to the agent as a second one.
func TestStaleEventKeepsCapacity(t *testing.T) {
	f := newRouterFixture(t)
	ctx := context.Background()
	if _, err := f.store.CreateGroup(ctx, routing.Group{Tenant: acme, ID: "desk", DisplayName: "Desk", Strategy: routing.RoundRobin,
		Members: []string{"u-wang"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.PutAgentProfile(ctx, routing.Agent{Tenant: acme, ID: "u-wang", Capacity: map[string]int{"api": 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.SetPresence(ctx, acme, "u-wang", routing.Online, time.Now(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	first := f.create(t, "desk")
	f.handle(t, first)
	second := f.create(t, "desk")
	f.handle(t, second) // queued: u-wang is at capacity
	if got := f.holder(t, second.GetTicketId()); got != "" {
		t.Fatalf("the second ticket went to %q, over u-wang's capacity", got)
	}
	// The first is solved; the second goes to u-wang from the queue.
	if _, err := f.tickets.UpdateTicket(f.ctx, &ticketv1.UpdateTicketRequest{
		Ticket: &ticketv1.Ticket{Id: first.GetTicketId(), Status: ticketv1.Status_STATUS_SOLVED},
	}); err != nil {
		t.Fatal(err)
	}
	f.handle(t, f.last(t, first.GetTicketId(), ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED))
	if err := f.r.Drain(ctx, acme); err != nil {
		t.Fatal(err)
	}
	if got := f.ticket(t, second.GetTicketId()).GetAssignee(); got != "u-wang" {
		t.Fatalf("the second ticket's assignee %q, want u-wang once the first is solved", got)
	}

	f.handle(t, second) // again
	third := f.create(t, "desk")
	f.handle(t, third)
	if got := f.load(t, "u-wang"); got != 1 {
		t.Errorf("u-wang's load %d, want 1 (its capacity)", got)
	}
	if got := f.ticket(t, third.GetTicketId()).GetAssignee(); got != "" {
		t.Errorf("the third ticket went to %q while u-wang holds the second, over its capacity of 1", got)
	}
}
