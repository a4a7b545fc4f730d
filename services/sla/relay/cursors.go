package relay

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kubedesk/kubedesk/services/platform/storage"
)

// Cursors keeps each tenant's position in the ticket event stream, so a
// restarted relay resumes where it stopped.
type Cursors interface {
	// Load returns the tenant's saved cursor, "" if none was saved.
	Load(ctx context.Context, tenant string) (string, error)
	// Save records the tenant's cursor.
	Save(ctx context.Context, tenant, cursor string) error
	Close() error
}

//go:embed migrations
var migrations embed.FS

// migrationScope records the relay's migrations apart from the other
// services sharing a database.
const migrationScope = "sla"

func migrationsFor(engine string) fs.FS {
	sub, err := fs.Sub(migrations, "migrations/"+engine)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// DatabaseFile is the SQLite file the relay keeps in the data directory.
const DatabaseFile = "worker.db"

// OpenCursors opens the cursor store: PostgreSQL when databaseURL is set,
// else the SQLite file worker.db in dataDir.
func OpenCursors(ctx context.Context, databaseURL, dataDir string) (Cursors, error) {
	pg, path, err := storage.Locate(databaseURL, dataDir, DatabaseFile)
	switch {
	case err != nil:
		return nil, err
	case pg != "":
		return OpenPostgresCursors(ctx, pg)
	}
	return OpenSQLiteCursors(ctx, path)
}

// SQLiteCursors is Cursors on an embedded SQLite file.
type SQLiteCursors struct{ db *storage.SQLite }

// OpenSQLiteCursors opens (creating and migrating if needed) path.
func OpenSQLiteCursors(ctx context.Context, path string) (*SQLiteCursors, error) {
	db, err := storage.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrationScope, migrationsFor("sqlite")); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay cursors %s: %w", path, err)
	}
	return &SQLiteCursors{db: db}, nil
}

// Load implements Cursors.
func (s *SQLiteCursors) Load(ctx context.Context, tenant string) (string, error) {
	var cursor string
	err := s.db.Read.QueryRowContext(ctx, `SELECT cursor FROM sla_relay_cursors WHERE tenant = ?`, tenant).Scan(&cursor)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return cursor, err
}

// Save implements Cursors.
func (s *SQLiteCursors) Save(ctx context.Context, tenant, cursor string) error {
	_, err := s.db.Write.ExecContext(ctx, `INSERT INTO sla_relay_cursors (tenant, cursor, update_time) VALUES (?, ?, ?)
		ON CONFLICT (tenant) DO UPDATE SET cursor = excluded.cursor, update_time = excluded.update_time`,
		tenant, cursor, time.Now().UnixMicro())
	return err
}

// Close implements Cursors.
func (s *SQLiteCursors) Close() error { return s.db.Close() }

// PostgresCursors is Cursors on PostgreSQL.
type PostgresCursors struct{ pool *pgxpool.Pool }

// OpenPostgresCursors connects to url and migrates the relay's table.
func OpenPostgresCursors(ctx context.Context, url string) (*PostgresCursors, error) {
	pool, err := storage.OpenPostgres(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := storage.MigratePostgres(ctx, pool, migrationScope, migrationsFor("postgres")); err != nil {
		pool.Close()
		return nil, fmt.Errorf("relay cursors: %w", err)
	}
	return &PostgresCursors{pool: pool}, nil
}

// Load implements Cursors.
func (p *PostgresCursors) Load(ctx context.Context, tenant string) (string, error) {
	var cursor string
	err := p.pool.QueryRow(ctx, `SELECT cursor FROM sla_relay_cursors WHERE tenant = $1`, tenant).Scan(&cursor)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return cursor, err
}

// Save implements Cursors.
func (p *PostgresCursors) Save(ctx context.Context, tenant, cursor string) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO sla_relay_cursors (tenant, cursor, update_time) VALUES ($1, $2, now())
		ON CONFLICT (tenant) DO UPDATE SET cursor = excluded.cursor, update_time = excluded.update_time`,
		tenant, cursor)
	return err
}

// Close implements Cursors.
func (p *PostgresCursors) Close() error { p.pool.Close(); return nil }
