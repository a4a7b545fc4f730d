package main

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
)

// renderedConfig is a tenant's configuration as the operator renders it
// into the tenant's ConfigMap, kept current by the operator's
// TestRenderReadsAsTheBinaryReads (go test -run TestRender -update in
// operator/internal/controller/tenant).
var renderedConfig = filepath.Join("..", "..", "..", "operator", "internal", "controller", "tenant", "testdata", "acme.kubedesk.yaml")

// TestOperatorRenderedConfig starts the binary on the file the operator
// writes for a tenant: what works in the cluster works on a laptop. The
// pods take the rendered file plus flags for what the file leaves to them
// (here: a data directory and no Temporal).
func TestOperatorRenderedConfig(t *testing.T) {
	srv := startServe(t, "--config="+renderedConfig)
	// The rendered default tenant is the HelpdeskTenant's name.
	c := srv.create(t, map[string]any{"subject": "按运营方渲染的配置启动"})
	srv.mustCall(t, 200, "GET", "/v1/tickets/"+c.str("id"), nil, "X-Kubedesk-Tenant", "acme")
	if diff := cmp.Diff([]string{"support/also-early", "support/early", "support/late"}, policyNames(t, srv, "acme")); diff != "" {
		t.Errorf("policies in force (-want +got):\n%s", diff)
	}
}

// TestTenantsFromConfig serves two tenants declared in one file, each with
// its policies; a policy without a calendar takes its tenant's.
func TestTenantsFromConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubedesk.yaml")
	writeFile(t, file, `apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: acme}
spec:
  displayName: 极客科技客服中心
  locale: zh-CN
  calendar:
    timeZone: Asia/Shanghai
    workingHours: [{days: [Mon, Tue, Wed, Thu, Fri], start: "09:00", end: "18:00"}]
---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: initech}
---
apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: standard}
spec:
  tenantRef: {name: acme}
  targets: [{priority: P3, resolution: 8h}]
---
apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: basic}
spec:
  tenantRef: {name: initech}
  targets: [{priority: P3, resolution: 24h}]
`)
	srv := startServe(t, "--config="+file)
	for tenantID, want := range map[string]string{"acme": "standard", "initech": "basic"} {
		if diff := cmp.Diff([]string{want}, policyNames(t, srv, tenantID)); diff != "" {
			t.Errorf("%s's policies (-want +got):\n%s", tenantID, diff)
		}
	}
	r := srv.mustCall(t, 200, "GET", "/v1/slaPolicies", nil, "X-Kubedesk-Tenant", "acme")
	spec := r.json["slaPolicies"].([]any)[0].(map[string]any)["spec"].(map[string]any)
	if tz := spec["calendar"].(map[string]any)["timeZone"]; tz != "Asia/Shanghai" {
		t.Errorf("acme's policy calendar is in %v, want the tenant's Asia/Shanghai", tz)
	}
}

// TestOperatorRenderedWeChat starts the binary on the configuration the
// operator renders for a tenant with a WeChat account: the secrets are
// environment variables the operator sets from their Secret keys, and a
// signed, encrypted message to the callback URL is taken.
func TestOperatorRenderedWeChat(t *testing.T) {
	t.Setenv("KUBEDESK_WECHAT_APP_SECRET", wxSecret)
	t.Setenv("KUBEDESK_WECHAT_TOKEN", wxToken)
	t.Setenv("KUBEDESK_WECHAT_ENCODING_AES_KEY", wxAESKey)
	srv := startServe(t, "--config="+filepath.Join(filepath.Dir(renderedConfig), "wechat.kubedesk.yaml"))
	cipher, err := mp.NewCipher(wxAESKey, "wx1234567890abcdef") // the rendered appID
	if err != nil {
		t.Fatal(err)
	}
	u := &weChatUser{srv: srv, tenant: "acme", cipher: cipher}
	if code, body := u.post(t, u.message("oRendered", "集群里的配置"), time.Now()); code != http.StatusOK || body != "success" {
		t.Fatalf("callback: %d %q", code, body)
	}
	if tk := waitWeChatTicket(t, u, "oRendered"); tk["group"] != "微信客服" {
		t.Errorf("ticket %v, want the rendered group 微信客服", tk)
	}
}
