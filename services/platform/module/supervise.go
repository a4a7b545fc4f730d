package module

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Loop is a background task of a module: it runs until ctx ends. A loop
// that retries what fails inside it (a stream follower with back-off)
// reports that through a readiness Check instead of returning; a loop
// that returns before shutdown has failed for good, and ends the process.
type Loop struct {
	Name string
	Run  func(ctx context.Context) error
}

// Supervisor runs a process's servers and loops and turns the first one
// that stops on its own into the process's exit error, instead of a log
// line while /healthz keeps answering 200.
type Supervisor struct {
	ctx      context.Context
	cancel   context.CancelFunc
	stopping atomic.Bool
	failed   chan error
	once     sync.Once
	loops    sync.WaitGroup
	servers  sync.WaitGroup
}

// NewSupervisor returns a supervisor whose loops run until StopLoops.
func NewSupervisor() *Supervisor {
	ctx, cancel := context.WithCancel(context.Background())
	return &Supervisor{ctx: ctx, cancel: cancel, failed: make(chan error, 1)}
}

// Go runs a loop. Its end before StopLoops is reported by Failed.
func (s *Supervisor) Go(l Loop) {
	s.loops.Go(func() { s.watch(l.Name, l.Run(s.ctx)) })
}

// Serve runs a server's blocking Serve call (gRPC, HTTP). It is the
// server's own shutdown, not a context, that ends it; ending before
// StopLoops is a failure.
func (s *Supervisor) Serve(name string, serve func() error) {
	s.servers.Go(func() { s.watch(name, serve()) })
}

func (s *Supervisor) watch(name string, err error) {
	if s.stopping.Load() {
		return
	}
	if err == nil {
		err = errors.New("returned without an error")
	}
	s.fail(fmt.Errorf("%s stopped: %w", name, err))
}

func (s *Supervisor) fail(err error) {
	s.once.Do(func() { s.failed <- err })
}

// Failed delivers the first failure.
func (s *Supervisor) Failed() <-chan error { return s.failed }

// StopLoops begins shutdown: servers and loops that end from now on are
// not failures. It ends the loops' context and waits for them to return.
func (s *Supervisor) StopLoops() {
	s.stopping.Store(true)
	s.cancel()
	s.loops.Wait()
}

// Wait waits for the servers to return (after their shutdown).
func (s *Supervisor) Wait() { s.servers.Wait() }
