package routingrule

import (
	"cmp"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/slapolicy"
)

// Resolve returns r as its tenant's configuration carries it (a document
// with apiVersion, kind, metadata.name and .namespace and the spec as the
// API server stores it, order defaulted) and whether it is accepted.
//
// It is the one check both controllers make: the RoutingRule controller
// reports its error in the Accepted condition, the tenant controller
// leaves a refused rule out of the configuration. It checks what the
// CRD's CEL rules cannot: the business calendar that
// spec.when.businessHours reads, with the binary's own calendar check
// (workflows/policy.CheckCalendar), so a time zone that does not exist or
// a holiday on 2026-02-30 is refused here and not by the pods. A rule
// without a calendar of its own reads its tenant's spec.calendar; the
// binary finds it in the tenant's document beside the rules, so the
// document is left as it is. The error names the field, the value and
// what is accepted.
func Resolve(r *v1alpha1.RoutingRule, tenant *v1alpha1.HelpdeskTenant) (*v1alpha1.RoutingRule, error) {
	out := &v1alpha1.RoutingRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "RoutingRule"},
		ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace},
		Spec:       *r.Spec.DeepCopy(),
	}
	// As the API server stores it: a rule read from elsewhere (a test, a
	// client that skipped defaulting) means the same in the file.
	out.Spec.Order = cmp.Or(out.Spec.Order, v1alpha1.DefaultRoutingRuleOrder)
	when := out.Spec.When
	switch {
	case when.BusinessHours == nil:
		// No condition reads a calendar.
	case !when.Calendar.IsUnset():
		c := *when.Calendar.DeepCopy()
		c.SetDefaults()
		if err := slapolicy.ValidateCalendarAt(&c, "spec.when.calendar"); err != nil {
			return out, err
		}
	case tenant != nil:
		if err := slapolicy.ValidateCalendar(tenant.Spec.Calendar); err != nil {
			return out, fmt.Errorf("spec.when.calendar: is empty, so spec.when.businessHours reads HelpdeskTenant %s's spec.calendar, which the binary refuses: %w", tenant.Name, err)
		}
	}
	return out, nil
}
