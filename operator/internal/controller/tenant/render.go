package tenant

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// ConfigFile is the ConfigMap key, and the file name under /etc/kubedesk,
// of the tenant's configuration.
const ConfigFile = "kubedesk.yaml"

// Where the pods find their configuration and keep their files.
const (
	configDir = "/etc/kubedesk"
	dataDir   = "/data"
)

// rendered is a tenant's configuration: what its ConfigMap holds.
type rendered struct {
	data map[string]string
	// hash identifies data; the pod templates carry it, so a change of the
	// configuration rolls the pods.
	hash string
	// policies are the SLA policies in data, at the generation rendered.
	policies []v1alpha1.AppliedPolicy
	// rules are the routing rules in data, at the generation rendered.
	rules []v1alpha1.AppliedRoutingRule
}

// policy is an accepted SLA policy: its document as Resolve returned it and
// the generation of the object it came from.
type policy struct {
	doc        *v1alpha1.SLAPolicy
	generation int64
}

// rule is an accepted routing rule: its document as routingrule.Resolve
// returned it and the generation of the object it came from.
type rule struct {
	doc        *v1alpha1.RoutingRule
	generation int64
}

// kubedeskConfig is the KubedeskConfig document of `kubedesk serve
// --config` (services/platform/config: apiVersion, kind and the Config
// fields under spec). It holds only what the operator sets; the binary's
// defaults fill the rest, and its flags and KUBEDESK_* variables (the
// database URL) win over the file.
type kubedeskConfig struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Spec       kubedeskConfigSpec `json:"spec"`
}

type kubedeskConfigSpec struct {
	DataDir       string `json:"dataDir"`
	DefaultTenant string `json:"defaultTenant"`
	LogLevel      string `json:"logLevel"`
	// Services are the gRPC addresses of the tenant's modules, by module
	// name; a pod ignores the entries of the modules it runs itself.
	Services map[string]string `json:"services"`
	Worker   workerSection     `json:"worker"`
	IAM      *iamSection       `json:"iam,omitempty"`
	Routing  *routingSection   `json:"routing,omitempty"`
}

// routingSection is the routing module's section of KubedeskConfig, from
// the tenant's spec.routing; nil when the tenant does not run the routing
// component.
type routingSection struct {
	// OfflineGrace is a Go duration ("10m0s"): how long an offline
	// agent's unanswered tickets stay theirs.
	OfflineGrace metav1.Duration `json:"offlineGrace"`
}

// iamSection is the identity module's section of KubedeskConfig: the
// tenant's single sign-on, when it has one.
type iamSection struct {
	OIDC oidcSection `json:"oidc"`
}

// oidcSection is iam.oidc. Tenant pins every token of the issuer to the
// tenant the configuration is for.
type oidcSection struct {
	IssuerURL   string `json:"issuerURL"`
	Audience    string `json:"audience"`
	Tenant      string `json:"tenant"`
	TenantClaim string `json:"tenantClaim,omitempty"`
	RolesClaim  string `json:"rolesClaim,omitempty"`
	GroupsClaim string `json:"groupsClaim,omitempty"`
}

// workerSection is the worker module's section of KubedeskConfig.
type workerSection struct {
	Temporal temporalSection `json:"temporal"`
}

type temporalSection struct {
	// Address empty starts the embedded Temporal server in dataDir.
	Address   string `json:"address,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// tenantDocument is the HelpdeskTenant as the configuration file carries
// it: what the binary reads of a tenant (its name, display name, locale,
// time zone, default calendar and channels, and the per-tenant settings
// later modules add), without what only the operator reads (image,
// components, database, temporal, and the names of the Secrets of the
// relay and the WeChat account: the channel's pods read those from
// KUBEDESK_SMTP_RELAY and KUBEDESK_WECHAT_...).
type tenantDocument struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   policyMetadata `json:"metadata"`
	Spec       tenantSpec     `json:"spec"`
}

type tenantSpec struct {
	DisplayName string                     `json:"displayName,omitempty"`
	Locale      string                     `json:"locale,omitempty"`
	TimeZone    string                     `json:"timeZone,omitempty"`
	Calendar    *v1alpha1.BusinessCalendar `json:"calendar,omitempty"`
	Channels    v1alpha1.ChannelsSpec      `json:"channels,omitzero"`
}

// policyDocument is an SLAPolicy as the configuration file carries it:
// no status and no server-set metadata, so the file (and its hash) changes
// only when a policy does.
type policyDocument struct {
	APIVersion string                 `json:"apiVersion"`
	Kind       string                 `json:"kind"`
	Metadata   policyMetadata         `json:"metadata"`
	Spec       v1alpha1.SLAPolicySpec `json:"spec"`
}

// ruleDocument is a RoutingRule as the configuration file carries it,
// like policyDocument: no status and no server-set metadata.
type ruleDocument struct {
	APIVersion string                   `json:"apiVersion"`
	Kind       string                   `json:"kind"`
	Metadata   policyMetadata           `json:"metadata"`
	Spec       v1alpha1.RoutingRuleSpec `json:"spec"`
}

type policyMetadata struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// render writes the tenant's configuration: one KubedeskConfig document,
// the tenant's HelpdeskTenant document, then the accepted policies in
// precedence order (lower first, then by name), the order in which the
// binary matches them, then the accepted routing rules in the order the
// binary tries them (spec.order, then name).
func render(t *v1alpha1.HelpdeskTenant, policies []policy, rules []rule) (rendered, error) {
	policies = slices.Clone(policies)
	slices.SortFunc(policies, func(a, b policy) int {
		return cmp.Or(cmp.Compare(precedence(a.doc), precedence(b.doc)), cmp.Compare(a.doc.Name, b.doc.Name))
	})
	rules = slices.Clone(rules)
	slices.SortFunc(rules, func(a, b rule) int {
		return cmp.Or(cmp.Compare(order(a.doc), order(b.doc)), cmp.Compare(a.doc.Name, b.doc.Name))
	})

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# The configuration of HelpdeskTenant %s/%s, written by %s from the tenant\n", t.Namespace, t.Name, FieldOwner)
	fmt.Fprintf(&buf, "# and its accepted SLAPolicies and RoutingRules. Edits here are put back: change those instead.\n")
	doc, err := yaml.Marshal(kubedeskConfig{
		APIVersion: v1alpha1.GroupVersion.String(),
		Kind:       "KubedeskConfig",
		Spec: kubedeskConfigSpec{
			DataDir:       dataDir,
			DefaultTenant: t.Name,
			LogLevel:      "info",
			Services:      services(t),
			Worker: workerSection{Temporal: temporalSection{
				Address:   t.Spec.Temporal.Address,
				Namespace: t.Spec.Temporal.Namespace,
			}},
			IAM:     iam(t),
			Routing: routing(t),
		},
	})
	if err != nil {
		return rendered{}, fmt.Errorf("render the KubedeskConfig document: %w", err)
	}
	buf.Write(doc)
	doc, err = yaml.Marshal(tenantDocument{
		APIVersion: v1alpha1.GroupVersion.String(),
		Kind:       "HelpdeskTenant",
		Metadata:   policyMetadata{Name: t.Name, Namespace: t.Namespace},
		Spec: tenantSpec{
			DisplayName: t.Spec.DisplayName,
			Locale:      t.Spec.Locale,
			TimeZone:    t.Spec.TimeZone,
			Calendar:    t.Spec.Calendar,
			Channels:    channels(t),
		},
	})
	if err != nil {
		return rendered{}, fmt.Errorf("render the HelpdeskTenant document: %w", err)
	}
	buf.WriteString("---\n")
	buf.Write(doc)

	out := rendered{policies: make([]v1alpha1.AppliedPolicy, 0, len(policies))}
	for _, p := range policies {
		doc, err := yaml.Marshal(policyDocument{
			APIVersion: v1alpha1.GroupVersion.String(),
			Kind:       "SLAPolicy",
			Metadata:   policyMetadata{Name: p.doc.Name, Namespace: p.doc.Namespace},
			Spec:       p.doc.Spec,
		})
		if err != nil {
			return rendered{}, fmt.Errorf("render SLAPolicy %s: %w", p.doc.Name, err)
		}
		buf.WriteString("---\n")
		buf.Write(doc)
		out.policies = append(out.policies, v1alpha1.AppliedPolicy{Name: p.doc.Name, Generation: p.generation})
	}
	out.rules = make([]v1alpha1.AppliedRoutingRule, 0, len(rules))
	for _, r := range rules {
		doc, err := yaml.Marshal(ruleDocument{
			APIVersion: v1alpha1.GroupVersion.String(),
			Kind:       "RoutingRule",
			Metadata:   policyMetadata{Name: r.doc.Name, Namespace: r.doc.Namespace},
			Spec:       r.doc.Spec,
		})
		if err != nil {
			return rendered{}, fmt.Errorf("render RoutingRule %s: %w", r.doc.Name, err)
		}
		buf.WriteString("---\n")
		buf.Write(doc)
		out.rules = append(out.rules, v1alpha1.AppliedRoutingRule{Name: r.doc.Name, Generation: r.generation})
	}
	out.data = map[string]string{ConfigFile: buf.String()}
	out.hash = hashData(out.data)
	return out, nil
}

// iam is the identity section of t's configuration; nil when the tenant
// signs in with passwords and keys only.
func iam(t *v1alpha1.HelpdeskTenant) *iamSection {
	if t.Spec.Identity == nil || t.Spec.Identity.OIDC == nil {
		return nil
	}
	o := t.Spec.Identity.OIDC
	return &iamSection{OIDC: oidcSection{
		IssuerURL: o.IssuerURL, Audience: o.Audience, Tenant: t.Name,
		TenantClaim: o.TenantClaim, RolesClaim: o.RolesClaim, GroupsClaim: o.GroupsClaim,
	}}
}

// routing is the routing section of t's configuration; nil when the
// tenant does not run the routing component.
func routing(t *v1alpha1.HelpdeskTenant) *routingSection {
	if !t.Spec.Components.IsEnabled(v1alpha1.ComponentRouting) {
		return nil
	}
	grace := v1alpha1.DefaultRoutingOfflineGrace
	if r := t.Spec.Routing; r != nil && r.OfflineGrace != nil {
		grace = r.OfflineGrace.Duration
	}
	return &routingSection{OfflineGrace: metav1.Duration{Duration: grace}}
}

// channels is the tenant's spec.channels as the binary reads it: without
// the relay Secret's name, which only the operator reads, and with each
// WeChat secret as the variable the operator gives the channel's pods
// (env: KUBEDESK_WECHAT_...) in place of its secretKeyRef. Whatever the
// source says, the rendered one is that variable, so no value ever
// reaches the ConfigMap; reconcile refuses the sources other than
// secretKeyRef before it renders (wechatRefused).
func channels(t *v1alpha1.HelpdeskTenant) v1alpha1.ChannelsSpec {
	c := *t.Spec.Channels.DeepCopy()
	c.Email.RelaySecretRef = nil
	if w := c.WeChat; w != nil {
		w.AppSecret = v1alpha1.SecretSource{Env: WeChatAppSecretEnv}
		w.Token = v1alpha1.SecretSource{Env: WeChatTokenEnv}
		if w.EncodingAESKey != nil {
			w.EncodingAESKey = &v1alpha1.SecretSource{Env: WeChatEncodingAESKeyEnv}
		}
	}
	return c
}

// services maps every enabled component that serves gRPC to its Service's
// address: the binary's services map, by module name, which is the
// component's name; the gateway's pods serve the iam module.
func services(t *v1alpha1.HelpdeskTenant) map[string]string {
	// The identity module (users, keys, sessions) runs in the gateway's
	// pods; every other component asks it about the credentials it is
	// sent.
	out := map[string]string{"iam": grpcAddr(t, v1alpha1.ComponentGateway)}
	for _, c := range v1alpha1.AllComponents() {
		if c != v1alpha1.ComponentGateway && t.Spec.Components.IsEnabled(c) {
			out[string(c)] = grpcAddr(t, c)
		}
	}
	return out
}

// precedence is the policy's precedence, its default when unset.
func precedence(p *v1alpha1.SLAPolicy) int32 {
	return cmp.Or(p.Spec.Precedence, v1alpha1.DefaultPrecedence)
}

// order is the rule's order, its default when unset.
func order(r *v1alpha1.RoutingRule) int32 {
	return cmp.Or(r.Spec.Order, v1alpha1.DefaultRoutingRuleOrder)
}

// hashData is the hex SHA-256 of a ConfigMap's data: each key and value in
// key order, NUL-terminated.
func hashData(data map[string]string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(data[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// grpcAddr is the in-cluster gRPC address of a component's Service.
func grpcAddr(t *v1alpha1.HelpdeskTenant, c v1alpha1.ComponentName) string {
	return fmt.Sprintf("%s.%s.svc:%d", componentName(t, c), t.Namespace, grpcPort)
}
