package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/ticket"
)

// legacyPayload is an event row as the store wrote it before changes were
// typed (no "format", changes as text): data directories and databases of
// that version hold such rows, and the stream must still read them.
const legacyPayload = `{"ticket":{"id":"01900000-0000-7000-8000-000000000001","tenant":"acme","subject":"printer on fire",` +
	`"description":"","status":"open","impact":1,"urgency":1,"priority":1,"channel":"email",` +
	`"requester":{"name":"Wang Fang","email":"wang.fang@example.com"},"group":"escalation","assignee":"",` +
	`"tags":["vip","a,b"],"custom_fields":{"customer_tier":"gold","region":"华东"},` +
	`"create_time":"2026-03-01T01:30:00.123456Z","update_time":"2026-03-01T02:00:00Z","version":4},` +
	`"changes":[` +
	`{"field":"subject","old":"printer","new":"printer on fire"},` +
	`{"field":"status","old":"pending","new":"open"},` +
	`{"field":"urgency","old":"2","new":"1"},` +
	`{"field":"channel","old":"web","new":"email"},` +
	`{"field":"group","old":"support","new":"escalation"},` +
	`{"field":"requester","old":"Wang Fang","new":"Wang Fang wang.fang@example.com"},` +
	`{"field":"tags","old":"vip,refund","new":"vip,a,b"},` +
	`{"field":"custom_fields","old":"customer_tier=silver,region=华东","new":"customer_tier=gold,region=华东"},` +
	`{"field":"priority","old":"P2","new":"P1"}],` +
	`"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`

// legacySLAPayload is an SLA event row of that version.
const legacySLAPayload = `{"ticket":{"id":"01900000-0000-7000-8000-000000000001","tenant":"acme","subject":"printer on fire",` +
	`"description":"","status":"open","impact":1,"urgency":1,"priority":1,"channel":"email","requester":{},"group":"",` +
	`"assignee":"","tags":[],"custom_fields":{},"create_time":"2026-03-01T01:30:00Z","update_time":"2026-03-01T02:00:00Z","version":4},` +
	`"changes":[{"field":"sla.first_response","old":"warning","new":"breached"},{"field":"sla.resolution","old":"","new":"ok"}]}`

// TestLegacyEvents reads event rows written before changes were typed, on
// both engines: their text is parsed back where it tells the value
// without doubt, and new values are taken from the event's ticket.
func TestLegacyEvents(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	insert := map[string]func(t *testing.T, s ticket.Store, typ ticket.EventType, payload string){
		"sqlite": func(t *testing.T, s ticket.Store, typ ticket.EventType, payload string) {
			if _, err := s.(*SQLite).db.Write.ExecContext(ctx, sqliteInsertEvent, "acme", id(1), string(typ), payload, micros(at)); err != nil {
				t.Fatal(err)
			}
		},
		"postgres": func(t *testing.T, s ticket.Store, typ ticket.EventType, payload string) {
			if _, err := s.(*Postgres).pool.Exec(ctx, `INSERT INTO ticket_events (`+pgEventColumns+`) VALUES ($1, $2, $3, $4, $5)`,
				"acme", id(1), string(typ), payload, at); err != nil {
				t.Fatal(err)
			}
		},
	}
	want := [][]ticket.Change{
		{
			{Field: "subject", Old: "printer", New: "printer on fire"},
			{Field: "status", Old: ticket.StatusPending, New: ticket.StatusOpen},
			{Field: "urgency", Old: 2, New: 1},
			{Field: "channel", Old: ticket.ChannelWeb, New: ticket.ChannelEmail},
			{Field: "group", Old: "support", New: "escalation"},
			// The new values are the ticket's own; the old ones cannot be
			// told from the text.
			{Field: "requester", Old: ticket.Unparsed("Wang Fang"), New: ticket.Requester{Name: "Wang Fang", Email: "wang.fang@example.com"}},
			{Field: "tags", Old: ticket.Unparsed("vip,refund"), New: []string{"vip", "a,b"}},
			{Field: "custom_fields", Old: map[string]string{"customer_tier": "silver", "region": "华东"},
				New: map[string]string{"customer_tier": "gold", "region": "华东"}},
			{Field: "priority", Old: ticket.P2, New: ticket.P1},
		},
		{
			{Field: "sla.first_response", Old: ticket.SLAWarning, New: ticket.SLABreached},
			{Field: "sla.resolution", Old: ticket.SLANone, New: ticket.SLAOK},
		},
	}
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Fresh(t)(t)
			insert[e.Name](t, s, ticket.EventTicketUpdated, legacyPayload)
			insert[e.Name](t, s, ticket.EventSLAChanged, legacySLAPayload)
			// A row of today's format after them.
			tk := create(t, s, fixture("acme", 2))
			if _, err := s.UpdateTicket(ctx, "acme", tk.ID, func(tk *ticket.Ticket) ([]ticket.Change, error) {
				old := tk.Tags
				tk.Tags = []string{"a,b", "c"}
				return []ticket.Change{{Field: "tags", Old: old, New: tk.Tags}}, nil
			}); err != nil {
				t.Fatal(err)
			}

			events := allEvents(t, s, "acme")
			if len(events) != 4 {
				t.Fatalf("read %d events, want 4", len(events))
			}
			for i, w := range want {
				if diff := cmp.Diff(w, events[i].Changes); diff != "" {
					t.Errorf("changes of legacy event %d (-want +got):\n%s", i, diff)
				}
			}
			if got := events[0].TraceParent; got == "" {
				t.Error("legacy event lost its traceparent")
			}
			typed := []ticket.Change{{Field: "tags", Old: tk.Tags, New: []string{"a,b", "c"}}}
			if diff := cmp.Diff(typed, events[3].Changes); diff != "" {
				t.Errorf("changes of a typed event (-want +got):\n%s", diff)
			}

			// On the wire: an unparsed value has its text and no typed value.
			fc := ticket.ChangeToProto(events[0].Changes[6])
			if fc.GetBefore() != nil || fc.GetOldValue() != "vip,refund" || len(fc.GetAfter().GetListValue().GetValues()) != 2 {
				t.Errorf("legacy tags change on the wire = %v; want no before, old_value %q and a list of two", fc, "vip,refund")
			}
		})
	}
}
