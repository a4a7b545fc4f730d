package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/buildinfo"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
)

// instrumentation is the name of the webhooks' tracer and meter.
const instrumentation = "github.com/kubedesk/kubedesk/services/channel/webhook"

var tracer = otel.Tracer(instrumentation)

// Store is what the deliveries read and write in the channel store.
type Store interface {
	AllWebhooks(ctx context.Context) ([]store.Webhook, error)
	GetWebhook(ctx context.Context, tenant, id string) (store.Webhook, error)
	WebhookSecrets(ctx context.Context, tenant, id string, at time.Time) ([]store.WebhookSecret, error)
	SaveWebhookCursor(ctx context.Context, tenant, id string, generation int64, cursor string) (bool, error)
	WebhookDelivery(ctx context.Context, tenant, webhookID string, generation int64, eventID string) (store.Delivery, bool, error)
	SaveWebhookDelivery(ctx context.Context, d store.Delivery) (store.Delivery, error)
	PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error)
	store.Leases
}

// Clock is the time retries and deadlines go by; tests give a fake one
// to pass a day of retries in a moment.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends (then it returns false).
	Sleep(ctx context.Context, d time.Duration) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// The headers of a delivery, besides Content-Type and User-Agent.
const (
	HeaderSignature = "X-Kubedesk-Signature"
	HeaderDelivery  = "X-Kubedesk-Delivery"
	HeaderEventID   = "X-Kubedesk-Event-Id"
	HeaderEventType = "X-Kubedesk-Event-Type"
	HeaderWebhookID = "X-Kubedesk-Webhook-Id"
	HeaderAttempt   = "X-Kubedesk-Attempt"
)

// The limits of reading an answer: its body is read up to maxResponseRead
// (so that the connection can be used again), and the start of it, up to
// maxErrorBody, is kept as the delivery's error.
const (
	maxResponseRead = 4 << 10
	maxErrorBody    = 512
)

// saveTimeout bounds recording an attempt when the follower is stopping.
const saveTimeout = 5 * time.Second

// restartFollowing spaces the restarts of a webhook whose following
// stopped for good (the stream refused its cursor).
const restartFollowing = time.Minute

// Dispatcher delivers every tenant's webhooks: one follower of the
// tenant's event stream per webhook, from the webhook's own cursor, so
// that a failing receiver holds back only its own deliveries. Each event a
// webhook subscribes to is POSTed, signed, to its URL; a failure is
// retried with back-off until it succeeds or the retry window is over
// (then the event is dead-lettered and the follower goes on), while
// later events of the same ticket wait behind it. Every attempt is
// recorded in the delivery log.
//
// The set of webhooks is read from the store when Run starts, on Notify
// (a change made here), and every Config.Refresh (changes made through
// another replica).
//
// One process delivers at a time: the one holding the deliveries' lease
// in the store, renewed every Refresh for three times that. Another
// replica of the channel service waits, and takes over when the holder
// stops (it gives the lease up) or stops renewing it (it runs out).
type Dispatcher struct {
	Store  Store
	Stream consumer.Stream
	Config Config
	// AllowPrivate reports whether a tenant's webhooks may reach private
	// networks (spec.channels.webhooks.allowPrivateNetworks); nil: none
	// may.
	AllowPrivate func(tenant string) bool
	// Clock is nil for the real one.
	Clock Clock
	// Meter makes the metrics; nil: the global meter provider's.
	Meter metric.Meter
	Log   *slog.Logger

	once       sync.Once
	cfg        Config
	clients    [2]*http.Client // public only; private allowed
	kick       chan struct{}
	deliveries metric.Int64Counter
	latency    metric.Float64Histogram

	mu        sync.Mutex
	followers map[string]*follower // by tenant/id
	lastErr   error                // of the last reading of the webhooks
	holder    string               // this process, in the lease
	heldUntil time.Time            // when the lease runs out, as far as this process knows
}

// follower follows one generation of one webhook.
type follower struct {
	d          *Dispatcher
	tenant, id string
	generation int64
	// hook is the webhook as last read, with its secrets: a change that
	// keeps the generation (a new URL, events or secret) applies to the
	// next attempt.
	hook   atomic.Pointer[hookState]
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	consumer *consumer.Consumer
}

type hookState struct {
	webhook store.Webhook
	secrets []store.WebhookSecret
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.cfg = d.Config.withDefaults()
		if d.Clock == nil {
			d.Clock = realClock{}
		}
		if d.Log == nil {
			d.Log = slog.New(slog.DiscardHandler)
		}
		d.clients = [2]*http.Client{newClient(d.cfg, Guard{}), newClient(d.cfg, Guard{AllowPrivate: true})}
		d.kick = make(chan struct{}, 1)
		d.followers = map[string]*follower{}
		d.holder = store.NewID()
		meter := d.Meter
		if meter == nil {
			meter = otel.Meter(instrumentation)
		}
		d.deliveries, _ = meter.Int64Counter("kubedesk_webhook_attempts_total",
			metric.WithDescription("Webhook delivery attempts by outcome: succeeded, failed (retried later) or dead_lettered (the last)."))
		d.latency, _ = meter.Float64Histogram("kubedesk_webhook_attempt_duration",
			metric.WithDescription("How long a webhook delivery attempt took, to the answer's headers."), metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	})
}

// newClient is the HTTP client of deliveries under guard.
func newClient(cfg Config, guard Guard) *http.Client {
	return GuardedClient(guard, time.Duration(cfg.Timeout), cfg.Lanes)
}

// GuardedClient is an HTTP client for a tenant's outgoing calls (its
// webhooks, and its SLA policies' webhook actions) under guard: no proxy
// (the address connected to is the one checked), the guard at every
// connection, no redirects, timeout for the whole exchange, and up to
// idlePerHost idle connections kept per host.
func GuardedClient(guard Guard, timeout time.Duration, idlePerHost int) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: guard.Control}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   idlePerHost,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
		},
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Notify makes Run read the webhooks again now: one was created,
// changed, replayed or deleted.
func (d *Dispatcher) Notify() {
	d.init()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then stops every follower (each saves its
// position) and returns nil.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	defer func() {
		d.stopAll()
		// The next holder need not wait for the lease to run out.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
		defer cancel()
		if err := d.Store.ReleaseLease(ctx, store.LeaseWebhookDeliveries, d.holder); err != nil {
			d.Log.Warn("giving up the webhook deliveries' lease failed; another replica takes over when it runs out", "err", err)
		}
	}()
	refresh := time.NewTicker(time.Duration(d.cfg.Refresh))
	defer refresh.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	waiting := false
	for {
		held, err := d.hold(ctx)
		switch {
		case err == nil && held:
			if waiting {
				d.Log.Info("delivering webhooks: this replica holds the lease now")
				waiting = false
			}
			err = d.reconcile(ctx)
		case err == nil && !waiting:
			d.Log.Info("another replica delivers webhooks; this one waits for its lease to end")
			waiting = true
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			d.Log.Warn("reading the webhooks failed; retrying", "err", err, "in", time.Duration(d.cfg.Refresh).String())
		}
		d.mu.Lock()
		d.lastErr = err
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-d.kick:
		case <-refresh.C:
		case <-prune.C:
			if held {
				d.prune(ctx)
			}
		}
	}
}

// hold takes or renews the lease. When this process does not hold it, or
// cannot tell and its lease has run out meanwhile, its followers stop.
func (d *Dispatcher) hold(ctx context.Context) (bool, error) {
	ttl := 3 * time.Duration(d.cfg.Refresh)
	asked := time.Now()
	held, err := d.Store.HoldLease(ctx, store.LeaseWebhookDeliveries, d.holder, ttl)
	if err == nil && held {
		d.heldUntil = asked.Add(ttl)
		return true, nil
	}
	if err == nil || time.Now().After(d.heldUntil) {
		d.stopAll()
	}
	return false, err
}

// Healthy returns nil unless reading the webhooks failed last time, or a
// webhook's follower reports failures (of the event stream or the store;
// a failing receiver is the receiver's business, not the desk's health).
func (d *Dispatcher) Healthy(context.Context) error {
	d.init()
	d.mu.Lock()
	errs := []error{d.lastErr}
	followers := slices.Collect(maps.Values(d.followers))
	d.mu.Unlock()
	for _, f := range followers {
		f.mu.Lock()
		c := f.consumer
		f.mu.Unlock()
		if c != nil {
			errs = append(errs, c.Healthy())
		}
	}
	return errors.Join(errs...)
}

func (d *Dispatcher) prune(ctx context.Context) {
	n, err := d.Store.PruneWebhookDeliveries(ctx, d.Clock.Now().Add(-time.Duration(d.cfg.Retention)))
	if err != nil && ctx.Err() == nil {
		d.Log.Warn("pruning the webhook delivery log failed", "err", err)
	} else if n > 0 {
		d.Log.Info("pruned the webhook delivery log", "deliveries", n, "older than", time.Duration(d.cfg.Retention).String())
	}
}

// reconcile starts a follower for every webhook without one, restarts
// those a replay moved to a new generation, hands changes to the others
// and stops those of deleted webhooks.
func (d *Dispatcher) reconcile(ctx context.Context) error {
	hooks, err := d.Store.AllWebhooks(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var errs []error
	for _, w := range hooks {
		key := w.Tenant + "/" + w.ID
		seen[key] = true
		d.mu.Lock()
		f := d.followers[key]
		d.mu.Unlock()
		if f != nil && f.generation != w.Generation {
			d.stop(f)
			f = nil
		}
		if f != nil && f.hook.Load().webhook.Version == w.Version {
			continue
		}
		secrets, err := d.Store.WebhookSecrets(ctx, w.Tenant, w.ID, d.Clock.Now())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		state := &hookState{webhook: w, secrets: secrets}
		if f != nil {
			f.hook.Store(state)
			continue
		}
		d.start(ctx, state)
	}
	d.mu.Lock()
	var gone []*follower
	for key, f := range d.followers {
		if !seen[key] {
			gone = append(gone, f)
		}
	}
	d.mu.Unlock()
	for _, f := range gone {
		d.stop(f)
	}
	return errors.Join(errs...)
}

func (d *Dispatcher) start(ctx context.Context, h *hookState) {
	w := h.webhook
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{d: d, tenant: w.Tenant, id: w.ID, generation: w.Generation, cancel: cancel, done: make(chan struct{})}
	f.hook.Store(h)
	d.mu.Lock()
	d.followers[w.Tenant+"/"+w.ID] = f
	d.mu.Unlock()
	go func() {
		defer close(f.done)
		for {
			c := &consumer.Consumer{
				Name: "webhook-" + w.ID, Tenant: w.Tenant, Stream: d.Stream, Handler: f,
				Cursors: webhookCursors{d.Store, w.Generation}, Lanes: d.cfg.Lanes, Log: d.Log,
			}
			f.mu.Lock()
			f.consumer = c
			f.mu.Unlock()
			err := c.Run(ctx)
			if ctx.Err() != nil {
				return
			}
			d.Log.Error("a webhook stopped following its tenant's events; retrying", "tenant", w.Tenant, "webhook", w.ID,
				"err", err, "in", restartFollowing.String())
			if !(realClock{}).Sleep(ctx, restartFollowing) {
				return
			}
		}
	}()
}

// stop ends a follower and waits until it has (its lanes finish, its
// position is saved).
func (d *Dispatcher) stop(f *follower) {
	f.cancel()
	<-f.done
	d.mu.Lock()
	if d.followers[f.tenant+"/"+f.id] == f {
		delete(d.followers, f.tenant+"/"+f.id)
	}
	d.mu.Unlock()
}

func (d *Dispatcher) stopAll() {
	d.mu.Lock()
	all := slices.Collect(maps.Values(d.followers))
	d.mu.Unlock()
	for _, f := range all {
		f.cancel()
	}
	for _, f := range all {
		d.stop(f)
	}
}

// webhookCursors keeps a follower's position in its webhook's row, under
// its generation: after a replay, what the old generation saves is
// dropped.
type webhookCursors struct {
	st         Store
	generation int64
}

var errReplayed = errors.New("the webhook was replayed or deleted meanwhile")

// Load implements consumer.Cursors; name is the consumer's, "webhook-<id>".
func (c webhookCursors) Load(ctx context.Context, name, tenant string) (string, error) {
	w, err := c.st.GetWebhook(ctx, tenant, strings.TrimPrefix(name, "webhook-"))
	if err != nil {
		return "", err
	}
	if w.Generation != c.generation {
		return "", errReplayed
	}
	return w.Cursor, nil
}

// Save implements consumer.Cursors.
func (c webhookCursors) Save(ctx context.Context, name, tenant, cursor string) error {
	_, err := c.st.SaveWebhookCursor(ctx, tenant, strings.TrimPrefix(name, "webhook-"), c.generation, cursor)
	return err
}

// Close implements consumer.Cursors.
func (webhookCursors) Close() error { return nil }

// Handle implements consumer.Handler: it delivers ev if the webhook
// subscribes to it, retrying until it succeeds or its retry window ends.
// It returns an error only when ctx ends or the store fails; the consumer
// then hands the event back (the delivery log knows the attempts made).
func (f *follower) Handle(ctx context.Context, ev *ticketv1.Event) error {
	d := f.d
	w := f.hook.Load().webhook
	eventTime := ev.GetCreateTime().AsTime()
	typ := TypeOf(ev)
	if eventTime.Before(w.StartTime) || !Subscribed(w.Events, typ) {
		return nil
	}
	rec, found, err := d.Store.WebhookDelivery(ctx, f.tenant, f.id, f.generation, ev.GetCursor())
	if err != nil {
		return err
	}
	if found && rec.State != store.DeliveryPending {
		return nil // done with before a restart
	}
	if !found {
		rec = store.Delivery{
			ID: store.NewID(), Tenant: f.tenant, WebhookID: f.id, Generation: f.generation, Replay: f.generation > 1,
			EventID: ev.GetCursor(), EventType: typ, TicketID: ev.GetTicketId(), EventTime: eventTime, State: store.DeliveryPending,
		}
	}
	body, err := Body(ev, typ, f.tenant, f.id)
	if err != nil {
		return consumer.Permanent(err)
	}
	// The window counts from the event, or from the replay that sent an
	// older event again.
	deadline := eventTime
	if w.GenerationTime.After(deadline) {
		deadline = w.GenerationTime
	}
	deadline = deadline.Add(time.Duration(d.cfg.Retry.Window))

	ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": ev.GetTraceparent()})
	ctx, span := tracer.Start(ctx, "webhook "+typ, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("kubedesk.tenant", f.tenant), attribute.String("kubedesk.webhook_id", f.id),
		attribute.String("kubedesk.ticket_id", ev.GetTicketId()), attribute.String("kubedesk.event_id", ev.GetCursor())))
	defer span.End()
	for {
		h := f.hook.Load()
		code, latency, failure := d.attempt(ctx, h, rec, body)
		stopped := ctx.Err()
		if stopped != nil && code == 0 {
			return stopped // cut short: the event comes again
		}
		now := d.Clock.Now()
		rec.Attempts++
		rec.ResponseCode, rec.Latency, rec.NextAttemptTime = code, latency, time.Time{}
		d.latency.Record(ctx, latency.Seconds())
		outcome := ""
		switch {
		case failure == nil:
			rec.State, rec.Error, outcome = store.DeliverySucceeded, "", "succeeded"
		case !now.Before(deadline):
			rec.State, rec.Error, outcome = store.DeliveryDeadLettered, failure.Error(), "dead_lettered"
			span.SetStatus(otelcodes.Error, "dead-lettered: "+failure.Error())
			d.Log.WarnContext(ctx, "webhook delivery dead-lettered: every attempt failed for the retry window", "tenant", f.tenant,
				"webhook", f.id, "event", rec.EventID, "ticket", rec.TicketID, "attempts", rec.Attempts, "err", failure)
		default:
			wait := d.backoff(rec.Attempts)
			if rest := deadline.Sub(now); wait > rest {
				wait = rest // the last attempt at the deadline
			}
			rec.Error, rec.NextAttemptTime, outcome = failure.Error(), now.Add(wait), "failed"
		}
		d.deliveries.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
		span.AddEvent("attempt", trace.WithAttributes(attribute.Int("attempt", rec.Attempts), attribute.Int("http.response.status_code", code),
			attribute.String("outcome", outcome)))
		// An answer is recorded even when the follower is stopping (a
		// replay, a shutdown): the receiver got the event.
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
		rec, err = d.Store.SaveWebhookDelivery(saveCtx, rec)
		cancel()
		switch {
		case err != nil:
			return err
		case rec.State != store.DeliveryPending:
			return nil
		case stopped != nil:
			return stopped
		}
		if !d.Clock.Sleep(ctx, rec.NextAttemptTime.Sub(now)) {
			return ctx.Err()
		}
	}
}

// backoff is the wait after the n-th failed attempt: Initial doubled n-1
// times, at most Max, then a random point between half of it and all of
// it.
func (d *Dispatcher) backoff(n int) time.Duration {
	wait := time.Duration(d.cfg.Retry.Initial)
	for i := 1; i < n && wait < time.Duration(d.cfg.Retry.Max); i++ {
		wait *= 2
	}
	wait = min(wait, time.Duration(d.cfg.Retry.Max))
	half := wait / 2
	return half + rand.N(wait-half+1)
}

// attempt POSTs body to the webhook once. It returns the answer's status
// (0 without one), how long the exchange took, and why it failed (nil for
// a 2xx).
func (d *Dispatcher) attempt(ctx context.Context, h *hookState, rec store.Delivery, body []byte) (int, time.Duration, error) {
	w := h.webhook
	now := d.Clock.Now()
	var secrets []string
	for _, s := range h.secrets {
		if s.ExpireTime.IsZero() || s.ExpireTime.After(now) {
			secrets = append(secrets, s.Secret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("the webhook's URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kubedesk-webhooks/"+buildinfo.Version)
	req.Header.Set(HeaderDelivery, rec.ID)
	req.Header.Set(HeaderEventID, rec.EventID)
	req.Header.Set(HeaderEventType, rec.EventType)
	req.Header.Set(HeaderWebhookID, w.ID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(rec.Attempts+1))
	req.Header.Set(HeaderSignature, Sign(now, body, secrets...))
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))

	client := d.clients[0]
	if d.AllowPrivate != nil && d.AllowPrivate(w.Tenant) {
		client = d.clients[1]
	}
	start := time.Now()
	resp, err := client.Do(req)
	latency := time.Since(start)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the webhook's, known
		}
		return 0, latency, err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return code, latency, nil
	case code >= 300 && code < 400:
		return code, latency, fmt.Errorf("HTTP %d: redirects are not followed (Location: %s); give the webhook the URL that answers", code, excerpt([]byte(resp.Header.Get("Location"))))
	default:
		return code, latency, fmt.Errorf("HTTP %d: %s", code, excerpt(head))
	}
}

// excerpt is the start of an answer's body as one line of valid UTF-8.
func excerpt(b []byte) string {
	if len(b) > maxErrorBody {
		b = b[:maxErrorBody] // a character cut in two becomes U+FFFD
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if s == "" {
		return "(no body)"
	}
	return strings.ReplaceAll(s, "\x00", "")
}
