package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenPostgres connects a pool to url (postgres://...; pgxpool's pool_*
// parameters are honoured) and checks that the server answers. Without
// pool_max_conns the pool holds max(16, 4 x GOMAXPROCS) connections rather
// than pgxpool's GOMAXPROCS: a store's transactions mostly wait on the
// server's commit flush, and more of them in flight share each flush (group
// commit).
func OpenPostgres(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("postgres: the database URL does not parse; expected the form postgres://user:password@host:port/database")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(16, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", redact(cfg), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres %s: %w", redact(cfg), err)
	}
	return pool, nil
}

// redact names the server and database of cfg without credentials.
func redact(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// migrationLockKey is the pg_advisory_lock key that serialises migrations
// of every kubedesk service sharing a database ("kubedesk" in ASCII).
const migrationLockKey int64 = 0x6b75626564657368

// MigratePostgres applies the migrations in fsys not yet recorded for scope,
// each in its own transaction. It holds a session advisory lock meanwhile,
// so replicas starting together apply each migration once: the others wait,
// then find nothing left to do.
func MigratePostgres(ctx context.Context, pool *pgxpool.Pool, scope string, fsys fs.FS) error {
	if err := validScope(scope); err != nil {
		return err
	}
	known, err := LoadMigrations(fsys)
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrating %s: %w", scope, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		conn.Release()
		return fmt.Errorf("migrating %s: taking the migration lock: %w", scope, err)
	}
	defer func() {
		// A session lock outlives Release: if unlocking fails, close the
		// connection so the server drops the lock with the session.
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey); uerr != nil {
			conn.Hijack().Close(context.WithoutCancel(ctx))
			return
		}
		conn.Release()
	}()

	const table = `CREATE TABLE IF NOT EXISTS schema_migrations (
		scope      text        NOT NULL,
		version    bigint      NOT NULL,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (scope, version)
	)`
	if _, err := conn.Exec(ctx, table); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	applied, err := pgApplied(ctx, conn.Conn(), scope)
	if err != nil {
		return err
	}
	todo, err := pending(scope, known, applied)
	if err != nil {
		return err
	}
	for _, m := range todo {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (scope, version, name) VALUES ($1, $2, $3)`, scope, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s migration %s: %w", scope, m.Name, err)
		}
	}
	return nil
}

func pgApplied(ctx context.Context, conn *pgx.Conn, scope string) ([]int64, error) {
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations WHERE scope = $1`, scope)
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	return out, nil
}
