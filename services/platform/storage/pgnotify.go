package storage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGNotifier sends pg_notify(channel, payload) for the payloads handed to
// Notify, from one goroutine and outside the writers' transactions.
//
// Why not NOTIFY inside each write transaction: PostgreSQL serialises the
// commits of notifying transactions on one database-wide lock held across
// the WAL flush, which turns concurrent writers' group commit into one
// flush per transaction. A notification is only a wake-up hint (watchers
// also poll), so sending it just after commit, coalesced per payload, loses
// nothing but the hint if the process dies in between.
type PGNotifier struct {
	pool    *pgxpool.Pool
	channel string

	mu       sync.Mutex
	pending  map[string]struct{}
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// NewPGNotifier starts a notifier; Close stops it.
func NewPGNotifier(pool *pgxpool.Pool, channel string) *PGNotifier {
	n := &PGNotifier{
		pool:    pool,
		channel: channel,
		pending: make(map[string]struct{}),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go n.run()
	return n
}

// Notify queues payload; it never blocks.
func (n *PGNotifier) Notify(payload string) {
	n.mu.Lock()
	n.pending[payload] = struct{}{}
	n.mu.Unlock()
	wake(n.wake)
}

// Close sends what is queued and stops the notifier; later calls do nothing.
func (n *PGNotifier) Close() {
	n.stopOnce.Do(func() { close(n.stop) })
	<-n.done
}

func (n *PGNotifier) run() {
	defer close(n.done)
	for {
		select {
		case <-n.wake:
			n.flush()
		case <-n.stop:
			n.flush()
			return
		}
	}
}

// flush sends every queued payload in one statement.
func (n *PGNotifier) flush() {
	n.mu.Lock()
	payloads := make([]string, 0, len(n.pending))
	for p := range n.pending {
		payloads = append(payloads, p)
	}
	clear(n.pending)
	n.mu.Unlock()
	if len(payloads) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := n.pool.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, n.channel, payloads)
	if err != nil {
		// Watchers fall back to polling; nothing else depends on it.
		slog.WarnContext(ctx, "pg_notify failed; watchers in other processes wake on their poll instead", "channel", n.channel, "err", err)
	}
}

// PGListener holds one connection that LISTENs on a channel and passes each
// notification's payload to onNotify. When the connection fails it
// reconnects (with backoff) and calls onReconnect, since notifications sent
// while it was away are lost.
type PGListener struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// ListenPostgres starts a listener on a dedicated connection made from cfg
// (it takes no slot of the pool). It returns at once; notifications sent
// before its first LISTEN completes are not heard. onReconnect is called
// after every LISTEN but the first.
func ListenPostgres(cfg *pgx.ConnConfig, channel string, onNotify func(payload string), onReconnect func()) *PGListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &PGListener{cancel: cancel, done: make(chan struct{})}
	go l.run(ctx, cfg, channel, onNotify, onReconnect)
	return l
}

// Close stops the listener and closes its connection; later calls do
// nothing.
func (l *PGListener) Close() {
	l.cancel()
	<-l.done
}

func (l *PGListener) run(ctx context.Context, cfg *pgx.ConnConfig, channel string, onNotify func(string), onReconnect func()) {
	defer close(l.done)
	const maxBackoff = 5 * time.Second
	backoff := 100 * time.Millisecond
	onListen := func() {}
	for {
		listening, err := listen(ctx, cfg, channel, onNotify, onListen)
		if ctx.Err() != nil {
			return
		}
		if listening {
			backoff = 100 * time.Millisecond
			onListen = onReconnect
		}
		slog.WarnContext(ctx, "postgres LISTEN connection failed; reconnecting", "channel", channel, "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen runs one LISTEN session until it fails; listening reports whether
// it got as far as LISTEN.
func listen(ctx context.Context, cfg *pgx.ConnConfig, channel string, onNotify func(string), onListen func()) (listening bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false, err
	}
	onListen()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		onNotify(n.Payload)
	}
}
