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

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/buildinfo"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/platform/grpcserver"
	"github.com/kubedesk/kubedesk/services/platform/module"
	"github.com/kubedesk/kubedesk/services/platform/telemetry"
)

// listen opens the process's listeners; a test swaps it to get hold of
// one and close it under the running server.
var listen = net.Listen

// authenticatorOverride, when a benchmark sets it, replaces the
// authenticator the identity module hands the access interceptor (the
// service token is still checked first). BenchmarkCreate sets it to one
// that answers a fixed principal without any lookup, to measure the REST
// path without the cost of credentials. Nil (always, outside benchmarks):
// the identity module's own.
var authenticatorOverride func(auth.Authenticator) auth.Authenticator

// serve starts the modules --target selects, waits for ctx to end or for
// a server or loop to fail, then stops everything in reverse start order.
// A failure after start-up is the returned error, so the process exits
// non-zero instead of living on half-dead.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := telemetry.NewLogger(stdout, telemetry.ParseLevel(cfg.LogLevel))
	slog.SetDefault(log)
	table := modules(cfg)
	plan, err := table.Resolve(cfg.Targets(), cfg.Services)
	if err != nil {
		return err
	}

	var stack module.Stack
	sup := module.NewSupervisor()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
		defer cancel()
		// Loops end first (they use what the stack closes), then the
		// servers and stores, last started first.
		sup.StopLoops()
		stack.Unwind(ctx, log)
		sup.Wait()
	}()
	if err := start(ctx, cfg, log, table, plan, &stack, sup); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx).Error())
		return nil
	case err := <-sup.Failed():
		log.Error("shutting down after a failure", "err", err)
		return err
	}
}

// start brings the modules up in dependency order, pushing each stop on
// the stack so a failure half-way still stops what started.
func start(ctx context.Context, cfg *Config, log *slog.Logger, table module.Table, plan module.Plan,
	stack *module.Stack, sup *module.Supervisor,
) error {
	began := time.Now()
	otelp, err := telemetry.Setup(ctx, "kubedesk", buildinfo.Version)
	if err != nil {
		return err
	}
	stack.Push("telemetry", otelp.Shutdown)

	// Streams (watchers) end first on shutdown, so draining does not wait
	// on clients that never hang up.
	streams, endStreams := context.WithCancel(context.Background())
	stack.Push("streams", func(context.Context) error { endStreams(); return nil })

	// Every gRPC call is authenticated and checked against the roles its
	// RPC declares. The authenticator comes from the identity module
	// (here or remote) once the modules are up; the modules' own calls
	// carry the internal token.
	token := cfg.InternalToken
	if token == "" {
		token = auth.NewServiceToken() // all-in-one: nobody else needs it
	}
	access := auth.NewInterceptor(auth.InterceptorOptions{
		DefaultTenant: cfg.DefaultTenant,
		PerCredential: cfg.IAM.RateLimit,
		Log:           log,
	})
	useIdentity := func(a auth.Authenticator) {
		if authenticatorOverride != nil {
			a = authenticatorOverride(a)
		}
		access.SetAuthenticator(auth.WithServiceToken(token, a))
	}

	// One gRPC server carries every gRPC service this process runs. It
	// listens before the modules start, so that they can dial each other
	// on it; it serves once they all have registered.
	var (
		gs        *grpcserver.Server
		grpcLis   net.Listener
		localGRPC string
		modules   []string
	)
	for _, m := range plan.Order {
		modules = append(modules, m.Name)
		if len(m.Services) > 0 && gs == nil {
			if gs, err = grpcserver.New(log, access); err != nil {
				return err
			}
			if grpcLis, err = listen("tcp", cfg.GRPCAddr); err != nil {
				return fmt.Errorf("grpcAddr: %w", err)
			}
			lis := grpcLis
			stack.Push("gRPC listener", func(context.Context) error {
				if err := lis.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
					return err
				}
				return nil
			})
			localGRPC = dialable(grpcLis.Addr().String())
		}
	}

	host := module.NewHost(log, gs, localGRPC, plan, table, stack, auth.ServiceCredentials(token))
	host.UseIdentity = useIdentity
	var (
		ready     []gateway.Check
		routes    []gateway.Route
		endpoints []gateway.Endpoint
		listeners []any // name, address: logged with the start
	)
	for _, m := range plan.Order {
		parts, err := m.Init(ctx, host)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		for _, s := range m.Services {
			gs.Health.SetServingStatus(s, healthpb.HealthCheckResponse_SERVING)
		}
		ready = append(ready, parts.Ready...)
		routes = append(routes, parts.Routes...)
		endpoints = append(endpoints, parts.Endpoints...)
		for name, addr := range parts.Listeners {
			listeners = append(listeners, name, addr)
		}
		for _, l := range parts.Loops {
			sup.Go(module.Loop{Name: m.Name + ": " + l.Name, Run: l.Run})
		}
	}

	if gs != nil {
		if !plan.Runs(moduleIAM) {
			// The identity module runs elsewhere (here it has handed its
			// authenticator over in Init): ask it, and trust an answer
			// for a few seconds.
			conn, err := host.Dial(moduleIAM)
			if err != nil {
				return err
			}
			useIdentity(auth.NewCache(iam.NewRemote(conn), time.Duration(cfg.IAM.CacheTTL)))
		}
		if err := auth.CheckDeclared(gs); err != nil {
			return err
		}
		lis := grpcLis
		sup.Serve("gRPC server on "+lis.Addr().String(), func() error { return gs.Serve(lis) })
		stack.Push("gRPC server", func(ctx context.Context) error { return gracefulStop(ctx, gs) })
		log.Info("gRPC listening", "addr", lis.Addr().String())
	}

	handler, err := gateway.NewHandler(ctx, gateway.Options{
		Log:                 log,
		Routes:              routes,
		Endpoints:           endpoints,
		MaxRequestBytes:     cfg.Gateway.MaxRequestBytes,
		SignInRate:          cfg.Gateway.SignInRate,
		TrustForwardedFor:   cfg.Gateway.TrustForwardedFor,
		TrustForwardedProto: cfg.Gateway.TrustForwardedProto,
		Metrics:             otelp.MetricsHandler(),
		Ready:               ready,
		Streams:             streams,
	})
	if err != nil {
		return err
	}
	httpLis, err := listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("httpAddr: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	sup.Serve("HTTP server on "+httpLis.Addr().String(), func() error { return srv.Serve(httpLis) })
	stack.Push("HTTP server", func(ctx context.Context) error {
		endStreams()
		return srv.Shutdown(ctx)
	})
	if cfg.PprofAddr != "" {
		if err := servePprof(cfg.PprofAddr, log, stack, sup); err != nil {
			return fmt.Errorf("pprofAddr: %w", err)
		}
	}
	log.Info("kubedesk started", append([]any{"target", cfg.Target, "modules", modules, "http", httpLis.Addr().String(), "grpc", localGRPC,
		"version", buildinfo.Version, "startup", time.Since(began).String()}, listeners...)...)
	return nil
}

// servePprof serves Go's profiles on addr, apart from the API listener so
// that they are never exposed with it.
func servePprof(addr string, log *slog.Logger, stack *module.Stack, sup *module.Supervisor) error {
	lis, err := listen("tcp", addr)
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
	sup.Serve("pprof server on "+lis.Addr().String(), func() error { return srv.Serve(lis) })
	stack.Push("pprof server", srv.Shutdown)
	log.Info("pprof listening", "addr", lis.Addr().String())
	return nil
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

// dialable turns a listen address such as ":9090" into one to dial.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return listen
}
