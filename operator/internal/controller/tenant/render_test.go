package tenant

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/routingrule"
	"github.com/kubedesk/kubedesk/operator/internal/controller/slapolicy"
)

// TestRenderReadsAsTheBinaryReads checks the rendered file against what
// `kubedesk serve --config` accepts: every SLAPolicy document must decode
// strictly and compile as the binary compiles it, every RoutingRule
// document decode strictly, in the order the rules are tried. The whole
// file is kept
// in testdata/, and the binary's tests start it (the operator module does
// not import the services module, nor the other way round).
func TestRenderReadsAsTheBinaryReads(t *testing.T) {
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "support"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			DisplayName: "极客科技客服中心", Locale: "zh-CN", TimeZone: "Asia/Shanghai",
			Temporal: v1alpha1.TemporalSpec{Address: "temporal:7233", Namespace: "acme"},
			Calendar: &v1alpha1.BusinessCalendar{TimeZone: "Asia/Shanghai", WorkingHours: []v1alpha1.WorkingHours{
				{Days: []v1alpha1.Weekday{"Mon", "Tue"}, Start: "09:00", End: "18:00"}}},
			Channels: v1alpha1.ChannelsSpec{Email: v1alpha1.EmailChannelSpec{
				Inbound:         []v1alpha1.EmailInbound{{Address: "support@acme.example", Group: "support"}, {Address: "billing@acme.example"}},
				From:            "Acme Support <support@acme.example>",
				RelaySecretRef:  &v1alpha1.SecretKeySelector{Name: "acme-smtp", Key: "url"},
				AutoAcknowledge: ptr.To(true),
				DefaultLocale:   "zh-CN",
				Templates: &v1alpha1.EmailTemplates{
					Acknowledgement: map[string]v1alpha1.EmailTemplate{
						"zh-CN": {Subject: "【{{.Tenant}}】已受理：{{.Subject}} {{.Token}}", Text: "{{with .Requester}}{{.}}，{{end}}您好！\n您的工单 #{{.Number}} 已创建。"},
						"en":    {Subject: "[{{.Tenant}}] We got it: {{.Subject}}", Text: "Hello {{or .Requester \"there\"}},\nticket #{{.Number}} is open.", HTML: "<p>Hello {{.Requester}}, ticket <b>#{{.Number}}</b> is open.</p>"},
					},
					Reply: map[string]v1alpha1.EmailTemplate{"en": {Text: "{{.Body}}\n\n-- {{.Agent}}, {{.Tenant}}"}},
				},
			}, Webhooks: &v1alpha1.WebhooksChannelSpec{AllowPrivateNetworks: true}},
			Routing: &v1alpha1.RoutingSpec{OfflineGrace: &metav1.Duration{Duration: 5 * time.Minute}},
		},
	}
	var policies []policy
	for i, name := range []string{"late", "early", "also-early"} {
		p := &v1alpha1.SLAPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "support", Generation: int64(i + 1)},
			Spec: v1alpha1.SLAPolicySpec{
				TenantRef:  v1alpha1.LocalObjectReference{Name: "acme"},
				Precedence: []int32{100, 10, 10}[i],
				Targets:    []v1alpha1.SLATarget{{Priority: "P1", Resolution: &metav1.Duration{Duration: time.Hour}}},
			},
		}
		doc, err := slapolicy.Resolve(p, ht)
		if err != nil {
			t.Fatal(err)
		}
		policies = append(policies, policy{doc: doc, generation: p.Generation})
	}
	rules := renderRules(t, ht)
	cfg, err := render(ht, policies, rules)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(cfg.data[ConfigFile], "\n---\n")
	var head map[string]any
	if err := yaml.Unmarshal([]byte(docs[0]), &head); err != nil {
		t.Fatal(err)
	}
	for k := range head {
		if k != "apiVersion" && k != "kind" && k != "spec" {
			t.Errorf("KubedeskConfig document has key %q; the binary reads apiVersion, kind and spec only", k)
		}
	}
	checkGolden(t, goldenConfig, cfg.data[ConfigFile])
	var routing struct {
		Spec struct {
			Routing map[string]any `json:"routing"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(docs[0]), &routing); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"offlineGrace": "5m0s"}, routing.Spec.Routing); diff != "" {
		t.Errorf("KubedeskConfig spec.routing (-want +got):\n%s", diff)
	}
	var tenantDoc v1alpha1.HelpdeskTenant
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &tenantDoc); err != nil {
		t.Fatalf("HelpdeskTenant document does not decode strictly: %v\n%s", err, docs[1])
	}
	wantChannels := *ht.Spec.Channels.DeepCopy()
	wantChannels.Email.RelaySecretRef = nil // the pods read the relay from their environment
	if diff := cmp.Diff(wantChannels, tenantDoc.Spec.Channels); diff != "" {
		t.Errorf("spec.channels in the HelpdeskTenant document (-want +got):\n%s", diff)
	}
	var names, ruleNames []string
	for _, doc := range docs[2:] {
		if kindOf(t, doc) == "RoutingRule" {
			var r v1alpha1.RoutingRule
			if err := yaml.UnmarshalStrict([]byte(doc), &r); err != nil {
				t.Fatalf("rule document does not decode strictly: %v\n%s", err, doc)
			}
			if r.Namespace != "support" || r.Status.Conditions != nil || r.Generation != 0 {
				t.Errorf("rule document %s carries metadata or status beyond name and namespace:\n%s", r.Name, doc)
			}
			ruleNames = append(ruleNames, r.Name)
			continue
		}
		if len(ruleNames) > 0 {
			t.Errorf("a policy document after the rules:\n%s", doc)
		}
		var p v1alpha1.SLAPolicy
		if err := yaml.UnmarshalStrict([]byte(doc), &p); err != nil {
			t.Fatalf("policy document does not decode strictly: %v\n%s", err, doc)
		}
		if _, err := slapolicy.Resolve(&p, nil); err != nil {
			t.Errorf("policy document does not compile: %v", err)
		}
		if p.Spec.Calendar.TimeZone != "Asia/Shanghai" {
			t.Errorf("policy %s calendar %+v, want the tenant's", p.Name, p.Spec.Calendar)
		}
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"also-early", "early", "late"}, names); diff != "" {
		t.Errorf("policy order (-want +got):\n%s", diff)
	}
	want := []v1alpha1.AppliedPolicy{{Name: "also-early", Generation: 3}, {Name: "early", Generation: 2}, {Name: "late", Generation: 1}}
	if diff := cmp.Diff(want, cfg.policies); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	// Order 10 first, then the two at the default 100 by name.
	if diff := cmp.Diff([]string{"vip-first", "billing", "zh-keywords"}, ruleNames); diff != "" {
		t.Errorf("rule order (-want +got):\n%s", diff)
	}
	wantRules := []v1alpha1.AppliedRoutingRule{{Name: "vip-first", Generation: 4}, {Name: "billing", Generation: 2}, {Name: "zh-keywords", Generation: 7}}
	if diff := cmp.Diff(wantRules, cfg.rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}

	again, err := render(ht, []policy{policies[2], policies[0], policies[1]}, []rule{rules[2], rules[0], rules[1]})
	if err != nil {
		t.Fatal(err)
	}
	if again.hash != cfg.hash {
		t.Errorf("hash depends on the order policies and rules are listed in")
	}
}

// renderRules are three accepted routing rules of ht, listed out of order:
// two at the default order, one (which stacks) before them.
func renderRules(t *testing.T, ht *v1alpha1.HelpdeskTenant) []rule {
	t.Helper()
	specs := []struct {
		name       string
		generation int64
		spec       v1alpha1.RoutingRuleSpec
	}{
		{"zh-keywords", 7, v1alpha1.RoutingRuleSpec{
			Order: 100,
			When:  v1alpha1.RoutingConditions{Keywords: []string{"发票", "退款"}, BusinessHours: ptr.To(true)},
			Then:  v1alpha1.RoutingActions{Group: "billing-zh", RequireSkills: []v1alpha1.SkillRequirement{{Name: "zh", MinLevel: 3}}},
		}},
		{"vip-first", 4, v1alpha1.RoutingRuleSpec{
			Order: 10, Continue: true,
			When: v1alpha1.RoutingConditions{CustomerTiers: []string{"VIP"}},
			Then: v1alpha1.RoutingActions{AddTags: []string{"vip"}, PriorityAtLeast: "P2"},
		}},
		{"billing", 2, v1alpha1.RoutingRuleSpec{
			When: v1alpha1.RoutingConditions{Channels: []v1alpha1.Channel{"email"}, CustomFields: map[string][]string{"product": {"invoice", ""}}},
			Then: v1alpha1.RoutingActions{Group: "billing", SetCustomFields: map[string]string{"queue": "billing"}},
		}},
	}
	var out []rule
	for _, s := range specs {
		r := &v1alpha1.RoutingRule{
			ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: "support", Generation: s.generation},
			Spec:       s.spec,
		}
		r.Spec.TenantRef.Name = ht.Name
		doc, err := routingrule.Resolve(r, ht)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rule{doc: doc, generation: s.generation})
	}
	return out
}

// kindOf is a document's kind.
func kindOf(t *testing.T, doc string) string {
	t.Helper()
	var head struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
		t.Fatal(err)
	}
	return head.Kind
}

// update rewrites testdata/ from the code: go test -run TestRender -update.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenConfig is a rendered tenant configuration that the kubedesk
// binary's tests start on (services/cmd/kubedesk: TestOperatorRendered),
// so a change here that the binary cannot read fails there.
const goldenConfig = "testdata/acme.kubedesk.yaml"

// checkGolden compares got with the golden file, or rewrites it.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestRender -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is stale (-file +rendered); run go test -run TestRender -update and commit it:\n%s", path, diff)
	}
}

// TestRenderSingleSignOn: a tenant's OIDC issuer becomes the iam.oidc
// section, pinned to the tenant.
func TestRenderSingleSignOn(t *testing.T) {
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "support"},
		Spec: v1alpha1.HelpdeskTenantSpec{Identity: &v1alpha1.IdentitySpec{OIDC: &v1alpha1.OIDCSpec{
			IssuerURL: "https://login.acme.example/realms/acme", Audience: "kubedesk", RolesClaim: "roles",
		}}},
	}
	cfg, err := render(ht, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Spec struct {
			IAM map[string]any `json:"iam"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(strings.Split(cfg.data[ConfigFile], "\n---\n")[0]), &head); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"oidc": map[string]any{
		"issuerURL": "https://login.acme.example/realms/acme", "audience": "kubedesk", "tenant": "acme", "rolesClaim": "roles",
	}}
	if diff := cmp.Diff(want, head.Spec.IAM); diff != "" {
		t.Errorf("iam section (-want +got):\n%s", diff)
	}
	ht.Spec.Identity = nil
	if cfg, _ := render(ht, nil, nil); strings.Contains(cfg.data[ConfigFile], "\n  iam:") {
		t.Errorf("a tenant without SSO renders an iam section:\n%s", cfg.data[ConfigFile])
	}
}

// TestRenderWithoutChannels: a tenant that says nothing of its channels
// renders no channels key.
func TestRenderWithoutChannels(t *testing.T) {
	ht := &v1alpha1.HelpdeskTenant{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "support"}}
	cfg, err := render(ht, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cfg.data[ConfigFile], "channels:") {
		t.Errorf("a tenant without channels renders a channels key:\n%s", cfg.data[ConfigFile])
	}
}

// TestRenderRouting: the routing section is the tenant's offline grace, 10m
// when it sets none; a tenant without the routing component renders no
// section, no routing address and no rules.
func TestRenderRouting(t *testing.T) {
	for _, tt := range []struct {
		name    string
		enabled *bool
		routing *v1alpha1.RoutingSpec
		want    map[string]any // spec.routing; nil: none
	}{
		{"default", nil, nil, map[string]any{"offlineGrace": "10m0s"}},
		{"routing without a grace", nil, &v1alpha1.RoutingSpec{}, map[string]any{"offlineGrace": "10m0s"}},
		{"grace", ptr.To(true), &v1alpha1.RoutingSpec{OfflineGrace: &metav1.Duration{Duration: 90 * time.Second}}, map[string]any{"offlineGrace": "1m30s"}},
		{"grace 0s: at once", nil, &v1alpha1.RoutingSpec{OfflineGrace: &metav1.Duration{}}, map[string]any{"offlineGrace": "0s"}},
		{"disabled", ptr.To(false), &v1alpha1.RoutingSpec{OfflineGrace: &metav1.Duration{Duration: time.Minute}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ht := &v1alpha1.HelpdeskTenant{
				ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "support"},
				Spec: v1alpha1.HelpdeskTenantSpec{
					Routing:    tt.routing,
					Components: v1alpha1.ComponentsSpec{Routing: &v1alpha1.ComponentSpec{Enabled: tt.enabled}},
				},
			}
			cfg, err := render(ht, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var head struct {
				Spec struct {
					Services map[string]string `json:"services"`
					Routing  map[string]any    `json:"routing"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal([]byte(strings.Split(cfg.data[ConfigFile], "\n---\n")[0]), &head); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, head.Spec.Routing); diff != "" {
				t.Errorf("spec.routing (-want +got):\n%s", diff)
			}
			addr, ok := head.Spec.Services["routing"]
			switch {
			case tt.want != nil && addr != "acme-routing.support.svc:9090":
				t.Errorf("services.routing = %q, want acme-routing.support.svc:9090", addr)
			case tt.want == nil && ok:
				t.Errorf("services.routing = %q for a tenant without the routing component", addr)
			}
		})
	}
}
