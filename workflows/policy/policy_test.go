package policy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// standard is the example policy of issue 4, in Chinese business hours.
const standard = `
apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: standard, namespace: acme}
spec:
  tenantRef: {name: acme}
  precedence: 10
  match: {priorities: [P1, P2, P3], channels: [email, web, wechat], customerTiers: [vip]}
  calendar:
    timeZone: Asia/Shanghai
    workingHours: [{days: [Mon, Tue, Wed, Thu, Fri], start: "09:00", end: "18:00"}]
    holidays: [{name: 国庆节, from: "2026-10-01", to: "2026-10-08"}]
    extraWorkingDays: ["2026-09-27", "2026-10-11"]
  targets:
    - {priority: P1, firstResponse: 15m, nextResponse: 30m, resolution: 4h, businessHours: false}
    - {priority: P2, firstResponse: 1h, resolution: 8h}
  pauseOn: [pending]
  warningThresholdPercent: 75
  breachActions:
    - {type: notify, recipients: [assignee, group, supervisor]}
    - {type: reassign, group: escalation}
    - {type: raisePriority}
    - {type: webhook, url: "https://hooks.example.com/sla"}
`

func parse(t *testing.T, doc string) v1alpha1.SLAPolicy {
	t.Helper()
	var p v1alpha1.SLAPolicy
	if err := yaml.UnmarshalStrict([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompileStandard(t *testing.T) {
	p, err := Compile(parse(t, standard))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "acme/standard" || p.Tenant != "acme" || p.Precedence != 10 || p.Warning != 0.75 {
		t.Errorf("policy header: %+v", p)
	}
	p1, p2 := p.Targets[1], p.Targets[2]
	if p1.FirstResponse != 15*time.Minute || p1.Resolution != 4*time.Hour || p2.FirstResponse != time.Hour || p.Targets[3] != nil {
		t.Errorf("targets: P1 %+v P2 %+v P3 %+v", p1, p2, p.Targets[3])
	}
	// P1 runs around the clock; P2 on the Shanghai business calendar, where
	// Friday 17:30 + 1h is Monday 09:30.
	fri := time.Date(2026, 11, 20, 17, 30, 0, 0, p2.Calendar.Location())
	if got, want := p2.Calendar.Add(fri, time.Hour), time.Date(2026, 11, 23, 9, 30, 0, 0, fri.Location()); !got.Equal(want) {
		t.Errorf("P2 due %s, want %s", got, want)
	}
	if got := p1.Calendar.Add(fri, time.Hour); !got.Equal(fri.Add(time.Hour)) {
		t.Errorf("P1 (24x7) due %s, want %s", got, fri.Add(time.Hour))
	}
}

func TestCompileRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*v1alpha1.SLAPolicySpec)
		want string
	}{
		{"negative target", func(s *v1alpha1.SLAPolicySpec) { s.Targets[0].FirstResponse.Duration = -5 * time.Minute },
			"spec.targets[0].firstResponse: -5m0s is not positive"},
		{"zero target", func(s *v1alpha1.SLAPolicySpec) { s.Targets[1].Resolution.Duration = 0 }, "spec.targets[1].resolution: 0s is not positive"},
		{"warning at 120%", func(s *v1alpha1.SLAPolicySpec) { s.WarningThresholdPercent = 120 }, "spec.warningThresholdPercent: 120% is out of range"},
		{"unknown time zone", func(s *v1alpha1.SLAPolicySpec) { s.Calendar.TimeZone = "Mars/Olympus" }, `spec.calendar.timeZone: "Mars/Olympus" is not an IANA time zone`},
		{"overlapping holidays", func(s *v1alpha1.SLAPolicySpec) {
			s.Calendar.Holidays = append(s.Calendar.Holidays, v1alpha1.Holiday{Name: "调休", From: "2026-10-03", To: "2026-10-05"})
		}, "spec.calendar.holidays[1]"},
		{"unknown priority", func(s *v1alpha1.SLAPolicySpec) { s.Targets[0].Priority = "P7" }, `spec.targets[0].priority: "P7" is not a priority`},
		{"duplicate priority", func(s *v1alpha1.SLAPolicySpec) { s.Targets[1].Priority = "P1" }, "spec.targets[1].priority: P1 has targets already"},
		{"reassign without group", func(s *v1alpha1.SLAPolicySpec) { s.BreachActions[1].Group = "" }, "spec.breachActions[1].group"},
		{"plain http webhook", func(s *v1alpha1.SLAPolicySpec) { s.BreachActions[3].URL = "http://hooks.example.com" }, "spec.breachActions[3].url"},
		{"no tenant", func(s *v1alpha1.SLAPolicySpec) { s.TenantRef.Name = "" }, "spec.tenantRef.name: is required"},
		{"closed status pauses", func(s *v1alpha1.SLAPolicySpec) { s.PauseOn = []v1alpha1.TicketStatus{"closed"} }, "spec.pauseOn[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parse(t, standard)
			tt.edit(&p.Spec)
			_, err := Compile(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "SLAPolicy acme/standard") {
				t.Errorf("error %q does not name the policy", err)
			}
		})
	}
}

func TestSetMatch(t *testing.T) {
	vip, err := Compile(parse(t, standard))
	if err != nil {
		t.Fatal(err)
	}
	fallback := parse(t, standard)
	fallback.Name, fallback.Spec.Precedence, fallback.Spec.Match = "everyone", 100, v1alpha1.SLAMatch{}
	fallback.Spec.Targets = append(fallback.Spec.Targets, v1alpha1.SLATarget{Priority: "P5", Resolution: fallback.Spec.Targets[1].Resolution})
	all, err := Compile(fallback)
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet(all, vip)
	tests := []struct {
		name   string
		ticket Ticket
		want   *Policy
	}{
		{"vip email P1", Ticket{Tenant: "acme", Priority: 1, Channel: "email", CustomerTier: "vip"}, vip},
		{"standard customer", Ticket{Tenant: "acme", Priority: 1, Channel: "email"}, all},
		{"vip by phone", Ticket{Tenant: "acme", Priority: 2, Channel: "phone", CustomerTier: "vip"}, all},
		{"P5: only the fallback has a target", Ticket{Tenant: "acme", Priority: 5, Channel: "web", CustomerTier: "vip"}, all},
		{"P4: no policy has a target", Ticket{Tenant: "acme", Priority: 4, Channel: "web"}, nil},
		{"other tenant", Ticket{Tenant: "globex", Priority: 1, Channel: "email", CustomerTier: "vip"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := set.Match(tt.ticket); got != tt.want {
				t.Errorf("matched %v, want %v", name(got), name(tt.want))
			}
		})
	}
}

func name(p *Policy) string {
	if p == nil {
		return "<none>"
	}
	return p.Name
}

// TestCompileDefaults: a policy that leaves out what the CRD schema
// defaults compiles as the API server would store it, and Compile leaves
// its argument as it was.
func TestCompileDefaults(t *testing.T) {
	doc := parse(t, `
apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: minimal}
spec:
  tenantRef: {name: acme}
  targets: [{priority: P3, resolution: 8h}]
`)
	before := doc.DeepCopy()
	p, err := Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, &doc); diff != "" {
		t.Errorf("Compile changed its argument (-before +after):\n%s", diff)
	}
	if p.Precedence != v1alpha1.DefaultPrecedence || p.Warning != 0.75 || !slices.Equal(p.PauseOn, []string{"pending"}) ||
		p.Spec.WarningPercent != int(v1alpha1.DefaultWarningThresholdPercent) || p.Spec.Calendar.TimeZone != v1alpha1.DefaultTimeZone {
		t.Errorf("defaults: precedence %d, warning %v, pauseOn %q, spec %+v", p.Precedence, p.Warning, p.PauseOn, p.Spec)
	}

	// An explicit empty pauseOn is kept: nothing pauses the clocks.
	doc.Spec.PauseOn = []v1alpha1.TicketStatus{}
	if p, err = Compile(doc); err != nil {
		t.Fatal(err)
	}
	if len(p.PauseOn) != 0 {
		t.Errorf("pauseOn: [] compiled to %q, want none", p.PauseOn)
	}
}

func TestNewSpec(t *testing.T) {
	p, err := NewSpec(parse(t, standard))
	if err != nil {
		t.Fatal(err)
	}
	want := []PriorityTarget{
		{Priority: 1, FirstResponse: 15 * time.Minute, NextResponse: 30 * time.Minute, Resolution: 4 * time.Hour},
		{Priority: 2, FirstResponse: time.Hour, Resolution: 8 * time.Hour, BusinessHours: true},
	}
	if diff := cmp.Diff(want, p.Targets); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if p.WarningPercent != 75 || p.Name != "acme/standard" || !slices.Equal(p.PauseOn, []string{"pending"}) ||
		p.Calendar.TimeZone != "Asia/Shanghai" || len(p.BreachActions) != 4 {
		t.Errorf("NewSpec = %+v", p)
	}
	if _, err := NewSpec(v1alpha1.SLAPolicy{}); err == nil {
		t.Error("NewSpec accepted an empty policy")
	}
}

func TestCompileCalendar(t *testing.T) {
	cal, err := CompileCalendar(v1alpha1.BusinessCalendar{
		TimeZone:     "Asia/Shanghai",
		WorkingHours: []v1alpha1.WorkingHours{{Days: []v1alpha1.Weekday{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "09:00", End: "18:00"}},
	}, "spec.when.calendar")
	if err != nil {
		t.Fatal(err)
	}
	shanghai := cal.Location()
	for _, c := range []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai), true},   // Monday 09:00
		{time.Date(2026, 3, 2, 18, 0, 0, 0, shanghai), false}, // closing instant
		{time.Date(2026, 3, 7, 10, 0, 0, 0, shanghai), false}, // Saturday
	} {
		if got := cal.IsOpen(c.at); got != c.open {
			t.Errorf("IsOpen(%s) = %v, want %v", c.at, got, c.open)
		}
	}

	always, err := CompileCalendar(v1alpha1.BusinessCalendar{}, "spec.calendar")
	if err != nil {
		t.Fatal(err)
	}
	if !always.IsOpen(time.Date(2026, 3, 7, 3, 0, 0, 0, time.UTC)) {
		t.Error("a calendar without working hours is closed on Saturday night; want open around the clock")
	}

	_, err = CompileCalendar(v1alpha1.BusinessCalendar{TimeZone: "Mars/Base"}, "spec.when.calendar")
	want := `spec.when.calendar.timeZone: "Mars/Base" is not an IANA time zone (e.g. "Asia/Shanghai", "Europe/Berlin", "UTC")`
	if err == nil || err.Error() != want {
		t.Errorf("CompileCalendar error = %v, want %s", err, want)
	}
}
