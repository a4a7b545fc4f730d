// Package controller wires kubedesk's reconcilers into a controller
// manager: the scheme they need, the cache they read from and their
// field indexes. The manager binary and the tests set up the same way.
package controller

import (
	"cmp"
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/routingrule"
	"github.com/kubedesk/kubedesk/operator/internal/controller/slapolicy"
	"github.com/kubedesk/kubedesk/operator/internal/controller/tenant"
)

// FieldOwner is the operator's field manager.
const FieldOwner = tenant.FieldOwner

// Scheme knows the built-in kinds and kubedesk.io/v1alpha1.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// CacheOptions is what the manager caches: only what the operator made
// among the kinds it creates (ConfigMaps, Deployments, Services, Ingresses,
// claims: never a cluster's every ConfigMap), in the namespaces given
// (none: all), with the managed fields of others dropped. The operator's
// own managed fields stay: the reconciler compares them with what it would
// apply, to skip applies that would change nothing.
func CacheOptions(namespaces []string) cache.Options {
	ours := labels.SelectorFromSet(labels.Set{tenant.LabelManagedBy: FieldOwner})
	opts := cache.Options{
		DefaultTransform: keepOwnManagedFields,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}:             {Label: ours},
			&corev1.Service{}:               {Label: ours},
			&corev1.PersistentVolumeClaim{}: {Label: ours},
			&appsv1.Deployment{}:            {Label: ours},
			&networkingv1.Ingress{}:         {Label: ours},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// keepOwnManagedFields drops the managed-fields entries of other managers
// from cached objects (they are most of a Deployment's metadata).
func keepOwnManagedFields(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil // e.g. a tombstone: nothing to trim
	}
	fields := obj.GetManagedFields()
	if fields == nil {
		return in, nil
	}
	kept := fields[:0]
	for _, f := range fields {
		if f.Manager == FieldOwner && f.Operation == metav1.ManagedFieldsOperationApply {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 {
		kept = nil
	}
	obj.SetManagedFields(kept)
	return in, nil
}

// Options tunes the reconcilers.
type Options struct {
	// TenantConcurrency and PolicyConcurrency bound the parallel
	// reconciles of each controller (PolicyConcurrency: the SLAPolicy and
	// RoutingRule controllers each); 0 means the defaults.
	TenantConcurrency, PolicyConcurrency int
}

// Default concurrency: a tenant's reconcile mostly waits on the API server.
const (
	defaultTenantConcurrency = 4
	defaultPolicyConcurrency = 2
)

// Setup registers the field indexes and the three reconcilers
// (HelpdeskTenant, SLAPolicy, RoutingRule) with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	if err := slapolicy.AddIndexes(ctx, mgr); err != nil {
		return err
	}
	if err := routingrule.AddIndexes(ctx, mgr); err != nil {
		return err
	}
	if err := tenant.AddIndexes(ctx, mgr); err != nil {
		return err
	}
	tr := &tenant.Reconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                mgr.GetEventRecorder(FieldOwner),
		MaxConcurrentReconciles: cmp.Or(o.TenantConcurrency, defaultTenantConcurrency),
	}
	if err := tr.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the HelpdeskTenant controller: %w", err)
	}
	pr := &slapolicy.Reconciler{
		Client:                  mgr.GetClient(),
		FieldOwner:              FieldOwner,
		MaxConcurrentReconciles: cmp.Or(o.PolicyConcurrency, defaultPolicyConcurrency),
	}
	if err := pr.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the SLAPolicy controller: %w", err)
	}
	rr := &routingrule.Reconciler{
		Client:                  mgr.GetClient(),
		FieldOwner:              FieldOwner,
		MaxConcurrentReconciles: cmp.Or(o.PolicyConcurrency, defaultPolicyConcurrency),
	}
	if err := rr.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the RoutingRule controller: %w", err)
	}
	return nil
}
