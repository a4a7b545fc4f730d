package slapolicy

import (
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

// Resolve returns p as its tenant's configuration carries it (a
// document with apiVersion, kind, metadata.name and .namespace and the
// spec) and whether the kubedesk binary accepts it. A policy without a
// calendar of its own gets the tenant's spec.calendar, and unset fields
// their defaults (v1alpha1.SLAPolicySpec.SetDefaults), as the API server
// would store them.
//
// It is the one check both controllers make: the SLAPolicy controller
// reports its error in the Accepted condition, the tenant controller
// leaves a refused policy out of the configuration. The check is the
// binary's own (workflows/policy.Compile, which `kubedesk serve --config`
// runs on every SLAPolicy document), so the operator never writes a
// configuration the pods would refuse to load. It covers what the CRD's
// CEL rules cannot: IANA time zones, real calendar dates, overlapping
// working hours or holidays. The error names the field, the value and what
// is accepted.
func Resolve(p *v1alpha1.SLAPolicy, tenant *v1alpha1.HelpdeskTenant) (*v1alpha1.SLAPolicy, error) {
	out := &v1alpha1.SLAPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SLAPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
		Spec:       *p.Spec.DeepCopy(),
	}
	if tenant != nil && out.Spec.InheritCalendar(&tenant.Spec) {
		if err := ValidateCalendar(tenant.Spec.Calendar); err != nil {
			return out, fmt.Errorf("spec.calendar: is empty, so the policy counts on HelpdeskTenant %s's spec.calendar, which the binary refuses: %w", tenant.Name, err)
		}
	}
	out.Spec.SetDefaults()
	if _, err := policy.Compile(*out); err != nil {
		return out, errors.New(problems(err))
	}
	return out, nil
}

// ValidateCalendar checks a tenant's default calendar the way the binary
// checks a policy's (nil is valid: there is none). The error names the
// field relative to the object, e.g. `spec.calendar.timeZone: "Mars/Base"
// is not an IANA time zone`.
func ValidateCalendar(c *v1alpha1.BusinessCalendar) error {
	return ValidateCalendarAt(c, "spec.calendar")
}

// ValidateCalendarAt is ValidateCalendar for a calendar at another field,
// such as a RoutingRule's spec.when.calendar.
func ValidateCalendarAt(c *v1alpha1.BusinessCalendar, field string) error {
	if c == nil {
		return nil
	}
	if err := policy.CheckCalendar(*c, field); err != nil {
		return errors.New(problems(err))
	}
	return nil
}

// problems lists the problems of a Compile error on one line, without the
// "SLAPolicy ns/name: " prefix (a condition is on the object already):
// "spec.calendar.timeZone: ...; spec.targets[1].resolution: ...".
func problems(err error) string {
	if inner := errors.Unwrap(err); inner != nil {
		err = inner
	}
	var leaves []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		leaves = append(leaves, e.Error())
	}
	walk(err)
	return strings.Join(leaves, "; ")
}
