package store

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/platform/storage"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// TestNumbers: each tenant's tickets are numbered 1, 2, 3, ... in creation
// order, independently of other tenants; a retried create returns the
// first ticket's number and takes none.
func TestNumbers(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		var got []string
		for n := 1; n <= 3; n++ {
			for _, tenant := range []string{"acme", "globex"} {
				tk := fixture(tenant, n)
				tk.Number = 99 // the store's to assign
				created := create(t, s, tk)
				read, err := s.GetTicket(ctx, tenant, tk.ID)
				if err != nil {
					t.Fatal(err)
				}
				if read.Number != created.Number {
					t.Errorf("ticket %s of %s: created as number %d, read as %d", tk.ID, tenant, created.Number, read.Number)
				}
				got = append(got, fmt.Sprintf("%s#%d", tenant, created.Number))
			}
		}
		want := []string{"acme#1", "globex#1", "acme#2", "globex#2", "acme#3", "globex#3"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("numbers (-want +got):\n%s", diff)
		}

		// A retry with a used key: the first ticket, and no number taken.
		idem := ticket.Idempotency{Key: "k1", RequestHash: "h1"}
		first, created, err := s.CreateTicket(ctx, fixture("acme", 4), idem)
		if err != nil || !created || first.Number != 4 {
			t.Fatalf("CreateTicket with a new key = number %d, created %v, %v; want number 4", first.Number, created, err)
		}
		retry, created, err := s.CreateTicket(ctx, fixture("acme", 5), idem)
		if err != nil || created || retry.ID != first.ID || retry.Number != 4 {
			t.Fatalf("retry = %s number %d, created %v, %v; want %s number 4", retry.ID, retry.Number, created, err, first.ID)
		}
		if next := create(t, s, fixture("acme", 6)); next.Number != 5 {
			t.Errorf("the create after a retry got number %d, want 5: the retry took none", next.Number)
		}

		// The event carries the number.
		events := allEvents(t, s, "acme")
		if last := events[len(events)-1]; last.Ticket.Number != 5 {
			t.Errorf("ticket.created event of number 5 carries number %d", last.Ticket.Number)
		}
	})
}

// TestNumbersConcurrent: creates of one tenant at once get distinct
// numbers, without gaps when none fails. On PostgreSQL they come from
// the tenant's sequence, from several connections (and a second store
// standing for a second replica, which creates the sequence too).
func TestNumbersConcurrent(t *testing.T) {
	const n = 40
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			open := e.Fresh(t)
			stores := []ticket.Store{open(t), open(t)}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				numbers []int64
			)
			for i := range n {
				wg.Go(func() {
					tk, created, err := stores[i%2].CreateTicket(ctx, fixture("acme", i+1), ticket.Idempotency{})
					if err != nil || !created {
						t.Errorf("CreateTicket %d: created %v, %v", i, created, err)
						return
					}
					mu.Lock()
					numbers = append(numbers, tk.Number)
					mu.Unlock()
				})
			}
			wg.Wait()
			slices.Sort(numbers)
			want := make([]int64, n)
			for i := range want {
				want[i] = int64(i + 1)
			}
			if diff := cmp.Diff(want, numbers); diff != "" {
				t.Errorf("numbers of %d concurrent creates (-want +got):\n%s", n, diff)
			}
		})
	}
}

// migrationsBefore is the engine's migrations older than version.
func migrationsBefore(t *testing.T, engine string, version int) fs.FS {
	t.Helper()
	all := storage.EngineMigrations(migrations, engine)
	entries, err := fs.ReadDir(all, ".")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, e := range entries {
		if e.Name() >= fmt.Sprintf("%04d_", version) {
			continue
		}
		b, err := fs.ReadFile(all, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = &fstest.MapFile{Data: b}
	}
	return out
}

// schema4TicketColumns are the tickets columns of schema version 4, before
// numbers and contacts.
const schema4TicketColumns = `tenant, id, subject, description, status, impact, urgency, priority, channel,
	requester_name, requester_email, requester_identity, group_name, assignee, tags, custom_fields,
	create_time, update_time, solve_time, version`

// TestNumberBackfill: tickets stored before numbers existed are numbered
// per tenant in creation order by the migration, and new tickets carry
// on from the highest.
func TestNumberBackfill(t *testing.T) {
	// Creation order is by create time (then ID), which here is not the ID
	// order.
	legacy := []ticket.Ticket{fixture("acme", 1), fixture("acme", 2), fixture("globex", 3), fixture("acme", 4), fixture("globex", 5)}
	legacy[0].CreateTime = base.Add(time.Hour) // acme's last
	want := map[string]int64{legacy[1].ID: 1, legacy[3].ID: 2, legacy[0].ID: 3, legacy[2].ID: 1, legacy[4].ID: 2}

	old := map[string]func(t *testing.T) (open func(t *testing.T) ticket.Store){
		"sqlite": func(t *testing.T) func(t *testing.T) ticket.Store {
			path := filepath.Join(t.TempDir(), "ticket.db")
			db, err := storage.OpenSQLite(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx, migrationScope, migrationsBefore(t, "sqlite", 5)); err != nil {
				t.Fatal(err)
			}
			for _, tk := range legacy {
				if _, err := db.Write.ExecContext(ctx, `INSERT INTO tickets (`+schema4TicketColumns+`)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sqliteTicketArgs(normTicket(tk))[:20]...); err != nil {
					t.Fatal(err)
				}
			}
			return func(t *testing.T) ticket.Store {
				s, err := OpenSQLite(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		},
		"postgres": func(t *testing.T) func(t *testing.T) ticket.Store {
			url := cluster.NewDatabase(t)
			pool, err := storage.OpenPostgres(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if err := storage.MigratePostgres(ctx, pool, migrationScope, migrationsBefore(t, "postgres", 5)); err != nil {
				t.Fatal(err)
			}
			for _, tk := range legacy {
				if _, err := pool.Exec(ctx, `INSERT INTO tickets (`+schema4TicketColumns+`)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
					pgTicketArgs(normTicket(tk))[:20]...); err != nil {
					t.Fatal(err)
				}
			}
			return func(t *testing.T) ticket.Store {
				s, err := OpenPostgres(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		},
	}
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			s := old[e.Name](t)(t) // migrates to the current schema
			for _, tk := range legacy {
				got, err := s.GetTicket(ctx, tk.Tenant, tk.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Number != want[tk.ID] {
					t.Errorf("legacy ticket %s of %s: number %d, want %d", tk.ID, tk.Tenant, got.Number, want[tk.ID])
				}
				if got.Requester.ContactID != "" || got.Attachments != nil {
					t.Errorf("legacy ticket %s: contact %q, attachments %v; want none", tk.ID, got.Requester.ContactID, got.Attachments)
				}
			}
			if tk := create(t, s, fixture("acme", 10)); tk.Number != 4 {
				t.Errorf("acme's first new ticket: number %d, want 4", tk.Number)
			}
			if tk := create(t, s, fixture("globex", 11)); tk.Number != 3 {
				t.Errorf("globex's first new ticket: number %d, want 3", tk.Number)
			}
			if tk := create(t, s, fixture("initech", 12)); tk.Number != 1 {
				t.Errorf("a new tenant's first ticket: number %d, want 1", tk.Number)
			}
		})
	}
}

// TestNumberAndContactFilters: ListTickets by number and by the
// requester's contact; UpdateTicket changes the contact with the
// requester.
func TestNumberAndContactFilters(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		for n := 1; n <= 4; n++ {
			tk := fixture("acme", n)
			tk.Requester.ContactID = fmt.Sprintf("c%d", n%2)
			create(t, s, tk)
		}
		create(t, s, fixture("globex", 9)) // globex's number 1
		ids := func(f ticket.Filter) []string {
			t.Helper()
			page, err := s.ListTickets(ctx, "acme", ticket.ListQuery{Filter: f, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, tk := range page {
				out = append(out, fmt.Sprintf("#%d %s", tk.Number, tk.Requester.ContactID))
			}
			return out
		}
		for _, tt := range []struct {
			name string
			f    ticket.Filter
			want []string
		}{
			{"number", ticket.Filter{Numbers: []int64{2}}, []string{"#2 c0"}},
			{"numbers", ticket.Filter{Numbers: []int64{1, 3, 7}}, []string{"#3 c1", "#1 c1"}},
			{"contact", ticket.Filter{Contacts: []string{"c0"}}, []string{"#4 c0", "#2 c0"}},
			{"contact and number", ticket.Filter{Contacts: []string{"c0"}, Numbers: []int64{1, 2}}, []string{"#2 c0"}},
			{"unknown contact", ticket.Filter{Contacts: []string{"c9"}}, nil},
		} {
			if diff := cmp.Diff(tt.want, ids(tt.f)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}

		// The contact changes with the requester, indexed as it is.
		got, err := s.UpdateTicket(ctx, "acme", id(1), func(tk *ticket.Ticket) ([]ticket.Change, error) {
			old := tk.Requester
			tk.Requester.ContactID = "c7"
			return []ticket.Change{{Field: "requester", Old: old, New: tk.Requester}}, nil
		})
		if err != nil || got.Requester.ContactID != "c7" || got.Number != 1 {
			t.Fatalf("UpdateTicket = contact %q number %d, %v; want c7 and number 1 kept", got.Requester.ContactID, got.Number, err)
		}
		if diff := cmp.Diff([]string{"#1 c7"}, ids(ticket.Filter{Contacts: []string{"c7"}})); diff != "" {
			t.Errorf("contact after update (-want +got):\n%s", diff)
		}
		events := allEvents(t, s, "acme")
		last := events[len(events)-1]
		if r, ok := last.Changes[0].New.(ticket.Requester); !ok || r.ContactID != "c7" {
			t.Errorf("update event's requester change = %#v, want the new contact", last.Changes[0].New)
		}
	})
}
