package tenant

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	testAppID  = "wx0123456789abcdef"
	testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

func TestWeChatAccount(t *testing.T) {
	env := map[string]string{"ACME_WECHAT_SECRET": " s3cret \n", "ACME_WECHAT_KEY": testAESKey}
	getenv := func(k string) string { return env[k] }
	for _, tt := range []struct {
		name   string
		wechat string // the YAML of spec.channels.wechat
		want   WeChatAccount
	}{
		{
			"values, safe by default",
			`{appID: ` + testAppID + `, appSecret: {value: sec}, token: {value: tok123}, encodingAESKey: {value: ` + testAESKey + `}}`,
			WeChatAccount{AppID: testAppID, AppSecret: "sec", Token: "tok123", EncodingAESKey: testAESKey, Mode: "safe", APIBaseURL: "https://api.weixin.qq.com"},
		},
		{
			"environment variables, trimmed",
			`{appID: ` + testAppID + `, appSecret: {env: ACME_WECHAT_SECRET}, token: {value: tok}, encodingAESKey: {env: ACME_WECHAT_KEY}, mode: compatible, group: wechat, apiBaseURL: "http://127.0.0.1:9000/mock"}`,
			WeChatAccount{AppID: testAppID, AppSecret: "s3cret", Token: "tok", EncodingAESKey: testAESKey, Mode: "compatible", APIBaseURL: "http://127.0.0.1:9000/mock", Group: "wechat"},
		},
		{
			"plain mode needs no key",
			`{appID: ` + testAppID + `, appSecret: {value: sec}, token: {value: tok}, mode: plain}`,
			WeChatAccount{AppID: testAppID, AppSecret: "sec", Token: "tok", Mode: "plain", APIBaseURL: "https://api.weixin.qq.com"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromDocument(tenantDoc("  channels:\n    wechat: " + tt.wechat + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := c.WeChat(getenv)
			if err != nil || !ok {
				t.Fatalf("WeChat() = %v, %v", ok, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("account (-want +got):\n%s", diff)
			}
		})
	}
	c, err := FromDocument(tenantDoc("  displayName: Acme\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.WeChat(getenv); ok || err != nil {
		t.Errorf("no spec.channels.wechat: WeChat() = %v, %v; want false, nil", ok, err)
	}
}

func TestWeChatBadInput(t *testing.T) {
	ok := `appSecret: {value: sec}, token: {value: tok}, encodingAESKey: {value: ` + testAESKey + `}`
	for _, tt := range []struct {
		name, wechat, want string
	}{
		{"appID", `{appID: WX123, ` + ok + `}`, `spec.channels.wechat.appID: "WX123" is not an AppID; accepted: wx and 16 lower-case hex digits`},
		{"no secret source", `{appID: ` + testAppID + `, appSecret: {}, token: {value: tok}, encodingAESKey: {value: ` + testAESKey + `}}`,
			"spec.channels.wechat.appSecret: sets 0 of secretKeyRef, env and value; accepted: exactly one"},
		{"two secret sources", `{appID: ` + testAppID + `, appSecret: {value: a, env: B}, token: {value: tok}, encodingAESKey: {value: ` + testAESKey + `}}`,
			"spec.channels.wechat.appSecret: sets 2 of secretKeyRef, env and value; accepted: exactly one"},
		{"env name", `{appID: ` + testAppID + `, appSecret: {env: 1X}, token: {value: tok}, encodingAESKey: {value: ` + testAESKey + `}}`,
			`spec.channels.wechat.appSecret.env: "1X" is not an environment variable name`},
		{"token", `{appID: ` + testAppID + `, appSecret: {value: s}, token: {value: "a b"}, encodingAESKey: {value: ` + testAESKey + `}}`,
			"spec.channels.wechat.token.value: is not a token; accepted: 3 to 32 letters and digits"},
		{"short key", `{appID: ` + testAppID + `, appSecret: {value: s}, token: {value: tok}, encodingAESKey: {value: abc}}`,
			"spec.channels.wechat.encodingAESKey.value: is not an EncodingAESKey; accepted: 43 letters and digits"},
		{"safe without a key", `{appID: ` + testAppID + `, appSecret: {value: s}, token: {value: tok}}`,
			"spec.channels.wechat.encodingAESKey: required in safe mode; set it"},
		{"mode", `{appID: ` + testAppID + `, ` + ok + `, mode: secure}`, `spec.channels.wechat.mode: "secure" is not a mode; accepted: plain, compatible, safe`},
		{"api base URL", `{appID: ` + testAppID + `, ` + ok + `, apiBaseURL: "ftp://x"}`, `spec.channels.wechat.apiBaseURL: "ftp://x" is not an API base URL; accepted: https://host`},
		{"api base URL query", `{appID: ` + testAppID + `, ` + ok + `, apiBaseURL: "https://x?a=b"}`, `spec.channels.wechat.apiBaseURL: "https://x?a=b" is not an API base URL`},
		{"group", `{appID: ` + testAppID + `, ` + ok + `, group: ` + strings.Repeat("组", 201) + `}`, "spec.channels.wechat.group: has 201 characters; accepted: at most 200"},
		{"unknown field", `{appID: ` + testAppID + `, ` + ok + `, secret: x}`, `unknown field "secret"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromDocument(tenantDoc("  channels:\n    wechat: " + tt.wechat + "\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("FromDocument: %v\nwant an error containing %q", err, tt.want)
			}
			for _, secret := range []string{`"a b"`, `"abc"`, `"sec"`} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error repeats the secret %s: %v", secret, err)
				}
			}
		})
	}
}

func TestWeChatSecretsAtRead(t *testing.T) {
	for _, tt := range []struct {
		name, wechat, want string
	}{
		{"secret reference", `{appID: ` + testAppID + `, appSecret: {secretKeyRef: {name: acme-wechat, key: secret}}, token: {value: tok}, mode: plain}`,
			"spec.channels.wechat.appSecret.secretKeyRef: Secret acme-wechat is read by the operator, which gives it to the pods as an environment variable; in a --config file give env (a variable's name) or value"},
		{"unset variable", `{appID: ` + testAppID + `, appSecret: {env: NOT_SET}, token: {value: tok}, mode: plain}`,
			"spec.channels.wechat.appSecret.env: the environment variable NOT_SET is not set or empty"},
		{"bad key in the environment", `{appID: ` + testAppID + `, appSecret: {value: s}, token: {value: tok}, encodingAESKey: {env: SHORT}}`,
			"spec.channels.wechat.encodingAESKey: is not an EncodingAESKey"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromDocument(tenantDoc("  channels:\n    wechat: " + tt.wechat + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.WeChat(func(k string) string { return map[string]string{"SHORT": "abc"}[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("WeChat: %v\nwant an error containing %q", err, tt.want)
			}
		})
	}
}
