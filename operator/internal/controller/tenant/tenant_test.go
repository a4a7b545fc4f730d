package tenant_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/tenant"
)

// TestSampleTenant runs the sample tenant (config/samples): PostgreSQL,
// external Temporal, two gateway and ticket replicas with attachments in
// S3, routing with a 15m offline grace, an Ingress with TLS, and the three
// sample SLA policies.
func TestSampleTenant(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "acme")
	var ht v1alpha1.HelpdeskTenant
	readSample(t, "kubedesk_v1alpha1_helpdesktenant.yaml", "acme", &ht)
	create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "acme-postgres"},
		StringData: map[string]string{"url": "postgres://kubedesk:secret@pg.acme.svc:5432/acme?sslmode=require"}})
	create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "acme-attachments"},
		StringData: map[string]string{"url": "s3://KEY:SECRET@acme-attachments?endpoint=minio.storage.svc:9000&region=us-east-1"}})
	create(t, ns, &ht)
	for _, name := range []string{"acme-standard", "acme-vip", "acme-chat"} {
		var p v1alpha1.SLAPolicy
		readSample(t, "kubedesk_v1alpha1_slapolicies.yaml", name, &p)
		create(t, ns, &p)
	}

	var cm corev1.ConfigMap
	waitFor(t, "ConfigMap acme-config with the three policies", func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme-config"}, &cm); err != nil {
			return err
		}
		if n := strings.Count(cm.Data[tenant.ConfigFile], "kind: SLAPolicy"); n != 3 {
			return fmt.Errorf("%d SLAPolicy documents", n)
		}
		for _, c := range []string{"gateway", "ticket", "worker"} {
			h, err := templateHash(ns, "acme-"+c)
			if err != nil {
				return fmt.Errorf("acme-%s: %w", c, err)
			}
			if h != configHash(cm.Data) {
				return fmt.Errorf("acme-%s pods on configuration %q", c, h)
			}
		}
		return nil
	})
	hash := configHash(cm.Data)

	t.Run("ConfigMap", func(t *testing.T) {
		checkOwned(t, &ht, &cm, "config")
		docs := strings.Split(cm.Data[tenant.ConfigFile], "\n---\n")
		var head struct {
			APIVersion string         `json:"apiVersion"`
			Kind       string         `json:"kind"`
			Spec       map[string]any `json:"spec"`
		}
		if err := yaml.UnmarshalStrict([]byte(docs[0]), &head); err != nil {
			t.Fatalf("the first document: %v\n%s", err, docs[0])
		}
		want := map[string]any{
			"dataDir":       "/data",
			"defaultTenant": "acme",
			"logLevel":      "info",
			"services": map[string]any{
				"iam":     "acme-gateway." + ns + ".svc:9090", // the gateway's pods run it
				"ticket":  "acme-ticket." + ns + ".svc:9090",
				"routing": "acme-routing." + ns + ".svc:9090",
				"worker":  "acme-worker." + ns + ".svc:9090",
			},
			"worker": map[string]any{"temporal": map[string]any{
				"address":   "temporal-frontend.temporal.svc:7233",
				"namespace": "acme",
			}},
			"routing": map[string]any{"offlineGrace": "15m0s"},
		}
		if head.APIVersion != "kubedesk.io/v1alpha1" || head.Kind != "KubedeskConfig" {
			t.Errorf("first document is %s %s, want kubedesk.io/v1alpha1 KubedeskConfig", head.APIVersion, head.Kind)
		}
		if diff := cmp.Diff(want, head.Spec); diff != "" {
			t.Errorf("KubedeskConfig spec (-want +got):\n%s", diff)
		}
		// Precedence order: vip (10), chat (50), standard (100).
		var names []string
		for _, doc := range docs[2:] {
			var p struct {
				Metadata map[string]string `json:"metadata"`
				Status   any               `json:"status"`
			}
			if err := yaml.Unmarshal([]byte(doc), &p); err != nil {
				t.Fatal(err)
			}
			if p.Status != nil || len(p.Metadata) != 2 || p.Metadata["namespace"] != ns {
				t.Errorf("policy document carries metadata %v and status %v; want name and namespace only", p.Metadata, p.Status)
			}
			names = append(names, p.Metadata["name"])
		}
		if diff := cmp.Diff([]string{"acme-vip", "acme-chat", "acme-standard"}, names); diff != "" {
			t.Errorf("policy order (-want +got):\n%s", diff)
		}
	})

	t.Run("Deployments", func(t *testing.T) {
		for _, tt := range []struct {
			component string
			replicas  int32
			database  bool
			resources corev1.ResourceRequirements
		}{
			{"gateway", 2, false, corev1.ResourceRequirements{}},
			{"ticket", 2, true, corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
			}},
			{"routing", 1, true, corev1.ResourceRequirements{}},
			{"worker", 1, true, corev1.ResourceRequirements{}},
		} {
			t.Run(tt.component, func(t *testing.T) {
				var d appsv1.Deployment
				if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme-" + tt.component}, &d); err != nil {
					t.Fatal(err)
				}
				checkOwned(t, &ht, &d, tt.component)
				checkDeployment(t, &d, tt.component, tt.replicas, hash)
				c := d.Spec.Template.Spec.Containers[0]
				var wantEnv []corev1.EnvVar
				if tt.database {
					wantEnv = []corev1.EnvVar{{Name: "KUBEDESK_DATABASE_URL", ValueFrom: &corev1.EnvVarSource{
						SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "acme-postgres"}, Key: "url"}}}}
				}
				wantEnv = append(wantEnv, credentialEnv("acme", tt.component)...)
				if tt.component == "ticket" {
					wantEnv = append(wantEnv, corev1.EnvVar{Name: "KUBEDESK_BLOB_URL", ValueFrom: &corev1.EnvVarSource{
						SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "acme-attachments"}, Key: "url"}}})
				}
				if diff := cmp.Diff(wantEnv, c.Env); diff != "" {
					t.Errorf("env (-want +got):\n%s", diff)
				}
				if !equalResources(tt.resources, c.Resources) {
					t.Errorf("resources %v, want %v", c.Resources, tt.resources)
				}
				if s := d.Spec.Strategy.Type; s != appsv1.RollingUpdateDeploymentStrategyType {
					t.Errorf("strategy %s, want RollingUpdate (no claim)", s)
				}
				if v := volume(d.Spec.Template.Spec, "data"); v == nil || v.EmptyDir == nil {
					t.Errorf("data volume %+v, want an emptyDir (PostgreSQL keeps the data)", v)
				}
			})
		}
	})

	t.Run("Services", func(t *testing.T) {
		for _, component := range []string{"gateway", "ticket", "routing", "worker"} {
			var s corev1.Service
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme-" + component}, &s); err != nil {
				t.Fatal(err)
			}
			checkOwned(t, &ht, &s, component)
			if s.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Errorf("Service %s type %s, want ClusterIP", s.Name, s.Spec.Type)
			}
			wantSelector := map[string]string{tenant.LabelName: "kubedesk", tenant.LabelInstance: "acme", tenant.LabelComponent: component}
			if diff := cmp.Diff(wantSelector, s.Spec.Selector); diff != "" {
				t.Errorf("Service %s selector (-want +got):\n%s", s.Name, diff)
			}
			var ports []string
			for _, p := range s.Spec.Ports {
				ports = append(ports, fmt.Sprintf("%s %d->%s %s", p.Name, p.Port, p.TargetPort.String(), p.Protocol))
			}
			if diff := cmp.Diff([]string{"http 8080->http TCP", "grpc 9090->grpc TCP"}, ports); diff != "" {
				t.Errorf("Service %s ports (-want +got):\n%s", s.Name, diff)
			}
		}
	})

	t.Run("Ingress", func(t *testing.T) {
		var in networkingv1.Ingress
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, &in); err != nil {
			t.Fatal(err)
		}
		checkOwned(t, &ht, &in, "gateway")
		want := networkingv1.IngressSpec{
			IngressClassName: ptr.To("nginx"),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"help.acme.example"}, SecretName: "help-acme-example-tls"}},
			Rules: []networkingv1.IngressRule{{Host: "help.acme.example", IngressRuleValue: networkingv1.IngressRuleValue{
				HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: "acme-gateway", Port: networkingv1.ServiceBackendPort{Name: "http"}}},
				}}}}}},
		}
		if diff := cmp.Diff(want, in.Spec); diff != "" {
			t.Errorf("Ingress spec (-want +got):\n%s", diff)
		}
	})

	t.Run("no claims", func(t *testing.T) {
		var claims corev1.PersistentVolumeClaimList
		if err := k8s.List(ctx, &claims, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if len(claims.Items) > 0 {
			t.Errorf("%d PersistentVolumeClaims for a PostgreSQL tenant, want none", len(claims.Items))
		}
	})

	t.Run("rollout", func(t *testing.T) {
		// Nothing rolled out yet: no configuration is applied.
		got := tenantCondition(t, ns, "acme", v1alpha1.ConditionProgressing, metav1.ConditionTrue, v1alpha1.ReasonRolling, "waiting for the Deployment controller")
		if got.Status.ConfigHash != "" {
			t.Errorf("status.configHash %q before any pod ran, want none", got.Status.ConfigHash)
		}
		policyCondition(t, ns, "acme-vip", v1alpha1.ConditionApplied, metav1.ConditionFalse, v1alpha1.ReasonPending, "waiting for HelpdeskTenant acme's pods")

		kubelet(t, ns, "acme-gateway", 2, 2)
		kubelet(t, ns, "acme-routing", 1, 1)
		kubelet(t, ns, "acme-worker", 1, 1)
		kubelet(t, ns, "acme-ticket", 1, 2)
		got = tenantCondition(t, ns, "acme", v1alpha1.ConditionProgressing, metav1.ConditionTrue, v1alpha1.ReasonRolling, "ticket: 1 of 2 replicas updated")
		if err := hasCondition(got.Status.Conditions, got.Generation, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonRolling, "ticket: 1 of 2 replicas updated"); err != nil {
			t.Error(err)
		}
		if got.Status.ComponentsReady != "3/4" || got.Status.ConfigHash != "" {
			t.Errorf("componentsReady %q, configHash %q; want 3/4 and none while ticket rolls", got.Status.ComponentsReady, got.Status.ConfigHash)
		}

		kubelet(t, ns, "acme-ticket", 2, 2)
		got = tenantCondition(t, ns, "acme", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonAvailable, "4 of 4 components")
		for _, c := range []struct {
			typ    string
			status metav1.ConditionStatus
			reason string
		}{
			{v1alpha1.ConditionProgressing, metav1.ConditionFalse, v1alpha1.ReasonAvailable},
			{v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonAvailable},
			{v1alpha1.ConditionAttachmentsShared, metav1.ConditionTrue, v1alpha1.ReasonObjectStorage},
		} {
			if err := hasCondition(got.Status.Conditions, got.Generation, c.typ, c.status, c.reason, ""); err != nil {
				t.Error(err)
			}
		}
		want := v1alpha1.HelpdeskTenantStatus{
			ObservedGeneration: got.Generation,
			Components: []v1alpha1.ComponentStatus{
				{Name: "gateway", DesiredReplicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2},
				{Name: "ticket", DesiredReplicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2},
				{Name: "routing", DesiredReplicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1},
				{Name: "worker", DesiredReplicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1},
			},
			ComponentsReady: "4/4",
			GatewayURL:      "https://help.acme.example",
			AdminKeySecret:  "acme-kubedesk-credentials",
			ConfigHash:      hash,
			AppliedPolicies: []v1alpha1.AppliedPolicy{{Name: "acme-vip", Generation: 1}, {Name: "acme-chat", Generation: 1}, {Name: "acme-standard", Generation: 1}},
		}
		got.Status.Conditions = nil
		if diff := cmp.Diff(want, got.Status); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
		for _, name := range []string{"acme-vip", "acme-chat", "acme-standard"} {
			policyCondition(t, ns, name, v1alpha1.ConditionApplied, metav1.ConditionTrue, v1alpha1.ReasonApplied, "run generation 1")
		}
	})

	t.Run("steady state writes nothing", func(t *testing.T) { writesNothing(t, ns, "acme-worker") })

	t.Run("replicas missing", func(t *testing.T) {
		kubelet(t, ns, "acme-gateway", 2, 1)
		got := tenantCondition(t, ns, "acme", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonReplicasMissing, "gateway: 1 of 2 replicas ready")
		if err := hasCondition(got.Status.Conditions, got.Generation, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonReplicasMissing, "gateway: 1 of 2 replicas ready"); err != nil {
			t.Error(err)
		}
		if got.Status.ComponentsReady != "3/4" {
			t.Errorf("componentsReady %q, want 3/4", got.Status.ComponentsReady)
		}
		kubelet(t, ns, "acme-gateway", 2, 2)
		tenantCondition(t, ns, "acme", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonAvailable, "")
	})

	t.Run("spec changes roll out", func(t *testing.T) {
		update(t, &ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Image = "registry.example/kubedesk:v2"
			ht.Spec.Components.Ticket.Replicas = ptr.To[int32](3)
		})
		waitFor(t, "the Deployments on image v2, ticket at 3 replicas", func() error {
			for _, c := range []string{"gateway", "ticket", "worker"} {
				var d appsv1.Deployment
				if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme-" + c}, &d); err != nil {
					return err
				}
				if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example/kubedesk:v2" {
					return fmt.Errorf("%s runs %s", d.Name, img)
				}
				if c == "ticket" && *d.Spec.Replicas != 3 {
					return fmt.Errorf("%s has %d replicas", d.Name, *d.Spec.Replicas)
				}
			}
			return nil
		})
		tenantCondition(t, ns, "acme", v1alpha1.ConditionProgressing, metav1.ConditionTrue, v1alpha1.ReasonRolling, "ticket: waiting for the Deployment controller to observe generation")
		kubeletAll(t, ns, "acme")
		got := tenantCondition(t, ns, "acme", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonAvailable, "")
		if c := got.Status.Components[1]; c.Name != "ticket" || c.DesiredReplicas != 3 || c.ReadyReplicas != 3 {
			t.Errorf("status.components[1] %+v, want ticket with 3 of 3 ready", c)
		}
	})

	t.Run("drift is put back", func(t *testing.T) {
		// kubectl scale, kubectl edit of the configuration, kubectl delete.
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme-gateway"}}
		if err := k8s.Patch(ctx, d, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":5}}`)), client.FieldOwner("kubectl")); err != nil {
			t.Fatal(err)
		}
		c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme-config"}}
		if err := k8s.Patch(ctx, c, client.RawPatch(types.MergePatchType, []byte(`{"data":{"kubedesk.yaml":"spec: {logLevel: debug}\n"}}`)), client.FieldOwner("kubectl")); err != nil {
			t.Fatal(err)
		}
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme-ticket"}}
		if err := k8s.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "acme-gateway back at 2 replicas, the configuration and Service acme-ticket back", func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
				return err
			}
			if *d.Spec.Replicas != 2 {
				return fmt.Errorf("acme-gateway has %d replicas", *d.Spec.Replicas)
			}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
				return err
			}
			if h := configHash(c.Data); h != hash {
				return fmt.Errorf("configuration hash %s, want %s", h, hash)
			}
			return k8s.Get(ctx, client.ObjectKeyFromObject(s), s)
		})
	})

	t.Run("deletion", func(t *testing.T) {
		// envtest runs no garbage collector, so the owned objects outlive
		// the tenant here; in a cluster the collector deletes them, because
		// each names the tenant as its controller (checkOwned asserted it
		// on every object above). Deleting the tenant must not make the
		// reconciler fail or re-create anything.
		if err := k8s.Delete(ctx, &ht); err != nil {
			t.Fatal(err)
		}
		gone(t, &v1alpha1.HelpdeskTenant{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme"}})
		policyCondition(t, ns, "acme-vip", v1alpha1.ConditionAccepted, metav1.ConditionFalse, v1alpha1.ReasonTenantNotFound, `HelpdeskTenant "acme" does not exist`)
	})
}

// TestMissingSecret: a tenant whose database Secret or key is missing is
// Degraded with a message that says what to create, until it exists.
func TestMissingSecret(t *testing.T) {
	ns := newNamespace(t, "hooli")
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "hooli"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Postgres: &v1alpha1.PostgresDatabase{URLSecretRef: v1alpha1.SecretKeySelector{Name: "hooli-db", Key: "url"}}},
			Temporal: v1alpha1.TemporalSpec{Address: "temporal:7233"},
		},
	}
	create(t, ns, ht)
	tenantCondition(t, ns, "hooli", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
		`spec.database.postgres.urlSecretRef.name: Secret "hooli-db" does not exist in namespace `+ns)

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hooli-db"}, StringData: map[string]string{"uri": "postgres://x"}}
	create(t, ns, secret)
	tenantCondition(t, ns, "hooli", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
		`spec.database.postgres.urlSecretRef.key: Secret "hooli-db" has no key "url"; it has: uri`)

	update(t, secret, func(s *corev1.Secret) { s.Data["url"] = []byte("postgres://hooli@pg/hooli") })
	tenantCondition(t, ns, "hooli", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, "")
	kubeletAll(t, ns, "hooli")
	got := tenantCondition(t, ns, "hooli", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonAvailable, "")
	if want := "http://hooli-gateway." + ns + ".svc:8080"; got.Status.GatewayURL != want {
		t.Errorf("status.gatewayURL %q, want %q (no ingress)", got.Status.GatewayURL, want)
	}
}

// TestEmbeddedTenant: SQLite and embedded Temporal keep their files on
// claims the tenant does not own (ticket, channel and routing their
// databases, the worker its cursors and Temporal's store); disabling a
// component or removing the ingress deletes its objects but never a claim.
func TestEmbeddedTenant(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "initech")
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "initech"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{
				StorageSize: ptr.To(resource.MustParse("2Gi")), StorageClassName: ptr.To("fast")}},
			Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
			Ingress:  &v1alpha1.IngressSpec{Host: "help.initech.example"},
		},
	}
	create(t, ns, ht)
	got := tenantCondition(t, ns, "initech", v1alpha1.ConditionProgressing, metav1.ConditionTrue, v1alpha1.ReasonRolling, "")
	if got.Status.GatewayURL != "http://help.initech.example" {
		t.Errorf("status.gatewayURL %q, want http://help.initech.example (ingress without TLS)", got.Status.GatewayURL)
	}

	t.Run("claims", func(t *testing.T) {
		for _, c := range []string{"ticket", "channel", "routing", "worker"} {
			var pvc corev1.PersistentVolumeClaim
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "initech-" + c + "-data"}, &pvc); err != nil {
				t.Fatal(err)
			}
			if refs := pvc.OwnerReferences; len(refs) > 0 {
				t.Errorf("claim %s has owner references %v; a tenant's data must outlive it", pvc.Name, refs)
			}
			if pvc.Labels[tenant.LabelInstance] != "initech" || pvc.Labels[tenant.LabelComponent] != c {
				t.Errorf("claim %s labels %v", pvc.Name, pvc.Labels)
			}
			if size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; size.Cmp(resource.MustParse("2Gi")) != 0 ||
				ptr.Deref(pvc.Spec.StorageClassName, "") != "fast" || !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
				t.Errorf("claim %s spec %+v, want 2Gi ReadWriteOnce of class fast", pvc.Name, pvc.Spec)
			}
			var d appsv1.Deployment
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "initech-" + c}, &d); err != nil {
				t.Fatal(err)
			}
			if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate != nil {
				t.Errorf("Deployment %s strategy %+v, want Recreate (one pod at a time on the claim)", d.Name, d.Spec.Strategy)
			}
			if v := volume(d.Spec.Template.Spec, "data"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name {
				t.Errorf("Deployment %s data volume %+v, want claim %s", d.Name, v, pvc.Name)
			}
			if diff := cmp.Diff(credentialEnv("initech", c), d.Spec.Template.Spec.Containers[0].Env); diff != "" {
				t.Errorf("Deployment %s env (-want +got), want the credentials only (SQLite):\n%s", d.Name, diff)
			}
		}
		var d appsv1.Deployment
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "initech-gateway"}, &d); err != nil {
			t.Fatal(err)
		}
		if v := volume(d.Spec.Template.Spec, "data"); v == nil || v.EmptyDir == nil {
			t.Errorf("gateway data volume %+v, want an emptyDir", v)
		}
		cfg, err := configOf(ns, "initech")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(cfg, "address:") || !strings.Contains(cfg, "namespace: kubedesk") {
			t.Errorf("configuration for embedded Temporal:\n%s\nwant no worker.temporal.address (embedded) and the default namespace", cfg)
		}
	})

	t.Run("switch to PostgreSQL", func(t *testing.T) {
		// Recreate → RollingUpdate and back: the operator owns the
		// rollingUpdate fields it sets, so they go with the strategy.
		create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "initech-db"}, StringData: map[string]string{"url": "postgres://x"}})
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Database = v1alpha1.DatabaseSpec{Postgres: &v1alpha1.PostgresDatabase{URLSecretRef: v1alpha1.SecretKeySelector{Name: "initech-db", Key: "url"}}}
		})
		waitFor(t, "initech-ticket rolling on an emptyDir", func() error { return strategyIs(ctx, ns, "initech-ticket", appsv1.RollingUpdateDeploymentStrategyType) })
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Database = v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{StorageSize: ptr.To(resource.MustParse("2Gi")), StorageClassName: ptr.To("fast")}}
		})
		waitFor(t, "initech-ticket recreated on its claim again", func() error { return strategyIs(ctx, ns, "initech-ticket", appsv1.RecreateDeploymentStrategyType) })
		tenantCondition(t, ns, "initech", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, "")
	})

	t.Run("disable the worker, remove the ingress", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Components.Worker = &v1alpha1.ComponentSpec{Enabled: ptr.To(false)}
			ht.Spec.Ingress = nil
		})
		gone(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "initech-worker"}})
		gone(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "initech-worker"}})
		gone(t, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "initech"}})
		var pvc corev1.PersistentVolumeClaim
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "initech-worker-data"}, &pvc); err != nil {
			t.Errorf("the worker's claim: %v; it must stay when the worker is disabled", err)
		}
		kubeletAll(t, ns, "initech")
		got := tenantCondition(t, ns, "initech", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonAvailable, "4 of 4 components")
		if want := "http://initech-gateway." + ns + ".svc:8080"; got.Status.GatewayURL != want {
			t.Errorf("status.gatewayURL %q, want %q", got.Status.GatewayURL, want)
		}
		writesNothing(t, ns, "initech-ticket")
		waitFor(t, "an event recording the deletion of Deployment initech-worker", func() error {
			var list eventsv1.EventList
			if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
				return err
			}
			var seen []string
			for _, e := range list.Items {
				if e.Regarding.Kind == "HelpdeskTenant" && e.Regarding.Name == "initech" && e.Reason == "Deleted" && strings.Contains(e.Note, "Deployment initech-worker") {
					return nil
				}
				seen = append(seen, e.Reason+": "+e.Note)
			}
			return fmt.Errorf("events: %q", seen)
		})
	})
}

// writesNothing makes the tenant owning a Deployment reconcile (its status
// changes, as on every pod start) and checks that the reconcile, finding
// nothing to change, wrote nothing but status.
func writesNothing(t *testing.T, ns, deployment string) {
	t.Helper()
	ctx := context.Background()
	before, n := writes.snapshot(), reconciles(t, "helpdesktenant")
	var d appsv1.Deployment
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: deployment}, &d); err != nil {
		t.Fatal(err)
	}
	d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{
		Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"})
	if err := k8s.Status().Update(ctx, &d); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a reconcile of the tenant", func() error {
		if reconciles(t, "helpdesktenant") <= n {
			return fmt.Errorf("no reconcile since %v", n)
		}
		return nil
	})
	for k, v := range writes.snapshot() {
		if v != before[k] && !strings.HasSuffix(k, "/status") {
			t.Errorf("%s: %d requests during a reconcile of an unchanged tenant, want none", k, v-before[k])
		}
	}
}

func strategyIs(ctx context.Context, ns, name string, want appsv1.DeploymentStrategyType) error {
	var d appsv1.Deployment
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
		return err
	}
	if d.Spec.Strategy.Type != want {
		return fmt.Errorf("strategy %s", d.Spec.Strategy.Type)
	}
	return nil
}

// checkOwned checks the labels and the controller reference every object
// of a tenant carries.
func checkOwned(t *testing.T, ht *v1alpha1.HelpdeskTenant, obj client.Object, component string) {
	t.Helper()
	wantLabels := map[string]string{
		tenant.LabelName: "kubedesk", tenant.LabelInstance: ht.Name, tenant.LabelComponent: component,
		tenant.LabelManagedBy: "kubedesk-operator", tenant.LabelPartOf: "kubedesk",
	}
	if diff := cmp.Diff(wantLabels, obj.GetLabels()); diff != "" {
		t.Errorf("%T %s labels (-want +got):\n%s", obj, obj.GetName(), diff)
	}
	want := []metav1.OwnerReference{{
		APIVersion: "kubedesk.io/v1alpha1", Kind: "HelpdeskTenant", Name: ht.Name, UID: ht.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
	if diff := cmp.Diff(want, obj.GetOwnerReferences()); diff != "" {
		t.Errorf("%T %s owner references (-want +got):\n%s", obj, obj.GetName(), diff)
	}
}

// checkDeployment checks what every component's Deployment has in common.
func checkDeployment(t *testing.T, d *appsv1.Deployment, component string, replicas int32, hash string) {
	t.Helper()
	if got := ptr.Deref(d.Spec.Replicas, -1); got != replicas {
		t.Errorf("replicas %d, want %d", got, replicas)
	}
	if got := d.Spec.Template.Annotations[tenant.ConfigHashAnnotation]; got != hash {
		t.Errorf("pod template %s = %q, want the ConfigMap data's hash %q", tenant.ConfigHashAnnotation, got, hash)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if diff := cmp.Diff([]string{"serve", "--target=" + component, "--config=/etc/kubedesk/kubedesk.yaml"}, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if c.Image != "kubedesk:dev" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %s (%s), want kubedesk:dev (IfNotPresent)", c.Image, c.ImagePullPolicy)
	}
	wantPorts := []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, {Name: "grpc", ContainerPort: 9090, Protocol: corev1.ProtocolTCP}}
	if diff := cmp.Diff(wantPorts, c.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"startup", c.StartupProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s probe %+v, want GET %s on port http", p.name, p.probe, p.path)
		}
	}
	sc := c.SecurityContext
	if sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) || ptr.Deref(sc.RunAsUser, 0) != 65532 || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) ||
		ptr.Deref(sc.AllowPrivilegeEscalation, true) || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext %+v, want non-root 65532, read-only root, no escalation, drop ALL, RuntimeDefault seccomp", sc)
	}
	psc := pod.SecurityContext
	if psc == nil || !ptr.Deref(psc.RunAsNonRoot, false) || ptr.Deref(psc.FSGroup, 0) != 65532 || psc.SeccompProfile == nil {
		t.Errorf("pod securityContext %+v, want non-root with fsGroup 65532 and a seccomp profile", psc)
	}
	var mounts []string
	for _, m := range c.VolumeMounts {
		mounts = append(mounts, fmt.Sprintf("%s:%s:%v", m.Name, m.MountPath, m.ReadOnly))
	}
	if diff := cmp.Diff([]string{"config:/etc/kubedesk:true", "data:/data:false", "tmp:/tmp:false"}, mounts); diff != "" {
		t.Errorf("volume mounts (-want +got):\n%s", diff)
	}
	if v := volume(pod, "config"); v == nil || v.ConfigMap == nil || v.ConfigMap.Name != strings.TrimSuffix(d.Name, "-"+component)+"-config" {
		t.Errorf("config volume %+v, want the tenant's ConfigMap", v)
	}
	if v := volume(pod, "tmp"); v == nil || v.EmptyDir == nil {
		t.Errorf("tmp volume %+v, want an emptyDir", v)
	}
	if diff := cmp.Diff(map[string]string{tenant.LabelName: "kubedesk", tenant.LabelInstance: d.Labels[tenant.LabelInstance], tenant.LabelComponent: component},
		d.Spec.Selector.MatchLabels); diff != "" {
		t.Errorf("selector (-want +got):\n%s", diff)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken %v, want false (the pods do not call the API)", pod.AutomountServiceAccountToken)
	}
}

func volume(pod corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

func equalResources(a, b corev1.ResourceRequirements) bool {
	eq := func(x, y corev1.ResourceList) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || v.Cmp(w) != 0 {
				return false
			}
		}
		return true
	}
	return eq(a.Requests, b.Requests) && eq(a.Limits, b.Limits)
}

// credentialEnv is the environment a component's Deployment gets from its
// tenant's credentials Secret: the internal token for every one, the
// admin key for the gateway's alone (it runs the identity module).
func credentialEnv(tenantName, component string) []corev1.EnvVar {
	ref := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: tenantName + "-kubedesk-credentials"}, Key: key}}
	}
	env := []corev1.EnvVar{{Name: "KUBEDESK_INTERNAL_TOKEN", ValueFrom: ref("internal.token")}}
	if component == "gateway" {
		env = append(env, corev1.EnvVar{Name: "KUBEDESK_BOOTSTRAP_ADMIN_KEY", ValueFrom: ref("admin.key")})
	}
	return env
}
