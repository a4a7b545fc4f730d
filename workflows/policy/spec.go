package policy

import (
	"math"
	"slices"
	"time"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/workflows/calendar"
)

// Spec is a Policy in the form a workflow input can carry: plain
// values only (a *calendar.Calendar does not serialise), rebuilt into
// calendars inside the workflow. The workflow keeps the Spec it
// started with, so a policy change applies to new tickets only.
type Spec struct {
	Name string
	// Targets are the per-priority targets in priority order; a priority
	// without an entry has no clocks.
	Targets []PriorityTarget
	// Calendar is the business calendar of targets with BusinessHours.
	Calendar calendar.Spec
	// WarningPercent of a target turns its clock yellow; 0 never warns.
	WarningPercent int
	PauseOn        []string
	BreachActions  []v1alpha1.BreachAction
}

// PriorityTarget is one priority's targets; a zero duration sets no clock.
type PriorityTarget struct {
	Priority      int // 1..5
	FirstResponse time.Duration
	NextResponse  time.Duration
	Resolution    time.Duration
	// BusinessHours counts on Spec.Calendar, otherwise around the
	// clock in the calendar's time zone.
	BusinessHours bool
}

// NewSpec validates doc (see Compile) and returns the form of it a
// workflow input carries.
func NewSpec(doc v1alpha1.SLAPolicy) (Spec, error) {
	p, err := Compile(doc)
	if err != nil {
		return Spec{}, err
	}
	return p.Spec, nil
}

// newSpec builds p's Spec from the spec it was compiled from.
func newSpec(p *Policy, s v1alpha1.SLAPolicySpec) Spec {
	out := Spec{
		Name:           p.Name,
		Calendar:       calendarSpec(s.Calendar),
		WarningPercent: int(math.Round(p.Warning * 100)),
		PauseOn:        slices.Clone(p.PauseOn),
		BreachActions:  slices.Clone(p.BreachActions),
	}
	for prio := 1; prio <= 5; prio++ {
		t := p.Targets[prio]
		if t == nil {
			continue
		}
		business := true
		for _, dt := range s.Targets {
			if i, _ := priorityIndex(dt.Priority); i == prio && dt.BusinessHours != nil {
				business = *dt.BusinessHours
			}
		}
		out.Targets = append(out.Targets, PriorityTarget{
			Priority:      prio,
			FirstResponse: t.FirstResponse,
			NextResponse:  t.NextResponse,
			Resolution:    t.Resolution,
			BusinessHours: business,
		})
	}
	return out
}
