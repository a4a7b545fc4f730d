package tenant_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/tenant"
)

// TestAttachments runs a PostgreSQL tenant with two ticket replicas
// through every place its attachments can be: the pods' emptyDir (a
// Warning and AttachmentsShared=False), an S3 bucket whose URL the ticket
// pods read from a Secret, a ReadWriteMany claim, a ReadWriteOnce one, and
// back to none.
func TestAttachments(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "stark")
	create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "stark-db"}, StringData: map[string]string{"url": "postgres://x"}})
	const s3URL = "s3://AKIASTARK:hunter2@stark-attachments/tickets?endpoint=minio.storage:9000&region=us-east-1"
	blobs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "stark-blobs"}, StringData: map[string]string{"url": s3URL}}
	create(t, ns, blobs)
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "stark"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Postgres: &v1alpha1.PostgresDatabase{URLSecretRef: v1alpha1.SecretKeySelector{Name: "stark-db", Key: "url"}}},
			Temporal: v1alpha1.TemporalSpec{Address: "temporal:7233"},
			Components: v1alpha1.ComponentsSpec{
				Ticket: &v1alpha1.ComponentSpec{Replicas: ptr.To[int32](2)},
			},
		},
	}
	create(t, ns, ht)

	t.Run("emptyDir", func(t *testing.T) {
		tenantCondition(t, ns, "stark", v1alpha1.ConditionAttachmentsShared, metav1.ConditionFalse, v1alpha1.ReasonEmptyDir,
			"the ticket pods (2 replicas) keep attachments in their emptyDir: a pod's are lost with it and the other replicas do not see them; "+
				"set spec.attachments.s3.urlSecretRef (a Secret key with an s3:// URL) or spec.attachments.volume.claimName (a ReadWriteMany PersistentVolumeClaim)")
		waitEvent(t, ns, "stark", corev1.EventTypeWarning, "AttachmentsEmptyDir", "keep attachments in their emptyDir")
		d := ticketDeployment(t, ns, "stark")
		if v := volume(d.Spec.Template.Spec, "attachments"); v != nil {
			t.Errorf("attachments volume %+v without spec.attachments", v)
		}
		if e := envVar(d, tenant.BlobURLEnv); e != nil {
			t.Errorf("%s %+v without spec.attachments", tenant.BlobURLEnv, e)
		}
	})

	t.Run("s3", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Attachments = &v1alpha1.AttachmentsSpec{S3: &v1alpha1.S3Attachments{URLSecretRef: v1alpha1.SecretKeySelector{Name: "stark-blobs", Key: "url"}}}
		})
		tenantCondition(t, ns, "stark", v1alpha1.ConditionAttachmentsShared, metav1.ConditionTrue, v1alpha1.ReasonObjectStorage,
			`every ticket replica keeps attachments in the S3-compatible bucket whose URL Secret "stark-blobs" holds under the key "url"`)
		d := ticketDeployment(t, ns, "stark")
		want := &corev1.EnvVar{Name: "KUBEDESK_BLOB_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "stark-blobs"}, Key: "url"}}}
		if diff := cmp.Diff(want, envVar(d, "KUBEDESK_BLOB_URL")); diff != "" {
			t.Errorf("the ticket's KUBEDESK_BLOB_URL (-want +got):\n%s", diff)
		}
		if s := d.Spec.Strategy.Type; s != appsv1.RollingUpdateDeploymentStrategyType {
			t.Errorf("ticket strategy %s, want RollingUpdate", s)
		}
		var list appsv1.DeploymentList
		if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, other := range list.Items {
			if other.Name != "stark-ticket" && envVar(&other, tenant.BlobURLEnv) != nil {
				t.Errorf("Deployment %s has %s; only the ticket opens the blob store", other.Name, tenant.BlobURLEnv)
			}
		}
		cfg, err := configOf(ns, "stark")
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"s3:", "hunter2", "stark-blobs", "attachments"} {
			if strings.Contains(cfg, secret) {
				t.Errorf("the configuration holds %q; the blob URL goes to the pods from the Secret only:\n%s", secret, cfg)
			}
		}
		if creds := podCredentials(t, ns, "stark"); creds["ticket"] == creds["gateway"] || creds["gateway"] != creds["worker"] {
			t.Errorf("credentials hashes %v; want the ticket's (with the blob URL) apart from the others'", creds)
		}
	})

	t.Run("a changed URL restarts the ticket only", func(t *testing.T) {
		before := podCredentials(t, ns, "stark")
		update(t, blobs, func(s *corev1.Secret) { s.Data["url"] = []byte(strings.Replace(s3URL, "hunter2", "rotated", 1)) })
		waitFor(t, "the ticket's pods to restart on the new URL", func() error {
			got := podCredentials(t, ns, "stark")
			if got["ticket"] == before["ticket"] {
				return fmt.Errorf("ticket credentials hash still %s", got["ticket"])
			}
			for _, c := range []string{"gateway", "channel", "worker"} {
				if got[c] != before[c] {
					return fmt.Errorf("%s credentials hash changed: %s -> %s", c, before[c], got[c])
				}
			}
			return nil
		})
	})

	t.Run("another Secret rolls the ticket", func(t *testing.T) {
		create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "stark-minio"}, StringData: map[string]string{"blob-url": s3URL}})
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Attachments.S3.URLSecretRef = v1alpha1.SecretKeySelector{Name: "stark-minio", Key: "blob-url"}
		})
		waitFor(t, "the ticket's pod template on Secret stark-minio", func() error {
			e := envVar(ticketDeployment(t, ns, "stark"), tenant.BlobURLEnv)
			if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				return fmt.Errorf("%s is %+v", tenant.BlobURLEnv, e)
			}
			if ref := e.ValueFrom.SecretKeyRef; ref.Name != "stark-minio" || ref.Key != "blob-url" {
				return fmt.Errorf("%s from Secret %s key %s", tenant.BlobURLEnv, ref.Name, ref.Key)
			}
			return nil
		})
	})

	t.Run("missing Secret", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Attachments.S3.URLSecretRef = v1alpha1.SecretKeySelector{Name: "stark-s3", Key: "url"}
		})
		tenantCondition(t, ns, "stark", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
			`spec.attachments.s3.urlSecretRef.name: Secret "stark-s3" does not exist in namespace `+ns+`; create it with the attachments' s3:// URL under the key "url"`)
	})

	t.Run("missing claim", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Attachments = &v1alpha1.AttachmentsSpec{Volume: &v1alpha1.VolumeAttachments{ClaimName: "stark-attachments"}}
		})
		got := tenantCondition(t, ns, "stark", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
			`spec.attachments.volume.claimName: PersistentVolumeClaim "stark-attachments" does not exist in namespace `+ns+`; create it (ReadWriteMany to run more than one ticket replica)`)
		if err := hasCondition(got.Status.Conditions, got.Generation, v1alpha1.ConditionAttachmentsShared, metav1.ConditionFalse, v1alpha1.ReasonClaimNotFound,
			`PersistentVolumeClaim "stark-attachments" does not exist`); err != nil {
			t.Error(err)
		}
		waitFor(t, "the ticket recreated, not rolled, while nothing is known of the claim", func() error {
			return strategyIs(ctx, ns, "stark-ticket", appsv1.RecreateDeploymentStrategyType)
		})
	})

	t.Run("ReadWriteMany claim", func(t *testing.T) {
		create(t, ns, attachmentsClaim("stark-attachments", corev1.ReadWriteMany))
		// The ticket's pods start on the new claim; their Deployment's
		// status brings the tenant back to the reconciler.
		kubeletAll(t, ns, "stark")
		tenantCondition(t, ns, "stark", v1alpha1.ConditionAttachmentsShared, metav1.ConditionTrue, v1alpha1.ReasonVolume,
			`every ticket replica keeps attachments on the ReadWriteMany PersistentVolumeClaim "stark-attachments", mounted at /data/blobs`)
		tenantCondition(t, ns, "stark", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, "")
		waitFor(t, "the ticket rolling on the shared claim", func() error {
			return strategyIs(ctx, ns, "stark-ticket", appsv1.RollingUpdateDeploymentStrategyType)
		})
		d := ticketDeployment(t, ns, "stark")
		checkAttachmentsVolume(t, d, "stark-attachments")
		if e := envVar(d, tenant.BlobURLEnv); e != nil {
			t.Errorf("%s %+v with attachments on a volume", tenant.BlobURLEnv, e)
		}
		for _, c := range []string{"gateway", "channel", "worker"} {
			var other appsv1.Deployment
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stark-" + c}, &other); err != nil {
				t.Fatal(err)
			}
			if v := volume(other.Spec.Template.Spec, "attachments"); v != nil {
				t.Errorf("Deployment %s mounts the attachments claim; only the ticket opens the blob store", other.Name)
			}
		}
	})

	t.Run("ReadWriteOnce claim", func(t *testing.T) {
		create(t, ns, attachmentsClaim("stark-rwo", corev1.ReadWriteOnce))
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) { ht.Spec.Attachments.Volume.ClaimName = "stark-rwo" })
		tenantCondition(t, ns, "stark", v1alpha1.ConditionAttachmentsShared, metav1.ConditionFalse, v1alpha1.ReasonClaimNotShared,
			`PersistentVolumeClaim "stark-rwo" is ReadWriteOnce, not ReadWriteMany: ticket pods on other nodes cannot mount it, so the ticket Deployment (2 replicas) is recreated rather than rolled`)
		waitEvent(t, ns, "stark", corev1.EventTypeWarning, "AttachmentsClaimNotShared", `PersistentVolumeClaim "stark-rwo" is ReadWriteOnce`)
		if err := strategyIs(ctx, ns, "stark-ticket", appsv1.RecreateDeploymentStrategyType); err != nil {
			t.Error(err)
		}
		checkAttachmentsVolume(t, ticketDeployment(t, ns, "stark"), "stark-rwo")
	})

	t.Run("none again", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) { ht.Spec.Attachments = nil })
		tenantCondition(t, ns, "stark", v1alpha1.ConditionAttachmentsShared, metav1.ConditionFalse, v1alpha1.ReasonEmptyDir, "")
		d := ticketDeployment(t, ns, "stark")
		if v := volume(d.Spec.Template.Spec, "attachments"); v != nil {
			t.Errorf("attachments volume %+v left after spec.attachments went", v)
		}
		if len(d.Spec.Template.Spec.Containers[0].VolumeMounts) != 3 {
			t.Errorf("volume mounts %+v, want config, data and tmp", d.Spec.Template.Spec.Containers[0].VolumeMounts)
		}
		if s := d.Spec.Strategy.Type; s != appsv1.RollingUpdateDeploymentStrategyType {
			t.Errorf("ticket strategy %s, want RollingUpdate", s)
		}
	})

	t.Run("no ticket, no condition", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) { ht.Spec.Components.Ticket.Enabled = ptr.To(false) })
		noAttachmentsShared(t, ns, "stark")
	})
}

// TestAttachmentsEmbedded: a tenant on SQLite (one ticket replica, its
// attachments on its data claim) gets no AttachmentsShared condition and
// no warning; a volume it names is mounted inside its data claim.
func TestAttachmentsEmbedded(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "wayne")
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "wayne"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
			Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
		},
	}
	create(t, ns, ht)
	noAttachmentsShared(t, ns, "wayne")

	create(t, ns, attachmentsClaim("wayne-attachments", corev1.ReadWriteOnce))
	update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
		ht.Spec.Attachments = &v1alpha1.AttachmentsSpec{Volume: &v1alpha1.VolumeAttachments{ClaimName: "wayne-attachments"}}
	})
	waitFor(t, "the ticket with the attachments claim", func() error {
		if v := volume(ticketDeployment(t, ns, "wayne").Spec.Template.Spec, "attachments"); v == nil {
			return fmt.Errorf("no attachments volume")
		}
		return nil
	})
	d := ticketDeployment(t, ns, "wayne")
	checkAttachmentsVolume(t, d, "wayne-attachments")
	if v := volume(d.Spec.Template.Spec, "data"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "wayne-ticket-data" {
		t.Errorf("data volume %+v, want the ticket's data claim", v)
	}
	noAttachmentsShared(t, ns, "wayne")
	// Several reconciles later, any warning would have been written.
	var list eventsv1.EventList
	if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Items {
		if strings.HasPrefix(e.Reason, "Attachments") {
			t.Errorf("event %s %s %q on the embedded database", e.Type, e.Reason, e.Note)
		}
	}
}

// noAttachmentsShared waits for the status of a tenant's generation, and
// checks that it has no AttachmentsShared condition.
func noAttachmentsShared(t *testing.T, ns, tenantName string) {
	t.Helper()
	var got *v1alpha1.HelpdeskTenant
	waitFor(t, "HelpdeskTenant "+tenantName+"'s status of its generation", func() error {
		var err error
		if got, err = getTenant(ns, tenantName); err != nil {
			return err
		}
		if got.Status.ObservedGeneration != got.Generation || meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionProgressing) == nil {
			return fmt.Errorf("status.observedGeneration %d, generation %d, conditions %s", got.Status.ObservedGeneration, got.Generation, describe(got.Status.Conditions))
		}
		return nil
	})
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionAttachmentsShared); c != nil {
		t.Errorf("HelpdeskTenant %s has AttachmentsShared=%s/%s %q; want none", tenantName, c.Status, c.Reason, c.Message)
	}
}

// attachmentsClaim is a claim for attachments made by the tenant's owner.
func attachmentsClaim(name string, mode corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{mode},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
		},
	}
}

// checkAttachmentsVolume checks that a ticket Deployment mounts claim at
// the binary's blobs directory, inside its data directory.
func checkAttachmentsVolume(t *testing.T, d *appsv1.Deployment, claim string) {
	t.Helper()
	if v := volume(d.Spec.Template.Spec, "attachments"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claim {
		t.Errorf("attachments volume %+v, want claim %s", v, claim)
	}
	var mounts []string
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounts = append(mounts, fmt.Sprintf("%s:%s:%v", m.Name, m.MountPath, m.ReadOnly))
	}
	want := []string{"config:/etc/kubedesk:true", "data:/data:false", "attachments:/data/blobs:false", "tmp:/tmp:false"}
	if diff := cmp.Diff(want, mounts); diff != "" {
		t.Errorf("volume mounts (-want +got):\n%s", diff)
	}
}

// ticketDeployment reads a tenant's ticket Deployment.
func ticketDeployment(t *testing.T, ns, tenantName string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	waitFor(t, "Deployment "+tenantName+"-ticket", func() error {
		return k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: tenantName + "-ticket"}, &d)
	})
	return &d
}

// envVar returns a Deployment's variable name, nil when it has none.
func envVar(d *appsv1.Deployment, name string) *corev1.EnvVar {
	for i, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			return &d.Spec.Template.Spec.Containers[0].Env[i]
		}
	}
	return nil
}

// waitEvent waits for an event on a tenant whose note contains note.
func waitEvent(t *testing.T, ns, tenantName, typ, reason, note string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("a %s event %s %q on HelpdeskTenant %s", typ, reason, note, tenantName), func() error {
		var list eventsv1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Kind == "HelpdeskTenant" && e.Regarding.Name == tenantName && e.Type == typ && e.Reason == reason && strings.Contains(e.Note, note) {
				return nil
			}
			seen = append(seen, e.Type+" "+e.Reason+": "+e.Note)
		}
		return fmt.Errorf("events: %q", seen)
	})
}
