package consumer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kubedesk/kubedesk/services/platform/storage"
	"github.com/kubedesk/kubedesk/services/platform/storage/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster, pgtest.Fast...) }

var ctx = context.Background()

// cursorEngine opens a fresh database of one engine: before runs on it
// first (nil: nothing), then it returns the cursor store opened on it.
type cursorEngine struct {
	name string
	open func(t *testing.T, before func(t *testing.T, sqlitePath, postgresURL string)) Cursors
}

var cursorEngines = []cursorEngine{
	{"sqlite", func(t *testing.T, before func(t *testing.T, sqlitePath, postgresURL string)) Cursors {
		dir := filepath.Join(t.TempDir(), "data")
		if before != nil {
			before(t, filepath.Join(dir, "worker.db"), "")
		}
		c, err := OpenCursors(ctx, "", dir, "worker.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}},
	{"postgres", func(t *testing.T, before func(t *testing.T, sqlitePath, postgresURL string)) Cursors {
		url := cluster.NewDatabase(t)
		if before != nil {
			before(t, "", url)
		}
		c, err := OpenCursors(ctx, url, "", "worker.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}},
}

func load(t *testing.T, c Cursors, consumer, tenant, want string) {
	t.Helper()
	got, err := c.Load(ctx, consumer, tenant)
	if err != nil || got != want {
		t.Fatalf("Load(%s, %s) = %q, %v; want %q", consumer, tenant, got, err, want)
	}
}

// TestCursors is the contract of both cursor stores.
func TestCursors(t *testing.T) {
	for _, e := range cursorEngines {
		t.Run(e.name, func(t *testing.T) {
			c := e.open(t, nil)
			load(t, c, "sla", "acme", "")
			for i := range 3 {
				if err := c.Save(ctx, "sla", "acme", fmt.Sprintf("p1:%d:%d", i, i)); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range [][3]string{{"sla", "globex", "s1:9"}, {"routing", "acme", "s1:4"}} {
				if err := c.Save(ctx, s[0], s[1], s[2]); err != nil {
					t.Fatal(err)
				}
			}
			load(t, c, "sla", "acme", "p1:2:2")
			load(t, c, "sla", "globex", "s1:9")
			load(t, c, "routing", "acme", "s1:4") // consumers keep positions of their own
			load(t, c, "routing", "globex", "")
			load(t, c, "sla", "initech", "")
		})
	}
}

// The SLA relay's table and migration as the relay kept them (scope
// "sla") before this package did.
var slaRelayMigrations = map[string]fstest.MapFS{
	"sqlite": {"0001_cursors.sql": {Data: []byte(`CREATE TABLE sla_relay_cursors (
    tenant      TEXT    NOT NULL PRIMARY KEY,
    cursor      TEXT    NOT NULL,
    update_time INTEGER NOT NULL
) STRICT;
INSERT INTO sla_relay_cursors VALUES ('acme', 's1:42', 1764950400000000);`)}},
	"postgres": {"0001_cursors.sql": {Data: []byte(`CREATE TABLE sla_relay_cursors (
    tenant      text        NOT NULL PRIMARY KEY,
    cursor      text        NOT NULL,
    update_time timestamptz NOT NULL
);
INSERT INTO sla_relay_cursors VALUES ('acme', 'p1:7:42', now());`)}},
}

// TestCursorsKeepSLARelayRows opens a database the SLA relay migrated and
// wrote before the consumer package kept its cursors: the relay resumes
// where it was, under its consumer name.
func TestCursorsKeepSLARelayRows(t *testing.T) {
	want := map[string]string{"sqlite": "s1:42", "postgres": "p1:7:42"}
	for _, e := range cursorEngines {
		t.Run(e.name, func(t *testing.T) {
			c := e.open(t, func(t *testing.T, sqlitePath, postgresURL string) {
				if sqlitePath != "" {
					if err := os.MkdirAll(filepath.Dir(sqlitePath), 0o755); err != nil {
						t.Fatal(err)
					}
					db, err := storage.OpenSQLite(ctx, sqlitePath)
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					if err := db.Migrate(ctx, "sla", slaRelayMigrations["sqlite"]); err != nil {
						t.Fatal(err)
					}
					return
				}
				pool, err := storage.OpenPostgres(ctx, postgresURL)
				if err != nil {
					t.Fatal(err)
				}
				defer pool.Close()
				if err := storage.MigratePostgres(ctx, pool, "sla", slaRelayMigrations["postgres"]); err != nil {
					t.Fatal(err)
				}
			})
			load(t, c, "sla", "acme", want[e.name])
			load(t, c, "routing", "acme", "")
		})
	}
}

func TestOpenCursorsRefuses(t *testing.T) {
	for _, tc := range []struct{ url, dir, want string }{
		{"mysql://x", "", `database URL "mysql://x": unsupported scheme`},
		{"", "", "data directory: is empty"},
	} {
		if _, err := OpenCursors(ctx, tc.url, tc.dir, "worker.db"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("OpenCursors(%q, %q) = %v; want an error containing %q", tc.url, tc.dir, err, tc.want)
		}
	}
}
