package ticket

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SLAState is where an SLA clock stands.
type SLAState string

// The states of an SLA clock. SLANone is the summary state of a ticket
// without SLA clocks; the list filter spells it "none".
const (
	SLANone     SLAState = ""
	SLAOK       SLAState = "ok"       // running, before its warning threshold
	SLAWarning  SLAState = "warning"  // running, past its warning threshold
	SLABreached SLAState = "breached" // past its target, not met in time
	SLAPaused   SLAState = "paused"   // stopped while the ticket waits
	SLAMet      SLAState = "met"      // done in time
)

// SLAStates lists the states of a clock, most urgent first: the summary
// state of a ticket is the first of these that one of its clocks is in.
var SLAStates = []SLAState{SLABreached, SLAWarning, SLAOK, SLAPaused, SLAMet}

// SLAClock names one of a ticket's SLA targets.
type SLAClock string

// The SLA clocks a ticket can have, at most one of each.
const (
	ClockFirstResponse SLAClock = "first_response"
	ClockNextResponse  SLAClock = "next_response"
	ClockResolution    SLAClock = "resolution"
)

// SLAClocks lists the clocks in the order a ticket's SLA keeps them.
var SLAClocks = []SLAClock{ClockFirstResponse, ClockNextResponse, ClockResolution}

// SLAColour is how the agents' board shows a state.
type SLAColour string

// The colours of the SLA states.
const (
	ColourGreen  SLAColour = "green"
	ColourYellow SLAColour = "yellow"
	ColourRed    SLAColour = "red"
	ColourGrey   SLAColour = "grey"
)

// Colour is the board colour of the state: ok green, warning yellow,
// breached red, paused and met grey; "" for SLANone or an unknown state.
func (s SLAState) Colour() SLAColour {
	switch s {
	case SLAOK:
		return ColourGreen
	case SLAWarning:
		return ColourYellow
	case SLABreached:
		return ColourRed
	case SLAPaused, SLAMet:
		return ColourGrey
	}
	return ""
}

// Running reports whether a clock in this state is still counting towards
// its due time (and so orders the ticket in the SLA queue).
func (s SLAState) Running() bool { return s == SLAOK || s == SLAWarning }

// ParseSLAState reads an SLA state as the list filter spells it: "ok",
// "SLA_STATE_OK" and such, or "none" for SLANone.
func ParseSLAState(s string) (SLAState, error) {
	v := SLAState(strings.ToLower(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SLA_STATE_")))
	if v == "none" {
		return SLANone, nil
	}
	if slices.Contains(SLAStates, v) {
		return v, nil
	}
	return "", fmt.Errorf("%q is not an SLA state; accepted: ok, warning, breached, paused, met, none", s)
}

// SLAClockStatus is one SLA clock of a ticket, as the SLA worker computed it.
type SLAClockStatus struct {
	Clock  SLAClock
	State  SLAState
	Colour SLAColour // derived from State
	// Due is when the clock breaches (or breached); zero while paused or
	// once met.
	Due time.Time
	// Remaining is the business time left to the target as of the SLA's
	// UpdateTime; negative once overdue.
	Remaining time.Duration
	// Target is the clock's target, in business time.
	Target time.Duration
	// BreachTime is when the clock breached; zero if it never did.
	BreachTime time.Time
}

// SLA is a ticket's SLA clocks and the summary queues sort and filter by.
// State, Colour and NextDue are derived from Clocks (see Derive); callers
// never set them.
type SLA struct {
	Policy string // the SLA policy that covers the ticket
	Clocks []SLAClockStatus
	// State is the most urgent state of the clocks (SLAStates order);
	// SLANone without clocks.
	State SLAState
	// Colour is State's colour.
	Colour SLAColour
	// NextDue is the earliest Due of the running (ok or warning) clocks;
	// zero if none runs.
	NextDue time.Time
	// UpdateTime is when the worker computed the clocks; a write with an
	// older one than the stored SLA's is ignored.
	UpdateTime time.Time
}

// Derive returns s with its derived fields recomputed from the clocks: each
// clock's colour, the summary state and colour, and the next due time. The
// clocks are put in SLAClocks order; the slice is copied, never edited in
// place.
func (s SLA) Derive() SLA {
	s.Clocks = slices.Clone(s.Clocks)
	slices.SortStableFunc(s.Clocks, func(a, b SLAClockStatus) int {
		return cmp.Compare(clockRank(a.Clock), clockRank(b.Clock))
	})
	s.State, s.NextDue = SLANone, time.Time{}
	best := len(SLAStates)
	for i := range s.Clocks {
		c := &s.Clocks[i]
		c.Colour = c.State.Colour()
		if r := slices.Index(SLAStates, c.State); r >= 0 && r < best {
			best = r
		}
		if c.State.Running() && !c.Due.IsZero() && (s.NextDue.IsZero() || c.Due.Before(s.NextDue)) {
			s.NextDue = c.Due
		}
	}
	if best < len(SLAStates) {
		s.State = SLAStates[best]
	}
	s.Colour = s.State.Colour()
	return s
}

// Clock returns the status of clock c, if the SLA has it.
func (s *SLA) Clock(c SLAClock) (SLAClockStatus, bool) {
	if s == nil {
		return SLAClockStatus{}, false
	}
	for _, cs := range s.Clocks {
		if cs.Clock == c {
			return cs, true
		}
	}
	return SLAClockStatus{}, false
}

// clockRank orders clocks as SLAClocks does, unknown ones last.
func clockRank(c SLAClock) int {
	if i := slices.Index(SLAClocks, c); i >= 0 {
		return i
	}
	return len(SLAClocks)
}

// SLAChanges compares the clocks of two SLAs (nil: none) by kind and
// returns one Change per clock whose state moved, in SLAClocks order:
// Field "sla.<clock>", Old and New the states, "" where the clock is
// absent. changed is true when a clock or the summary state moved; a write
// that only moves due times or remaining time changes nothing.
func SLAChanges(old, next *SLA) (changes []Change, changed bool) {
	var kinds []SLAClock
	for _, s := range []*SLA{old, next} {
		if s == nil {
			continue
		}
		for _, c := range s.Clocks {
			if !slices.Contains(kinds, c.Clock) {
				kinds = append(kinds, c.Clock)
			}
		}
	}
	slices.SortStableFunc(kinds, func(a, b SLAClock) int { return cmp.Compare(clockRank(a), clockRank(b)) })
	for _, k := range kinds {
		before, _ := old.Clock(k)
		after, _ := next.Clock(k)
		if before.State != after.State {
			changes = append(changes, Change{Field: FieldSLAPrefix + string(k), Old: before.State, New: after.State})
		}
	}
	return changes, len(changes) > 0 || old.summary() != next.summary()
}

// summary is the summary state of s; SLANone for nil.
func (s *SLA) summary() SLAState {
	if s == nil {
		return SLANone
	}
	return s.State
}
