package store

import (
	"context"
	"fmt"
	"time"
)

// HoldLease implements routing.Store: holder has the lease called name
// until now+ttl unless another holder's lease runs on.
func (e *engine) HoldLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkText(text{"lease", name}, text{"holder", holder}); err != nil {
		return false, fmt.Errorf("hold a lease: %w", err)
	}
	if err := required(text{"lease", name}, text{"holder", holder}); err != nil {
		return false, fmt.Errorf("hold a lease: %w", err)
	}
	at := now()
	var n int64
	err := e.d.single(ctx, func(q queryer) error {
		var err error
		n, err = q.exec(ctx, `INSERT INTO routing_leases (name, holder, expire_time) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expire_time = excluded.expire_time
			WHERE routing_leases.holder = excluded.holder OR routing_leases.expire_time <= ?`,
			name, holder, e.ts(at.Add(ttl)), e.ts(at))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("hold the lease %q: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease implements routing.Store: holder gives up the lease called
// name, if it has it.
func (e *engine) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := checkText(text{"lease", name}, text{"holder", holder}); err != nil {
		return fmt.Errorf("release a lease: %w", err)
	}
	err := e.d.single(ctx, func(q queryer) error {
		_, err := q.exec(ctx, `DELETE FROM routing_leases WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release the lease %q: %w", name, err)
	}
	return nil
}
