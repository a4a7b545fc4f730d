package tenant

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// TestAttachmentsShared: the AttachmentsShared condition of a PostgreSQL
// tenant and the ticket's rollout for each place attachments can be.
func TestAttachmentsShared(t *testing.T) {
	pvc := func(modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{AccessModes: modes}}
	}
	s3 := &v1alpha1.AttachmentsSpec{S3: &v1alpha1.S3Attachments{URLSecretRef: v1alpha1.SecretKeySelector{Name: "blobs", Key: "url"}}}
	volume := &v1alpha1.AttachmentsSpec{Volume: &v1alpha1.VolumeAttachments{ClaimName: "files"}}
	for _, tt := range []struct {
		name        string
		attachments *v1alpha1.AttachmentsSpec
		store       attachmentStore
		status      metav1.ConditionStatus
		reason, msg string
		exclusive   bool
	}{
		{"none", nil, attachmentStore{}, metav1.ConditionFalse, v1alpha1.ReasonEmptyDir,
			"the ticket pods (3 replicas) keep attachments in their emptyDir", false},
		{"s3", s3, attachmentStore{url: []byte("s3://k:s@bucket")}, metav1.ConditionTrue, v1alpha1.ReasonObjectStorage,
			`the S3-compatible bucket whose URL Secret "blobs" holds under the key "url"`, false},
		{"s3, Secret missing", s3, attachmentStore{}, metav1.ConditionTrue, v1alpha1.ReasonObjectStorage, `Secret "blobs"`, false},
		{"volume, claim missing", volume, attachmentStore{wantsClaim: true}, metav1.ConditionFalse, v1alpha1.ReasonClaimNotFound,
			`PersistentVolumeClaim "files" does not exist`, true},
		{"ReadWriteMany", volume, attachmentStore{wantsClaim: true, claim: pvc(corev1.ReadWriteOnce, corev1.ReadWriteMany)},
			metav1.ConditionTrue, v1alpha1.ReasonVolume, `the ReadWriteMany PersistentVolumeClaim "files", mounted at /data/blobs`, false},
		{"ReadWriteOnce", volume, attachmentStore{wantsClaim: true, claim: pvc(corev1.ReadWriteOnce)}, metav1.ConditionFalse, v1alpha1.ReasonClaimNotShared,
			`PersistentVolumeClaim "files" is ReadWriteOnce, not ReadWriteMany`, true},
		{"ReadWriteOncePod", volume, attachmentStore{wantsClaim: true, claim: pvc(corev1.ReadWriteOncePod)}, metav1.ConditionFalse, v1alpha1.ReasonClaimNotShared,
			"is ReadWriteOncePod, not ReadWriteMany", true},
		{"no access modes", volume, attachmentStore{wantsClaim: true, claim: pvc()}, metav1.ConditionFalse, v1alpha1.ReasonClaimNotShared,
			"is without access modes, not ReadWriteMany", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ht := &v1alpha1.HelpdeskTenant{Spec: v1alpha1.HelpdeskTenantSpec{
				Attachments: tt.attachments,
				Components:  v1alpha1.ComponentsSpec{Ticket: &v1alpha1.ComponentSpec{Replicas: ptr.To[int32](3)}},
			}}
			status, reason, msg := attachmentsShared(ht, tt.store)
			if status != tt.status || reason != tt.reason || !strings.Contains(msg, tt.msg) {
				t.Errorf("AttachmentsShared %s/%s %q, want %s/%s containing %q", status, reason, msg, tt.status, tt.reason, tt.msg)
			}
			if got := tt.store.exclusive(); got != tt.exclusive {
				t.Errorf("exclusive() = %v, want %v", got, tt.exclusive)
			}
		})
	}
}

// TestSetAttachmentsShared: only a tenant on PostgreSQL that runs the
// ticket component has the condition; it goes when either changes.
func TestSetAttachmentsShared(t *testing.T) {
	pg := v1alpha1.DatabaseSpec{Postgres: &v1alpha1.PostgresDatabase{URLSecretRef: v1alpha1.SecretKeySelector{Name: "db", Key: "url"}}}
	ht := &v1alpha1.HelpdeskTenant{ObjectMeta: metav1.ObjectMeta{Generation: 4}, Spec: v1alpha1.HelpdeskTenantSpec{Database: pg}}
	r := &Reconciler{}
	r.setAttachmentsShared(ht, attachmentStore{})
	if n := len(ht.Status.Conditions); n != 1 || ht.Status.Conditions[0].Type != v1alpha1.ConditionAttachmentsShared ||
		ht.Status.Conditions[0].Reason != v1alpha1.ReasonEmptyDir || ht.Status.Conditions[0].ObservedGeneration != 4 {
		t.Fatalf("conditions %+v, want AttachmentsShared EmptyDir at generation 4", ht.Status.Conditions)
	}
	ht.Spec.Components.Ticket = &v1alpha1.ComponentSpec{Enabled: ptr.To(false)}
	r.setAttachmentsShared(ht, attachmentStore{})
	if len(ht.Status.Conditions) != 0 {
		t.Errorf("conditions %+v without the ticket component, want none", ht.Status.Conditions)
	}
	ht.Spec.Components.Ticket = nil
	r.setAttachmentsShared(ht, attachmentStore{})
	ht.Spec.Database = v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}}
	r.setAttachmentsShared(ht, attachmentStore{})
	if len(ht.Status.Conditions) != 0 {
		t.Errorf("conditions %+v on the embedded database, want none", ht.Status.Conditions)
	}
}
