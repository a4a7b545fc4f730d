package consumer

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
)

// Group runs one Consumer per tenant for one follower and supervises them:
// a tenant is added once, while the set of tenants grows (a reload that
// brings a new tenant); Healthy sums up their health for /readyz; an error
// a consumer stops with is logged, kept, and sent on Fatal.
type Group struct {
	// New returns the consumer of a tenant, its fields set; Add calls it
	// once per tenant.
	New func(tenant string) *Consumer
	Log *slog.Logger

	mu        sync.Mutex
	consumers map[string]*Consumer
	wg        sync.WaitGroup
	errs      []error
	fatal     chan error
}

// Add starts following tenant unless the group follows it already, and
// reports whether it started. The consumer runs until ctx ends.
func (g *Group) Add(ctx context.Context, tenant string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.consumers[tenant]; ok {
		return false
	}
	if g.consumers == nil {
		g.consumers = map[string]*Consumer{}
	}
	c := g.New(tenant)
	g.consumers[tenant] = c
	g.fatalChan()
	g.wg.Go(func() {
		err := c.Run(ctx)
		if err == nil {
			return
		}
		g.log().Error("event consumer stopped", "consumer", c.Name, "tenant", tenant, "err", err)
		g.mu.Lock()
		defer g.mu.Unlock()
		g.errs = append(g.errs, err)
		select {
		case g.fatal <- err:
		default: // the first one is waiting to be read
		}
	})
	return true
}

// fatalChan returns the Fatal channel, made on first use; g.mu is held.
func (g *Group) fatalChan() chan error {
	if g.fatal == nil {
		g.fatal = make(chan error, 1)
	}
	return g.fatal
}

// Fatal receives the error of a consumer that stopped for good, so the
// caller can end the process instead of running without it.
func (g *Group) Fatal() <-chan error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fatalChan()
}

// Healthy returns nil while every consumer is healthy, else their
// reports joined (see Consumer.Healthy).
func (g *Group) Healthy() error {
	g.mu.Lock()
	tenants := slices.Sorted(maps.Keys(g.consumers))
	consumers := make([]*Consumer, len(tenants))
	for i, t := range tenants {
		consumers[i] = g.consumers[t]
	}
	g.mu.Unlock()
	var errs []error
	for _, c := range consumers {
		if err := c.Healthy(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Wait waits until every consumer has stopped (their ctx ended) and
// returns the errors they stopped with, joined.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}

func (g *Group) log() *slog.Logger {
	if g.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Log
}
