package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/routing"
)

func TestEnqueue(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		// A held ticket returning to a queue leaves the ledger.
		mustAssign(t, s, assignment("acme", "1", "ana"), -1, false, decision("acme", "1", 1))
		in := routing.QueueEntry{
			Tenant: "acme", TicketID: "1", Group: "billing", Channel: "email", Priority: 2,
			Skills:           []routing.SkillRequirement{{Name: "zh", MinLevel: 3}, {Name: "billing", MinLevel: 1}},
			TicketCreateTime: base, EnqueueTime: base.Add(time.Minute),
		}
		d := decision("acme", "1", 2)
		d.Outcome = routing.Queued
		mustEnqueue(t, s, in, d)
		if _, ok, _ := s.Assignment(ctx, "acme", "1"); ok {
			t.Error("an enqueued ticket is still held")
		}
		got, ok, err := s.Queued(ctx, "acme", "1")
		want := in
		want.TicketCreateTime, want.EnqueueTime = us(in.TicketCreateTime), us(in.EnqueueTime)
		if err != nil || !ok {
			t.Fatalf("Queued(1) = %v, %v", ok, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Queued (-want +got):\n%s", diff)
		}
		if stored, ok, err := s.DecisionByKey(ctx, "acme", d.Key); err != nil || !ok || stored.Outcome != routing.Queued {
			t.Errorf("the enqueue's decision = %+v, %v, %v", stored, ok, err)
		}

		// The same group again keeps the enqueue time (the overflow wait
		// counts from it); the rest is replaced.
		again := in
		again.Priority, again.Skills, again.EnqueueTime = 1, nil, base.Add(time.Hour)
		mustEnqueue(t, s, again, decision("acme", "1", 3))
		got, _, _ = s.Queued(ctx, "acme", "1")
		want.Priority, want.Skills = 1, []routing.SkillRequirement{}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Queued after enqueueing in the same group (-want +got):\n%s", diff)
		}

		// Another group: the entry moves, entering at the new time.
		moved := again
		moved.Group = "tier2"
		mustEnqueue(t, s, moved, decision("acme", "1", 4))
		got, _, _ = s.Queued(ctx, "acme", "1")
		want.Group, want.EnqueueTime = "tier2", us(base.Add(time.Hour))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Queued after moving to tier2 (-want +got):\n%s", diff)
		}
		if sizes, err := s.QueueSizes(ctx, "acme"); err != nil || !cmp.Equal(map[string]int{"tier2": 1}, sizes) {
			t.Errorf("QueueSizes = %v, %v; want tier2 only", sizes, err)
		}

		// A key stored already: ErrDuplicate, nothing written.
		other := moved
		other.Group = "tier3"
		err = s.Enqueue(ctx, other, decision("acme", "1", 4))
		if !errors.Is(err, routing.ErrDuplicate) || err.Error() != `enqueue ticket 1 in tier3: decision key "event:4": a decision with this key is stored already` {
			t.Errorf("Enqueue with a key stored: %v, want ErrDuplicate", err)
		}
		if got, _, _ := s.Queued(ctx, "acme", "1"); got.Group != "tier2" {
			t.Errorf("after a duplicate the ticket waits in %s, want tier2", got.Group)
		}
		mustAssign(t, s, assignment("acme", "9", "ana"), -1, false, decision("acme", "9", 9))
		dup := routing.QueueEntry{Tenant: "acme", TicketID: "9", Group: "billing", TicketCreateTime: base}
		if err := s.Enqueue(ctx, dup, decision("acme", "9", 9)); !errors.Is(err, routing.ErrDuplicate) {
			t.Errorf("Enqueue of a held ticket with a key stored: %v, want ErrDuplicate", err)
		}
		if _, ok, _ := s.Assignment(ctx, "acme", "9"); !ok {
			t.Error("a duplicate Enqueue took the ticket out of the ledger")
		}

		// Dequeue, twice.
		for range 2 {
			if err := s.Dequeue(ctx, "acme", "1"); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok, err := s.Queued(ctx, "acme", "1"); ok || err != nil {
			t.Errorf("Queued after Dequeue = %v, %v; want none", ok, err)
		}
	})
}

// TestQueueOrder: highest priority first, then oldest ticket, then ticket
// ID; one group or all.
func TestQueueOrder(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		entries := []struct {
			id, group string
			priority  int
			age       time.Duration
		}{
			{"a", "billing", 3, 1 * time.Minute},
			{"b", "billing", 1, 5 * time.Minute},
			{"c", "network", 1, 10 * time.Minute},
			{"d", "billing", 3, 30 * time.Minute},
			{"f", "billing", 3, 30 * time.Minute},
			{"e", "billing", 3, 30 * time.Minute},
			{"g", "network", 5, 60 * time.Minute},
		}
		for i, e := range entries {
			mustEnqueue(t, s, routing.QueueEntry{Tenant: "acme", TicketID: e.id, Group: e.group, Priority: e.priority,
				TicketCreateTime: base.Add(-e.age)}, decision("acme", e.id, i))
		}
		mustEnqueue(t, s, routing.QueueEntry{Tenant: "globex", TicketID: "x", Group: "billing", Priority: 1,
			TicketCreateTime: base.Add(-time.Hour)}, decision("globex", "x", 1))
		ids := func(group string, limit int) []string {
			t.Helper()
			q, err := s.Queue(ctx, "acme", group, limit)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, e := range q {
				out = append(out, e.TicketID)
			}
			return out
		}
		for _, c := range []struct {
			group string
			limit int
			want  []string
		}{
			{"", 100, []string{"c", "b", "d", "e", "f", "a", "g"}},
			{"billing", 100, []string{"b", "d", "e", "f", "a"}},
			{"billing", 2, []string{"b", "d"}},
			{"network", 100, []string{"c", "g"}},
			{"nobody", 100, []string{}},
		} {
			if diff := cmp.Diff(c.want, ids(c.group, c.limit)); diff != "" {
				t.Errorf("Queue(%q, %d) (-want +got):\n%s", c.group, c.limit, diff)
			}
		}
		if sizes, err := s.QueueSizes(ctx, "acme"); err != nil || !cmp.Equal(map[string]int{"billing": 5, "network": 2}, sizes) {
			t.Errorf("QueueSizes = %v, %v", sizes, err)
		}
	})
}
