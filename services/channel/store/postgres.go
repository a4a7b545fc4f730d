package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kubedesk/kubedesk/services/platform/storage"
)

// Postgres is the production Store. Updates and merges lock the rows they
// change (SELECT ... FOR UPDATE), merges in ID order.
type Postgres struct{ engine }

var _ Store = (*Postgres)(nil)

// OpenPostgres connects to url and brings the schema up to date
// (serialised with other replicas).
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	pool, err := storage.OpenPostgres(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("channel store: %w", err)
	}
	if err := storage.MigratePostgres(ctx, pool, migrationScope, storage.EngineMigrations(migrations, "postgres")); err != nil {
		pool.Close()
		return nil, fmt.Errorf("channel store: %w", err)
	}
	return &Postgres{engine{dialect{
		name: "postgres",
		read: pgQueryer{pool},
		tx: func(ctx context.Context, fn func(q queryer) error) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fn(pgQueryer{tx}) })
		},
		write:     pgQueryer{pool}.exec,
		ts:        func(t time.Time) any { return t },
		forUpdate: " FOR UPDATE",
		unique: func(err error) bool {
			e, ok := errors.AsType[*pgconn.PgError](err)
			return ok && e.Code == "23505"
		},
		noRows: func(err error) bool { return errors.Is(err, pgx.ErrNoRows) },
		close:  func() error { pool.Close(); return nil },
		ping:   pool.Ping,
	}}}, nil
}

// pgRunner is what *pgxpool.Pool and pgx.Tx share.
type pgRunner interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
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

func (q pgQueryer) query(ctx context.Context, sql string, args ...any) (rows, error) {
	rs, err := q.r.Query(ctx, rebind(sql), args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}
