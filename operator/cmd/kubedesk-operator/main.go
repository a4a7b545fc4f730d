// Command kubedesk-operator runs kubedesk's Kubernetes operator: it
// reconciles HelpdeskTenants into the ConfigMaps, Deployments, Services
// and Ingresses that run each tenant's help desk, and reports on
// SLAPolicies and RoutingRules. The Helm chart charts/kubedesk-operator
// deploys it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubedesk/kubedesk/operator/internal/controller"
)

// version is set at link time: -ldflags '-X main.version=...'.
var version = "dev"

// leaderElectionID names the Lease the replicas compete for.
const leaderElectionID = "kubedesk-operator.kubedesk.io"

// shutdownTimeout bounds the graceful shutdown: running reconciles finish
// and the Lease is released within the chart's terminationGracePeriodSeconds
// (10 s).
const shutdownTimeout = 8 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, ctrl.GetConfig)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubedesk-operator:", err)
		os.Exit(1)
	}
}

// options are the command line's settings.
type options struct {
	leaderElect             bool
	leaderElectionNamespace string
	metricsAddr             string // "0": no metrics listener
	probeAddr               string // "0": no probe listener
	namespaces              []string
	printVersion            bool
	zap                     zap.Options
}

// namespacePattern is a namespace name: a DNS label.
var namespacePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// parse reads the command line. The zap flags (--zap-log-level,
// --zap-encoder, ...) are controller-runtime's, and --kubeconfig is read
// by ctrl.GetConfig, after it the KUBECONFIG variable and the in-cluster
// configuration.
func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("kubedesk-operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var namespaces string
	fs.BoolVar(&o.leaderElect, "leader-elect", false,
		"elect a leader through a Lease, so that of several replicas only one reconciles")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "",
		"namespace of the leader election Lease (default: the pod's namespace)")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080",
		`address of the Prometheus /metrics listener; "0" disables it`)
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081",
		`address of the /healthz and /readyz listener; "0" disables it`)
	fs.StringVar(&namespaces, "namespaces", "",
		"comma-separated namespaces whose HelpdeskTenants, SLAPolicies and RoutingRules to reconcile; empty: every namespace")
	fs.BoolVar(&o.printVersion, "version", false, "print the version and exit")
	o.zap.BindFlags(fs)
	config.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q; all settings are flags (-h lists them)", fs.Arg(0))
	}
	for ns := range strings.SplitSeq(namespaces, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if !namespacePattern.MatchString(ns) {
			return options{}, fmt.Errorf("--namespaces: %q is not a namespace name; accepted: DNS labels separated by commas, e.g. team-a,team-b", ns)
		}
		o.namespaces = append(o.namespaces, ns)
	}
	return o, nil
}

// managerOptions turns the command line into the manager's options.
func managerOptions(o options) (manager.Options, error) {
	scheme, err := controller.Scheme()
	if err != nil {
		return manager.Options{}, err
	}
	timeout := shutdownTimeout
	return manager.Options{
		Scheme:                  scheme,
		Cache:                   controller.CacheOptions(o.namespaces),
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        leaderElectionID,
		LeaderElectionNamespace: o.leaderElectionNamespace,
		// The process exits when the manager stops, so the Lease can go
		// at once and a standby takes over without waiting it out.
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &timeout,
	}, nil
}

// run parses args, starts the manager and blocks until ctx ends (SIGTERM)
// and the manager has shut down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, restConfig func() (*rest.Config, error)) error {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.printVersion {
		_, err := fmt.Fprintln(stdout, version)
		return err
	}
	log := zap.New(zap.UseFlagOptions(&o.zap), zap.WriteTo(stderr))
	ctrl.SetLogger(log)

	cfg, err := restConfig()
	if err != nil {
		return fmt.Errorf("reaching the Kubernetes API (--kubeconfig, KUBECONFIG or in-cluster): %w", err)
	}
	opts, err := managerOptions(o)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return fmt.Errorf("create the manager: %w", err)
	}
	if err := controller.Setup(ctx, mgr, controller.Options{}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	// Ready once the informers have listed what they watch: a reconcile
	// before that would see an empty cluster.
	if err := mgr.AddReadyzCheck("informers", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("informers not synced yet")
		}
		return nil
	}); err != nil {
		return err
	}

	namespaces := "all"
	if len(o.namespaces) > 0 {
		namespaces = strings.Join(o.namespaces, ",")
	}
	log.Info("starting kubedesk-operator", "version", version, "namespaces", namespaces,
		"leaderElection", o.leaderElect, "metrics", o.metricsAddr, "probes", o.probeAddr)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	log.Info("kubedesk-operator stopped")
	return nil
}
