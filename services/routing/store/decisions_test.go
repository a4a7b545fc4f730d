package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/routing"
)

func TestDecisions(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		// Stored out of order; listed by create time, then ID.
		d1 := decision("acme", "1", 1)
		d1.ActorID, d1.ActorDisplayName, d1.Trigger = "u-9", "李娜", routing.TriggerClaim
		d3 := decision("acme", "1", 3)
		d3.CreateTime = d1.CreateTime // same time: by ID
		d3.Key = ""
		d2 := decision("acme", "1", 2)
		d2.CreateTime = d1.CreateTime.Add(-time.Second)
		d2.Key, d2.Outcome, d2.Rules, d2.Candidates, d2.Notes = "", routing.Unrouted, nil, nil, nil
		other := decision("acme", "2", 4)
		for _, d := range []routing.Decision{d3, d1, other, d2} {
			if err := s.AddDecision(ctx, d); err != nil {
				t.Fatalf("AddDecision(%s): %v", d.ID, err)
			}
		}
		page, err := s.Decisions(ctx, "acme", "1", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []routing.Decision{d2, d1, d3}
		for i := range want {
			want[i].CreateTime = us(want[i].CreateTime)
		}
		if diff := cmp.Diff(want, page, equateEmpty); diff != "" {
			t.Errorf("Decisions (-want +got):\n%s", diff)
		}
		if page[0].Rules == nil || page[0].Candidates == nil || page[0].Notes == nil {
			t.Errorf("decision without rules reads back with nil lists: %+v", page[0])
		}
		// Paged with the cursor.
		var ids []string
		after := ""
		for {
			p, err := s.Decisions(ctx, "acme", "1", after, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) == 0 {
				break
			}
			ids = append(ids, p[0].ID)
			after = p[0].ID
		}
		if diff := cmp.Diff([]string{d2.ID, d1.ID, d3.ID}, ids); diff != "" {
			t.Errorf("decisions by page (-want +got):\n%s", diff)
		}
		_, err = s.Decisions(ctx, "acme", "1", "nope", 10)
		if !errors.Is(err, routing.ErrNotFound) || err.Error() != "list decisions: after nope: not found" {
			t.Errorf("Decisions after an unknown ID: %v, want ErrNotFound", err)
		}

		// Keys: unique in the tenant, the empty key never taken.
		dup := decision("acme", "3", 5)
		dup.Key = d1.Key
		err = s.AddDecision(ctx, dup)
		if !errors.Is(err, routing.ErrDuplicate) || err.Error() != `add decision about ticket 3: decision key "event:1": a decision with this key is stored already` {
			t.Errorf("AddDecision with a key stored: %v, want ErrDuplicate", err)
		}
		noKey := decision("acme", "3", 6)
		noKey.Key = ""
		if err := s.AddDecision(ctx, noKey); err != nil {
			t.Errorf("a second decision without a key: %v", err)
		}
		if err := s.AddDecision(ctx, d1); !errors.Is(err, routing.ErrDuplicate) {
			t.Errorf("AddDecision(d1) again: %v, want ErrDuplicate", err)
		}
		sameID := d1
		sameID.Key = "fresh"
		if err := s.AddDecision(ctx, sameID); !errors.Is(err, routing.ErrExists) {
			t.Errorf("AddDecision with d1's ID: %v, want ErrExists", err)
		}
		if got, ok, err := s.DecisionByKey(ctx, "acme", d1.Key); err != nil || !ok || !cmp.Equal(want[1], got, equateEmpty) {
			t.Errorf("DecisionByKey(%s) = %+v, %v, %v; want d1", d1.Key, got, ok, err)
		}
		if _, ok, err := s.DecisionByKey(ctx, "acme", ""); ok || err != nil {
			t.Errorf("DecisionByKey(\"\") = %v, %v; want none", ok, err)
		}
		if _, ok, err := s.DecisionByKey(ctx, "acme", "event:404"); ok || err != nil {
			t.Errorf("DecisionByKey(event:404) = %v, %v; want none", ok, err)
		}

		// A decision with no time is created now.
		before := time.Now().Add(-time.Second)
		fresh := decision("acme", "4", 7)
		fresh.CreateTime = time.Time{}
		if err := s.AddDecision(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.DecisionByKey(ctx, "acme", fresh.Key); got.CreateTime.Before(before) || got.CreateTime.Location() != time.UTC {
			t.Errorf("create time of a decision given none = %v, want now in UTC", got.CreateTime)
		}
	})
}

func TestUnapplied(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		var ds []routing.Decision
		for i := range 5 {
			d := decision("acme", "1", 10-i) // later IDs, earlier times
			d.CreateTime = base.Add(time.Duration(i) * time.Minute)
			d.Applied = i == 2
			ds = append(ds, d)
		}
		mustAssign(t, s, assignment("acme", "1", "ana"), -1, false, ds[0])
		mustEnqueue(t, s, routing.QueueEntry{Tenant: "acme", TicketID: "1", Group: "g", TicketCreateTime: base}, ds[1])
		for _, d := range ds[2:] {
			if err := s.AddDecision(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		ids := func(olderThan time.Time, limit int) []string {
			t.Helper()
			got, err := s.Unapplied(ctx, "acme", olderThan, limit)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, d := range got {
				if d.Applied {
					t.Errorf("Unapplied returned the applied %s", d.ID)
				}
				out = append(out, d.ID)
			}
			return out
		}
		all := []string{ds[0].ID, ds[1].ID, ds[3].ID, ds[4].ID}
		if diff := cmp.Diff(all, ids(base.Add(time.Hour), 10)); diff != "" {
			t.Errorf("Unapplied (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(all[:2], ids(base.Add(time.Hour), 2)); diff != "" {
			t.Errorf("Unapplied, limit 2 (-want +got):\n%s", diff)
		}
		// Created before olderThan only.
		if diff := cmp.Diff(all[:2], ids(base.Add(3*time.Minute), 10)); diff != "" {
			t.Errorf("Unapplied older than 3m (-want +got):\n%s", diff)
		}
		for _, d := range ds[:2] {
			if err := s.MarkApplied(ctx, "acme", d.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MarkApplied(ctx, "acme", ds[0].ID); err != nil {
			t.Errorf("MarkApplied twice: %v", err)
		}
		if err := s.MarkApplied(ctx, "acme", "nope"); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("MarkApplied(nope): %v, want ErrNotFound", err)
		}
		if diff := cmp.Diff(all[2:], ids(base.Add(time.Hour), 10)); diff != "" {
			t.Errorf("Unapplied after MarkApplied (-want +got):\n%s", diff)
		}
		if got, _, _ := s.DecisionByKey(ctx, "acme", ds[0].Key); !got.Applied {
			t.Errorf("decision %s after MarkApplied = %+v, want applied", ds[0].ID, got)
		}
	})
}
