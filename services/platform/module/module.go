// Package module runs a kubedesk process as a set of modules, the way Loki
// and Mimir do: one binary, a table of modules, and --target choosing
// which of them this process runs. A module names the modules it depends
// on; those start first and stop last. The table itself lives with the
// binary (services/cmd/kubedesk), which is the one place that imports
// every service.
package module

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/kubedesk/kubedesk/services/platform/gateway"
)

// Module is one entry of the table.
type Module struct {
	// Name is what --target and the services map call it.
	Name string
	// Deps are modules that must run in the same process; they start
	// first and stop last.
	Deps []string
	// Calls are the modules whose gRPC services this one calls. One that
	// runs in the same process is reached on its own listener and starts
	// first; otherwise its address must be in the services map.
	Calls []string
	// Optional are called modules that may be absent: with no address
	// and not running here, the module does without them.
	Optional []string
	// Lazy are modules this one calls only while it serves requests,
	// never while it starts: they need not start first, so two modules
	// may call each other (the ticket service resolves requesters with
	// the channel service, which writes tickets). Each is optional: with
	// no address and not running here, the module does without it.
	Lazy []string
	// Internal modules are not --target values; they run only as another
	// module's dependency.
	Internal bool
	// Services are the gRPC services the module serves, by full name: the
	// process marks them SERVING in gRPC health once Init returns, and a
	// gateway elsewhere checks them for /readyz.
	Services []string
	// REST registers the module's REST routes (grpc-gateway) on a
	// gateway's mux, forwarding to conn; nil when it has none.
	REST func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error
	// Endpoints are the module's plain HTTP endpoints on a gateway (for
	// outside systems with their own protocol, such as WeChat's
	// callback), forwarding to conn, which carries the process's own
	// service credential: the module checks the callers itself.
	Endpoints func(conn *grpc.ClientConn, log *slog.Logger) []gateway.Endpoint
	// Init starts the module. What it opens it hands to h.OnStop, which
	// stops it in reverse order (also when a later module fails to
	// start); what it runs in the background it returns as Loops.
	Init func(ctx context.Context, h *Host) (Parts, error)
}

// Parts is what a module's Init hands the process.
type Parts struct {
	// Ready are checks /readyz runs.
	Ready []gateway.Check
	// Loops run in the background under supervision.
	Loops []Loop
	// Routes are REST APIs the process's HTTP listener serves (the
	// gateway module's), beside the probes and metrics every process has.
	Routes []gateway.Route
	// Endpoints are plain HTTP endpoints the listener serves (the
	// gateway module's, for the modules it reaches).
	Endpoints []gateway.Endpoint
	// Listeners are the addresses of listeners of the module's own
	// (e.g. "smtp"), logged with the process's start.
	Listeners map[string]string
}

// Table is the binary's list of modules.
type Table []Module

// Get returns the module called name.
func (t Table) Get(name string) (Module, bool) {
	i := slices.IndexFunc(t, func(m Module) bool { return m.Name == name })
	if i < 0 {
		return Module{}, false
	}
	return t[i], true
}

// Targets lists the names --target accepts, "all" first.
func (t Table) Targets() []string {
	names := []string{"all"}
	for _, m := range t {
		if !m.Internal {
			names = append(names, m.Name)
		}
	}
	return names
}

// Plan is the modules one process runs, in start order.
type Plan struct {
	// Order lists the modules to start, dependencies before their users.
	Order []Module
	// Peers maps each called module that runs elsewhere to its address.
	Peers map[string]string
}

// Runs reports whether the plan runs the module called name.
func (p Plan) Runs(name string) bool {
	return slices.ContainsFunc(p.Order, func(m Module) bool { return m.Name == name })
}

// Resolve turns --target values into a plan: the modules named (every
// public one for "all"), their dependencies, in an order where every
// module starts after the modules it depends on or calls in this process.
// services maps module names to the addresses of other processes; a call
// to a module that is neither run here nor given an address is an error
// naming the services key to set.
func (t Table) Resolve(targets []string, services map[string]string) (Plan, error) {
	want := map[string]bool{}
	var errs []error
	for _, name := range targets {
		if name == "all" {
			for _, m := range t {
				if !m.Internal {
					want[m.Name] = true
				}
			}
			continue
		}
		if m, ok := t.Get(name); !ok || m.Internal {
			errs = append(errs, fmt.Errorf("target: %q is not a module; accepted: %s, or several joined by commas", name, strings.Join(t.Targets(), ", ")))
			continue
		}
		want[name] = true
	}
	for name := range services {
		if _, ok := t.Get(name); !ok {
			errs = append(errs, fmt.Errorf("services.%s: %q is not a module; accepted: %s", name, name, strings.Join(t.Targets()[1:], ", ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Plan{}, err
	}
	// Dependencies run here too.
	for changed := true; changed; {
		changed = false
		for _, m := range t {
			if !want[m.Name] {
				continue
			}
			for _, d := range m.Deps {
				if !want[d] {
					want[d], changed = true, true
				}
			}
		}
	}
	plan := Plan{Peers: map[string]string{}}
	for _, m := range t {
		if !want[m.Name] {
			continue
		}
		for _, c := range m.Calls {
			if want[c] {
				continue
			}
			addr, ok := services[c]
			if ok {
				plan.Peers[c] = addr
				continue
			}
			if !slices.Contains(m.Optional, c) {
				errs = append(errs, fmt.Errorf("services.%s: is required with --target=%s (%s calls %s); set it to the gRPC address of a process running %s, or add %s to --target",
					c, strings.Join(targets, ","), m.Name, c, c, c))
			}
		}
		for _, c := range m.Lazy {
			if addr, ok := services[c]; ok && !want[c] {
				plan.Peers[c] = addr
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Plan{}, err
	}
	order, err := t.order(want)
	if err != nil {
		return Plan{}, err
	}
	plan.Order = order
	return plan, nil
}

// order sorts the wanted modules so that each comes after those it
// depends on or calls in this process, keeping table order otherwise.
func (t Table) order(want map[string]bool) ([]Module, error) {
	var out []Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(m Module, path []string) error
	visit = func(m Module, path []string) error {
		switch state[m.Name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("module table: %s depends on itself (%s)", m.Name, strings.Join(append(path, m.Name), " -> "))
		}
		state[m.Name] = 1
		for _, d := range slices.Concat(m.Deps, m.Calls) {
			if !want[d] {
				continue
			}
			dm, ok := t.Get(d)
			if !ok {
				return fmt.Errorf("module table: %s names %s, which is not in the table", m.Name, d)
			}
			if err := visit(dm, append(path, m.Name)); err != nil {
				return err
			}
		}
		state[m.Name] = 2
		out = append(out, m)
		return nil
	}
	for _, m := range t {
		if want[m.Name] {
			if err := visit(m, nil); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
