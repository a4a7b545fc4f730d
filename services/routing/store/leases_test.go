package store

import (
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/routing"
)

// TestLeases: a lease is its holder's until it runs out or is released;
// leases of different names are independent.
func TestLeases(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		hold := func(name, holder string, ttl time.Duration, want bool) {
			t.Helper()
			if got, err := s.HoldLease(ctx, name, holder, ttl); err != nil || got != want {
				t.Errorf("HoldLease(%s, %s) = %v, %v; want %v", name, holder, got, err, want)
			}
		}
		const events, sweep = "events", "presence sweep"
		hold(events, "a", time.Hour, true)
		hold(events, "a", time.Hour, true) // renewed
		hold(events, "b", time.Hour, false)
		if err := s.ReleaseLease(ctx, events, "b"); err != nil { // not b's: nothing happens
			t.Fatal(err)
		}
		hold(events, "b", time.Hour, false)
		hold(sweep, "b", time.Hour, true)
		hold(sweep, "a", time.Hour, false)
		if err := s.ReleaseLease(ctx, events, "a"); err != nil {
			t.Fatal(err)
		}
		hold(events, "b", -time.Second, true) // a lease that has run out at once
		hold(events, "a", time.Hour, true)    // so a takes it
		hold(events, "b", time.Hour, false)
		hold(sweep, "a", time.Hour, false) // still b's
	})
}
