// Package operator reconciles kubedesk's HelpdeskTenant and SLAPolicy custom
// resources into running Deployments (internal/controller). The API types
// (api/v1alpha1) are a module of their own, github.com/kubedesk/kubedesk/operator/api,
// that depends on k8s.io/apimachinery only, like k8s.io/api: the kubedesk
// binary and the workflows import them without the operator. The operator
// checks SLA policies with workflows/policy, which links no Temporal code.
package operator
