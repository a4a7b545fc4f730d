package store

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// routingService is the routing service's principal, as the access
// interceptor gives it to the ticket service.
var routingService = &iamv1.Principal{Id: "service:routing", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE,
	Tenant: "acme", DisplayName: "routing", Roles: []iamv1.Role{iamv1.Role_ROLE_SERVICE}}

var routingActor = ticket.Actor{ID: "service:routing", Kind: ticket.ActorService, DisplayName: "routing"}

func decision(id string) ticket.Routing {
	return ticket.Routing{ID: id, Trigger: "created", Outcome: "assigned", Group: "billing", Agent: "u-wang",
		Rules: []string{"账单", "vip"}, Explanation: "规则“账单”匹配：主题含“发票”。"}
}

// assign is a mutation that moves the ticket to group and assignee.
func assign(group, assignee string) ticket.Mutation {
	return func(t *ticket.Ticket) ([]ticket.Change, error) {
		changes := []ticket.Change{{Field: "group", Old: t.Group, New: group}, {Field: "assignee", Old: t.Assignee, New: assignee}}
		t.Group, t.Assignee = group, assignee
		return changes, nil
	}
}

func noChange(*ticket.Ticket) ([]ticket.Change, error) { return nil, nil }

func TestApplyRouting(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		ctx := auth.With(ctx, routingService)
		tk := create(t, s, fixture("acme", 1)) // open, group it, assignee ana
		other := create(t, s, fixture("acme", 2))
		// newEvents returns the events written since the last call.
		seen := len(allEvents(t, s, "acme"))
		newEvents := func() []ticket.Event {
			t.Helper()
			all := allEvents(t, s, "acme")
			out := all[seen:]
			seen = len(all)
			return out
		}

		first := decision("d-1")
		note := &ticket.Comment{ID: id(5000), Tenant: "acme", TicketID: tk.ID, Author: "routing", AuthorType: ticket.AuthorSystem,
			Body: "转给账单组：主题含“发票”。", Visibility: ticket.VisibilityInternal, CreateTime: base, Actor: routingActor}

		t.Run("the changes, the note and the pair of events", func(t *testing.T) {
			got, applied, err := s.ApplyRouting(ctx, "acme", tk.ID, first, note, assign("billing", "u-wang"))
			if err != nil || !applied {
				t.Fatalf("ApplyRouting = applied %v, %v; want applied", applied, err)
			}
			want := tk
			want.Group, want.Assignee, want.Version, want.UpdateTime = "billing", "u-wang", tk.Version+1, got.UpdateTime
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ApplyRouting returned (-want +got):\n%s", diff)
			}
			if read, _ := s.GetTicket(ctx, "acme", tk.ID); !cmp.Equal(got, read) {
				t.Errorf("stored ticket (-returned +read):\n%s", cmp.Diff(got, read))
			}
			events := newEvents()
			if len(events) != 2 {
				t.Fatalf("events %v, want ticket.updated then routing.assigned", eventTypes(events))
			}
			changes := []ticket.Change{{Field: "group", Old: tk.Group, New: "billing"}, {Field: "assignee", Old: tk.Assignee, New: "u-wang"}}
			stored := storedComment(*note)
			for i, w := range []ticket.Event{
				{Type: ticket.EventTicketUpdated, Changes: changes},
				{Type: ticket.EventRoutingAssigned, Comment: &stored},
			} {
				e := events[i]
				w.Cursor, w.Tenant, w.TicketID, w.Ticket, w.CreateTime = e.Cursor, "acme", tk.ID, got, got.UpdateTime
				w.Actor, w.Routing = routingActor, &first
				if diff := cmp.Diff(w, e); diff != "" {
					t.Errorf("event %d (-want +got):\n%s", i, diff)
				}
			}
			comments, err := s.ListComments(ctx, "acme", tk.ID, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]ticket.Comment{stored}, comments); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
		})

		t.Run("a decision applies once", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			got, applied, err := s.ApplyRouting(ctx, "acme", tk.ID, first, note, func(*ticket.Ticket) ([]ticket.Change, error) {
				t.Error("the mutation of a decision applied before ran")
				return nil, nil
			})
			if err != nil || applied {
				t.Fatalf("ApplyRouting again = applied %v, %v; want not applied", applied, err)
			}
			if diff := cmp.Diff(before, got); diff != "" {
				t.Errorf("a repeat returned (-stored +got):\n%s", diff)
			}
			if events := newEvents(); len(events) != 0 {
				t.Errorf("a repeat wrote %v", eventTypes(events))
			}
		})

		t.Run("a decision that changes nothing is still an event, once", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			queued := decision("d-queued")
			queued.Outcome, queued.Agent = "queued", ""
			for i := range 2 {
				got, applied, err := s.ApplyRouting(ctx, "acme", tk.ID, queued, nil, noChange)
				if err != nil || applied != (i == 0) {
					t.Fatalf("call %d: applied %v, %v; want applied %v", i, applied, err, i == 0)
				}
				if !cmp.Equal(before, got) {
					t.Errorf("call %d returned (-stored +got):\n%s", i, cmp.Diff(before, got))
				}
			}
			events := newEvents()
			if len(events) != 1 || events[0].Type != ticket.EventRoutingAssigned || !cmp.Equal(events[0].Routing, &queued) ||
				!cmp.Equal(events[0].Ticket, before) || events[0].Comment != nil || events[0].Changes != nil {
				t.Errorf("events %v (%+v); want one routing.assigned of the queued decision with the ticket as it was", eventTypes(events), events)
			}
		})

		t.Run("a note alone bumps the version", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			n := *note
			n.ID, n.Body = id(5001), "再次确认"
			got, applied, err := s.ApplyRouting(ctx, "acme", tk.ID, decision("d-note"), &n, noChange)
			if err != nil || !applied {
				t.Fatalf("applied %v, %v", applied, err)
			}
			if got.Version != before.Version+1 || got.Group != before.Group {
				t.Errorf("version %d, group %q; want %d, %q", got.Version, got.Group, before.Version+1, before.Group)
			}
			events := newEvents()
			if len(events) != 1 || events[0].Type != ticket.EventRoutingAssigned || events[0].Comment == nil ||
				events[0].Comment.Body != "再次确认" || !cmp.Equal(events[0].Ticket, got) || !events[0].CreateTime.Equal(got.UpdateTime) {
				t.Errorf("events %v; want one routing.assigned with the note and the ticket after", eventTypes(events))
			}
		})

		t.Run("a failed decision writes and records nothing", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			boom := errors.New("assignee moved")
			failed := decision("d-retry")
			_, _, err := s.ApplyRouting(ctx, "acme", tk.ID, failed, note, func(t *ticket.Ticket) ([]ticket.Change, error) {
				t.Group = "half"
				return nil, boom
			})
			if err != boom { //nolint:errorlint // the mutation's own error, untouched
				t.Errorf("err = %v, want the mutation's error as it is", err)
			}
			if read, _ := s.GetTicket(ctx, "acme", tk.ID); !cmp.Equal(before, read) {
				t.Errorf("the ticket changed: (-before +read)\n%s", cmp.Diff(before, read))
			}
			if events := newEvents(); len(events) != 0 {
				t.Errorf("a failed decision wrote %v", eventTypes(events))
			}
			// Not recorded: the decision can still apply.
			if _, applied, err := s.ApplyRouting(ctx, "acme", tk.ID, failed, nil, assign("it", "")); err != nil || !applied {
				t.Errorf("the retry: applied %v, %v; want applied", applied, err)
			}
			newEvents()
		})

		t.Run("a decision is about one ticket", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", other.ID)
			_, _, err := s.ApplyRouting(ctx, "acme", other.ID, first, nil, assign("billing", "u-li"))
			if !errors.Is(err, ticket.ErrDecisionReused) {
				t.Errorf("err = %v, want ErrDecisionReused", err)
			}
			if read, _ := s.GetTicket(ctx, "acme", other.ID); !cmp.Equal(before, read) || len(newEvents()) != 0 {
				t.Errorf("the other ticket changed: (-before +read)\n%s", cmp.Diff(before, read))
			}
		})

		t.Run("tenants", func(t *testing.T) {
			if _, _, err := s.ApplyRouting(ctx, "globex", tk.ID, decision("d-x"), nil, assign("x", "y")); !errors.Is(err, ticket.ErrNotFound) {
				t.Errorf("another tenant's ticket: %v, want ErrNotFound", err)
			}
			// Decision IDs are the tenant's own.
			theirs := create(t, s, fixture("globex", 1))
			if _, applied, err := s.ApplyRouting(ctx, "globex", theirs.ID, first, nil, assign("billing", "u-wang")); err != nil || !applied {
				t.Errorf("globex's decision d-1: applied %v, %v; want applied", applied, err)
			}
			if events := newEvents(); len(events) != 0 {
				t.Errorf("acme's stream got %v", eventTypes(events))
			}
		})

		t.Run("NUL refused alike", func(t *testing.T) {
			bad := decision("d-nul")
			bad.Explanation = "a\x00b"
			if _, _, err := s.ApplyRouting(ctx, "acme", tk.ID, bad, nil, noChange); !errors.Is(err, ticket.ErrNULText) {
				t.Errorf("err = %v, want ErrNULText", err)
			}
		})
	})
}
