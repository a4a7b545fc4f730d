package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	slav1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/sla/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/buildinfo"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/platform/grpcserver"
	"github.com/kubedesk/kubedesk/services/platform/telemetry"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/sla"
	"github.com/kubedesk/kubedesk/services/ticket"
	"github.com/kubedesk/kubedesk/services/ticket/store"
)

// serve starts the configured components, waits for ctx to end, then stops
// them in reverse start order.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := telemetry.NewLogger(stdout, telemetry.ParseLevel(cfg.LogLevel))
	slog.SetDefault(log)

	var stack shutdownStack
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
		defer cancel()
		stack.unwind(ctx, log)
	}()
	if err := start(ctx, cfg, log, &stack); err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down", "reason", context.Cause(ctx).Error())
	return nil
}

// start brings the components up one after another, pushing each one's
// stop function so a failure half-way still stops what started.
func start(ctx context.Context, cfg config.Config, log *slog.Logger, stack *shutdownStack) error {
	began := time.Now()
	otelp, err := telemetry.Setup(ctx, "kubedesk", buildinfo.Version)
	if err != nil {
		return err
	}
	stack.push("telemetry", otelp.Shutdown)

	// Streams (watchers) end first on shutdown, so draining does not wait
	// on clients that never hang up.
	streams, endStreams := context.WithCancel(context.Background())
	stack.push("streams", func(context.Context) error { endStreams(); return nil })
	var ready []func(context.Context) error
	// localGRPC is where this process's gRPC services really listen (the
	// configured port may be 0 in tests).
	localGRPC := ""

	// One gRPC server carries every backend service this process runs.
	var gs *grpcserver.Server
	if cfg.Runs(config.TargetTicket) || cfg.Runs(config.TargetWorker) {
		if gs, err = grpcserver.New(log, tenant.Resolver{Default: cfg.DefaultTenant}); err != nil {
			return err
		}
	}
	var services []string

	if cfg.Runs(config.TargetTicket) {
		matrix, err := cfg.Matrix()
		if err != nil {
			return err
		}
		st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
		if err != nil {
			return fmt.Errorf("ticket store: %w", err)
		}
		stack.push("ticket store", func(context.Context) error { return st.Close() })
		ready = append(ready, st.Ping)
		tickets := ticket.NewServer(st, ticket.Config{Matrix: matrix, IdempotencyKeyTTL: time.Duration(cfg.IdempotencyKeyTTL)}, log)
		tickets.Register(gs)
		stack.push("ticket service", tickets.Start())
		gs.Health.SetServingStatus(ticketv1.TicketService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		services = append(services, "ticket")
	}

	var policies *sla.InForce
	if cfg.Runs(config.TargetWorker) {
		policies = sla.NewInForce()
		if cfg.File != "" {
			// An invalid file stops start-up; later invalid edits are
			// logged and the policies in force stay.
			if err := policies.Load(cfg.File); err != nil {
				return err
			}
			watch, stopWatch := context.WithCancel(context.Background())
			go policies.Watch(watch, cfg.File, 2*time.Second, log)
			stack.push("SLA policy watcher", func(context.Context) error { stopWatch(); return nil })
		}
		sla.NewServer(policies).Register(gs)
		gs.Health.SetServingStatus(slav1.SLAPolicyService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		services = append(services, "sla")
		log.Info("SLA policies in force", "count", len(policies.Current().Entries), "file", cfg.File)
	}

	if gs != nil {
		lis, err := net.Listen("tcp", cfg.GRPCAddr)
		if err != nil {
			return fmt.Errorf("grpcAddr: %w", err)
		}
		go func() {
			if err := gs.Serve(lis); err != nil {
				log.Error("gRPC server stopped", "err", err)
			}
		}()
		stack.push("gRPC server", func(ctx context.Context) error { return gracefulStop(ctx, gs) })
		localGRPC = dialable(lis.Addr().String())
		log.Info("gRPC listening", "addr", lis.Addr().String(), "services", services)
	}

	if cfg.Runs(config.TargetWorker) {
		if cfg.TemporalAddress == config.TemporalNone {
			log.Warn("--temporal-address=none: no SLA clocks run")
		} else {
			conn, err := dial(cfg.TicketAddr, localGRPC, stack, "worker's ticket")
			if err != nil {
				return fmt.Errorf("ticketAddr: %w", err)
			}
			check, err := startClocks(ctx, cfg, log, stack, policies, ticketv1.NewTicketServiceClient(conn))
			if err != nil {
				return err
			}
			ready = append(ready, check)
		}
	}

	gw := gateway.Options{
		Log:             log,
		MaxRequestBytes: cfg.MaxRequestBytes,
		DefaultTenant:   cfg.DefaultTenant,
		Metrics:         otelp.MetricsHandler(),
		Streams:         streams,
	}
	if cfg.Runs(config.TargetGateway) {
		conn, err := dial(cfg.TicketAddr, localGRPC, stack, "ticket")
		if err != nil {
			return fmt.Errorf("ticketAddr: %w", err)
		}
		gw.Ticket = conn
		ready = append(ready, serving(conn, ticketv1.TicketService_ServiceDesc.ServiceName))
		if cfg.WorkerAddr != "" || cfg.Runs(config.TargetWorker) {
			conn, err := dial(cfg.WorkerAddr, localGRPC, stack, "worker")
			if err != nil {
				return fmt.Errorf("workerAddr: %w", err)
			}
			gw.SLA = conn
			ready = append(ready, serving(conn, slav1.SLAPolicyService_ServiceDesc.ServiceName))
		} else {
			log.Warn("no --worker-addr: the gateway serves no SLA routes")
		}
	}
	gw.Ready = ready
	handler, err := gateway.NewHandler(ctx, gw)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("httpAddr: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "err", err)
		}
	}()
	stack.push("HTTP server", func(ctx context.Context) error {
		endStreams()
		return srv.Shutdown(ctx)
	})
	if cfg.PprofAddr != "" {
		if err := servePprof(cfg.PprofAddr, log, stack); err != nil {
			return fmt.Errorf("pprofAddr: %w", err)
		}
	}
	log.Info("kubedesk started", "target", cfg.Target, "http", lis.Addr().String(), "grpc", localGRPC,
		"version", buildinfo.Version, "startup", time.Since(began).String())
	return nil
}

// servePprof serves Go's profiles on addr, apart from the API listener so
// that they are never exposed with it.
func servePprof(addr string, log *slog.Logger, stack *shutdownStack) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "err", err)
		}
	}()
	stack.push("pprof server", srv.Shutdown)
	log.Info("pprof listening", "addr", lis.Addr().String())
	return nil
}

// dial connects to a backend at addr, or at this process's own gRPC
// listener when addr is empty, with tracing on every call.
func dial(addr, local string, stack *shutdownStack, name string) (*grpc.ClientConn, error) {
	if addr == "" {
		addr = local
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	)
	if err != nil {
		return nil, err
	}
	stack.push(name+" client", func(context.Context) error { return conn.Close() })
	return conn, nil
}

// gracefulStop ends streams, then waits for in-flight calls until ctx ends.
func gracefulStop(ctx context.Context, gs *grpcserver.Server) error {
	gs.Drain()
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		gs.Stop()
		return fmt.Errorf("gRPC calls still running after the shutdown timeout: %w", ctx.Err())
	}
}

// serving checks a gRPC service's health, for /readyz.
func serving(conn *grpc.ClientConn, service string) func(context.Context) error {
	client := healthpb.NewHealthClient(conn)
	return func(ctx context.Context) error {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return fmt.Errorf("%s: %w", service, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("%s: %s", service, resp.GetStatus())
		}
		return nil
	}
}

// dialable turns a listen address such as ":9090" into one to dial.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return listen
}

// shutdownStack stops components in the reverse of their start order.
type shutdownStack struct {
	names []string
	stops []func(context.Context) error
}

func (s *shutdownStack) push(name string, stop func(context.Context) error) {
	s.names = append(s.names, name)
	s.stops = append(s.stops, stop)
}

func (s *shutdownStack) unwind(ctx context.Context, log *slog.Logger) {
	for i := len(s.stops) - 1; i >= 0; i-- {
		if err := s.stops[i](ctx); err != nil {
			log.Warn("stopping "+s.names[i], "err", err)
		}
	}
}
