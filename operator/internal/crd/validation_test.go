package crd_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// TestSamplesAccepted creates every sample on the API server and deletes
// it again.
func TestSamplesAccepted(t *testing.T) {
	ctx := t.Context()
	for _, d := range samples(t) {
		t.Run(fmt.Sprintf("%s#%d", d.file, d.index), func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(d.yaml, &u.Object); err != nil {
				t.Fatal(err)
			}
			ensureNamespace(ctx, t, u.GetNamespace())
			if err := env.Client.Create(ctx, u); err != nil {
				t.Fatalf("create %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), describe(err))
			}
			if err := env.Client.Delete(ctx, u); err != nil {
				t.Fatalf("delete: %v", err)
			}
		})
	}
}

func ensureNamespace(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	if name == "" {
		return
	}
	err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// TestDefaults: what the schema fills in for a minimal tenant and policy
// written with the Go types (zero values omitted).
func TestDefaults(t *testing.T) {
	ctx := t.Context()
	tenant := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "default"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
			Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
			Components: v1alpha1.ComponentsSpec{
				Gateway: &v1alpha1.ComponentSpec{},
			},
		},
	}
	if err := env.Client.Create(ctx, tenant); err != nil {
		t.Fatalf("create: %v", describe(err))
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), tenant) })
	s := tenant.Spec // Create decodes the server's answer into tenant
	gi := resource.MustParse("1Gi")
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"image", s.Image, "kubedesk:dev"},
		{"imagePullPolicy", s.ImagePullPolicy, "IfNotPresent"},
		{"locale", s.Locale, "en-US"},
		{"timeZone", s.TimeZone, "UTC"},
		{"temporal.namespace", s.Temporal.Namespace, "kubedesk"},
		{"database.embedded.storageSize", s.Database.Embedded.StorageSize.String(), gi.String()},
		{"components.gateway.replicas", ptr.Deref(s.Components.Gateway.Replicas, -1), int32(1)},
	} {
		if c.got != c.want {
			t.Errorf("spec.%s = %v, want the default %v", c.field, c.got, c.want)
		}
	}

	policy := &v1alpha1.SLAPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "default"},
		Spec: v1alpha1.SLAPolicySpec{
			TenantRef: v1alpha1.LocalObjectReference{Name: "defaults"},
			Targets:   []v1alpha1.SLATarget{{Priority: "P3", Resolution: &metav1.Duration{Duration: 8 * 3600e9}}},
		},
	}
	if err := env.Client.Create(ctx, policy); err != nil {
		t.Fatalf("create: %v", describe(err))
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), policy) })
	rule := &v1alpha1.RoutingRule{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "default"},
		Spec: v1alpha1.RoutingRuleSpec{
			TenantRef: v1alpha1.LocalObjectReference{Name: "defaults"},
			Then:      v1alpha1.RoutingActions{Group: "support"},
		},
	}
	if err := env.Client.Create(ctx, rule, client.DryRunAll); err != nil {
		t.Fatalf("create: %v", describe(err))
	}
	if rule.Spec.Order != v1alpha1.DefaultRoutingRuleOrder {
		t.Errorf("RoutingRule spec.order = %d, want the default %d", rule.Spec.Order, v1alpha1.DefaultRoutingRuleOrder)
	}

	p := policy.Spec
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"precedence", p.Precedence, int32(100)},
		{"warningThresholdPercent", p.WarningThresholdPercent, int32(75)},
		{"pauseOn", fmt.Sprint(p.PauseOn), "[pending]"},
		{"calendar.timeZone", p.Calendar.TimeZone, "UTC"},
	} {
		if c.got != c.want {
			t.Errorf("spec.%s = %v, want the default %v", c.field, c.got, c.want)
		}
	}
}

// TestStatusSubresource: status is written through /status only and keeps
// what a controller reports.
func TestStatusSubresource(t *testing.T) {
	ctx := t.Context()
	tenant := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "status", Namespace: "default"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Postgres: &v1alpha1.PostgresDatabase{URLSecretRef: v1alpha1.SecretKeySelector{Name: "pg", Key: "url"}}},
			Temporal: v1alpha1.TemporalSpec{Address: "temporal:7233"},
		},
	}
	if err := env.Client.Create(ctx, tenant); err != nil {
		t.Fatalf("create: %v", describe(err))
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), tenant) })

	want := v1alpha1.HelpdeskTenantStatus{
		ObservedGeneration: tenant.Generation,
		Components: []v1alpha1.ComponentStatus{
			{Name: v1alpha1.ComponentGateway, DesiredReplicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1},
			{Name: v1alpha1.ComponentTicket, DesiredReplicas: 1},
		},
		ComponentsReady: "1/2",
		GatewayURL:      "http://status-gateway.default.svc:8080",
		ConfigHash:      "sha256:0123abcd",
	}
	meta.SetStatusCondition(&want.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionProgressing, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonRolling,
		Message: "ticket: 0 of 1 replicas ready", ObservedGeneration: tenant.Generation,
	})
	tenant.Status = *want.DeepCopy()
	if err := env.Client.Status().Update(ctx, tenant); err != nil {
		t.Fatalf("update status: %v", describe(err))
	}
	got := &v1alpha1.HelpdeskTenant{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tenant), got); err != nil {
		t.Fatal(err)
	}
	// The API server stores times to the second.
	for i := range want.Conditions {
		want.Conditions[i].LastTransitionTime = got.Status.Conditions[i].LastTransitionTime
	}
	if diff := cmp.Diff(want, got.Status); diff != "" {
		t.Errorf("status after the update (-want +got):\n%s", diff)
	}

	// An update of the main resource leaves status alone.
	got.Spec.DisplayName = "极客科技客服中心"
	got.Status = v1alpha1.HelpdeskTenantStatus{}
	if err := env.Client.Update(ctx, got); err != nil {
		t.Fatalf("update: %v", describe(err))
	}
	if got.Status.ComponentsReady != "1/2" {
		t.Errorf("status.componentsReady = %q after a spec update, want it kept (1/2)", got.Status.ComponentsReady)
	}
}

// Valid documents the bad ones below are merge patches (RFC 7386) onto.
const (
	baseTenant = `
database:
  postgres:
    urlSecretRef: {name: acme-postgres, key: url}
temporal:
  address: temporal-frontend.temporal:7233
`
	basePolicy = `
tenantRef: {name: acme}
targets:
- priority: P1
  firstResponse: 15m
`
	baseRule = `
tenantRef: {name: acme}
when:
  keywords: [invoice, 发票]
then:
  group: billing
`
)

// wechatBase is a valid spec.channels.wechat: its secrets are keys of
// Secrets, as in a cluster they must be.
const wechatBase = `{appID: wx1234567890abcdef, appSecret: {secretKeyRef: {name: acme-wechat, key: appSecret}}, token: {secretKeyRef: {name: acme-wechat, key: token}}, encodingAESKey: {secretKeyRef: {name: acme-wechat, key: encodingAESKey}}}`

// TestWeChatAccepted: what a WeChat account in a cluster looks like, and
// the mode the schema gives it.
func TestWeChatAccepted(t *testing.T) {
	for _, tc := range []struct{ name, wechat, mode string }{
		{"safe mode", wechatBase, "safe"},
		{"plain mode without a key, own API", `{appID: wx1234567890abcdef, appSecret: {secretKeyRef: {name: acme-wechat, key: appSecret}}, token: {secretKeyRef: {name: acme-wechat-token, key: token}}, mode: plain, apiBaseURL: "http://wechat-api.test.svc:8080/prefix"}`, "plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := object(t, "HelpdeskTenant", "wechat", baseTenant, `{channels: {wechat: `+tc.wechat+`}}`)
			if err := env.Client.Create(t.Context(), u, client.DryRunAll); err != nil {
				t.Fatalf("refused: %v", describe(err))
			}
			if mode, _, _ := unstructured.NestedString(u.Object, "spec", "channels", "wechat", "mode"); mode != tc.mode {
				t.Errorf("mode = %q, want %q", mode, tc.mode)
			}
		})
	}
}

// TestRoutingAccepted: the routing component runs when asked to (its
// refusal is gone), with an offline grace from 0s to 24h, and a rule that
// only stacks a tag is a rule.
func TestRoutingAccepted(t *testing.T) {
	for _, tc := range []struct{ name, kind, base, spec string }{
		{"routing enabled", "HelpdeskTenant", baseTenant, `{components: {routing: {enabled: true, replicas: 2}}, routing: {offlineGrace: 30m}}`},
		{"offline grace 0s", "HelpdeskTenant", baseTenant, `{routing: {offlineGrace: 0s}}`},
		{"offline grace 24h", "HelpdeskTenant", baseTenant, `{routing: {offlineGrace: 24h}}`},
		{"tag only, continue", "RoutingRule", baseRule, `{continue: true, then: {group: null, addTags: [vip]}}`},
		{"every condition", "RoutingRule", baseRule, `{order: 5, when: {channels: [email, wechat], customerTiers: [VIP], organizations: [极客科技], ` +
			`priorities: [P1, P2], tags: [urgent], customFields: {product: [router, ""], "x.y_z-1": [a]}, requesters: ["*@acme.example", "wechat:oAbc"], ` +
			`inboundAddresses: [billing@acme.example], businessHours: false, ` +
			`calendar: {timeZone: Asia/Shanghai, workingHours: [{days: [Mon, Tue], start: "09:00", end: "18:00"}], holidays: [{name: 国庆节, from: "2026-10-01", to: "2026-10-07"}]}}, ` +
			`then: {group: billing, requireSkills: [{name: zh, minLevel: 3}, {name: billing}], addTags: [billing], priorityAtLeast: P2, setCustomFields: {queue: billing}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := object(t, tc.kind, "ok", tc.base, tc.spec)
			if err := env.Client.Create(t.Context(), u, client.DryRunAll); err != nil {
				t.Fatalf("refused: %v", describe(err))
			}
		})
	}
}

// cause is one field error the API server must report.
type cause struct {
	field string // e.g. spec.database
	msg   string // a substring of the cause's message
}

func TestRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind string // HelpdeskTenant, SLAPolicy or RoutingRule
		meta string // metadata.name, when it matters
		spec string // merge patch onto the base spec
		// wechat, when set, is a merge patch onto a valid
		// spec.channels.wechat (wechatBase).
		wechat string
		want   []cause
	}{
		// HelpdeskTenant
		{
			name: "both database kinds", kind: "HelpdeskTenant",
			spec: `{database: {embedded: {}}}`,
			want: []cause{{"spec.database", "set exactly one of postgres or embedded"}},
		},
		{
			name: "no database kind", kind: "HelpdeskTenant",
			spec: `{database: {postgres: null}}`,
			want: []cause{{"spec.database", "set exactly one of postgres or embedded"}},
		},
		{
			name: "no database", kind: "HelpdeskTenant",
			spec: `{database: null}`,
			want: []cause{{"spec.database", "Required value"}},
		},
		{
			name: "embedded database with 2 replicas", kind: "HelpdeskTenant",
			spec: `{database: {postgres: null, embedded: {}}, components: {gateway: {replicas: 2}}}`,
			want: []cause{{"spec.database.embedded", "database.embedded needs every component at replicas <= 1; use database.postgres to scale out"}},
		},
		{
			name: "embedded temporal with 2 replicas", kind: "HelpdeskTenant",
			spec: `{temporal: {address: null, embedded: {}}, components: {ticket: {replicas: 2}}}`,
			want: []cause{{"spec.temporal.embedded", "temporal.embedded needs every component at replicas <= 1"}},
		},
		{
			name: "both temporal kinds", kind: "HelpdeskTenant",
			spec: `{temporal: {embedded: {}}}`,
			want: []cause{{"spec.temporal", "set exactly one of address or embedded"}},
		},
		{
			name: "temporal address without port", kind: "HelpdeskTenant",
			spec: `{temporal: {address: temporal-frontend.temporal}}`,
			want: []cause{{"spec.temporal.address", "should match"}},
		},
		{
			name: "offline grace over a day", kind: "HelpdeskTenant",
			spec: `{routing: {offlineGrace: 25h}}`,
			want: []cause{{"spec.routing.offlineGrace", "offlineGrace must be from 0s to 24h"}},
		},
		{
			name: "offline grace not a duration", kind: "HelpdeskTenant",
			spec: `{routing: {offlineGrace: "ten minutes"}}`,
			want: []cause{{"spec.routing.offlineGrace", "should match"}},
		},
		{
			name: "reporting enabled", kind: "HelpdeskTenant",
			spec: `{components: {reporting: {enabled: true}}}`,
			want: []cause{{"spec.components.reporting.enabled", "reporting is not available in kubedesk v1alpha1 yet"}},
		},
		{
			name: "single sign-on over plain http", kind: "HelpdeskTenant",
			spec: `{identity: {oidc: {issuerURL: "http://login.acme.example", audience: kubedesk}}}`,
			want: []cause{{"spec.identity.oidc.issuerURL", "should match"}},
		},
		{
			name: "single sign-on without audience", kind: "HelpdeskTenant",
			spec: `{identity: {oidc: {issuerURL: "https://login.acme.example"}}}`,
			want: []cause{{"spec.identity.oidc.audience", "Required value"}},
		},
		{
			name: "bad locale", kind: "HelpdeskTenant",
			spec: `{locale: zh_CN}`,
			want: []cause{{"spec.locale", "should match"}},
		},
		{
			name: "bad time zone", kind: "HelpdeskTenant",
			spec: `{timeZone: "Asia Shanghai"}`,
			want: []cause{{"spec.timeZone", "should match"}},
		},
		{
			name: "display name too long", kind: "HelpdeskTenant",
			spec: `{displayName: "` + strings.Repeat("客", 201) + `"}`,
			want: []cause{{"spec.displayName", "may not be more than 200"}},
		},
		{
			name: "chat wait too short", kind: "HelpdeskTenant",
			spec: `{channels: {chat: {group: support, offerWait: 1s}}}`,
			want: []cause{{"spec.channels.chat.offerWait", "offerWait must be from 5s to 24h"}},
		},
		{
			name: "chat wait not a duration", kind: "HelpdeskTenant",
			spec: `{channels: {chat: {offerWait: "two minutes"}}}`,
			want: []cause{{"spec.channels.chat.offerWait", "should match"}},
		},
		{
			name: "bad ingress host", kind: "HelpdeskTenant",
			spec: `{ingress: {host: Help_Desk.acme.example}}`,
			want: []cause{{"spec.ingress.host", "should match"}},
		},
		{
			name: "ingress without host", kind: "HelpdeskTenant",
			spec: `{ingress: {className: nginx}}`,
			want: []cause{{"spec.ingress.host", "Required value"}},
		},
		{
			name: "negative replicas", kind: "HelpdeskTenant",
			spec: `{components: {gateway: {replicas: -1}}}`,
			want: []cause{{"spec.components.gateway.replicas", "should be greater than or equal to 0"}},
		},
		{
			name: "too many replicas", kind: "HelpdeskTenant",
			spec: `{components: {worker: {replicas: 101}}}`,
			want: []cause{{"spec.components.worker.replicas", "should be less than or equal to 100"}},
		},
		{
			name: "attachments in both stores", kind: "HelpdeskTenant",
			spec: `{attachments: {s3: {urlSecretRef: {name: acme-blobs, key: url}}, volume: {claimName: acme-blobs}}}`,
			want: []cause{{"spec.attachments", "set one of s3 or volume, not both"}},
		},
		{
			name: "attachments in neither store", kind: "HelpdeskTenant",
			spec: `{attachments: {}}`,
			want: []cause{{"spec.attachments", "set s3 or volume; leave attachments out to keep attachments in the ticket pods' data directory"}},
		},
		{
			name: "attachments s3 without a Secret", kind: "HelpdeskTenant",
			spec: `{attachments: {s3: {}}}`,
			want: []cause{{"spec.attachments.s3.urlSecretRef", "Required value"}},
		},
		{
			name: "attachments s3 Secret without a name", kind: "HelpdeskTenant",
			spec: `{attachments: {s3: {urlSecretRef: {name: "", key: url}}}}`,
			want: []cause{{"spec.attachments.s3.urlSecretRef.name", "should be at least 1 chars long"}},
		},
		{
			name: "attachments s3 Secret without a key", kind: "HelpdeskTenant",
			spec: `{attachments: {s3: {urlSecretRef: {name: acme-blobs, key: ""}}}}`,
			want: []cause{{"spec.attachments.s3.urlSecretRef.key", "should be at least 1 chars long"}},
		},
		{
			name: "attachments volume without a claim", kind: "HelpdeskTenant",
			spec: `{attachments: {volume: {claimName: ""}}}`,
			want: []cause{{"spec.attachments.volume.claimName", "should be at least 1 chars long"}},
		},
		{
			name: "attachments volume claim not a name", kind: "HelpdeskTenant",
			spec: `{attachments: {volume: {claimName: Acme_Blobs}}}`,
			want: []cause{{"spec.attachments.volume.claimName", "should match"}},
		},
		{
			name: "unknown pull policy", kind: "HelpdeskTenant",
			spec: `{imagePullPolicy: Sometimes}`,
			want: []cause{{"spec.imagePullPolicy", `Unsupported value: "Sometimes"`}},
		},
		{
			name: "unknown resource", kind: "HelpdeskTenant",
			spec: `{components: {ticket: {resources: {limits: {nvidia.com/gpu: 1}}}}}`,
			want: []cause{{"spec.components.ticket.resources.limits", "resource nvidia.com/gpu is not supported; accepted: cpu, memory, ephemeral-storage"}},
		},
		{
			name: "negative resource", kind: "HelpdeskTenant",
			spec: `{components: {ticket: {resources: {requests: {cpu: -100m}}}}}`,
			want: []cause{{"spec.components.ticket.resources.requests", "quantities must not be negative"}},
		},
		{
			name: "limit below request", kind: "HelpdeskTenant",
			spec: `{components: {ticket: {resources: {requests: {memory: 1Gi}, limits: {memory: 512Mi}}}}}`,
			want: []cause{{"spec.components.ticket.resources", "every limit must be at least its request"}},
		},
		{
			name: "zero storage", kind: "HelpdeskTenant",
			spec: `{database: {postgres: null, embedded: {storageSize: "0"}}}`,
			want: []cause{{"spec.database.embedded.storageSize", "storageSize must be positive"}},
		},
		{
			name: "secret key with a slash", kind: "HelpdeskTenant",
			spec: `{database: {postgres: {urlSecretRef: {key: db/url}}}}`,
			want: []cause{{"spec.database.postgres.urlSecretRef.key", "should match"}},
		},
		{
			name: "wechat secret as a value", kind: "HelpdeskTenant",
			wechat: `{appSecret: {secretKeyRef: null, value: s3cr3t}}`,
			want:   []cause{{"spec.channels.wechat.appSecret.value", "a secret value in the HelpdeskTenant would be copied into a ConfigMap; in a cluster give secretKeyRef (value is for a --config file)"}},
		},
		{
			name: "wechat secrets from the environment", kind: "HelpdeskTenant",
			wechat: `{token: {secretKeyRef: null, env: WECHAT_TOKEN}, encodingAESKey: {secretKeyRef: null, env: WECHAT_AES_KEY}}`,
			want: []cause{
				{"spec.channels.wechat.token.env", "the operator cannot give the channel's pods a variable of your own; in a cluster give secretKeyRef (env is for a --config file)"},
				{"spec.channels.wechat.encodingAESKey.env", "the operator cannot give the channel's pods a variable of your own"},
			},
		},
		{
			name: "wechat key from a Secret and a value", kind: "HelpdeskTenant",
			wechat: `{encodingAESKey: {value: k}}`,
			want: []cause{
				{"spec.channels.wechat.encodingAESKey", "set exactly one of secretKeyRef (in a cluster), env or value (in a --config file)"},
				{"spec.channels.wechat.encodingAESKey.value", "a secret value in the HelpdeskTenant would be copied into a ConfigMap"},
			},
		},
		{
			name: "wechat secret from nowhere", kind: "HelpdeskTenant",
			wechat: `{appSecret: {secretKeyRef: null}}`,
			want:   []cause{{"spec.channels.wechat.appSecret", "set exactly one of secretKeyRef (in a cluster), env or value (in a --config file)"}},
		},
		{
			name: "wechat without a token", kind: "HelpdeskTenant",
			wechat: `{token: null}`,
			want:   []cause{{"spec.channels.wechat.token", "Required value"}},
		},
		{
			name: "wechat safe mode (the default) without a key", kind: "HelpdeskTenant",
			wechat: `{encodingAESKey: null}`,
			want:   []cause{{"spec.channels.wechat", "encodingAESKey is required in compatible and safe mode (safe is the default); set it, or set mode: plain"}},
		},
		{
			name: "wechat compatible mode without a key", kind: "HelpdeskTenant",
			wechat: `{encodingAESKey: null, mode: compatible}`,
			want:   []cause{{"spec.channels.wechat", "encodingAESKey is required in compatible and safe mode"}},
		},
		{
			name: "wechat unknown mode", kind: "HelpdeskTenant",
			wechat: `{mode: aes}`,
			want:   []cause{{"spec.channels.wechat.mode", `Unsupported value: "aes"`}},
		},
		{
			name: "wechat AppID", kind: "HelpdeskTenant",
			wechat: `{appID: WX1234567890ABCDEF}`,
			want:   []cause{{"spec.channels.wechat.appID", "should match '^wx[0-9a-f]{16}$'"}},
		},
		{
			name: "wechat API over ftp", kind: "HelpdeskTenant",
			wechat: `{apiBaseURL: "ftp://api.weixin.qq.com"}`,
			want:   []cause{{"spec.channels.wechat.apiBaseURL", "should match"}},
		},
		{
			name: "wechat Secret key with a slash", kind: "HelpdeskTenant",
			wechat: `{appSecret: {secretKeyRef: {key: app/secret}}}`,
			want:   []cause{{"spec.channels.wechat.appSecret.secretKeyRef.key", "should match"}},
		},
		{
			name: "name not a DNS label", kind: "HelpdeskTenant", meta: "1-acme",
			want: []cause{{"<nil>", "metadata.name must be a DNS label of at most 50 characters starting with a letter"}},
		},

		// SLAPolicy
		{
			name: "warning at 100%", kind: "SLAPolicy",
			spec: `{warningThresholdPercent: 100}`,
			want: []cause{{"spec.warningThresholdPercent", "should be less than or equal to 99"}},
		},
		{
			name: "precedence 0", kind: "SLAPolicy",
			spec: `{precedence: 0}`,
			want: []cause{{"spec.precedence", "should be greater than or equal to 1"}},
		},
		{
			name: "P1 twice", kind: "SLAPolicy",
			spec: `{targets: [{priority: P1, firstResponse: 15m}, {priority: P2, firstResponse: 1h}, {priority: P1, resolution: 4h}]}`,
			want: []cause{{"spec.targets[2]", `Duplicate value: {"priority":"P1"}`}},
		},
		{
			name: "no targets", kind: "SLAPolicy",
			spec: `{targets: []}`,
			want: []cause{{"spec.targets", "should have at least 1 items"}},
		},
		{
			name: "target without durations", kind: "SLAPolicy",
			spec: `{targets: [{priority: P2}]}`,
			want: []cause{{"spec.targets[0]", "set at least one of firstResponse, nextResponse, resolution"}},
		},
		{
			name: "zero duration", kind: "SLAPolicy",
			spec: `{targets: [{priority: P1, firstResponse: 0s}]}`,
			want: []cause{{"spec.targets[0].firstResponse", "firstResponse must be positive"}},
		},
		{
			name: "negative duration", kind: "SLAPolicy",
			spec: `{targets: [{priority: P1, resolution: -4h}]}`,
			// The pattern rejects the sign; the rule says what is accepted.
			want: []cause{{"spec.targets[0].resolution", "should match"}},
		},
		{
			name: "duration over a year", kind: "SLAPolicy",
			spec: `{targets: [{priority: P5, resolution: 9000h}]}`,
			want: []cause{{"spec.targets[0].resolution", "resolution must be positive and at most 8760h"}},
		},
		{
			name: "duration in days", kind: "SLAPolicy",
			spec: `{targets: [{priority: P1, nextResponse: 1d}]}`,
			want: []cause{{"spec.targets[0].nextResponse", "should match"}},
		},
		{
			name: "unknown priority", kind: "SLAPolicy",
			spec: `{targets: [{priority: P6, firstResponse: 1h}]}`,
			want: []cause{{"spec.targets[0].priority", `Unsupported value: "P6"`}},
		},
		{
			name: "end before start", kind: "SLAPolicy",
			spec: `{calendar: {workingHours: [{days: [Mon], start: "18:00", end: "09:00"}]}}`,
			want: []cause{{"spec.calendar.workingHours[0].end", "end must be after start"}},
		},
		{
			name: "unknown weekday", kind: "SLAPolicy",
			spec: `{calendar: {workingHours: [{days: [Monday], start: "09:00", end: "18:00"}]}}`,
			want: []cause{{"spec.calendar.workingHours[0].days[0]", `Unsupported value: "Monday"`}},
		},
		{
			name: "holiday ends before it starts", kind: "SLAPolicy",
			spec: `{calendar: {holidays: [{name: 国庆节, from: "2026-10-07", to: "2026-10-01"}]}}`,
			want: []cause{{"spec.calendar.holidays[0].to", "to must not be before from"}},
		},
		{
			name: "bad holiday date", kind: "SLAPolicy",
			spec: `{calendar: {holidays: [{from: "2026-13-01", to: "2026-13-02"}]}}`,
			want: []cause{{"spec.calendar.holidays[0].from", "should match"}, {"spec.calendar.holidays[0].to", "should match"}},
		},
		{
			name: "bad extra working day", kind: "SLAPolicy",
			spec: `{calendar: {extraWorkingDays: ["2026-2-14"]}}`,
			want: []cause{{"spec.calendar.extraWorkingDays[0]", "should match"}},
		},
		{
			name: "unknown pause status", kind: "SLAPolicy",
			spec: `{pauseOn: [solved]}`,
			want: []cause{{"spec.pauseOn[0]", `Unsupported value: "solved"`}},
		},
		{
			name: "notify without recipients", kind: "SLAPolicy",
			spec: `{breachActions: [{type: notify}]}`,
			want: []cause{{"spec.breachActions[0].recipients", "notify needs recipients"}},
		},
		{
			name: "reassign without group", kind: "SLAPolicy",
			spec: `{breachActions: [{type: reassign}]}`,
			want: []cause{{"spec.breachActions[0].group", "reassign needs the group"}},
		},
		{
			name: "webhook over http", kind: "SLAPolicy",
			spec: `{breachActions: [{type: webhook, url: "http://hooks.acme.example/sla"}]}`,
			want: []cause{{"spec.breachActions[0].url", "webhook needs an https:// url"}},
		},
		{
			name: "unknown breach action", kind: "SLAPolicy",
			spec: `{breachActions: [{type: page}]}`,
			want: []cause{{"spec.breachActions[0].type", `Unsupported value: "page"`}},
		},
		{
			name: "unknown channel", kind: "SLAPolicy",
			spec: `{match: {channels: [fax]}}`,
			want: []cause{{"spec.match.channels[0]", `Unsupported value: "fax"`}},
		},
		{
			name: "tenant not a DNS label", kind: "SLAPolicy",
			spec: `{tenantRef: {name: Acme}}`,
			want: []cause{{"spec.tenantRef.name", "should match"}},
		},

		// RoutingRule
		{
			name: "rule without an action", kind: "RoutingRule",
			spec: `{then: {group: null}}`,
			want: []cause{{"spec.then", "set at least one action: group, requireSkills, addTags, priorityAtLeast or setCustomFields"}},
		},
		{
			name: "rule whose actions are empty lists", kind: "RoutingRule",
			spec: `{then: {group: null, addTags: [], requireSkills: [], setCustomFields: {}}}`,
			want: []cause{{"spec.then", "set at least one action: group, requireSkills, addTags, priorityAtLeast or setCustomFields"}},
		},
		{
			name: "group not an ID", kind: "RoutingRule",
			spec: `{then: {group: Billing_Team}}`,
			want: []cause{{"spec.then.group", "should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"}},
		},
		{
			name: "custom field condition name", kind: "RoutingRule",
			spec: `{when: {customFields: {"1st-line": [router]}}}`,
			want: []cause{{"spec.when.customFields", "custom field name 1st-line is not accepted; a name is a letter, then up to 62 letters, digits, _ . or -"}},
		},
		{
			name: "custom field action name", kind: "RoutingRule",
			spec: `{then: {setCustomFields: {"product line": hardware}}}`,
			want: []cause{{"spec.then.setCustomFields", "custom field name product line is not accepted; a name is a letter, then up to 62 letters, digits, _ . or -"}},
		},
		{
			name: "custom field value too long", kind: "RoutingRule",
			spec: `{then: {setCustomFields: {note: "` + strings.Repeat("长", 4097) + `"}}}`,
			want: []cause{{"spec.then.setCustomFields", "a custom field's value is at most 4096 characters"}},
		},
		{
			name: "skill twice", kind: "RoutingRule",
			spec: `{then: {requireSkills: [{name: zh}, {name: zh, minLevel: 3}]}}`,
			want: []cause{{"spec.then.requireSkills[1]", `Duplicate value: {"name":"zh"}`}},
		},
		{
			name: "skill name", kind: "RoutingRule",
			spec: `{then: {requireSkills: [{name: Billing}]}}`,
			want: []cause{{"spec.then.requireSkills[0].name", "should match '^[a-z][a-z0-9_-]{0,39}$'"}},
		},
		{
			name: "skill level 6", kind: "RoutingRule",
			spec: `{then: {requireSkills: [{name: zh, minLevel: 6}]}}`,
			want: []cause{{"spec.then.requireSkills[0].minLevel", "should be less than or equal to 5"}},
		},
		{
			name: "order 0", kind: "RoutingRule",
			spec: `{order: 0}`,
			want: []cause{{"spec.order", "should be greater than or equal to 1"}},
		},
		{
			name: "calendar without businessHours", kind: "RoutingRule",
			spec: `{when: {calendar: {timeZone: Asia/Shanghai, workingHours: [{days: [Mon], start: "09:00", end: "18:00"}]}}}`,
			want: []cause{{"spec.when.calendar", "calendar is read only by businessHours; set businessHours: true or false, or leave calendar out"}},
		},
		{
			name: "rule calendar end before start", kind: "RoutingRule",
			spec: `{when: {businessHours: true, calendar: {workingHours: [{days: [Mon], start: "18:00", end: "09:00"}]}}}`,
			want: []cause{{"spec.when.calendar.workingHours[0].end", "end must be after start"}},
		},
		{
			name: "rule on an unknown channel", kind: "RoutingRule",
			spec: `{when: {channels: [fax]}}`,
			want: []cause{{"spec.when.channels[0]", `Unsupported value: "fax"`}},
		},
		{
			name: "priority floor P0", kind: "RoutingRule",
			spec: `{then: {priorityAtLeast: P0}}`,
			want: []cause{{"spec.then.priorityAtLeast", `Unsupported value: "P0"`}},
		},
		{
			name: "empty keyword", kind: "RoutingRule",
			spec: `{when: {keywords: [""]}}`,
			want: []cause{{"spec.when.keywords[0]", "should be at least 1 chars long"}},
		},
		{
			name: "empty tag condition", kind: "RoutingRule",
			spec: `{when: {tags: [""]}}`,
			want: []cause{{"spec.when.tags[0]", "should be at least 1 chars long"}},
		},
		{
			name: "rule without tenant", kind: "RoutingRule",
			spec: `{tenantRef: null}`,
			want: []cause{{"spec.tenantRef", "Required value"}},
		},
		{
			name: "rule without then", kind: "RoutingRule",
			spec: `{then: null}`,
			want: []cause{{"spec.then", "Required value"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := map[string]string{"HelpdeskTenant": baseTenant, "SLAPolicy": basePolicy, "RoutingRule": baseRule}[tc.kind]
			u := object(t, tc.kind, cmpOr(tc.meta, "bad"), base, tc.spec)
			if tc.wechat != "" {
				var w, p map[string]any
				if err := yaml.Unmarshal([]byte(wechatBase), &w); err != nil {
					t.Fatal(err)
				}
				if err := yaml.Unmarshal([]byte(tc.wechat), &p); err != nil {
					t.Fatalf("wechat patch: %v", err)
				}
				u.Object["spec"].(map[string]any)["channels"] = map[string]any{"wechat": mergePatch(w, p)}
			}
			err := env.Client.Create(t.Context(), u, client.DryRunAll)
			if err == nil {
				t.Fatalf("created; want it rejected with %v", tc.want)
			}
			var se *apierrors.StatusError
			if !errors.As(err, &se) || se.ErrStatus.Reason != metav1.StatusReasonInvalid || se.ErrStatus.Details == nil {
				t.Fatalf("got %v; want a StatusError with reason Invalid", err)
			}
			// A schema error of some kinds (enum, length, required) makes
			// the server skip the CEL rules and say so in a cause of its
			// own; it carries no information about the object.
			got := slices.DeleteFunc(se.ErrStatus.Details.Causes, func(c metav1.StatusCause) bool {
				return strings.Contains(c.Message, "some validation rules were not checked because the object was invalid")
			})
			if !matches(got, tc.want) {
				t.Errorf("causes:\n%s\nwant exactly:\n%s", formatCauses(got), formatWant(tc.want))
			}
		})
	}
}

// object builds a kubedesk.io/v1alpha1 object whose spec is base with
// patch merged onto it.
func object(t *testing.T, kind, name, base, patch string) *unstructured.Unstructured {
	t.Helper()
	var spec, p map[string]any
	if err := yaml.Unmarshal([]byte(base), &spec); err != nil {
		t.Fatalf("base spec: %v", err)
	}
	if err := yaml.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatalf("spec patch: %v", err)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": "default"},
		"spec":       mergePatch(spec, p),
	}}
}

// mergePatch applies a JSON merge patch (RFC 7386): objects merge, null
// removes, anything else replaces.
func mergePatch(doc, patch map[string]any) map[string]any {
	out := maps.Clone(doc)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		switch v := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			d, _ := out[k].(map[string]any)
			out[k] = mergePatch(d, v)
		default:
			out[k] = v
		}
	}
	return out
}

func matches(got []metav1.StatusCause, want []cause) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(got))
next:
	for _, w := range want {
		for i, g := range got {
			if !used[i] && g.Field == w.field && strings.Contains(g.Message, w.msg) {
				used[i] = true
				continue next
			}
		}
		return false
	}
	return true
}

func formatCauses(cs []metav1.StatusCause) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s: %s (%s)\n", c.Field, c.Message, c.Type)
	}
	return b.String()
}

func formatWant(cs []cause) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s: ...%s...\n", c.field, c.msg)
	}
	return b.String()
}

// describe adds an Invalid error's causes to its text.
func describe(err error) error {
	var se *apierrors.StatusError
	if errors.As(err, &se) && se.ErrStatus.Details != nil && len(se.ErrStatus.Details.Causes) > 0 {
		return fmt.Errorf("%w\n%s", err, formatCauses(se.ErrStatus.Details.Causes))
	}
	return err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
