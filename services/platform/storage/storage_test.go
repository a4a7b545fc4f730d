package storage

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kubedesk/kubedesk/services/platform/storage/pgtest"
)

var cluster *pgtest.Cluster

// TestMain starts the PostgreSQL cluster the tests share. Without one the
// tests fail: PostgreSQL is half of what this package supports.
func TestMain(m *testing.M) { pgtest.Main(m, &cluster, pgtest.Fast...) }

// openTestPostgres opens a pool on a fresh database, closed when t ends.
func openTestPostgres(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := OpenPostgres(context.Background(), cluster.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// openTestSQLite opens a fresh database file, closed when t ends.
func openTestSQLite(t *testing.T, path string) *SQLite {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "test.db")
	}
	db, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
