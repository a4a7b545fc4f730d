package v1alpha1

// SLAPolicy defaults. The API server applies them from the CRD schema (the
// +kubebuilder:default markers on SLAPolicySpec, which must say the same:
// TestSLAPolicyDefaultsMatchSchema compares them); everything that reads
// an SLAPolicy outside the API server (`kubedesk serve --config`, the
// operator's rendering, policy compilation) applies them with SetDefaults.
const (
	// DefaultPrecedence is the precedence of a policy that sets none.
	DefaultPrecedence int32 = 100
	// DefaultWarningThresholdPercent is the share of a target after which
	// a clock turns to warning when the policy sets none.
	DefaultWarningThresholdPercent int32 = 75
	// DefaultTimeZone is the time zone of a calendar that names none.
	DefaultTimeZone = "UTC"
)

// DefaultPauseOn returns the statuses that pause the clocks of a policy
// without pauseOn: waiting on the customer.
func DefaultPauseOn() []TicketStatus { return []TicketStatus{"pending"} }

// SetDefaults fills the fields of p's spec that the API server defaults,
// so that a policy read from a file means what it means in a cluster.
// It only sets fields that are unset: an explicit empty pauseOn ([]) stays
// empty (no status pauses the clocks).
func (p *SLAPolicy) SetDefaults() { p.Spec.SetDefaults() }

// SetDefaults fills the unset fields of s that the CRD schema defaults.
func (s *SLAPolicySpec) SetDefaults() {
	if s.Precedence == 0 {
		s.Precedence = DefaultPrecedence
	}
	if s.WarningThresholdPercent == 0 {
		s.WarningThresholdPercent = DefaultWarningThresholdPercent
	}
	if s.PauseOn == nil {
		s.PauseOn = DefaultPauseOn()
	}
	s.Calendar.SetDefaults()
}

// SetDefaults fills the unset fields of c that the CRD schema defaults:
// the time zone.
func (c *BusinessCalendar) SetDefaults() {
	if c.TimeZone == "" {
		c.TimeZone = DefaultTimeZone
	}
}
