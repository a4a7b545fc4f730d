package tenant_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/tenant"
)

// TestChannel runs the channel component of a PostgreSQL tenant with an
// e-mail channel: its Deployment serves SMTP on 2525 and reads the relay
// from the Secret the spec names, its Service takes mail on port 25, the
// configuration carries spec.channels.email, and a changed relay restarts
// the channel's pods only.
func TestChannel(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "umbrella")
	create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "umbrella-db"}, StringData: map[string]string{"url": "postgres://x"}})
	relay := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "umbrella-smtp"},
		StringData: map[string]string{"url": "smtp://kubedesk:secret@smtp.umbrella.example:587?tls=starttls"}}
	create(t, ns, relay)
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "umbrella"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			DisplayName: "Umbrella Support",
			Database:    v1alpha1.DatabaseSpec{Postgres: &v1alpha1.PostgresDatabase{URLSecretRef: v1alpha1.SecretKeySelector{Name: "umbrella-db", Key: "url"}}},
			Temporal:    v1alpha1.TemporalSpec{Address: "temporal:7233"},
			Channels: v1alpha1.ChannelsSpec{Email: v1alpha1.EmailChannelSpec{
				Inbound:        []v1alpha1.EmailInbound{{Address: "support@umbrella.example", Group: "support"}, {Address: "billing@umbrella.example"}},
				RelaySecretRef: &v1alpha1.SecretKeySelector{Name: "umbrella-smtp", Key: "url"},
			}},
		},
	}
	create(t, ns, ht)

	var d appsv1.Deployment
	waitFor(t, "Deployment umbrella-channel", func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "umbrella-channel"}, &d)
	})
	cfg, err := configOf(ns, "umbrella")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Deployment", func(t *testing.T) {
		checkOwned(t, ht, &d, "channel")
		c := d.Spec.Template.Spec.Containers[0]
		if diff := cmp.Diff([]string{"serve", "--target=channel", "--config=/etc/kubedesk/kubedesk.yaml"}, c.Args); diff != "" {
			t.Errorf("args (-want +got):\n%s", diff)
		}
		wantPorts := []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			{Name: "grpc", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
			{Name: "smtp", ContainerPort: 2525, Protocol: corev1.ProtocolTCP},
		}
		if diff := cmp.Diff(wantPorts, c.Ports); diff != "" {
			t.Errorf("ports (-want +got):\n%s", diff)
		}
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"startup", c.StartupProbe, "/healthz"}} {
			if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
				t.Errorf("%s probe %+v, want GET %s", p.name, p.probe, p.path)
			}
		}
		ref := func(name, key string) *corev1.EnvVarSource {
			return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
		}
		want := []corev1.EnvVar{{Name: "KUBEDESK_DATABASE_URL", ValueFrom: ref("umbrella-db", "url")}}
		want = append(want, credentialEnv("umbrella", "channel")...)
		want = append(want, corev1.EnvVar{Name: "KUBEDESK_SMTP_RELAY", ValueFrom: ref("umbrella-smtp", "url")})
		if diff := cmp.Diff(want, c.Env); diff != "" {
			t.Errorf("env (-want +got):\n%s", diff)
		}
		if got := d.Spec.Template.Annotations[tenant.ConfigHashAnnotation]; got != configHash(map[string]string{tenant.ConfigFile: cfg}) {
			t.Errorf("pod template %s = %q, want the configuration's hash", tenant.ConfigHashAnnotation, got)
		}
	})

	t.Run("no relay for the others", func(t *testing.T) {
		for _, c := range []string{"gateway", "ticket", "worker"} {
			var other appsv1.Deployment
			// The controller writes the Deployments one by one.
			waitFor(t, "Deployment umbrella-"+c, func() error {
				return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "umbrella-" + c}, &other)
			})
			for _, e := range other.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "KUBEDESK_SMTP_RELAY" {
					t.Errorf("Deployment %s has KUBEDESK_SMTP_RELAY; only the channel sends mail", other.Name)
				}
			}
			if n := len(other.Spec.Template.Spec.Containers[0].Ports); n != 2 {
				t.Errorf("Deployment %s has %d ports, want http and grpc", other.Name, n)
			}
		}
	})

	t.Run("Service", func(t *testing.T) {
		var s corev1.Service
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "umbrella-channel"}, &s); err != nil {
			t.Fatal(err)
		}
		checkOwned(t, ht, &s, "channel")
		var ports []string
		for _, p := range s.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%s %d->%s %s", p.Name, p.Port, p.TargetPort.String(), p.Protocol))
		}
		if diff := cmp.Diff([]string{"http 8080->http TCP", "grpc 9090->grpc TCP", "smtp 25->smtp TCP"}, ports); diff != "" {
			t.Errorf("ports (-want +got):\n%s", diff)
		}
	})

	t.Run("configuration", func(t *testing.T) {
		docs := strings.Split(cfg, "\n---\n")
		var head struct {
			Spec struct {
				Services map[string]string `json:"services"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(docs[0]), &head); err != nil {
			t.Fatal(err)
		}
		if got, want := head.Spec.Services["channel"], "umbrella-channel."+ns+".svc:9090"; got != want {
			t.Errorf("services.channel = %q, want %q", got, want)
		}
		var doc v1alpha1.HelpdeskTenant
		if err := yaml.UnmarshalStrict([]byte(docs[1]), &doc); err != nil {
			t.Fatalf("the HelpdeskTenant document: %v\n%s", err, docs[1])
		}
		want := v1alpha1.EmailChannelSpec{
			Inbound:         []v1alpha1.EmailInbound{{Address: "support@umbrella.example", Group: "support"}, {Address: "billing@umbrella.example"}},
			AutoAcknowledge: ptr.To(true), // the schema default
		}
		if diff := cmp.Diff(want, doc.Spec.Channels.Email); diff != "" {
			t.Errorf("spec.channels.email in the configuration (-want +got), want it without the relay Secret:\n%s", diff)
		}
	})

	t.Run("a changed relay restarts the channel only", func(t *testing.T) {
		before := podCredentials(t, ns, "umbrella")
		if before["channel"] == before["ticket"] || before["ticket"] != before["gateway"] {
			t.Fatalf("credentials hashes %v; want the channel's (with the relay) apart from the others'", before)
		}
		update(t, relay, func(s *corev1.Secret) { s.Data["url"] = []byte("smtps://kubedesk:rotated@smtp.umbrella.example:465") })
		waitFor(t, "the channel's pods to restart on the new relay", func() error {
			got := podCredentials(t, ns, "umbrella")
			if got["channel"] == before["channel"] {
				return fmt.Errorf("channel credentials hash still %s", got["channel"])
			}
			for _, c := range []string{"gateway", "ticket", "worker"} {
				if got[c] != before[c] {
					return fmt.Errorf("%s credentials hash changed: %s -> %s", c, before[c], got[c])
				}
			}
			return nil
		})
	})

	t.Run("missing relay Secret", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.RelaySecretRef = &v1alpha1.SecretKeySelector{Name: "umbrella-relay", Key: "url"}
		})
		tenantCondition(t, ns, "umbrella", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
			`spec.channels.email.relaySecretRef.name: Secret "umbrella-relay" does not exist in namespace `+ns+`; create it with the SMTP relay URL under the key "url"`)
		create(t, ns, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "umbrella-relay"}, StringData: map[string]string{"uri": "smtp://x"}})
		tenantCondition(t, ns, "umbrella", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
			`spec.channels.email.relaySecretRef.key: Secret "umbrella-relay" has no key "url"; it has: uri`)
	})

	t.Run("disabled", func(t *testing.T) {
		update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Components.Channel = &v1alpha1.ComponentSpec{Enabled: ptr.To(false)}
		})
		gone(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "umbrella-channel"}})
		gone(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "umbrella-channel"}})
		// A relay Secret that is missing matters no more.
		tenantCondition(t, ns, "umbrella", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, "")
		cfg, err := configOf(ns, "umbrella")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(cfg, "umbrella-channel") {
			t.Errorf("the configuration of a tenant without the channel names its Service:\n%s", cfg)
		}
	})
}

// podCredentials maps each component of a tenant to its pods'
// credentials hash.
func podCredentials(t *testing.T, ns, tenantName string) map[string]string {
	t.Helper()
	var list appsv1.DeploymentList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{tenant.LabelInstance: tenantName}); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range list.Items {
		out[d.Labels[tenant.LabelComponent]] = d.Spec.Template.Annotations[tenant.CredentialsHashAnnotation]
	}
	return out
}

// TestChannelSchema: the API server refuses an inbound address twice, an
// address that is not a lower-case e-mail address, a from on two lines,
// a mail template under a locale that is not a BCP 47 tag or with a
// subject on two lines, and channel replicas on the embedded database.
func TestChannelSchema(t *testing.T) {
	ns := newNamespace(t, "schema")
	base := func() *v1alpha1.HelpdeskTenant {
		return &v1alpha1.HelpdeskTenant{
			ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: ns},
			Spec: v1alpha1.HelpdeskTenantSpec{
				Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
				Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
			},
		}
	}
	for _, tt := range []struct {
		name string
		edit func(*v1alpha1.HelpdeskTenant)
		want string // in the error; "" accepts
	}{
		{"channel enabled", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Components.Channel = &v1alpha1.ComponentSpec{Enabled: ptr.To(true)}
		}, ""},
		{"duplicate inbound address", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.Inbound = []v1alpha1.EmailInbound{{Address: "support@acme.example", Group: "a"}, {Address: "support@acme.example", Group: "b"}}
		}, `spec.channels.email.inbound[1]: Duplicate value: {"address":"support@acme.example"}`},
		{"upper-case address", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.Inbound = []v1alpha1.EmailInbound{{Address: "Support@acme.example"}}
		}, `spec.channels.email.inbound[0].address: Invalid value: "Support@acme.example": spec.channels.email.inbound[0].address in body should match`},
		{"not an address", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.Inbound = []v1alpha1.EmailInbound{{Address: "support"}}
		}, `spec.channels.email.inbound[0].address: Invalid value: "support"`},
		{"from on two lines", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.From = "Acme <support@acme.example>\r\nBcc: all@acme.example"
		}, "spec.channels.email.from: Invalid value: \"Acme <support@acme.example>\\r\\nBcc: all@acme.example\": from must be one line"},
		{"group too long", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.Inbound = []v1alpha1.EmailInbound{{Address: "support@acme.example", Group: strings.Repeat("g", 201)}}
		}, "spec.channels.email.inbound[0].group: Too long: may not be more than 200"},
		{"mail templates", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.DefaultLocale = "zh-CN"
			ht.Spec.Channels.Email.Templates = &v1alpha1.EmailTemplates{
				Acknowledgement: map[string]v1alpha1.EmailTemplate{"zh-CN": {Subject: "已受理 {{.Token}}"}, "en": {Text: "Hello {{.Requester}}"}, "zh-Hant-TW": {Text: "您好"}},
				Reply:           map[string]v1alpha1.EmailTemplate{"ja": {HTML: "<p>{{.Body}}</p>"}},
			}
		}, ""},
		{"default locale", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.DefaultLocale = "chinese"
		}, `spec.channels.email.defaultLocale: Invalid value: "chinese"`},
		{"mail template locale", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.Templates = &v1alpha1.EmailTemplates{Acknowledgement: map[string]v1alpha1.EmailTemplate{"en": {}, "zh_CN": {Subject: "已受理"}}}
		}, "spec.channels.email.templates.acknowledgement: Invalid value: locale zh_CN is not a BCP 47 tag; accepted: language, optional script, optional region, e.g. en, zh-CN, zh-Hant-TW"},
		{"mail template subject on two lines", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.Templates = &v1alpha1.EmailTemplates{Reply: map[string]v1alpha1.EmailTemplate{"en": {Subject: "Re: {{.Subject}}\r\nBcc: all@acme.example"}}}
		}, `spec.channels.email.templates.reply[en].subject: Invalid value: "Re: {{.Subject}}\r\nBcc: all@acme.example": subject must be one line`},
		{"mail template too long", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Channels.Email.Templates = &v1alpha1.EmailTemplates{Reply: map[string]v1alpha1.EmailTemplate{"en": {Text: strings.Repeat("x", 16385)}}}
		}, "spec.channels.email.templates.reply.en.text: Too long: may not be more than 16384 bytes"},
		{"channel replicas on the embedded database", func(ht *v1alpha1.HelpdeskTenant) {
			ht.Spec.Components.Channel = &v1alpha1.ComponentSpec{Replicas: ptr.To[int32](2)}
		}, "database.embedded needs every component at replicas <= 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ht := base()
			tt.edit(ht)
			err := k8s.Create(context.Background(), ht, client.DryRunAll)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("accepted, want an error with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestMailTemplates: a tenant's mail templates reach its configuration;
// one that names a placeholder that does not exist makes the tenant
// Degraded, naming the field and the placeholders accepted, and its pods
// stay on the configuration they run.
func TestMailTemplates(t *testing.T) {
	ns := newNamespace(t, "initech")
	ht := &v1alpha1.HelpdeskTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "initech"},
		Spec: v1alpha1.HelpdeskTenantSpec{
			Database: v1alpha1.DatabaseSpec{Embedded: &v1alpha1.EmbeddedDatabase{}},
			Temporal: v1alpha1.TemporalSpec{Embedded: &v1alpha1.EmbeddedTemporal{}},
			Channels: v1alpha1.ChannelsSpec{Email: v1alpha1.EmailChannelSpec{
				Inbound: []v1alpha1.EmailInbound{{Address: "help@initech.example"}},
				Templates: &v1alpha1.EmailTemplates{Acknowledgement: map[string]v1alpha1.EmailTemplate{
					"zh-CN": {Subject: "工单 {{.Token}} 已受理"},
				}},
			}},
		},
	}
	create(t, ns, ht)
	waitFor(t, "the templates in the configuration", func() error {
		cfg, err := configOf(ns, "initech")
		if err != nil {
			return err
		}
		if !strings.Contains(cfg, "subject: 工单 {{.Token}} 已受理") {
			return fmt.Errorf("no template in the configuration:\n%s", cfg)
		}
		return onConfig(ns, "initech")
	})
	before, err := configOf(ns, "initech")
	if err != nil {
		t.Fatal(err)
	}

	update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
		ht.Spec.Channels.Email.Templates.Acknowledgement["zh-CN"] = v1alpha1.EmailTemplate{Subject: "工单 #{{.Nubmer}} 已受理"}
	})
	tenantCondition(t, ns, "initech", v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
		"spec.channels.email.templates.acknowledgement.zh-CN.subject: template: line 1:6: unknown field .Nubmer; accepted: .Number, .Token, .Subject, .Requester, .RequesterEmail, .Description, .Tenant, .ReplyTo, .Locale; the pods stay on the last configuration")
	if after, err := configOf(ns, "initech"); err != nil || after != before {
		t.Errorf("the configuration changed under a refused template (err %v):\n%s", err, after)
	}
	if err := onConfig(ns, "initech"); err != nil {
		t.Error(err)
	}

	update(t, ht, func(ht *v1alpha1.HelpdeskTenant) {
		ht.Spec.Channels.Email.Templates.Acknowledgement["zh-CN"] = v1alpha1.EmailTemplate{Subject: "工单 #{{.Number}} 已受理"}
	})
	waitFor(t, "the corrected template in the configuration", func() error {
		cfg, err := configOf(ns, "initech")
		if err != nil {
			return err
		}
		if !strings.Contains(cfg, "subject: '工单 #{{.Number}} 已受理'") && !strings.Contains(cfg, "subject: 工单 #{{.Number}} 已受理") {
			return fmt.Errorf("no corrected template in the configuration:\n%s", cfg)
		}
		return nil
	})
	if ht := tenantCondition(t, ns, "initech", v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, ""); ht == nil {
		t.Fatal("no tenant")
	}
}
