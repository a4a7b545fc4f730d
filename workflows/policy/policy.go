// Package policy compiles SLAPolicy documents into the policies that time
// tickets: which policy covers a ticket, its per-priority targets on a
// business calendar, when to warn and what to do on a breach.
//
// It is plain Go on the API types and the calendar, without Temporal, so
// the operator validates a policy with the very code `kubedesk serve
// --config` loads it with, and the SLA workflow (workflows/escalation) runs the
// Spec it compiles to.
package policy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/workflows/calendar"
)

// Target is how long each clock of one priority may run. A zero duration
// means the policy sets no such clock.
type Target struct {
	FirstResponse time.Duration
	NextResponse  time.Duration
	Resolution    time.Duration
	// Calendar the clocks count on: the policy's business calendar, or
	// around the clock for targets with businessHours: false.
	Calendar *calendar.Calendar
}

// Policy is a validated SLAPolicy, ready to time tickets.
type Policy struct {
	Name       string // namespace/name, or name in the all-in-one binary
	Tenant     string
	Precedence int32
	Match      v1alpha1.SLAMatch
	// Targets by priority, P1 = index 1; a nil entry has no target.
	Targets        [6]*Target
	PauseOn        []string // ticket statuses that stop the clocks
	Warning        float64  // fraction of a target that turns it yellow
	BreachActions  []v1alpha1.BreachAction
	ApplyToRunning bool
	// Spec is the policy in the form a workflow input carries.
	Spec Spec
}

// maxTarget is the longest target the CRD accepts (a year): the binary
// refuses what the API server would.
const maxTarget = 8760 * time.Hour

// Compile validates p and returns its Policy. Unset fields read as their
// defaults (v1alpha1.SLAPolicySpec.SetDefaults); p is not modified. Errors
// name the field path from the document root ("spec.targets[1].resolution:
// ...") and join every problem found, the way the API server reports CEL
// violations.
func Compile(p v1alpha1.SLAPolicy) (*Policy, error) {
	var errs []error
	fail := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	s := *p.Spec.DeepCopy()
	s.SetDefaults()
	name := p.Name
	if p.Namespace != "" {
		name = p.Namespace + "/" + p.Name
	}
	if p.Name == "" {
		fail("metadata.name", "is required")
	}
	if s.TenantRef.Name == "" {
		fail("spec.tenantRef.name", "is required")
	}
	pol := &Policy{
		Name:           name,
		Tenant:         s.TenantRef.Name,
		Precedence:     s.Precedence,
		Match:          s.Match,
		Warning:        float64(s.WarningThresholdPercent) / 100,
		BreachActions:  s.BreachActions,
		ApplyToRunning: s.ApplyToRunning,
	}
	if s.Precedence < 1 || s.Precedence > 10000 {
		fail("spec.precedence", "%d is out of range; accepted: 1 to 10000 (unset: %d)", s.Precedence, v1alpha1.DefaultPrecedence)
	}
	if w := s.WarningThresholdPercent; w < 1 || w > 99 {
		fail("spec.warningThresholdPercent", "%d%% is out of range; accepted: 1 to 99 (a warning must come before the breach)", w)
	}
	for i, pr := range s.Match.Priorities {
		if _, ok := priorityIndex(pr); !ok {
			fail(fmt.Sprintf("spec.match.priorities[%d]", i), "%q is not a priority; accepted: P1, P2, P3, P4, P5", pr)
		}
	}

	business, calErrs := compileCalendar(s.Calendar, "spec.calendar")
	errs = append(errs, calErrs...)
	if len(s.Targets) == 0 {
		fail("spec.targets", "is empty; give at least one priority's targets")
	}
	for i, t := range s.Targets {
		path := fmt.Sprintf("spec.targets[%d]", i)
		idx, ok := priorityIndex(t.Priority)
		if !ok {
			fail(path+".priority", "%q is not a priority; accepted: P1, P2, P3, P4, P5", t.Priority)
			continue
		}
		if pol.Targets[idx] != nil {
			fail(path+".priority", "%s has targets already; accepted: each of P1..P5 at most once", t.Priority)
			continue
		}
		tg := &Target{Calendar: business}
		if t.BusinessHours != nil && !*t.BusinessHours {
			tg.Calendar = calendar.Always(business.Location())
		}
		for _, d := range []struct {
			field string
			in    *metav1.Duration
			out   *time.Duration
		}{
			{"firstResponse", t.FirstResponse, &tg.FirstResponse},
			{"nextResponse", t.NextResponse, &tg.NextResponse},
			{"resolution", t.Resolution, &tg.Resolution},
		} {
			if d.in == nil {
				continue
			}
			if d.in.Duration <= 0 {
				fail(path+"."+d.field, "%s is not positive; accepted: a duration above 0 such as 15m or 4h", d.in.Duration)
			}
			if d.in.Duration > maxTarget {
				fail(path+"."+d.field, "%s is longer than a year; accepted: a duration up to 8760h", d.in.Duration)
			}
			*d.out = d.in.Duration
		}
		if tg.FirstResponse == 0 && tg.NextResponse == 0 && tg.Resolution == 0 && t.FirstResponse == nil && t.NextResponse == nil && t.Resolution == nil {
			fail(path, "sets no target; accepted: at least one of firstResponse, nextResponse, resolution")
		}
		pol.Targets[idx] = tg
	}
	pol.PauseOn = []string{}
	for i, st := range s.PauseOn {
		switch st {
		case "new", "open", "pending", "on_hold":
			pol.PauseOn = append(pol.PauseOn, string(st))
		default:
			fail(fmt.Sprintf("spec.pauseOn[%d]", i), "%q cannot pause a clock; accepted: new, open, pending, on_hold", st)
		}
	}
	for i, a := range s.BreachActions {
		path := fmt.Sprintf("spec.breachActions[%d]", i)
		switch a.Type {
		case v1alpha1.BreachNotify:
			if len(a.Recipients) == 0 {
				fail(path+".recipients", "notify needs recipients; accepted: assignee, group, supervisor")
			}
			for j, r := range a.Recipients {
				if r != "assignee" && r != "group" && r != "supervisor" {
					fail(fmt.Sprintf("%s.recipients[%d]", path, j), "%q is not a recipient; accepted: assignee, group, supervisor", r)
				}
			}
		case v1alpha1.BreachReassign:
			if strings.TrimSpace(a.Group) == "" {
				fail(path+".group", "reassign needs the group to move the ticket to")
			}
		case v1alpha1.BreachRaisePriority:
		case v1alpha1.BreachWebhook:
			if !strings.HasPrefix(a.URL, "https://") {
				fail(path+".url", "%q is not an https:// URL", a.URL)
			}
		default:
			fail(path+".type", "%q is not an action; accepted: notify, reassign, raisePriority, webhook", a.Type)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("SLAPolicy %s: %w", name, errors.Join(errs...))
	}
	pol.Spec = newSpec(pol, s)
	return pol, nil
}

// calendarSpec converts the API's calendar, defaults applied, to the
// calendar package's input.
func calendarSpec(c v1alpha1.BusinessCalendar) calendar.Spec {
	out := calendar.Spec{TimeZone: c.TimeZone, ExtraWorkingDays: c.ExtraWorkingDays}
	for _, w := range c.WorkingHours {
		days := make([]string, len(w.Days))
		for i, d := range w.Days {
			days[i] = string(d)
		}
		out.WorkingHours = append(out.WorkingHours, calendar.WorkingHours{Days: days, Start: w.Start, End: w.End})
	}
	if len(out.WorkingHours) == 0 {
		// No working hours given: the clock runs around the clock.
		out.WorkingHours = []calendar.WorkingHours{{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}, Start: "00:00", End: "24:00"}}
	}
	for _, h := range c.Holidays {
		out.Holidays = append(out.Holidays, calendar.Holiday{Name: h.Name, From: h.From, To: h.To})
	}
	return out
}

func priorityIndex(p v1alpha1.Priority) (int, bool) {
	if len(p) == 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '5' {
		return int(p[1] - '0'), true
	}
	return 0, false
}

// CheckCalendar checks a business calendar the way Compile checks a
// policy's, naming each problem's field under prefix: CheckCalendar(c,
// "spec.calendar") says `spec.calendar.timeZone: "Mars/Base" is not an
// IANA time zone`. A tenant's default calendar is checked with it, by the
// operator and by `kubedesk serve --config` alike.
func CheckCalendar(c v1alpha1.BusinessCalendar, prefix string) error {
	_, err := CompileCalendar(c, prefix)
	return err
}

// CompileCalendar builds a business calendar by the rules Compile applies
// to a policy's (no working hours: open around the clock; no time zone:
// UTC), or returns its problems as CheckCalendar does. It is for the
// other documents that carry a calendar of the same shape, such as a
// routing rule's businessHours condition, so that one calendar means the
// same everywhere.
func CompileCalendar(c v1alpha1.BusinessCalendar, prefix string) (*calendar.Calendar, error) {
	business, errs := compileCalendar(c, prefix)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return business, nil
}

// compileCalendar builds c, or returns its problems with field paths
// under prefix.
func compileCalendar(c v1alpha1.BusinessCalendar, prefix string) (*calendar.Calendar, []error) {
	business, err := calendar.New(calendarSpec(c))
	if err == nil {
		return business, nil
	}
	var errs []error
	var fe *calendar.FieldError
	for _, e := range unjoin(err) {
		if errors.As(e, &fe) {
			errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, fe.Path, fe.Detail))
		} else {
			errs = append(errs, fmt.Errorf("%s: %w", prefix, e))
		}
	}
	return nil, errs
}

// unjoin flattens an errors.Join tree into its leaves.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// Ticket is what matching needs to know about a ticket.
type Ticket struct {
	Tenant       string
	Priority     int // 1..5
	Channel      string
	CustomerTier string
	Group        string
	Tags         []string
}

// Set is the policies in force, in precedence order.
type Set struct {
	policies []*Policy
}

// NewSet orders policies by precedence (lower first), then by name so the
// order is stable.
func NewSet(policies ...*Policy) *Set {
	ps := slices.Clone(policies)
	slices.SortFunc(ps, func(a, b *Policy) int {
		return cmp.Or(cmp.Compare(a.Precedence, b.Precedence), cmp.Compare(a.Name, b.Name))
	})
	return &Set{policies: ps}
}

// Policies returns the policies in precedence order.
func (s *Set) Policies() []*Policy { return slices.Clone(s.policies) }

// Match returns the policy with the lowest precedence that covers t and
// has a target for its priority, or nil.
func (s *Set) Match(t Ticket) *Policy {
	for _, p := range s.policies {
		if p.Tenant == t.Tenant && p.covers(t) && t.Priority >= 1 && t.Priority <= 5 && p.Targets[t.Priority] != nil {
			return p
		}
	}
	return nil
}

func (p *Policy) covers(t Ticket) bool {
	m := p.Match
	has := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	prio := fmt.Sprintf("P%d", t.Priority)
	return (len(m.Priorities) == 0 || slices.Contains(m.Priorities, v1alpha1.Priority(prio))) &&
		(len(m.Channels) == 0 || slices.Contains(m.Channels, v1alpha1.Channel(t.Channel))) &&
		has(m.CustomerTiers, t.CustomerTier) &&
		has(m.Groups, t.Group) &&
		(len(m.Tags) == 0 || slices.ContainsFunc(t.Tags, func(tag string) bool { return slices.Contains(m.Tags, tag) }))
}
