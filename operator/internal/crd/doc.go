// Package crd tests kubedesk's CustomResourceDefinitions
// (config/crd/bases, generated from operator/api/v1alpha1) on a real API
// server: the samples are accepted, and invalid objects are refused with the
// messages of the schema and its CEL rules. The tests live in the operator
// module because they start envtest (internal/testenv); the API types are a
// module of their own that depends on k8s.io/apimachinery only.
package crd
