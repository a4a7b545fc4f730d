package tenant_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// TestPolicyLifecycle follows SLA policies from a tenant that does not
// exist yet to applied, through edits, a refused policy, the tenant's
// calendar and deletion.
func TestPolicyLifecycle(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "globex")
	standard := samplePolicy(t, "standard", "globex")
	create(t, ns, standard)

	policyCondition(t, ns, "standard", v1alpha1.ConditionAccepted, metav1.ConditionFalse, v1alpha1.ReasonTenantNotFound,
		`spec.tenantRef.name: HelpdeskTenant "globex" does not exist in namespace `+ns)
	policyCondition(t, ns, "standard", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonTenantNotFound, "")

	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "globex"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Calendar: &v1alpha1.BusinessCalendar{
				TimeZone:     "Asia/Shanghai",
				WorkingHours: []v1alpha1.WorkingHours{{Days: []v1alpha1.Weekday{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "09:00", End: "18:00"}},
			},
			Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
			Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
		},
	}
	create(t, ns, ht)
	policyCondition(t, ns, "standard", v1alpha1.ConditionAccepted, metav1.ConditionTrue, v1alpha1.ReasonAccepted, "")
	policyCondition(t, ns, "standard", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonPending, "generation 1")
	waitFor(t, "standard in the configuration", func() error { return inConfig(ns, "globex", "standard") })
	first := rolledOut(t, ns, "globex", "")
	policyCondition(t, ns, "standard", v1alpha1.ConditionApplied, metav1.ConditionTrue, v1alpha1.ReasonApplied, "run generation 1")

	t.Run("a policy without a calendar counts on the tenant's", func(t *testing.T) {
		vip := samplePolicy(t, "vip", "globex")
		create(t, ns, vip)
		waitFor(t, "vip in the configuration", func() error { return inConfig(ns, "globex", "vip", "standard") })
		doc, err := policyDoc(ns, "globex", "vip")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(*ht.Spec.Calendar, doc.Spec.Calendar); diff != "" {
			t.Errorf("vip's calendar in the configuration (-want the tenant's +got):\n%s", diff)
		}
		policyCondition(t, ns, "vip", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonPending, "")
		second := rolledOut(t, ns, "globex", first)
		if second == first {
			t.Errorf("configuration hash %s did not change with a new policy", first)
		}
		policyCondition(t, ns, "vip", v1alpha1.ConditionApplied, metav1.ConditionTrue, v1alpha1.ReasonApplied, "")
		first = second
	})

	t.Run("an edit is pending until the pods run it", func(t *testing.T) {
		update(t, standard, func(p *v1alpha1.SLAPolicy) { p.Spec.WarningThresholdPercent = 70 })
		policyCondition(t, ns, "standard", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonPending,
			"waiting for HelpdeskTenant globex's pods to roll out generation 2; they run generation 1")
		second := rolledOut(t, ns, "globex", first)
		if second == first {
			t.Errorf("configuration hash %s did not change with the edit", first)
		}
		policyCondition(t, ns, "standard", v1alpha1.ConditionApplied, metav1.ConditionTrue, v1alpha1.ReasonApplied, "run generation 2")
		got, err := getTenant(ns, "globex")
		if err != nil {
			t.Fatal(err)
		}
		// In precedence order: vip (10), standard (100).
		want := []v1alpha1.AppliedPolicy{{Name: "vip", Generation: 1}, {Name: "standard", Generation: 2}}
		if diff := cmp.Diff(want, got.Status.AppliedPolicies); diff != "" {
			t.Errorf("status.appliedPolicies (-want +got):\n%s", diff)
		}
		first = second
	})

	t.Run("what CEL cannot check is refused", func(t *testing.T) {
		mars := samplePolicy(t, "mars", "globex")
		mars.Spec.Calendar.TimeZone = "Mars/Base"
		create(t, ns, mars)
		policyCondition(t, ns, "mars", v1alpha1.ConditionAccepted, metav1.ConditionFalse, v1alpha1.ReasonInvalid,
			`spec.calendar.timeZone: "Mars/Base" is not an IANA time zone`)
		policyCondition(t, ns, "mars", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonInvalid, "not accepted")
		if err := inConfig(ns, "globex", "vip", "standard"); err != nil {
			t.Error(err)
		}
		tenantCondition(t, ns, "globex", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonAvailable, "")
	})

	t.Run("the tenant's calendar is checked too", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) { ht.Spec.Calendar.TimeZone = "Mars/Base" })
		tenantCondition(t, ns, "globex", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
			`spec.calendar.timeZone: "Mars/Base" is not an IANA time zone`)
		policyCondition(t, ns, "vip", v1alpha1.ConditionAccepted, metav1.ConditionFalse, v1alpha1.ReasonInvalid,
			"the policy counts on HelpdeskTenant globex's spec.calendar")
		// standard has a calendar of its own.
		policyCondition(t, ns, "standard", v1alpha1.ConditionAccepted, metav1.ConditionTrue, v1alpha1.ReasonAccepted, "")
		waitFor(t, "vip out of the configuration", func() error { return inConfig(ns, "globex", "standard") })

		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) { ht.Spec.Calendar.TimeZone = "Asia/Shanghai" })
		policyCondition(t, ns, "vip", v1alpha1.ConditionAccepted, metav1.ConditionTrue, v1alpha1.ReasonAccepted, "")
		waitFor(t, "vip back in the configuration", func() error { return inConfig(ns, "globex", "vip", "standard") })
		if h := rolledOut(t, ns, "globex", ""); h != first {
			t.Errorf("configuration hash %s after the calendar came back, want %s as before", h, first)
		}
	})

	t.Run("deletion", func(t *testing.T) {
		vip := &v1alpha1.SLAPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vip"}}
		if err := k8s.Delete(ctx, vip); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "vip out of the configuration", func() error { return inConfig(ns, "globex", "standard") })
		rolledOut(t, ns, "globex", first)
		got, err := getTenant(ns, "globex")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]v1alpha1.AppliedPolicy{{Name: "standard", Generation: 2}}, got.Status.AppliedPolicies); diff != "" {
			t.Errorf("status.appliedPolicies (-want +got):\n%s", diff)
		}
	})
}

// samplePolicy is the sample acme-standard policy, renamed, for tenant;
// vip is the sample's acme-vip, which has no calendar.
func samplePolicy(t *testing.T, name, tenantName string) *v1alpha1.SLAPolicy {
	t.Helper()
	sample := "acme-standard"
	if name == "vip" {
		sample = "acme-vip"
	}
	var p v1alpha1.SLAPolicy
	readSample(t, "kubedesk_v1alpha1_slapolicies.yaml", sample, &p)
	p.ObjectMeta = metav1.ObjectMeta{Name: name}
	p.Spec.TenantRef.Name = tenantName
	return &p
}

// rolledOut waits until every Deployment of the tenant carries a
// configuration hash other than previous, rolls them out, and waits until
// the tenant reports that hash as its configuration; it returns the hash.
func rolledOut(t *testing.T, ns, tenantName, previous string) string {
	t.Helper()
	var hash string
	waitFor(t, "the Deployments of "+tenantName+" on a new configuration", func() error {
		cfg, err := configOf(ns, tenantName)
		if err != nil {
			return err
		}
		hash = configHash(map[string]string{"kubedesk.yaml": cfg})
		if hash == previous {
			return fmt.Errorf("configuration hash still %s", previous)
		}
		for _, c := range []string{"gateway", "ticket", "worker"} {
			got, err := templateHash(ns, tenantName+"-"+c)
			if err != nil {
				return err
			}
			if got != hash {
				return fmt.Errorf("%s-%s pods on %s, the configuration is %s", tenantName, c, got, hash)
			}
		}
		return nil
	})
	kubeletAll(t, ns, tenantName)
	waitFor(t, "HelpdeskTenant "+tenantName+" on configuration "+hash, func() error {
		ht, err := getTenant(ns, tenantName)
		if err != nil {
			return err
		}
		if ht.Status.ConfigHash != hash {
			return fmt.Errorf("status.configHash %s", ht.Status.ConfigHash)
		}
		return nil
	})
	return hash
}

// inConfig checks that the tenant's configuration holds exactly the named
// policies, in that order.
func inConfig(ns, tenantName string, names ...string) error {
	cfg, err := configOf(ns, tenantName)
	if err != nil {
		return err
	}
	var got []string
	for _, doc := range documents(cfg, "SLAPolicy") {
		var p v1alpha1.SLAPolicy
		if err := yaml.UnmarshalStrict([]byte(doc), &p); err != nil {
			return err
		}
		got = append(got, p.Name)
	}
	if !slices.Equal(got, names) {
		return fmt.Errorf("the configuration holds policies %q, want %q", got, names)
	}
	return nil
}

// documents returns the documents of a kind in a configuration file.
func documents(cfg, kind string) []string {
	var out []string
	for _, doc := range strings.Split(cfg, "\n---\n") {
		var head struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err == nil && head.Kind == kind {
			out = append(out, doc)
		}
	}
	return out
}

// policyDoc returns a policy's document in the tenant's configuration.
func policyDoc(ns, tenantName, name string) (*v1alpha1.SLAPolicy, error) {
	cfg, err := configOf(ns, tenantName)
	if err != nil {
		return nil, err
	}
	for _, doc := range documents(cfg, "SLAPolicy") {
		var p v1alpha1.SLAPolicy
		if err := yaml.UnmarshalStrict([]byte(doc), &p); err != nil {
			return nil, err
		}
		if p.Name == name {
			return &p, nil
		}
	}
	return nil, fmt.Errorf("no policy %s in the configuration", name)
}

// TestConfigTooLarge: when the configuration outgrows a ConfigMap (1 MiB),
// the tenant is Degraded and its pods stay on the configuration their
// ConfigMap holds.
func TestConfigTooLarge(t *testing.T) {
	ns := newNamespace(t, "umbrella")
	create(t, ns, &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "umbrella"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
			Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
		},
	})
	waitFor(t, "the first configuration rolled into the Deployments", func() error { return onConfig(ns, "umbrella") })

	// 366 one-day holidays with 100-character names: about 55 kB a policy.
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var holidays []v1alpha1.Holiday
	for i := range 366 {
		d := day.AddDate(0, 0, i).Format(time.DateOnly)
		holidays = append(holidays, v1alpha1.Holiday{Name: strings.Repeat("假", 33) + "x", From: d, To: d})
	}
	for i := range 20 {
		p := samplePolicy(t, fmt.Sprintf("big-%02d", i), "umbrella")
		p.Spec.Calendar.Holidays = holidays
		p.Spec.Calendar.ExtraWorkingDays = nil
		create(t, ns, p)
	}
	tenantCondition(t, ns, "umbrella", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
		"more than a ConfigMap holds (1048576); the pods stay on the last one that fit")
	if err := onConfig(ns, "umbrella"); err != nil {
		t.Error(err)
	}
}

// onConfig checks that every Deployment of a tenant carries the hash of the
// configuration in its ConfigMap.
func onConfig(ns, tenantName string) error {
	cfg, err := configOf(ns, tenantName)
	if err != nil {
		return err
	}
	want := configHash(map[string]string{"kubedesk.yaml": cfg})
	for _, c := range []string{"gateway", "ticket", "worker"} {
		got, err := templateHash(ns, tenantName+"-"+c)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s-%s pods on configuration %s, the ConfigMap holds %s", tenantName, c, got, want)
		}
	}
	return nil
}
