package tenant_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/tenant"
)

// A valid token and EncodingAESKey (the key: 43 letters and digits).
const (
	wechatToken  = "kubedesk2026"
	wechatAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// secretRef is a SecretSource naming key of Secret name.
func secretRef(name, key string) v1alpha1.SecretSource {
	return v1alpha1.SecretSource{SecretKeyRef: &v1alpha1.SecretKeySelector{Name: name, Key: key}}
}

// TestWeChat runs the channel of a tenant with a WeChat Official Account
// whose AppSecret and EncodingAESKey are keys of one Secret and whose
// token is in another: the channel's pods get the three as
// KUBEDESK_WECHAT_* from the Secrets, the configuration names those
// variables and no Secret, a changed key restarts the channel's pods
// only, and a missing Secret, a missing key or a token WeChat would not
// accept makes the tenant Degraded, naming the field and what to create.
func TestWeChat(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "globex")
	create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "globex-db"}, StringData: map[string]string{"url": "postgres://x"}})
	account := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "globex-wechat"},
		StringData: map[string]string{"appSecret": "0123456789abcdef0123456789abcdef", "encodingAESKey": wechatAESKey}}
	create(t, ns, account)
	token := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "globex-wechat-token"}, StringData: map[string]string{"token": wechatToken}}
	create(t, ns, token)
	aesKey := secretRef("globex-wechat", "encodingAESKey")
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "globex"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Postgres: &v1alpha1.PostgresDatabase{URLSecretRef: v1alpha1.SecretKeySelector{Name: "globex-db", Key: "url"}}},
			Temporal: v1alpha1.TemporalSpec{Address: "temporal:7233"},
			Channels: v1alpha1.ChannelsSpec{WeChat: &v1alpha1.WeChatChannelSpec{
				AppID:          "wx1234567890abcdef",
				AppSecret:      secretRef("globex-wechat", "appSecret"),
				Token:          secretRef("globex-wechat-token", "token"),
				EncodingAESKey: &aesKey,
				Group:          "微信客服",
			}},
		},
	}
	create(t, ns, ht)

	var d appsv1.Deployment
	waitFor(t, "Deployment globex-channel", func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "globex-channel"}, &d)
	})
	tenantCondition(t, ns, "globex", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, "")

	t.Run("Deployment", func(t *testing.T) {
		ref := func(name, key string) *corev1.EnvVarSource {
			return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
		}
		want := []corev1.EnvVar{{Name: "KUBEDESK_DATABASE_URL", ValueFrom: ref("globex-db", "url")}}
		want = append(want, credentialEnv("globex", "channel")...)
		want = append(want,
			corev1.EnvVar{Name: tenant.WeChatAppSecretEnv, ValueFrom: ref("globex-wechat", "appSecret")},
			corev1.EnvVar{Name: tenant.WeChatTokenEnv, ValueFrom: ref("globex-wechat-token", "token")},
			corev1.EnvVar{Name: tenant.WeChatEncodingAESKeyEnv, ValueFrom: ref("globex-wechat", "encodingAESKey")},
		)
		if diff := cmp.Diff(want, d.Spec.Template.Spec.Containers[0].Env); diff != "" {
			t.Errorf("the channel's env (-want +got):\n%s", diff)
		}
		for _, c := range []string{"gateway", "ticket", "worker"} {
			var other appsv1.Deployment
			waitFor(t, "Deployment globex-"+c, func() error {
				return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "globex-" + c}, &other)
			})
			for _, e := range other.Spec.Template.Spec.Containers[0].Env {
				if strings.HasPrefix(e.Name, "KUBEDESK_WECHAT_") {
					t.Errorf("Deployment %s has %s; only the channel talks to WeChat", other.Name, e.Name)
				}
			}
		}
	})

	t.Run("configuration", func(t *testing.T) {
		cfg, err := configOf(ns, "globex")
		if err != nil {
			t.Fatal(err)
		}
		var doc v1alpha1.HelpdeskTenant
		if err := yaml.UnmarshalStrict([]byte(strings.Split(cfg, "\n---\n")[1]), &doc); err != nil {
			t.Fatalf("the HelpdeskTenant document: %v\n%s", err, cfg)
		}
		want := &v1alpha1.WeChatChannelSpec{
			AppID:          "wx1234567890abcdef",
			AppSecret:      v1alpha1.SecretSource{Env: "KUBEDESK_WECHAT_APP_SECRET"},
			Token:          v1alpha1.SecretSource{Env: "KUBEDESK_WECHAT_TOKEN"},
			EncodingAESKey: &v1alpha1.SecretSource{Env: "KUBEDESK_WECHAT_ENCODING_AES_KEY"},
			Mode:           "safe", // the schema default
			Group:          "微信客服",
		}
		if diff := cmp.Diff(want, doc.Spec.Channels.WeChat); diff != "" {
			t.Errorf("spec.channels.wechat in the configuration (-want +got):\n%s", diff)
		}
		for _, leak := range []string{"globex-wechat", wechatToken, wechatAESKey, "0123456789abcdef0123456789abcdef"} {
			if strings.Contains(cfg, leak) {
				t.Errorf("the configuration holds %q:\n%s", leak, cfg)
			}
		}
	})

	t.Run("a changed key restarts the channel only", func(t *testing.T) {
		for _, change := range []struct {
			what   string
			secret *corev1.Secret
			key    string
			value  string
		}{
			{"token", token, "token", "rotated2027"},
			{"AppSecret", account, "appSecret", "fedcba9876543210fedcba9876543210"},
		} {
			before := podCredentials(t, ns, "globex")
			if before["channel"] == before["ticket"] {
				t.Fatalf("credentials hashes %v; want the channel's apart from the others'", before)
			}
			update(t, change.secret, func(s *corev1.Secret) { s.Data[change.key] = []byte(change.value) })
			waitFor(t, "the channel's pods to restart on the new "+change.what, func() error {
				got := podCredentials(t, ns, "globex")
				if got["channel"] == before["channel"] {
					return fmt.Errorf("channel credentials hash still %s", got["channel"])
				}
				for _, c := range []string{"gateway", "ticket", "worker"} {
					if got[c] != before[c] {
						return fmt.Errorf("%s credentials hash changed: %s -> %s", c, before[c], got[c])
					}
				}
				return nil
			})
		}
	})

	t.Run("a token WeChat would not accept", func(t *testing.T) {
		update(t, token, func(s *corev1.Secret) { s.Data["token"] = []byte(wechatToken + "\n") })
		tenantCondition(t, ns, "globex", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
			`spec.channels.wechat.token.secretKeyRef: Secret "globex-wechat-token" key "token" ends in a line break (as --from-file keeps it); accepted: 3 to 32 letters and digits, the token of the account's console`)
		update(t, token, func(s *corev1.Secret) { s.Data["token"] = []byte(wechatToken) })
		tenantCondition(t, ns, "globex", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, "")
	})

	t.Run("missing Secret", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			w := ht.Spec.Channels.WeChat
			w.AppSecret = secretRef("globex-weixin", "secret")
			w.EncodingAESKey = &v1alpha1.SecretSource{SecretKeyRef: &v1alpha1.SecretKeySelector{Name: "globex-weixin", Key: "aes"}}
		})
		tenantCondition(t, ns, "globex", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
			`spec.channels.wechat.appSecret.secretKeyRef.name, spec.channels.wechat.encodingAESKey.secretKeyRef.name: Secret "globex-weixin" does not exist in namespace `+ns+
				`; create it with the account's AppSecret (开发者密码) under the key "secret" and the EncodingAESKey (消息加解密密钥) under the key "aes": `+
				`kubectl -n `+ns+` create secret generic globex-weixin --from-literal=secret=... --from-literal=aes=...`)
		// Made without one key: the Secret's creation alone brings the
		// tenant back (the index of WeChat Secrets).
		create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "globex-weixin"}, StringData: map[string]string{"secret": "0123456789abcdef0123456789abcdef"}})
		tenantCondition(t, ns, "globex", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
			`spec.channels.wechat.encodingAESKey.secretKeyRef.key: Secret "globex-weixin" has no key "aes"; it has: secret`)
	})

	t.Run("channel disabled", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Components.Channel = &v1alpha1.ComponentSpec{Enabled: ptr.To(false)}
		})
		gone(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "globex-channel"}})
		// The missing key matters no more: no pod reads it.
		tenantCondition(t, ns, "globex", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, "")
	})
}

// TestWeChatSecretsInTheSpec: a tenant whose WeChat secrets are a value
// or an environment variable, as a --config file gives them, is refused
// by the API server (the CRD's rules) and, should one be stored anyway
// (under a CRD without those rules, kept by validation ratcheting), by
// the reconcile: the tenant is Degraded naming each field, and its pods
// stay on the configuration they run, which never holds the value.
func TestWeChatSecretsInTheSpec(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "hooli")
	create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hooli-wechat"},
		StringData: map[string]string{"appSecret": "0123456789abcdef0123456789abcdef", "token": wechatToken}})
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "hooli"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
			Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
			Channels: v1alpha1.ChannelsSpec{WeChat: &v1alpha1.WeChatChannelSpec{
				AppID:     "wx1234567890abcdef",
				AppSecret: secretRef("hooli-wechat", "appSecret"),
				Token:     secretRef("hooli-wechat", "token"),
				Mode:      v1alpha1.WeChatModePlain,
			}},
		},
	}
	create(t, ns, ht)
	waitFor(t, "the tenant's pods on its configuration", func() error {
		if _, err := configOf(ns, "hooli"); err != nil {
			return err
		}
		return onConfig(ns, "hooli")
	})
	tenantCondition(t, ns, "hooli", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, "")
	before, err := configOf(ns, "hooli")
	if err != nil {
		t.Fatal(err)
	}

	fromFile := func(w *v1alpha1.WeChatChannelSpec) {
		w.AppSecret = v1alpha1.SecretSource{Value: "0123456789abcdef0123456789abcdef"}
		w.Token = v1alpha1.SecretSource{Env: "WECHAT_TOKEN"}
	}
	t.Run("the API server refuses them", func(t *testing.T) {
		var edited v1alpha1.HelpdeskTenant
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ht), &edited); err != nil {
			t.Fatal(err)
		}
		fromFile(edited.Spec.Channels.WeChat)
		err := k8s.Update(ctx, &edited, client.DryRunAll)
		for _, want := range []string{
			"spec.channels.wechat.appSecret.value: Forbidden: a secret value in the HelpdeskTenant would be copied into a ConfigMap; in a cluster give secretKeyRef",
			"spec.channels.wechat.token.env: Forbidden: the operator cannot give the channel's pods a variable of your own; in a cluster give secretKeyRef",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("update: %v; want an error with %q", err, want)
			}
		}
	})

	t.Run("the reconcile refuses them", func(t *testing.T) {
		// The tenant as the API server would return one stored before the
		// CRD's rules: the rest of the reconcile talks to the API server.
		direct, err := client.NewWithWatch(env.Config, client.Options{Scheme: k8s.Scheme()})
		if err != nil {
			t.Fatal(err)
		}
		stored := interceptor.NewClient(direct, interceptor.Funcs{
			Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
				if err := c.Get(ctx, key, obj, opts...); err != nil {
					return err
				}
				if ht, ok := obj.(*v1alpha1.HelpdeskTenant); ok && key.Namespace == ns {
					fromFile(ht.Spec.Channels.WeChat)
				}
				return nil
			},
		})
		r := &tenant.Reconciler{Client: stored, APIReader: k8s}
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: "hooli"}}); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		tenantCondition(t, ns, "hooli", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
			"spec.channels.wechat.appSecret.value: a secret value in the HelpdeskTenant would be copied into a ConfigMap; in a cluster give secretKeyRef; "+
				"spec.channels.wechat.token.env: the operator cannot give the channel's pods the variable WECHAT_TOKEN; in a cluster give secretKeyRef (its value is given to them as KUBEDESK_WECHAT_TOKEN); "+
				"the pods stay on the last configuration")
		if after, err := configOf(ns, "hooli"); err != nil || after != before {
			t.Errorf("the configuration changed under a refused spec (err %v):\n%s", err, after)
		}
		if err := onConfig(ns, "hooli"); err != nil {
			t.Error(err)
		}
	})
}
