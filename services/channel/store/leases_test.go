package store

import (
	"testing"
	"time"
)

// TestLeases: a lease is its holder's until it runs out or is released;
// leases of different names are independent.
func TestLeases(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		hold := func(name, holder string, ttl time.Duration, want bool) {
			t.Helper()
			if got, err := s.HoldLease(ctx, name, holder, ttl); err != nil || got != want {
				t.Errorf("HoldLease(%s, %s) = %v, %v; want %v", name, holder, got, err, want)
			}
		}
		const d = LeaseWebhookDeliveries
		hold(d, "a", time.Hour, true)
		hold(d, "a", time.Hour, true) // renewed
		hold(d, "b", time.Hour, false)
		if err := s.ReleaseLease(ctx, d, "b"); err != nil { // not b's: nothing happens
			t.Fatal(err)
		}
		hold(d, "b", time.Hour, false)
		// Another job's lease is another's to hold.
		hold(LeaseWeChatInbox, "b", time.Hour, true)
		hold(LeaseWeChatInbox, "a", time.Hour, false)
		if err := s.ReleaseLease(ctx, d, "a"); err != nil {
			t.Fatal(err)
		}
		hold(d, "b", -time.Second, true) // a lease that has run out at once
		hold(d, "a", time.Hour, true)    // so a takes it
		hold(d, "b", time.Hour, false)
		hold(LeaseWeChatInbox, "a", time.Hour, false) // still b's
	})
}
