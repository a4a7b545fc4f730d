package tenant_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/tenant"
)

// waitFor polls check until it returns nil and fails the test with what
// was awaited and check's last answer if that takes longer than timeout.
func waitFor(t testing.TB, what string, check func() error) {
	t.Helper()
	waitWithin(t, 30*time.Second, what, check)
}

// waitWithin is waitFor with a timeout of its own.
func waitWithin(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	const every = 25 * time.Millisecond
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last: %v", timeout, what, err)
		}
		time.Sleep(every)
	}
}

// newNamespace creates a namespace for one test. envtest runs no namespace
// controller, so namespaces are never removed; each test takes a fresh one.
func newNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// readSample decodes the first document of kind in a file of
// operator/config/samples into obj.
func readSample(t testing.TB, file, name string, obj client.Object) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "samples", file))
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := dec.Read()
		if err != nil {
			t.Fatalf("%s: no document named %s: %v", file, name, err)
		}
		var head metav1.PartialObjectMetadata
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatal(err)
		}
		if head.Name == name {
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s: %s: %v", file, name, err)
			}
			return
		}
	}
}

// create creates obj in namespace ns.
func create(t testing.TB, ns string, obj client.Object) {
	t.Helper()
	obj.SetNamespace(ns)
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s/%s: %v", obj, ns, obj.GetName(), err)
	}
}

// update reads obj afresh, applies edit and writes it back, retrying on
// conflicts.
func update[T client.Object](t testing.TB, obj T, edit func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		edit(obj)
		return k8s.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatalf("update %T %s: %v", obj, obj.GetName(), err)
	}
}

func getTenant(ns, name string) (*v1alpha1.HelpdeskTenant, error) {
	var t v1alpha1.HelpdeskTenant
	return &t, k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &t)
}

// hasCondition checks one condition of obj's conditions, observed at the
// object's current generation; msg must be contained in its message.
func hasCondition(conds []metav1.Condition, generation int64, typ string, status metav1.ConditionStatus, reason, msg string) error {
	c := meta.FindStatusCondition(conds, typ)
	switch {
	case c == nil:
		return fmt.Errorf("no %s condition in %s", typ, describe(conds))
	case c.Status != status || c.Reason != reason || !strings.Contains(c.Message, msg):
		return fmt.Errorf("%s is %s/%s %q, want %s/%s containing %q", typ, c.Status, c.Reason, c.Message, status, reason, msg)
	case c.ObservedGeneration != generation:
		return fmt.Errorf("%s observed generation %d, want %d", typ, c.ObservedGeneration, generation)
	}
	return nil
}

func describe(conds []metav1.Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s/%s %q", c.Type, c.Status, c.Reason, c.Message))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// tenantCondition waits for a condition of a tenant.
func tenantCondition(t testing.TB, ns, name, typ string, status metav1.ConditionStatus, reason, msg string) *v1alpha1.HelpdeskTenant {
	t.Helper()
	var got *v1alpha1.HelpdeskTenant
	waitFor(t, fmt.Sprintf("HelpdeskTenant %s/%s %s=%s/%s %q", ns, name, typ, status, reason, msg), func() error {
		ht, err := getTenant(ns, name)
		if err != nil {
			return err
		}
		if ht.Status.ObservedGeneration != ht.Generation {
			return fmt.Errorf("status.observedGeneration %d, generation %d", ht.Status.ObservedGeneration, ht.Generation)
		}
		got = ht
		return hasCondition(ht.Status.Conditions, ht.Generation, typ, status, reason, msg)
	})
	return got
}

// policyCondition waits for a condition of an SLA policy.
func policyCondition(t testing.TB, ns, name, typ string, status metav1.ConditionStatus, reason, msg string) *v1alpha1.SLAPolicy {
	t.Helper()
	var p v1alpha1.SLAPolicy
	waitFor(t, fmt.Sprintf("SLAPolicy %s/%s %s=%s/%s %q", ns, name, typ, status, reason, msg), func() error {
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
			return err
		}
		if p.Status.ObservedGeneration != p.Generation {
			return fmt.Errorf("status.observedGeneration %d, generation %d", p.Status.ObservedGeneration, p.Generation)
		}
		return hasCondition(p.Status.Conditions, p.Generation, typ, status, reason, msg)
	})
	return &p
}

// kubelet plays the Deployment controller and the kubelet, which envtest
// does not run: it sets a Deployment's status as if it had seen its current
// spec, updated of its replicas ran the current template and ready of them
// passed their readiness probe.
func kubelet(t testing.TB, ns, name string, updated, ready int32) {
	t.Helper()
	var d appsv1.Deployment
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
			return err
		}
		n := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation,
			Replicas:           n,
			UpdatedReplicas:    updated,
			ReadyReplicas:      ready,
			AvailableReplicas:  ready,
		}
		if ready < n {
			d.Status.UnavailableReplicas = n - ready
		}
		return k8s.Status().Update(context.Background(), &d)
	})
	if err != nil {
		t.Fatalf("kubelet: Deployment %s/%s: %v", ns, name, err)
	}
}

// kubeletAll rolls out every Deployment of a tenant with all replicas ready.
func kubeletAll(t testing.TB, ns, tenantName string) {
	t.Helper()
	var list appsv1.DeploymentList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{tenant.LabelInstance: tenantName}); err != nil {
		t.Fatal(err)
	}
	for _, d := range list.Items {
		kubelet(t, ns, d.Name, *d.Spec.Replicas, *d.Spec.Replicas)
	}
}

// configOf returns a tenant's rendered configuration file.
func configOf(ns, tenantName string) (string, error) {
	var cm corev1.ConfigMap
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: tenantName + "-config"}, &cm); err != nil {
		return "", err
	}
	return cm.Data[tenant.ConfigFile], nil
}

// configHash is the hash a ConfigMap's data should have: SHA-256 over each
// key and value in key order, NUL-terminated (written out again here, so
// the test does not take the operator's word for it).
func configHash(data map[string]string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// templateHash returns the config-hash annotation of a Deployment's pods.
func templateHash(ns, name string) (string, error) {
	var d appsv1.Deployment
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
		return "", err
	}
	return d.Spec.Template.Annotations[tenant.ConfigHashAnnotation], nil
}

// gone waits until obj no longer exists.
func gone(t testing.TB, obj client.Object) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%T %s/%s deleted", obj, obj.GetNamespace(), obj.GetName()), func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still there")
	})
}

// reconciles is how many reconciles controller has finished, from
// controller-runtime's metrics.
func reconciles(t testing.TB, controllerName string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "controller") == controllerName {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
