package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

func TestTypeOf(t *testing.T) {
	sla := func(changes ...*ticketv1.FieldChange) *ticketv1.Event {
		return &ticketv1.Event{Type: ticketv1.EventType_EVENT_TYPE_SLA_CHANGED, Changes: changes}
	}
	for _, tt := range []struct {
		name string
		ev   *ticketv1.Event
		want string
	}{
		{"created", &ticketv1.Event{Type: ticketv1.EventType_EVENT_TYPE_TICKET_CREATED}, TicketCreated},
		{"updated", &ticketv1.Event{Type: ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED}, TicketUpdated},
		{"comment", &ticketv1.Event{Type: ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED}, CommentAdded},
		{"warning", sla(&ticketv1.FieldChange{Field: "sla.first_response", After: structpb.NewStringValue("warning")}), SLAChanged},
		{"breach", sla(
			&ticketv1.FieldChange{Field: "sla.next_response", After: structpb.NewStringValue("met")},
			&ticketv1.FieldChange{Field: "sla.resolution", Before: structpb.NewStringValue("warning"), After: structpb.NewStringValue("breached")},
		), SLABreached},
		{"breach written as text", sla(&ticketv1.FieldChange{Field: "sla.resolution", NewValue: "breached"}), SLABreached},
		{"breach over", sla(&ticketv1.FieldChange{Field: "sla.resolution", Before: structpb.NewStringValue("breached"), After: structpb.NewStringValue("met")}), SLAChanged},
		{"routing", &ticketv1.Event{Type: ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED, Routing: &ticketv1.RoutingSummary{Id: "d-1"}}, RoutingAssigned},
		{"unspecified", &ticketv1.Event{}, ""},
	} {
		if got := TypeOf(tt.ev); got != tt.want {
			t.Errorf("%s: TypeOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSubscribed(t *testing.T) {
	for _, tt := range []struct {
		events []string
		typ    string
		want   bool
	}{
		{[]string{TicketCreated}, TicketCreated, true},
		{[]string{TicketCreated}, CommentAdded, false},
		{[]string{SLAChanged}, SLAChanged, true},
		{[]string{SLAChanged}, SLABreached, true},
		{[]string{SLABreached}, SLAChanged, false},
		{[]string{SLABreached}, SLABreached, true},
		{[]string{TicketCreated}, "", false},
		{[]string{RoutingAssigned}, RoutingAssigned, true},
		{[]string{TicketUpdated}, RoutingAssigned, false},
	} {
		if got := Subscribed(tt.events, tt.typ); got != tt.want {
			t.Errorf("Subscribed(%v, %q) = %v, want %v", tt.events, tt.typ, got, tt.want)
		}
	}
}

func TestCheckEvents(t *testing.T) {
	const accepted = "accepted: ticket.created, ticket.updated, comment.added, sla.changed, sla.breached, routing.assigned"
	for _, tt := range []struct {
		events []string
		want   string
	}{
		{[]string{TicketCreated, SLABreached}, ""},
		{nil, "webhook.events: names no event; " + accepted},
		{[]string{TicketCreated, "ticket.deleted"}, `webhook.events[1]: "ticket.deleted" is not an event; ` + accepted},
		{[]string{"Ticket.Created"}, `webhook.events[0]: "Ticket.Created" is not an event; ` + accepted},
		{[]string{CommentAdded, TicketCreated, CommentAdded}, `webhook.events[2]: "comment.added" repeats webhook.events[0]; accepted: each event once`},
	} {
		err := CheckEvents("webhook.events", tt.events)
		if got := ""; err != nil {
			got = err.Error()
			if got != tt.want {
				t.Errorf("CheckEvents(%v) = %s\nwant %s", tt.events, got, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("CheckEvents(%v) = nil, want %s", tt.events, tt.want)
		}
	}
}

// TestSign checks the signature against values openssl computed:
//
//	printf '%s' '1765000000.{"id":"s1:1","type":"ticket.created"}' | openssl dgst -sha256 -hmac whsec_test_0123456789
func TestSign(t *testing.T) {
	at := time.Unix(1765000000, 999)
	body := []byte(`{"id":"s1:1","type":"ticket.created"}`)
	for _, tt := range []struct {
		secrets []string
		want    string
	}{
		{nil, "t=1765000000"},
		{[]string{"whsec_test_0123456789"}, "t=1765000000,v1=4bec0956774bf5143f985b965e0d21801861ae94551f07f89cae935bb838a5e0"},
		{[]string{"whsec_test_0123456789", "old-secret-abcdefgh"},
			"t=1765000000,v1=4bec0956774bf5143f985b965e0d21801861ae94551f07f89cae935bb838a5e0,v1=a2bfc7a8627e095eb5f5a5a60e4b623735df2aed9c2e136e634713c513daa183"},
	} {
		if got := Sign(at, body, tt.secrets...); got != tt.want {
			t.Errorf("Sign(%v) = %s\nwant %s", tt.secrets, got, tt.want)
		}
	}
}

func TestBody(t *testing.T) {
	created := time.Date(2026, 12, 7, 8, 30, 0, 123000000, time.UTC)
	ev := &ticketv1.Event{
		Cursor: "s1:42", Type: ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED, TicketId: "t-1", CreateTime: timestamppb.New(created),
		Ticket:  &ticketv1.Ticket{Id: "t-1", Subject: "打印机无法连接", Tenant: "acme"},
		Comment: &ticketv1.Comment{Id: "c-1", Body: "请重启打印机。"},
	}
	raw, err := Body(ev, CommentAdded, "acme", "w-1")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID, Type, CreateTime, Tenant, WebhookID, TicketID string
		Event                                             struct {
			Cursor  string
			Ticket  struct{ Subject string }
			Comment struct{ Body string }
		}
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if got.ID != "s1:42" || got.Type != CommentAdded || got.CreateTime != "2026-12-07T08:30:00.123Z" || got.Tenant != "acme" ||
		got.WebhookID != "w-1" || got.TicketID != "t-1" || got.Event.Cursor != "s1:42" ||
		got.Event.Ticket.Subject != "打印机无法连接" || got.Event.Comment.Body != "请重启打印机。" {
		t.Errorf("body %s", raw)
	}
	again, _ := Body(ev, CommentAdded, "acme", "w-1")
	if string(again) != string(raw) {
		t.Errorf("two bodies of one event differ:\n%s\n%s", raw, again)
	}
}
