package relay

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/ticket"
	"github.com/kubedesk/kubedesk/workflows/escalation"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

func TestSignals(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tk := &ticketv1.Ticket{Version: 7, Priority: ticketv1.Priority_PRIORITY_P1, Status: ticketv1.Status_STATUS_OPEN}
	event := func(typ ticketv1.EventType, c *ticketv1.Comment, changes ...*ticketv1.FieldChange) *ticketv1.Event {
		return &ticketv1.Event{Type: typ, Ticket: tk, Comment: c, Changes: changes, CreateTime: timestamppb.New(at)}
	}
	change := func(field string, from, to any) *ticketv1.FieldChange {
		return ticket.ChangeToProto(ticket.Change{Field: field, Old: from, New: to})
	}
	agent := &ticketv1.Comment{AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_AGENT, Visibility: ticketv1.Visibility_VISIBILITY_PUBLIC}
	note := &ticketv1.Comment{AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_AGENT, Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL}
	customer := &ticketv1.Comment{AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER}
	system := &ticketv1.Comment{AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_SYSTEM, Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL}
	routed := func(ev *ticketv1.Event) *ticketv1.Event {
		ev.Routing = &ticketv1.RoutingSummary{Id: "d-1", Trigger: "created", Outcome: "assigned", Group: "billing", Agent: "u-wang"}
		return ev
	}
	sig := func(part int, e escalation.TicketEvent) escalation.TicketEvent {
		e.At, e.Version, e.Part = at, 7, part
		return e
	}
	for _, tc := range []struct {
		name string
		ev   *ticketv1.Event
		want []escalation.TicketEvent
	}{
		{"created signals nothing", event(ticketv1.EventType_EVENT_TYPE_TICKET_CREATED, nil), nil},
		{"public agent reply that opens the ticket",
			event(ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED, agent, change("status", ticket.StatusNew, ticket.StatusOpen)),
			[]escalation.TicketEvent{sig(0, escalation.TicketEvent{Kind: escalation.EventAgentReply}), sig(1, escalation.TicketEvent{Kind: escalation.EventStatusChange, Status: "open"})}},
		{"internal note is no reply", event(ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED, note), nil},
		{"system note is no reply", event(ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED, system), nil},
		{"customer reply that reopens",
			event(ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED, customer, change("status", ticket.StatusPending, ticket.StatusOpen)),
			[]escalation.TicketEvent{sig(0, escalation.TicketEvent{Kind: escalation.EventCustomerReply}), sig(1, escalation.TicketEvent{Kind: escalation.EventStatusChange, Status: "open"})}},
		{"update: status, urgency and priority, group (no clock moves), subject",
			event(ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED, nil,
				change("subject", "a", "b"), change("status", ticket.StatusOpen, ticket.StatusOnHold), change("urgency", 2, 1),
				change("group", "support", "escalation"), change("priority", ticket.P2, ticket.P1)),
			[]escalation.TicketEvent{
				sig(0, escalation.TicketEvent{Kind: escalation.EventStatusChange, Status: "on_hold"}),
				sig(1, escalation.TicketEvent{Kind: escalation.EventPriorityChange, Priority: 1}),
			}},
		{"sla change signals nothing", event(ticketv1.EventType_EVENT_TYPE_SLA_CHANGED, nil, change("sla.first_response", ticket.SLAOK, ticket.SLAWarning)), nil},
		{"a routing decision's update signals as any update", routed(event(ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED, nil,
			change("group", "", "billing"), change("assignee", "", "u-wang"), change("urgency", 2, 1), change("priority", ticket.P3, ticket.P1))),
			[]escalation.TicketEvent{sig(0, escalation.TicketEvent{Kind: escalation.EventPriorityChange, Priority: 1})}},
		{"the routing decision itself signals nothing", routed(event(ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED, note)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Signals(tc.ev)); diff != "" {
				t.Errorf("Signals (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatchTicket(t *testing.T) {
	got := MatchTicket("acme", &ticketv1.Ticket{
		Priority: ticketv1.Priority_PRIORITY_P2, Channel: ticketv1.Channel_CHANNEL_WECHAT, Group: "billing",
		Tags: []string{"vip"}, CustomFields: map[string]string{CustomerTierField: "gold"},
	})
	want := policy.Ticket{Tenant: "acme", Priority: 2, Channel: "wechat", CustomerTier: "gold", Group: "billing", Tags: []string{"vip"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MatchTicket (-want +got):\n%s", diff)
	}
}

func TestBefore(t *testing.T) {
	after := &ticketv1.Ticket{
		Version: 4, Priority: ticketv1.Priority_PRIORITY_P1, Channel: ticketv1.Channel_CHANNEL_EMAIL, Group: "escalation",
		Tags: []string{"vip"}, CustomFields: map[string]string{CustomerTierField: "gold", "region": "华东"},
	}
	change := func(field string, from, to any) *ticketv1.FieldChange {
		return ticket.ChangeToProto(ticket.Change{Field: field, Old: from, New: to})
	}
	gold := map[string]string{CustomerTierField: "gold", "region": "华东"}
	for _, tc := range []struct {
		name    string
		changes []*ticketv1.FieldChange
		want    policy.Ticket // the match view of the ticket before
		wantOK  bool
	}{
		{"no change that matching sees", []*ticketv1.FieldChange{change("subject", "a", "b")},
			MatchTicket("acme", after), true},
		{"priority, channel and group",
			[]*ticketv1.FieldChange{change("urgency", 2, 1), change("priority", ticket.P2, ticket.P1), change("channel", ticket.ChannelWeb, ticket.ChannelEmail), change("group", "support", "escalation")},
			policy.Ticket{Tenant: "acme", Priority: 2, Channel: "web", CustomerTier: "gold", Group: "support", Tags: []string{"vip"}}, true},
		{"customer tier set", []*ticketv1.FieldChange{change("custom_fields", map[string]string{"region": "华东"}, gold)},
			policy.Ticket{Tenant: "acme", Priority: 1, Channel: "email", Group: "escalation", Tags: []string{"vip"}}, true},
		{"customer tier changed", []*ticketv1.FieldChange{change("custom_fields", map[string]string{CustomerTierField: "silver", "region": "华东"}, gold)},
			policy.Ticket{Tenant: "acme", Priority: 1, Channel: "email", CustomerTier: "silver", Group: "escalation", Tags: []string{"vip"}}, true},
		{"custom fields with a comma and an equals sign", []*ticketv1.FieldChange{change("custom_fields", map[string]string{CustomerTierField: "vip", "note": "a,b=c"}, gold)},
			policy.Ticket{Tenant: "acme", Priority: 1, Channel: "email", CustomerTier: "vip", Group: "escalation", Tags: []string{"vip"}}, true},
		{"tags, one with a comma", []*ticketv1.FieldChange{change("tags", []string{"a,b", "c"}, []string{"vip"})},
			policy.Ticket{Tenant: "acme", Priority: 1, Channel: "email", CustomerTier: "gold", Group: "escalation", Tags: []string{"a,b", "c"}}, true},
		{"an old event whose old tags were not read back: cannot tell", []*ticketv1.FieldChange{change("tags", ticket.Unparsed("a,b"), []string{"vip"})}, policy.Ticket{}, false},
		{"a priority it does not know: cannot tell", []*ticketv1.FieldChange{change("priority", ticket.Priority(0), ticket.P1)}, policy.Ticket{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, ok := Before(&ticketv1.Event{Type: ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED, Ticket: after, Changes: tc.changes})
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(tc.want, MatchTicket("acme", old)); diff != "" {
				t.Errorf("before (-want +got):\n%s", diff)
			}
			if after.GetGroup() != "escalation" || after.GetPriority() != ticketv1.Priority_PRIORITY_P1 {
				t.Errorf("Before changed the event's ticket: %v", after)
			}
		})
	}
}

func TestChangedForRunning(t *testing.T) {
	compile := func(name, firstResponse string, applyToRunning bool) *policy.Policy {
		doc := v1alpha1.SLAPolicy{}
		doc.Name = name
		doc.Spec.TenantRef.Name = "acme"
		doc.Spec.ApplyToRunning = applyToRunning
		d, err := time.ParseDuration(firstResponse)
		if err != nil {
			t.Fatal(err)
		}
		doc.Spec.Targets = []v1alpha1.SLATarget{{Priority: "P1", FirstResponse: &metav1.Duration{Duration: d}}}
		p, err := policy.Compile(doc)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	prev := policy.NewSet(compile("kept", "15m", true), compile("edited", "15m", true), compile("quiet", "15m", false))
	next := policy.NewSet(compile("kept", "15m", true), compile("edited", "30m", true), compile("quiet", "30m", false), compile("added", "1h", true))
	var names []string
	for _, p := range ChangedForRunning(prev, next) {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"added", "edited"}, names); diff != "" {
		t.Errorf("ChangedForRunning (-want +got):\n%s", diff)
	}
}

// TestHandleSkipsRoutingDecisions: a routing.assigned event reaches no
// workflow (a relay without Temporal or policies would fail on one that
// did); its changes are followed in the ticket.updated before it.
func TestHandleSkipsRoutingDecisions(t *testing.T) {
	ev := &ticketv1.Event{Type: ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED, TicketId: "t1",
		Ticket:  &ticketv1.Ticket{Id: "t1", Group: "billing", Priority: ticketv1.Priority_PRIORITY_P1},
		Routing: &ticketv1.RoutingSummary{Id: "d-1", Outcome: "assigned", Group: "billing", Agent: "u-wang"}}
	if err := (&Relay{Tenant: "acme"}).Handle(t.Context(), ev); err != nil {
		t.Errorf("Handle(routing.assigned) = %v, want nil", err)
	}
}
