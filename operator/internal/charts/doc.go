// Package charts tests the Helm charts in the repository's charts/ folder,
// which is not a Go module: kubedesk-operator (the CRDs, the manager and its
// RBAC) and kubedesk (one HelpdeskTenant and its SLAPolicies).
//
// The tests run the helm binary that hack/install-helm.sh puts in bin/:
// `helm lint --strict`, `helm template` over a table of value sets (values
// the schemas must reject included), checks on the rendered objects, and
// server-side apply of the rendered manifests to a real kube-apiserver
// (envtest), where SubjectAccessReviews show what the manager's
// ServiceAccount may and may not do. The package has no code of its own.
package charts
