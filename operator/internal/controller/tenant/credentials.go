package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// The tenant's credentials Secret: its keys, and the environment variables
// every kubedesk process of the tenant reads them from.
const (
	// AdminKeyKey holds the tenant's first admin API key; the process
	// running the identity module registers its digest on start.
	AdminKeyKey = "admin.key"
	// InternalTokenKey holds the token kubedesk's modules send each other;
	// every Deployment of a tenant must have the same one.
	InternalTokenKey = "internal.token"

	AdminKeyEnv      = "KUBEDESK_BOOTSTRAP_ADMIN_KEY"
	InternalTokenEnv = "KUBEDESK_INTERNAL_TOKEN"
)

// Prefixes of the generated secrets: "kd_" is every API key's (the
// services' auth.APIKeyPrefix), "kds_" marks the internal token, so a
// leaked one is recognised for what it is.
const (
	adminKeyPrefix      = "kd_"
	internalTokenPrefix = "kds_"
)

// componentCredentials labels the credentials Secret, which is no
// component's.
const componentCredentials = "credentials"

// CredentialsSecretName names the tenant's credentials Secret.
func CredentialsSecretName(t *v1alpha1.HelpdeskTenant) string {
	return t.Name + credentialsSuffix
}

const credentialsSuffix = "-kubedesk-credentials"

// credentialKeys are the Secret's keys and how each is generated.
var credentialKeys = []struct {
	key, prefix string
}{
	{AdminKeyKey, adminKeyPrefix},
	{InternalTokenKey, internalTokenPrefix},
}

// newCredential returns prefix and the base64url (unpadded) form of 32
// bytes from crypto/rand.
func newCredential(prefix string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate a credential: %w", err)
	}
	return []byte(prefix + base64.RawURLEncoding.EncodeToString(b)), nil
}

// ensureCredentials creates the tenant's credentials Secret once. Later
// reconciles keep what it holds: a generated key changes only when someone
// deletes it (the Secret, or one key, which alone is then generated
// again); regenerating would lock the tenant's admin out and split its
// Deployments across two internal tokens. A Secret of that name made
// beforehand (to bring one's own admin key) is used as it is, and gets no
// owner reference, so deleting the tenant leaves it. Secrets are read from
// the API server: the cache holds their metadata only.
//
// It returns the credentials, whose hash the pod templates carry
// (CredentialsHashAnnotation, see credentialsHash): environment variables
// are read when a container starts, so when the credentials change (a
// Secret deleted and made again) every pod must restart, not only the
// next ones, or the tenant's processes would hold two internal tokens.
func (r *Reconciler) ensureCredentials(ctx context.Context, t *v1alpha1.HelpdeskTenant) (map[string][]byte, error) {
	key := client.ObjectKey{Namespace: t.Namespace, Name: CredentialsSecretName(t)}
	var s corev1.Secret
	err := r.APIReader.Get(ctx, key, &s)
	if apierrors.IsNotFound(err) {
		return r.createCredentials(ctx, t, key)
	}
	if err != nil {
		return nil, fmt.Errorf("get the credentials Secret %s: %w", key, err)
	}
	before := s.DeepCopy()
	var added []string
	for _, k := range credentialKeys {
		// An empty value is as good as none: no process could use it.
		if len(s.Data[k.key]) > 0 {
			continue
		}
		v, err := newCredential(k.prefix)
		if err != nil {
			return nil, err
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[k.key] = v
		added = append(added, k.key)
	}
	if len(added) == 0 {
		return s.Data, nil
	}
	// The optimistic lock refuses the patch if the Secret changed since it
	// was read, so a key someone else just wrote is never overwritten.
	if err := r.Client.Patch(ctx, &s, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldOwner)); err != nil {
		return nil, fmt.Errorf("add %v to the credentials Secret %s: %w", added, key, err)
	}
	r.event(t, corev1.EventTypeNormal, "Updated", "Update", "generated %v in Secret %s", added, key.Name)
	return s.Data, nil
}

// secretEnv is a variable a component's pods read from a Secret the
// tenant's spec names, with the value the Secret holds now.
type secretEnv struct {
	name  string
	value []byte
}

// credentialsHash is the SHA-256 of the credentials the pods read (not of
// other keys a Secret made beforehand may hold) and of the other secret
// variables they read: the SMTP relay URL and the WeChat account's
// secrets for the channel's pods, the attachments' URL for the ticket's
// (none: the hash is the other pods'). It reveals nothing of them: the
// generated credentials are 32 random bytes each, and the URLs and
// WeChat secrets, which might be guessed from a hash of one alone, are
// hashed in with them.
func credentialsHash(data map[string][]byte, env ...secretEnv) string {
	h := sha256.New()
	for _, k := range credentialKeys {
		fmt.Fprintf(h, "%s\x00%d\x00", k.key, len(data[k.key]))
		h.Write(data[k.key])
	}
	for _, e := range env {
		fmt.Fprintf(h, "%s\x00%d\x00", e.name, len(e.value))
		h.Write(e.value)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (r *Reconciler) createCredentials(ctx context.Context, t *v1alpha1.HelpdeskTenant, key client.ObjectKey) (map[string][]byte, error) {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      key.Name,
			Namespace: key.Namespace,
			Labels:    Labels(t, componentCredentials),
			// As ownerRef: the Secret goes with the tenant, and its
			// events reach the tenant's reconcile (tenantsOfSecret).
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(t, v1alpha1.GroupVersion.WithKind("HelpdeskTenant"))},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{},
	}
	for _, k := range credentialKeys {
		v, err := newCredential(k.prefix)
		if err != nil {
			return nil, err
		}
		s.Data[k.key] = v
	}
	// Create, not apply: an apply would overwrite a Secret made between
	// the read and this call, and with it a key already in use.
	// AlreadyExists (made since the read) is returned too: the retry
	// reads it and keeps its keys.
	if err := r.Client.Create(ctx, s, client.FieldOwner(FieldOwner)); err != nil {
		return nil, fmt.Errorf("create the credentials Secret %s: %w", key, err)
	}
	r.event(t, corev1.EventTypeNormal, "Created", "Create", "created Secret %s with the tenant's admin API key and internal token", key.Name)
	return s.Data, nil
}
