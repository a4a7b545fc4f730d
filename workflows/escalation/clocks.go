package escalation

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kubedesk/kubedesk/workflows/calendar"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

// ClockKind names one of a ticket's SLA clocks.
type ClockKind string

// The clocks, in the order Report lists them.
const (
	// FirstResponse runs from creation to the first public agent reply.
	FirstResponse ClockKind = "firstResponse"
	// NextResponse runs from a customer reply that follows an agent reply
	// to the next public agent reply.
	NextResponse ClockKind = "nextResponse"
	// Resolution runs from creation until the ticket is solved.
	Resolution ClockKind = "resolution"
)

var clockKinds = [3]ClockKind{FirstResponse, NextResponse, Resolution}

// ClockState is a clock's state as the ticket shows it.
type ClockState string

// Clock states.
const (
	StateOK       ClockState = "ok"
	StateWarning  ClockState = "warning"
	StateBreached ClockState = "breached"
	StatePaused   ClockState = "paused"
	StateMet      ClockState = "met"
)

// Clock is one clock's accounting, carried across continue-as-new.
type Clock struct {
	Started  bool
	Met      bool
	Warned   bool
	Breached bool
	// Elapsed is the business time counted up to Since; while the clock
	// runs, the business time from Since on adds to it.
	Elapsed    time.Duration
	Since      time.Time
	MetAt      time.Time `json:",omitzero"`
	BreachedAt time.Time `json:",omitzero"`
	// BreachedTarget is the target the clock breached, kept for the
	// ticket to show when the priority then moves to one with another
	// target or none (a raisePriority breach action does). Zero in state
	// carried over from runs that did not record it.
	BreachedTarget time.Duration `json:",omitzero"`
}

// RunState is the workflow's state that continue-as-new carries over.
type RunState struct {
	Clocks [3]Clock // in clockKinds order
	// Accounted is the latest instant the clocks have been counted to;
	// events are never counted before it.
	Accounted time.Time
	Closed    bool
	// Seen is the latest ticket change taken in (see TicketEvent.Version):
	// a relay that sends an event again after a restart changes nothing.
	Seen EventSeq `json:",omitzero"`
}

// EventSeq orders the signals of one ticket: the ticket's version after
// the change, and the signal's index among those one change produced.
type EventSeq struct {
	Version int64
	Part    int
}

func (a EventSeq) after(b EventSeq) bool {
	return a.Version > b.Version || a.Version == b.Version && a.Part > b.Part
}

// ClockStatus is one clock as written to the ticket and returned by the
// "sla-state" query. Its colour on the board follows from State; the
// ticket service derives it (services/ticket SLAState.Colour), in one
// place.
type ClockStatus struct {
	Kind  ClockKind
	State ClockState
	// Due is when the clock breaches (or breached); zero while paused or
	// once met.
	Due time.Time `json:",omitzero"`
	// Remaining business time; negative once overdue.
	Remaining  time.Duration
	Elapsed    time.Duration
	Target     time.Duration
	BreachedAt time.Time `json:",omitzero"`
}

// Report is what the workflow reports of a ticket's SLA clocks as of
// UpdatedAt (workflow time): the state it writes to the ticket (where
// services/ticket holds it as an SLA) and the answer to the "sla-state"
// query. Its JSON encoding is part of recorded histories: rename no field.
type Report struct {
	Tenant    string
	TicketID  string
	Policy    string
	Priority  int
	Status    string
	Clocks    []ClockStatus
	UpdatedAt time.Time
}

// EventKind is what happened to a ticket.
type EventKind string

// Ticket events the relay signals.
const (
	EventAgentReply     EventKind = "agentReply"    // a public reply by an agent
	EventCustomerReply  EventKind = "customerReply" // a reply by the customer
	EventStatusChange   EventKind = "statusChange"  // Status is the new status
	EventPriorityChange EventKind = "priorityChange"
	EventReassignment   EventKind = "reassignment" // Group is the new group; clocks unchanged
)

// TicketEvent is the payload of the "ticket-event" signal.
type TicketEvent struct {
	Kind EventKind
	// At is when it happened on the ticket; zero means when the workflow
	// sees it. It is never counted before an instant already accounted
	// for, nor after the workflow's time.
	At       time.Time `json:",omitzero"`
	Status   string    `json:",omitempty"`
	Priority int       `json:",omitempty"`
	Group    string    `json:",omitempty"`
	// Version and Part, when Version is set, identify the ticket change
	// the event comes from (see EventSeq); an event at or before the last
	// one taken in is a repeat and is ignored. Zero Version: always taken.
	Version int64 `json:",omitempty"`
	Part    int   `json:",omitempty"`
}

// repeat reports whether ev was already taken in, and records it if not.
func (c *clocks) repeat(ev TicketEvent) bool {
	if ev.Version == 0 {
		return false
	}
	seq := EventSeq{Version: ev.Version, Part: ev.Part}
	if !seq.after(c.st.Seen) {
		return true
	}
	c.st.Seen = seq
	return false
}

// Statuses the clocks react to besides PauseOn.
const (
	StatusSolved = "solved"
	StatusClosed = "closed"
)

// clocks is the clock state machine: pure, deterministic code that the
// workflow drives with events and instants.
type clocks struct {
	policy   policy.Spec
	status   string
	priority int
	business *calendar.Calendar
	always   *calendar.Calendar
	st       RunState
}

func newClocks(in Input) (*clocks, error) {
	if in.Priority < 1 || in.Priority > 5 {
		return nil, fmt.Errorf("priority %d: accepted 1 to 5", in.Priority)
	}
	business, err := calendar.New(in.Policy.Calendar)
	if err != nil {
		return nil, fmt.Errorf("policy %s: calendar: %w", in.Policy.Name, err)
	}
	c := &clocks{
		policy:   in.Policy,
		status:   in.Status,
		priority: in.Priority,
		business: business,
		always:   calendar.Always(business.Location()),
	}
	if in.State != nil {
		c.st = *in.State
		return c, nil
	}
	c.st.Accounted = in.CreatedAt
	c.st.Seen = EventSeq{Version: in.Version, Part: math.MaxInt}
	for _, k := range []ClockKind{FirstResponse, Resolution} {
		*c.clock(k) = Clock{Started: true, Since: in.CreatedAt}
	}
	if in.Status == StatusSolved {
		c.clock(Resolution).Met = true
		c.clock(Resolution).MetAt = in.CreatedAt
	}
	return c, nil
}

func (c *clocks) clock(k ClockKind) *Clock { return &c.st.Clocks[slices.Index(clockKinds[:], k)] }

// target returns k's target and calendar at the current priority.
func (c *clocks) target(k ClockKind) (time.Duration, *calendar.Calendar) {
	for _, t := range c.policy.Targets {
		if t.Priority != c.priority {
			continue
		}
		cal := c.always
		if t.BusinessHours {
			cal = c.business
		}
		switch k {
		case FirstResponse:
			return t.FirstResponse, cal
		case NextResponse:
			return t.NextResponse, cal
		case Resolution:
			return t.Resolution, cal
		}
	}
	return 0, c.always
}

// warnAt is the elapsed time that warns, in integer arithmetic so that
// replays on any platform agree; 0 means no warning.
func (c *clocks) warnAt(target time.Duration) time.Duration {
	p := time.Duration(c.policy.WarningPercent)
	if p <= 0 || p >= 100 {
		return 0
	}
	return target/100*p + target%100*p/100
}

func (c *clocks) paused() bool { return slices.Contains(c.policy.PauseOn, c.status) }

func (c *clocks) running(k ClockKind) bool {
	cl := c.clock(k)
	return cl.Started && !cl.Met && !c.paused()
}

func (c *clocks) elapsed(k ClockKind, t time.Time) time.Duration {
	cl := c.clock(k)
	if !c.running(k) {
		return cl.Elapsed
	}
	_, cal := c.target(k)
	return cl.Elapsed + cal.Between(cl.Since, t)
}

// settle counts every running clock up to t, so that a change of pause,
// priority or calendar applies from t on.
func (c *clocks) settle(t time.Time) {
	for _, k := range clockKinds {
		cl := c.clock(k)
		if !cl.Started || cl.Met {
			continue
		}
		cl.Elapsed = c.elapsed(k, t)
		cl.Since = t
	}
	c.st.Accounted = t
}

// eventTime is when ev counts: its own time, but never after the
// workflow's time now nor before the last instant already counted.
func (c *clocks) eventTime(ev TicketEvent, now time.Time) time.Time {
	at := ev.At
	if at.IsZero() || at.After(now) {
		at = now
	}
	if at.Before(c.st.Accounted) {
		at = c.st.Accounted
	}
	return at
}

// apply handles ev at workflow time now. The caller fires what fell due
// before the event first (see fire), so a reply after a deadline whose
// timer has not fired yet still counts as late.
func (c *clocks) apply(ev TicketEvent, now time.Time) error {
	at := c.eventTime(ev, now)
	c.settle(at)
	met := func(k ClockKind) bool {
		cl := c.clock(k)
		if !cl.Started || cl.Met {
			return false
		}
		cl.Met, cl.MetAt = true, at
		return true
	}
	switch ev.Kind {
	case EventAgentReply:
		if !met(FirstResponse) {
			met(NextResponse)
		}
	case EventCustomerReply:
		// Starts the next-response clock once an agent has replied, and
		// only if it is not already waiting for one.
		fr, nr := c.clock(FirstResponse), c.clock(NextResponse)
		if fr.Met && (!nr.Started || nr.Met) {
			*nr = Clock{Started: true, Since: at}
		}
	case EventStatusChange:
		old := c.status
		c.status = ev.Status
		switch {
		case ev.Status == StatusClosed:
			c.st.Closed = true
		case ev.Status == StatusSolved:
			for _, k := range clockKinds {
				met(k)
			}
		case old == StatusSolved:
			// Reopened: resolution runs on from the business time it had
			// used when solved; the response clocks wait for the next
			// customer reply.
			if r := c.clock(Resolution); r.Started {
				r.Met, r.MetAt, r.Since = false, time.Time{}, at
			}
		}
	case EventPriorityChange:
		if ev.Priority < 1 || ev.Priority > 5 {
			return fmt.Errorf("priority change to %d ignored: accepted 1 to 5", ev.Priority)
		}
		c.priority = ev.Priority
		// Elapsed time stays; a clock that is now short of its new
		// warning threshold warns again.
		c.rearmWarnings(at)
	case EventReassignment:
	default:
		return fmt.Errorf("ticket event %q ignored: accepted %s, %s, %s, %s, %s", ev.Kind,
			EventAgentReply, EventCustomerReply, EventStatusChange, EventPriorityChange, EventReassignment)
	}
	return nil
}

// updatePolicy applies a new version of the policy from now on: the time
// each clock has used stays, the new targets, calendar, pause statuses and
// warning threshold apply to the rest, as with a priority change. A clock
// already past its new target breaches at the next fire. An invalid
// calendar changes nothing.
func (c *clocks) updatePolicy(p policy.Spec, now time.Time) error {
	business, err := calendar.New(p.Calendar)
	if err != nil {
		return fmt.Errorf("policy %s: calendar: %w", p.Name, err)
	}
	at := now
	if at.Before(c.st.Accounted) {
		at = c.st.Accounted
	}
	c.settle(at)
	c.policy, c.business, c.always = p, business, calendar.Always(business.Location())
	c.rearmWarnings(at)
	return nil
}

// rearmWarnings clears the warning of clocks now short of their (new)
// warning threshold, so they warn again. A breach is never undone.
func (c *clocks) rearmWarnings(at time.Time) {
	for _, k := range clockKinds {
		cl := c.clock(k)
		target, _ := c.target(k)
		if cl.Warned && !cl.Breached && c.elapsed(k, at) < c.warnAt(target) {
			cl.Warned = false
		}
	}
}

// fire marks the warnings and breaches due at now and returns the clocks
// that breached.
func (c *clocks) fire(now time.Time) []ClockKind {
	var breached []ClockKind
	for _, k := range clockKinds {
		cl := c.clock(k)
		target, _ := c.target(k)
		if !cl.Started || cl.Met || target <= 0 {
			continue
		}
		e := c.elapsed(k, now)
		if !cl.Breached && e >= target {
			// Breached at its due instant, which may lie before now when
			// the breach is found late (an event in the same task).
			at := now
			if _, cal := c.target(k); c.running(k) {
				if due := cal.Add(cl.Since, target-cl.Elapsed); due.Before(now) {
					at = due
				}
			}
			cl.Breached, cl.Warned, cl.BreachedAt, cl.BreachedTarget = true, true, at, target
			breached = append(breached, k)
		} else if w := c.warnAt(target); !cl.Warned && w > 0 && e >= w {
			cl.Warned = true
		}
	}
	return breached
}

// next returns the earliest instant a running clock warns or breaches,
// zero if none will.
func (c *clocks) next() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, k := range clockKinds {
		cl := c.clock(k)
		target, cal := c.target(k)
		if !c.running(k) || target <= 0 {
			continue
		}
		if w := c.warnAt(target); !cl.Warned && w > 0 {
			consider(cal.Add(cl.Since, w-cl.Elapsed))
		}
		if !cl.Breached {
			consider(cal.Add(cl.Since, target-cl.Elapsed))
		}
	}
	return next
}

// snapshot is the state as of now.
func (c *clocks) snapshot(in *Input, now time.Time) Report {
	s := Report{
		Tenant:    in.Tenant,
		TicketID:  in.TicketID,
		Policy:    c.policy.Name,
		Priority:  c.priority,
		Status:    c.status,
		UpdatedAt: now,
	}
	for _, k := range clockKinds {
		cl := c.clock(k)
		target, cal := c.target(k)
		// A clock without a target at the current priority is not shown,
		// unless it has breached: a breach stays on the ticket (and in
		// its reports) when the priority moves to one without targets.
		if !cl.Started || (target <= 0 && !cl.Breached) {
			continue
		}
		if cl.Breached && cl.BreachedTarget > 0 && in.Revision >= RevisionKeepBreachedTarget {
			// A breached clock shows the target it breached, whatever
			// the priority (or policy) says now: "breached its 15m
			// target", not "0s" once the raise leaves no target.
			target = cl.BreachedTarget
		}
		e := c.elapsed(k, now)
		cs := ClockStatus{Kind: k, Target: target, Elapsed: e, Remaining: target - e, BreachedAt: cl.BreachedAt}
		if target <= 0 {
			cs.Target, cs.Remaining = 0, 0
		}
		switch {
		case cl.Met:
			cs.State = StateMet
		case cl.Breached:
			cs.State = StateBreached
		case c.paused():
			cs.State = StatePaused
		case cl.Warned:
			cs.State = StateWarning
		default:
			cs.State = StateOK
		}
		switch {
		case cl.Met || c.paused():
		case cl.Breached && cs.Remaining <= 0:
			cs.Due = cl.BreachedAt
		default:
			cs.Due = cal.Add(cl.Since, target-cl.Elapsed)
		}
		s.Clocks = append(s.Clocks, cs)
	}
	return s
}

// sameClocks reports whether a and b show the same states and due times,
// that is whether a write to the ticket would change anything.
func sameClocks(a, b []ClockStatus) bool {
	return slices.EqualFunc(a, b, func(x, y ClockStatus) bool {
		return x.Kind == y.Kind && x.State == y.State && x.Due.Equal(y.Due) && x.Target == y.Target
	})
}

// Opening returns the state a ticket's clocks show at its creation
// (in.CreatedAt), and the first instant after which the workflow has
// something to do: its earliest warning or breach, zero when no clock
// will warn or breach without an event (every clock paused, say).
//
// It lets a starter write the opening state itself and delay the
// workflow's first task until that instant, for until then the workflow
// would only write that same state and set a timer; it computes the same
// clocks from the same input when it runs. Stamped with the creation
// time, the state is older than any the workflow writes.
func Opening(in Input) (Report, time.Time, error) {
	c, err := newClocks(in)
	if err != nil {
		return Report{}, time.Time{}, err
	}
	return c.snapshot(&in, in.CreatedAt), c.next(), nil
}
