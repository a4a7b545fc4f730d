package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/services/platform/storage/pgtest"
	"github.com/kubedesk/kubedesk/services/routing"
)

var cluster *pgtest.Cluster

// TestMain starts the PostgreSQL cluster the contract suite runs against.
// Without it the tests fail rather than skip: an untested engine is not
// shipped. Tests trade durability for speed; benchmarks measure what
// production runs, so they keep PostgreSQL's durable defaults.
func TestMain(m *testing.M) {
	flag.Parse()
	var settings []string
	if flag.Lookup("test.bench").Value.String() == "" {
		settings = pgtest.Fast
	}
	pgtest.Main(m, &cluster, settings...)
}

// engines are SQLite and PostgreSQL, each on a fresh database per test.
var engines = pgtest.Engines(&cluster, "routing.db",
	func(ctx context.Context, path string) (routing.Store, error) { return OpenSQLite(ctx, path) },
	func(ctx context.Context, url string) (routing.Store, error) { return OpenPostgres(ctx, url) })

// contract runs f against a fresh store of every engine, with the same
// expectations.
func contract(t *testing.T, f func(t *testing.T, s routing.Store)) { pgtest.Contract(t, engines, f) }

// replicas runs f against n stores of every engine opened on one fresh
// database, as n processes sharing it would.
func replicas(t *testing.T, n int, f func(t *testing.T, stores []routing.Store)) {
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			open := e.Fresh(t)
			stores := make([]routing.Store, n)
			for i := range stores {
				stores[i] = open(t)
			}
			f(t, stores)
		})
	}
}

var ctx = context.Background()

// base is deliberately not UTC and has nanoseconds: the store must keep
// UTC microseconds.
var base = time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CST", 8*3600))

// us is t as the stores keep it, written out here rather than calling the
// store's own normTime, so the expectation does not share the code under
// test.
func us(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// decisionID makes the n-th test decision ID; like UUIDv7 strings they
// sort in creation order.
func decisionID(n int) string { return fmt.Sprintf("01900000-0000-7000-8000-%012d", n) }

func second[T any](_ T, err error) error { return err }

func third[T, U any](_ T, _ U, err error) error { return err }

// equateEmpty: a nil list or map reads back empty, and the reverse.
var equateEmpty = cmpopts.EquateEmpty()

func decision(tenant, ticket string, n int) routing.Decision {
	return routing.Decision{
		Tenant: tenant, ID: decisionID(n), TicketID: ticket, Key: fmt.Sprintf("event:%d", n),
		Trigger: routing.TriggerCreated, Outcome: routing.Assigned, Group: "billing", Agent: "ana",
		Strategy: routing.LeastLoaded,
		Rules: []routing.RuleMatch{{Rule: "vip-billing", Reasons: []routing.Reason{
			{Code: "rule.tier", Args: map[string]string{"tier": "vip"}},
			{Code: "rule.keyword", Args: map[string]string{"keyword": "发票"}},
		}}},
		Candidates: []routing.Candidate{
			{Agent: "ana", Chosen: true, Reason: routing.Reason{Code: "candidate.least_loaded", Args: map[string]string{"load": "1"}}},
			{Agent: "bo", Reason: routing.Reason{Code: "candidate.offline"}},
		},
		Notes: []routing.Reason{{Code: "note.open"}},
		Actions: routing.Actions{AddTags: []string{"账单"}, PriorityAtLeast: 2,
			SetCustomFields: map[string]string{"queue": "finance"}, Note: "转给账单组"},
		CreateTime: base.Add(time.Duration(n) * time.Second),
	}
}

func assignment(tenant, ticket, agent string) routing.Assignment {
	return routing.Assignment{
		Tenant: tenant, TicketID: ticket, Agent: agent, Group: "billing", Channel: "chat",
		AssignTime: base,
	}
}

func calendar() v1alpha1.BusinessCalendar {
	return v1alpha1.BusinessCalendar{
		TimeZone: "Asia/Shanghai",
		WorkingHours: []v1alpha1.WorkingHours{
			{Days: []v1alpha1.Weekday{"Monday", "Tuesday"}, Start: "09:00", End: "18:00"},
		},
		Holidays:         []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}},
		ExtraWorkingDays: []string{"2026-10-10"},
	}
}

func mustGroup(t *testing.T, s routing.Store, g routing.Group) routing.Group {
	t.Helper()
	out, err := s.CreateGroup(ctx, g)
	if err != nil {
		t.Fatalf("CreateGroup(%s): %v", g.ID, err)
	}
	return out
}

func mustAssign(t *testing.T, s routing.Store, a routing.Assignment, limit int, rr bool, d routing.Decision) {
	t.Helper()
	if err := s.Assign(ctx, a, limit, rr, d); err != nil {
		t.Fatalf("Assign(%s to %s): %v", a.TicketID, a.Agent, err)
	}
}

func mustEnqueue(t *testing.T, s routing.Store, q routing.QueueEntry, d routing.Decision) {
	t.Helper()
	if err := s.Enqueue(ctx, q, d); err != nil {
		t.Fatalf("Enqueue(%s in %s): %v", q.TicketID, q.Group, err)
	}
}

func TestOpen(t *testing.T) {
	pgtest.CheckOpen(t, cluster, Open, "routing.db",
		func(s routing.Store) bool { _, ok := s.(*SQLite); return ok },
		func(s routing.Store) bool { _, ok := s.(*Postgres); return ok })
}

// TestReopen: a second open of a migrated database migrates nothing and
// reads what the first wrote (a restart).
func TestReopen(t *testing.T) {
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			open := e.Fresh(t)
			g := mustGroup(t, open(t), routing.Group{Tenant: "acme", ID: "billing", Strategy: routing.RoundRobin})
			got, err := open(t).GetGroup(ctx, "acme", "billing")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(g, got); diff != "" {
				t.Errorf("group after a reopen (-created +read):\n%s", diff)
			}
		})
	}
}

// TestTenants: Tenants lists the tenants with any routing state, once
// each, in order.
func TestTenants(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		if got, err := s.Tenants(ctx); err != nil || len(got) != 0 {
			t.Fatalf("Tenants() of an empty store = %v, %v; want none", got, err)
		}
		mustGroup(t, s, routing.Group{Tenant: "t-group", ID: "billing"})
		mustGroup(t, s, routing.Group{Tenant: "t-group", ID: "network"})
		if _, err := s.SetPresence(ctx, "t-agent", "ana", routing.Online, base, time.Time{}); err != nil {
			t.Fatal(err)
		}
		mustEnqueue(t, s, routing.QueueEntry{Tenant: "t-queue", TicketID: "1", Group: "g", TicketCreateTime: base},
			decision("t-queue", "1", 1))
		if err := s.SetAssignment(ctx, assignment("t-ledger", "2", "bo")); err != nil {
			t.Fatal(err)
		}
		if err := s.AddDecision(ctx, decision("t-unapplied", "3", 3)); err != nil {
			t.Fatal(err)
		}
		applied := decision("t-applied", "4", 4)
		applied.Applied = true
		if err := s.AddDecision(ctx, applied); err != nil {
			t.Fatal(err)
		}
		got, err := s.Tenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// t-queue's decision is stored with its entry; t-applied's decision
		// needs nothing more.
		want := []string{"t-agent", "t-group", "t-ledger", "t-queue", "t-unapplied"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Tenants() (-want +got):\n%s", diff)
		}
	})
}

// TestTenantIsolation: a tenant never sees another's rows, and the same
// IDs, keys and agents in two tenants are independent.
func TestTenantIsolation(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		mustGroup(t, s, routing.Group{Tenant: "acme", ID: "billing", Members: []string{"ana"}})
		if _, err := s.PutAgentProfile(ctx, routing.Agent{Tenant: "acme", ID: "ana", Skills: []routing.Skill{{Name: "billing", Level: 3}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetPresence(ctx, "acme", "ana", routing.Online, base, base.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		mustAssign(t, s, assignment("acme", "1", "ana"), 1, true, decision("acme", "1", 1))
		mustEnqueue(t, s, routing.QueueEntry{Tenant: "acme", TicketID: "2", Group: "billing", TicketCreateTime: base},
			decision("acme", "2", 2))

		// globex reads nothing of acme's.
		const g = "globex"
		if _, err := s.GetGroup(ctx, g, "billing"); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("GetGroup from globex: %v, want ErrNotFound", err)
		}
		if got, err := s.ListGroups(ctx, g, "", 10); err != nil || len(got) != 0 {
			t.Errorf("ListGroups(globex) = %v, %v; want none", got, err)
		}
		if _, err := s.GetAgent(ctx, g, "ana"); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("GetAgent from globex: %v, want ErrNotFound", err)
		}
		if got, err := s.ListAgents(ctx, g, "", 10); err != nil || len(got) != 0 {
			t.Errorf("ListAgents(globex) = %v, %v; want none", got, err)
		}
		if got, err := s.AgentsByID(ctx, g, []string{"ana"}); err != nil || len(got) != 0 {
			t.Errorf("AgentsByID(globex) = %v, %v; want none", got, err)
		}
		if got, err := s.LapsePresence(ctx, g, base.Add(time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("LapsePresence(globex) = %v, %v; want none", got, err)
		}
		if _, ok, err := s.Assignment(ctx, g, "1"); ok || err != nil {
			t.Errorf("Assignment(globex, 1) = %v, %v; want none", ok, err)
		}
		if got, err := s.Loads(ctx, g, nil); err != nil || len(got) != 0 {
			t.Errorf("Loads(globex) = %v, %v; want none", got, err)
		}
		if got, err := s.Assignments(ctx, g, "ana"); err != nil || len(got) != 0 {
			t.Errorf("Assignments(globex, ana) = %v, %v; want none", got, err)
		}
		if err := s.MarkAnswered(ctx, g, "1"); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("MarkAnswered(globex, 1): %v, want ErrNotFound", err)
		}
		if _, ok, err := s.Unassign(ctx, g, "1"); ok || err != nil {
			t.Errorf("Unassign(globex, 1) = %v, %v; want nothing to remove", ok, err)
		}
		if _, ok, err := s.Queued(ctx, g, "2"); ok || err != nil {
			t.Errorf("Queued(globex, 2) = %v, %v; want none", ok, err)
		}
		if err := s.Dequeue(ctx, g, "2"); err != nil {
			t.Error(err)
		}
		if got, err := s.Queue(ctx, g, "", 10); err != nil || len(got) != 0 {
			t.Errorf("Queue(globex) = %v, %v; want none", got, err)
		}
		if got, err := s.QueueSizes(ctx, g); err != nil || len(got) != 0 {
			t.Errorf("QueueSizes(globex) = %v, %v; want none", got, err)
		}
		if got, err := s.LastPicked(ctx, g, "billing"); err != nil || got != "" {
			t.Errorf("LastPicked(globex) = %q, %v; want none", got, err)
		}
		if _, ok, err := s.DecisionByKey(ctx, g, "event:1"); ok || err != nil {
			t.Errorf("DecisionByKey(globex) = %v, %v; want none", ok, err)
		}
		if got, err := s.Decisions(ctx, g, "1", "", 10); err != nil || len(got) != 0 {
			t.Errorf("Decisions(globex, 1) = %v, %v; want none", got, err)
		}
		if _, err := s.Decisions(ctx, g, "1", decisionID(1), 10); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("Decisions(globex) after acme's decision: %v, want ErrNotFound", err)
		}
		if got, err := s.Unapplied(ctx, g, base.Add(time.Hour), 10); err != nil || len(got) != 0 {
			t.Errorf("Unapplied(globex) = %v, %v; want none", got, err)
		}
		if err := s.MarkApplied(ctx, g, decisionID(1)); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("MarkApplied(globex, acme's decision): %v, want ErrNotFound", err)
		}
		if err := s.DeleteGroup(ctx, g, "billing"); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("DeleteGroup(globex, billing): %v, want ErrNotFound", err)
		}
		if _, err := s.UpdateGroup(ctx, routing.Group{Tenant: g, ID: "billing", Version: 1}); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("UpdateGroup(globex, billing): %v, want ErrNotFound", err)
		}

		// The same names in globex are globex's own: the group ID, the
		// ticket (not taken), the agent's capacity (acme's ana is full at
		// 1), the decision IDs and keys.
		mustGroup(t, s, routing.Group{Tenant: g, ID: "billing"})
		if _, err := s.PutAgentProfile(ctx, routing.Agent{Tenant: g, ID: "ana"}); err != nil {
			t.Errorf("PutAgentProfile(globex, ana, version 0): %v", err)
		}
		mustAssign(t, s, assignment(g, "1", "bo"), 1, true, decision(g, "1", 1))
		mustAssign(t, s, assignment(g, "3", "ana"), 1, false, decision(g, "3", 3))
		mustEnqueue(t, s, routing.QueueEntry{Tenant: g, TicketID: "2", Group: "network", TicketCreateTime: base}, decision(g, "2", 2))

		// acme's rows are as they were.
		if a, ok, err := s.Assignment(ctx, "acme", "1"); err != nil || !ok || a.Agent != "ana" {
			t.Errorf("Assignment(acme, 1) = %+v, %v, %v; want ana's", a, ok, err)
		}
		if got, err := s.LastPicked(ctx, "acme", "billing"); err != nil || got != "ana" {
			t.Errorf("LastPicked(acme, billing) = %q, %v; want ana", got, err)
		}
		if q, ok, err := s.Queued(ctx, "acme", "2"); err != nil || !ok || q.Group != "billing" {
			t.Errorf("Queued(acme, 2) = %+v, %v, %v; want in billing", q, ok, err)
		}
		if a, err := s.GetAgent(ctx, "acme", "ana"); err != nil || a.Version != 1 || a.Presence != routing.Online {
			t.Errorf("GetAgent(acme, ana) = %+v, %v; want version 1, online", a, err)
		}
		if got, err := s.Decisions(ctx, "acme", "1", "", 10); err != nil || len(got) != 1 || got[0].Tenant != "acme" {
			t.Errorf("Decisions(acme, 1) = %+v, %v; want acme's one", got, err)
		}
	})
}

// TestNULText: text holding the NUL character is refused by every engine
// alike, with ErrNULText naming the field, and nothing is written
// (PostgreSQL cannot store it, SQLite could).
func TestNULText(t *testing.T) {
	const nul = "a\x00b"
	contract(t, func(t *testing.T, s routing.Store) {
		d := decision("acme", "1", 1)
		withDecision := func(edit func(*routing.Decision)) routing.Decision { out := d; edit(&out); return out }
		entry := routing.QueueEntry{Tenant: "acme", TicketID: "1", Group: "billing", TicketCreateTime: base}
		checks := []struct {
			name string
			err  error
			want string
		}{
			{"create group: id", second(s.CreateGroup(ctx, routing.Group{Tenant: "acme", ID: nul})), `create group: id "a\x00b": `},
			{"create group: member", second(s.CreateGroup(ctx, routing.Group{Tenant: "acme", ID: "g", Members: []string{"ana", nul}})),
				`create group: member "a\x00b": `},
			{"update group: overflow", second(s.UpdateGroup(ctx, routing.Group{Tenant: "acme", ID: "g", Overflow: &routing.Overflow{Group: nul}})),
				`update group: overflow group "a\x00b": `},
			{"get group: tenant", second(s.GetGroup(ctx, nul, "g")), `get group: tenant "a\x00b": `},
			{"list groups: after", second(s.ListGroups(ctx, "acme", nul, 10)), `list groups: after "a\x00b": `},
			{"put agent profile: skill", second(s.PutAgentProfile(ctx, routing.Agent{Tenant: "acme", ID: "ana", Skills: []routing.Skill{{Name: nul, Level: 1}}})),
				`put agent profile: skill "a\x00b": `},
			{"set presence: id", second(s.SetPresence(ctx, "acme", nul, routing.Online, base, time.Time{})), `set presence: id "a\x00b": `},
			{"agents by id", second(s.AgentsByID(ctx, "acme", []string{"ana", nul})), `agents by id: id "a\x00b": `},
			{"assign: agent", s.Assign(ctx, assignment("acme", "1", nul), -1, false, d), `assign: agent "a\x00b": `},
			{"assign: decision key", s.Assign(ctx, assignment("acme", "1", "ana"), -1, false, withDecision(func(d *routing.Decision) { d.Key = nul })),
				`assign: decision key "a\x00b": `},
			{"set assignment: channel", s.SetAssignment(ctx, routing.Assignment{Tenant: "acme", TicketID: "1", Agent: "ana", Channel: nul}),
				`set assignment: channel "a\x00b": `},
			{"enqueue: group", s.Enqueue(ctx, routing.QueueEntry{Tenant: "acme", TicketID: "1", Group: nul, TicketCreateTime: base}, d),
				`enqueue: group "a\x00b": `},
			{"enqueue: decision actor", s.Enqueue(ctx, entry, withDecision(func(d *routing.Decision) { d.ActorDisplayName = nul })),
				`enqueue: decision actor name "a\x00b": `},
			{"add decision: agent", s.AddDecision(ctx, withDecision(func(d *routing.Decision) { d.Agent = nul })), `add decision: decision agent "a\x00b": `},
			{"decision by key", third(s.DecisionByKey(ctx, "acme", nul)), `decision by key: key "a\x00b": `},
			{"hold a lease", second(s.HoldLease(ctx, nul, "p1", time.Minute)), `hold a lease: lease "a\x00b": `},
		}
		for _, c := range checks {
			want := c.want + ErrNULText.Error()
			if !errors.Is(c.err, ErrNULText) || c.err.Error() != want {
				t.Errorf("%s: err = %v, want ErrNULText: %s", c.name, c.err, want)
			}
		}
		if got, err := s.Tenants(ctx); err != nil || len(got) != 0 {
			t.Errorf("Tenants() after the refusals = %v, %v; want none (nothing written)", got, err)
		}
	})
}

// TestBadInput: what the store cannot keep is refused with a message
// naming the field, before anything is written.
func TestBadInput(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		d := decision("acme", "1", 1)
		a := assignment("acme", "1", "ana")
		entry := routing.QueueEntry{Tenant: "acme", TicketID: "1", Group: "billing", TicketCreateTime: base}
		checks := []struct {
			name string
			err  error
			want string
		}{
			{"group without ID", second(s.CreateGroup(ctx, routing.Group{Tenant: "acme"})), `create group: id: is required`},
			{"group without tenant", second(s.CreateGroup(ctx, routing.Group{ID: "g"})), `create group: tenant: is required`},
			{"overflow without group", second(s.CreateGroup(ctx, routing.Group{Tenant: "acme", ID: "g", Overflow: &routing.Overflow{After: time.Minute}})),
				`create group: overflow group: is required when the group overflows`},
			{"list groups: limit", second(s.ListGroups(ctx, "acme", "", 0)), `list groups: limit 0: must be > 0`},
			{"list agents: limit", second(s.ListAgents(ctx, "acme", "", -1)), `list agents: limit -1: must be > 0`},
			{"queue: limit", second(s.Queue(ctx, "acme", "", 0)), `queue: limit 0: must be > 0`},
			{"decisions: limit", second(s.Decisions(ctx, "acme", "1", "", 0)), `list decisions: limit 0: must be > 0`},
			{"unapplied: limit", second(s.Unapplied(ctx, "acme", base, 0)), `unapplied decisions: limit 0: must be > 0`},
			{"profile: negative version", second(s.PutAgentProfile(ctx, routing.Agent{Tenant: "acme", ID: "ana", Version: -1})),
				`put agent profile: version -1: must be 0 (a new profile) or the stored version`},
			{"presence", second(s.SetPresence(ctx, "acme", "ana", "busy", base, time.Time{})),
				`set presence: presence "busy": must be online, away or offline`},
			{"assign: no agent", s.Assign(ctx, assignment("acme", "1", ""), 1, false, d), `assign: agent: is required`},
			{"assign: no decision ID", s.Assign(ctx, a, 1, false, routing.Decision{Tenant: "acme", TicketID: "1"}), `assign: decision id: is required`},
			{"assign: decision of another ticket", s.Assign(ctx, a, 1, false, decision("acme", "2", 1)),
				`assign: decision ticket id "2": must be the assignment's, "1"`},
			{"assign: decision of another tenant", s.Assign(ctx, a, 1, false, decision("globex", "1", 1)),
				`assign: decision tenant "globex": must be the assignment's, "acme"`},
			{"assign: another decision ID", s.Assign(ctx, routing.Assignment{Tenant: "acme", TicketID: "1", Agent: "ana", DecisionID: "x"}, 1, false, d),
				`assign: decision id "x": must be empty or the decision's, "` + d.ID + `"`},
			{"assign: round robin without group", s.Assign(ctx, routing.Assignment{Tenant: "acme", TicketID: "1", Agent: "ana"}, 1, true, d),
				`assign: group: is required to record a round-robin pick`},
			{"enqueue: no ticket time", s.Enqueue(ctx, routing.QueueEntry{Tenant: "acme", TicketID: "1", Group: "billing"}, d),
				`enqueue: ticket create time: is the zero time; the queue is ordered by it`},
			{"enqueue: no group", s.Enqueue(ctx, routing.QueueEntry{Tenant: "acme", TicketID: "1", TicketCreateTime: base}, d),
				`enqueue: group: is required`},
			{"enqueue: decision of another ticket", s.Enqueue(ctx, entry, decision("acme", "2", 1)),
				`enqueue: decision ticket id "2": must be the entry's, "1"`},
			{"add decision: no ticket", s.AddDecision(ctx, routing.Decision{Tenant: "acme", ID: "d"}), `add decision: decision ticket id: is required`},
			{"unassign: no ticket", third(s.Unassign(ctx, "acme", "")), `unassign: ticket id: is required`},
			{"lapse: zero time", second(s.LapsePresence(ctx, "acme", time.Time{})), `lapse presence: now: is the zero time`},
			{"hold a lease: no holder", second(s.HoldLease(ctx, "x", "", time.Minute)), `hold a lease: holder: is required`},
		}
		for _, c := range checks {
			if c.err == nil || c.err.Error() != c.want {
				t.Errorf("%s: err = %v, want %s", c.name, c.err, c.want)
			}
		}
		if got, err := s.Tenants(ctx); err != nil || len(got) != 0 {
			t.Errorf("Tenants() after the refusals = %v, %v; want none (nothing written)", got, err)
		}
	})
}
