package tenant_test

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/tenant"
	"github.com/kubedesk/kubedesk/operator/internal/procmem"
)

// BenchmarkTenants measures the operator on the real API server, with the
// manager in this process (as in every test of the package):
//
//   - create-p50/p99: from creating a tenant to its ConfigMap, three
//     Deployments and three Services existing, one tenant at a time
//     (paced, 50 tenants after a warm-up one) and 200 at once (burst);
//   - reconciles/s while 200 tenants (each with an SLA policy) are created
//     at once, until every tenant's status.observedGeneration is current;
//   - reconciles/s while an edit of every tenant's policy rolls all 200
//     tenants to a new configuration (ConfigMap and three Deployments
//     each), until every Deployment carries the new hash;
//   - the process's Go heap in use and resident set after that, with 251
//     tenants (1,757 owned objects) cached. The process holds the test's
//     clients and watches and the test binary's code too; etcd and
//     kube-apiserver run apart. BenchmarkManagerProcess in
//     operator/cmd/kubedesk-operator measures the manager binary alone.
//
// Run it with
//
//	go test -run '^$' -bench Tenants -benchtime 1x ./operator/internal/controller/tenant
func BenchmarkTenants(b *testing.B) {
	const paced, burst = 50, 200
	widenServiceRange(b)
	runtime.GC()
	baseline := procStatus(b)
	for b.Loop() {
		ctx := context.Background()

		ns := newNamespace(b, "bench-paced")
		create(b, ns, dbSecret())
		tr := track(b, ns)
		// One tenant first, so that what happens once (the event
		// broadcaster starting, say) is not measured.
		create(b, ns, benchTenant("warm-up"))
		tr.waitAll(b, []string{"warm-up"})
		var lat []time.Duration
		for i := range paced {
			name := fmt.Sprintf("t%03d", i)
			start := time.Now()
			create(b, ns, benchTenant(name))
			tr.waitAll(b, []string{name})
			lat = append(lat, tr.created(name).Sub(start))
		}
		tr.stop()
		b.ReportMetric(ms(percentile(lat, 50)), "ms-create-p50-paced")
		b.ReportMetric(ms(percentile(lat, 99)), "ms-create-p99-paced")

		ns = newNamespace(b, "bench-burst")
		create(b, ns, dbSecret())
		tr = track(b, ns)
		names := make([]string, burst)
		starts := map[string]time.Time{}
		before := reconciles(b, "helpdesktenant")
		begin := time.Now()
		for i := range names {
			names[i] = fmt.Sprintf("t%03d", i)
			starts[names[i]] = time.Now()
			create(b, ns, benchTenant(names[i]))
			create(b, ns, benchPolicy(names[i]))
		}
		tr.waitAll(b, names)
		lat = lat[:0]
		for _, n := range names {
			lat = append(lat, tr.created(n).Sub(starts[n]))
		}
		waitWithin(b, benchTimeout, "every tenant's status.observedGeneration current", func() error {
			var list v1alpha1.HelpdeskTenantList
			if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
				return err
			}
			behind := 0
			for _, t := range list.Items {
				if t.Status.ObservedGeneration != t.Generation {
					behind++
				}
			}
			if behind > 0 || len(list.Items) != burst {
				return fmt.Errorf("%d of %d behind", behind, len(list.Items))
			}
			return nil
		})
		elapsed := time.Since(begin)
		n := reconciles(b, "helpdesktenant") - before
		b.ReportMetric(ms(percentile(lat, 50)), "ms-create-p50-burst")
		b.ReportMetric(ms(percentile(lat, 99)), "ms-create-p99-burst")
		b.ReportMetric(elapsed.Seconds(), "s-200-tenants")
		b.ReportMetric(n/elapsed.Seconds(), "reconciles/s-create")
		b.Logf("%d tenants created in %s: %.0f reconciles (%.0f/s); create to objects p50 %s, p99 %s",
			burst, elapsed.Round(time.Millisecond), n, n/elapsed.Seconds(), percentile(lat, 50).Round(time.Millisecond), percentile(lat, 99).Round(time.Millisecond))

		// Every tenant's policy changes: 200 ConfigMaps and 600
		// Deployments change.
		old := tr.hashes()
		before = reconciles(b, "helpdesktenant")
		begin = time.Now()
		for _, name := range names {
			p := &v1alpha1.SLAPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
			update(b, p, func(p *v1alpha1.SLAPolicy) { p.Spec.WarningThresholdPercent = 60 })
		}
		tr.waitRolled(b, old)
		elapsed = time.Since(begin)
		n = reconciles(b, "helpdesktenant") - before
		b.ReportMetric(elapsed.Seconds(), "s-200-policy-edits")
		b.ReportMetric(n/elapsed.Seconds(), "reconciles/s-edit")
		b.Logf("200 policy edits rolled into every Deployment in %s: %.0f reconciles (%.0f/s)", elapsed.Round(time.Millisecond), n, n/elapsed.Seconds())
		tr.stop()

		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		st := procStatus(b)
		b.ReportMetric(float64(m.HeapInuse)/(1<<20), "MB-heap-inuse")
		b.ReportMetric(float64(st["VmRSS"])/(1<<20), "MB-rss")
		b.ReportMetric(float64(st["RssAnon"])/(1<<20), "MB-rss-anon")
		b.ReportMetric(float64(st["RssAnon"]-baseline["RssAnon"])/(1<<20), "MB-rss-anon-growth")
		b.Logf("after %d tenants (%d owned objects cached): Go heap in use %.1f MB; RSS %.1f MB = %.1f MB anonymous (heap, stacks; %.1f MB more than before the first tenant) + %.1f MB file-backed (the test binary's code)",
			paced+burst+1, 7*(paced+burst+1), float64(m.HeapInuse)/(1<<20), float64(st["VmRSS"])/(1<<20),
			float64(st["RssAnon"])/(1<<20), float64(st["RssAnon"]-baseline["RssAnon"])/(1<<20), float64(st["RssFile"])/(1<<20))
		b.Logf("the test process holds the manager and the test's clients and watches; etcd and kube-apiserver run apart")
	}
	b.ReportMetric(0, "ns/op")
}

// benchTimeout bounds each wait of the benchmark.
const benchTimeout = 10 * time.Minute

// widenServiceRange adds a /16 of ClusterIPs: envtest's API server
// allocates from a /24 (254 addresses), fewer than 250 tenants' 750
// Services. kube-controller-manager, which envtest does not run, would
// mark the range ready; the benchmark does.
func widenServiceRange(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	cidr := &networkingv1.ServiceCIDR{
		ObjectMeta: metav1.ObjectMeta{Name: "kubedesk-bench"},
		Spec:       networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.128.0.0/16"}},
	}
	if err := k8s.Create(ctx, cidr); apierrors.IsAlreadyExists(err) {
		return
	} else if err != nil {
		b.Fatal(err)
	}
	meta.SetStatusCondition(&cidr.Status.Conditions, metav1.Condition{
		Type: networkingv1.ServiceCIDRConditionReady, Status: metav1.ConditionTrue, Reason: "Benchmark", Message: "ready"})
	if err := k8s.Status().Update(ctx, cidr); err != nil {
		b.Fatal(err)
	}
}

func dbSecret() *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"url": "postgres://kubedesk@pg/kubedesk"}}
}

func benchTenant(name string) *v1alpha1.HelpdeskTenant {
	return &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Postgres: &v1alpha1.PostgresDatabase{URLSecretRef: v1alpha1.SecretKeySelector{Name: "db", Key: "url"}}},
			Temporal: v1alpha1.TemporalSpec{Address: "temporal:7233"},
		},
	}
}

func benchPolicy(tenantName string) *v1alpha1.SLAPolicy {
	return &v1alpha1.SLAPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: tenantName},
		Spec: v1alpha1.SLAPolicySpec{
			TenantRef: v1alpha1.LocalObjectReference{Name: tenantName},
			Targets:   []v1alpha1.SLATarget{{Priority: "P1", Resolution: &metav1.Duration{Duration: 4 * time.Hour}}},
		},
	}
}

// tracker watches a namespace's ConfigMaps, Deployments and Services and
// notes when each first appeared and each Deployment's latest
// configuration hash.
type tracker struct {
	mu      sync.Mutex
	first   map[string]time.Time // kind/name
	hash    map[string]string    // Deployment name: config hash
	changed map[string]time.Time // Deployment name: when hash last changed
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

func track(b *testing.B, ns string) *tracker {
	b.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &tracker{first: map[string]time.Time{}, hash: map[string]string{}, changed: map[string]time.Time{}, cancel: cancel}
	for _, list := range []client.ObjectList{&corev1.ConfigMapList{}, &appsv1.DeploymentList{}, &corev1.ServiceList{}} {
		w, err := wc.Watch(ctx, list, client.InNamespace(ns), client.MatchingLabels{tenant.LabelManagedBy: tenant.FieldOwner})
		if err != nil {
			b.Fatal(err)
		}
		tr.done.Add(1)
		go func() {
			defer tr.done.Done()
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case e, ok := <-w.ResultChan():
					if !ok {
						return
					}
					if e.Type == watch.Added || e.Type == watch.Modified {
						tr.observe(e.Object.(client.Object), time.Now())
					}
				}
			}
		}()
	}
	return tr
}

func (tr *tracker) observe(o client.Object, at time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	kind := strings.TrimPrefix(fmt.Sprintf("%T", o), "*v1.")
	key := kind + "/" + o.GetName()
	if _, ok := tr.first[key]; !ok {
		tr.first[key] = at
	}
	if d, ok := o.(*appsv1.Deployment); ok {
		h := d.Spec.Template.Annotations[tenant.ConfigHashAnnotation]
		if tr.hash[d.Name] != h {
			tr.hash[d.Name], tr.changed[d.Name] = h, at
		}
	}
}

func (tr *tracker) stop() { tr.cancel(); tr.done.Wait() }

// objectKeys are the kind/name keys of a tenant's ConfigMap, Deployments
// and Services.
func objectKeys(name string) []string {
	keys := []string{"ConfigMap/" + name + "-config"}
	for _, c := range []string{"gateway", "ticket", "worker"} {
		keys = append(keys, "Deployment/"+name+"-"+c, "Service/"+name+"-"+c)
	}
	return keys
}

// created is when the last of a tenant's objects appeared.
func (tr *tracker) created(name string) time.Time {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var last time.Time
	for _, k := range objectKeys(name) {
		if at := tr.first[k]; at.After(last) {
			last = at
		}
	}
	return last
}

// waitAll waits until every object of the named tenants has appeared.
func (tr *tracker) waitAll(b *testing.B, names []string) {
	b.Helper()
	waitWithin(b, benchTimeout, fmt.Sprintf("the objects of %d tenants", len(names)), func() error {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		missing := 0
		for _, n := range names {
			for _, k := range objectKeys(n) {
				if _, ok := tr.first[k]; !ok {
					missing++
				}
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d objects missing", missing)
		}
		return nil
	})
}

func (tr *tracker) hashes() map[string]string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return maps.Clone(tr.hash)
}

// waitRolled waits until every Deployment's hash differs from old.
func (tr *tracker) waitRolled(b *testing.B, old map[string]string) {
	b.Helper()
	waitWithin(b, benchTimeout, fmt.Sprintf("%d Deployments on a new configuration", len(old)), func() error {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		behind := 0
		for name, h := range old {
			if tr.hash[name] == h {
				behind++
			}
		}
		if behind > 0 {
			return fmt.Errorf("%d still on the old configuration", behind)
		}
		return nil
	})
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// procStatus reads the memory lines of /proc/self/status (VmRSS, RssAnon,
// RssFile, ...), in bytes.
func procStatus(b *testing.B) map[string]int64 {
	b.Helper()
	st, err := procmem.Status("self")
	if err != nil {
		b.Fatal(err)
	}
	return st
}
