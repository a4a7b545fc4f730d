package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// TestActor checks that every event records the actor of the writer's
// context, and that a comment keeps its own actor, through the event
// payload and the comment columns.
func TestActor(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		agent := &iamv1.Principal{Id: "u-ana", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, DisplayName: "Ana 李", Tenant: "acme"}
		worker := &iamv1.Principal{Id: "service:worker", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE, DisplayName: "SLA worker"}
		wantAgent := ticket.Actor{ID: "u-ana", Kind: ticket.ActorUser, DisplayName: "Ana 李"}
		wantWorker := ticket.Actor{ID: "service:worker", Kind: ticket.ActorService, DisplayName: "SLA worker"}
		asAgent := auth.With(ctx, agent)

		tk, _, err := s.CreateTicket(asAgent, fixture("acme", 1), ticket.Idempotency{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateTicket(asAgent, "acme", tk.ID, setSubject("v2")); err != nil {
			t.Fatal(err)
		}
		c := newComment(tk, 1)
		c.Actor = wantAgent
		if _, _, err := s.AddComment(asAgent, c, ticket.Idempotency{}, nil); err != nil {
			t.Fatal(err)
		}
		sla := ticket.SLA{Policy: "acme/standard", UpdateTime: base, Clocks: []ticket.SLAClockStatus{
			{Clock: ticket.ClockResolution, State: ticket.SLAOK, Due: base.Add(time.Hour), Target: time.Hour},
		}}
		if _, err := s.SetSLA(auth.With(ctx, worker), "acme", tk.ID, sla, nil); err != nil {
			t.Fatal(err)
		}
		// Without a principal: no actor.
		anon := create(t, s, fixture("acme", 2))
		if _, _, err := s.AddComment(ctx, newComment(anon, 2), ticket.Idempotency{}, nil); err != nil {
			t.Fatal(err)
		}

		type got struct {
			Event   string
			Actor   ticket.Actor
			Comment *ticket.Actor
		}
		var have []got
		for _, e := range allEvents(t, s, "acme") {
			g := got{Event: string(e.Type) + " " + e.TicketID, Actor: e.Actor}
			if e.Comment != nil {
				g.Comment = &e.Comment.Actor
			}
			have = append(have, g)
		}
		want := []got{
			{Event: "ticket.created " + tk.ID, Actor: wantAgent},
			{Event: "ticket.updated " + tk.ID, Actor: wantAgent},
			{Event: "comment.added " + tk.ID, Actor: wantAgent, Comment: &wantAgent},
			{Event: "sla.changed " + tk.ID, Actor: wantWorker},
			{Event: "ticket.created " + anon.ID},
			{Event: "comment.added " + anon.ID, Comment: &ticket.Actor{}},
		}
		if diff := cmp.Diff(want, have); diff != "" {
			t.Errorf("events' actors (-want +got):\n%s", diff)
		}

		comments, err := s.ListComments(ctx, "acme", tk.ID, "", 10)
		if err != nil || len(comments) != 1 {
			t.Fatalf("ListComments = %v, %v", comments, err)
		}
		if diff := cmp.Diff(storedComment(c), comments[0]); diff != "" {
			t.Errorf("comment as listed (-want +got):\n%s", diff)
		}
	})
}

// inScope is ticket.Scope.Contains written out again, so the expectation
// does not share the code under test.
func inScope(t ticket.Ticket, s *ticket.Scope) bool {
	if s == nil {
		return true
	}
	// Only ASCII letters fold, in both engines: Ä and ä stay apart.
	asciiLower := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	for _, e := range s.RequesterEmails {
		if asciiLower(e) == asciiLower(t.Requester.Email) {
			return true
		}
	}
	if t.Requester.ContactID != "" && slices.Contains(s.RequesterContacts, t.Requester.ContactID) {
		return true
	}
	return slices.Contains(s.Groups, t.Group) || slices.Contains(s.Assignees, t.Assignee) ||
		slices.Contains(s.RequesterIdentities, t.Requester.Identity)
}

// TestListScope checks that ListTickets keeps to the caller's scope, with
// and without a filter, in both orders and at every page size.
func TestListScope(t *testing.T) {
	const n = 30
	scopes := []struct {
		name  string
		scope *ticket.Scope
		f     ticket.Filter
	}{
		{"nil is every ticket", nil, ticket.Filter{}},
		{"empty is none", &ticket.Scope{}, ticket.Filter{}},
		{"groups", &ticket.Scope{Groups: []string{"it"}}, ticket.Filter{}},
		{"group or assignee", &ticket.Scope{Groups: []string{"it"}, Assignees: []string{"李娜", "bo"}}, ticket.Filter{}},
		{"requester email, any case", &ticket.Scope{RequesterEmails: []string{"USER1@Example.COM"}}, ticket.Filter{}},
		{"requester identity", &ticket.Scope{RequesterIdentities: []string{"wechat:o2"}}, ticket.Filter{}},
		{"requester email or identity", &ticket.Scope{RequesterEmails: []string{"user3@example.com"}, RequesterIdentities: []string{"wechat:o0"}}, ticket.Filter{}},
		{"unknown requester", &ticket.Scope{RequesterEmails: []string{"nobody@example.com"}}, ticket.Filter{}},
		{"non-ASCII email, ASCII letters in another case", &ticket.Scope{RequesterEmails: []string{"ÄRGER@example.COM"}}, ticket.Filter{}},
		{"non-ASCII letters do not fold", &ticket.Scope{RequesterEmails: []string{"ärger@example.com"}}, ticket.Filter{}},
		{"requester contact", &ticket.Scope{RequesterContacts: []string{"c-1"}}, ticket.Filter{}},
		{"requester contact, another's email", &ticket.Scope{RequesterContacts: []string{"c-2"}, RequesterEmails: []string{"user1@example.com"}}, ticket.Filter{}},
		{"no contact matches no ticket without one", &ticket.Scope{RequesterContacts: []string{""}}, ticket.Filter{}},
		{"requester contact and filter", &ticket.Scope{RequesterContacts: []string{"c-1", "c-2"}},
			ticket.Filter{Statuses: []ticket.Status{ticket.StatusNew, ticket.StatusOpen}}},
		{"scope and filter", &ticket.Scope{Groups: []string{"billing", "sales"}, Assignees: []string{"ana"}},
			ticket.Filter{Statuses: []ticket.Status{ticket.StatusNew, ticket.StatusOpen}, Groups: []string{"billing", "it"}}},
	}
	contract(t, func(t *testing.T, s ticket.Store) {
		var all []ticket.Ticket
		for i := range n {
			tk := fixture("acme", i)
			switch {
			case i%5 == 0:
				tk.Requester.Email = "User1@EXAMPLE.com" // stored in another case
			case i%7 == 0:
				tk.Requester.Email = "Ärger@Example.com"
			}
			// Some requesters are contacts, named with or without their
			// email (the fixture's) in another contact's scope.
			switch i % 6 {
			case 1:
				tk.Requester.ContactID = "c-1"
			case 2, 3:
				tk.Requester.ContactID = "c-2"
			}
			all = append(all, create(t, s, tk))
			other := fixture("other", i) // same requesters and groups, another tenant: never listed
			create(t, s, other)
		}
		// Some tickets have a running SLA clock, for the second order.
		for i := 0; i < n; i += 3 {
			sla := ticket.SLA{Policy: "p", UpdateTime: base, Clocks: []ticket.SLAClockStatus{
				{Clock: ticket.ClockResolution, State: ticket.SLAOK, Due: base.Add(time.Duration(n-i) * time.Hour), Target: time.Hour},
			}}
			got, err := s.SetSLA(ctx, "acme", all[i].ID, sla, nil)
			if err != nil {
				t.Fatal(err)
			}
			all[i] = got
		}
		// byDue is the OrderSLANextDue order of all.
		byDue := slices.Clone(all)
		slices.SortStableFunc(byDue, func(a, b ticket.Ticket) int {
			switch {
			case a.SLA != nil && b.SLA == nil:
				return -1
			case a.SLA == nil && b.SLA != nil:
				return 1
			case a.SLA != nil:
				return a.SLA.NextDue.Compare(b.SLA.NextDue)
			}
			return strings.Compare(b.ID, a.ID)
		})
		for _, tt := range scopes {
			t.Run(tt.name, func(t *testing.T) {
				for _, order := range []struct {
					order ticket.ListOrder
					rows  []ticket.Ticket
				}{{ticket.OrderNewest, reversed(all)}, {ticket.OrderSLANextDue, byDue}} {
					var want []string
					for _, tk := range order.rows {
						if inScope(tk, tt.scope) && matchesFilter(tk, tt.f) {
							want = append(want, tk.ID)
						}
					}
					for _, limit := range []int{1, 4, 100} {
						q := ticket.ListQuery{Filter: tt.f, Scope: tt.scope, Order: order.order}
						if diff := cmp.Diff(want, listOrdered(t, s, "acme", q, limit)); diff != "" {
							t.Errorf("order %q, limit %d: IDs (-want +got):\n%s", order.order, limit, diff)
						}
					}
				}
			})
		}
		t.Run("scope and filter values with NUL are refused", func(t *testing.T) {
			_, err := s.ListTickets(context.Background(), "acme", ticket.ListQuery{Limit: 1, Scope: &ticket.Scope{Groups: []string{"it\x00"}}})
			if err == nil || !strings.Contains(err.Error(), "scope group") {
				t.Errorf("ListTickets = %v; want an error naming the scope group", err)
			}
		})
	})
}

func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
