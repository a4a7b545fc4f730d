package tenant_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/tenant"
)

// credentialShape is a generated credential: its prefix, then 32 random
// bytes in unpadded base64url (43 characters).
var credentialShape = map[string]*regexp.Regexp{
	"admin.key":      regexp.MustCompile(`^kd_[A-Za-z0-9_-]{43}$`),
	"internal.token": regexp.MustCompile(`^kds_[A-Za-z0-9_-]{43}$`),
}

// TestCredentials: the operator generates a tenant's admin API key and
// internal token once, in a Secret the tenant owns, hands both to every
// Deployment, names the Secret in the status and never changes a key it
// finds: later reconciles leave the Secret alone, a deleted key alone is
// generated again, and a Secret made beforehand is used as it is.
func TestCredentials(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "globex")
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "globex"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
			Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
		},
	}
	create(t, ns, ht)
	key := client.ObjectKey{Namespace: ns, Name: "globex-kubedesk-credentials"}
	var first corev1.Secret
	waitFor(t, "Secret "+key.Name, func() error { return k8s.Get(ctx, key, &first) })

	t.Run("generated", func(t *testing.T) {
		checkOwned(t, ht, &first, "credentials")
		if first.Type != corev1.SecretTypeOpaque {
			t.Errorf("type %q, want Opaque", first.Type)
		}
		if len(first.Data) != 2 {
			t.Errorf("keys %v, want admin.key and internal.token", keysOf(first.Data))
		}
		for k, shape := range credentialShape {
			v := string(first.Data[k])
			if !shape.MatchString(v) {
				t.Errorf("%s = %q, want %s", k, v, shape)
				continue
			}
			raw, err := base64.RawURLEncoding.DecodeString(v[strings.IndexByte(v, '_')+1:])
			if err != nil || len(raw) != 32 {
				t.Errorf("%s decodes to %d bytes (%v), want 32", k, len(raw), err)
			}
		}
		if bytes.Equal(first.Data["admin.key"][3:], first.Data["internal.token"][4:]) {
			t.Error("admin.key and internal.token are the same random bytes")
		}
	})

	t.Run("status and Deployments", func(t *testing.T) {
		waitFor(t, "status.adminKeySecret", func() error {
			got, err := getTenant(ns, "globex")
			if err != nil {
				return err
			}
			if got.Status.AdminKeySecret != key.Name {
				return fmt.Errorf("status.adminKeySecret %q, want %q", got.Status.AdminKeySecret, key.Name)
			}
			return nil
		})
		for _, c := range []string{"gateway", "ticket", "worker"} {
			var d appsv1.Deployment
			waitFor(t, "Deployment globex-"+c, func() error { return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "globex-" + c}, &d) })
			if diff := cmp.Diff(credentialEnv("globex", c), d.Spec.Template.Spec.Containers[0].Env); diff != "" {
				t.Errorf("Deployment %s env (-want +got):\n%s", d.Name, diff)
			}
			if h := d.Spec.Template.Annotations[tenant.CredentialsHashAnnotation]; len(h) != 64 {
				t.Errorf("Deployment %s pod template %s = %q, want a SHA-256", d.Name, tenant.CredentialsHashAnnotation, h)
			}
		}
	})
	before := credentialsHashes(t, ns, "globex")
	if len(before) != 1 {
		t.Fatalf("the Deployments' pods run credentials %v, want one hash for all", before)
	}

	t.Run("kept on later reconciles", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) { ht.Spec.DisplayName = "Globex Support" })
		waitFor(t, "a reconcile of the new generation", func() error {
			got, err := getTenant(ns, "globex")
			if err != nil {
				return err
			}
			if got.Status.ObservedGeneration != got.Generation {
				return fmt.Errorf("observed generation %d of %d", got.Status.ObservedGeneration, got.Generation)
			}
			return nil
		})
		var s corev1.Secret
		if err := k8s.Get(ctx, key, &s); err != nil {
			t.Fatal(err)
		}
		if s.ResourceVersion != first.ResourceVersion || !cmp.Equal(first.Data, s.Data) {
			t.Errorf("the Secret changed on a reconcile: resourceVersion %s -> %s", first.ResourceVersion, s.ResourceVersion)
		}
		if got := credentialsHashes(t, ns, "globex"); !cmp.Equal(before, got) {
			t.Errorf("credentials hash %v -> %v with unchanged credentials", before, got)
		}
	})

	t.Run("a deleted key alone is generated again", func(t *testing.T) {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: key.Name}}
		update(t, s, func(s *corev1.Secret) { delete(s.Data, "admin.key") })
		waitFor(t, "admin.key generated again", func() error {
			if err := k8s.Get(ctx, key, s); err != nil {
				return err
			}
			if len(s.Data["admin.key"]) == 0 {
				return fmt.Errorf("keys %v", keysOf(s.Data))
			}
			return nil
		})
		if v := string(s.Data["admin.key"]); !credentialShape["admin.key"].MatchString(v) || v == string(first.Data["admin.key"]) {
			t.Errorf("admin.key = %q, want a new one of the shape %s", v, credentialShape["admin.key"])
		}
		if !bytes.Equal(s.Data["internal.token"], first.Data["internal.token"]) {
			t.Error("internal.token changed when only admin.key was missing")
		}
		waitFor(t, "every Deployment's pods to restart on the new credentials", func() error {
			got := credentialsHashes(t, ns, "globex")
			if len(got) != 1 || cmp.Equal(before, got) {
				return fmt.Errorf("credentials hashes %v, before %v", got, before)
			}
			return nil
		})
	})

	t.Run("a Secret made beforehand is used as it is", func(t *testing.T) {
		const own = "kd_brought-by-the-platform-team"
		create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "initrode-kubedesk-credentials"},
			StringData: map[string]string{"admin.key": own}})
		create(t, ns, &v1alpha1.HelpdeskTenant{
			ObjectMeta: metav1.ObjectMeta{Name: "initrode"},
			Spec: v1alpha1.HelpdeskTenantSpec{
				Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
				Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
			},
		})
		var s corev1.Secret
		waitFor(t, "internal.token added", func() error {
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "initrode-kubedesk-credentials"}, &s); err != nil {
				return err
			}
			if len(s.Data["internal.token"]) == 0 {
				return fmt.Errorf("keys %v", keysOf(s.Data))
			}
			return nil
		})
		if got := string(s.Data["admin.key"]); got != own {
			t.Errorf("admin.key = %q, want the one the Secret had, %q", got, own)
		}
		if v := string(s.Data["internal.token"]); !credentialShape["internal.token"].MatchString(v) {
			t.Errorf("internal.token = %q, want %s", v, credentialShape["internal.token"])
		}
		if refs := s.OwnerReferences; len(refs) > 0 {
			t.Errorf("owner references %v on a Secret the operator did not make; deleting the tenant would delete it", refs)
		}

		// Rotating the key by hand restarts the pods on it.
		var old map[string]bool
		waitFor(t, "initrode's Deployments", func() error {
			if old = credentialsHashes(t, ns, "initrode"); len(old) != 1 || old[""] {
				return fmt.Errorf("credentials hashes %v", old)
			}
			return nil
		})
		update(t, &s, func(s *corev1.Secret) { s.Data["admin.key"] = []byte("kd_rotated-by-the-platform-team") })
		waitFor(t, "every Deployment's pods to restart on the rotated key", func() error {
			got := credentialsHashes(t, ns, "initrode")
			if len(got) != 1 || cmp.Equal(old, got) {
				return fmt.Errorf("credentials hashes %v, before %v", got, old)
			}
			return nil
		})
	})
}

func keysOf(m map[string][]byte) []string { return slices.Sorted(maps.Keys(m)) }

// credentialsHashes are the distinct credentials hashes of the tenant's
// pod templates.
func credentialsHashes(t *testing.T, ns, tenantName string) map[string]bool {
	t.Helper()
	var list appsv1.DeploymentList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{tenant.LabelInstance: tenantName}); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, d := range list.Items {
		out[d.Spec.Template.Annotations[tenant.CredentialsHashAnnotation]] = true
	}
	return out
}
