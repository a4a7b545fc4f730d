package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/routing"
)

func TestAgentProfile(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		if _, err := s.GetAgent(ctx, "acme", "ana"); !errors.Is(err, routing.ErrNotFound) {
			t.Errorf("GetAgent before any profile: %v, want ErrNotFound", err)
		}
		in := routing.Agent{
			Tenant: "acme", ID: "ana",
			Skills:   []routing.Skill{{Name: "zh", Level: 5}, {Name: "billing", Level: 3}},
			Capacity: map[string]int{"email": 12, "chat": 2},
		}
		a, err := s.PutAgentProfile(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		want := in
		want.Version, want.Presence = 1, routing.Offline
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("PutAgentProfile (-want +got):\n%s", diff)
		}
		if got, err := s.GetAgent(ctx, "acme", "ana"); err != nil || !cmp.Equal(a, got) {
			t.Errorf("GetAgent = %+v, %v; want %+v", got, err, a)
		}

		// Creating it again (version 0) or writing at an old version fails.
		_, err = s.PutAgentProfile(ctx, in)
		if !errors.Is(err, routing.ErrVersion) || err.Error() != "put agent profile ana: version 0, stored 1: version mismatch" {
			t.Errorf("PutAgentProfile at version 0 again: %v, want ErrVersion", err)
		}
		_, err = s.PutAgentProfile(ctx, routing.Agent{Tenant: "acme", ID: "bo", Version: 3})
		if !errors.Is(err, routing.ErrVersion) || err.Error() != "put agent profile bo: version 3, stored 0: version mismatch" {
			t.Errorf("PutAgentProfile of a new agent at version 3: %v, want ErrVersion", err)
		}

		// Presence and the last assignment survive a profile write, which
		// replaces skills and capacity (nil: the defaults).
		if _, err := s.SetPresence(ctx, "acme", "ana", routing.Online, base, base.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		mustAssign(t, s, assignment("acme", "1", "ana"), -1, false, decision("acme", "1", 1))
		a2, err := s.PutAgentProfile(ctx, routing.Agent{Tenant: "acme", ID: "ana", Version: 1, Skills: []routing.Skill{{Name: "network", Level: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		want = routing.Agent{
			Tenant: "acme", ID: "ana", Skills: []routing.Skill{{Name: "network", Level: 2}}, Capacity: map[string]int{},
			Presence: routing.Online, PresenceTime: us(base), PresenceExpire: us(base.Add(time.Minute)),
			LastAssignTime: us(base), Version: 2,
		}
		if diff := cmp.Diff(want, a2); diff != "" {
			t.Errorf("PutAgentProfile at version 1 (-want +got):\n%s", diff)
		}
		if a2.CapacityFor("chat") != 3 {
			t.Errorf("CapacityFor(chat) with no capacity set = %d, want the default 3", a2.CapacityFor("chat"))
		}

		// An agent first seen by its presence has no profile (version 0)
		// until one is put at version 0.
		p, err := s.SetPresence(ctx, "acme", "bo", routing.Away, base, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want = routing.Agent{Tenant: "acme", ID: "bo", Skills: []routing.Skill{}, Capacity: map[string]int{},
			Presence: routing.Away, PresenceTime: us(base)}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("SetPresence of a new agent (-want +got):\n%s", diff)
		}
		bo, err := s.PutAgentProfile(ctx, routing.Agent{Tenant: "acme", ID: "bo", Skills: []routing.Skill{{Name: "billing", Level: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		want.Skills, want.Version = []routing.Skill{{Name: "billing", Level: 1}}, 1
		if diff := cmp.Diff(want, bo); diff != "" {
			t.Errorf("PutAgentProfile at version 0 over a presence (-want +got):\n%s", diff)
		}
	})
}

func TestPresence(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		at := base.Add(time.Hour)
		a, err := s.SetPresence(ctx, "acme", "ana", routing.Online, at, at.Add(90*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if a.Presence != routing.Online || !a.PresenceTime.Equal(us(at)) || a.PresenceTime.Location() != time.UTC ||
			!a.PresenceExpire.Equal(us(at.Add(90*time.Second))) || a.Version != 0 {
			t.Errorf("SetPresence = %+v, want online at %v until 90s later, no profile", a, at)
		}
		// Renewed: the new expiry; then offline, which never lapses.
		if a, err = s.SetPresence(ctx, "acme", "ana", routing.Online, at.Add(time.Minute), at.Add(3*time.Minute)); err != nil ||
			!a.PresenceExpire.Equal(us(at.Add(3*time.Minute))) {
			t.Errorf("renewed presence = %+v, %v", a, err)
		}
		if a, err = s.SetPresence(ctx, "acme", "ana", routing.Offline, at.Add(2*time.Minute), time.Time{}); err != nil ||
			a.Presence != routing.Offline || !a.PresenceExpire.IsZero() {
			t.Errorf("offline presence = %+v, %v; want offline without an expiry", a, err)
		}
		got, err := s.GetAgent(ctx, "acme", "ana")
		if err != nil || !cmp.Equal(a, got) {
			t.Errorf("GetAgent = %+v, %v; want %+v", got, err, a)
		}
		// A zero time is the store's now.
		before := time.Now().Add(-time.Second)
		if a, err = s.SetPresence(ctx, "acme", "ana", routing.Away, time.Time{}, time.Time{}); err != nil || a.PresenceTime.Before(before) {
			t.Errorf("SetPresence at the zero time = %+v, %v; want now", a, err)
		}
	})
}

func TestLapsePresence(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		set := func(id string, p routing.Presence, expire time.Time) {
			t.Helper()
			if _, err := s.SetPresence(ctx, "acme", id, p, base, expire); err != nil {
				t.Fatal(err)
			}
		}
		now := base.Add(10 * time.Minute)
		set("d-expired", routing.Online, base.Add(time.Minute))
		set("a-expired", routing.Online, base.Add(2*time.Minute))
		set("c-at-now", routing.Online, now) // has passed at now
		set("b-later", routing.Online, now.Add(time.Microsecond))
		set("e-forever", routing.Online, time.Time{})
		set("f-away", routing.Away, base.Add(time.Minute))
		set("g-offline", routing.Offline, base.Add(time.Minute))
		if _, err := s.SetPresence(ctx, "globex", "x", routing.Online, base, base.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		lapsed, err := s.LapsePresence(ctx, "acme", now)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range lapsed {
			ids = append(ids, a.ID)
			// Away since the online presence ran out; away never lapses.
			if a.Presence != routing.Away || !a.PresenceExpire.IsZero() || a.PresenceTime.After(us(now)) || a.PresenceTime.Before(us(base)) {
				t.Errorf("lapsed %s = %+v, want away since its expiry", a.ID, a)
			}
			if got, err := s.GetAgent(ctx, "acme", a.ID); err != nil || !cmp.Equal(a, got) {
				t.Errorf("GetAgent(%s) = %+v, %v; want %+v", a.ID, got, err, a)
			}
		}
		if diff := cmp.Diff([]string{"a-expired", "c-at-now", "d-expired"}, ids); diff != "" {
			t.Errorf("lapsed (-want +got):\n%s", diff)
		}
		if a, err := s.GetAgent(ctx, "acme", "d-expired"); err != nil || !a.PresenceTime.Equal(us(base.Add(time.Minute))) {
			t.Errorf("d-expired = %+v, %v; want away since %v", a, err, base.Add(time.Minute))
		}
		if again, err := s.LapsePresence(ctx, "acme", now); err != nil || len(again) != 0 {
			t.Errorf("LapsePresence again = %+v, %v; want none", again, err)
		}
		if x, err := s.GetAgent(ctx, "globex", "x"); err != nil || x.Presence != routing.Online {
			t.Errorf("globex's agent = %+v, %v; want still online", x, err)
		}
	})
}

func TestListAgents(t *testing.T) {
	contract(t, func(t *testing.T, s routing.Store) {
		for i := range 7 {
			if _, err := s.PutAgentProfile(ctx, routing.Agent{Tenant: "acme", ID: fmt.Sprintf("agent-%d", 6-i)}); err != nil {
				t.Fatal(err)
			}
		}
		// An agent known by its presence only is listed too.
		if _, err := s.SetPresence(ctx, "acme", "Zed", routing.Online, base, time.Time{}); err != nil {
			t.Fatal(err)
		}
		var ids []string
		after := ""
		for {
			page, err := s.ListAgents(ctx, "acme", after, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, a := range page {
				ids = append(ids, a.ID)
			}
			after = page[len(page)-1].ID
		}
		want := []string{"Zed", "agent-0", "agent-1", "agent-2", "agent-3", "agent-4", "agent-5", "agent-6"}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("agents by page (-want +got):\n%s", diff)
		}

		got, err := s.AgentsByID(ctx, "acme", []string{"agent-2", "nobody", "Zed", "agent-2"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["agent-2"].ID != "agent-2" || got["Zed"].Presence != routing.Online {
			t.Errorf("AgentsByID = %+v, want agent-2 and Zed", got)
		}
		if got, err := s.AgentsByID(ctx, "acme", nil); err != nil || got == nil || len(got) != 0 {
			t.Errorf("AgentsByID(none) = %v, %v; want an empty map", got, err)
		}
	})
}
