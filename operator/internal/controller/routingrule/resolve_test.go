package routingrule

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// samples reads the sample routing rules (config/samples), by name.
func samples(t *testing.T) map[string]*v1alpha1.RoutingRule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "samples", "kubedesk_v1alpha1_routingrules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*v1alpha1.RoutingRule{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var rule v1alpha1.RoutingRule
		if err := yaml.UnmarshalStrict(doc, &rule); err != nil {
			t.Fatal(err)
		}
		out[rule.Name] = &rule
	}
}

func TestResolve(t *testing.T) {
	shanghai := &v1alpha1.BusinessCalendar{
		TimeZone:     "Asia/Shanghai",
		WorkingHours: []v1alpha1.WorkingHours{{Days: []v1alpha1.Weekday{"Mon", "Fri"}, Start: "09:00", End: "18:00"}},
	}
	mars := &v1alpha1.BusinessCalendar{TimeZone: "Mars/Base", WorkingHours: shanghai.WorkingHours}
	tenantWith := func(c *v1alpha1.BusinessCalendar) *v1alpha1.HelpdeskTenant {
		return &v1alpha1.HelpdeskTenant{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "acme"}, Spec: v1alpha1.HelpdeskTenantSpec{Calendar: c}}
	}
	tests := []struct {
		name   string
		rule   string // a sample
		edit   func(*v1alpha1.RoutingRuleSpec)
		tenant *v1alpha1.HelpdeskTenant
		err    string // the start of the error; "" when accepted
		order  int32  // the document's order when it is not the rule's
	}{
		{name: "order unset reads as 100", rule: "acme-vip", tenant: tenantWith(nil),
			edit: func(s *v1alpha1.RoutingRuleSpec) { s.Order = 0 }, order: 100},
		{name: "no businessHours", rule: "acme-vip", tenant: tenantWith(shanghai)},
		{name: "after hours on the tenant's calendar", rule: "acme-network-after-hours", tenant: tenantWith(shanghai)},
		{name: "after hours, tenant without a calendar", rule: "acme-network-after-hours", tenant: tenantWith(nil)},
		{name: "a calendar of its own", rule: "acme-network-after-hours", tenant: tenantWith(nil),
			edit: func(s *v1alpha1.RoutingRuleSpec) { s.When.Calendar = *shanghai.DeepCopy() }},
		{name: "calendar: {} stored as UTC reads the tenant's", rule: "acme-network-after-hours", tenant: tenantWith(mars),
			edit: func(s *v1alpha1.RoutingRuleSpec) { s.When.Calendar = v1alpha1.BusinessCalendar{TimeZone: "UTC"} },
			err:  `spec.when.calendar: is empty, so spec.when.businessHours reads HelpdeskTenant acme's spec.calendar, which the binary refuses: spec.calendar.timeZone: "Mars/Base" is not an IANA time zone`},
		{name: "unknown time zone", rule: "acme-network-after-hours", tenant: tenantWith(nil),
			edit: func(s *v1alpha1.RoutingRuleSpec) {
				s.When.Calendar = *shanghai.DeepCopy()
				s.When.Calendar.TimeZone = "Mars/Base"
			},
			err: `spec.when.calendar.timeZone: "Mars/Base" is not an IANA time zone`},
		{name: "no such date, and the host's zone", rule: "acme-network-after-hours", tenant: tenantWith(nil),
			edit: func(s *v1alpha1.RoutingRuleSpec) {
				s.When.Calendar = v1alpha1.BusinessCalendar{TimeZone: "Local", Holidays: []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-02-30"}}}
			},
			err: `spec.when.calendar.timeZone: "Local" is the host's zone`},
		{name: "a broken tenant calendar does not touch a rule with its own", rule: "acme-network-after-hours", tenant: tenantWith(mars),
			edit: func(s *v1alpha1.RoutingRuleSpec) { s.When.Calendar = *shanghai.DeepCopy() }},
		{name: "a broken tenant calendar does not touch a rule without businessHours", rule: "acme-billing-zh", tenant: tenantWith(mars)},
		{name: "the tenant's calendar is refused", rule: "acme-network-after-hours", tenant: tenantWith(mars),
			err: `spec.when.calendar: is empty, so spec.when.businessHours reads HelpdeskTenant acme's spec.calendar, which the binary refuses: spec.calendar.timeZone: "Mars/Base" is not an IANA time zone`},
		{name: "businessHours: true reads it too", rule: "acme-billing", tenant: tenantWith(mars),
			edit: func(s *v1alpha1.RoutingRuleSpec) { s.When.BusinessHours = ptr.To(true) },
			err:  `spec.when.calendar: is empty, so spec.when.businessHours reads HelpdeskTenant acme's spec.calendar, which the binary refuses: spec.calendar.timeZone: "Mars/Base" is not an IANA time zone`},
	}
	all := samples(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := all[tt.rule].DeepCopy()
			if tt.edit != nil {
				tt.edit(&r.Spec)
			}
			r.Generation, r.UID, r.ResourceVersion = 3, "uid", "42"
			r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionAccepted}}
			got, err := Resolve(r, tt.tenant)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.err != "" && err == nil:
				t.Fatalf("accepted; want %q", tt.err)
			case tt.err != "" && !strings.HasPrefix(err.Error(), tt.err):
				t.Fatalf("error\n  %v\nwant it to start with\n  %s", err, tt.err)
			case tt.err != "":
				return
			}
			want := &v1alpha1.RoutingRule{
				TypeMeta:   metav1.TypeMeta{APIVersion: "kubedesk.io/v1alpha1", Kind: "RoutingRule"},
				ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace},
				Spec:       r.Spec,
			}
			if tt.order != 0 {
				want.Spec.Order = tt.order
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("document (-want +got): the spec as stored, name and namespace only, no status:\n%s", diff)
			}
		})
	}
}

// TestResolveReportsEveryCalendarProblem: a calendar with several
// problems names each, on one line.
func TestResolveReportsEveryCalendarProblem(t *testing.T) {
	r := samples(t)["acme-network-after-hours"]
	r.Spec.When.Calendar = v1alpha1.BusinessCalendar{
		TimeZone:         "Local",
		Holidays:         []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-02-30"}},
		ExtraWorkingDays: []string{"2026-02-31"},
	}
	_, err := Resolve(r, nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`spec.when.calendar.timeZone: "Local" is the host's zone`,
		`spec.when.calendar.holidays[0].to: "2026-02-30" is not a date`,
		`spec.when.calendar.extraWorkingDays[0]: "2026-02-31" is not a date`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line", err)
	}
}
