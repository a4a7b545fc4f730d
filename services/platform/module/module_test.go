package module

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// table is a module table of the binary's shape: ticket; a worker that
// calls it; a gateway that needs ticket and can do without worker; an
// internal store that ticket depends on.
var table = Table{
	{Name: "store", Internal: true},
	{Name: "ticket", Deps: []string{"store"}},
	{Name: "worker", Calls: []string{"ticket"}},
	{Name: "gateway", Calls: []string{"ticket", "worker"}, Optional: []string{"worker"}},
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name     string
		targets  []string
		services map[string]string
		order    []string
		peers    map[string]string
	}{
		{name: "all", targets: []string{"all"}, order: []string{"store", "ticket", "worker", "gateway"}},
		{name: "one with its dependency", targets: []string{"ticket"}, order: []string{"store", "ticket"}},
		{name: "callee starts first whatever the order given", targets: []string{"worker", "ticket"},
			order: []string{"store", "ticket", "worker"}},
		{name: "a peer elsewhere", targets: []string{"worker"}, services: map[string]string{"ticket": "ticket:9090"},
			order: []string{"worker"}, peers: map[string]string{"ticket": "ticket:9090"}},
		{name: "an optional peer missing", targets: []string{"gateway"}, services: map[string]string{"ticket": "t:1"},
			order: []string{"gateway"}, peers: map[string]string{"ticket": "t:1"}},
		{name: "addresses of modules run here are not used", targets: []string{"all"}, services: map[string]string{"ticket": "t:1"},
			order: []string{"store", "ticket", "worker", "gateway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := table.Resolve(tt.targets, tt.services)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, m := range plan.Order {
				order = append(order, m.Name)
			}
			if diff := cmp.Diff(tt.order, order); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if tt.peers == nil {
				tt.peers = map[string]string{}
			}
			if diff := cmp.Diff(tt.peers, plan.Peers); diff != "" {
				t.Errorf("peers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name     string
		targets  []string
		services map[string]string
		want     string
	}{
		{"unknown", []string{"ticket", "billing"}, nil, `target: "billing" is not a module; accepted: all, ticket, worker, gateway, or several joined by commas`},
		{"internal", []string{"store"}, nil, `target: "store" is not a module`},
		{"missing peer", []string{"worker"}, nil, "services.ticket: is required with --target=worker (worker calls ticket)"},
		{"unknown service", []string{"all"}, map[string]string{"billing": "b:1"}, `services.billing: "billing" is not a module`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := table.Resolve(tt.targets, tt.services)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestResolveCycle(t *testing.T) {
	cyclic := Table{{Name: "a", Deps: []string{"b"}}, {Name: "b", Calls: []string{"a"}}}
	_, err := cyclic.Resolve([]string{"all"}, nil)
	if err == nil || !strings.Contains(err.Error(), "a -> b -> a") {
		t.Fatalf("error = %v, want the cycle a -> b -> a", err)
	}
}

// TestResolveLazy: modules that call each other only while serving start
// in table order, reach each other where they run elsewhere, and do
// without each other where nothing says where the other runs.
func TestResolveLazy(t *testing.T) {
	mutual := Table{
		{Name: "ticket", Lazy: []string{"channel"}},
		{Name: "channel", Calls: []string{"ticket"}},
	}
	tests := []struct {
		name     string
		targets  []string
		services map[string]string
		order    []string
		peers    map[string]string
	}{
		{name: "both here", targets: []string{"all"}, order: []string{"ticket", "channel"}, peers: map[string]string{}},
		{name: "the lazy callee elsewhere", targets: []string{"ticket"}, services: map[string]string{"channel": "channel:9090"},
			order: []string{"ticket"}, peers: map[string]string{"channel": "channel:9090"}},
		{name: "the lazy callee nowhere", targets: []string{"ticket"}, order: []string{"ticket"}, peers: map[string]string{}},
		{name: "the caller of the lazy module elsewhere", targets: []string{"channel"}, services: map[string]string{"ticket": "ticket:9090"},
			order: []string{"channel"}, peers: map[string]string{"ticket": "ticket:9090"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := mutual.Resolve(tt.targets, tt.services)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, m := range plan.Order {
				order = append(order, m.Name)
			}
			if diff := cmp.Diff(tt.order, order); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.peers, plan.Peers); diff != "" {
				t.Errorf("peers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSupervisor(t *testing.T) {
	t.Run("a loop that fails ends the process", func(t *testing.T) {
		s := NewSupervisor()
		s.Go(Loop{Name: "janitor", Run: func(context.Context) error { return errors.New("disk full") }})
		if err := <-s.Failed(); err == nil || err.Error() != "janitor stopped: disk full" {
			t.Errorf("failure = %v", err)
		}
		s.StopLoops()
		s.Wait()
	})
	t.Run("a server that returns nil early is a failure too", func(t *testing.T) {
		s := NewSupervisor()
		s.Serve("HTTP server", func() error { return nil })
		if err := <-s.Failed(); err == nil || err.Error() != "HTTP server stopped: returned without an error" {
			t.Errorf("failure = %v", err)
		}
		s.StopLoops()
		s.Wait()
	})
	t.Run("ends during shutdown are not failures", func(t *testing.T) {
		s := NewSupervisor()
		release := make(chan struct{})
		s.Go(Loop{Name: "relay", Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
		s.Serve("gRPC server", func() error { <-release; return errors.New("closed") })
		s.StopLoops()
		close(release)
		s.Wait()
		select {
		case err := <-s.Failed():
			t.Errorf("failure reported during shutdown: %v", err)
		default:
		}
	})
}
