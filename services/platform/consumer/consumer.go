// Package consumer follows tenants' ticket event streams (WatchEvents) for
// the services that act on them: the SLA relay today; routing, surveys,
// reporting, webhooks and e-mail out next. Each follower is named, and
// keeps its own position per tenant (a stored cursor), so a restarted
// follower resumes where it stopped. Events of one ticket are handled in
// order, those of different tickets in parallel (lanes); a failing handler
// is retried with back-off, a failing stream reconnected with back-off;
// health is reported for /readyz, and errors no retry can cure are
// returned to the caller.
//
// Delivery is at least once: the cursor passes an event only once its
// handler has finished with it, and events handled after the last saved
// cursor come again after a restart. A Handler must be idempotent.
package consumer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Handler acts on one event. It must be idempotent: an event may come
// more than once. An error is retried with back-off (the event's lane
// waits meanwhile); wrap it with Permanent when no retry can succeed.
type Handler interface {
	Handle(ctx context.Context, ev *ticketv1.Event) error
}

// HandlerFunc is a function as a Handler.
type HandlerFunc func(ctx context.Context, ev *ticketv1.Event) error

// Handle implements Handler.
func (f HandlerFunc) Handle(ctx context.Context, ev *ticketv1.Event) error { return f(ctx, ev) }

// Permanent marks a handler's error that no retry can cure (the event
// asks for something the handler refuses for good): the consumer logs it
// and moves past the event.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Stream is the call a consumer reads; ticketv1.TicketServiceClient has
// it.
type Stream interface {
	WatchEvents(ctx context.Context, in *ticketv1.WatchEventsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[ticketv1.WatchEventsResponse], error)
}

// Backoff spaces retries: Initial, doubled after each failure, up to Max.
type Backoff struct {
	Initial, Max time.Duration
}

func (b Backoff) or(def Backoff) Backoff {
	b.Initial, b.Max = cmp.Or(b.Initial, def.Initial), cmp.Or(b.Max, def.Max)
	return b
}

// Consumer follows one tenant's event stream for one named follower.
// Fields are set before Run; Healthy may be called at any time.
type Consumer struct {
	// Name identifies the follower; with Tenant it keys the stored cursor.
	Name   string
	Tenant string
	Stream Stream
	// Types are the event types to receive; empty: all.
	Types   []ticketv1.EventType
	Handler Handler
	Cursors Cursors
	// Lanes is how many events are handled at once (0: 16). Events of one
	// ticket always go through the same lane, in order.
	Lanes int
	// SaveEvery is how often the position is saved while events flow (0:
	// 500 ms); it is also saved when the stream ends.
	SaveEvery time.Duration
	// Reconnect spaces reconnections of a failed stream (0: 100 ms to 30
	// s); Retry spaces the retries of a failing handler (0: 100 ms to 10 s).
	Reconnect, Retry Backoff
	// UnhealthyAfter is how many failures in a row of the stream, of
	// saving the cursor or of one event's handling make Healthy report
	// them (0: 5).
	UnhealthyAfter int
	Log            *slog.Logger

	mu      sync.Mutex
	streaks map[string]streak // by what failed: "stream", "cursor", "lane 3"
	fatal   error
}

type streak struct {
	n   int
	err error
}

// Run follows the stream from the stored cursor until ctx ends (it then
// returns nil), reconnecting with back-off after a failure. It returns an
// error when following cannot go on: the stream refuses the stored
// cursor, the tenant or the caller's credentials.
func (c *Consumer) Run(ctx context.Context) error {
	reconnect := c.Reconnect.or(Backoff{100 * time.Millisecond, 30 * time.Second})
	wait := reconnect.Initial
	for {
		progressed, err := c.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if isFatal(err) {
			err = fmt.Errorf("consumer %s of tenant %s: %w", c.Name, c.Tenant, err)
			c.mu.Lock()
			c.fatal = err
			c.mu.Unlock()
			return err
		}
		if progressed {
			wait = reconnect.Initial
		}
		c.failed("stream", err)
		c.log().Warn("event stream ended; reconnecting", "consumer", c.Name, "tenant", c.Tenant, "err", err, "in", wait.String())
		if !sleep(ctx, wait) {
			return nil
		}
		wait = min(2*wait, reconnect.Max)
	}
}

// isFatal tells the stream's refusals that no reconnection cures.
func isFatal(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented:
		return true
	}
	return false
}

// Healthy returns nil unless the consumer has stopped for good, or the
// stream, saving the cursor or handling one event has failed
// UnhealthyAfter times in a row; then it says which and the last error.
func (c *Consumer) Healthy() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fatal != nil {
		return c.fatal
	}
	limit := cmp.Or(c.UnhealthyAfter, 5)
	var errs []error
	for _, what := range slices.Sorted(maps.Keys(c.streaks)) {
		if s := c.streaks[what]; s.n >= limit {
			errs = append(errs, fmt.Errorf("consumer %s of tenant %s: %s failed %d times in a row: %w", c.Name, c.Tenant, what, s.n, s.err))
		}
	}
	return errors.Join(errs...)
}

func (c *Consumer) failed(what string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streaks == nil {
		c.streaks = map[string]streak{}
	}
	s := c.streaks[what]
	c.streaks[what] = streak{n: s.n + 1, err: err}
}

func (c *Consumer) recovered(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.streaks, what)
}

func (c *Consumer) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

type job struct {
	seq uint64
	ev  *ticketv1.Event
}

// follow reads the stream from the saved cursor until it fails or ctx
// ends, then waits for the lanes to finish and saves the position.
// progressed is true when the stream delivered anything.
func (c *Consumer) follow(ctx context.Context) (progressed bool, err error) {
	cursor, err := c.Cursors.Load(ctx, c.Name, c.Tenant)
	if err != nil {
		return false, fmt.Errorf("load cursor: %w", err) // counted as the stream's failure
	}
	// The stream ends with ctx; the lanes finish the events they hold
	// even then, unless the caller's ctx is gone too.
	streamCtx, endStream := context.WithCancel(ctx)
	defer endStream()
	stream, err := c.Stream.WatchEvents(tenant.Outgoing(streamCtx, c.Tenant), &ticketv1.WatchEventsRequest{
		AfterCursor: cursor,
		Types:       c.Types,
	})
	if err != nil {
		return false, fmt.Errorf("watch events: %w", err)
	}

	pos := newPosition(cursor)
	lanes := make([]chan job, cmp.Or(c.Lanes, 16))
	var wg sync.WaitGroup
	for i := range lanes {
		lanes[i] = make(chan job, 64)
		lane := fmt.Sprintf("lane %d", i)
		wg.Go(func() {
			for j := range lanes[i] {
				if c.handle(ctx, lane, j.ev) {
					pos.done(j.seq)
				}
			}
		})
	}
	saved := cursor
	save := func(ctx context.Context) {
		if next := pos.cursor(); next != saved {
			if err := c.Cursors.Save(ctx, c.Name, c.Tenant, next); err != nil {
				c.failed("cursor", err)
				c.log().Warn("saving the cursor failed", "consumer", c.Name, "tenant", c.Tenant, "err", err)
				return
			}
			c.recovered("cursor")
			saved = next
		}
	}
	saverDone := make(chan struct{})
	stopSaver := make(chan struct{})
	go func() {
		defer close(saverDone)
		t := time.NewTicker(cmp.Or(c.SaveEvery, 500*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-stopSaver:
				return
			case <-t.C:
				save(ctx)
			}
		}
	}()
	defer func() {
		for _, l := range lanes {
			close(l)
		}
		wg.Wait()
		close(stopSaver)
		<-saverDone
		// Save even when ctx has ended: the position is what a restart
		// resumes from.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		save(sctx)
	}()

	for {
		msg, err := stream.Recv()
		if err != nil {
			return progressed, err
		}
		if !progressed {
			progressed = true
			c.recovered("stream")
		}
		if b := msg.GetBookmark(); b != nil {
			pos.bookmark(b.GetCursor())
			continue
		}
		ev := msg.GetEvent()
		if ev == nil {
			continue
		}
		j := job{seq: pos.add(ev.GetCursor()), ev: ev}
		select {
		case lanes[laneOf(ev.GetTicketId(), len(lanes))] <- j:
		case <-ctx.Done():
			return progressed, ctx.Err()
		}
	}
}

func laneOf(key string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// handle runs the handler on ev until it succeeds, fails permanently, or
// ctx ends; it reports whether the event is done with (the cursor may
// pass it).
func (c *Consumer) handle(ctx context.Context, lane string, ev *ticketv1.Event) bool {
	retry := c.Retry.or(Backoff{100 * time.Millisecond, 10 * time.Second})
	wait := retry.Initial
	for {
		if ctx.Err() != nil {
			return false
		}
		err := c.Handler.Handle(ctx, ev)
		var permanent permanentError
		switch {
		case err == nil:
			c.recovered(lane)
			return true
		case ctx.Err() != nil:
			return false
		case errors.As(err, &permanent):
			c.recovered(lane)
			c.log().ErrorContext(ctx, "event not handled, and no retry would help; passing it", "consumer", c.Name, "tenant", c.Tenant,
				"ticket", ev.GetTicketId(), "cursor", ev.GetCursor(), "err", err)
			return true
		}
		c.failed(lane, err)
		c.log().WarnContext(ctx, "handling an event failed; retrying", "consumer", c.Name, "tenant", c.Tenant,
			"ticket", ev.GetTicketId(), "cursor", ev.GetCursor(), "err", err, "in", wait.String())
		if !sleep(ctx, wait) {
			return false
		}
		wait = min(2*wait, retry.Max)
	}
}

// sleep waits for d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
