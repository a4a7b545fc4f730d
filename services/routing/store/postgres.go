package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kubedesk/kubedesk/services/platform/storage"
	"github.com/kubedesk/kubedesk/services/routing"
)

// Postgres is the production Store. Transactions run at READ COMMITTED,
// each statement seeing what committed before it began. Writers that
// weigh what they read take transaction-scoped advisory locks first: on
// the tenant and agent before counting the agent's load (so that writers
// adding to one agent's load run one after the other, in this process or
// another, and each counts what the one before committed), and on the
// tenant and ticket before moving it between the ledger and a queue. The
// ledger's primary key still has the last word on who holds a ticket.
type Postgres struct{ engine }

var _ routing.Store = (*Postgres)(nil)

// OpenPostgres connects to url and brings the schema up to date
// (serialised with other replicas).
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	pool, err := storage.OpenPostgres(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("routing store: %w", err)
	}
	if err := storage.MigratePostgres(ctx, pool, migrationScope, storage.EngineMigrations(migrations, "postgres")); err != nil {
		pool.Close()
		return nil, fmt.Errorf("routing store: %w", err)
	}
	return &Postgres{engine{dialect{
		name: "postgres",
		read: pgQueryer{pool},
		tx: func(ctx context.Context, fn func(q queryer) error) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fn(pgQueryer{tx}) })
		},
		single: func(_ context.Context, fn func(q queryer) error) error { return fn(pgQueryer{pool}) },
		lock:   lock,
		inJSON: func(col string) string { return col + " IN (SELECT jsonb_array_elements_text(?::jsonb))" },
		unique: func(err error) bool {
			e, ok := errors.AsType[*pgconn.PgError](err)
			return ok && e.Code == "23505"
		},
		noRows: func(err error) bool { return errors.Is(err, pgx.ErrNoRows) },
		close:  func() error { pool.Close(); return nil },
	}}}, nil
}

// lock takes the advisory locks named, until the transaction ends, in
// the order given (one statement's select list). A lock's key is a 64-bit
// hash of its name: a collision only makes two writers wait for each
// other. Only Assign takes two, an agent's then a ticket's, and no writer
// takes an agent's lock after a ticket's, so the locks never deadlock.
func lock(names ...string) stmt {
	calls := make([]string, len(names))
	args := make([]any, len(names))
	for i, n := range names {
		calls[i], args[i] = "pg_advisory_xact_lock(hashtextextended(?, 0))", n
	}
	return stmt{sql: "SELECT " + strings.Join(calls, ", "), args: args}
}

// pgRunner is what *pgxpool.Pool and pgx.Tx share.
type pgRunner interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var _ pgRunner = (*pgxpool.Pool)(nil)

type pgQueryer struct{ r pgRunner }

func (q pgQueryer) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.r.Exec(ctx, rebind(sql), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q pgQueryer) queryRow(ctx context.Context, sql string, args ...any) scanner {
	return q.r.QueryRow(ctx, rebind(sql), args...)
}

// batch sends the statements in one round trip (pipelined, as pgx does a
// batch): in a transaction, a statement that fails aborts the ones after
// it.
func (q pgQueryer) batch(ctx context.Context, stmts ...stmt) error {
	if len(stmts) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, s := range stmts {
		qq := b.Queue(rebind(s.sql), s.args...)
		if s.scan != nil {
			qq.QueryRow(func(row pgx.Row) error { return s.scan(row) })
			continue
		}
		qq.Exec(func(tag pgconn.CommandTag) error {
			if s.n != nil {
				*s.n = tag.RowsAffected()
			}
			return nil
		})
	}
	return q.r.SendBatch(ctx, b).Close()
}

func (q pgQueryer) query(ctx context.Context, sql string, args ...any) (rows, error) {
	rs, err := q.r.Query(ctx, rebind(sql), args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}
