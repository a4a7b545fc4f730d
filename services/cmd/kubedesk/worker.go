package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/sla"
	"github.com/kubedesk/kubedesk/services/sla/relay"
	"github.com/kubedesk/kubedesk/workflows/policy"
	slawf "github.com/kubedesk/kubedesk/workflows/sla"
	"github.com/kubedesk/kubedesk/workflows/temporalserver"
	"github.com/kubedesk/kubedesk/workflows/worker"
)

// startClocks runs the SLA clocks: the embedded Temporal server unless an
// external one is configured, the Temporal worker, and one relay per
// tenant that has SLA policies. It returns a readiness check.
func startClocks(ctx context.Context, cfg config.Config, log *slog.Logger, stack *shutdownStack,
	policies *sla.InForce, tickets ticketv1.TicketServiceClient,
) (func(context.Context) error, error) {
	worker.SetProcessDefaults()
	addr := cfg.TemporalAddress
	var conn client.ConnectionOptions
	if addr == "" {
		srv, err := temporalserver.Start(ctx, temporalserver.Options{
			DataDir:      cfg.DataDir,
			FrontendAddr: cfg.TemporalListenAddr,
			Namespaces:   []string{cfg.TemporalNamespace},
			Logger:       log,
		})
		if err != nil {
			return nil, fmt.Errorf("embedded Temporal server: %w", err)
		}
		stack.push("embedded Temporal server", func(context.Context) error { return srv.Stop() })
		addr = srv.FrontendAddr()
		log.Info("embedded Temporal server started", "frontend", addr, "namespace", cfg.TemporalNamespace)
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
		return nil, fmt.Errorf("temporal tracing: %w", err)
	}
	c, err := client.DialContext(ctx, client.Options{
		HostPort:          addr,
		Namespace:         cfg.TemporalNamespace,
		Logger:            sdklog.NewStructuredLogger(slog.New(warnOnly{log.With("component", "temporal-sdk").Handler()})),
		Interceptors:      []interceptor.ClientInterceptor{tracing},
		ConnectionOptions: conn,
	})
	if err != nil {
		return nil, fmt.Errorf("temporalAddress %s: %w", addr, err)
	}
	stack.push("Temporal client", func(context.Context) error { c.Close(); return nil })

	w := worker.NewSLA(c, &slawf.Activities{Tickets: sla.Tickets{Client: tickets}}, worker.Options{})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("SLA worker: %w", err)
	}
	stack.push("SLA worker", func(context.Context) error { w.Stop(); return nil })

	cursors, err := relay.OpenCursors(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("SLA relay: %w", err)
	}
	stack.push("SLA relay cursors", func(context.Context) error { return cursors.Close() })
	relays := &relays{
		newRelay: func(tenantID string) *relay.Relay {
			return &relay.Relay{
				Tenant: tenantID, Tickets: tickets, Temporal: c, TaskQueue: worker.SLATaskQueue,
				Policies: func() *policy.Set { return policies.Current().Set },
				Cursors:  cursors, States: sla.Tickets{Client: tickets}, Log: log,
			}
		},
		log: log,
	}
	relayCtx, stopRelays := context.WithCancel(context.WithoutCancel(ctx))
	running := relay.Running{Temporal: c, Tickets: tickets, TaskQueue: worker.SLATaskQueue}
	relays.update = func(ctx context.Context, p *policy.Policy) {
		n, err := running.Update(ctx, p)
		if err != nil {
			log.Error("SLA policy change not applied to running clocks", "policy", p.Name, "signalled", n, "err", err)
			return
		}
		log.Info("SLA policy change applied to running clocks", "policy", p.Name, "workflows", n)
	}
	relays.wg.Go(func() { relays.follow(relayCtx, policies, time.Second) })
	stack.push("SLA relays", func(context.Context) error { stopRelays(); relays.wait(); return nil })

	return func(ctx context.Context) error {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal: %w", err)
		}
		return nil
	}, nil
}

// relays runs one relay per tenant that has SLA policies; a tenant that
// gains its first policy in a reload gets its relay within a poll. A
// reloaded policy marked applyToRunning is sent to the running clocks.
type relays struct {
	newRelay func(tenant string) *relay.Relay
	update   func(ctx context.Context, p *policy.Policy)
	log      *slog.Logger
	running  []string
	wg       sync.WaitGroup
}

func (r *relays) follow(ctx context.Context, policies *sla.InForce, every time.Duration) {
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
				if slices.Contains(r.running, p.Tenant) {
					continue
				}
				r.running = append(r.running, p.Tenant)
				rl := r.newRelay(p.Tenant)
				r.wg.Go(func() { _ = rl.Run(ctx) })
				r.log.Info("SLA relay started", "tenant", p.Tenant)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *relays) wait() { r.wg.Wait() }

// warnOnly passes on warnings and errors only: the Temporal SDK logs every
// worker start and poll at info.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(as)} }
func (h warnOnly) WithGroup(n string) slog.Handler       { return warnOnly{h.Handler.WithGroup(n)} }
