package ticket

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
)

// sharedReads lets the WatchEvents streams of a tenant share their reads of
// the event stream. Streams that have caught up wait at the same cursor, the
// newest event, and a commit wakes them all at once: each would read, and
// decode, the same page of events. A read of that page in flight, or the
// tenant's latest read if it was of that page, serves instead, provided it
// began after the store's notification that woke the stream, so that it
// holds every event the stream was woken for.
//
// Notifications are counted per tenant: the store's are fanned out to the
// tenant's streams by one goroutine, which counts each before passing it
// on. A read records the count when it begins; a stream, the count when it
// wakes. (A commit the count does not show yet wakes the stream again.)
//
// The events of a shared page are shared too: callers must not modify them.
type sharedReads struct {
	store Store

	mu      sync.Mutex
	tenants map[string]*tenantWatch
	flights map[pageKey]*pageRead
	latest  map[string]*pageRead // per tenant, the read completed last
}

// tenantWatch is the store subscription shared by a tenant's streams.
type tenantWatch struct {
	notified atomic.Uint64 // store notifications passed on so far
	streams  map[chan struct{}]struct{}
	cancel   func()        // ends the store subscription
	stop     chan struct{} // closed when the last stream has gone
}

type pageKey struct {
	tenant, after string
	limit         int
}

// pageRead is one read of a page, in flight until done is closed.
type pageRead struct {
	key      pageKey
	notified uint64 // the tenant's count when the read began
	done     chan struct{}
	joiners  int // streams waiting for it besides the one reading (tests)
	events   []Event
	err      error
}

// fresh is the count of a stream that wants a read begun after now: one
// woken by a poll rather than by a notification.
const fresh = math.MaxUint64

func newSharedReads(store Store) *sharedReads {
	return &sharedReads{
		store:   store,
		tenants: map[string]*tenantWatch{},
		flights: map[pageKey]*pageRead{},
		latest:  map[string]*pageRead{},
	}
}

// subscribe returns a channel that receives a value (coalesced) after each
// store notification for the tenant, and a function that returns the
// count of notifications passed on so far: read it after waking. cancel
// releases the subscription.
func (r *sharedReads) subscribe(tenant string) (notify <-chan struct{}, notified func() uint64, cancel func()) {
	ch := make(chan struct{}, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.tenants[tenant]
	if w == nil {
		storeNotify, storeCancel := r.store.Subscribe(tenant)
		w = &tenantWatch{streams: map[chan struct{}]struct{}{}, cancel: storeCancel, stop: make(chan struct{})}
		r.tenants[tenant] = w
		go r.fanOut(w, storeNotify)
	}
	w.streams[ch] = struct{}{}
	var once sync.Once
	return ch, w.notified.Load, func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			delete(w.streams, ch)
			if len(w.streams) == 0 {
				delete(r.tenants, tenant)
				delete(r.latest, tenant)
				close(w.stop)
				w.cancel()
			}
		})
	}
}

// fanOut passes the store's notifications on to the tenant's streams until
// the subscription is released.
func (r *sharedReads) fanOut(w *tenantWatch, storeNotify <-chan struct{}) {
	for {
		select {
		case <-w.stop:
			return
		case <-storeNotify:
		}
		w.notified.Add(1)
		r.mu.Lock()
		for ch := range w.streams {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		r.mu.Unlock()
	}
}

// list returns store.ListEvents(ctx, tenant, after, limit) as read by a
// query that began once the tenant's notification count had reached
// notified: every event notified by then is in it. Pass fresh for a read
// that begins now.
func (r *sharedReads) list(ctx context.Context, tenant, after string, limit int, notified uint64) ([]Event, error) {
	key := pageKey{tenant, after, limit}
	r.mu.Lock()
	f := r.flights[key]
	if l := r.latest[tenant]; f == nil && l != nil && l.key == key {
		f = l
	}
	if f != nil && notified != fresh && f.notified >= notified {
		f.joiners++
		r.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// A read that failed only because the stream that began it ended
		// says nothing about this one: read again.
		if f.err == nil || !isContextError(f.err) || ctx.Err() != nil {
			return f.events, f.err
		}
		r.mu.Lock()
	}
	f = &pageRead{key: key, done: make(chan struct{})}
	if w := r.tenants[tenant]; w != nil {
		f.notified = w.notified.Load()
	}
	r.flights[key] = f
	r.mu.Unlock()

	f.events, f.err = r.store.ListEvents(ctx, tenant, after, limit)
	r.mu.Lock()
	if r.flights[key] == f {
		delete(r.flights, key)
	}
	if _, watched := r.tenants[tenant]; watched && f.err == nil {
		if l := r.latest[tenant]; l == nil || l.notified <= f.notified {
			r.latest[tenant] = f
		}
	}
	r.mu.Unlock()
	close(f.done)
	return f.events, f.err
}

// joiners returns how many streams wait for the read of a page in flight.
func (r *sharedReads) joiners(tenant, after string, limit int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.flights[pageKey{tenant, after, limit}]; f != nil {
		return f.joiners
	}
	return 0
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
