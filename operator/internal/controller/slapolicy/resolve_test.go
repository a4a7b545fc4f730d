package slapolicy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// samples reads the sample SLA policies (config/samples), by name.
func samples(t *testing.T) map[string]*v1alpha1.SLAPolicy {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "samples", "kubedesk_v1alpha1_slapolicies.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*v1alpha1.SLAPolicy{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var p v1alpha1.SLAPolicy
		if err := yaml.UnmarshalStrict(doc, &p); err != nil {
			t.Fatal(err)
		}
		out[p.Name] = &p
	}
}

func TestResolve(t *testing.T) {
	shanghai := &v1alpha1.BusinessCalendar{
		TimeZone:     "Asia/Shanghai",
		WorkingHours: []v1alpha1.WorkingHours{{Days: []v1alpha1.Weekday{"Mon", "Fri"}, Start: "09:00", End: "18:00"}},
	}
	tenantWith := func(c *v1alpha1.BusinessCalendar) *v1alpha1.HelpdeskTenant {
		return &v1alpha1.HelpdeskTenant{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "acme"}, Spec: v1alpha1.HelpdeskTenantSpec{Calendar: c}}
	}
	hours := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	tests := []struct {
		name     string
		policy   string // a sample
		edit     func(*v1alpha1.SLAPolicySpec)
		tenant   *v1alpha1.HelpdeskTenant
		calendar *v1alpha1.BusinessCalendar // the resolved policy's, when no error
		err      string                     // contained in the error
	}{
		{name: "sample with a calendar", policy: "acme-standard", tenant: tenantWith(shanghai)},
		{name: "no calendar, tenant without one", policy: "acme-vip", tenant: tenantWith(nil), calendar: &v1alpha1.BusinessCalendar{TimeZone: "UTC"}},
		{name: "no calendar inherits the tenant's", policy: "acme-vip", tenant: tenantWith(shanghai), calendar: shanghai},
		{name: "calendar: {} stored as UTC inherits", policy: "acme-vip", tenant: tenantWith(shanghai), calendar: shanghai,
			edit: func(s *v1alpha1.SLAPolicySpec) { s.Calendar.TimeZone = "UTC" }},
		{name: "a time zone of its own is kept", policy: "acme-vip", tenant: tenantWith(shanghai),
			calendar: &v1alpha1.BusinessCalendar{TimeZone: "Europe/Berlin"},
			edit:     func(s *v1alpha1.SLAPolicySpec) { s.Calendar.TimeZone = "Europe/Berlin" }},
		{name: "unknown time zone", policy: "acme-standard", tenant: tenantWith(nil),
			edit: func(s *v1alpha1.SLAPolicySpec) { s.Calendar.TimeZone = "Mars/Base" },
			err:  `spec.calendar.timeZone: "Mars/Base" is not an IANA time zone`},
		{name: "no such date", policy: "acme-standard", tenant: tenantWith(nil),
			edit: func(s *v1alpha1.SLAPolicySpec) { s.Calendar.Holidays[0].To = "2026-02-30" },
			err:  `spec.calendar.holidays[0].to: "2026-02-30" is not a date`},
		{name: "overlapping working hours", policy: "acme-standard", tenant: tenantWith(nil),
			edit: func(s *v1alpha1.SLAPolicySpec) {
				s.Calendar.WorkingHours = append(s.Calendar.WorkingHours, v1alpha1.WorkingHours{Days: []v1alpha1.Weekday{"Mon"}, Start: "12:00", End: "20:00"})
			},
			err: "spec.calendar.workingHours[1]"},
		{name: "longer than a year", policy: "acme-vip", tenant: tenantWith(nil),
			edit: func(s *v1alpha1.SLAPolicySpec) { s.Targets[0].Resolution = hours(9000 * time.Hour) },
			err:  "spec.targets[0].resolution: 9000h0m0s is longer than a year"},
		{name: "every problem at once", policy: "acme-vip", tenant: tenantWith(nil),
			edit: func(s *v1alpha1.SLAPolicySpec) {
				s.Targets[0].FirstResponse = hours(-time.Minute)
				s.Targets[1].Priority = "P1"
			},
			err: "spec.targets[0].firstResponse: -1m0s is not positive; accepted: a duration above 0 such as 15m or 4h; spec.targets[1].priority: P1 has targets already"},
		{name: "the tenant's calendar is refused", policy: "acme-vip",
			tenant: tenantWith(&v1alpha1.BusinessCalendar{TimeZone: "Mars/Base", WorkingHours: shanghai.WorkingHours}),
			err:    `spec.calendar: is empty, so the policy counts on HelpdeskTenant acme's spec.calendar, which the binary refuses: spec.calendar.timeZone: "Mars/Base"`},
		{name: "a broken tenant calendar does not touch a policy with its own", policy: "acme-standard",
			tenant: tenantWith(&v1alpha1.BusinessCalendar{TimeZone: "Mars/Base"})},
	}
	all := samples(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := all[tt.policy].DeepCopy()
			if tt.edit != nil {
				tt.edit(&p.Spec)
			}
			got, err := Resolve(p, tt.tenant)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "SLAPolicy ") || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q: want one line without the policy's name (it is the condition's object)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.APIVersion != "kubedesk.io/v1alpha1" || got.Kind != "SLAPolicy" || got.Name != p.Name || got.Namespace != p.Namespace {
				t.Errorf("resolved %s %s %s/%s, want kubedesk.io/v1alpha1 SLAPolicy %s/%s", got.APIVersion, got.Kind, got.Namespace, got.Name, p.Namespace, p.Name)
			}
			want := &p.Spec.Calendar
			if tt.calendar != nil {
				want = tt.calendar
			}
			if diff := cmp.Diff(*want, got.Spec.Calendar); diff != "" {
				t.Errorf("calendar (-want +got):\n%s", diff)
			}
			if tt.calendar == shanghai && &got.Spec.Calendar.WorkingHours[0] == &shanghai.WorkingHours[0] {
				t.Error("the resolved policy shares the tenant's calendar; it must be a copy")
			}
		})
	}
}

func TestValidateCalendar(t *testing.T) {
	if err := ValidateCalendar(nil); err != nil {
		t.Errorf("no calendar: %v", err)
	}
	err := ValidateCalendar(&v1alpha1.BusinessCalendar{TimeZone: "Local", ExtraWorkingDays: []string{"2026-02-31"}})
	for _, want := range []string{`spec.calendar.timeZone: "Local" is the host's zone`, `spec.calendar.extraWorkingDays[0]: "2026-02-31" is not a date`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one containing %q", err, want)
		}
	}
	if err := ValidateCalendar(&v1alpha1.BusinessCalendar{TimeZone: "UTC"}); err != nil {
		t.Errorf("around the clock in UTC: %v", err)
	}
}
