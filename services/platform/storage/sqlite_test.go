package storage

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOpenSQLiteSettings(t *testing.T) {
	// URI metacharacters in the path must not confuse the driver.
	dir := filepath.Join(t.TempDir(), "dir with spaces?#%")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := openTestSQLite(t, filepath.Join(dir, "x.db"))
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err != nil {
		t.Errorf("database file not where asked: %v", err)
	}
	tests := []struct {
		pool   *sql.DB
		pragma string
		want   string
	}{
		{db.Write, "journal_mode", "wal"},
		{db.Write, "foreign_keys", "1"},
		{db.Write, "synchronous", "1"}, // NORMAL
		{db.Write, "busy_timeout", sqliteBusyTimeout},
		{db.Read, "journal_mode", "wal"},
		{db.Read, "foreign_keys", "1"},
		{db.Read, "query_only", "1"},
		{db.Read, "busy_timeout", sqliteBusyTimeout},
	}
	for _, tt := range tests {
		name := "write/" + tt.pragma
		if tt.pool == db.Read {
			name = "read/" + tt.pragma
		}
		t.Run(name, func(t *testing.T) {
			var got string
			if err := tt.pool.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(got, tt.want) {
				t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
			}
		})
	}
}

func TestOpenSQLiteMissingDirectory(t *testing.T) {
	_, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"))
	if err == nil {
		t.Fatal("OpenSQLite in a missing directory succeeded")
	}
}

func TestSQLiteReadPoolRefusesWrites(t *testing.T) {
	db := openTestSQLite(t, "")
	if _, err := db.Write.Exec("CREATE TABLE t (v TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Read.Exec("INSERT INTO t VALUES ('x')"); err == nil {
		t.Error("insert through the read pool succeeded")
	}
}

func TestSQLiteWriteTx(t *testing.T) {
	ctx := context.Background()
	db := openTestSQLite(t, "")
	if _, err := db.Write.Exec("CREATE TABLE t (v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	insert := func(v int) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (?)", v)
			return err
		}
	}
	boom := errors.New("boom")
	if err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := insert(1)(tx); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("WriteTx = %v, want the func's error", err)
	}
	// Concurrent writers queue on the single write connection: none fails
	// with SQLITE_BUSY.
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() { errs <- db.WriteTx(ctx, insert(i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent WriteTx: %v", err)
		}
	}
	var n int
	if err := db.Read.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 50 {
		t.Errorf("rows = %d, want 50 (the rolled-back row is not one of them)", n)
	}
}

// TestSQLiteTwoProcesses opens the file twice, as two processes would, and
// writes through both at once: BEGIN IMMEDIATE and busy_timeout make the
// second writer wait instead of failing.
func TestSQLiteTwoProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := openTestSQLite(t, path), openTestSQLite(t, path)
	if _, err := a.Write.Exec("CREATE TABLE t (v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Go(func() {
			errs <- db.WriteTx(ctx, func(tx *sql.Tx) error {
				var n int
				if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (?)", n)
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("WriteTx: %v", err)
		}
	}
	// Each transaction read the count and inserted it: serialised writers
	// insert 0..39 exactly once.
	var distinct int
	if err := b.Read.QueryRow("SELECT count(DISTINCT v) FROM t").Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	if distinct != 40 {
		t.Errorf("distinct values = %d, want 40", distinct)
	}
}
