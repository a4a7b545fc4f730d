// Package routingrule reconciles RoutingRule objects: it reports whether a
// rule is Accepted (valid, and its tenant exists) and Applied (the
// tenant's pods run a configuration holding its current generation). The
// tenant controller renders the accepted rules of a tenant that runs the
// routing component into the tenant's configuration, deciding acceptance
// with the same Resolve.
package routingrule

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/condition"
)

// TenantRefIndex indexes RoutingRules by spec.tenantRef.name, so a tenant
// finds its rules without listing the namespace's.
const TenantRefIndex = "spec.tenantRef.name"

// AddIndexes registers the field indexes this package's List calls use.
func AddIndexes(ctx context.Context, mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.RoutingRule{}, TenantRefIndex, func(o client.Object) []string {
		return []string{o.(*v1alpha1.RoutingRule).Spec.TenantRef.Name}
	})
	if err != nil {
		return fmt.Errorf("index RoutingRule %s: %w", TenantRefIndex, err)
	}
	return nil
}

// Reconciler sets the status of RoutingRules.
type Reconciler struct {
	Client client.Client
	// FieldOwner names the operator in the status patches' managed fields.
	FieldOwner string
	// MaxConcurrentReconciles bounds the parallel reconciles (default 1).
	MaxConcurrentReconciles int
}

// +kubebuilder:rbac:groups=kubedesk.io,resources=routingrules,verbs=get;list;watch
// +kubebuilder:rbac:groups=kubedesk.io,resources=routingrules/status,verbs=patch
// +kubebuilder:rbac:groups=kubedesk.io,resources=helpdesktenants,verbs=get;list;watch

// SetupWithManager watches RoutingRules (spec changes) and their tenants:
// a tenant that appears or goes, turns the routing component on or off,
// changes its calendar (which rules without one read) or rolls out a
// configuration changes its rules' conditions. AddIndexes must have run.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("routingrule").
		For(&v1alpha1.RoutingRule{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.HelpdeskTenant{}, handler.EnqueueRequestsFromMapFunc(r.rulesOf), builder.WithPredicates(tenantChange)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Complete(r)
}

// tenantChange passes the tenant events that can change a rule's
// conditions, not the status updates of every rollout step.
var tenantChange = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, oldOK := e.ObjectOld.(*v1alpha1.HelpdeskTenant)
		cur, curOK := e.ObjectNew.(*v1alpha1.HelpdeskTenant)
		if !oldOK || !curOK {
			return true
		}
		return old.Generation != cur.Generation ||
			!equality.Semantic.DeepEqual(old.Status.AppliedRoutingRules, cur.Status.AppliedRoutingRules) ||
			old.Status.ConfigHash != cur.Status.ConfigHash
	},
}

// rulesOf maps a tenant to the rules naming it.
func (r *Reconciler) rulesOf(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.RoutingRuleList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{TenantRefIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the routing rules of a tenant", "tenant", client.ObjectKeyFromObject(o))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, rule := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&rule)})
	}
	return reqs
}

// Reconcile sets the rule's Accepted and Applied conditions and its
// observedGeneration; the status is patched once, at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	var rule v1alpha1.RoutingRule
	if err := r.Client.Get(ctx, req.NamespacedName, &rule); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := rule.DeepCopy()
	defer func() {
		if equality.Semantic.DeepEqual(before.Status, rule.Status) {
			return
		}
		if err := r.Client.Status().Patch(ctx, &rule, client.MergeFrom(before), client.FieldOwner(r.FieldOwner)); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("patch the status of RoutingRule %s: %w", req.NamespacedName, client.IgnoreNotFound(err)))
		}
	}()

	var tenant v1alpha1.HelpdeskTenant
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: rule.Namespace, Name: rule.Spec.TenantRef.Name}, &tenant)
	switch {
	case apierrors.IsNotFound(err):
		msg := fmt.Sprintf("spec.tenantRef.name: HelpdeskTenant %q does not exist in namespace %s; create it or name an existing tenant", rule.Spec.TenantRef.Name, rule.Namespace)
		r.set(&rule, v1alpha1.ConditionAccepted, metav1.ConditionFalse, v1alpha1.ReasonTenantNotFound, msg)
		r.set(&rule, v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonTenantNotFound, "not applied: the tenant does not exist")
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("get HelpdeskTenant %s/%s: %w", rule.Namespace, rule.Spec.TenantRef.Name, err)
	default:
		r.setFromTenant(&rule, &tenant)
	}
	rule.Status.ObservedGeneration = rule.Generation
	return ctrl.Result{}, nil
}

// setFromTenant sets the conditions of a rule whose tenant exists.
func (r *Reconciler) setFromTenant(rule *v1alpha1.RoutingRule, t *v1alpha1.HelpdeskTenant) {
	running, found := appliedGeneration(t, rule.Name)
	if _, err := Resolve(rule, t); err != nil {
		r.set(rule, v1alpha1.ConditionAccepted, metav1.ConditionFalse, v1alpha1.ReasonInvalid, err.Error())
		msg := fmt.Sprintf("not applied: generation %d is not accepted", rule.Generation)
		if found {
			msg += fmt.Sprintf("; HelpdeskTenant %s's pods still run generation %d", t.Name, running)
		}
		r.set(rule, v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonInvalid, msg)
		return
	}
	if !t.Spec.Components.IsEnabled(v1alpha1.ComponentRouting) {
		r.set(rule, v1alpha1.ConditionAccepted, metav1.ConditionTrue, v1alpha1.ReasonAccepted,
			fmt.Sprintf("valid; HelpdeskTenant %s does not run the routing component, so its configuration leaves the rule out", t.Name))
		r.set(rule, v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonRoutingDisabled,
			fmt.Sprintf("not applied: HelpdeskTenant %s has spec.components.routing.enabled: false; the rule applies once the routing component runs", t.Name))
		return
	}
	r.set(rule, v1alpha1.ConditionAccepted, metav1.ConditionTrue, v1alpha1.ReasonAccepted,
		fmt.Sprintf("valid; part of HelpdeskTenant %s's configuration", t.Name))
	switch {
	case found && running == rule.Generation:
		r.set(rule, v1alpha1.ConditionApplied, metav1.ConditionTrue, v1alpha1.ReasonApplied,
			fmt.Sprintf("HelpdeskTenant %s's pods run generation %d (configuration %s)", t.Name, rule.Generation, short(t.Status.ConfigHash)))
	case found:
		r.set(rule, v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonPending,
			fmt.Sprintf("waiting for HelpdeskTenant %s's pods to roll out generation %d; they run generation %d", t.Name, rule.Generation, running))
	default:
		r.set(rule, v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonPending,
			fmt.Sprintf("waiting for HelpdeskTenant %s's pods to roll out a configuration with generation %d", t.Name, rule.Generation))
	}
}

func (r *Reconciler) set(rule *v1alpha1.RoutingRule, typ string, status metav1.ConditionStatus, reason, msg string) {
	condition.Set(&rule.Status.Conditions, rule.Generation, typ, status, reason, msg)
}

// appliedGeneration is the generation of the named rule in the
// configuration the tenant's pods run.
func appliedGeneration(t *v1alpha1.HelpdeskTenant, name string) (int64, bool) {
	i := slices.IndexFunc(t.Status.AppliedRoutingRules, func(a v1alpha1.AppliedRoutingRule) bool { return a.Name == name })
	if i < 0 {
		return 0, false
	}
	return t.Status.AppliedRoutingRules[i].Generation, true
}

// short abbreviates a configuration hash for messages.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
