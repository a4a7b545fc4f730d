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
	// Chat is the live web chat's (the widget's) limits and key.
	Chat ChatConfig `json:"chat,omitzero"`
}

// ChatConfig configures the web chat. Who is offered a tenant's chats,
// and how long a visitor waits for them, is the tenant's
// (spec.channels.chat).
type ChatConfig struct {
	// VisitorKey signs visitors' tokens (prefer KUBEDESK_CHAT_VISITOR_KEY):
	// every process running the channel module needs the same one.
	// Empty: derived from the internal token, or in an all-in-one
	// without one, made once and kept in the data directory
	// (chat-visitor.key). Changing it makes every visitor a new one
	// (their chats stay as tickets).
	VisitorKey string `json:"visitorKey,omitempty"`
	// MaxMessageBytes is the longest message a visitor may send, in
	// bytes of UTF-8 (default 4096, at most 65536); the gateway and the
	// channel service both refuse longer ones, saying so.
	MaxMessageBytes int `json:"maxMessageBytes,omitempty"`
	// PerVisitor limits one visitor's messages (default 20 at once, then
	// one a second); typing and read receipts may come ten times as
	// often.
	PerVisitor auth.Rate `json:"perVisitor,omitzero"`
	// NewVisitors limits the visitors one client address starts
	// (default 60 at once, then one a second), so that nobody dodges
	// PerVisitor with fresh tokens.
	NewVisitors auth.Rate `json:"newVisitors,omitzero"`
}

// The bounds of channel.chat.maxMessageBytes.
const (
	DefaultChatMessageBytes = 4096
	MaxChatMessageBytes     = 65536 // the ceiling of ChatVisitorService's text
	minChatVisitorKey       = 32
)

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
		Chat: ChatConfig{
			MaxMessageBytes: DefaultChatMessageBytes,
			PerVisitor:      auth.Rate{PerSecond: 1, Burst: 20},
			NewVisitors:     auth.Rate{PerSecond: 1, Burst: 60},
		},
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
		{"chat.perVisitor", c.Chat.PerVisitor},
		{"chat.newVisitors", c.Chat.NewVisitors},
	} {
		if r.rate.PerSecond <= 0 || r.rate.Burst < 1 {
			errs = append(errs, fmt.Errorf("channel.%s: {perSecond: %g, burst: %d}; accepted: perSecond > 0 and burst >= 1", r.field, r.rate.PerSecond, r.rate.Burst))
		}
	}
	if n := c.Chat.MaxMessageBytes; n < 1 || n > MaxChatMessageBytes {
		errs = append(errs, fmt.Errorf("channel.chat.maxMessageBytes: %d; accepted: 1 to %d", n, MaxChatMessageBytes))
	}
	if k := c.Chat.VisitorKey; k != "" && len(k) < minChatVisitorKey {
		// The key itself is never echoed.
		errs = append(errs, fmt.Errorf("channel.chat.visitorKey: has %d characters; accepted: at least %d, or empty to derive it from the internal token", len(k), minChatVisitorKey))
	}
	return errors.Join(errs...)
}
