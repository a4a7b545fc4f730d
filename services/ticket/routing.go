package ticket

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Routing is a routing decision as the ticket service applies it and as
// its events carry it (ticketv1.RoutingSummary). The routing service keeps
// the whole decision, with its candidates; the ticket keeps this much.
type Routing struct {
	// ID is the decision's ID in the routing service: a decision applies
	// to a ticket once, however often it is sent.
	ID string
	// Trigger is what caused it ("created", "transfer", ...).
	Trigger string
	// Outcome is what it did ("assigned", "queued", ...).
	Outcome string
	// Group is the group after the decision.
	Group string
	// Agent is the agent assigned, if any.
	Agent string
	// Rules are the names of the rules that matched.
	Rules []string
	// Explanation is the decision's reason, in the tenant's language.
	Explanation string
}

// Assignment is what a routing decision does to a ticket, with the
// preconditions that make it safe to race (AssignTicketRequest).
type Assignment struct {
	// Group and Assignee are set when not nil ("" unassigns).
	Group, Assignee *string
	// ExpectAssignee and ExpectGroup, when not nil, are what the ticket
	// must still have for the decision to apply ("" for none).
	ExpectAssignee, ExpectGroup *string
	// AddTags are added to the ticket's tags; those it has are skipped.
	AddTags []string
	// PriorityAtLeast raises the priority to at least this one (see
	// RaiseTo); 0 raises nothing.
	PriorityAtLeast Priority
	// SetCustomFields are set on the ticket's custom fields, the others
	// kept.
	SetCustomFields map[string]string
}

// NotRoutableError reports a routing decision for a ticket that is no
// longer routed: a solved or closed one.
type NotRoutableError struct {
	ID     string
	Status Status
}

func (e *NotRoutableError) Error() string {
	return fmt.Sprintf("ticket %s: status is %q; routing applies to new, open, pending and on_hold tickets only", e.ID, e.Status)
}

// StaleError reports a routing decision made for a ticket that has moved
// on since: its assignee or group is no longer the one the decision
// expected. Deciding again, from the ticket as it is, is the way out.
type StaleError struct {
	ID       string
	Field    string // "assignee" or "group"
	Now      string // the ticket's
	Expected string // the decision's
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("ticket %s: %s is %q now, not %q", e.ID, e.Field, e.Now, e.Expected)
}

// Route applies a routing decision's assignment to t and returns what
// changed. A solved or closed ticket is refused (*NotRoutableError); so is
// one whose assignee or group is not the one a expects (*StaleError, the
// assignee checked first). The fields change as Update changes them: the
// group and assignee trimmed, the tags added in order after the ticket's
// own, the custom fields set over the ticket's, and the priority
// recomputed with m after impact and urgency are raised to reach
// a.PriorityAtLeast (RaiseTo).
func (t *Ticket) Route(a Assignment, m Matrix, now time.Time) ([]Change, error) {
	if t.Status == StatusSolved || t.Status == StatusClosed {
		return nil, &NotRoutableError{ID: t.ID, Status: t.Status}
	}
	if a.ExpectAssignee != nil {
		if want := strings.TrimSpace(*a.ExpectAssignee); t.Assignee != want {
			return nil, &StaleError{ID: t.ID, Field: "assignee", Now: t.Assignee, Expected: want}
		}
	}
	if a.ExpectGroup != nil {
		if want := strings.TrimSpace(*a.ExpectGroup); t.Group != want {
			return nil, &StaleError{ID: t.ID, Field: "group", Now: t.Group, Expected: want}
		}
	}
	to := *t
	var fields []string
	if a.Group != nil {
		to.Group = *a.Group
		fields = append(fields, "group")
	}
	if a.Assignee != nil {
		to.Assignee = *a.Assignee
		fields = append(fields, "assignee")
	}
	if len(a.AddTags) > 0 {
		to.Tags = append(slices.Clone(t.Tags), a.AddTags...)
		fields = append(fields, "tags")
	}
	if len(a.SetCustomFields) > 0 {
		to.CustomFields = orEmpty(t.CustomFields)
		maps.Copy(to.CustomFields, a.SetCustomFields)
		fields = append(fields, "custom_fields")
	}
	if a.PriorityAtLeast != 0 {
		impact, urgency := m.RaiseTo(t.Impact, t.Urgency, a.PriorityAtLeast)
		if urgency != t.Urgency {
			to.Urgency = urgency
			fields = append(fields, "urgency")
		}
		if impact != t.Impact {
			to.Impact = impact
			fields = append(fields, "impact")
		}
	}
	return t.Update(to, fields, m, now)
}
