package tenant

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

var (
	weChatAppID  = regexp.MustCompile(v1alpha1.WeChatAppIDPattern)
	weChatToken  = regexp.MustCompile(v1alpha1.WeChatTokenPattern)
	weChatAESKey = regexp.MustCompile(v1alpha1.WeChatAESKeyPattern)
	envName      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validateWeChat checks spec.channels.wechat as the API server does: the
// patterns, the mode, exactly one source per secret, a key unless the
// mode is plain, and an http(s) API base URL. A secret given as a value
// is checked here; one in an environment variable when it is read
// (Config.WeChat).
func validateWeChat(w *v1alpha1.WeChatChannelSpec) []error {
	if w == nil {
		return nil
	}
	const path = "spec.channels.wechat"
	var errs []error
	if !weChatAppID.MatchString(w.AppID) {
		errs = append(errs, fmt.Errorf("%s.appID: %q is not an AppID; accepted: wx and 16 lower-case hex digits, e.g. wx1234567890abcdef (开发者ID in the account's console)", path, w.AppID))
	}
	errs = append(errs, checkSecretSource(path+".appSecret", w.AppSecret, nil)...)
	errs = append(errs, checkSecretSource(path+".token", w.Token, weChatToken)...)
	switch w.Mode {
	case v1alpha1.WeChatModePlain:
	case v1alpha1.WeChatModeCompatible, v1alpha1.WeChatModeSafe:
		if w.EncodingAESKey == nil {
			errs = append(errs, fmt.Errorf("%s.encodingAESKey: required in %s mode; set it (消息加解密密钥), or set mode: plain", path, w.Mode))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.mode: %q is not a mode; accepted: plain, compatible, safe", path, w.Mode))
	}
	if w.EncodingAESKey != nil {
		errs = append(errs, checkSecretSource(path+".encodingAESKey", *w.EncodingAESKey, weChatAESKey)...)
	}
	if w.APIBaseURL != "" {
		if err := checkAPIBaseURL(w.APIBaseURL); err != nil {
			errs = append(errs, fmt.Errorf("%s.apiBaseURL: %w", path, err))
		}
	}
	if n := utf8.RuneCountInString(w.Group); n > maxGroupChars {
		errs = append(errs, fmt.Errorf("%s.group: has %d characters; accepted: at most %d", path, n, maxGroupChars))
	}
	return errs
}

// checkSecretSource checks that exactly one source is set and, for a
// value, that it matches pattern (when not nil).
func checkSecretSource(field string, s v1alpha1.SecretSource, pattern *regexp.Regexp) []error {
	set := 0
	for _, ok := range []bool{s.SecretKeyRef != nil, s.Env != "", s.Value != ""} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return []error{fmt.Errorf("%s: sets %d of secretKeyRef, env and value; accepted: exactly one (env or value in a --config file, secretKeyRef in a cluster)", field, set)}
	}
	switch {
	case s.Env != "" && !envName.MatchString(s.Env):
		return []error{fmt.Errorf("%s.env: %q is not an environment variable name; accepted: letters, digits and _, not starting with a digit", field, s.Env)}
	case s.Value != "" && pattern != nil && !pattern.MatchString(s.Value):
		return []error{fmt.Errorf("%s.value: %s", field, describePattern(pattern))}
	}
	return nil
}

// describePattern says what a secret of pattern must look like, without
// repeating the secret.
func describePattern(p *regexp.Regexp) string {
	switch p {
	case weChatToken:
		return "is not a token; accepted: 3 to 32 letters and digits (令牌 in the account's console)"
	case weChatAESKey:
		return "is not an EncodingAESKey; accepted: 43 letters and digits (消息加解密密钥 in the account's console)"
	}
	return "does not match " + p.String()
}

// checkAPIBaseURL accepts an http or https URL of a host with an optional
// path prefix, no query or fragment.
func checkAPIBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an API base URL; accepted: https://host with an optional path prefix, no query, e.g. %s", s, v1alpha1.DefaultWeChatAPIBaseURL)
	}
	return nil
}

// weChatSecret reads the secret at field (e.g.
// spec.channels.wechat.appSecret): its value, or the environment variable
// it names, through getenv. A Secret reference is the operator's to turn
// into an environment variable; in a --config file it cannot be read. The
// secret is checked against pattern when not nil.
func weChatSecret(field string, s v1alpha1.SecretSource, getenv func(string) string) (string, error) {
	var v string
	switch {
	case s.SecretKeyRef != nil:
		return "", fmt.Errorf("%s.secretKeyRef: Secret %s is read by the operator, which gives it to the pods as an environment variable; in a --config file give env (a variable's name) or value", field, s.SecretKeyRef.Name)
	case s.Env != "":
		v = strings.TrimSpace(getenv(s.Env))
		if v == "" {
			return "", fmt.Errorf("%s.env: the environment variable %s is not set or empty; set it to the secret", field, s.Env)
		}
	default:
		v = s.Value
	}
	return v, nil
}

// WeChatAccount is a tenant's Official Account with its secrets read.
type WeChatAccount struct {
	AppID, AppSecret, Token, EncodingAESKey string
	Mode                                    string
	APIBaseURL                              string // DefaultWeChatAPIBaseURL when unset
	Group                                   string
}

// WeChat reads the tenant's spec.channels.wechat with its secrets, from
// their values or the environment through getenv; ok is false when the
// tenant has no WeChat account.
func (c Config) WeChat(getenv func(string) string) (acct WeChatAccount, ok bool, err error) {
	w := c.Spec.Channels.WeChat
	if w == nil {
		return WeChatAccount{}, false, nil
	}
	const path = "spec.channels.wechat"
	acct = WeChatAccount{AppID: w.AppID, Mode: w.Mode, Group: w.Group, APIBaseURL: w.APIBaseURL}
	if acct.APIBaseURL == "" {
		acct.APIBaseURL = v1alpha1.DefaultWeChatAPIBaseURL
	}
	var errs []error
	read := func(field string, s v1alpha1.SecretSource, pattern *regexp.Regexp) string {
		v, err := weChatSecret(path+"."+field, s, getenv)
		if err == nil && pattern != nil && !pattern.MatchString(v) {
			err = fmt.Errorf("%s.%s: %s", path, field, describePattern(pattern))
		}
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	acct.AppSecret = read("appSecret", w.AppSecret, nil)
	acct.Token = read("token", w.Token, weChatToken)
	if w.EncodingAESKey != nil {
		acct.EncodingAESKey = read("encodingAESKey", *w.EncodingAESKey, weChatAESKey)
	}
	if len(errs) > 0 {
		return WeChatAccount{}, true, fmt.Errorf("HelpdeskTenant %s: %w", c.ID, errors.Join(errs...))
	}
	return acct, true, nil
}
