package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	routingv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/routing/v1"
	slav1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/sla/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/blob"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/platform/module"
	"github.com/kubedesk/kubedesk/services/sla"
	"github.com/kubedesk/kubedesk/services/ticket"
	"github.com/kubedesk/kubedesk/services/ticket/store"
)

// Module names: the --target values and the keys of the services map.
const (
	moduleIAM     = "iam"
	moduleTicket  = "ticket"
	moduleWorker  = "worker"
	moduleChannel = "channel"
	moduleGateway = "gateway"
)

// modules is the binary's module table. Adding a service is one entry
// here (see docs/adding-a-service.md).
func modules(cfg *Config) module.Table {
	// Every module that serves gRPC authenticates its callers through the
	// identity module: in this process, or over gRPC where it runs
	// elsewhere (it runs with the gateway).
	worker := module.Module{
		Name:     moduleWorker,
		Calls:    []string{moduleIAM, moduleTicket},
		Services: []string{slav1.SLAPolicyService_ServiceDesc.ServiceName},
		REST:     slav1.RegisterSLAPolicyServiceHandler,
		Init:     func(ctx context.Context, h *module.Host) (module.Parts, error) { return initWorker(ctx, cfg, h) },
	}
	if cfg.Worker.Temporal.Address == sla.TemporalNone {
		// Without clocks the worker only serves the policies.
		worker.Optional = []string{moduleTicket}
	}
	t := module.Table{
		{
			Name: moduleIAM,
			Services: []string{
				iamv1.IdentityService_ServiceDesc.ServiceName,
				iamv1.AuthService_ServiceDesc.ServiceName, // internal: no REST routes
			},
			REST: iamv1.RegisterIdentityServiceHandler,
			Init: func(ctx context.Context, h *module.Host) (module.Parts, error) { return initIAM(ctx, cfg, h) },
		},
		{
			Name:  moduleTicket,
			Calls: []string{moduleIAM},
			Lazy:  []string{moduleChannel}, // requesters named by e-mail become contacts
			Services: []string{
				ticketv1.TicketService_ServiceDesc.ServiceName,
				ticketv1.TicketSLAService_ServiceDesc.ServiceName,     // internal: no REST routes
				ticketv1.TicketBlobService_ServiceDesc.ServiceName,    // internal: no REST routes
				ticketv1.TicketRoutingService_ServiceDesc.ServiceName, // internal: no REST routes
			},
			REST: ticketv1.RegisterTicketServiceHandler,
			Init: func(ctx context.Context, h *module.Host) (module.Parts, error) { return initTicket(ctx, cfg, h) },
		},
		worker,
		{
			Name:  moduleChannel,
			Calls: []string{moduleIAM, moduleTicket}, // it writes tickets through the ticket API
			Services: []string{
				channelv1.ContactService_ServiceDesc.ServiceName,
				channelv1.OrganizationService_ServiceDesc.ServiceName,
				channelv1.WebhookService_ServiceDesc.ServiceName,
				channelv1.ContactResolverService_ServiceDesc.ServiceName, // internal: no REST routes
				channelv1.WeChatCallbackService_ServiceDesc.ServiceName,  // internal: the gateway's WeChat callback URL
				channelv1.ChatService_ServiceDesc.ServiceName,
				channelv1.ChatVisitorService_ServiceDesc.ServiceName, // internal: the gateway's web chat endpoints
			},
			REST: registerChannelREST,
			Endpoints: func(conn *grpc.ClientConn, log *slog.Logger) []gateway.Endpoint {
				return channelEndpoints(cfg, conn, log)
			},
			Init: func(ctx context.Context, h *module.Host) (module.Parts, error) { return initChannel(ctx, cfg, h) },
		},
		{
			Name:     moduleRouting,
			Calls:    []string{moduleIAM, moduleTicket}, // users' names and roles; it assigns through the ticket API
			Optional: []string{moduleChannel},           // customers' tiers and organisations
			Services: []string{routingv1.RoutingService_ServiceDesc.ServiceName},
			REST:     routingv1.RegisterRoutingServiceHandler,
			Init:     func(ctx context.Context, h *module.Host) (module.Parts, error) { return initRouting(ctx, cfg, h) },
		},
	}
	// The gateway serves the REST API of every module it can reach; it is
	// of no use without the ticket service. It runs the identity module
	// (users, sessions, keys) beside it.
	gw := module.Module{
		Name: moduleGateway,
		Deps: []string{moduleIAM},
		Init: func(ctx context.Context, h *module.Host) (module.Parts, error) { return initGateway(ctx, cfg, h) },
	}
	for _, m := range t {
		if m.REST != nil && m.Name != moduleIAM {
			gw.Calls = append(gw.Calls, m.Name)
			if m.Name != moduleTicket {
				gw.Optional = append(gw.Optional, m.Name)
			}
		}
	}
	return append(t, gw)
}

// initTicket opens the ticket store and the blob store of attachments and
// serves the ticket service.
func initTicket(ctx context.Context, cfg *Config, h *module.Host) (module.Parts, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return module.Parts{}, fmt.Errorf("ticket store: %w", err)
	}
	h.OnStop("ticket store", func(context.Context) error { return st.Close() })
	blobs, err := blob.Open(ctx, "--blob-url", cfg.Ticket.BlobURL, cfg.DataDir)
	if err != nil {
		return module.Parts{}, fmt.Errorf("ticket attachments: %w", err)
	}
	h.OnStop("blob store", func(context.Context) error { return blobs.Close() })
	opts := []ticket.Option{ticket.WithBlobs(blobs)}
	if h.Reachable(moduleChannel) {
		conn, err := h.Dial(moduleChannel)
		if err != nil {
			return module.Parts{}, err
		}
		opts = append(opts, ticket.WithContacts(requesterContacts{channelv1.NewContactResolverServiceClient(conn)}))
	} else {
		h.Log.Warn("requesters named by e-mail are not linked to contacts: the channel module does not run here and services.channel is not set")
	}
	tickets := ticket.NewServer(st, cfg.Ticket, h.Log, opts...)
	tickets.Register(h.GRPC)
	return module.Parts{
		Ready: []gateway.Check{{Name: "ticket store", Check: st.Ping}},
		Loops: []module.Loop{{Name: "idempotency key janitor", Run: tickets.RunJanitor}},
	}, nil
}

// initWorker serves the SLA policies of the --config file and runs the
// SLA clocks on Temporal.
func initWorker(ctx context.Context, cfg *Config, h *module.Host) (module.Parts, error) {
	var parts module.Parts
	policies := sla.NewInForce()
	if cfg.File != "" {
		// An invalid file stops start-up; later invalid edits are logged
		// and the policies in force stay.
		if err := policies.Load(cfg.File); err != nil {
			return parts, err
		}
		parts.Loops = append(parts.Loops, module.Loop{Name: "SLA policy watcher", Run: func(ctx context.Context) error {
			policies.Watch(ctx, cfg.File, 2*time.Second, h.Log)
			return ctx.Err()
		}})
	}
	sla.NewServer(policies).Register(h.GRPC)
	snap := policies.Current()
	h.Log.Info("SLA policies in force", "count", len(snap.Entries), "tenants", len(snap.Tenants), "file", cfg.File)

	if cfg.Worker.Temporal.Address == sla.TemporalNone {
		h.Log.Warn("--temporal-address=none: no SLA clocks run")
		return parts, nil
	}
	conn, err := h.Dial(moduleTicket)
	if err != nil {
		return parts, err
	}
	clocks, err := startClocks(ctx, cfg, h, policies, sla.NewTickets(conn))
	if err != nil {
		return parts, err
	}
	parts.Ready = append(parts.Ready, clocks.Ready...)
	parts.Loops = append(parts.Loops, clocks.Loops...)
	return parts, nil
}

// initGateway serves the REST API of every module this process can reach.
func initGateway(_ context.Context, _ *Config, h *module.Host) (module.Parts, error) {
	var parts module.Parts
	for _, m := range h.Table {
		if m.REST == nil {
			continue
		}
		if !h.Reachable(m.Name) {
			h.Log.Warn("the gateway serves no "+m.Name+" routes: it does not run here and services."+m.Name+" is not set", "module", m.Name)
			continue
		}
		// The REST API forwards the caller's credential, never the
		// process's own.
		conn, err := h.DialCaller(m.Name)
		if err != nil {
			return parts, err
		}
		parts.Routes = append(parts.Routes, gateway.Route{Name: m.Name, Conn: conn, Register: m.REST})
		for _, s := range m.Services {
			parts.Ready = append(parts.Ready, module.Serving(conn, s))
		}
		if m.Endpoints != nil {
			// Outside systems send no credential the identity module
			// knows: the module checks them, and is called as the
			// process itself.
			own, err := h.Dial(m.Name)
			if err != nil {
				return parts, err
			}
			parts.Endpoints = append(parts.Endpoints, m.Endpoints(own, h.Log)...)
		}
	}
	return parts, nil
}
