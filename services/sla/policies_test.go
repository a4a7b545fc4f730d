package sla

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tenantsFile declares two tenants, each with policies; acme's "standard"
// has no calendar of its own and takes acme's.
const tenantsFile = `apiVersion: kubedesk.io/v1alpha1
kind: KubedeskConfig
spec: {defaultTenant: acme}
---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: acme}
spec:
  displayName: 极客科技客服中心
  locale: zh-CN
  timeZone: Asia/Shanghai
  calendar:
    timeZone: Asia/Shanghai
    workingHours: [{days: [Mon, Tue, Wed, Thu, Fri], start: "09:00", end: "18:00"}]
  database: {embedded: {}}
---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: initech}
spec: {}
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
metadata: {name: own-calendar}
spec:
  tenantRef: {name: acme}
  precedence: 10
  calendar: {timeZone: Europe/Berlin}
  targets: [{priority: P1, resolution: 4h}]
---
apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: basic}
spec:
  tenantRef: {name: initech}
  targets: [{priority: P3, resolution: 24h}]
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubedesk.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadTenants(t *testing.T) {
	f := NewInForce()
	if err := f.Load(writeConfig(t, tenantsFile)); err != nil {
		t.Fatal(err)
	}
	snap := f.Current()
	acme := snap.Tenants["acme"]
	if acme.Spec.DisplayName != "极客科技客服中心" || acme.Spec.Locale != "zh-CN" || acme.Spec.TimeZone != "Asia/Shanghai" {
		t.Errorf("acme = %+v", acme.Spec)
	}
	// Defaults, as the API server would apply them.
	if in := snap.Tenants["initech"]; in.Spec.Locale != "en-US" || in.Spec.TimeZone != "UTC" || in.Spec.Calendar != nil {
		t.Errorf("initech = %+v, want the defaults", in.Spec)
	}
	zones := map[string]string{}
	tenants := map[string]string{}
	for _, e := range snap.Entries {
		cal, _ := e.Spec.AsMap()["calendar"].(map[string]any)
		zones[e.Policy.Name], _ = cal["timeZone"].(string)
		tenants[e.Policy.Name] = e.Policy.Tenant
	}
	want := map[string]string{"standard": "Asia/Shanghai", "own-calendar": "Europe/Berlin", "basic": "UTC"}
	if diff := cmp.Diff(want, zones); diff != "" {
		t.Errorf("policy calendars' zones (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"standard": "acme", "own-calendar": "acme", "basic": "initech"}, tenants); diff != "" {
		t.Errorf("policy tenants (-want +got):\n%s", diff)
	}
	// The inherited calendar counts business hours: Friday 17:00 + 8h of
	// P3 resolution lands on Monday afternoon in Shanghai.
	for _, e := range snap.Entries {
		if e.Policy.Name == "standard" && e.Policy.Targets[3].Calendar.Location().String() != "Asia/Shanghai" {
			t.Errorf("standard's P3 calendar is in %s", e.Policy.Targets[3].Calendar.Location())
		}
	}
}

func TestLoadTenantErrors(t *testing.T) {
	const head = "apiVersion: kubedesk.io/v1alpha1\nkind: HelpdeskTenant\n"
	policy := "---\napiVersion: kubedesk.io/v1alpha1\nkind: SLAPolicy\nmetadata: {name: p}\nspec: {tenantRef: {name: %s}, targets: [{priority: P1, resolution: 1h}]}\n"
	tests := []struct {
		name, body, want string
	}{
		{"time zone", head + "metadata: {name: acme}\nspec: {timeZone: Mars/Base}\n",
			`document 0: HelpdeskTenant acme: spec.timeZone: "Mars/Base" is not an IANA time zone`},
		{"locale", head + "metadata: {name: acme}\nspec: {locale: chinese}\n",
			`document 0: HelpdeskTenant acme: spec.locale: "chinese" is not a BCP 47 tag`},
		{"name", head + "metadata: {name: Acme Corp}\nspec: {}\n",
			`document 0: HelpdeskTenant Acme Corp: metadata.name: tenant "Acme Corp" is not valid`},
		{"calendar", head + "metadata: {name: acme}\nspec: {calendar: {workingHours: [{days: [Mon], start: \"18:00\", end: \"09:00\"}]}}\n",
			`document 0: HelpdeskTenant acme: spec.calendar.workingHours[0]`},
		{"unknown field", head + "metadata: {name: acme}\nspec: {zone: UTC}\n",
			`document 0: error unmarshaling JSON: while decoding JSON: json: unknown field "zone"`},
		{"twice", head + "metadata: {name: acme}\n---\n" + head + "metadata: {name: acme}\n",
			`document 1: HelpdeskTenant acme is declared twice (first in document 0)`},
		{"policy of another tenant", head + "metadata: {name: acme}\n" + strings.ReplaceAll(policy, "%s", "initech"),
			`document 1: SLAPolicy p: spec.tenantRef.name: "initech" is not a HelpdeskTenant of this file; accepted: acme`},
		{"mail template", head + "metadata: {name: acme}\nspec: {channels: {email: {templates: {acknowledgement: {zh-CN: {subject: \"{{.Nubmer}}\"}}}}}}\n",
			`document 0: HelpdeskTenant acme: spec.channels.email.templates.acknowledgement.zh-CN.subject: template: line 1:2: unknown field .Nubmer; accepted: .Number, .Token`},
		{"inherited calendar checked with the policy", head + "metadata: {name: acme}\nspec: {calendar: {holidays: [{name: x, from: \"2026-02-30\"}]}}\n",
			`document 0: HelpdeskTenant acme: spec.calendar.holidays[0].from`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewInForce()
			if err := f.Load(writeConfig(t, tenantsFile)); err != nil {
				t.Fatal(err)
			}
			before := f.Current()
			err := f.Load(writeConfig(t, tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if f.Current() != before {
				t.Error("a refused file replaced the policies in force")
			}
		})
	}
}
