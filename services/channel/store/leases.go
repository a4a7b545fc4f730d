package store

import (
	"context"
	"fmt"
	"time"
)

// The leases of the channel's jobs that one process at a time runs.
const (
	// LeaseWebhookDeliveries is held by the process delivering webhooks:
	// each event is sent by one replica, in order.
	LeaseWebhookDeliveries = "deliveries"
	// LeaseWeChatInbox is held by the process turning WeChat messages
	// into tickets and comments, so that replicas do not each take every
	// message.
	LeaseWeChatInbox = "wechat inbox"
)

// Leases are the channel's jobs that one process at a time runs, each
// under a lease it renews; another process takes over once the lease runs
// out or is released.
type Leases interface {
	// HoldLease takes or renews the lease called name for holder until
	// now+ttl, and reports whether holder has it: it does unless another
	// holder's lease runs on.
	HoldLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives up holder's lease called name, if it has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// HoldLease implements Leases.
func (e *engine) HoldLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkText(text{"lease", name}, text{"holder", holder}); err != nil {
		return false, fmt.Errorf("hold a lease: %w", err)
	}
	at := now()
	n, err := e.d.write(ctx, `INSERT INTO channel_lease (name, holder, expire_time) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expire_time = excluded.expire_time
		WHERE channel_lease.holder = excluded.holder OR channel_lease.expire_time <= ?`,
		name, holder, e.d.ts(at.Add(ttl)), e.d.ts(at))
	if err != nil {
		return false, fmt.Errorf("hold the lease %q: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease implements Leases.
func (e *engine) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := e.d.write(ctx, `DELETE FROM channel_lease WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("release the lease %q: %w", name, err)
	}
	return nil
}
