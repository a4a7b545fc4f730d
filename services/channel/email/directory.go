package email

import (
	"cmp"
	"fmt"
	"net/mail"
	"strings"

	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// DefaultAddress is the inbound address of the all-in-one's default
// tenant when no tenant declares one: mail to it opens tickets there.
const DefaultAddress = "support@default.localhost"

// Mailbox is one inbound address: whose it is and which group its
// tickets go to.
type Mailbox struct {
	Address string
	Tenant  string
	Group   string
}

// Sender is how a tenant's mail goes out.
type Sender struct {
	// From is the sender of replies and acknowledgements.
	From mail.Address
	// AutoAcknowledge sends an acknowledgement for every new ticket that
	// came by e-mail.
	AutoAcknowledge bool
	// Locale is the tenant's spec.locale: the language of its mail when
	// nothing closer to the customer says (zh* is Chinese, anything else
	// English, unless Templates has it).
	Locale string
	// DefaultLocale is spec.channels.email.defaultLocale: the language
	// of mail to a contact without a locale ("": the customer's script,
	// else Locale).
	DefaultLocale string
	// Templates are the tenant's mail templates over the built-in ones.
	Templates *Templates
	// Name is the tenant's display name, shown in templates.
	Name string
}

// Directory maps inbound addresses to tenants and groups, and tenants to
// their outbound settings. It is built once from the tenants' documents
// and read concurrently.
type Directory struct {
	boxes   map[string]Mailbox // by lower-case address
	senders map[string]Sender  // by tenant
}

// NewDirectory builds the directory from the tenants' documents of the
// configuration. Without any inbound address, defaultTenant (the
// all-in-one's tenant, "" for none) receives DefaultAddress.
func NewDirectory(tenants []tenant.Config, defaultTenant string) (*Directory, error) {
	d := &Directory{boxes: map[string]Mailbox{}, senders: map[string]Sender{}}
	for _, t := range tenants {
		e := t.Spec.Channels.Email
		for i, in := range e.Inbound {
			addr := strings.ToLower(strings.TrimSpace(in.Address))
			if prev, ok := d.boxes[addr]; ok {
				return nil, fmt.Errorf("HelpdeskTenant %s: spec.channels.email.inbound[%d].address: %s is already an inbound address of tenant %s; accepted: each address once across tenants", t.ID, i, addr, prev.Tenant)
			}
			d.boxes[addr] = Mailbox{Address: addr, Tenant: t.ID, Group: in.Group}
		}
		templates, err := NewTemplates(e.Templates)
		if err != nil {
			return nil, fmt.Errorf("HelpdeskTenant %s: %w", t.ID, err)
		}
		s := Sender{
			AutoAcknowledge: e.AutoAcknowledges(),
			Locale:          t.Spec.Locale,
			DefaultLocale:   e.DefaultLocale,
			Templates:       templates,
			Name:            cmp.Or(t.Spec.DisplayName, t.ID),
		}
		switch {
		case e.From != "":
			from, err := mail.ParseAddress(e.From)
			if err != nil {
				return nil, fmt.Errorf("HelpdeskTenant %s: spec.channels.email.from: %q: %w; accepted: an address such as Acme Support <support@acme.example>", t.ID, e.From, err)
			}
			s.From = *from
		case len(e.Inbound) > 0:
			s.From = mail.Address{Name: s.Name, Address: strings.ToLower(e.Inbound[0].Address)}
		}
		d.senders[t.ID] = s
	}
	if len(d.boxes) == 0 && defaultTenant != "" {
		d.boxes[DefaultAddress] = Mailbox{Address: DefaultAddress, Tenant: defaultTenant}
		s, ok := d.senders[defaultTenant]
		if !ok {
			s = Sender{AutoAcknowledge: true, Name: defaultTenant}
		}
		if s.From.Address == "" {
			s.From = mail.Address{Name: s.Name, Address: DefaultAddress}
		}
		d.senders[defaultTenant] = s
	}
	return d, nil
}

// Lookup returns the mailbox of an inbound address (any case; a
// "+suffix" on the local part is ignored, so support+vip@ reaches
// support@).
func (d *Directory) Lookup(addr string) (Mailbox, bool) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if b, ok := d.boxes[addr]; ok {
		return b, true
	}
	local, domain, ok := strings.Cut(addr, "@")
	if plus := strings.IndexByte(local, '+'); ok && plus > 0 {
		b, ok := d.boxes[local[:plus]+"@"+domain]
		return b, ok
	}
	return Mailbox{}, false
}

// Sender returns the outbound settings of a tenant; ok is false for a
// tenant without an e-mail address to send from.
func (d *Directory) Sender(tenantID string) (Sender, bool) {
	s, ok := d.senders[tenantID]
	return s, ok && s.From.Address != ""
}

// Tenants lists the tenants that have an e-mail channel.
func (d *Directory) Tenants() []string {
	out := make([]string, 0, len(d.senders))
	for t, s := range d.senders {
		if s.From.Address != "" {
			out = append(out, t)
		}
	}
	return out
}
