package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/services/routing"
)

func TestGroups(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		in := routing.Group{
			Tenant: "acme", ID: "billing", DisplayName: "账单 Billing", Strategy: routing.RoundRobin,
			Members:  []string{"zoe", "ana", "bo"}, // round-robin order, not sorted
			Calendar: calendar(),
			Overflow: &routing.Overflow{Group: "tier2", After: 30*time.Minute + 1500*time.Nanosecond},
			// Ignored: the store sets the times and the version.
			CreateTime: base, Version: 7,
		}
		g := mustGroup(t, s, in)
		if g.Version != 1 || g.CreateTime.IsZero() || !g.CreateTime.Equal(g.UpdateTime) || g.CreateTime.Location() != time.UTC {
			t.Errorf("created = %+v, want version 1 and equal UTC times", g)
		}
		want := in
		want.CreateTime, want.UpdateTime, want.Version = g.CreateTime, g.UpdateTime, 1
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("CreateGroup (-want +got):\n%s", diff)
		}
		in.Overflow.Group = "changed" // the store keeps its own copy
		got, err := s.GetGroup(ctx, "acme", "billing")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(g, got); diff != "" {
			t.Errorf("GetGroup (-created +read):\n%s", diff)
		}

		if _, err := s.CreateGroup(ctx, routing.Group{Tenant: "acme", ID: "billing"}); !errors.Is(err, routing.ErrExists) ||
			err.Error() != "create group billing: already exists" {
			t.Errorf("CreateGroup of billing again: %v, want ErrExists", err)
		}
		if _, err := s.GetGroup(ctx, "acme", "nope"); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("GetGroup(nope): %v, want ErrNotFound", err)
		}

		// A bare group: no overflow, always open, no members.
		bare := mustGroup(t, s, routing.Group{Tenant: "acme", ID: "network", Strategy: routing.Pool})
		if bare.Overflow != nil || bare.Members == nil || len(bare.Members) != 0 || !cmp.Equal(bare.Calendar, v1alpha1.BusinessCalendar{}) {
			t.Errorf("bare group = %+v, want no overflow, an empty member list, the zero calendar", bare)
		}
		if got, err := s.GetGroup(ctx, "acme", "network"); err != nil || !cmp.Equal(bare, got) {
			t.Errorf("GetGroup(network) = %+v, %v; want %+v", got, err, bare)
		}

		// Update: at the stored version only, then the next one.
		up := g
		up.DisplayName, up.Strategy, up.Members, up.Overflow = "Billing", routing.LeastLoaded, []string{"bo"}, nil
		up.Calendar = v1alpha1.BusinessCalendar{TimeZone: "UTC"}
		up.CreateTime = base // ignored
		next, err := s.UpdateGroup(ctx, up)
		if err != nil {
			t.Fatal(err)
		}
		if next.Version != 2 || !next.CreateTime.Equal(g.CreateTime) || next.UpdateTime.Before(g.UpdateTime) || next.Overflow != nil {
			t.Errorf("updated = %+v, want version 2, the create time kept, no overflow", next)
		}
		if got, err := s.GetGroup(ctx, "acme", "billing"); err != nil || !cmp.Equal(next, got) {
			t.Errorf("GetGroup after update = %+v, %v; want %+v", got, err, next)
		}
		_, err = s.UpdateGroup(ctx, up) // version 1 again
		if !errors.Is(err, routing.ErrVersion) || err.Error() != "update group billing: version 1, stored 2: version mismatch" {
			t.Errorf("UpdateGroup at version 1: %v, want ErrVersion naming both", err)
		}
		if _, err := s.UpdateGroup(ctx, routing.Group{Tenant: "acme", ID: "nope", Version: 1}); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("UpdateGroup(nope): %v, want ErrNotFound", err)
		}
		up.Version = 2
		up.Overflow = &routing.Overflow{Group: "tier3"}
		third, err := s.UpdateGroup(ctx, up)
		if err != nil || third.Version != 3 || third.Overflow == nil || *third.Overflow != (routing.Overflow{Group: "tier3"}) {
			t.Errorf("UpdateGroup at version 2 = %+v, %v; want version 3 with an overflow", third, err)
		}

		// Delete takes the round-robin position along.
		mustAssign(t, s, assignment("acme", "1", "bo"), -1, true, decision("acme", "1", 1))
		if err := s.DeleteGroup(ctx, "acme", "billing"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, "acme", "billing"); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("DeleteGroup twice: %v, want ErrNotFound", err)
		}
		if _, err := s.GetGroup(ctx, "acme", "billing"); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("GetGroup after delete: %v, want ErrNotFound", err)
		}
		if got, err := s.LastPicked(ctx, "acme", "billing"); err != nil || got != "" {
			t.Errorf("LastPicked of a deleted group = %q, %v; want none", got, err)
		}
	})
}

func TestListGroups(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		// Bytewise order: upper case before lower case, whatever the
		// database's collation.
		for _, id := range []string{"b", "a", "C", "d", "c"} {
			mustGroup(t, s, routing.Group{Tenant: "acme", ID: id})
		}
		mustGroup(t, s, routing.Group{Tenant: "globex", ID: "a"})
		var ids []string
		after := ""
		for {
			page, err := s.ListGroups(ctx, "acme", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, g := range page {
				ids = append(ids, g.ID)
			}
			after = page[len(page)-1].ID
		}
		if diff := cmp.Diff([]string{"C", "a", "b", "c", "d"}, ids); diff != "" {
			t.Errorf("groups by page (-want +got):\n%s", diff)
		}
	})
}
