package ticket_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// TestAssignTicketOverGRPC applies a routing decision over a loopback
// listener and watches it come out of the event stream, whole and by
// type.
func TestAssignTicketOverGRPC(t *testing.T) {
	conn := serveServer(t, ticket.NewServer(openSQLite(t), ticket.Config{}, slog.New(slog.DiscardHandler)), principalInterceptors()...)
	tickets := ticketv1.NewTicketServiceClient(conn)
	routing := ticketv1.NewTicketRoutingServiceClient(conn)
	ctx, cancel := context.WithTimeout(tenant.Outgoing(context.Background(), "acme"), time.Minute)
	defer cancel()
	call := func(who string) context.Context { return metadata.AppendToOutgoingContext(ctx, "test-principal", who) }

	created, err := tickets.CreateTicket(call("integration"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "发票开错了"}})
	if err != nil {
		t.Fatal(err)
	}
	decision := &ticketv1.RoutingSummary{Id: "d-1", Trigger: "created", Outcome: "assigned", Group: "billing", Agent: "u-wang",
		Rules: []string{"账单"}, Explanation: "规则“账单”匹配。"}
	req := &ticketv1.AssignTicketRequest{TicketId: created.GetTicket().GetId(), Decision: decision,
		Group: proto.String("billing"), Assignee: proto.String("u-wang"), ExpectAssignee: proto.String("")}

	for _, who := range []string{"agent", "supervisor", "admin", "integration"} {
		if _, err := routing.AssignTicket(call(who), req); status.Code(err) != codes.PermissionDenied {
			t.Errorf("AssignTicket as %s = %v, want PERMISSION_DENIED", who, err)
		}
	}
	resp, err := routing.AssignTicket(call("service"), req)
	if err != nil || !resp.GetApplied() || resp.GetTicket().GetAssignee() != "u-wang" {
		t.Fatalf("AssignTicket as the service = applied %v, assignee %q, %v", resp.GetApplied(), resp.GetTicket().GetAssignee(), err)
	}

	watch := func(types ...ticketv1.EventType) []*ticketv1.Event {
		t.Helper()
		stream, err := tickets.WatchEvents(call("supervisor"), &ticketv1.WatchEventsRequest{Types: types})
		if err != nil {
			t.Fatal(err)
		}
		var out []*ticketv1.Event
		for {
			r, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if r.GetBookmark() != nil {
				return out
			}
			out = append(out, r.GetEvent())
		}
	}
	typesOf := func(es []*ticketv1.Event) []ticketv1.EventType {
		var out []ticketv1.EventType
		for _, e := range es {
			out = append(out, e.GetType())
		}
		return out
	}
	all := watch()
	if got := typesOf(all); len(got) != 3 || got[1] != ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED || got[2] != ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED {
		t.Fatalf("events %v, want created, updated, routing assigned", got)
	}
	for _, e := range all[1:] {
		if !proto.Equal(e.GetRouting(), decision) || e.GetTicket().GetAssignee() != "u-wang" {
			t.Errorf("%s: routing %v, assignee %q; want the decision and u-wang", e.GetType(), e.GetRouting(), e.GetTicket().GetAssignee())
		}
	}
	if all[0].GetRouting() != nil {
		t.Errorf("the create carries routing %v", all[0].GetRouting())
	}
	only := watch(ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED)
	if len(only) != 1 || !proto.Equal(only[0], all[2]) {
		t.Errorf("types [ROUTING_ASSIGNED] sent %v, want the routing event alone", typesOf(only))
	}
	updates := watch(ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED, ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED)
	if len(updates) != 1 || !proto.Equal(updates[0], all[1]) {
		t.Errorf("types [TICKET_UPDATED, COMMENT_ADDED] sent %v, want the update alone", typesOf(updates))
	}
}
