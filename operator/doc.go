// Package operator reconciles kubedesk's HelpdeskTenant and SLAPolicy custom
// resources into running Deployments (api/v1alpha1, internal/controller).
package operator
