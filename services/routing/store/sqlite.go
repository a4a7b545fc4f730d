package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kubedesk/kubedesk/services/platform/storage"
	"github.com/kubedesk/kubedesk/services/routing"
)

// SQLite is the embedded Store. Every write transaction runs on one
// connection and starts with BEGIN IMMEDIATE (storage.SQLite), so it sees
// no other writer, in this process or another: what it reads it can act
// on (an agent's load, a ticket's holder) without locking rows.
type SQLite struct{ engine }

var _ routing.Store = (*SQLite)(nil)

// OpenSQLite opens (creating if needed) the database file at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	db, err := storage.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrationScope, storage.EngineMigrations(migrations, "sqlite")); err != nil {
		db.Close()
		return nil, fmt.Errorf("routing store %s: %w", path, err)
	}
	tx := func(ctx context.Context, fn func(q queryer) error) error {
		return db.WriteTx(ctx, func(tx *sql.Tx) error { return fn(sqlQueryer{tx}) })
	}
	return &SQLite{engine{dialect{
		name:   "sqlite",
		read:   sqlQueryer{db.Read},
		tx:     tx,
		single: tx,
		inJSON: func(col string) string { return col + " IN (SELECT value FROM json_each(?))" },
		unique: func(err error) bool {
			e, ok := errors.AsType[*sqlite.Error](err)
			return ok && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
		},
		noRows: func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
		close:  db.Close,
	}}}, nil
}

// sqlRunner is what *sql.DB and *sql.Tx share.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type sqlQueryer struct{ r sqlRunner }

func (q sqlQueryer) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.r.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqlQueryer) queryRow(ctx context.Context, query string, args ...any) scanner {
	return q.r.QueryRowContext(ctx, query, args...)
}

// batch runs the statements one after the other: SQLite is in-process,
// a statement costs no round trip.
func (q sqlQueryer) batch(ctx context.Context, stmts ...stmt) error {
	for _, s := range stmts {
		if s.scan != nil {
			if err := s.scan(q.queryRow(ctx, s.sql, s.args...)); err != nil {
				return err
			}
			continue
		}
		n, err := q.exec(ctx, s.sql, s.args...)
		if err != nil {
			return err
		}
		if s.n != nil {
			*s.n = n
		}
	}
	return nil
}

func (q sqlQueryer) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := q.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }
