package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/routing"
)

func TestAssign(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		// A queued ticket is assigned: it leaves the queue, the ledger has
		// it, the agent (with no profile yet) has a last-assign time, the
		// round-robin pick and the decision are stored.
		mustEnqueue(t, s, routing.QueueEntry{Tenant: "acme", TicketID: "1", Group: "billing", Channel: "chat", TicketCreateTime: base},
			decision("acme", "1", 1))
		a := assignment("acme", "1", "ana")
		a.Answered = true // a new holder has not answered: ignored
		d := decision("acme", "1", 2)
		mustAssign(t, s, a, 3, true, d)
		got, ok, err := s.Assignment(ctx, "acme", "1")
		want := routing.Assignment{Tenant: "acme", TicketID: "1", Agent: "ana", Group: "billing", Channel: "chat",
			AssignTime: us(base), DecisionID: d.ID}
		if err != nil || !ok {
			t.Fatalf("Assignment(1) = %v, %v", ok, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Assignment (-want +got):\n%s", diff)
		}
		if _, ok, err := s.Queued(ctx, "acme", "1"); ok || err != nil {
			t.Errorf("Queued(1) after Assign = %v, %v; want out of the queue", ok, err)
		}
		if agent, err := s.GetAgent(ctx, "acme", "ana"); err != nil || !agent.LastAssignTime.Equal(us(base)) || agent.Version != 0 ||
			agent.Presence != routing.Offline {
			t.Errorf("GetAgent(ana) = %+v, %v; want a row without profile, assigned at %v", agent, err, base)
		}
		if got, err := s.LastPicked(ctx, "acme", "billing"); err != nil || got != "ana" {
			t.Errorf("LastPicked(billing) = %q, %v; want ana", got, err)
		}
		stored, ok, err := s.DecisionByKey(ctx, "acme", d.Key)
		if err != nil || !ok {
			t.Fatalf("DecisionByKey(%s) = %v, %v", d.Key, ok, err)
		}
		wantD := d
		wantD.CreateTime = us(d.CreateTime)
		if diff := cmp.Diff(wantD, stored, equateEmpty); diff != "" {
			t.Errorf("stored decision (-want +got):\n%s", diff)
		}

		// Not round robin: the pick stays; a later assignment moves the
		// last-assign time.
		b := assignment("acme", "2", "ana")
		b.Channel, b.AssignTime = "email", base.Add(time.Minute)
		mustAssign(t, s, b, 3, false, decision("acme", "2", 3))
		if agent, err := s.GetAgent(ctx, "acme", "ana"); err != nil || !agent.LastAssignTime.Equal(us(base.Add(time.Minute))) {
			t.Errorf("LastAssignTime = %v, %v; want %v", agent.LastAssignTime, err, base.Add(time.Minute))
		}
		c := assignment("acme", "3", "bo")
		mustAssign(t, s, c, 3, false, decision("acme", "3", 4))
		if got, err := s.LastPicked(ctx, "acme", "billing"); err != nil || got != "ana" {
			t.Errorf("LastPicked(billing) after a pick not round robin = %q, %v; want ana", got, err)
		}

		// Another agent: TakenError naming the holder, nothing written.
		err = s.Assign(ctx, assignment("acme", "1", "bo"), -1, true, decision("acme", "1", 5))
		if taken, ok := errors.AsType[*routing.TakenError](err); !ok || taken.Agent != "ana" ||
			err.Error() != "assign ticket 1 to bo: the ticket is assigned to ana already" {
			t.Errorf("Assign(1 to bo): %v, want TakenError naming ana", err)
		}
		if _, ok, _ := s.DecisionByKey(ctx, "acme", decision("acme", "1", 5).Key); ok {
			t.Error("the refused assignment's decision was stored")
		}
		if got, _ := s.LastPicked(ctx, "acme", "billing"); got != "ana" {
			t.Errorf("LastPicked after a refused assignment = %q, want ana", got)
		}

		// The holder again: a success that stores the decision and changes
		// nothing else, even at capacity; its key a second time is
		// ErrDuplicate.
		again := assignment("acme", "1", "ana")
		again.AssignTime = base.Add(time.Hour)
		mustAssign(t, s, again, 0, true, decision("acme", "1", 6))
		if got, _, _ := s.Assignment(ctx, "acme", "1"); !cmp.Equal(want, got) {
			t.Errorf("Assignment after assigning the holder again = %+v, want %+v", got, want)
		}
		if agent, _ := s.GetAgent(ctx, "acme", "ana"); !agent.LastAssignTime.Equal(us(base.Add(time.Minute))) {
			t.Errorf("LastAssignTime after assigning the holder again = %v, want unchanged", agent.LastAssignTime)
		}
		if _, ok, _ := s.DecisionByKey(ctx, "acme", decision("acme", "1", 6).Key); !ok {
			t.Error("the decision of assigning the holder again is not stored")
		}
		err = s.Assign(ctx, again, 0, true, decision("acme", "1", 6))
		if !errors.Is(err, routing.ErrDuplicate) || err.Error() != `assign ticket 1 to ana: decision key "event:6": a decision with this key is stored already` {
			t.Errorf("Assign with a key stored: %v, want ErrDuplicate", err)
		}

		// A key stored already: ErrDuplicate before any other check, and
		// nothing written (the ticket stays free, its decision is not
		// replaced).
		dup := decision("acme", "4", 7)
		dup.Key = d.Key
		err = s.Assign(ctx, assignment("acme", "4", "bo"), -1, true, dup)
		if !errors.Is(err, routing.ErrDuplicate) {
			t.Errorf("Assign with d's key: %v, want ErrDuplicate", err)
		}
		if _, ok, _ := s.Assignment(ctx, "acme", "4"); ok {
			t.Error("the ticket of a duplicate decision was assigned")
		}
		if got, _ := s.LastPicked(ctx, "acme", "billing"); got != "ana" {
			t.Errorf("LastPicked after a duplicate = %q, want ana", got)
		}
		if got, _, _ := s.DecisionByKey(ctx, "acme", d.Key); got.ID != d.ID {
			t.Errorf("decision under %s = %s, want %s", d.Key, got.ID, d.ID)
		}
		// A decision ID stored already is refused too.
		err = s.Assign(ctx, assignment("acme", "4", "bo"), -1, false, func() routing.Decision {
			out := decision("acme", "4", 2)
			out.Key = "other"
			return out
		}())
		if !errors.Is(err, routing.ErrExists) {
			t.Errorf("Assign with a decision ID stored: %v, want ErrExists", err)
		}

		// Capacity counts the agent's tickets on the channel only.
		err = s.Assign(ctx, assignment("acme", "5", "ana"), 1, false, decision("acme", "5", 8))
		capErr, ok := errors.AsType[*routing.CapacityError](err)
		if !ok || *capErr != (routing.CapacityError{Agent: "ana", Channel: "chat", Load: 1, Limit: 1}) ||
			err.Error() != "assign ticket 5 to ana: agent ana holds 1 chat tickets, its capacity is 1" {
			t.Errorf("Assign over capacity: %v, want a CapacityError", err)
		}
		mustAssign(t, s, assignment("acme", "5", "ana"), 2, false, decision("acme", "5", 9))
		// A limit below 0: none.
		for i := range 5 {
			mustAssign(t, s, assignment("acme", fmt.Sprintf("u%d", i), "ana"), -1, false, decision("acme", fmt.Sprintf("u%d", i), 100+i))
		}
		loads, err := s.Loads(ctx, "acme", nil)
		if err != nil {
			t.Fatal(err)
		}
		wantLoads := map[string]map[string]int{"ana": {"chat": 7, "email": 1}, "bo": {"chat": 1}}
		if diff := cmp.Diff(wantLoads, loads); diff != "" {
			t.Errorf("Loads (-want +got):\n%s", diff)
		}
		for _, tt := range []struct {
			agents []string
			want   map[string]map[string]int
		}{
			{[]string{"bo", "cy"}, map[string]map[string]int{"bo": {"chat": 1}}},
			{[]string{}, map[string]map[string]int{}},
		} {
			got, err := s.Loads(ctx, "acme", tt.agents)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Loads of %v (-want +got):\n%s", tt.agents, diff)
			}
		}
	})
}

// TestAssignRace: 100 agents assigning one ticket at once, through two
// stores on one database (two processes): exactly one wins, every other
// gets a TakenError naming it, and only the winner's decision is stored.
func TestAssignRace(t *testing.T) {
	replicas(t, 2, func(t *testing.T, stores []routing.Store) {
		const n = 100
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				agent := fmt.Sprintf("agent-%03d", i)
				errs[i] = stores[i%2].Assign(ctx, assignment("acme", "T1", agent), 5, true, decision("acme", "T1", i))
			})
		}
		wg.Wait()
		a, ok, err := stores[0].Assignment(ctx, "acme", "T1")
		if err != nil || !ok {
			t.Fatalf("Assignment(T1) = %v, %v", ok, err)
		}
		winners := 0
		for i, err := range errs {
			if err == nil {
				winners++
				if agent := fmt.Sprintf("agent-%03d", i); agent != a.Agent {
					t.Errorf("%s succeeded, but the ticket is %s's", agent, a.Agent)
				}
				continue
			}
			if taken, ok := errors.AsType[*routing.TakenError](err); !ok || taken.Agent != a.Agent {
				t.Errorf("agent-%03d: %v, want a TakenError naming %s", i, err, a.Agent)
			}
		}
		if winners != 1 {
			t.Errorf("%d winners, want exactly 1", winners)
		}
		ds, err := stores[1].Decisions(ctx, "acme", "T1", "", 1000)
		if err != nil || len(ds) != 1 || ds[0].ID != a.DecisionID {
			t.Errorf("decisions = %d, %v; want only the winner's (%s)", len(ds), err, a.DecisionID)
		}
		if got, err := stores[1].LastPicked(ctx, "acme", "billing"); err != nil || got != a.Agent {
			t.Errorf("LastPicked = %q, %v; want the winner %s", got, err, a.Agent)
		}
		// The winner assigning again while others still try: a no-op for
		// it, a TakenError for them.
		var again [10]error
		for i := range again {
			wg.Go(func() {
				agent := a.Agent
				if i%2 == 1 {
					agent = fmt.Sprintf("late-%d", i)
				}
				again[i] = stores[i%2].Assign(ctx, assignment("acme", "T1", agent), 0, false, decision("acme", "T1", 1000+i))
			})
		}
		wg.Wait()
		for i, err := range again {
			if i%2 == 0 && err != nil {
				t.Errorf("the holder assigning again: %v, want success", err)
			}
			if _, ok := errors.AsType[*routing.TakenError](err); i%2 == 1 && !ok {
				t.Errorf("late-%d: %v, want a TakenError", i, err)
			}
		}
	})
}

// TestCapacityRace: 50 tickets assigned at once to one agent whose limit
// is 3, through two stores on one database: exactly 3 succeed, the others
// get a CapacityError at load 3.
func TestCapacityRace(t *testing.T) {
	replicas(t, 2, func(t *testing.T, stores []routing.Store) {
		const n, limit = 50, 3
		// The agent holds an email ticket: another channel does not count.
		mustAssign(t, stores[0], func() routing.Assignment {
			a := assignment("acme", "mail", "ana")
			a.Channel = "email"
			return a
		}(), limit, false, decision("acme", "mail", 999))
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ticket := fmt.Sprintf("T%02d", i)
				errs[i] = stores[i%2].Assign(ctx, assignment("acme", ticket, "ana"), limit, false, decision("acme", ticket, i))
			})
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			if err == nil {
				ok++
				continue
			}
			want := routing.CapacityError{Agent: "ana", Channel: "chat", Load: limit, Limit: limit}
			if c, is := errors.AsType[*routing.CapacityError](err); !is || *c != want {
				t.Errorf("T%02d: %v, want %v", i, err, &want)
			}
		}
		if ok != limit {
			t.Errorf("%d assignments succeeded, want %d", ok, limit)
		}
		loads, err := stores[1].Loads(ctx, "acme", nil)
		if err != nil || loads["ana"]["chat"] != limit || loads["ana"]["email"] != 1 {
			t.Errorf("Loads = %v, %v; want ana at chat %d, email 1", loads, err, limit)
		}
		held, err := stores[0].Assignments(ctx, "acme", "ana")
		if err != nil || len(held) != limit+1 {
			t.Errorf("Assignments(ana) = %d, %v; want %d", len(held), err, limit+1)
		}
	})
}

func TestLedger(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		// SetAssignment: by hand, no capacity check, replacing the holder,
		// out of the queue.
		mustEnqueue(t, s, routing.QueueEntry{Tenant: "acme", TicketID: "1", Group: "billing", TicketCreateTime: base}, decision("acme", "1", 1))
		mustAssign(t, s, assignment("acme", "2", "ana"), -1, false, decision("acme", "2", 2))
		byHand := routing.Assignment{Tenant: "acme", TicketID: "1", Agent: "ana", Group: "billing", Channel: "chat",
			Answered: true, AssignTime: base.Add(time.Minute)}
		if err := s.SetAssignment(ctx, byHand); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Queued(ctx, "acme", "1"); ok {
			t.Error("a ticket assigned by hand still waits in its queue")
		}
		byHand.Agent, byHand.Answered, byHand.AssignTime = "bo", false, base.Add(2*time.Minute)
		if err := s.SetAssignment(ctx, byHand); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Assignment(ctx, "acme", "1")
		want := byHand
		want.AssignTime = us(byHand.AssignTime)
		if err != nil || !ok || !cmp.Equal(want, got) {
			t.Errorf("Assignment after SetAssignment = %+v, %v, %v; want %+v", got, ok, err, want)
		}
		if agent, _ := s.GetAgent(ctx, "acme", "bo"); agent.ID != "" {
			t.Errorf("SetAssignment made an agent row: %+v", agent)
		}

		// Assignments: oldest first, then by ticket.
		mustAssign(t, s, func() routing.Assignment {
			a := assignment("acme", "0", "bo")
			a.AssignTime = base.Add(2 * time.Minute)
			return a
		}(), -1, false, decision("acme", "0", 3))
		mustAssign(t, s, assignment("acme", "3", "bo"), -1, false, decision("acme", "3", 4))
		held, err := s.Assignments(ctx, "acme", "bo")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range held {
			ids = append(ids, a.TicketID)
		}
		if diff := cmp.Diff([]string{"3", "0", "1"}, ids); diff != "" {
			t.Errorf("Assignments(bo) (-want +got):\n%s", diff)
		}

		// MarkAnswered, then Unassign returns the row.
		if err := s.MarkAnswered(ctx, "acme", "1"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAnswered(ctx, "acme", "nope"); !errors.Is(err, routing.ErrNotFound) ||
			err.Error() != "mark ticket nope answered: no holder: not found" {
			t.Errorf("MarkAnswered(nope): %v, want ErrNotFound", err)
		}
		gone, ok, err := s.Unassign(ctx, "acme", "1")
		want.Answered = true
		if err != nil || !ok || !cmp.Equal(want, gone) {
			t.Errorf("Unassign(1) = %+v, %v, %v; want %+v", gone, ok, err, want)
		}
		if _, ok, err := s.Unassign(ctx, "acme", "1"); ok || err != nil {
			t.Errorf("Unassign(1) again = %v, %v; want nothing", ok, err)
		}
		if _, ok, _ := s.Assignment(ctx, "acme", "1"); ok {
			t.Error("Assignment(1) after Unassign: still held")
		}
		loads, err := s.Loads(ctx, "acme", nil)
		if diff := cmp.Diff(map[string]map[string]int{"ana": {"chat": 1}, "bo": {"chat": 2}}, loads); err != nil || diff != "" {
			t.Errorf("Loads (-want +got), %v:\n%s", err, diff)
		}
	})
}

// TestAssignEnqueueRace: a ticket assigned and enqueued at once, through
// two stores on one database, ends held or queued, never both.
func TestAssignEnqueueRace(t *testing.T) {
	replicas(t, 2, func(t *testing.T, stores []routing.Store) {
		const n = 30
		var wg sync.WaitGroup
		for i := range n {
			ticket := fmt.Sprintf("T%02d", i)
			wg.Go(func() {
				if err := stores[i%2].Assign(ctx, assignment("acme", ticket, fmt.Sprintf("agent-%d", i)), -1, false,
					decision("acme", ticket, 2*i)); err != nil {
					t.Errorf("Assign(%s): %v", ticket, err)
				}
			})
			wg.Go(func() {
				if err := stores[(i+1)%2].Enqueue(ctx, routing.QueueEntry{Tenant: "acme", TicketID: ticket, Group: "tier2",
					TicketCreateTime: base}, decision("acme", ticket, 2*i+1)); err != nil {
					t.Errorf("Enqueue(%s): %v", ticket, err)
				}
			})
		}
		wg.Wait()
		for i := range n {
			ticket := fmt.Sprintf("T%02d", i)
			_, held, err1 := stores[0].Assignment(ctx, "acme", ticket)
			_, queued, err2 := stores[0].Queued(ctx, "acme", ticket)
			if err := errors.Join(err1, err2); err != nil || held == queued {
				t.Errorf("%s: held %v, queued %v, %v; want one of them", ticket, held, queued, err)
			}
		}
	})
}
