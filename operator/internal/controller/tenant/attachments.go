package tenant

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/condition"
)

// attachmentStore is where the ticket pods keep attachments, as the spec
// and the cluster say.
type attachmentStore struct {
	// url is the S3 URL the Secret of spec.attachments.s3 holds; nil when
	// the tenant names none, or its Secret or key is missing.
	url []byte
	// wantsClaim: the tenant names a claim (spec.attachments.volume).
	wantsClaim bool
	// claim is that claim as read; nil when the tenant names none, or it
	// does not exist.
	claim *corev1.PersistentVolumeClaim
}

// exclusive reports whether the ticket pods' attachments volume takes one
// pod at a time: a claim named by the spec that is missing (nothing known
// of it yet) or not ReadWriteMany, whose pods roll with Recreate so that a
// new pod never waits for a volume the old one holds.
func (s attachmentStore) exclusive() bool {
	return s.wantsClaim && (s.claim == nil || !readWriteMany(s.claim))
}

// readWriteMany reports whether pods on several nodes can mount c.
func readWriteMany(c *corev1.PersistentVolumeClaim) bool {
	return slices.Contains(c.Spec.AccessModes, corev1.ReadWriteMany)
}

// attachments reads the Secret or claim spec.attachments names, when the
// ticket component runs. A missing Secret, key or claim is a problem with
// the spec, returned as a message that says what to create.
func (r *Reconciler) attachments(ctx context.Context, t *v1alpha1.HelpdeskTenant) (attachmentStore, []string, error) {
	a := t.Spec.Attachments
	if a == nil || !t.Spec.Components.IsEnabled(v1alpha1.ComponentTicket) {
		return attachmentStore{}, nil, nil
	}
	switch {
	case a.S3 != nil:
		url, problems, err := r.secretKey(ctx, t, "spec.attachments.s3.urlSecretRef", a.S3.URLSecretRef, "the attachments' s3:// URL")
		return attachmentStore{url: url}, problems, err
	case a.Volume != nil:
		store := attachmentStore{wantsClaim: true}
		// From the API server: the cache holds the operator's own claims
		// only. A claim made later needs no watch: the ticket's pods start
		// on it, and their Deployment's status brings the tenant back here.
		var c corev1.PersistentVolumeClaim
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: a.Volume.ClaimName}, &c)
		switch {
		case apierrors.IsNotFound(err):
			return store, []string{fmt.Sprintf("spec.attachments.volume.claimName: PersistentVolumeClaim %q does not exist in namespace %s; create it (ReadWriteMany to run more than one ticket replica)",
				a.Volume.ClaimName, t.Namespace)}, nil
		case err != nil:
			return store, nil, fmt.Errorf("get the PersistentVolumeClaim %s/%s of spec.attachments.volume: %w", t.Namespace, a.Volume.ClaimName, err)
		}
		store.claim = &c
		return store, nil, nil
	}
	return attachmentStore{}, nil, nil
}

// setAttachmentsShared sets the AttachmentsShared condition of a tenant on
// PostgreSQL that runs the ticket component, whose replicas must share one
// store of attachments that outlives them; other tenants have none (on
// the embedded database the one ticket pod keeps them on its data claim).
// Turning False records a Warning event that says what to set, its
// reason the condition's with Attachments in front (AttachmentsEmptyDir):
// one reason per problem, as events of one reason on an object are
// counted as one series, which keeps the first message.
func (r *Reconciler) setAttachmentsShared(t *v1alpha1.HelpdeskTenant, store attachmentStore) {
	conds := &t.Status.Conditions
	if t.Spec.Database.Postgres == nil || !t.Spec.Components.IsEnabled(v1alpha1.ComponentTicket) {
		meta.RemoveStatusCondition(conds, v1alpha1.ConditionAttachmentsShared)
		return
	}
	status, reason, msg := attachmentsShared(t, store)
	// A copy: Set updates the condition in place.
	var before metav1.Condition
	if c := meta.FindStatusCondition(*conds, v1alpha1.ConditionAttachmentsShared); c != nil {
		before = *c
	}
	condition.Set(conds, t.Generation, v1alpha1.ConditionAttachmentsShared, status, reason, msg)
	if status == metav1.ConditionFalse && (before.Status != status || before.Reason != reason) {
		r.event(t, corev1.EventTypeWarning, "Attachments"+reason, "Check", "%s", msg)
	}
}

// attachmentsShared is the AttachmentsShared condition of a tenant on
// PostgreSQL.
func attachmentsShared(t *v1alpha1.HelpdeskTenant, store attachmentStore) (metav1.ConditionStatus, string, string) {
	replicas := t.Spec.Components.Replicas(v1alpha1.ComponentTicket)
	a := t.Spec.Attachments
	switch {
	case a != nil && a.S3 != nil:
		return metav1.ConditionTrue, v1alpha1.ReasonObjectStorage, fmt.Sprintf(
			"every ticket replica keeps attachments in the S3-compatible bucket whose URL Secret %q holds under the key %q",
			a.S3.URLSecretRef.Name, a.S3.URLSecretRef.Key)
	case a != nil && a.Volume != nil && store.claim == nil:
		return metav1.ConditionFalse, v1alpha1.ReasonClaimNotFound, fmt.Sprintf(
			"spec.attachments.volume.claimName: PersistentVolumeClaim %q does not exist; the ticket pods cannot start until it does",
			a.Volume.ClaimName)
	case a != nil && a.Volume != nil && !readWriteMany(store.claim):
		return metav1.ConditionFalse, v1alpha1.ReasonClaimNotShared, fmt.Sprintf(
			"PersistentVolumeClaim %q is %s, not ReadWriteMany: ticket pods on other nodes cannot mount it, so the ticket Deployment (%d %s) is recreated rather than rolled; "+
				"to scale out set spec.attachments.volume.claimName to a ReadWriteMany claim, or spec.attachments.s3",
			a.Volume.ClaimName, accessModes(store.claim), replicas, plural(replicas, "replica"))
	case a != nil && a.Volume != nil:
		return metav1.ConditionTrue, v1alpha1.ReasonVolume, fmt.Sprintf(
			"every ticket replica keeps attachments on the ReadWriteMany PersistentVolumeClaim %q, mounted at %s", a.Volume.ClaimName, blobsDir)
	}
	return metav1.ConditionFalse, v1alpha1.ReasonEmptyDir, fmt.Sprintf(
		"the ticket pods (%d %s) keep attachments in their emptyDir: a pod's are lost with it and the other replicas do not see them; "+
			"set spec.attachments.s3.urlSecretRef (a Secret key with an s3:// URL) or spec.attachments.volume.claimName (a ReadWriteMany PersistentVolumeClaim)",
		replicas, plural(replicas, "replica"))
}

// accessModes lists a claim's access modes for a message.
func accessModes(c *corev1.PersistentVolumeClaim) string {
	if len(c.Spec.AccessModes) == 0 {
		return "without access modes"
	}
	modes := make([]string, len(c.Spec.AccessModes))
	for i, m := range c.Spec.AccessModes {
		modes[i] = string(m)
	}
	return strings.Join(modes, ", ")
}
