// Package temporalserver runs a real Temporal server inside the current
// process: the durable timer engine of the all-in-one `kubedesk serve` and of
// the integration tests.
//
// It is the same server a Temporal cluster runs (go.temporal.io/server, all
// four services: frontend, history, matching, worker), configured through the
// public go.temporal.io/server/temporal API the way the Temporal CLI's dev
// server configures it:
//
//   - persistence in a SQLite database, <DataDir>/temporal.db, and
//     visibility (the workflow list and its search attributes) in a second
//     one, <DataDir>/temporal-visibility.db, so that each has SQLite's
//     writer lock to itself (or in-memory databases when DataDir is ""); the
//     schema created on first start, the namespaces created on every start
//     when missing; visibility indexed for the searches kubedesk makes (see
//     trimVisibility);
//   - one history shard, which is all one process needs and cannot be changed
//     once the database exists;
//   - static membership on loopback instead of ringpop, so no membership
//     ports are opened; only the four gRPC ports are, the frontend's on
//     Options.FrontendAddr and the three internal ones on free loopback
//     ports chosen at start (two servers can run side by side);
//   - no metrics endpoint, no pprof, no HTTP API, no UI, no archival, no
//     authentication (the frontend should stay on loopback), no version
//     check calling home to temporal.io (nor trace export, unless the
//     process sets OTEL_TRACES_EXPORTER, which the server honours);
//   - the server's logs bridged to Options.Logger at warn level and above.
//
// A Server survives a crash of its process: workflows and their timers live in
// the SQLite file, and a Start on the same DataDir carries on where the
// previous process left off (a timer whose instant passed while the process
// was down fires at once).
package temporalserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	// DefaultFrontendAddr is where the frontend listens when
	// Options.FrontendAddr is empty: Temporal's usual port, on loopback.
	DefaultFrontendAddr = "127.0.0.1:7233"

	// DefaultNamespace is created when Options.Namespaces is empty; it is
	// also the Go SDK client's default namespace.
	DefaultNamespace = "default"

	// NamespaceRetention is how long closed workflows of the namespaces
	// created by Start are kept. It applies when a namespace is created;
	// an existing namespace keeps its retention.
	NamespaceRetention = 72 * time.Hour

	// DatabaseFile is the name of the SQLite database in Options.DataDir.
	DatabaseFile = "temporal.db"

	// VisibilityDatabaseFile is the name of the SQLite database of
	// visibility records in Options.DataDir. A data dir made before it
	// existed keeps them in DatabaseFile.
	VisibilityDatabaseFile = "temporal-visibility.db"

	// The names of the two data stores in the server configuration.
	executionStore  = "sqlite"
	visibilityStore = "sqlite-visibility"

	// clusterName names the single cluster this server is.
	clusterName = "active"

	// readyTimeout bounds the wait for the frontend to serve when the
	// context given to Start has no deadline of its own.
	readyTimeout = 30 * time.Second
)

// Options configures an embedded Temporal server. The zero value runs an
// in-memory server on 127.0.0.1:7233 with the namespace "default".
type Options struct {
	// DataDir holds the SQLite database (DatabaseFile) and is created if
	// missing. Empty means an in-memory database, gone when the server
	// stops: for tests.
	DataDir string

	// FrontendAddr is the host:port the frontend (the address SDK clients
	// dial) listens on; default DefaultFrontendAddr. The host must be an IP
	// address or "localhost"; 0.0.0.0 or [::] listens on every interface
	// (the server has no authentication). Port 0 picks a free port; read it
	// back with Server.FrontendAddr.
	FrontendAddr string

	// Namespaces are created on every start if missing, with
	// NamespaceRetention; default [DefaultNamespace].
	Namespaces []string

	// Logger receives the server's warnings and errors, with the attribute
	// component=temporal. Nil discards them.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with every empty field set to its default.
func (o Options) withDefaults() Options {
	if o.FrontendAddr == "" {
		o.FrontendAddr = DefaultFrontendAddr
	}
	if len(o.Namespaces) == 0 {
		o.Namespaces = []string{DefaultNamespace}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// frontend validates FrontendAddr and returns the IP to bind and the port
// (0: pick one).
func (o Options) frontend() (bindIP string, port int, err error) {
	host, portStr, err := net.SplitHostPort(o.FrontendAddr)
	if err != nil {
		return "", 0, fmt.Errorf("Options.FrontendAddr %q: want host:port such as %s: %w", o.FrontendAddr, DefaultFrontendAddr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("Options.FrontendAddr %q: host must be an IP address (127.0.0.1, or 0.0.0.0 for every interface) or localhost", o.FrontendAddr)
	}
	port, err = strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("Options.FrontendAddr %q: port must be a number from 0 (pick a free port) to 65535", o.FrontendAddr)
	}
	return host, port, nil
}

// validate reports the first invalid field of o, which has its defaults.
func (o Options) validate() error {
	if _, _, err := o.frontend(); err != nil {
		return err
	}
	seen := make(map[string]bool, len(o.Namespaces))
	for i, ns := range o.Namespaces {
		switch {
		case ns == "" || strings.TrimSpace(ns) != ns || strings.ContainsFunc(ns, isControl):
			return fmt.Errorf("Options.Namespaces[%d] %q: want a non-empty name without surrounding spaces or control characters", i, ns)
		case ns == primitives.SystemLocalNamespace:
			return fmt.Errorf("Options.Namespaces[%d] %q: the name is reserved by Temporal", i, ns)
		case seen[ns]:
			return fmt.Errorf("Options.Namespaces[%d] %q: listed twice", i, ns)
		}
		seen[ns] = true
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Server is a running embedded Temporal server. Stop it with Stop.
type Server struct {
	server       temporal.Server
	frontendAddr string
	logger       slogLogger
	unlock       func() error // releases the DataDir lock

	stopOnce sync.Once
	stopErr  error
}

// FrontendAddr returns the host:port SDK clients dial, with the port really
// in use (when Options.FrontendAddr asked for port 0) and a loopback host
// when the frontend listens on every interface.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// Stop shuts the server down, service by service, and releases its DataDir.
// Running workflows stay in the database for the next Start. It is safe to
// call more than once.
//
// Temporal's SQLite driver never closes its connection to a database
// (its connection pool is process-wide and outlives a server): after Stop the
// database file stays open until the process exits, and a later Start on the
// same DataDir in this process reuses that connection.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.logger.stopping.Store(true)
		err := s.server.Stop()
		if err != nil {
			err = fmt.Errorf("temporalserver: stop: %w", err)
		}
		if uerr := s.unlock(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("temporalserver: release data dir: %w", uerr))
		}
		s.stopErr = err
	})
	return s.stopErr
}

// Start starts a Temporal server in this process and returns once its
// frontend serves every namespace in opts. ctx bounds the start; if it ends
// first, the half-started server is stopped in the background.
//
// A DataDir can be used by one server at a time: Start fails while another
// Server (in this process or another) has it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("temporalserver: start: %w", err)
	}
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("temporalserver: %w", err)
	}

	unlock := func() error { return nil }
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("temporalserver: create Options.DataDir: %w", err)
		}
		var err error
		if unlock, err = lockDataDir(opts.DataDir); err != nil {
			return nil, fmt.Errorf("temporalserver: Options.DataDir %q: %w", opts.DataDir, err)
		}
	}

	logger := newLogger(opts.Logger)
	srv, frontendAddr, err := newServer(opts, logger)
	if err != nil {
		_ = unlock()
		return nil, fmt.Errorf("temporalserver: %w", err)
	}
	s := &Server{server: srv, frontendAddr: frontendAddr, logger: logger, unlock: unlock}

	// temporal.Server.Start takes no context (it bounds itself to 15 s per
	// service); run it aside so that ctx is honoured.
	started := make(chan error, 1)
	go func() { started <- catchFatal(srv.Start) }()
	select {
	case err := <-started:
		if err != nil {
			// Start has rolled back what it could. (Services started before
			// the one that failed are not stopped by Temporal and may linger
			// until the process exits; nothing in its public API stops them.)
			_ = unlock()
			return nil, fmt.Errorf("temporalserver: start: %w", err)
		}
	case <-ctx.Done():
		// Stop can only run once Start has returned; until then the DataDir
		// stays locked.
		go func() {
			if <-started == nil {
				_ = s.Stop()
			} else {
				_ = unlock()
			}
		}()
		return nil, fmt.Errorf("temporalserver: start: %w", context.Cause(ctx))
	}

	if err := waitReady(ctx, frontendAddr, opts.Namespaces); err != nil {
		return nil, errors.Join(fmt.Errorf("temporalserver: %w", err), s.Stop())
	}
	return s, nil
}

// newServer prepares the database and creates (without starting) the server
// for opts. It returns the address clients dial.
func newServer(opts Options, logger slogLogger) (temporal.Server, string, error) {
	cfg, frontendAddr, err := buildConfig(opts)
	if err != nil {
		return nil, "", err
	}
	if err := prepareDatabase(opts, cfg.Persistence); err != nil {
		return nil, "", err
	}
	var srv temporal.Server
	err = catchFatal(func() (err error) {
		srv, err = temporal.NewServer(
			temporal.WithConfig(cfg),
			temporal.ForServices(temporal.DefaultServices),
			temporal.WithStaticHosts(staticHosts(cfg)),
			temporal.WithLogger(logger),
			// No authentication: the frontend is meant for this process, on
			// loopback. Saying so keeps the server from reading auth settings.
			temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
			temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
				return authorization.NewNoopClaimMapper()
			}),
			temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
				// The frontend would otherwise POST the cluster's ID and the
				// SDK versions in use to version-info.temporal.io at start
				// and daily: nothing leaves the process.
				dynamicconfig.EnableServerVersionCheck.Key(): false,
				// A host-level cache of 2k workflows instead of 128k (the
				// CLI's dev server keeps 8k): bounded memory for a process
				// that runs the rest of kubedesk too.
				dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 2048,
				// One partition per task queue instead of four: with a
				// single matching service, partitions only split the
				// pollers, and a task that finds no poller waiting on its
				// partition is written to the database and read back.
				// Up to 8 writes of the one history shard under way at
				// once instead of 1: they still commit one by one on the
				// SQLite connection, but each prepares its rows (protobuf
				// encoding, task keys) while another commits. Measured
				// with 10,000 clocks falling due within a minute, the p99
				// lateness of a breach went from 15-20 s to 9 s.
				dynamicconfig.ShardIOConcurrency.Key():                  8,
				dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
				dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
				// kubedesk stores no payload outside the history, so the
				// walk over every new event's payloads that sizes the
				// external ones (about 2 % of the CPU of a busy server,
				// and deep goroutine stacks) finds nothing.
				dynamicconfig.ExternalPayloadsEnabled.Key(): false,
				// The cache of new history events kept for replication to
				// other clusters (8 MiB by default) serves nothing on a
				// single-cluster server; its minimum, 64 KiB, instead.
				dynamicconfig.XDCCacheMaxSizeBytes.Key(): 64 << 10,
				// One reader per history task queue. A queue moves part
				// of its tasks to a second reader, served after the
				// first, when one namespace has many tasks pending, and
				// the timer queue moves a second of timers there when
				// three loads in a row end within that second, which is
				// routine when hundreds of timers fall due each second:
				// with 10,000 SLA breaches in a minute, groups of a dozen
				// breaches that fell due together were seconds late, more
				// the later in the minute. On a single-shard server with
				// one namespace the second reader isolates nothing.
				dynamicconfig.QueueReaderStuckCriticalAttempts.Key(): 0,
				dynamicconfig.TimerQueueMaxReaderCount.Key():         1,
				dynamicconfig.TransferQueueMaxReaderCount.Key():      1,
				dynamicconfig.VisibilityQueueMaxReaderCount.Key():    1,
			}),
		)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("create server: %w", err)
	}
	return srv, frontendAddr, nil
}

// catchFatal runs f and turns a logger.Fatal inside it (a port taken, a
// database that cannot be opened: Temporal calls Fatal where it cannot go
// on) into an error. See fatalError.
func catchFatal(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(fatalError)
			if !ok {
				panic(r)
			}
			err = fe
		}
	}()
	return f()
}

// buildConfig returns the server configuration for opts and the address
// clients dial. It picks the free ports.
func buildConfig(opts Options) (*config.Config, string, error) {
	bindIP, port, err := opts.frontend()
	if err != nil {
		return nil, "", err
	}
	// Internal services talk to the frontend on a specific address: loopback
	// when the frontend listens on every interface.
	dialIP := bindIP
	if ip := net.ParseIP(bindIP); ip.IsUnspecified() {
		dialIP = "127.0.0.1"
		if ip.To4() == nil {
			dialIP = "::1"
		}
	}
	if port == 0 {
		if port, err = freePort(dialIP); err != nil {
			return nil, "", fmt.Errorf("Options.FrontendAddr %q: %w", opts.FrontendAddr, err)
		}
	}
	frontendAddr := net.JoinHostPort(dialIP, strconv.Itoa(port))

	var cfg config.Config
	// Membership is static (see staticHosts), so neither ringpop nor its
	// membership ports are used; BroadcastAddress is what the services
	// announce.
	cfg.Global.Membership = config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"}
	// cfg.Global.Metrics stays nil: no metrics endpoint (a no-op handler).
	// cfg.Global.PProf.Port stays 0: no pprof endpoint.

	execution, err := sqlConfig(opts.DataDir, DatabaseFile)
	if err != nil {
		return nil, "", err
	}
	visibility, err := sqlConfig(opts.DataDir, VisibilityDatabaseFile)
	if err != nil {
		return nil, "", err
	}
	if legacyVisibility(opts.DataDir) {
		visibility = execution
	}
	cfg.Persistence = config.Persistence{
		DefaultStore:    executionStore,
		VisibilityStore: visibilityStore,
		// One shard: a single process owns the whole workflow space. The count
		// is written into the database on first start and cannot change.
		NumHistoryShards: 1,
		DataStores: map[string]config.DataStore{
			executionStore:  {SQL: execution},
			visibilityStore: {SQL: visibility},
		},
	}

	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontendAddr},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"

	// The frontend on the requested address, without its HTTP API (HTTPPort
	// 0); the other services on free loopback ports.
	cfg.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: port, BindOnIP: bindIP}},
	}
	for _, svc := range []primitives.ServiceName{primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		p, err := freePort("127.0.0.1")
		if err != nil {
			return nil, "", fmt.Errorf("%s service: %w", svc, err)
		}
		cfg.Services[string(svc)] = config.Service{RPC: config.RPC{GRPCPort: p, BindOnIP: "127.0.0.1"}}
	}

	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The worker service's own SDK client (system workflows) dials this.
	cfg.PublicClient.HostPort = frontendAddr
	return &cfg, frontendAddr, nil
}

// memoryDBSeq tells in-memory databases of one process apart.
var memoryDBSeq atomic.Uint64

// legacyVisibility tells whether dataDir was made when visibility shared
// DatabaseFile: it has that file and no VisibilityDatabaseFile.
func legacyVisibility(dataDir string) bool {
	if dataDir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dataDir, DatabaseFile))
	_, verr := os.Stat(filepath.Join(dataDir, VisibilityDatabaseFile))
	return err == nil && errors.Is(verr, os.ErrNotExist)
}

// sqlConfig returns the SQLite data store file in dataDir ("" = in
// memory).
func sqlConfig(dataDir, file string) (*config.SQL, error) {
	if dataDir == "" {
		// A named shared-cache in-memory database, so that every service's
		// connection sees the same one, and distinct from any other server
		// of this process.
		return &config.SQL{
			PluginName:        sqliteplugin.PluginName,
			DatabaseName:      fmt.Sprintf("kubedesk-temporal-%d-%d-%d", os.Getpid(), memoryDBSeq.Add(1), rand.Uint64()),
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}, nil
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("Options.DataDir %q: %w", dataDir, err)
	}
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: filepath.Join(dir, file),
		// rwc: read-write, create if missing. WAL with synchronous=NORMAL,
		// as kubedesk's own SQLite files: a commit survives a killed
		// process (it is in the WAL file); a power cut may lose the last
		// commits but never corrupts. The rollback journal with FULL
		// syncs, SQLite's default, fsyncs twice per commit, which holds
		// a busy server to a few hundred commits a second. One
		// connection per file: Temporal's transactions would otherwise
		// contend for SQLite's single writer lock.
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "NORMAL", "busy_timeout": "10000"},
		MaxConns:          1,
	}, nil
}

// prepareDatabase creates the schema in each database file that does not
// exist yet, and the namespaces that are missing. (An in-memory database
// gets its schema from the SQLite driver itself.)
func prepareDatabase(opts Options, p config.Persistence) error {
	execution := p.DataStores[p.DefaultStore].SQL
	if opts.DataDir != "" {
		// Visibility first: a start that fails between the two leaves no
		// execution database, so the next one does not take the data dir
		// for one of the single-file layout.
		for _, sqlCfg := range []*config.SQL{p.DataStores[p.VisibilityStore].SQL, execution} {
			switch _, err := os.Stat(sqlCfg.DatabaseName); {
			case errors.Is(err, os.ErrNotExist):
				// SetupSchema creates the tables of both stores; each file
				// uses its own.
				if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
					// Leave no half-made database behind: the next start
					// would take it for a complete one.
					_ = os.Remove(sqlCfg.DatabaseName)
					return fmt.Errorf("create schema in %s: %w", sqlCfg.DatabaseName, err)
				}
			case err != nil:
				return fmt.Errorf("Options.DataDir: %w", err)
			}
		}
		// On every start, so that a data dir made before a trim catches up.
		visibility := p.DataStores[p.VisibilityStore].SQL.DatabaseName
		if err := trimVisibility(visibility); err != nil {
			return fmt.Errorf("%s: %w", visibility, err)
		}
	}

	namespaces := make([]*sqliteschema.NamespaceConfig, 0, len(opts.Namespaces))
	for _, name := range opts.Namespaces {
		ns, err := sqliteschema.NewNamespaceConfig(clusterName, name, false, nil)
		if err != nil {
			return fmt.Errorf("namespace %q: %w", name, err)
		}
		ns.Detail.Config.Retention = durationpb.New(NamespaceRetention)
		namespaces = append(namespaces, ns)
	}
	if err := sqliteschema.CreateNamespaces(execution, namespaces...); err != nil {
		return fmt.Errorf("create namespaces: %w", err)
	}
	return nil
}

// staticHosts lists each service at its single address, which replaces
// ringpop's gossip: nothing to join, no membership ports, a faster start.
func staticHosts(cfg *config.Config) map[primitives.ServiceName]static.Hosts {
	hosts := make(map[primitives.ServiceName]static.Hosts, len(cfg.Services))
	for name, svc := range cfg.Services {
		host := svc.RPC.BindOnIP
		if name == string(primitives.FrontendService) {
			host, _, _ = net.SplitHostPort(cfg.PublicClient.HostPort)
		}
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	return hosts
}

// waitReady returns once the frontend at addr reports itself serving and
// knows every namespace, so that the caller's first request succeeds.
// probeID names the workflow and task queue that waitReady looks up; no
// such workflow exists.
const probeID = "kubedesk-readiness-probe"

func waitReady(ctx context.Context, addr string, namespaces []string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial frontend %s: %w", addr, err)
	}
	defer func() { _ = conn.Close() }()
	health := healthpb.NewHealthClient(conn)
	workflows := workflowservice.NewWorkflowServiceClient(conn)

	ready := func() error {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: workflowservice.WorkflowService_ServiceDesc.ServiceName})
		if err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health %s", resp.GetStatus())
		}
		for _, ns := range namespaces {
			if _, err := workflows.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
				return fmt.Errorf("namespace %q: %w", ns, err)
			}
			// The frontend answers before the history service owns its
			// shard and before matching serves task queues; a worker that
			// polled then would back off for seconds and fire the first
			// timers late. A lookup of a workflow that does not exist
			// answers NotFound only once the shard is owned.
			_, err := workflows.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
				Namespace: ns, Execution: &commonpb.WorkflowExecution{WorkflowId: probeID},
			})
			if status.Code(err) != codes.NotFound {
				return fmt.Errorf("namespace %q: history not ready: %w", ns, err)
			}
			if _, err := workflows.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
				Namespace: ns, TaskQueue: &taskqueuepb.TaskQueue{Name: probeID},
			}); err != nil {
				return fmt.Errorf("namespace %q: matching not ready: %w", ns, err)
			}
		}
		return nil
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("frontend %s not ready: %w (last: %w)", addr, context.Cause(ctx), err)
		case <-tick.C:
		}
	}
}
