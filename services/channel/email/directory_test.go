package email

import (
	"strings"
	"testing"

	"github.com/kubedesk/kubedesk/operator/api/mailtemplate"
	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

func tenantWith(id, from string, inbound ...v1alpha1.EmailInbound) tenant.Config {
	var spec v1alpha1.HelpdeskTenantSpec
	spec.SetDefaults()
	spec.Channels.Email.Inbound = inbound
	spec.Channels.Email.From = from
	return tenant.Config{ID: id, Spec: spec}
}

func TestDirectory(t *testing.T) {
	acme := tenantWith("acme", "", v1alpha1.EmailInbound{Address: "Support@Acme.Example", Group: "support"}, v1alpha1.EmailInbound{Address: "billing@acme.example", Group: "billing"})
	globex := tenantWith("globex", "Globex Help <help@globex.example>", v1alpha1.EmailInbound{Address: "help@globex.example"})
	globex.Spec.Channels.Email.DefaultLocale = "ja"
	globex.Spec.Channels.Email.Templates = &v1alpha1.EmailTemplates{Acknowledgement: map[string]v1alpha1.EmailTemplate{"ja": {Subject: "受付 {{.Token}}"}}}
	d, err := NewDirectory([]tenant.Config{acme, globex}, "default")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr        string
		tenant, grp string
		found       bool
	}{
		{"support@acme.example", "acme", "support", true},
		{"SUPPORT@ACME.EXAMPLE", "acme", "support", true},
		{"support+vip@acme.example", "acme", "support", true},
		{"billing@acme.example", "acme", "billing", true},
		{"help@globex.example", "globex", "", true},
		{"support@default.localhost", "", "", false}, // tenants declare addresses: no default one
		{"nobody@acme.example", "", "", false},
		{"+@acme.example", "", "", false},
	}
	for _, tt := range tests {
		b, ok := d.Lookup(tt.addr)
		if ok != tt.found || b.Tenant != tt.tenant || b.Group != tt.grp {
			t.Errorf("Lookup(%q) = %+v, %v; want %s/%s, %v", tt.addr, b, ok, tt.tenant, tt.grp, tt.found)
		}
	}
	if s, ok := d.Sender("acme"); !ok || s.From.Address != "support@acme.example" || !s.AutoAcknowledge {
		t.Errorf("acme sender %+v, %v: want the first inbound address, acknowledging", s, ok)
	}
	if s, _ := d.Sender("globex"); s.From.Name != "Globex Help" || s.From.Address != "help@globex.example" || s.DefaultLocale != "ja" {
		t.Errorf("globex sender %+v", s)
	} else if r, err := s.Templates.Render(mailtemplate.Acknowledgement, []string{s.DefaultLocale}, mailtemplate.Data{Number: 3, Subject: "印刷"}); err != nil || r.Subject != "受付 [#3]" || r.Locale != "ja" {
		t.Errorf("globex's acknowledgement %+v, %v", r, err)
	}
	if _, ok := d.Sender("default"); ok {
		t.Error("the default tenant has a sender though it has no address")
	}
}

func TestDirectoryDefault(t *testing.T) {
	d, err := NewDirectory(nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	b, ok := d.Lookup(DefaultAddress)
	if !ok || b.Tenant != "default" {
		t.Fatalf("Lookup(%s) = %+v, %v", DefaultAddress, b, ok)
	}
	if s, ok := d.Sender("default"); !ok || s.From.Address != DefaultAddress {
		t.Errorf("default sender %+v, %v", s, ok)
	}
}

func TestDirectoryErrors(t *testing.T) {
	tests := []struct {
		name    string
		tenants []tenant.Config
		want    string
	}{
		{"address of two tenants", []tenant.Config{
			tenantWith("acme", "", v1alpha1.EmailInbound{Address: "help@shared.example"}),
			tenantWith("globex", "", v1alpha1.EmailInbound{Address: "HELP@shared.example"}),
		}, "HelpdeskTenant globex: spec.channels.email.inbound[0].address: help@shared.example is already an inbound address of tenant acme; accepted: each address once across tenants"},
		{"bad from", []tenant.Config{tenantWith("acme", "not an address")},
			`HelpdeskTenant acme: spec.channels.email.from: "not an address": mail: no angle-addr; accepted: an address such as Acme Support <support@acme.example>`},
		{"bad template", []tenant.Config{func() tenant.Config {
			c := tenantWith("acme", "", v1alpha1.EmailInbound{Address: "support@acme.example"})
			c.Spec.Channels.Email.Templates = &v1alpha1.EmailTemplates{Acknowledgement: map[string]v1alpha1.EmailTemplate{"en": {Text: "{{.Ticket}}"}}}
			return c
		}()}, "HelpdeskTenant acme: spec.channels.email.templates.acknowledgement.en.text: template: line 1:2: unknown field .Ticket; accepted: .Number, .Token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDirectory(tt.tenants, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
}
