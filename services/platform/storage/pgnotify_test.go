package storage

import (
	"context"
	"testing"
	"time"
)

// TestPGNotifierReachesListener sends through one pool and listens through
// another, as two replicas would.
func TestPGNotifierReachesListener(t *testing.T) {
	url := cluster.NewDatabase(t)
	sender, err := OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	receiver, err := OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer receiver.Close()

	got := make(chan string, 100)
	l := ListenPostgres(receiver.Config().ConnConfig, "kubedesk test", func(p string) { got <- p }, func() {})
	defer l.Close()

	n := NewPGNotifier(sender, "kubedesk test")
	defer n.Close()
	// The listener may not be LISTENing yet: notify until it hears.
	deadline := time.After(10 * time.Second)
	for {
		n.Notify("tenant-a")
		select {
		case p := <-got:
			if p != "tenant-a" {
				t.Errorf("payload = %q, want tenant-a", p)
			}
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("notification not received")
		}
	}
}

// TestPGListenerReconnects kills the listener's backend; the listener must
// come back and say so (its caller then wakes every watcher).
func TestPGListenerReconnects(t *testing.T) {
	pool := openTestPostgres(t)
	heard := make(chan string, 100)
	reconnected := make(chan struct{}, 10)
	l := ListenPostgres(pool.Config().ConnConfig, "reconnect", func(p string) { heard <- p }, func() { reconnected <- struct{}{} })
	defer l.Close()
	ctx := context.Background()
	// Wait until it listens: a notification gets through.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := pool.Exec(ctx, `SELECT pg_notify('reconnect', 'ping')`); err != nil {
			t.Fatal(err)
		}
		if len(heard) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("listener never heard a notification")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not reconnect")
	}
}
