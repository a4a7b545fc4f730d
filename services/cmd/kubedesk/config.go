package main

import (
	"errors"
	"io"

	"github.com/kubedesk/kubedesk/services/channel"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/routing"
	"github.com/kubedesk/kubedesk/services/sla"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// Config is `kubedesk serve`'s configuration: the settings every process
// has, then one section per module. It is the spec of a KubedeskConfig
// document:
//
//	spec:
//	  target: gateway,worker
//	  services: {ticket: ticket:9090}
//	  ticket: {priorityMatrix: ["P1 P2 P3", "P2 P3 P4", "P3 P4 P5"]}
//	  worker: {temporal: {address: temporal-frontend:7233}}
//	  gateway: {maxRequestBytes: 1048576}
type Config struct {
	config.Common
	IAM     iam.Config     `json:"iam,omitzero"`
	Ticket  ticket.Config  `json:"ticket,omitzero"`
	Worker  sla.Config     `json:"worker,omitzero"`
	Channel channel.Config `json:"channel,omitzero"`
	Routing routing.Config `json:"routing,omitzero"`
	Gateway gateway.Config `json:"gateway,omitzero"`
}

// defaultConfig returns the all-in-one defaults.
func defaultConfig() Config {
	return Config{
		Common: config.DefaultCommon(),
		IAM:    iam.DefaultConfig(),
		Ticket: ticket.Config{Matrix: ticket.DefaultMatrix, IdempotencyKeyTTL: config.Duration(ticket.DefaultIdempotencyKeyTTL),
			MaxAttachmentBytes: ticket.DefaultMaxAttachmentBytes},
		Worker:  sla.DefaultConfig(),
		Channel: channel.DefaultConfig(),
		Routing: routing.DefaultConfig(),
		Gateway: gateway.DefaultConfig(),
	}
}

// Options binds the flags to the configuration's fields.
func (c *Config) Options() []config.Option {
	return append(c.Common.Options(),
		config.String("temporal-address", `Temporal frontend host:port for SLA clocks; empty starts an embedded server in --data-dir, "none" runs no clocks`, &c.Worker.Temporal.Address),
		config.String("temporal-namespace", "Temporal namespace of the SLA workflows", &c.Worker.Temporal.Namespace),
		config.String("temporal-listen-addr", "listen address of the embedded Temporal server", &c.Worker.Temporal.ListenAddr),
		config.DurationOf("idempotency-key-ttl", "how long an Idempotency-Key is remembered (a retry within it returns the first result)", &c.Ticket.IdempotencyKeyTTL),
		config.String("smtp-addr", "listen address of the SMTP server that receives mail for the tenants' inbound addresses", &c.Channel.SMTP.Addr),
		config.String("smtp-relay", "SMTP relay replies go out through: smtp://user:password@host:587 (STARTTLS when offered; ?tls=required-starttls or none), smtps://... for implicit TLS; empty holds replies", &c.Channel.Email.Relay),
		config.String("smtp-tls-cert", "PEM certificate the SMTP server offers STARTTLS with (with --smtp-tls-key)", &c.Channel.SMTP.TLSCertFile),
		config.String("smtp-tls-key", "PEM private key of --smtp-tls-cert", &c.Channel.SMTP.TLSKeyFile),
		config.String("chat-visitor-key", "secret that signs web chat visitors' tokens, the same in every channel process (prefer KUBEDESK_CHAT_VISITOR_KEY); empty derives it from the internal token", &c.Channel.Chat.VisitorKey),
		config.String("blob-url", "where attachments' bytes are kept: empty for the blobs directory in --data-dir, or an s3:// URL (see blob.Open)", &c.Ticket.BlobURL),
		config.Int64("max-attachment-bytes", "largest accepted attachment upload", &c.Ticket.MaxAttachmentBytes),
		config.Int64("max-request-bytes", "largest accepted REST request body", &c.Gateway.MaxRequestBytes),
		config.String("bootstrap-admin-key", "admin API key of the default tenant to register on start (prefer KUBEDESK_BOOTSTRAP_ADMIN_KEY); without it the first start writes one to --data-dir/admin.key", &c.IAM.BootstrapAdminKey),
		config.String("oidc-issuer-url", "OpenID Connect issuer whose JWT bearer tokens are accepted; empty accepts none", &c.IAM.OIDC.IssuerURL),
		config.DurationOf("routing-offline-grace", "how long an offline agent keeps its unanswered tickets before they return to their queues", &c.Routing.OfflineGrace),
		config.String("oidc-audience", "audience (aud) the issuer's tokens must carry", &c.IAM.OIDC.Audience),
	)
}

// Validate checks every section and which modules the targets need.
func (c *Config) Validate() error {
	errs := []error{c.Common.Validate(), c.IAM.Validate(), c.Ticket.Validate(), c.Worker.Validate(), c.Channel.Validate(), c.Routing.Validate(), c.Gateway.Validate()}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, err := modules(c).Resolve(c.Targets(), c.Services)
	return err
}

// parseConfig reads the configuration of `serve` from args, the
// environment and the --config file.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	cfg := defaultConfig()
	if err := config.Parse("serve", args, getenv, stderr, &cfg); err != nil {
		return nil, err
	}
	return &cfg, nil
}
