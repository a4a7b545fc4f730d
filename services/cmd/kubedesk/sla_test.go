package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/routing/rules"
	"github.com/kubedesk/kubedesk/services/sla"
)

const policies = `apiVersion: kubedesk.io/v1alpha1
kind: KubedeskConfig
spec:
  defaultTenant: default
---
apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: standard, namespace: acme}
spec:
  tenantRef: {name: acme}
  precedence: 10
  match: {priorities: [P1, P2], customerTiers: [vip]}
  calendar:
    timeZone: Asia/Shanghai
    workingHours: [{days: [Mon, Tue, Wed, Thu, Fri], start: "09:00", end: "18:00"}]
    holidays: [{name: 国庆节, from: "2026-10-01", to: "2026-10-08"}]
    extraWorkingDays: ["2026-09-27", "2026-10-11"]
  targets:
    - {priority: P1, firstResponse: 15m, resolution: 4h, businessHours: false}
    - {priority: P2, firstResponse: 1h, resolution: 8h}
  breachActions:
    - {type: reassign, group: escalation}
---
apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: everyone, namespace: acme}
spec:
  tenantRef: {name: acme}
  targets:
    - {priority: P3, resolution: 24h}
`

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	// Write and rename, as a ConfigMap update swaps the file whole.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func policyNames(t *testing.T, srv *instance, tenantID string) []string {
	t.Helper()
	r := srv.mustCall(t, 200, "GET", "/v1/slaPolicies", nil, "X-Kubedesk-Tenant", tenantID)
	var names []string
	for _, p := range r.json["slaPolicies"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	return names
}

func TestSLAPoliciesFromConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubedesk.yaml")
	writeFile(t, file, policies)
	srv := startServe(t, "--config="+file)

	r := srv.mustCall(t, 200, "GET", "/v1/slaPolicies", nil, "X-Kubedesk-Tenant", "acme")
	list := r.json["slaPolicies"].([]any)
	if len(list) != 2 {
		t.Fatalf("acme has %d policies in force, want 2: %s", len(list), r.body)
	}
	first := list[0].(map[string]any)
	if first["name"] != "acme/standard" || first["source"] != file+"#1" {
		t.Errorf("first policy %v, want acme/standard from %s#1", first["name"], file)
	}
	spec := first["spec"].(map[string]any)
	if spec["calendar"].(map[string]any)["holidays"].([]any)[0].(map[string]any)["name"] != "国庆节" {
		t.Errorf("spec lost the holiday's name: %v", spec["calendar"])
	}
	if second := list[1].(map[string]any)["spec"].(map[string]any); second["warningThresholdPercent"] != 75.0 || second["precedence"] != 100.0 {
		t.Errorf("defaults not applied: %v", second)
	}
	if names := policyNames(t, srv, "globex"); len(names) != 0 {
		t.Errorf("another tenant sees policies %v", names)
	}

	// An invalid edit is refused and the policies in force stay.
	writeFile(t, file, strings.Replace(policies, "resolution: 24h", "resolution: -1h", 1))
	time.Sleep(3 * time.Second)
	if names := policyNames(t, srv, "acme"); len(names) != 2 {
		t.Errorf("after an invalid edit acme has %v, want the 2 previous policies", names)
	}
	// A valid edit takes effect.
	writeFile(t, file, policies[:strings.LastIndex(policies, "---")])
	deadline := time.Now().Add(10 * time.Second)
	for len(policyNames(t, srv, "acme")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the edit removing a policy was not applied: %v", policyNames(t, srv, "acme"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestSLAPoliciesRefusedAtStart(t *testing.T) {
	tests := []struct {
		name, edit string
		want       []string
	}{
		{"negative target", "resolution: 24h|resolution: -1h", []string{"document 2", "spec.targets[0].resolution", "-1h0m0s is not positive"}},
		{"unknown time zone", "Asia/Shanghai|Mars/Olympus", []string{"document 1", "spec.calendar.timeZone", `"Mars/Olympus" is not an IANA time zone`}},
		{"warning at 120%", "precedence: 10|warningThresholdPercent: 120", []string{"document 1", "spec.warningThresholdPercent: 120%"}},
		{"unknown priority", "priority: P3|priority: P9", []string{"document 2", `"P9" is not a priority`}},
		{"overlapping holidays", `holidays: [{name: 国庆节, from: "2026-10-01", to: "2026-10-08"}]|holidays: [{name: 国庆节, from: "2026-10-01", to: "2026-10-08"}, {from: "2026-10-05", to: "2026-10-06"}]`,
			[]string{"document 1", "spec.calendar.holidays[1]"}},
		{"unknown field", "precedence: 10|rank: 10", []string{"document 1", `unknown field "rank"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to, _ := strings.Cut(tt.edit, "|")
			file := filepath.Join(t.TempDir(), "kubedesk.yaml")
			writeFile(t, file, strings.Replace(policies, from, to, 1))
			err := run(context.Background(), []string{"serve", "--config=" + file, "--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--data-dir=" + t.TempDir()},
				func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("serve started with an invalid policy")
			}
			for _, w := range append(tt.want, file) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestExamplesLoad keeps the example files the README points at valid.
func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in := sla.NewInForce()
			if err := in.Load(f); err != nil {
				t.Fatal(err)
			}
			tenants, err := configuredTenants(&Config{Common: config.Common{File: f}})
			if err != nil {
				t.Fatal(err)
			}
			// Routing rules are checked without the groups and skills
			// they name, which the API makes.
			routingRules, err := rules.Load(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Current().Entries) == 0 && len(tenants) == 0 && len(routingRules.All()) == 0 {
				t.Errorf("%s holds no SLA policy, no tenant and no routing rule", f)
			}
			// A laptop's WeChat account reads its secrets from the
			// environment the example names.
			for _, tc := range tenants {
				if w := tc.Spec.Channels.WeChat; w != nil && w.AppSecret.SecretKeyRef == nil {
					if _, _, err := tc.WeChat(func(string) string { return "set" }); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
}
