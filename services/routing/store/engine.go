package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kubedesk/kubedesk/services/routing"
)

// queryer runs statements written with ? placeholders on one engine,
// outside or inside a transaction.
type queryer interface {
	exec(ctx context.Context, sql string, args ...any) (int64, error)
	queryRow(ctx context.Context, sql string, args ...any) scanner
	query(ctx context.Context, sql string, args ...any) (rows, error)
	// batch runs the statements in order, stopping at the first that
	// fails; on PostgreSQL they go in one round trip.
	batch(ctx context.Context, stmts ...stmt) error
}

// stmt is a statement of a batch: with scan, a read of one row;
// otherwise a write, whose count of rows affected goes to n if set.
type stmt struct {
	sql  string
	args []any
	scan func(scanner) error
	n    *int64
}

type scanner interface{ Scan(dest ...any) error }

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// dialect is what differs between the engines.
type dialect struct {
	name string
	// read runs reads outside a transaction.
	read queryer
	// tx runs fn in a write transaction.
	tx func(ctx context.Context, fn func(q queryer) error) error
	// single runs fn, which runs one statement that writes, as a
	// transaction of its own: on PostgreSQL one round trip instead of
	// tx's three (BEGIN, the statement, COMMIT).
	single func(ctx context.Context, fn func(q queryer) error) error
	// lock is the statement that takes the named locks (agentLock,
	// ticketLock) until the end of the transaction; nil where the engine
	// runs one writer at a time anyway.
	lock func(names ...string) stmt
	// inJSON is the condition "col is one of the strings of the JSON
	// array given as the argument".
	inJSON func(col string) string
	// unique reports a unique constraint violation.
	unique func(err error) bool
	// noRows reports "no row" of a single-row read.
	noRows func(err error) bool
	close  func() error
}

// agentLock names the lock of an agent's load: the writers that count it
// before adding to it take it.
func agentLock(tenant, agent string) string { return "routing agent\x1f" + tenant + "\x1f" + agent }

// ticketLock names the lock of a ticket's place, in the ledger or a
// queue: the writers that move it from one to the other take it, so that
// two of them never both miss each other's uncommitted row and leave the
// ticket held and queued at once.
func ticketLock(tenant, ticket string) string { return "routing ticket\x1f" + tenant + "\x1f" + ticket }

// engine implements routing.Store over a dialect.
type engine struct{ d dialect }

// Close implements routing.Store.
func (e *engine) Close() error { return e.d.close() }

// rebind turns ? placeholders into $1, $2... for PostgreSQL. The
// statements hold no ? of their own.
func rebind(sql string) string {
	var b strings.Builder
	n := 0
	for _, r := range sql {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ts is a time as both engines take it as an argument: Unix microseconds
// on SQLite, a timestamp on PostgreSQL, NULL for the zero time.
func (e *engine) ts(t time.Time) any {
	switch {
	case t.IsZero():
		return nil
	case e.d.name == "sqlite":
		return t.UnixMicro()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// dbTime scans a time from either engine: Unix microseconds (SQLite), a
// timestamp (PostgreSQL) or NULL (the zero time).
type dbTime struct{ t time.Time }

// Scan implements sql.Scanner.
func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		d.t = time.Time{}
	case int64:
		d.t = time.UnixMicro(v).UTC()
	case time.Time:
		d.t = v.UTC().Truncate(time.Microsecond)
	default:
		return fmt.Errorf("time column: unexpected %T", src)
	}
	return nil
}

// list runs a query and scans its rows; no rows is an empty, non-nil
// slice.
func list[T any](ctx context.Context, q queryer, scan func(scanner) (T, error), sql string, args ...any) ([]T, error) {
	rs, err := q.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []T{}
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rs.Err()
}

// lock takes the named locks where the engine needs them.
func (e *engine) lock(ctx context.Context, q queryer, names ...string) error {
	return q.batch(ctx, e.locks(names...)...)
}

// locks are the statements that take the named locks where the engine
// needs them: none or one.
func (e *engine) locks(names ...string) []stmt {
	if e.d.lock == nil || len(names) == 0 {
		return nil
	}
	return []stmt{e.d.lock(names...)}
}

// notFound turns "no row" into routing.ErrNotFound.
func (e *engine) notFound(err error) error {
	if e.d.noRows(err) {
		return routing.ErrNotFound
	}
	return err
}
