package tenant

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// wechatTenant is a tenant with a WeChat account whose three secrets are
// keys of the Secret acme-wechat.
func wechatTenant() *v1alpha1.HelpdeskTenant {
	ref := func(key string) v1alpha1.SecretSource {
		return v1alpha1.SecretSource{SecretKeyRef: &v1alpha1.SecretKeySelector{Name: "acme-wechat", Key: key}}
	}
	aes := ref("encodingAESKey")
	return &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "support"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			DisplayName: "极客科技客服中心", Locale: "zh-CN",
			Temporal: v1alpha1.TemporalSpec{Address: "temporal:7233", Namespace: "acme"},
			Channels: v1alpha1.ChannelsSpec{WeChat: &v1alpha1.WeChatChannelSpec{
				AppID:          "wx1234567890abcdef",
				AppSecret:      ref("appSecret"),
				Token:          ref("token"),
				EncodingAESKey: &aes,
				Mode:           v1alpha1.WeChatModeSafe,
				APIBaseURL:     "http://wechat-api.test.svc:8080",
				Group:          "微信客服",
			}},
		},
	}
}

// goldenWeChatConfig is the rendered configuration of wechatTenant: what
// the channel's pods read, with KUBEDESK_WECHAT_* in their environment.
const goldenWeChatConfig = "testdata/wechat.kubedesk.yaml"

// TestRenderWeChat: the rendered configuration names the variables the
// channel's pods get in place of the Secret references, keeps the rest of
// spec.channels.wechat, and names no Secret.
func TestRenderWeChat(t *testing.T) {
	ht := wechatTenant()
	cfg, err := render(ht, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	file := cfg.data[ConfigFile]
	checkGolden(t, goldenWeChatConfig, file)
	var doc v1alpha1.HelpdeskTenant
	if err := yaml.UnmarshalStrict([]byte(strings.Split(file, "\n---\n")[1]), &doc); err != nil {
		t.Fatalf("HelpdeskTenant document does not decode strictly: %v\n%s", err, file)
	}
	want := *ht.Spec.Channels.WeChat.DeepCopy()
	want.AppSecret = v1alpha1.SecretSource{Env: "KUBEDESK_WECHAT_APP_SECRET"}
	want.Token = v1alpha1.SecretSource{Env: "KUBEDESK_WECHAT_TOKEN"}
	want.EncodingAESKey = &v1alpha1.SecretSource{Env: "KUBEDESK_WECHAT_ENCODING_AES_KEY"}
	if diff := cmp.Diff(&want, doc.Spec.Channels.WeChat); diff != "" {
		t.Errorf("spec.channels.wechat in the configuration (-want +got):\n%s", diff)
	}
	if strings.Contains(file, "acme-wechat") || strings.Contains(file, "secretKeyRef") {
		t.Errorf("the configuration names the Secret:\n%s", file)
	}

	// Plain mode without a key renders no key.
	ht.Spec.Channels.WeChat.Mode, ht.Spec.Channels.WeChat.EncodingAESKey = v1alpha1.WeChatModePlain, nil
	cfg, err = render(ht, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cfg.data[ConfigFile], "encodingAESKey") {
		t.Errorf("a plain-mode account without a key renders one:\n%s", cfg.data[ConfigFile])
	}
}

// TestRenderWeChatNeverCopiesAValue: were a value to reach render (the
// reconcile refuses it first, see TestWeChatRefused), the configuration
// would still carry only the variable's name.
func TestRenderWeChatNeverCopiesAValue(t *testing.T) {
	ht := wechatTenant()
	w := ht.Spec.Channels.WeChat
	w.AppSecret = v1alpha1.SecretSource{Value: "s3cr3t-app-secret"}
	w.Token = v1alpha1.SecretSource{Env: "MY_TOKEN"}
	w.EncodingAESKey = &v1alpha1.SecretSource{Value: strings.Repeat("k", 43)}
	cfg, err := render(ht, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	file := cfg.data[ConfigFile]
	for _, leaked := range []string{"s3cr3t-app-secret", "MY_TOKEN", strings.Repeat("k", 43)} {
		if strings.Contains(file, leaked) {
			t.Errorf("the configuration holds %q:\n%s", leaked, file)
		}
	}
	for _, env := range []string{WeChatAppSecretEnv, WeChatTokenEnv, WeChatEncodingAESKeyEnv} {
		if !strings.Contains(file, "env: "+env) {
			t.Errorf("the configuration lacks env: %s:\n%s", env, file)
		}
	}
}

// TestWeChatRefused: each WeChat secret given other than by secretKeyRef
// is refused, naming its field.
func TestWeChatRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*v1alpha1.WeChatChannelSpec)
		want []string
	}{
		{"secretKeyRefs", func(*v1alpha1.WeChatChannelSpec) {}, nil},
		{"plain mode without a key", func(w *v1alpha1.WeChatChannelSpec) { w.Mode, w.EncodingAESKey = v1alpha1.WeChatModePlain, nil }, nil},
		{"value", func(w *v1alpha1.WeChatChannelSpec) { w.AppSecret = v1alpha1.SecretSource{Value: "s3cr3t"} }, []string{
			"spec.channels.wechat.appSecret.value: a secret value in the HelpdeskTenant would be copied into a ConfigMap; in a cluster give secretKeyRef",
		}},
		{"env and value", func(w *v1alpha1.WeChatChannelSpec) {
			w.Token = v1alpha1.SecretSource{Env: "WECHAT_TOKEN"}
			w.EncodingAESKey = &v1alpha1.SecretSource{Value: "k"}
		}, []string{
			"spec.channels.wechat.token.env: the operator cannot give the channel's pods the variable WECHAT_TOKEN; in a cluster give secretKeyRef (its value is given to them as KUBEDESK_WECHAT_TOKEN)",
			"spec.channels.wechat.encodingAESKey.value: a secret value in the HelpdeskTenant would be copied into a ConfigMap; in a cluster give secretKeyRef",
		}},
		{"nothing", func(w *v1alpha1.WeChatChannelSpec) { w.AppSecret = v1alpha1.SecretSource{} }, []string{
			"spec.channels.wechat.appSecret.secretKeyRef: required in a cluster: the Secret key holding the account's AppSecret (开发者密码)",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ht := wechatTenant()
			tt.edit(ht.Spec.Channels.WeChat)
			if diff := cmp.Diff(tt.want, wechatRefused(ht)); diff != "" {
				t.Errorf("refused (-want +got):\n%s", diff)
			}
		})
	}
	if got := wechatRefused(&v1alpha1.HelpdeskTenant{}); got != nil {
		t.Errorf("a tenant without WeChat: %v", got)
	}
}

// TestWeChatSecretCheck: what a Secret key holding a WeChat secret must
// hold, and messages that never show it.
func TestWeChatSecretCheck(t *testing.T) {
	secrets := wechatSecrets(wechatTenant())
	appSecret, token, aesKey := secrets[0], secrets[1], secrets[2]
	ref := &v1alpha1.SecretKeySelector{Name: "acme-wechat", Key: "k"}
	key43 := strings.Repeat("aB3", 14) + "x"
	for _, tt := range []struct {
		name  string
		s     wechatSecret
		value string
		want  string // "" accepts
	}{
		{"app secret", appSecret, "0123456789abcdef0123456789abcdef", ""},
		{"empty app secret", appSecret, "", `spec.channels.wechat.appSecret.secretKeyRef: Secret "acme-wechat" key "k" is empty; it must hold the account's AppSecret (开发者密码)`},
		{"token", token, "kubedesk2026", ""},
		{"token too long", token, strings.Repeat("t", 40), `spec.channels.wechat.token.secretKeyRef: Secret "acme-wechat" key "k" holds 40 characters; accepted: 3 to 32 letters and digits, the token of the account's console`},
		{"token with a line break", token, "kubedesk2026\n", `spec.channels.wechat.token.secretKeyRef: Secret "acme-wechat" key "k" ends in a line break (as --from-file keeps it); accepted: 3 to 32 letters and digits, the token of the account's console: create it with --from-literal, or a file without the line break`},
		{"key", aesKey, key43, ""},
		{"key of 42", aesKey, key43[1:], `spec.channels.wechat.encodingAESKey.secretKeyRef: Secret "acme-wechat" key "k" holds 42 characters; accepted: 43 letters and digits, the EncodingAESKey of the account's console`},
		{"key in Chinese", aesKey, strings.Repeat("钥", 43), `key "k" holds 43 characters; accepted: 43 letters and digits`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.check(ref, []byte(tt.value))
			switch {
			case tt.want == "" && got != "":
				t.Errorf("refused: %s", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			case tt.value != "" && strings.Contains(got, strings.TrimSpace(tt.value)):
				t.Errorf("the message shows the secret: %s", got)
			}
		})
	}
}

func TestJoinAnd(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a and b"}, {[]string{"a", "b", "c"}, "a, b and c"}} {
		if got := joinAnd(tt.in); got != tt.want {
			t.Errorf("joinAnd(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
