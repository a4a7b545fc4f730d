package channel

import (
	"errors"
	"fmt"

	"github.com/kubedesk/kubedesk/services/channel/smtpin"
	"github.com/kubedesk/kubedesk/services/channel/smtpout"
	"github.com/kubedesk/kubedesk/services/channel/webhook"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// Config is the channel module's section of the configuration:
//
//	channel:
//	  smtp: {addr: ":2525", maxMessageBytes: 26214400, tlsCertFile: ..., tlsKeyFile: ...}
//	  email: {relay: "smtp://user:password@relay.example:587", perSender: {perSecond: 0.0083, burst: 30}}
//	  webhooks: {timeout: 10s, retry: {initial: 10s, max: 10m, window: 24h}, secretRotationWindow: 24h}
type Config struct {
	// SMTP is the inbound SMTP listener.
	SMTP smtpin.Config `json:"smtp,omitzero"`
	// Email is the e-mail channel's behaviour.
	Email EmailConfig `json:"email,omitzero"`
	// SignInCodes limits customers' requests for one-time sign-in codes
	// (POST /v1/contacts:sendSignInCode).
	SignInCodes SignInCodeConfig `json:"signInCodes,omitzero"`
	// Webhooks is the outgoing webhooks' timeout, retries and secret
	// rotation window (see webhook.Config).
	Webhooks webhook.Config `json:"webhooks,omitzero"`
}

// SignInCodeConfig limits the sign-in codes asked for: per e-mail address
// of a tenant (default 5 an hour, 5 at once), so that nobody floods a
// mailbox or tries one code after another, and per client address
// (default 20 at once, then 3 a minute), so that nobody walks through
// addresses. Each replica counts its own.
type SignInCodeConfig struct {
	PerAddress auth.Rate `json:"perAddress,omitzero"`
	PerClient  auth.Rate `json:"perClient,omitzero"`
}

// EmailConfig configures the e-mail channel.
type EmailConfig struct {
	// Relay is the SMTP relay replies go out through (see
	// smtpout.ParseRelay); empty holds replies and says so on the ticket.
	Relay string `json:"relay,omitempty"`
	// PerSender caps the mail one sender address may bring into a tenant
	// (default 30 an hour, 30 at once): a mail loop with a robot that
	// ignores Auto-Submitted stops there.
	PerSender auth.Rate `json:"perSender,omitzero"`
}

// DefaultConfig returns the defaults: SMTP on :2525, no relay.
func DefaultConfig() Config {
	return Config{
		SMTP:  smtpin.DefaultConfig(),
		Email: EmailConfig{PerSender: auth.Rate{PerSecond: 30.0 / 3600, Burst: 30}},
		SignInCodes: SignInCodeConfig{
			PerAddress: auth.Rate{PerSecond: 5.0 / 3600, Burst: 5},
			PerClient:  auth.Rate{PerSecond: 3.0 / 60, Burst: 20},
		},
		Webhooks: webhook.DefaultConfig(),
	}
}

// Validate checks the section; errors name the field as channel.<path>.
func (c Config) Validate() error {
	errs := []error{c.SMTP.Validate(), c.Webhooks.Validate()}
	if c.Email.Relay != "" {
		if _, err := smtpout.ParseRelay("channel.email.relay", c.Email.Relay); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range []struct {
		field string
		rate  auth.Rate
	}{
		{"email.perSender", c.Email.PerSender},
		{"signInCodes.perAddress", c.SignInCodes.PerAddress},
		{"signInCodes.perClient", c.SignInCodes.PerClient},
	} {
		if r.rate.PerSecond <= 0 || r.rate.Burst < 1 {
			errs = append(errs, fmt.Errorf("channel.%s: {perSecond: %g, burst: %d}; accepted: perSecond > 0 and burst >= 1", r.field, r.rate.PerSecond, r.rate.Burst))
		}
	}
	return errors.Join(errs...)
}
