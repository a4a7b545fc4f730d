package ticket

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The lifecycle and escalation rules work on the domain Ticket; the gRPC
// layer converts its requests and calls them, and so would any other way
// in (a mail command, a workflow).

// Updatable lists the fields Update sets, as update-mask paths.
var Updatable = []string{
	"subject", "description", "status", "impact", "urgency", "channel",
	"requester", "group", "assignee", "tags", "custom_fields",
}

// ClosedError reports a change to a closed ticket, which is final.
type ClosedError struct {
	ID string
	// To is the status the change asked for, "" if it asked for none.
	To Status
}

func (e *ClosedError) Error() string {
	if e.To != "" && e.To != StatusClosed {
		return CheckTransition(StatusClosed, e.To).Error() + "; open a follow-up ticket instead"
	}
	return fmt.Sprintf("status: ticket %q is closed and cannot change; open a follow-up ticket instead", e.ID)
}

// FieldError reports a value a ticket cannot hold.
type FieldError struct {
	Field  string // e.g. "subject"
	Reason string // e.g. "must not be empty"
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Update sets the fields of t named in fields (Updatable paths) to their
// values in to, recomputes the priority from impact and urgency with m,
// and returns what changed. A status change must be one the lifecycle
// allows (*TransitionError otherwise); a closed ticket takes no change
// (*ClosedError); an empty subject is refused (*FieldError). On error t
// may be half-edited: the store discards it.
func (t *Ticket) Update(to Ticket, fields []string, m Matrix, now time.Time) ([]Change, error) {
	if t.Status == StatusClosed {
		e := &ClosedError{ID: t.ID}
		if slices.Contains(fields, "status") {
			e.To = to.Status
		}
		return nil, e
	}
	var changes []Change
	record := func(field string, from, next any) {
		if !sameValue(from, next) {
			changes = append(changes, Change{Field: field, Old: from, New: next})
		}
	}
	for _, f := range fields {
		switch f {
		case "subject":
			subject := strings.TrimSpace(to.Subject)
			if subject == "" {
				return nil, &FieldError{Field: "subject", Reason: "must not be empty"}
			}
			record(f, t.Subject, subject)
			t.Subject = subject
		case "description":
			record(f, t.Description, to.Description)
			t.Description = to.Description
		case "status":
			if err := CheckTransition(t.Status, to.Status); err != nil {
				return nil, err
			}
			changes = append(changes, t.setStatus(to.Status, now)...)
		case "impact":
			record(f, t.Impact, to.Impact)
			t.Impact = to.Impact
		case "urgency":
			record(f, t.Urgency, to.Urgency)
			t.Urgency = to.Urgency
		case "channel":
			record(f, t.Channel, to.Channel)
			t.Channel = to.Channel
		case "requester":
			record(f, t.Requester, to.Requester)
			t.Requester = to.Requester
		case "group":
			group := strings.TrimSpace(to.Group)
			record(f, t.Group, group)
			t.Group = group
		case "assignee":
			assignee := strings.TrimSpace(to.Assignee)
			record(f, t.Assignee, assignee)
			t.Assignee = assignee
		case "tags":
			tags := normalizeTags(to.Tags)
			record(f, orNoTags(t.Tags), tags)
			t.Tags = tags
		case "custom_fields":
			fields := orEmpty(to.CustomFields)
			record(f, orEmpty(t.CustomFields), fields)
			t.CustomFields = fields
		}
	}
	if p := m.Priority(t.Impact, t.Urgency); p != t.Priority {
		changes = append(changes, Change{Field: FieldPriority, Old: t.Priority, New: p})
		t.Priority = p
	}
	return changes, nil
}

// sameValue compares two values of one field; lists and maps by content.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case []string:
		b, ok := b.([]string)
		return ok && slices.Equal(a, b)
	case map[string]string:
		b, ok := b.(map[string]string)
		return ok && maps.Equal(a, b)
	}
	return a == b
}

// setStatus moves t to a status the caller has checked, keeping the solve
// time in step: set when solved, cleared when reopened, kept when closed.
func (t *Ticket) setStatus(to Status, now time.Time) []Change {
	if t.Status == to {
		return nil
	}
	changes := []Change{{Field: "status", Old: t.Status, New: to}}
	switch {
	case to == StatusSolved:
		t.SolveTime = now
	case to != StatusClosed && !t.SolveTime.IsZero():
		t.SolveTime = time.Time{}
	}
	t.Status = to
	return changes
}

// ReceiveComment applies the lifecycle's automatic moves for comment c: an
// agent's public reply opens a new ticket; a customer's reply to a ticket
// waiting on them (pending) or already solved puts it back in the agents'
// queue. A closed ticket takes no comment (*ClosedError).
func (t *Ticket) ReceiveComment(c Comment, now time.Time) ([]Change, error) {
	switch {
	case t.Status == StatusClosed:
		return nil, &ClosedError{ID: t.ID}
	case c.AuthorType == AuthorAgent && c.Visibility == VisibilityPublic && t.Status == StatusNew:
		return t.setStatus(StatusOpen, now), nil
	case c.AuthorType == AuthorCustomer && (t.Status == StatusPending || t.Status == StatusSolved):
		return t.setStatus(StatusOpen, now), nil
	}
	return nil, nil
}

// Escalation is what an SLA breach does to a ticket.
type Escalation struct {
	// Group is the escalation group to move the ticket to; "" moves it
	// nowhere.
	Group string
	// RaisePriorityFrom raises the priority one step (see RaiseStep) if
	// the ticket is still at it: a breach raises once, however often its
	// action is retried. 0 raises nothing.
	RaisePriorityFrom Priority
}

// Escalate applies e to t, each change only where still due, and returns
// what changed. A closed ticket is left alone.
func (t *Ticket) Escalate(e Escalation, m Matrix, now time.Time) ([]Change, error) {
	if t.Status == StatusClosed {
		return nil, nil
	}
	to := *t
	var fields []string
	if e.Group != "" {
		to.Group = e.Group
		fields = append(fields, "group")
	}
	if e.RaisePriorityFrom != 0 && e.RaisePriorityFrom == t.Priority {
		if impact, urgency, field, ok := RaiseStep(t.Impact, t.Urgency); ok {
			to.Impact, to.Urgency = impact, urgency
			fields = append(fields, field)
		}
	}
	return t.Update(to, fields, m, now)
}

// normalizeTags trims, drops empties and duplicates, keeping first order.
func normalizeTags(in []string) []string {
	out := make([]string, 0, len(in))
	for _, t := range in {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func orNoTags(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}
