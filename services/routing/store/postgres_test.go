package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/kubedesk/kubedesk/services/routing"
)

// TestPostgresCollation: the columns lists and queues are ordered by
// compare bytewise (COLLATE "C") whatever the database's collation, so
// PostgreSQL answers as SQLite does. The test cluster's default collation
// is C, so the contract suite alone would not notice a column without it.
func TestPostgresCollation(t *testing.T) {
	url := cluster.NewDatabase(t)
	s, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name || '.' || column_name || ' ' || coalesce(collation_name, 'default')
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name IN ('routing_groups', 'routing_agents', 'routing_queue',
			'routing_assignments', 'routing_decisions')
		  AND column_name IN ('tenant', 'id', 'ticket_id')
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"routing_agents.id C", "routing_agents.tenant C",
		"routing_assignments.tenant C", "routing_assignments.ticket_id C",
		"routing_decisions.id C", "routing_decisions.tenant C", "routing_decisions.ticket_id default",
		"routing_groups.id C", "routing_groups.tenant C",
		"routing_queue.tenant C", "routing_queue.ticket_id C",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("collations (-want +got):\n%s", diff)
	}
}

// TestPostgresAssignMeetsUncommittedHolder: an Assign that finds the
// ticket free while a transaction that took no ticket lock has inserted
// it, uncommitted, waits at the ledger's primary key and then reports
// that transaction's agent (or succeeds, storing only its decision, when
// that agent is its own). The store's own writers take the ticket's lock,
// so the primary key is the last word only against others.
func TestPostgresAssignMeetsUncommittedHolder(t *testing.T) {
	for _, c := range []struct {
		name, holder string
		taken        bool // else a success
	}{
		{"another agent", "bo", true},
		{"the same agent", "ana", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := cluster.NewDatabase(t)
			s, err := OpenPostgres(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }() // after Commit: a no-op
			if _, err := tx.Exec(ctx, `INSERT INTO routing_assignments (`+assignmentColumns+`)
				VALUES ('acme', '1', $1, 'billing', 'chat', false, now(), 'other')`, c.holder); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.Assign(ctx, assignment("acme", "1", "ana"), 1, true, decision("acme", "1", 1)) }()
			// Wait until the Assign waits on the uncommitted row.
			for {
				var waiting int
				if err := s.d.read.queryRow(ctx, `SELECT count(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
					t.Fatal(err)
				}
				if waiting > 0 {
					break
				}
				select {
				case err := <-done:
					t.Fatalf("Assign returned %v before the holder committed", err)
				case <-time.After(10 * time.Millisecond):
				}
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			err = <-done
			if taken, ok := errors.AsType[*routing.TakenError](err); c.taken && (!ok || taken.Agent != c.holder) || !c.taken && err != nil {
				t.Errorf("Assign: %v, want taken %v (by %s)", err, c.taken, c.holder)
			}
			a, _, _ := s.Assignment(ctx, "acme", "1")
			if a.Agent != c.holder || a.DecisionID != "other" {
				t.Errorf("holder = %+v, want %s's row untouched", a, c.holder)
			}
			_, stored, _ := s.DecisionByKey(ctx, "acme", decision("acme", "1", 1).Key)
			if stored == c.taken {
				t.Errorf("decision stored = %v, want %v", stored, !c.taken)
			}
			if got, _ := s.LastPicked(ctx, "acme", "billing"); got != "" {
				t.Errorf("LastPicked = %q, want none: the assignment was not made", got)
			}
		})
	}
}
