package consumer

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kubedesk/kubedesk/services/platform/storage"
)

// Cursors keeps each consumer's position in each tenant's event stream,
// so a restarted consumer resumes where it stopped. SQLiteCursors and
// PostgresCursors implement it, held to one contract test.
type Cursors interface {
	// Load returns the consumer's saved cursor for the tenant, "" if none
	// was saved.
	Load(ctx context.Context, consumer, tenant string) (string, error)
	// Save records the consumer's cursor for the tenant.
	Save(ctx context.Context, consumer, tenant, cursor string) error
	Close() error
}

//go:embed migrations
var migrations embed.FS

// migrationScope records the consumers' migrations apart from the
// services sharing a database. (Until the consumer package kept the
// cursors, the SLA relay migrated its own table under scope "sla"; see
// migrations/*/0001.)
const migrationScope = "consumer"

// OpenCursors opens the cursor store: PostgreSQL when databaseURL is set,
// else the SQLite file named file in dataDir (the database of the service
// the consumers run in, e.g. worker.db).
func OpenCursors(ctx context.Context, databaseURL, dataDir, file string) (Cursors, error) {
	return storage.Open(ctx, databaseURL, dataDir, file,
		func(ctx context.Context, url string) (Cursors, error) { return OpenPostgresCursors(ctx, url) },
		func(ctx context.Context, path string) (Cursors, error) { return OpenSQLiteCursors(ctx, path) })
}

// SQLiteCursors is Cursors on an embedded SQLite file.
type SQLiteCursors struct{ db *storage.SQLite }

// OpenSQLiteCursors opens (creating and migrating if needed) path.
func OpenSQLiteCursors(ctx context.Context, path string) (*SQLiteCursors, error) {
	db, err := storage.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrationScope, storage.EngineMigrations(migrations, "sqlite")); err != nil {
		db.Close()
		return nil, fmt.Errorf("consumer cursors %s: %w", path, err)
	}
	return &SQLiteCursors{db: db}, nil
}

// Load implements Cursors.
func (s *SQLiteCursors) Load(ctx context.Context, consumer, tenant string) (string, error) {
	var cursor string
	err := s.db.Read.QueryRowContext(ctx, `SELECT cursor FROM consumer_cursors WHERE consumer = ? AND tenant = ?`, consumer, tenant).Scan(&cursor)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return cursor, err
}

// Save implements Cursors.
func (s *SQLiteCursors) Save(ctx context.Context, consumer, tenant, cursor string) error {
	_, err := s.db.Write.ExecContext(ctx, `INSERT INTO consumer_cursors (consumer, tenant, cursor, update_time) VALUES (?, ?, ?, ?)
		ON CONFLICT (consumer, tenant) DO UPDATE SET cursor = excluded.cursor, update_time = excluded.update_time`,
		consumer, tenant, cursor, time.Now().UnixMicro())
	return err
}

// Close implements Cursors.
func (s *SQLiteCursors) Close() error { return s.db.Close() }

// PostgresCursors is Cursors on PostgreSQL.
type PostgresCursors struct{ pool *pgxpool.Pool }

// OpenPostgresCursors connects to url and migrates the cursors' table.
func OpenPostgresCursors(ctx context.Context, url string) (*PostgresCursors, error) {
	pool, err := storage.OpenPostgres(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := storage.MigratePostgres(ctx, pool, migrationScope, storage.EngineMigrations(migrations, "postgres")); err != nil {
		pool.Close()
		return nil, fmt.Errorf("consumer cursors: %w", err)
	}
	return &PostgresCursors{pool: pool}, nil
}

// Load implements Cursors.
func (p *PostgresCursors) Load(ctx context.Context, consumer, tenant string) (string, error) {
	var cursor string
	err := p.pool.QueryRow(ctx, `SELECT cursor FROM consumer_cursors WHERE consumer = $1 AND tenant = $2`, consumer, tenant).Scan(&cursor)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return cursor, err
}

// Save implements Cursors.
func (p *PostgresCursors) Save(ctx context.Context, consumer, tenant, cursor string) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO consumer_cursors (consumer, tenant, cursor, update_time) VALUES ($1, $2, $3, now())
		ON CONFLICT (consumer, tenant) DO UPDATE SET cursor = excluded.cursor, update_time = excluded.update_time`,
		consumer, tenant, cursor)
	return err
}

// Close implements Cursors.
func (p *PostgresCursors) Close() error { p.pool.Close(); return nil }
