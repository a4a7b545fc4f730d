package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/ticket"
)

// us is t as the store keeps it, written out rather than calling the
// store's normTime (see stored).
func us(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// hours is base plus h hours, with base's zone and nanoseconds.
func hours(h float64) time.Time { return base.Add(time.Duration(h * float64(time.Hour))) }

func clock(c ticket.SLAClock, st ticket.SLAState, due time.Time) ticket.SLAClockStatus {
	return ticket.SLAClockStatus{Clock: c, State: st, Due: due, Remaining: time.Hour + time.Nanosecond, Target: 4 * time.Hour}
}

func events(t *testing.T, s ticket.Store, tenant string) int {
	t.Helper()
	return len(allEvents(t, s, tenant))
}

func lastEvent(t *testing.T, s ticket.Store, tenant string) ticket.Event {
	t.Helper()
	all := allEvents(t, s, tenant)
	if len(all) == 0 {
		t.Fatal("no events")
	}
	return all[len(all)-1]
}

func TestSetSLA(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		tk := create(t, s, fixture("acme", 1))

		t.Run("stores and reads back", func(t *testing.T) {
			in := ticket.SLA{
				Policy: "acme/standard",
				Clocks: []ticket.SLAClockStatus{
					clock(ticket.ClockResolution, ticket.SLAOK, hours(8)),
					{Clock: ticket.ClockFirstResponse, State: ticket.SLAWarning, Due: hours(1), Remaining: -time.Minute,
						Target: 15 * time.Minute, BreachTime: hours(1.5)},
				},
				// The caller's summary is not trusted.
				State: ticket.SLAMet, Colour: ticket.ColourRed, NextDue: hours(100),
				UpdateTime: hours(0.5),
			}
			got, err := s.SetSLA(ctx, "acme", tk.ID, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := stored(tk) // version and update time unchanged
			want.SLA = &ticket.SLA{
				Policy: "acme/standard",
				Clocks: []ticket.SLAClockStatus{
					{Clock: ticket.ClockFirstResponse, State: ticket.SLAWarning, Colour: ticket.ColourYellow, Due: us(hours(1)),
						Remaining: -time.Minute, Target: 15 * time.Minute, BreachTime: us(hours(1.5))},
					{Clock: ticket.ClockResolution, State: ticket.SLAOK, Colour: ticket.ColourGreen, Due: us(hours(8)),
						Remaining: time.Hour + time.Nanosecond, Target: 4 * time.Hour},
				},
				State: ticket.SLAWarning, Colour: ticket.ColourYellow, NextDue: us(hours(1)), UpdateTime: us(hours(0.5)),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("SetSLA returned (-want +got):\n%s", diff)
			}
			read, err := s.GetTicket(ctx, "acme", tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, read); diff != "" {
				t.Errorf("GetTicket (-want +got):\n%s", diff)
			}
			if read.SLA.NextDue.Location() != time.UTC || read.SLA.Clocks[0].Due.Location() != time.UTC {
				t.Errorf("SLA times %v, %v: want UTC", read.SLA.NextDue, read.SLA.Clocks[0].Due)
			}
			page, err := s.ListTickets(ctx, "acme", ticket.ListQuery{Limit: 10})
			if err != nil || len(page) != 1 {
				t.Fatalf("ListTickets = %d, %v", len(page), err)
			}
			if diff := cmp.Diff(want, page[0]); diff != "" {
				t.Errorf("listed ticket (-want +got):\n%s", diff)
			}
			e := lastEvent(t, s, "acme")
			if e.Type != ticket.EventSLAChanged || e.TicketID != tk.ID || e.Comment != nil {
				t.Fatalf("last event = %s %s, want sla.changed of %s", e.Type, e.TicketID, tk.ID)
			}
			wantChanges := []ticket.Change{
				{Field: "sla.first_response", Old: ticket.SLAState(""), New: ticket.SLAState("warning")},
				{Field: "sla.resolution", Old: ticket.SLAState(""), New: ticket.SLAState("ok")},
			}
			if diff := cmp.Diff(wantChanges, e.Changes); diff != "" {
				t.Errorf("event changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, e.Ticket); diff != "" {
				t.Errorf("event ticket (-want +got):\n%s", diff)
			}
		})

		t.Run("moving due times writes no event", func(t *testing.T) {
			n := events(t, s, "acme")
			in := ticket.SLA{Policy: "acme/standard", UpdateTime: hours(0.75), Clocks: []ticket.SLAClockStatus{
				clock(ticket.ClockFirstResponse, ticket.SLAWarning, hours(1.25)),
				clock(ticket.ClockResolution, ticket.SLAOK, hours(9)),
			}}
			got, err := s.SetSLA(ctx, "acme", tk.ID, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.SLA == nil || !got.SLA.NextDue.Equal(us(hours(1.25))) || !got.SLA.UpdateTime.Equal(us(hours(0.75))) {
				t.Errorf("SLA = %+v, want the new due times stored", got.SLA)
			}
			if read, _ := s.GetTicket(ctx, "acme", tk.ID); !read.SLA.Clocks[1].Due.Equal(us(hours(9))) || read.Version != 1 {
				t.Errorf("read back resolution due %v version %d, want %v and 1", read.SLA.Clocks[1].Due, read.Version, hours(9))
			}
			if m := events(t, s, "acme"); m != n {
				t.Errorf("events = %d, want %d (none written)", m, n)
			}
		})

		t.Run("a state change writes an event", func(t *testing.T) {
			n := events(t, s, "acme")
			in := ticket.SLA{Policy: "acme/standard", UpdateTime: hours(1.5), Clocks: []ticket.SLAClockStatus{
				{Clock: ticket.ClockFirstResponse, State: ticket.SLABreached, Due: hours(1.25), BreachTime: hours(1.25)},
				clock(ticket.ClockResolution, ticket.SLAOK, hours(9)),
			}}
			got, err := s.SetSLA(ctx, "acme", tk.ID, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.SLA.State != ticket.SLABreached || got.SLA.Colour != ticket.ColourRed || !got.SLA.NextDue.Equal(us(hours(9))) {
				t.Errorf("summary = %s %s %v, want breached red and the resolution's due time", got.SLA.State, got.SLA.Colour, got.SLA.NextDue)
			}
			if m := events(t, s, "acme"); m != n+1 {
				t.Fatalf("events = %d, want %d", m, n+1)
			}
			e := lastEvent(t, s, "acme")
			want := []ticket.Change{{Field: "sla.first_response", Old: ticket.SLAState("warning"), New: ticket.SLAState("breached")}}
			if diff := cmp.Diff(want, e.Changes); diff != "" {
				t.Errorf("event changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(got, e.Ticket); diff != "" {
				t.Errorf("event ticket (-want +got):\n%s", diff)
			}
			if e.Ticket.Version != 1 {
				t.Errorf("event ticket version %d, want 1", e.Ticket.Version)
			}

			// A clock that goes away counts too.
			in.UpdateTime, in.Clocks = hours(1.6), in.Clocks[1:]
			if _, err := s.SetSLA(ctx, "acme", tk.ID, in, nil); err != nil {
				t.Fatal(err)
			}
			e = lastEvent(t, s, "acme")
			want = []ticket.Change{{Field: "sla.first_response", Old: ticket.SLAState("breached"), New: ticket.SLAState("")}}
			if diff := cmp.Diff(want, e.Changes); diff != "" {
				t.Errorf("event changes after removing a clock (-want +got):\n%s", diff)
			}
		})

		t.Run("a stale write is ignored", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			n := events(t, s, "acme")
			stale := ticket.SLA{Policy: "old", UpdateTime: hours(1), Clocks: []ticket.SLAClockStatus{
				clock(ticket.ClockResolution, ticket.SLAWarning, hours(2)),
			}}
			got, err := s.SetSLA(ctx, "acme", tk.ID, stale, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, got); diff != "" {
				t.Errorf("SetSLA of a stale write returned (-stored +got):\n%s", diff)
			}
			if read, _ := s.GetTicket(ctx, "acme", tk.ID); !cmp.Equal(before, read) {
				t.Errorf("a stale write changed the ticket: %s", cmp.Diff(before, read))
			}
			if m := events(t, s, "acme"); m != n {
				t.Errorf("events = %d, want %d", m, n)
			}
			// The same update time again (a retry of the last write) is not
			// stale: it is stored, and changes nothing here.
			same := *before.SLA
			if _, err := s.SetSLA(ctx, "acme", tk.ID, same, nil); err != nil {
				t.Fatal(err)
			}
			if m := events(t, s, "acme"); m != n {
				t.Errorf("events after a retry = %d, want %d", m, n)
			}
		})

		t.Run("updates and comments keep the SLA", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			got, err := s.UpdateTicket(ctx, "acme", tk.ID, func(t *ticket.Ticket) ([]ticket.Change, error) {
				t.SLA = nil // not the mutation's to change
				return setSubject("still has its SLA")(t)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != before.Version+1 {
				t.Errorf("version %d, want %d", got.Version, before.Version+1)
			}
			if diff := cmp.Diff(before.SLA, got.SLA); diff != "" {
				t.Errorf("UpdateTicket returned SLA (-before +got):\n%s", diff)
			}
			if _, _, err := s.AddComment(ctx, newComment(tk, 1), ticket.Idempotency{}, nil); err != nil {
				t.Fatal(err)
			}
			read, _ := s.GetTicket(ctx, "acme", tk.ID)
			if diff := cmp.Diff(before.SLA, read.SLA); diff != "" {
				t.Errorf("SLA after an update and a comment (-before +got):\n%s", diff)
			}
			if e := lastEvent(t, s, "acme"); !cmp.Equal(before.SLA, e.Ticket.SLA) {
				t.Errorf("comment event's ticket SLA (-before +got):\n%s", cmp.Diff(before.SLA, e.Ticket.SLA))
			}
			if ids := listAll(t, s, "acme", ticket.Filter{SLAStates: []ticket.SLAState{read.SLA.State}}, 10); len(ids) != 1 {
				t.Errorf("filter by the SLA state after the update = %v, want the ticket", ids)
			}
		})

		t.Run("unknown ticket and other tenant", func(t *testing.T) {
			in := ticket.SLA{UpdateTime: hours(50), Clocks: []ticket.SLAClockStatus{clock(ticket.ClockResolution, ticket.SLAOK, hours(60))}}
			if _, err := s.SetSLA(ctx, "acme", id(99), in, nil); !errors.Is(err, ticket.ErrNotFound) {
				t.Errorf("SetSLA of a missing ticket: err = %v, want ErrNotFound", err)
			}
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			if _, err := s.SetSLA(ctx, "tenant-b", tk.ID, in, nil); !errors.Is(err, ticket.ErrNotFound) {
				t.Errorf("SetSLA of another tenant's ticket: err = %v, want ErrNotFound", err)
			}
			if read, _ := s.GetTicket(ctx, "acme", tk.ID); !cmp.Equal(before, read) {
				t.Errorf("another tenant changed the ticket: %s", cmp.Diff(before, read))
			}
			if n := events(t, s, "tenant-b"); n != 0 {
				t.Errorf("tenant-b events = %d, want none", n)
			}
		})
	})
}

// setGroup is a mutation moving a ticket to group, as an SLA escalation
// does; a ticket there already is left alone.
func setGroup(group string) ticket.Mutation {
	return func(t *ticket.Ticket) ([]ticket.Change, error) {
		if t.Group == group {
			return nil, nil
		}
		ch := ticket.Change{Field: "group", Old: t.Group, New: group}
		t.Group = group
		return []ticket.Change{ch}, nil
	}
}

func TestSetSLAEscalation(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		tk := create(t, s, fixture("acme", 1))
		breached := ticket.SLA{Policy: "acme/standard", UpdateTime: hours(2), Clocks: []ticket.SLAClockStatus{
			{Clock: ticket.ClockFirstResponse, State: ticket.SLABreached, Due: hours(1), Remaining: -time.Hour, Target: time.Hour, BreachTime: hours(1)},
		}}

		t.Run("the breach and its escalation in one transaction", func(t *testing.T) {
			n := events(t, s, "acme")
			got, err := s.SetSLA(ctx, "acme", tk.ID, breached, setGroup("escalation"))
			if err != nil {
				t.Fatal(err)
			}
			if got.Group != "escalation" || got.Version != tk.Version+1 || got.SLA == nil || got.SLA.State != ticket.SLABreached {
				t.Errorf("SetSLA returned group %q, version %d, SLA %+v; want escalation, %d, breached", got.Group, got.Version, got.SLA, tk.Version+1)
			}
			if read, _ := s.GetTicket(ctx, "acme", tk.ID); !cmp.Equal(got, read) {
				t.Errorf("stored ticket (-returned +read):\n%s", cmp.Diff(got, read))
			}
			all := allEvents(t, s, "acme")
			if len(all) != n+2 {
				t.Fatalf("events = %d, want %d (the SLA's, then the update's)", len(all), n+2)
			}
			sla, upd := all[n], all[n+1]
			if sla.Type != ticket.EventSLAChanged || sla.Ticket.Group != tk.Group || sla.Ticket.Version != tk.Version {
				t.Errorf("first event %s with group %q, version %d; want %s before the move (%q, %d)",
					sla.Type, sla.Ticket.Group, sla.Ticket.Version, ticket.EventSLAChanged, tk.Group, tk.Version)
			}
			want := []ticket.Change{{Field: "group", Old: tk.Group, New: "escalation"}}
			if upd.Type != ticket.EventTicketUpdated || !cmp.Equal(want, upd.Changes) || !cmp.Equal(got, upd.Ticket) {
				t.Errorf("second event %s, changes %v, ticket (-returned +event):\n%s; want %s with %v",
					upd.Type, upd.Changes, cmp.Diff(got, upd.Ticket), ticket.EventTicketUpdated, want)
			}
		})

		t.Run("a retry changes nothing more", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			n := events(t, s, "acme")
			got, err := s.SetSLA(ctx, "acme", tk.ID, breached, setGroup("escalation"))
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(before, got) || events(t, s, "acme") != n {
				t.Errorf("a repeated escalation wrote: (-before +got)\n%s", cmp.Diff(before, got))
			}
		})

		t.Run("a stale state still escalates", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			n := events(t, s, "acme")
			stale := breached
			stale.UpdateTime, stale.Policy = hours(1.5), "old"
			got, err := s.SetSLA(ctx, "acme", tk.ID, stale, setGroup("tier-2"))
			if err != nil {
				t.Fatal(err)
			}
			if got.Group != "tier-2" || !cmp.Equal(before.SLA, got.SLA) {
				t.Errorf("group %q, SLA (-stored +got):\n%s; want tier-2 and the stored SLA", got.Group, cmp.Diff(before.SLA, got.SLA))
			}
			if e := lastEvent(t, s, "acme"); events(t, s, "acme") != n+1 || e.Type != ticket.EventTicketUpdated {
				t.Errorf("events %d, last %s; want %d, the update", events(t, s, "acme"), e.Type, n+1)
			}
		})

		t.Run("a failed escalation writes nothing", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			n := events(t, s, "acme")
			boom := errors.New("boom")
			newer := breached
			newer.UpdateTime = hours(3)
			_, err := s.SetSLA(ctx, "acme", tk.ID, newer, func(*ticket.Ticket) ([]ticket.Change, error) { return nil, boom })
			if err != boom { //nolint:errorlint // the mutation's own error, untouched
				t.Errorf("err = %v, want the mutation's error as it is", err)
			}
			if read, _ := s.GetTicket(ctx, "acme", tk.ID); !cmp.Equal(before, read) || events(t, s, "acme") != n {
				t.Errorf("a failed escalation changed the ticket: (-before +read)\n%s", cmp.Diff(before, read))
			}
		})
	})
}

// slaFixtures gives tickets 0..11 of a tenant SLAs whose next due times
// tie and that include every state, no clocks and no SLA. In hours after
// base; -1 is "no SLA", -2 "an SLA without clocks".
var slaFixtures = []struct {
	state ticket.SLAState
	due   float64 // of the running clock; 0 for none
}{
	0:  {ticket.SLANone, -1},
	1:  {ticket.SLAOK, 5},
	2:  {ticket.SLAOK, 3},
	3:  {ticket.SLAPaused, 0},
	4:  {ticket.SLAWarning, 3},
	5:  {ticket.SLAMet, 0},
	6:  {ticket.SLAOK, 1},
	7:  {ticket.SLANone, -1},
	8:  {ticket.SLABreached, 3}, // a breached first response; resolution runs
	9:  {ticket.SLAWarning, 2},
	10: {ticket.SLANone, -2},
	11: {ticket.SLABreached, 5},
}

// setupSLAList creates the slaFixtures tickets and returns them as stored.
func setupSLAList(t *testing.T, s ticket.Store, tenant string) []ticket.Ticket {
	t.Helper()
	var out []ticket.Ticket
	for n, f := range slaFixtures {
		tk := create(t, s, fixture(tenant, n))
		if f.due == -1 {
			out = append(out, tk)
			continue
		}
		sla := ticket.SLA{Policy: "p", UpdateTime: base}
		switch f.state {
		case ticket.SLAOK, ticket.SLAWarning:
			sla.Clocks = []ticket.SLAClockStatus{clock(ticket.ClockResolution, f.state, hours(f.due))}
		case ticket.SLABreached:
			sla.Clocks = []ticket.SLAClockStatus{
				clock(ticket.ClockFirstResponse, ticket.SLABreached, hours(-1)),
				clock(ticket.ClockResolution, ticket.SLAOK, hours(f.due)),
			}
		case ticket.SLAPaused, ticket.SLAMet:
			sla.Clocks = []ticket.SLAClockStatus{clock(ticket.ClockResolution, f.state, time.Time{})}
		}
		got, err := s.SetSLA(ctx, tenant, tk.ID, sla, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.SLA.State != f.state {
			t.Fatalf("ticket %d: SLA state %q, want %q", n, got.SLA.State, f.state)
		}
		out = append(out, got)
	}
	return out
}

func TestListBySLA(t *testing.T) {
	// By next due time, ties by ID; then the tickets without one, newest
	// first (met, paused, no clocks and no SLA alike).
	wantOrder := []int{6, 9, 2, 4, 8, 1, 11, 10, 7, 5, 3, 0}
	contract(t, func(t *testing.T, s ticket.Store) {
		all := setupSLAList(t, s, "acme")
		setupSLAList(t, s, "other") // same IDs and due times: never listed

		t.Run("filter", func(t *testing.T) {
			for _, tt := range []struct {
				name string
				f    ticket.Filter
				want []int // newest first
			}{
				{"breached", ticket.Filter{SLAStates: []ticket.SLAState{ticket.SLABreached}}, []int{11, 8}},
				{"none", ticket.Filter{SLAStates: []ticket.SLAState{ticket.SLANone}}, []int{10, 7, 0}},
				{"warning or breached", ticket.Filter{SLAStates: []ticket.SLAState{ticket.SLAWarning, ticket.SLABreached}}, []int{11, 9, 8, 4}},
				// Statuses cycle new, open, pending, on_hold, solved.
				{"warning or breached and pending or on hold", ticket.Filter{
					SLAStates: []ticket.SLAState{ticket.SLAWarning, ticket.SLABreached},
					Statuses:  []ticket.Status{ticket.StatusPending, ticket.StatusOnHold}}, []int{8}},
				{"ok and open", ticket.Filter{SLAStates: []ticket.SLAState{ticket.SLAOK}, Statuses: []ticket.Status{ticket.StatusOpen}}, []int{6, 1}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					var want []string
					for _, n := range tt.want {
						if !matchesFilter(all[n], tt.f) {
							t.Fatalf("ticket %d does not match %+v by the reference semantics", n, tt.f)
						}
						want = append(want, id(n))
					}
					for _, limit := range []int{1, 2, 100} {
						if diff := cmp.Diff(want, listAll(t, s, "acme", tt.f, limit)); diff != "" {
							t.Errorf("limit %d: IDs (-want +got):\n%s", limit, diff)
						}
					}
				})
			}
		})

		t.Run("order by next due", func(t *testing.T) {
			var want []string
			for _, n := range wantOrder {
				want = append(want, id(n))
			}
			q := ticket.ListQuery{Order: ticket.OrderSLANextDue}
			for limit := 1; limit <= 4; limit++ {
				if diff := cmp.Diff(want, listOrdered(t, s, "acme", q, limit)); diff != "" {
					t.Errorf("limit %d: IDs (-want +got):\n%s", limit, diff)
				}
			}
			page, err := s.ListTickets(ctx, "acme", ticket.ListQuery{Order: ticket.OrderSLANextDue, Limit: 1})
			if err != nil || len(page) != 1 {
				t.Fatalf("first page = %d, %v", len(page), err)
			}
			if diff := cmp.Diff(all[6], page[0]); diff != "" {
				t.Errorf("first row (-want +got):\n%s", diff)
			}
		})

		t.Run("order by next due, filtered", func(t *testing.T) {
			f := ticket.Filter{Statuses: []ticket.Status{ticket.StatusNew, ticket.StatusOpen, ticket.StatusPending}}
			var want []string
			for _, n := range wantOrder {
				if matchesFilter(all[n], f) {
					want = append(want, id(n))
				}
			}
			for limit := 1; limit <= 4; limit++ {
				if diff := cmp.Diff(want, listOrdered(t, s, "acme", ticket.ListQuery{Filter: f, Order: ticket.OrderSLANextDue}, limit)); diff != "" {
					t.Errorf("limit %d: IDs (-want +got):\n%s", limit, diff)
				}
			}
		})

		t.Run("newest first is unchanged", func(t *testing.T) {
			var want []string
			for n := len(all) - 1; n >= 0; n-- {
				want = append(want, id(n))
			}
			for limit := 1; limit <= 4; limit++ {
				if diff := cmp.Diff(want, listAll(t, s, "acme", ticket.Filter{}, limit)); diff != "" {
					t.Errorf("limit %d: IDs (-want +got):\n%s", limit, diff)
				}
			}
		})
	})
}
