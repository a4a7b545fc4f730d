package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"

	"github.com/kubedesk/kubedesk/services/channel/webhook"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/platform/module"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/sla"
	"github.com/kubedesk/kubedesk/services/sla/relay"
	"github.com/kubedesk/kubedesk/workflows/escalation"
	"github.com/kubedesk/kubedesk/workflows/policy"
	"github.com/kubedesk/kubedesk/workflows/temporalserver"
	"github.com/kubedesk/kubedesk/workflows/worker"
)

// startClocks runs the SLA clocks: the embedded Temporal server unless an
// external one is configured, the Temporal worker, and one relay per
// tenant that has SLA policies. It returns a readiness check and the
// relays' loop.
func startClocks(ctx context.Context, cfg *Config, h *module.Host,
	policies *sla.InForce, tickets sla.Tickets,
) (module.Parts, error) {
	var parts module.Parts
	log := h.Log
	worker.SetProcessDefaults()
	tc := cfg.Worker.Temporal
	addr := tc.Address
	var conn client.ConnectionOptions
	if addr == "" {
		srv, err := temporalserver.Start(ctx, temporalserver.Options{
			DataDir:      cfg.DataDir,
			FrontendAddr: tc.ListenAddr,
			Namespaces:   []string{tc.Namespace},
			Logger:       log,
		})
		if err != nil {
			return parts, fmt.Errorf("embedded Temporal server: %w", err)
		}
		h.OnStop("embedded Temporal server", func(context.Context) error { return srv.Stop() })
		addr = srv.FrontendAddr()
		log.Info("embedded Temporal server started", "frontend", addr, "namespace", tc.Namespace)
		// The embedded server is on loopback: the SDK's default gzip
		// would compress every request and response only to inflate it
		// again in the same process (about 3 % of a busy server's CPU).
		conn.GrpcCompression = &client.GrpcCompressionNone{}
	}
	// Traces cross Temporal: a workflow started or signalled in a span
	// runs, and calls its activities, in that trace (the context travels
	// in the workflow's headers), and so do the ticket API calls the
	// activities make.
	tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{})
	if err != nil {
		return parts, fmt.Errorf("temporal tracing: %w", err)
	}
	c, err := client.DialContext(ctx, client.Options{
		HostPort:          addr,
		Namespace:         tc.Namespace,
		Logger:            sdklog.NewStructuredLogger(slog.New(warnOnly{log.With("component", "temporal-sdk").Handler()})),
		Interceptors:      []interceptor.ClientInterceptor{tracing},
		ConnectionOptions: conn,
	})
	if err != nil {
		return parts, fmt.Errorf("worker.temporal.address %s: %w", addr, err)
	}
	h.OnStop("Temporal client", func(context.Context) error { c.Close(); return nil })

	// The tenants of the file as the policies were read at start.
	w := worker.NewSLA(c, &escalation.Activities{Tickets: tickets, HTTPFor: slaWebhookClients(policies.Current().Tenants)}, worker.Options{})
	if err := w.Start(); err != nil {
		return parts, fmt.Errorf("SLA worker: %w", err)
	}
	h.OnStop("SLA worker", func(context.Context) error { w.Stop(); return nil })

	cursors, err := consumer.OpenCursors(ctx, cfg.DatabaseURL, cfg.DataDir, "worker.db")
	if err != nil {
		return parts, fmt.Errorf("SLA relay: %w", err)
	}
	h.OnStop("SLA relay cursors", func(context.Context) error { return cursors.Close() })
	relays := &relays{
		group: &consumer.Group{
			New: func(tenantID string) *consumer.Consumer {
				return &consumer.Consumer{
					Name: relay.ConsumerName, Tenant: tenantID, Stream: tickets.Client, Types: relay.EventTypes, Cursors: cursors, Log: log,
					Handler: &relay.Relay{
						Tenant: tenantID, Temporal: c, TaskQueue: worker.SLATaskQueue,
						Policies: func() *policy.Set { return policies.Current().Set },
						States:   tickets,
					},
				}
			},
			Log: log,
		},
		log: log,
	}
	running := relay.Running{Temporal: c, Tickets: tickets.Client, TaskQueue: worker.SLATaskQueue}
	relays.update = func(ctx context.Context, p *policy.Policy) {
		n, err := running.Update(ctx, p)
		if err != nil {
			log.Error("SLA policy change not applied to running clocks", "policy", p.Name, "signalled", n, "err", err)
			return
		}
		log.Info("SLA policy change applied to running clocks", "policy", p.Name, "workflows", n)
	}
	// A relay that stops for good (its stream refuses the cursor or the
	// credentials) ends the loop, and so the process; one whose stream
	// keeps failing retries and makes /readyz fail meanwhile.
	parts.Loops = append(parts.Loops, module.Loop{Name: "SLA relays", Run: func(ctx context.Context) error {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		if err := relays.follow(ctx, policies, time.Second); err != nil {
			// Stop the other tenants' relays (they save their
			// positions) before the process goes down.
			stop()
			_ = relays.wait()
			return err
		}
		return relays.wait()
	}})
	parts.Ready = append(parts.Ready, gateway.Check{Name: "SLA clocks", Check: func(ctx context.Context) error {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal: %w", err)
		}
		// A relay whose event stream keeps failing, or that stopped for
		// good, leaves SLA clocks unstarted: not ready.
		if err := relays.group.Healthy(); err != nil {
			return fmt.Errorf("SLA relay: %w", err)
		}
		return nil
	}})
	return parts, nil
}

// relays runs one relay per tenant that has SLA policies, as consumers of
// the tenant's ticket events; a tenant that gains its first policy in a
// reload gets its relay within a poll. A reloaded policy marked
// applyToRunning is sent to the running clocks.
type relays struct {
	group  *consumer.Group
	update func(ctx context.Context, p *policy.Policy)
	log    *slog.Logger
}

// follow adds a relay for every tenant with policies, until ctx ends (nil)
// or a relay stops for good (its error).
func (r *relays) follow(ctx context.Context, policies *sla.InForce, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	var seen *sla.Snapshot
	for {
		if snap := policies.Current(); snap != seen {
			if seen != nil {
				for _, p := range relay.ChangedForRunning(seen.Set, snap.Set) {
					r.update(ctx, p)
				}
			}
			seen = snap
			for _, p := range snap.Set.Policies() {
				if r.group.Add(ctx, p.Tenant) {
					r.log.Info("SLA relay started", "tenant", p.Tenant)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-r.group.Fatal():
			return err
		case <-t.C:
		}
	}
}

// wait waits for the relays to stop and returns the errors they stopped
// with.
func (r *relays) wait() error { return r.group.Wait() }

// warnOnly passes on warnings and errors only: the Temporal SDK logs every
// worker start and poll at info.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(as)} }
func (h warnOnly) WithGroup(n string) slog.Handler       { return warnOnly{h.Handler.WithGroup(n)} }

// slaWebhookClients gives each tenant's SLA webhook actions the client of
// its webhooks: the same address rules (no loopback, private or metadata
// address unless the tenant's spec.channels.webhooks.allowPrivateNetworks
// says so), no redirects, 10 s.
func slaWebhookClients(tenants map[string]tenant.Config) func(tenant string) *http.Client {
	const timeout = 10 * time.Second
	guarded := webhook.GuardedClient(webhook.Guard{}, timeout, 4)
	private := webhook.GuardedClient(webhook.Guard{AllowPrivate: true}, timeout, 4)
	return func(id string) *http.Client {
		if w := tenants[id].Spec.Channels.Webhooks; w != nil && w.AllowPrivateNetworks {
			return private
		}
		return guarded
	}
}
