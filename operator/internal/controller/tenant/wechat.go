package tenant

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// wechatSecret is one secret of spec.channels.wechat as the operator
// handles it.
type wechatSecret struct {
	// field is its path, e.g. spec.channels.wechat.token.
	field string
	// env is the variable the channel's pods read it from.
	env string
	// source is where the spec says it is.
	source *v1alpha1.SecretSource
	// holding says what the Secret key holds, for messages.
	holding string
	// pattern, when not nil, is what the value must match, and accepted
	// says it in words.
	pattern  *regexp.Regexp
	accepted string
}

var (
	wechatTokenPattern  = regexp.MustCompile(v1alpha1.WeChatTokenPattern)
	wechatAESKeyPattern = regexp.MustCompile(v1alpha1.WeChatAESKeyPattern)
)

// wechatSecrets lists the secrets the tenant's WeChat account gives, in
// the order of the spec; none when it has no account.
func wechatSecrets(t *v1alpha1.HelpdeskTenant) []wechatSecret {
	w := t.Spec.Channels.WeChat
	if w == nil {
		return nil
	}
	const field = "spec.channels.wechat."
	out := []wechatSecret{
		{field: field + "appSecret", env: WeChatAppSecretEnv, source: &w.AppSecret, holding: "the account's AppSecret (开发者密码)"},
		{field: field + "token", env: WeChatTokenEnv, source: &w.Token, holding: "the callback token (令牌)",
			pattern: wechatTokenPattern, accepted: "3 to 32 letters and digits, the token of the account's console"},
	}
	if w.EncodingAESKey != nil {
		out = append(out, wechatSecret{field: field + "encodingAESKey", env: WeChatEncodingAESKeyEnv, source: w.EncodingAESKey, holding: "the EncodingAESKey (消息加解密密钥)",
			pattern: wechatAESKeyPattern, accepted: "43 letters and digits, the EncodingAESKey of the account's console"})
	}
	return out
}

// wechatSecretNames lists the Secrets the tenant's WeChat account names,
// each once.
func wechatSecretNames(t *v1alpha1.HelpdeskTenant) []string {
	var names []string
	for _, w := range wechatSecrets(t) {
		if ref := w.source.SecretKeyRef; ref != nil && !slices.Contains(names, ref.Name) {
			names = append(names, ref.Name)
		}
	}
	return names
}

// wechatRefused reports the WeChat secrets whose source a cluster cannot
// honour: a value, which the rendered configuration would copy into a
// ConfigMap, and an environment variable, which the operator cannot give
// the pods. The CRD refuses both (CEL rules of WeChatChannelSpec); this
// covers a tenant stored before those rules, or under a CRD without them,
// which the API server's validation ratcheting keeps accepting.
func wechatRefused(t *v1alpha1.HelpdeskTenant) []string {
	var out []string
	for _, w := range wechatSecrets(t) {
		s := w.source
		switch {
		case s.Value != "":
			out = append(out, fmt.Sprintf("%s.value: a secret value in the HelpdeskTenant would be copied into a ConfigMap; in a cluster give secretKeyRef", w.field))
		case s.Env != "":
			out = append(out, fmt.Sprintf("%s.env: the operator cannot give the channel's pods the variable %s; in a cluster give secretKeyRef (its value is given to them as %s)", w.field, s.Env, w.env))
		case s.SecretKeyRef == nil:
			out = append(out, fmt.Sprintf("%s.secretKeyRef: required in a cluster: the Secret key holding %s", w.field, w.holding))
		}
	}
	return out
}

// wechatKeys reads the Secret keys the tenant's WeChat account names,
// when the channel component runs, and returns them as the variables the
// channel's pods read (their hash restarts the pods when one changes).
// A missing Secret or key, or a value WeChat would not accept, is a
// problem with the spec, returned as a message that names the field and
// says what to create; the value itself is never in a message.
func (r *Reconciler) wechatKeys(ctx context.Context, t *v1alpha1.HelpdeskTenant) ([]secretEnv, []string, error) {
	if !t.Spec.Components.IsEnabled(v1alpha1.ComponentChannel) {
		return nil, nil, nil
	}
	secrets := map[string]*corev1.Secret{} // by name; nil: it does not exist
	var missing []string                   // the names of those that do not, in the spec's order
	var env []secretEnv
	var problems []string
	for _, w := range wechatSecrets(t) {
		ref := w.source.SecretKeyRef
		if ref == nil {
			continue // wechatRefused reports it
		}
		s, read := secrets[ref.Name]
		if !read {
			s = &corev1.Secret{}
			err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: ref.Name}, s)
			switch {
			case apierrors.IsNotFound(err):
				s = nil
				missing = append(missing, ref.Name)
			case err != nil:
				return nil, nil, fmt.Errorf("get the Secret %s/%s of %s.secretKeyRef: %w", t.Namespace, ref.Name, w.field, err)
			}
			secrets[ref.Name] = s
		}
		if s == nil {
			continue
		}
		v, problem := secretValue(s, w.field+".secretKeyRef", *ref)
		if problem != "" {
			problems = append(problems, problem)
			continue
		}
		env = append(env, secretEnv{name: w.env, value: v})
		if problem := w.check(ref, v); problem != "" {
			problems = append(problems, problem)
		}
	}
	// One message per missing Secret, with the command that makes it: the
	// three keys are usually in one Secret.
	for _, name := range missing {
		var fields, keys, literals []string
		for _, w := range wechatSecrets(t) {
			if ref := w.source.SecretKeyRef; ref != nil && ref.Name == name {
				fields = append(fields, w.field+".secretKeyRef.name")
				keys = append(keys, fmt.Sprintf("%s under the key %q", w.holding, ref.Key))
				literals = append(literals, fmt.Sprintf("--from-literal=%s=...", ref.Key))
			}
		}
		problems = append(problems, fmt.Sprintf("%s: Secret %q does not exist in namespace %s; create it with %s: kubectl -n %s create secret generic %s %s",
			strings.Join(fields, ", "), name, t.Namespace, joinAnd(keys), t.Namespace, name, strings.Join(literals, " ")))
	}
	return env, problems, nil
}

// check reports a value WeChat would not accept; "" when it would. The
// message says what is wrong with it, never what it is.
func (w wechatSecret) check(ref *v1alpha1.SecretKeySelector, v []byte) string {
	where := fmt.Sprintf("%s.secretKeyRef: Secret %q key %q", w.field, ref.Name, ref.Key)
	switch {
	case len(v) == 0:
		return fmt.Sprintf("%s is empty; it must hold %s", where, w.holding)
	case w.pattern == nil || w.pattern.Match(v):
		return ""
	case strings.TrimRight(string(v), "\r\n") != string(v) && w.pattern.MatchString(strings.TrimRight(string(v), "\r\n")):
		return fmt.Sprintf("%s ends in a line break (as --from-file keeps it); accepted: %s: create it with --from-literal, or a file without the line break", where, w.accepted)
	}
	return fmt.Sprintf("%s holds %d characters; accepted: %s", where, utf8.RuneCount(v), w.accepted)
}

// joinAnd joins items as a sentence does: a, b and c.
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
