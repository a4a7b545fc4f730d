package storage

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []Migration
		wantErr bool
	}{
		{
			name: "ordered by version, other files ignored",
			fsys: fstest.MapFS{
				"0010_ten.sql":    file("ten"),
				"0002_two.sql":    file("two"),
				"0001_one.sql":    file("one"),
				"README.md":       file("docs"),
				"sub/0003_x.sql":  file("nested"),
				"0003_three-.sql": file("three"),
			},
			want: []Migration{
				{Version: 1, Name: "0001_one.sql", SQL: "one"},
				{Version: 2, Name: "0002_two.sql", SQL: "two"},
				{Version: 3, Name: "0003_three-.sql", SQL: "three"},
				{Version: 10, Name: "0010_ten.sql", SQL: "ten"},
			},
		},
		{name: "empty", fsys: fstest.MapFS{}},
		{name: "no number", fsys: fstest.MapFS{"init.sql": file("")}, wantErr: true},
		{name: "no description", fsys: fstest.MapFS{"0001.sql": file("")}, wantErr: true},
		{name: "version zero", fsys: fstest.MapFS{"0000_zero.sql": file("")}, wantErr: true},
		{name: "duplicate version", fsys: fstest.MapFS{"0001_a.sql": file(""), "1_b.sql": file("")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadMigrations(tt.fsys)
			if (err != nil) != tt.wantErr {
				t.Fatalf("LoadMigrations: err = %v, want error: %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadMigrations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPending(t *testing.T) {
	known := []Migration{{Version: 1, Name: "0001_a.sql"}, {Version: 2, Name: "0002_b.sql"}, {Version: 3, Name: "0003_c.sql"}}
	tests := []struct {
		name    string
		applied []int64
		want    []int64
		wantErr error
	}{
		{name: "fresh", applied: nil, want: []int64{1, 2, 3}},
		{name: "partly", applied: []int64{1}, want: []int64{2, 3}},
		{name: "all", applied: []int64{2, 1, 3}, want: nil},
		{name: "newer", applied: []int64{1, 2, 3, 4}, wantErr: ErrSchemaTooNew},
		{name: "skipped one", applied: []int64{1, 3}, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pending("test", known, tt.applied)
			if !matches(err, tt.wantErr) {
				t.Fatalf("pending: err = %v, want %v", err, tt.wantErr)
			}
			var versions []int64
			for _, m := range got {
				versions = append(versions, m.Version)
			}
			if diff := cmp.Diff(tt.want, versions); diff != "" {
				t.Errorf("pending (-want +got):\n%s", diff)
			}
		})
	}
}

// errAny in a test table means "some error".
var errAny = errors.New("any error")

func matches(err, want error) bool {
	if errors.Is(want, errAny) {
		return err != nil
	}
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

// migrationDB is one handle on a database under test, on either engine.
type migrationDB struct {
	migrate func(ctx context.Context, scope string, fsys fs.FS) error
	// count runs a SELECT count(*) ... and returns the count.
	count func(t *testing.T, query string) int64
}

// migrationEngines return a connect func that opens a new handle on one
// fresh database each time it is called.
var migrationEngines = []struct {
	name  string
	fresh func(t *testing.T) func(t *testing.T) migrationDB
}{
	{"sqlite", func(t *testing.T) func(t *testing.T) migrationDB {
		path := filepath.Join(t.TempDir(), "m.db")
		return func(t *testing.T) migrationDB {
			db := openTestSQLite(t, path)
			return migrationDB{
				migrate: db.Migrate,
				count: func(t *testing.T, query string) int64 {
					t.Helper()
					var n int64
					if err := db.Read.QueryRow(query).Scan(&n); err != nil {
						t.Fatalf("%s: %v", query, err)
					}
					return n
				},
			}
		}
	}},
	{"postgres", func(t *testing.T) func(t *testing.T) migrationDB {
		url := cluster.NewDatabase(t)
		return func(t *testing.T) migrationDB {
			pool, err := OpenPostgres(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			return migrationDB{
				migrate: func(ctx context.Context, scope string, fsys fs.FS) error {
					return MigratePostgres(ctx, pool, scope, fsys)
				},
				count: func(t *testing.T, query string) int64 {
					t.Helper()
					var n int64
					if err := pool.QueryRow(context.Background(), query).Scan(&n); err != nil {
						t.Fatalf("%s: %v", query, err)
					}
					return n
				},
			}
		}
	}},
}

// SQL both engines accept.
var (
	createA = &fstest.MapFile{Data: []byte("CREATE TABLE a (id INTEGER PRIMARY KEY, note TEXT);\nINSERT INTO a (id, note) VALUES (1, 'first');")}
	createB = &fstest.MapFile{Data: []byte("CREATE TABLE b (id INTEGER PRIMARY KEY);\nINSERT INTO a (id, note) VALUES (2, 'second');")}
	broken  = &fstest.MapFile{Data: []byte("CREATE TABLE c (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);")}
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	for _, e := range migrationEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Run("applies in order and is idempotent on restart", func(t *testing.T) {
				connect := e.fresh(t)
				fsys := fstest.MapFS{"0001_a.sql": createA, "0002_b.sql": createB}
				for range 2 {
					db := connect(t)
					if err := db.migrate(ctx, "svc", fsys); err != nil {
						t.Fatalf("migrate: %v", err)
					}
					if got := db.count(t, "SELECT count(*) FROM a"); got != 2 {
						t.Errorf("rows in a = %d, want 2 (each migration ran once)", got)
					}
					if got := db.count(t, "SELECT count(*) FROM schema_migrations WHERE scope = 'svc'"); got != 2 {
						t.Errorf("recorded migrations = %d, want 2", got)
					}
				}
			})
			t.Run("applies only the new migration", func(t *testing.T) {
				db := e.fresh(t)(t)
				if err := db.migrate(ctx, "svc", fstest.MapFS{"0001_a.sql": createA}); err != nil {
					t.Fatal(err)
				}
				if err := db.migrate(ctx, "svc", fstest.MapFS{"0001_a.sql": createA, "0002_b.sql": createB}); err != nil {
					t.Fatal(err)
				}
				if got := db.count(t, "SELECT count(*) FROM a"); got != 2 {
					t.Errorf("rows in a = %d, want 2", got)
				}
			})
			t.Run("failed migration leaves nothing behind", func(t *testing.T) {
				db := e.fresh(t)(t)
				err := db.migrate(ctx, "svc", fstest.MapFS{"0001_a.sql": createA, "0002_c.sql": broken})
				if err == nil {
					t.Fatal("migrate with a broken migration succeeded")
				}
				if got := db.count(t, "SELECT count(*) FROM schema_migrations WHERE scope = 'svc'"); got != 1 {
					t.Errorf("recorded migrations = %d, want 1 (the one before the broken one)", got)
				}
				// Table c of the broken migration was rolled back with it.
				if got := db.count(t, "SELECT count(*) FROM a"); got != 1 {
					t.Errorf("rows in a = %d, want 1", got)
				}
				if err := db.migrate(ctx, "svc", fstest.MapFS{"0001_a.sql": createA, "0002_b.sql": createB}); err != nil {
					t.Errorf("migrate after fixing the migration: %v", err)
				}
			})
			t.Run("refuses a schema newer than the binary", func(t *testing.T) {
				db := e.fresh(t)(t)
				if err := db.migrate(ctx, "svc", fstest.MapFS{"0001_a.sql": createA, "0002_b.sql": createB}); err != nil {
					t.Fatal(err)
				}
				err := db.migrate(ctx, "svc", fstest.MapFS{"0001_a.sql": createA})
				if !errors.Is(err, ErrSchemaTooNew) {
					t.Errorf("migrate with an older binary: err = %v, want ErrSchemaTooNew", err)
				}
			})
			t.Run("scopes are independent", func(t *testing.T) {
				db := e.fresh(t)(t)
				if err := db.migrate(ctx, "one", fstest.MapFS{"0001_a.sql": createA}); err != nil {
					t.Fatal(err)
				}
				if err := db.migrate(ctx, "two", fstest.MapFS{"0001_b.sql": &fstest.MapFile{Data: []byte("CREATE TABLE two (id INTEGER)")}}); err != nil {
					t.Fatal(err)
				}
				if got := db.count(t, "SELECT count(*) FROM schema_migrations"); got != 2 {
					t.Errorf("recorded migrations = %d, want 2", got)
				}
			})
			t.Run("concurrent starts apply each migration once", func(t *testing.T) {
				connect := e.fresh(t)
				fsys := fstest.MapFS{"0001_a.sql": createA, "0002_b.sql": createB}
				const replicas = 6
				dbs := make([]migrationDB, replicas)
				for i := range dbs {
					dbs[i] = connect(t)
				}
				var wg sync.WaitGroup
				errs := make([]error, replicas)
				for i, db := range dbs {
					wg.Go(func() { errs[i] = db.migrate(ctx, "svc", fsys) })
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Errorf("replica %d: %v", i, err)
					}
				}
				// A second run of 0001 would have failed on a's primary key.
				if got := dbs[0].count(t, "SELECT count(*) FROM a"); got != 2 {
					t.Errorf("rows in a = %d, want 2", got)
				}
			})
		})
	}
}
