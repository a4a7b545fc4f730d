// Package v1alpha1 holds kubedesk's Kubernetes API: HelpdeskTenant and
// SLAPolicy in the kubedesk.io group. The same documents configure the
// all-in-one binary (`kubedesk serve --config`), so these types are the one
// definition both the operator and the binary read.
//
// +kubebuilder:object:generate=true
// +groupName=kubedesk.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "kubedesk.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
