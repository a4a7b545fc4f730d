package v1alpha1

import "net/mail"

// HelpdeskTenant defaults that `kubedesk serve --config` applies to the
// HelpdeskTenant documents of its file, as the API server applies the
// schema's (+kubebuilder:default on HelpdeskTenantSpec, which must say the
// same). Only the fields the binary reads are defaulted here; the rest
// (image, components, database, temporal, attachments) are the
// operator's, and the binary ignores them.
const (
	// DefaultLocale is the locale of a tenant that names none.
	DefaultLocale = "en-US"
)

// SetDefaults fills the unset fields of s that the binary reads.
func (s *HelpdeskTenantSpec) SetDefaults() {
	if s.Locale == "" {
		s.Locale = DefaultLocale
	}
	if s.TimeZone == "" {
		s.TimeZone = DefaultTimeZone
	}
	if s.Calendar != nil {
		s.Calendar.SetDefaults()
	}
	if s.Channels.Email.AutoAcknowledge == nil {
		acknowledge := DefaultAutoAcknowledge
		s.Channels.Email.AutoAcknowledge = &acknowledge
	}
	if w := s.Channels.WeChat; w != nil && w.Mode == "" {
		w.Mode = WeChatModeSafe
	}
}

// DefaultAutoAcknowledge is spec.channels.email.autoAcknowledge when unset.
const DefaultAutoAcknowledge = true

// AutoAcknowledges reports whether a new ticket that came by e-mail gets
// an acknowledgement: autoAcknowledge, DefaultAutoAcknowledge when unset.
func (e EmailChannelSpec) AutoAcknowledges() bool {
	if e.AutoAcknowledge == nil {
		return DefaultAutoAcknowledge
	}
	return *e.AutoAcknowledge
}

// EmailFrom is the sender of the tenant's replies and acknowledgements:
// spec.channels.email.from, else the first inbound address with the
// display name (RFC 5322, the name quoted or encoded as it needs), else ""
// (no address to send from).
func (s *HelpdeskTenantSpec) EmailFrom() string {
	e := s.Channels.Email
	switch {
	case e.From != "":
		return e.From
	case len(e.Inbound) == 0:
		return ""
	}
	return (&mail.Address{Name: s.DisplayName, Address: e.Inbound[0].Address}).String()
}

// IsUnset reports whether c says nothing: no working hours, holidays or
// extra working days, and no time zone but UTC. The API server stores an
// omitted calendar as {} or, when a client sent calendar: {}, as
// {timeZone: UTC} (the schema default), so both read as unset.
func (c BusinessCalendar) IsUnset() bool {
	return len(c.WorkingHours) == 0 && len(c.Holidays) == 0 && len(c.ExtraWorkingDays) == 0 &&
		(c.TimeZone == "" || c.TimeZone == DefaultTimeZone)
}

// InheritCalendar gives a policy without a calendar of its own the
// tenant's default calendar (spec.calendar), and reports whether it did.
// It is the one rule for it: the operator applies it when it renders a
// tenant's policies, and `kubedesk serve --config` when the file holds the
// HelpdeskTenant beside them.
func (s *SLAPolicySpec) InheritCalendar(tenant *HelpdeskTenantSpec) bool {
	if tenant == nil || tenant.Calendar == nil || !s.Calendar.IsUnset() {
		return false
	}
	s.Calendar = *tenant.Calendar.DeepCopy()
	return true
}
