package tenant_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/tenant"
)

// TestRoutingRuleLifecycle follows routing rules from a tenant that does
// not exist yet to applied, through the routing component's Deployment
// and Service, an edit that reorders them, a rule the binary would refuse,
// the component turned off and on, and deletion.
func TestRoutingRuleLifecycle(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "wonka")
	vip := sampleRule(t, "acme-vip", "wonka")
	create(t, ns, vip)

	ruleCondition(t, ns, "acme-vip", v1alpha1.ConditionAccepted, metav1.ConditionFalse, v1alpha1.ReasonTenantNotFound,
		`spec.tenantRef.name: HelpdeskTenant "wonka" does not exist in namespace `+ns+`; create it or name an existing tenant`)
	ruleCondition(t, ns, "acme-vip", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonTenantNotFound,
		"not applied: the tenant does not exist")

	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "wonka"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
			Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
			Routing:  &v1alpha1.RoutingSpec{OfflineGrace: &metav1.Duration{Duration: 5 * time.Minute}},
		},
	}
	create(t, ns, ht)
	for _, name := range []string{"acme-billing-zh", "acme-billing", "acme-network-after-hours", "acme-default"} {
		create(t, ns, sampleRule(t, name, "wonka"))
	}
	all := []string{"acme-vip", "acme-billing-zh", "acme-billing", "acme-network-after-hours", "acme-default"}
	waitFor(t, "the five rules in the configuration, in order", func() error { return rulesInConfig(ns, "wonka", all...) })
	ruleCondition(t, ns, "acme-vip", v1alpha1.ConditionAccepted, metav1.ConditionTrue, v1alpha1.ReasonAccepted,
		"valid; part of HelpdeskTenant wonka's configuration")
	ruleCondition(t, ns, "acme-vip", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonPending,
		"waiting for HelpdeskTenant wonka's pods to roll out a configuration with generation 1")

	t.Run("the routing component runs", func(t *testing.T) {
		cfg, err := configOf(ns, "wonka")
		if err != nil {
			t.Fatal(err)
		}
		hash := configHash(map[string]string{tenant.ConfigFile: cfg})
		var d appsv1.Deployment
		waitFor(t, "Deployment wonka-routing on the configuration", func() error {
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wonka-routing"}, &d); err != nil {
				return err
			}
			if h := d.Spec.Template.Annotations[tenant.ConfigHashAnnotation]; h != hash {
				return fmt.Errorf("pods on configuration %q", h)
			}
			return nil
		})
		ht, err := getTenant(ns, "wonka")
		if err != nil {
			t.Fatal(err)
		}
		checkOwned(t, ht, &d, "routing")
		checkDeployment(t, &d, "routing", 1, hash)
		if diff := cmp.Diff(credentialEnv("wonka", "routing"), d.Spec.Template.Spec.Containers[0].Env); diff != "" {
			t.Errorf("env (-want +got), want the credentials only (SQLite):\n%s", diff)
		}
		// routing.db lives on a claim of its own, one pod at a time.
		if v := volume(d.Spec.Template.Spec, "data"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "wonka-routing-data" {
			t.Errorf("data volume %+v, want the claim wonka-routing-data", v)
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("strategy %s, want Recreate (one pod at a time on the claim)", d.Spec.Strategy.Type)
		}
		var s corev1.Service
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wonka-routing"}, &s); err != nil {
			t.Fatal(err)
		}
		checkOwned(t, ht, &s, "routing")
		var ports []string
		for _, p := range s.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%s %d->%s", p.Name, p.Port, p.TargetPort.String()))
		}
		if diff := cmp.Diff([]string{"http 8080->http", "grpc 9090->grpc"}, ports); diff != "" {
			t.Errorf("Service ports (-want +got):\n%s", diff)
		}

		head, err := configSpec(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := head.Services["routing"]; got != "wonka-routing."+ns+".svc:9090" {
			t.Errorf("services.routing = %q, want the routing Service's gRPC address", got)
		}
		if diff := cmp.Diff(map[string]any{"offlineGrace": "5m0s"}, head.Routing); diff != "" {
			t.Errorf("KubedeskConfig spec.routing (-want +got):\n%s", diff)
		}
		// The documents carry the spec as stored, defaults included.
		doc, err := ruleDoc(ns, "wonka", "acme-default")
		if err != nil {
			t.Fatal(err)
		}
		if doc.Spec.Order != 1000 || doc.Spec.Then.Group != "support" || doc.Spec.TenantRef.Name != "wonka" {
			t.Errorf("acme-default in the configuration: %+v", doc.Spec)
		}
	})

	first := rolledOut(t, ns, "wonka", "")
	for _, name := range all {
		ruleCondition(t, ns, name, v1alpha1.ConditionApplied, metav1.ConditionTrue, v1alpha1.ReasonApplied, "run generation 1")
	}
	got, err := getTenant(ns, "wonka")
	if err != nil {
		t.Fatal(err)
	}
	var want []v1alpha1.AppliedRoutingRule
	for _, name := range all {
		want = append(want, v1alpha1.AppliedRoutingRule{Name: name, Generation: 1})
	}
	if diff := cmp.Diff(want, got.Status.AppliedRoutingRules); diff != "" {
		t.Errorf("status.appliedRoutingRules (-want +got):\n%s", diff)
	}

	t.Run("an edit reorders and is pending until the pods run it", func(t *testing.T) {
		update(t, vip, func(r *v1alpha1.RoutingRule) { r.Spec.Order = 35 })
		ruleCondition(t, ns, "acme-vip", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonPending,
			"waiting for HelpdeskTenant wonka's pods to roll out generation 2; they run generation 1")
		waitFor(t, "acme-vip after acme-billing", func() error {
			return rulesInConfig(ns, "wonka", "acme-billing-zh", "acme-billing", "acme-vip", "acme-network-after-hours", "acme-default")
		})
		second := rolledOut(t, ns, "wonka", first)
		ruleCondition(t, ns, "acme-vip", v1alpha1.ConditionApplied, metav1.ConditionTrue, v1alpha1.ReasonApplied, "run generation 2")
		first = second
	})

	t.Run("what CEL cannot check is refused", func(t *testing.T) {
		mars := sampleRule(t, "acme-network-after-hours", "wonka")
		mars.Name = "mars-hours"
		mars.Spec.When.Calendar = v1alpha1.BusinessCalendar{
			TimeZone:     "Mars/Base",
			WorkingHours: []v1alpha1.WorkingHours{{Days: []v1alpha1.Weekday{"Mon"}, Start: "09:00", End: "18:00"}},
		}
		create(t, ns, mars)
		ruleCondition(t, ns, "mars-hours", v1alpha1.ConditionAccepted, metav1.ConditionFalse, v1alpha1.ReasonInvalid,
			`spec.when.calendar.timeZone: "Mars/Base" is not an IANA time zone`)
		ruleCondition(t, ns, "mars-hours", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonInvalid,
			"not applied: generation 1 is not accepted")
		if err := rulesInConfig(ns, "wonka", "acme-billing-zh", "acme-billing", "acme-vip", "acme-network-after-hours", "acme-default"); err != nil {
			t.Error(err)
		}
		if err := k8s.Delete(ctx, mars); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("routing turned off and on", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Components.Routing = &v1alpha1.ComponentSpec{Enabled: ptr.To(false)}
		})
		gone(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wonka-routing"}})
		gone(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wonka-routing"}})
		waitFor(t, "no rules and no routing section in the configuration", func() error {
			cfg, err := configOf(ns, "wonka")
			if err != nil {
				return err
			}
			head, err := configSpec(cfg)
			if err != nil {
				return err
			}
			if n := len(documents(cfg, "RoutingRule")); n > 0 || head.Routing != nil || head.Services["routing"] != "" {
				return fmt.Errorf("%d rules, routing section %v, services.routing %q", n, head.Routing, head.Services["routing"])
			}
			return nil
		})
		ruleCondition(t, ns, "acme-default", v1alpha1.ConditionAccepted, metav1.ConditionTrue, v1alpha1.ReasonAccepted,
			"valid; HelpdeskTenant wonka does not run the routing component, so its configuration leaves the rule out")
		ruleCondition(t, ns, "acme-default", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonRoutingDisabled,
			"not applied: HelpdeskTenant wonka has spec.components.routing.enabled: false; the rule applies once the routing component runs")
		off := rolledOut(t, ns, "wonka", first)
		got, err := getTenant(ns, "wonka")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.AppliedRoutingRules != nil {
			t.Errorf("status.appliedRoutingRules %v with routing off, want none", got.Status.AppliedRoutingRules)
		}

		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) { ht.Spec.Components.Routing = nil })
		waitFor(t, "the rules back in the configuration", func() error {
			return rulesInConfig(ns, "wonka", "acme-billing-zh", "acme-billing", "acme-vip", "acme-network-after-hours", "acme-default")
		})
		if h := rolledOut(t, ns, "wonka", off); h != first {
			t.Errorf("configuration hash %s with routing back on, want %s as before", h, first)
		}
		ruleCondition(t, ns, "acme-default", v1alpha1.ConditionApplied, metav1.ConditionTrue, v1alpha1.ReasonApplied, "run generation 1")
	})

	t.Run("deletion", func(t *testing.T) {
		if err := k8s.Delete(ctx, &v1alpha1.RoutingRule{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme-billing-zh"}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "acme-billing-zh out of the configuration", func() error {
			return rulesInConfig(ns, "wonka", "acme-billing", "acme-vip", "acme-network-after-hours", "acme-default")
		})
		rolledOut(t, ns, "wonka", first)
		got, err := getTenant(ns, "wonka")
		if err != nil {
			t.Fatal(err)
		}
		names := make([]string, 0, len(got.Status.AppliedRoutingRules))
		for _, a := range got.Status.AppliedRoutingRules {
			names = append(names, a.Name)
		}
		if slices.Contains(names, "acme-billing-zh") || len(names) != 4 {
			t.Errorf("status.appliedRoutingRules %v, want the four left", names)
		}
	})
}

// sampleRule is a sample routing rule (config/samples), for tenant.
func sampleRule(t *testing.T, name, tenantName string) *v1alpha1.RoutingRule {
	t.Helper()
	var r v1alpha1.RoutingRule
	readSample(t, "kubedesk_v1alpha1_routingrules.yaml", name, &r)
	r.ObjectMeta = metav1.ObjectMeta{Name: name}
	r.Spec.TenantRef.Name = tenantName
	return &r
}

// ruleCondition waits for a condition of a routing rule.
func ruleCondition(t testing.TB, ns, name, typ string, status metav1.ConditionStatus, reason, msg string) *v1alpha1.RoutingRule {
	t.Helper()
	var r v1alpha1.RoutingRule
	waitFor(t, fmt.Sprintf("RoutingRule %s/%s %s=%s/%s %q", ns, name, typ, status, reason, msg), func() error {
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &r); err != nil {
			return err
		}
		if r.Status.ObservedGeneration != r.Generation {
			return fmt.Errorf("status.observedGeneration %d, generation %d", r.Status.ObservedGeneration, r.Generation)
		}
		return hasCondition(r.Status.Conditions, r.Generation, typ, status, reason, msg)
	})
	return &r
}

// rulesInConfig checks that the tenant's configuration holds exactly the
// named routing rules, in that order.
func rulesInConfig(ns, tenantName string, names ...string) error {
	cfg, err := configOf(ns, tenantName)
	if err != nil {
		return err
	}
	var got []string
	for _, doc := range documents(cfg, "RoutingRule") {
		var r v1alpha1.RoutingRule
		if err := yaml.UnmarshalStrict([]byte(doc), &r); err != nil {
			return err
		}
		got = append(got, r.Name)
	}
	if !slices.Equal(got, names) {
		return fmt.Errorf("the configuration holds rules %q, want %q", got, names)
	}
	return nil
}

// ruleDoc returns a rule's document in the tenant's configuration.
func ruleDoc(ns, tenantName, name string) (*v1alpha1.RoutingRule, error) {
	cfg, err := configOf(ns, tenantName)
	if err != nil {
		return nil, err
	}
	for _, doc := range documents(cfg, "RoutingRule") {
		var r v1alpha1.RoutingRule
		if err := yaml.UnmarshalStrict([]byte(doc), &r); err != nil {
			return nil, err
		}
		if r.Name == name {
			return &r, nil
		}
	}
	return nil, fmt.Errorf("no rule %s in the configuration", name)
}

// kubedeskConfigSpec is what the tests read of the KubedeskConfig
// document's spec.
type kubedeskConfigSpec struct {
	Services map[string]string `json:"services"`
	Routing  map[string]any    `json:"routing"`
}

// configSpec reads the spec of a configuration's KubedeskConfig document.
func configSpec(cfg string) (kubedeskConfigSpec, error) {
	docs := documents(cfg, "KubedeskConfig")
	if len(docs) != 1 {
		return kubedeskConfigSpec{}, fmt.Errorf("%d KubedeskConfig documents", len(docs))
	}
	var head struct {
		Spec kubedeskConfigSpec `json:"spec"`
	}
	err := yaml.Unmarshal([]byte(docs[0]), &head)
	return head.Spec, err
}
