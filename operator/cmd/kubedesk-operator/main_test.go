package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubedesk/kubedesk/operator/internal/testenv"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		metrics    string
		probes     string
		namespaces []string
		leader     bool
		leaderNS   string
		err        string
	}{
		{name: "defaults", metrics: ":8080", probes: ":8081"},
		{name: "0 disables the listeners", args: []string{"--metrics-bind-address=0", "--health-probe-bind-address=0"}, metrics: "0", probes: "0"},
		{name: "the chart's flags", args: []string{
			"--leader-elect=true", "--leader-election-namespace=kubedesk-system", "--metrics-bind-address=:8080",
			"--health-probe-bind-address=:8081", "--namespaces=team-a,team-b", "--zap-log-level=info",
		}, metrics: ":8080", probes: ":8081", namespaces: []string{"team-a", "team-b"}, leader: true, leaderNS: "kubedesk-system"},
		{name: "namespaces with spaces and a trailing comma", args: []string{"--namespaces= team-a , team-b,"},
			metrics: ":8080", probes: ":8081", namespaces: []string{"team-a", "team-b"}},
		{name: "debug logs", args: []string{"--zap-log-level=debug", "--zap-encoder=console"}, metrics: ":8080", probes: ":8081"},
		{name: "kubeconfig", args: []string{"--kubeconfig=/dev/null"}, metrics: ":8080", probes: ":8081"},
		{name: "bad namespace", args: []string{"--namespaces=team-a,Team_B"}, err: `--namespaces: "Team_B" is not a namespace name`},
		{name: "bad log level", args: []string{"--zap-log-level=loud"}, err: "zap-log-level"},
		{name: "unknown flag", args: []string{"--metrics-addr=:8080"}, err: "flag provided but not defined: -metrics-addr"},
		{name: "argument", args: []string{"serve"}, err: `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parse(tt.args, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mo, err := managerOptions(o)
			if err != nil {
				t.Fatal(err)
			}
			if mo.Metrics.BindAddress != tt.metrics || mo.HealthProbeBindAddress != tt.probes {
				t.Errorf("metrics on %q, probes on %q; want %q and %q", mo.Metrics.BindAddress, mo.HealthProbeBindAddress, tt.metrics, tt.probes)
			}
			if mo.LeaderElection != tt.leader || mo.LeaderElectionNamespace != tt.leaderNS || mo.LeaderElectionID != "kubedesk-operator.kubedesk.io" {
				t.Errorf("leader election %v in %q as %q; want %v in %q as kubedesk-operator.kubedesk.io",
					mo.LeaderElection, mo.LeaderElectionNamespace, mo.LeaderElectionID, tt.leader, tt.leaderNS)
			}
			var namespaces []string
			for ns := range mo.Cache.DefaultNamespaces {
				namespaces = append(namespaces, ns)
			}
			slices.Sort(namespaces)
			if !slices.Equal(namespaces, tt.namespaces) {
				t.Errorf("cache namespaces %q, want %q (none: all)", namespaces, tt.namespaces)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"--version"}, &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != version {
		t.Errorf("--version printed %q, want %q", got, version)
	}
}

// TestRun starts the manager as the chart runs it, against a real API
// server, probes it, and stops it as Kubernetes does (the context SIGTERM
// cancels): it must return without error and release its Lease.
func TestRun(t *testing.T) {
	if !runOnce.CompareAndSwap(false, true) {
		// Controller names are unique per process (controller-runtime
		// checks, for their metrics), and the binary starts one manager.
		t.Skip("run registers the controllers, whose names are process-wide: once per test binary (-count > 1)")
	}
	log.SetLogger(logr.Discard())
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	metrics, probes := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"--leader-elect", "--leader-election-namespace=default",
			"--metrics-bind-address=" + metrics, "--health-probe-bind-address=" + probes,
			"--zap-log-level=error",
		}, io.Discard, &stderr, func() (*rest.Config, error) { return env.Config, nil })
	}()

	for _, url := range []string{"http://" + probes + "/healthz", "http://" + probes + "/readyz", "http://" + metrics + "/metrics"} {
		waitOK(t, url, done, &stderr)
	}
	var lease coordinationv1.Lease
	key := client.ObjectKey{Namespace: "default", Name: leaderElectionID}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := env.Client.Get(ctx, key, &lease)
		if err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader in Lease %s after 30s: %v", key, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatalf("run did not return within %s of SIGTERM", shutdownTimeout+5*time.Second)
	}
	if err := env.Client.Get(t.Context(), key, &lease); err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("Lease %s still held by %s after shutdown; a standby would wait it out", key, *h)
	}
}

var runOnce atomic.Bool

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitOK polls url until it answers 200, failing if run returns first.
func waitOK(t *testing.T, url string, done <-chan error, stderr fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run returned %v before %s answered\n%s", err, url, stderr)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, body)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within 60s; last: %s", url, last)
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
