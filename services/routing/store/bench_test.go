package store

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kubedesk/kubedesk/services/routing"
)

// benchEngines open a fresh store of each engine for a benchmark: SQLite
// in a temporary file, PostgreSQL in a new database of the test cluster
// (with PostgreSQL's durable defaults under -bench; see TestMain).
var benchEngines = []struct {
	name string
	open func(b *testing.B) *engine
}{
	{"sqlite", func(b *testing.B) *engine {
		s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "routing.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return &s.engine
	}},
	{"postgres", func(b *testing.B) *engine {
		s, err := OpenPostgres(ctx, cluster.NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return &s.engine
	}},
}

// BenchmarkAssign measures the store's part of a routing decision:
//
//   - assign+unassign: one Assign (capacity check, round-robin pick,
//     decision with two candidates) and one Unassign, one after the
//     other, over 100 agents;
//   - loads: Loads of a tenant where 1,000 agents hold 5 tickets each,
//     which the service reads to weigh the candidates;
//   - agents-by-id: the profiles of 1,000 agents in one call.
//
// Run with: go test -run '^$' -bench Assign ./services/routing/store
func BenchmarkAssign(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name+"/assign+unassign", func(b *testing.B) {
			s := e.open(b)
			n := 0
			for b.Loop() {
				n++
				ticket := fmt.Sprintf("T%d", n)
				a := assignment("acme", ticket, fmt.Sprintf("agent-%03d", n%100))
				if err := s.Assign(ctx, a, 10, true, decision("acme", ticket, n)); err != nil {
					b.Fatal(err)
				}
				if _, ok, err := s.Unassign(ctx, "acme", ticket); err != nil || !ok {
					b.Fatalf("Unassign(%s) = %v, %v", ticket, ok, err)
				}
			}
		})
		b.Run(e.name+"/loads-1000x5", func(b *testing.B) {
			s := e.open(b)
			seedLedger(b, s, 1000, 5)
			for b.Loop() {
				loads, err := s.Loads(ctx, "acme", nil)
				if err != nil || len(loads) != 1000 {
					b.Fatalf("Loads = %d agents, %v; want 1000", len(loads), err)
				}
			}
		})
		b.Run(e.name+"/agents-by-id-1000", func(b *testing.B) {
			s := e.open(b)
			ids := seedAgents(b, s, 1000)
			for b.Loop() {
				agents, err := s.AgentsByID(ctx, "acme", ids)
				if err != nil || len(agents) != len(ids) {
					b.Fatalf("AgentsByID = %d, %v; want %d", len(agents), err, len(ids))
				}
			}
		})
	}
}

// seedLedger gives each of agents agents perAgent tickets (over the chat
// and email channels) in one transaction, plus a tenant of the same size
// beside it that Loads must skip.
func seedLedger(b *testing.B, s *engine, agents, perAgent int) {
	b.Helper()
	err := s.d.tx(ctx, func(q queryer) error {
		for _, tenant := range []string{"acme", "globex"} {
			for i := range agents * perAgent {
				channel := []string{"chat", "email"}[i%2]
				if _, err := q.exec(ctx, `INSERT INTO routing_assignments (`+assignmentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					tenant, fmt.Sprintf("T%06d", i), fmt.Sprintf("agent-%04d", i%agents), "billing", channel, false, s.ts(base), ""); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// seedAgents stores n agent profiles in one transaction and returns their
// IDs.
func seedAgents(b *testing.B, s *engine, n int) []string {
	b.Helper()
	ids := make([]string, n)
	skills := skillsJSON([]routing.Skill{{Name: "billing", Level: 3}, {Name: "zh", Level: 5}})
	err := s.d.tx(ctx, func(q queryer) error {
		for i := range ids {
			ids[i] = fmt.Sprintf("agent-%04d", i)
			if _, err := q.exec(ctx, `INSERT INTO routing_agents (`+agentColumns+`)
				VALUES (?, ?, ?, '{"chat":3}', 'online', ?, NULL, ?, 1)`, "acme", ids[i], skills, s.ts(base), s.ts(base)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return ids
}
