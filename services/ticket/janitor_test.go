package ticket_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// sweepStore reports each DeleteIdempotencyKeys call on calls, with the
// instant before which it deletes.
type sweepStore struct {
	ticket.Store
	calls chan time.Time
}

func (s *sweepStore) DeleteIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int, error) {
	s.calls <- before
	return s.Store.DeleteIdempotencyKeys(ctx, before, limit)
}

// TestJanitorLifecycle: RunJanitor sweeps the idempotency keys at once,
// with the configured TTL before the service's clock, and returns when its
// context ends: no sweep comes after it.
func TestJanitorLifecycle(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	st := &sweepStore{Store: openSQLite(t), calls: make(chan time.Time, 16)}
	srv := ticket.NewServer(st, ticket.Config{IdempotencyKeyTTL: config.Duration(2 * time.Hour), Now: func() time.Time { return now }},
		slog.New(slog.DiscardHandler))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.RunJanitor(ctx) }()
	select {
	case before := <-st.calls:
		if want := now.Add(-2 * time.Hour); !before.Equal(want) {
			t.Errorf("first sweep deletes keys before %v, want %v (TTL 2h before the clock)", before, want)
		}
	case <-t.Context().Done():
		t.Fatal("the janitor did not sweep at start")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJanitor returned %v, want context.Canceled", err)
	}
	// RunJanitor has returned: nothing sweeps afterwards.
	select {
	case before := <-st.calls:
		t.Errorf("a sweep (before %v) came after stop", before)
	default:
	}
}
