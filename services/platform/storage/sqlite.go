package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// SQLite is one SQLite database file opened as two pools: Write has a single
// connection, so writers queue in Go instead of colliding in SQLite (no
// SQLITE_BUSY on lock upgrades), and its transactions start with BEGIN
// IMMEDIATE so a writer in another process waits (busy_timeout) before
// reading rather than failing at its first write; Read has several
// query-only connections that WAL lets run beside the writer.
type SQLite struct {
	Write *sql.DB
	Read  *sql.DB
}

// sqliteBusyTimeout is how long (ms) a connection waits for another
// process's lock before failing with SQLITE_BUSY.
const sqliteBusyTimeout = "10000"

// OpenSQLite opens (creating if needed) the database file at path in WAL
// mode with foreign keys on and synchronous=NORMAL (durable across process
// crashes; a power cut may lose the last commits but never corrupts).
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	write, err := openSQLitePool(ctx, sqliteDSN(abs, "immediate",
		"journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"), 1)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: opening the write pool: %w", abs, err)
	}
	// The write pool has switched the file to WAL (a persistent setting)
	// before the readers open it.
	read, err := openSQLitePool(ctx, sqliteDSN(abs, "", "query_only(1)", "foreign_keys(1)"), max(4, runtime.GOMAXPROCS(0)))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite %s: opening the read pool: %w", abs, err)
	}
	return &SQLite{Write: write, Read: read}, nil
}

// sqliteDSN builds a modernc.org/sqlite URI for an absolute path; the
// driver runs each _pragma on every new connection.
func sqliteDSN(abs, txlock string, pragmas ...string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+sqliteBusyTimeout+")")
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	u := url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

func openSQLitePool(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	// Keep every connection: a new one costs a schema parse.
	db.SetMaxIdleConns(conns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both pools.
func (s *SQLite) Close() error {
	return errors.Join(s.Read.Close(), s.Write.Close())
}

// WriteTx runs fn in a write transaction (BEGIN IMMEDIATE on the single
// write connection) and commits when fn returns nil; any error rolls back.
func (s *SQLite) WriteTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := ignoreDone(tx.Rollback()); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err // as is, so callers can return fn's own errors untouched
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ignoreDone drops the error of a rollback after the driver already ended
// the transaction (e.g. the context was cancelled).
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Migrate applies the migrations in fsys not yet recorded for scope. Each
// runs in its own write transaction, which also re-checks that no other
// process applied it meanwhile; BEGIN IMMEDIATE serialises processes.
func (s *SQLite) Migrate(ctx context.Context, scope string, fsys fs.FS) error {
	if err := validScope(scope); err != nil {
		return err
	}
	known, err := LoadMigrations(fsys)
	if err != nil {
		return err
	}
	const table = `CREATE TABLE IF NOT EXISTS schema_migrations (
		scope      TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')),
		PRIMARY KEY (scope, version)
	) STRICT`
	if _, err := s.Write.ExecContext(ctx, table); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	applied, err := sqliteApplied(ctx, s.Write, scope)
	if err != nil {
		return err
	}
	todo, err := pending(scope, known, applied)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if err := s.WriteTx(ctx, func(tx *sql.Tx) error { return sqliteApply(ctx, tx, scope, m) }); err != nil {
			return fmt.Errorf("%s migration %s: %w", scope, m.Name, err)
		}
	}
	return nil
}

func sqliteApplied(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, scope string) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations WHERE scope = ?`, scope)
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading schema_migrations: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func sqliteApply(ctx context.Context, tx *sql.Tx, scope string, m Migration) error {
	// Another process may have applied it since we looked.
	var done int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE scope = ? AND version = ?`, scope, m.Version).Scan(&done)
	if err != nil || done > 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (scope, version, name) VALUES (?, ?, ?)`, scope, m.Version, m.Name)
	return err
}
