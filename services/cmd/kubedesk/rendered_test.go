package main

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
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
