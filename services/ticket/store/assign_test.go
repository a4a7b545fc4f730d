package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// assignFixture is the ticket service over a store of each engine, with
// the routing service's context and a way to make tickets.
type assignFixture struct {
	s       ticket.Store
	srv     *ticket.Server
	routing ticketv1.TicketRoutingServiceServer
	ctx     context.Context // tenant acme, the routing service's principal
}

func newAssignFixture(s ticket.Store) *assignFixture {
	srv := ticket.NewServer(s, ticket.Config{}, slog.New(slog.DiscardHandler))
	f := &assignFixture{s: s, srv: srv, ctx: auth.With(tenant.With(ctx, "acme"), routingService)}
	f.routing = routingServerOf(srv)
	return f
}

// routingServerOf is the server's TicketRoutingService, as Register
// registers it.
func routingServerOf(srv *ticket.Server) ticketv1.TicketRoutingServiceServer {
	var r registrar
	srv.Register(&r)
	return r.routing
}

type registrar struct {
	routing ticketv1.TicketRoutingServiceServer
}

func (r *registrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	if desc.ServiceName == ticketv1.TicketRoutingService_ServiceDesc.ServiceName {
		r.routing = impl.(ticketv1.TicketRoutingServiceServer)
	}
}

// newTicket creates a ticket through the API, then sets what the API does
// not create with (status solved, say) through the store.
func (f *assignFixture) newTicket(t *testing.T, in *ticketv1.Ticket) *ticketv1.Ticket {
	t.Helper()
	resp, err := f.srv.CreateTicket(tenant.With(ctx, "acme"), &ticketv1.CreateTicketRequest{Ticket: in})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetTicket()
}

func (f *assignFixture) events(t *testing.T) []*ticketv1.Event {
	t.Helper()
	var out []*ticketv1.Event
	for _, e := range allEvents(t, f.s, "acme") {
		out = append(out, ticket.EventToProto(e))
	}
	return out
}

func summary(id string) *ticketv1.RoutingSummary {
	return &ticketv1.RoutingSummary{Id: id, Trigger: "created", Outcome: "assigned", Group: "billing", Agent: "u-wang",
		Rules: []string{"账单"}, Explanation: "规则“账单”匹配：主题含“发票”；王伟在线且有空闲容量。"}
}

func TestAssignTicket(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		f := newAssignFixture(s)
		empty, billing, wang := proto.String(""), proto.String("billing"), proto.String("u-wang")

		t.Run("the decision, its changes and its events", func(t *testing.T) {
			tk := f.newTicket(t, &ticketv1.Ticket{Subject: "发票开错了", Impact: 2, Urgency: 3, Tags: []string{"vip"},
				CustomFields: map[string]string{"customer_tier": "gold", "inbound_address": "billing@acme.test"}})
			n := len(f.events(t))
			req := &ticketv1.AssignTicketRequest{
				TicketId: tk.GetId(), Decision: summary("d-1"), Group: billing, Assignee: wang,
				ExpectAssignee: empty, ExpectGroup: empty,
				AddTags:         []string{"vip", "billing", " 账单 "},
				PriorityAtLeast: ticketv1.Priority_PRIORITY_P2,
				SetCustomFields: map[string]string{"customer_tier": "platinum", "routed_by": "账单"},
				Note:            "转给账单组：主题含“发票”。",
			}
			resp, err := f.routing.AssignTicket(f.ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			got := resp.GetTicket()
			if !resp.GetApplied() || got.GetGroup() != "billing" || got.GetAssignee() != "u-wang" ||
				got.GetEtag() != "v2" || got.GetUrgency() != 1 || got.GetImpact() != 2 || got.GetPriority() != ticketv1.Priority_PRIORITY_P2 {
				t.Errorf("AssignTicket = applied %v, group %q, assignee %q, etag %s, impact %d urgency %d %s; want applied, billing, u-wang, v2, 2 1 PRIORITY_P2",
					resp.GetApplied(), got.GetGroup(), got.GetAssignee(), got.GetEtag(), got.GetImpact(), got.GetUrgency(), got.GetPriority())
			}
			if diff := cmp.Diff([]string{"vip", "billing", "账单"}, got.GetTags()); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			wantFields := map[string]string{"customer_tier": "platinum", "inbound_address": "billing@acme.test", "routed_by": "账单"}
			if diff := cmp.Diff(wantFields, got.GetCustomFields()); diff != "" {
				t.Errorf("custom fields (-want +got):\n%s", diff)
			}

			events := f.events(t)[n:]
			if len(events) != 2 {
				t.Fatalf("%d events, want 2 (ticket updated, routing assigned)", len(events))
			}
			str := structpb.NewStringValue
			num := structpb.NewNumberValue
			list := func(vs ...string) *structpb.Value {
				l := &structpb.ListValue{}
				for _, v := range vs {
					l.Values = append(l.Values, str(v))
				}
				return structpb.NewListValue(l)
			}
			obj := func(m map[string]string) *structpb.Value {
				fs := map[string]*structpb.Value{}
				for k, v := range m {
					fs[k] = str(v)
				}
				return structpb.NewStructValue(&structpb.Struct{Fields: fs})
			}
			actor := &iamv1.Actor{Id: "service:routing", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE, DisplayName: "routing"}
			updated := &ticketv1.Event{
				Type: ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED, TicketId: tk.GetId(), Ticket: got, Actor: actor, Routing: req.GetDecision(),
				Changes: []*ticketv1.FieldChange{
					{Field: "group", NewValue: "billing", Before: str(""), After: str("billing")},
					{Field: "assignee", NewValue: "u-wang", Before: str(""), After: str("u-wang")},
					{Field: "tags", OldValue: "vip", NewValue: "vip,billing,账单", Before: list("vip"), After: list("vip", "billing", "账单")},
					{Field: "custom_fields", OldValue: "customer_tier=gold,inbound_address=billing@acme.test",
						NewValue: "customer_tier=platinum,inbound_address=billing@acme.test,routed_by=账单",
						Before:   obj(map[string]string{"customer_tier": "gold", "inbound_address": "billing@acme.test"}), After: obj(wantFields)},
					{Field: "urgency", OldValue: "3", NewValue: "1", Before: num(3), After: num(1)},
					{Field: "priority", OldValue: "P4", NewValue: "P2", Before: num(4), After: num(2)},
				},
			}
			assigned := &ticketv1.Event{
				Type: ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED, TicketId: tk.GetId(), Ticket: got, Actor: actor, Routing: req.GetDecision(),
				Comment: &ticketv1.Comment{TicketId: tk.GetId(), Author: "routing", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_SYSTEM,
					Body: req.GetNote(), Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL, Actor: actor},
			}
			ignore := protocmp.IgnoreFields(&ticketv1.Event{}, "cursor", "create_time")
			ignoreComment := protocmp.IgnoreFields(&ticketv1.Comment{}, "id", "create_time")
			for i, want := range []*ticketv1.Event{updated, assigned} {
				if diff := cmp.Diff(want, events[i], protocmp.Transform(), ignore, ignoreComment); diff != "" {
					t.Errorf("event %d (-want +got):\n%s", i, diff)
				}
			}
			// The note is a comment of the ticket, for agents only.
			comments, err := f.srv.ListComments(tenant.With(ctx, "acme"), &ticketv1.ListCommentsRequest{TicketId: tk.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			if c := comments.GetComments(); len(c) != 1 || !proto.Equal(c[0], events[1].GetComment()) {
				t.Errorf("comments %v, want the note as the event has it: %v", c, events[1].GetComment())
			}

			t.Run("applied once", func(t *testing.T) {
				for range 2 {
					again, err := f.routing.AssignTicket(f.ctx, req)
					if err != nil {
						t.Fatal(err)
					}
					if again.GetApplied() || !proto.Equal(again.GetTicket(), got) {
						t.Errorf("a repeat = applied %v, ticket etag %s; want not applied, the ticket as it is (v2)", again.GetApplied(), again.GetTicket().GetEtag())
					}
				}
				if m := len(f.events(t)); m != n+2 {
					t.Errorf("%d events after the repeats, want %d: one pair", m, n+2)
				}
			})
		})

		t.Run("a decision that only queues", func(t *testing.T) {
			tk := f.newTicket(t, &ticketv1.Ticket{Subject: "printer", Group: "it"})
			n := len(f.events(t))
			d := summary("d-queued")
			d.Outcome, d.Group, d.Agent = "queued", "it", ""
			for i := range 2 {
				resp, err := f.routing.AssignTicket(f.ctx, &ticketv1.AssignTicketRequest{TicketId: tk.GetId(), Decision: d, ExpectAssignee: empty})
				if err != nil || resp.GetApplied() != (i == 0) || resp.GetTicket().GetEtag() != "v1" {
					t.Fatalf("call %d: applied %v etag %s, %v; want applied %v, v1", i, resp.GetApplied(), resp.GetTicket().GetEtag(), err, i == 0)
				}
			}
			events := f.events(t)[n:]
			if len(events) != 1 || events[0].GetType() != ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED ||
				!proto.Equal(events[0].GetRouting(), d) || events[0].GetTicket().GetEtag() != "v1" {
				t.Errorf("events %v; want one EVENT_TYPE_ROUTING_ASSIGNED with the decision and the ticket at v1", events)
			}
		})

		t.Run("the priority floor raises urgency, then impact", func(t *testing.T) {
			for _, tt := range []struct {
				impact, urgency int32
				floor           ticketv1.Priority
				wantImpact      int32
				wantUrgency     int32
				want            ticketv1.Priority
			}{
				{3, 3, ticketv1.Priority_PRIORITY_P3, 3, 1, ticketv1.Priority_PRIORITY_P3},
				{3, 3, ticketv1.Priority_PRIORITY_P2, 2, 1, ticketv1.Priority_PRIORITY_P2},
				{3, 2, ticketv1.Priority_PRIORITY_P1, 1, 1, ticketv1.Priority_PRIORITY_P1},
				{1, 3, ticketv1.Priority_PRIORITY_P2, 1, 2, ticketv1.Priority_PRIORITY_P2},
				{2, 2, ticketv1.Priority_PRIORITY_P4, 2, 2, ticketv1.Priority_PRIORITY_P3}, // above the floor: kept
			} {
				name := fmt.Sprintf("impact %d urgency %d to %s", tt.impact, tt.urgency, tt.floor)
				tk := f.newTicket(t, &ticketv1.Ticket{Subject: name, Impact: tt.impact, Urgency: tt.urgency})
				resp, err := f.routing.AssignTicket(f.ctx, &ticketv1.AssignTicketRequest{TicketId: tk.GetId(), Decision: summary("floor " + name), PriorityAtLeast: tt.floor})
				if err != nil {
					t.Fatal(err)
				}
				got := resp.GetTicket()
				if got.GetImpact() != tt.wantImpact || got.GetUrgency() != tt.wantUrgency || got.GetPriority() != tt.want {
					t.Errorf("%s: impact %d urgency %d %s; want %d %d %s", name, got.GetImpact(), got.GetUrgency(), got.GetPriority(), tt.wantImpact, tt.wantUrgency, tt.want)
				}
			}
		})

		t.Run("refusals name what is wrong and write nothing", func(t *testing.T) {
			assigned := f.newTicket(t, &ticketv1.Ticket{Subject: "taken", Group: "billing", Assignee: "u-wang"})
			solved := f.newTicket(t, &ticketv1.Ticket{Subject: "done", Status: ticketv1.Status_STATUS_SOLVED})
			closed := f.newTicket(t, &ticketv1.Ticket{Subject: "closed", Status: ticketv1.Status_STATUS_SOLVED})
			if _, err := s.UpdateTicket(ctx, "acme", closed.GetId(), func(t *ticket.Ticket) ([]ticket.Change, error) {
				t.Status = ticket.StatusClosed
				return []ticket.Change{{Field: "status", Old: ticket.StatusSolved, New: ticket.StatusClosed}}, nil
			}); err != nil {
				t.Fatal(err)
			}
			used := f.newTicket(t, &ticketv1.Ticket{Subject: "used"})
			if _, err := f.routing.AssignTicket(f.ctx, &ticketv1.AssignTicketRequest{TicketId: used.GetId(), Decision: summary("d-used")}); err != nil {
				t.Fatal(err)
			}
			n := len(f.events(t))
			for _, tt := range []struct {
				name string
				ctx  context.Context
				req  *ticketv1.AssignTicketRequest
				code codes.Code
				msg  string
			}{
				{"assignee moved", f.ctx, &ticketv1.AssignTicketRequest{TicketId: assigned.GetId(), Decision: summary("d-a"), Assignee: proto.String("u-li"), ExpectAssignee: empty},
					codes.Aborted, fmt.Sprintf(`ticket %s: assignee is "u-wang" now, not ""`, assigned.GetId())},
				{"group moved", f.ctx, &ticketv1.AssignTicketRequest{TicketId: assigned.GetId(), Decision: summary("d-g"), Group: proto.String("it"), ExpectGroup: proto.String("it")},
					codes.Aborted, fmt.Sprintf(`ticket %s: group is "billing" now, not "it"`, assigned.GetId())},
				{"solved", f.ctx, &ticketv1.AssignTicketRequest{TicketId: solved.GetId(), Decision: summary("d-s"), Assignee: wang},
					codes.FailedPrecondition, fmt.Sprintf(`ticket %s: status is "solved"; routing applies to new, open, pending and on_hold tickets only`, solved.GetId())},
				{"closed", f.ctx, &ticketv1.AssignTicketRequest{TicketId: closed.GetId(), Decision: summary("d-c"), Assignee: wang, ExpectAssignee: proto.String("someone")},
					codes.FailedPrecondition, fmt.Sprintf(`ticket %s: status is "closed"; routing applies to new, open, pending and on_hold tickets only`, closed.GetId())},
				{"another tenant's ticket", auth.With(tenant.With(ctx, "globex"), routingService), &ticketv1.AssignTicketRequest{TicketId: assigned.GetId(), Decision: summary("d-t"), Assignee: wang},
					codes.NotFound, fmt.Sprintf(`ticket %q not found`, assigned.GetId())},
				{"unknown ticket", f.ctx, &ticketv1.AssignTicketRequest{TicketId: "01900000-0000-7000-8000-00000000dead", Decision: summary("d-u")},
					codes.NotFound, `ticket "01900000-0000-7000-8000-00000000dead" not found`},
				{"a decision reused", f.ctx, &ticketv1.AssignTicketRequest{TicketId: assigned.GetId(), Decision: summary("d-used")},
					codes.InvalidArgument, `decision.id: "d-used" was applied to another ticket; accepted: a new ID for each decision`},
				{"no decision", f.ctx, &ticketv1.AssignTicketRequest{TicketId: assigned.GetId()},
					codes.InvalidArgument, "decision.id: is required; accepted: the routing decision's ID"},
				{"no ticket", f.ctx, &ticketv1.AssignTicketRequest{Decision: summary("d-n")},
					codes.InvalidArgument, "ticket_id: is required"},
				{"unknown priority", f.ctx, &ticketv1.AssignTicketRequest{TicketId: assigned.GetId(), Decision: summary("d-p"), PriorityAtLeast: 9},
					codes.InvalidArgument, "priority_at_least: 9 is not a priority; accepted: PRIORITY_P1 to PRIORITY_P5, or unset for no floor"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					_, err := f.routing.AssignTicket(tt.ctx, tt.req)
					if st := status.Convert(err); st.Code() != tt.code || st.Message() != tt.msg {
						t.Errorf("AssignTicket = %v %q\nwant %v %q", st.Code(), st.Message(), tt.code, tt.msg)
					}
				})
			}
			if m := len(f.events(t)); m != n {
				t.Errorf("the refused calls wrote %d events", m-n)
			}
			// A refused decision is not recorded: made again from the
			// ticket as it is, it applies.
			resp, err := f.routing.AssignTicket(f.ctx, &ticketv1.AssignTicketRequest{TicketId: assigned.GetId(), Decision: summary("d-a"),
				Assignee: proto.String("u-li"), ExpectAssignee: wang})
			if err != nil || !resp.GetApplied() || resp.GetTicket().GetAssignee() != "u-li" {
				t.Errorf("the decision made again: applied %v, assignee %q, %v; want applied, u-li", resp.GetApplied(), resp.GetTicket().GetAssignee(), err)
			}
		})

		t.Run("only kubedesk's modules", func(t *testing.T) {
			tk := f.newTicket(t, &ticketv1.Ticket{Subject: "mine"})
			admin := &iamv1.Principal{Id: "u-admin", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, Tenant: "acme", Roles: []iamv1.Role{iamv1.Role_ROLE_ADMIN}}
			_, err := f.routing.AssignTicket(auth.With(tenant.With(ctx, "acme"), admin), &ticketv1.AssignTicketRequest{TicketId: tk.GetId(), Decision: summary("d-admin"), Assignee: wang})
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("AssignTicket as an admin = %v, want PERMISSION_DENIED", err)
			}
		})

		t.Run("concurrent decisions: one wins, the rest are aborted", func(t *testing.T) {
			tk := f.newTicket(t, &ticketv1.Ticket{Subject: "抢单", Group: "pool"})
			n := len(f.events(t))
			const callers = 20
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				winners  []string
				messages []string
			)
			for i := range callers {
				wg.Go(func() {
					agent := fmt.Sprintf("agent-%02d", i)
					resp, err := f.routing.AssignTicket(f.ctx, &ticketv1.AssignTicketRequest{TicketId: tk.GetId(),
						Decision: summary("claim-" + agent), Assignee: proto.String(agent), ExpectAssignee: empty})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil && resp.GetApplied():
						winners = append(winners, agent)
					case status.Code(err) == codes.Aborted:
						messages = append(messages, status.Convert(err).Message())
					default:
						t.Errorf("%s: applied %v, %v; want applied or ABORTED", agent, resp.GetApplied(), err)
					}
				})
			}
			wg.Wait()
			if len(winners) != 1 {
				t.Fatalf("winners %v, want exactly one", winners)
			}
			want := fmt.Sprintf(`ticket %s: assignee is %q now, not ""`, tk.GetId(), winners[0])
			for _, m := range messages {
				if m != want {
					t.Errorf("a loser got %q, want %q", m, want)
				}
			}
			if len(messages) != callers-1 {
				t.Errorf("%d aborted, want %d", len(messages), callers-1)
			}
			if m := len(f.events(t)); m != n+2 {
				t.Errorf("%d events, want %d: one pair", m-n, 2)
			}
		})
	})
}
