package module

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/platform/grpcserver"
)

// Host is what the process offers its modules while they start.
type Host struct {
	Log *slog.Logger
	// GRPC is the process's one gRPC server, which every module that
	// serves gRPC registers on; nil when none does.
	GRPC *grpcserver.Server
	// Plan is what the process runs.
	Plan Plan
	// Table is the whole module table (a gateway serves the REST routes
	// of every module it can reach).
	Table Table
	// UseIdentity makes a the authenticator of every gRPC call this
	// process serves; the identity module calls it with its own.
	UseIdentity func(a auth.Authenticator)

	local   string // this process's gRPC address, to dial
	stack   *Stack
	service credentials.PerRPCCredentials
}

// NewHost returns a host whose stops go on stack; local is the address
// of the process's own gRPC listener ("" when there is none), and service
// the credentials the modules' own calls carry.
func NewHost(log *slog.Logger, gs *grpcserver.Server, local string, plan Plan, table Table, stack *Stack,
	service credentials.PerRPCCredentials,
) *Host {
	return &Host{Log: log, GRPC: gs, Plan: plan, Table: table, local: local, stack: stack, service: service}
}

// OnStop adds a stop to the process's shutdown, which runs stops in
// reverse order.
func (h *Host) OnStop(name string, stop func(context.Context) error) { h.stack.Push(name, stop) }

// Reachable reports whether the module called name runs in this process
// or at a configured address.
func (h *Host) Reachable(name string) bool {
	_, remote := h.Plan.Peers[name]
	return remote || h.Plan.Runs(name)
}

// Dial connects to the module called name as kubedesk itself: every call
// carries the process's service credentials, which the access rules of
// internal RPCs ask for. The module is reached on this process's listener
// when it runs here, else at its address in the services map. Every call
// is traced. The connection closes on shutdown.
func (h *Host) Dial(name string) (*grpc.ClientConn, error) {
	if h.service == nil {
		return h.dial(name)
	}
	return h.dial(name, grpc.WithPerRPCCredentials(h.service))
}

// DialCaller connects to the module called name for calls made on someone
// else's behalf: they carry the credential the caller sent (the gateway
// forwards it as metadata), never the process's own.
func (h *Host) DialCaller(name string) (*grpc.ClientConn, error) {
	return h.dial(name)
}

func (h *Host) dial(name string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	addr, ok := h.Plan.Peers[name]
	if h.Plan.Runs(name) {
		addr, ok = h.local, h.local != ""
	}
	if !ok {
		return nil, fmt.Errorf("services.%s: no address for %s, and this process does not run it", name, name)
	}
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("services.%s: %w", name, err)
	}
	h.OnStop(name+" client", func(context.Context) error { return conn.Close() })
	return conn, nil
}

// Serving is a readiness check of a gRPC service through conn's health
// service.
func Serving(conn *grpc.ClientConn, service string) gateway.Check {
	client := healthpb.NewHealthClient(conn)
	return gateway.Check{Name: service, Check: func(ctx context.Context) error {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return fmt.Errorf("%s: %w", service, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("%s: %s", service, resp.GetStatus())
		}
		return nil
	}}
}

// Stack stops components in the reverse of their start order.
type Stack struct {
	names []string
	stops []func(context.Context) error
}

// Push adds a stop.
func (s *Stack) Push(name string, stop func(context.Context) error) {
	s.names = append(s.names, name)
	s.stops = append(s.stops, stop)
}

// Unwind runs every stop, last pushed first, logging the ones that fail.
func (s *Stack) Unwind(ctx context.Context, log *slog.Logger) {
	for i := len(s.stops) - 1; i >= 0; i-- {
		if err := s.stops[i](ctx); err != nil {
			log.Warn("stopping "+s.names[i], "err", err)
		}
	}
	s.names, s.stops = nil, nil
}
