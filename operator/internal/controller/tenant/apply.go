package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// applyResult says what applying an object did.
type applyResult int

const (
	unchanged applyResult = iota
	created
	updated
)

// applyObject server-side applies desired (field owner FieldOwner, taking
// over fields others changed: drift is put back). It first reads the
// object from the cache into live and extracts the fields the operator
// owns there; when they equal desired the apply would change nothing and
// is skipped, so reconciling an unchanged tenant writes nothing. Fields
// someone else changed are no longer the operator's, so they differ and
// the apply puts them back. On return live holds the object as it is.
func applyObject[O client.Object, A runtime.ApplyConfiguration](
	ctx context.Context, r *Reconciler, t *v1alpha1.HelpdeskTenant, kind string, key client.ObjectKey,
	live O, desired A, extract func(O, string) (A, error),
) (applyResult, error) {
	found := true
	if err := r.Client.Get(ctx, key, live); apierrors.IsNotFound(err) {
		found = false
	} else if err != nil {
		return unchanged, fmt.Errorf("get %s %s: %w", kind, key, err)
	}
	if found {
		// An error means managed fields the operator cannot read: apply.
		if current, err := extract(live, FieldOwner); err == nil && equality.Semantic.DeepEqual(current, desired) {
			return unchanged, nil
		}
	}
	before := live.GetResourceVersion()
	if err := r.Client.Apply(ctx, desired, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return unchanged, fmt.Errorf("apply %s %s: %w", kind, key, err)
	}
	// The response (now in desired) is the object as stored.
	if err := convert(desired, live); err != nil {
		return unchanged, fmt.Errorf("apply %s %s: %w", kind, key, err)
	}
	switch {
	case !found:
		r.event(t, corev1.EventTypeNormal, "Created", "Create", "created %s %s", kind, key.Name)
		return created, nil
	case live.GetResourceVersion() != before:
		r.event(t, corev1.EventTypeNormal, "Updated", "Update", "updated %s %s", kind, key.Name)
		return updated, nil
	}
	return unchanged, nil
}

// deleteUnwanted deletes the objects of list's kind that the tenant
// controls and want does not name.
func deleteUnwanted(ctx context.Context, r *Reconciler, t *v1alpha1.HelpdeskTenant, kind string, list client.ObjectList, want map[string]bool) error {
	if err := r.Client.List(ctx, list, client.InNamespace(t.Namespace), client.MatchingLabels{LabelInstance: t.Name, LabelManagedBy: FieldOwner}); err != nil {
		return fmt.Errorf("list %ss: %w", kind, err)
	}
	objs, err := itemsOf(list)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if want[o.GetName()] || !controlledBy(o, t) {
			continue
		}
		// Preconditions: delete the object seen, not one re-created since.
		err := r.Client.Delete(ctx, o, client.Preconditions{UID: ptrTo(o.GetUID())}, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete %s %s/%s: %w", kind, o.GetNamespace(), o.GetName(), err)
		}
		if err == nil {
			r.event(t, corev1.EventTypeNormal, "Deleted", "Delete", "deleted %s %s: no longer in the spec", kind, o.GetName())
		}
	}
	return nil
}

func controlledBy(o client.Object, t *v1alpha1.HelpdeskTenant) bool {
	for _, ref := range o.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller && ref.UID == t.UID {
			return true
		}
	}
	return false
}

func ptrTo[T any](v T) *T { return &v }

// convert decodes from (an apply configuration holding the server's
// response) into a zeroed to.
func convert(from any, to client.Object) error {
	raw, err := json.Marshal(from)
	if err != nil {
		return err
	}
	v := reflect.ValueOf(to).Elem()
	v.Set(reflect.Zero(v.Type()))
	return json.Unmarshal(raw, to)
}

// itemsOf returns the items of a typed list.
func itemsOf(list client.ObjectList) ([]client.Object, error) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		o, ok := it.(client.Object)
		if !ok {
			return nil, fmt.Errorf("%T is not an object", it)
		}
		out = append(out, o)
	}
	return out, nil
}
