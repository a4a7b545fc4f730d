// Package v1alpha1 holds kubedesk's Kubernetes API: HelpdeskTenant,
// SLAPolicy and RoutingRule in the kubedesk.io group. The same documents
// configure the all-in-one binary (`kubedesk serve --config`), so these
// types are the one definition both the operator and the binary read. The
// package is a module of its own (github.com/kubedesk/kubedesk/operator/api)
// that depends on k8s.io/apimachinery only, so the binary and the workflows
// import it cheaply and without the operator.
//
// +kubebuilder:object:generate=true
// +groupName=kubedesk.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "kubedesk.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&HelpdeskTenant{}, &HelpdeskTenantList{},
		&SLAPolicy{}, &SLAPolicyList{},
		&RoutingRule{}, &RoutingRuleList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
