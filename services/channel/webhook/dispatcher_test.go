package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket/tickettest"
)

// fakeClock passes a wait at once, moving its time on by it: a day of
// retries takes a moment.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	return true
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	// The body's fields the tests read.
	ID, Type, TicketID string
	Event              struct {
		Comment struct{ Body string }
	}
	answer int
}

// receiver is a webhook's receiving end on loopback: it records every
// request and answers what answer says (204 when nil).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(r received, n int) (int, string)
}

func newReceiver(t *testing.T, answer func(r received, n int) (int, string)) *receiver {
	rc := &receiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{header: r.Header.Clone(), body: body}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("receiver: body %s: %v", body, err)
		}
		rc.mu.Lock()
		n := len(rc.got)
		code, text := http.StatusNoContent, ""
		if rc.answer != nil {
			code, text = rc.answer(got, n)
		}
		got.answer = code
		rc.got = append(rc.got, got)
		rc.mu.Unlock()
		w.WriteHeader(code)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// delivered are the requests answered 2xx.
func (rc *receiver) delivered() []received {
	var out []received
	for _, r := range rc.requests() {
		if r.answer < 300 {
			out = append(out, r)
		}
	}
	return out
}

func (rc *receiver) waitDelivered(n int) []received {
	rc.t.Helper()
	waitFor(rc.t, fmt.Sprintf("%d deliveries", n), func() bool { return len(rc.delivered()) >= n })
	return rc.delivered()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// verifies checks a signature header as a receiver would, without Sign:
// one of its v1 values is the HMAC-SHA256 of "<t>.<body>" under secret.
func verifies(header string, body []byte, secret string) bool {
	parts := strings.Split(header, ",")
	ts, ok := strings.CutPrefix(parts[0], "t=")
	if !ok {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	return slices.Contains(parts[1:], want)
}

// rig is the deliveries of one tenant's webhooks against the real ticket
// service and a real channel store, with a fake clock.
type rig struct {
	t            *testing.T
	st           store.Store
	tickets      ticketv1.TicketServiceClient
	routing      ticketv1.TicketRoutingServiceClient
	clock        *fakeClock
	d            *Dispatcher
	srv          *Server
	allowPrivate atomic.Bool
	// stop stops d.
	stop func()
	// metrics has d's metrics, as /metrics shows them.
	metrics *prometheus.Registry
}

// attempts is kubedesk_webhook_attempts_total of an outcome.
func (r *rig) attempts(outcome string) float64 {
	r.t.Helper()
	families, err := r.metrics.Gather()
	if err != nil {
		r.t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "kubedesk_webhook_attempts_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

const rigTenant = "acme"

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "channel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	conn := tickettest.Start(t)
	tickets := ticketv1.NewTicketServiceClient(conn)
	r := &rig{t: t, st: st, tickets: tickets, routing: ticketv1.NewTicketRoutingServiceClient(conn), clock: &fakeClock{now: time.Now()}}
	r.allowPrivate.Store(true) // the receivers are on loopback
	allow := func(string) bool { return r.allowPrivate.Load() }
	r.metrics = prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(r.metrics))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	r.d = &Dispatcher{Store: st, Stream: tickets, Config: cfg, AllowPrivate: allow, Clock: r.clock, Meter: mp.Meter(instrumentation),
		Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	r.srv = &Server{Store: st, Stream: tickets, Config: cfg, AllowPrivate: allow, Notify: r.d.Notify}
	r.stop = r.run(r.d)
	return r
}

// run runs d until the test ends or stop is called.
func (r *rig) run(d *Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				r.t.Errorf("Run: %v", err)
			}
		})
	}
	r.t.Cleanup(stop)
	return stop
}

func (r *rig) ctx() context.Context { return tenant.With(context.Background(), rigTenant) }

func (r *rig) out() context.Context { return tenant.Outgoing(context.Background(), rigTenant) }

const rigSecret = "rig-secret-0123456789"

func (r *rig) webhook(url string, events ...string) *channelv1.Webhook {
	r.t.Helper()
	secret := rigSecret
	resp, err := r.srv.CreateWebhook(r.ctx(), &channelv1.CreateWebhookRequest{Webhook: &channelv1.Webhook{Url: url, Events: events, Secret: &secret}})
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.GetWebhook()
}

func (r *rig) ticket(subject string) string {
	r.t.Helper()
	resp, err := r.tickets.CreateTicket(r.out(), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: subject}})
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.GetTicket().GetId()
}

func (r *rig) comment(ticketID, body string) {
	r.t.Helper()
	if _, err := r.tickets.AddComment(r.out(), &ticketv1.AddCommentRequest{TicketId: ticketID, Comment: &ticketv1.Comment{Author: "王芳", Body: body}}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) deliveries(id, filter string) []*channelv1.WebhookDelivery {
	r.t.Helper()
	resp, err := r.srv.ListWebhookDeliveries(r.ctx(), &channelv1.ListWebhookDeliveriesRequest{Id: id, Filter: filter, PageSize: 100})
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.GetDeliveries()
}

// waitVersion waits until the deliveries use version v of webhook id.
func (r *rig) waitVersion(id string, v int64) {
	r.t.Helper()
	waitFor(r.t, fmt.Sprintf("version %d of webhook %s in the deliveries", v, id), func() bool {
		r.d.mu.Lock()
		f := r.d.followers[rigTenant+"/"+id]
		r.d.mu.Unlock()
		return f != nil && f.hook.Load().webhook.Version == v
	})
}

// order is what a receiver got, as "type ticket comment" lines per
// ticket.
func order(rs []received) map[string][]string {
	out := map[string][]string{}
	for _, r := range rs {
		out[r.TicketID] = append(out[r.TicketID], strings.TrimSpace(r.Type+" "+r.Event.Comment.Body))
	}
	return out
}

// TestDeliveries: events after the webhook's creation arrive signed, in
// order per ticket, with the headers docs/webhooks.md lists, and each
// is in the delivery log.
func TestDeliveries(t *testing.T) {
	r := newRig(t, Config{})
	rc := newReceiver(t, nil)
	before := r.ticket("before the webhook")
	w := r.webhook(rc.srv.URL+"/hooks", TicketCreated, CommentAdded)
	var ids []string
	for i := range 3 {
		id := r.ticket(fmt.Sprintf("ticket %d", i))
		ids = append(ids, id)
		for j := range 3 {
			r.comment(id, fmt.Sprintf("comment %d.%d", i, j))
		}
	}
	r.comment(before, "on the old ticket") // its creation came before the webhook
	got := rc.waitDelivered(13)
	time.Sleep(100 * time.Millisecond)
	if n := len(rc.requests()); n != 13 {
		t.Errorf("%d requests, want 13 (one per event, none twice)", n)
	}
	byTicket := order(got)
	for i, id := range ids {
		want := []string{TicketCreated}
		for j := range 3 {
			want = append(want, fmt.Sprintf("%s comment %d.%d", CommentAdded, i, j))
		}
		if !slices.Equal(byTicket[id], want) {
			t.Errorf("ticket %d got %v, want %v", i, byTicket[id], want)
		}
	}
	if !slices.Equal(byTicket[before], []string{CommentAdded + " on the old ticket"}) {
		t.Errorf("the ticket from before the webhook got %v, want only its new comment", byTicket[before])
	}
	seen := map[string]bool{}
	for _, g := range got {
		h := g.header
		if !verifies(h.Get(HeaderSignature), g.body, rigSecret) {
			t.Errorf("signature %q does not verify", h.Get(HeaderSignature))
		}
		if strings.Count(h.Get(HeaderSignature), "v1=") != 1 {
			t.Errorf("signature %q: want one v1 (no rotation)", h.Get(HeaderSignature))
		}
		if h.Get(HeaderEventID) != g.ID || g.ID == "" || h.Get(HeaderEventType) != g.Type || h.Get(HeaderWebhookID) != w.GetId() ||
			h.Get(HeaderAttempt) != "1" || h.Get("Content-Type") != "application/json" || !strings.HasPrefix(h.Get("User-Agent"), "kubedesk-webhooks/") {
			t.Errorf("headers %v for event %s", h, g.ID)
		}
		if d := h.Get(HeaderDelivery); d == "" || seen[d] {
			t.Errorf("delivery ID %q empty or repeated", d)
		}
		seen[h.Get(HeaderDelivery)] = true
	}
	log := r.deliveries(w.GetId(), "")
	waitFor(t, "13 succeeded deliveries in the log", func() bool {
		log = r.deliveries(w.GetId(), "state = succeeded")
		return len(log) == 13
	})
	for _, d := range log {
		if d.GetAttempts() != 1 || d.GetResponseCode() != 204 || d.GetError() != "" || d.GetReplay() || !seen[d.GetId()] || d.GetLatency() == nil {
			t.Errorf("delivery %v", d)
		}
	}
	// The cursor moves on once the events are done with.
	var cursor string
	waitFor(t, "the webhook's cursor", func() bool {
		got, err := r.srv.GetWebhook(r.ctx(), &channelv1.GetWebhookRequest{Id: w.GetId()})
		cursor = got.GetWebhook().GetCursor()
		return err == nil && cursor != ""
	})
	// A second webhook starts from there rather than from the first
	// event, and gets only what comes after it.
	rc2 := newReceiver(t, nil)
	w2 := r.webhook(rc2.srv.URL, TicketCreated, CommentAdded)
	if w2.GetCursor() != cursor {
		t.Errorf("the second webhook starts at %q, want the first's cursor %q", w2.GetCursor(), cursor)
	}
	later := r.ticket("after the second webhook")
	if got := rc2.waitDelivered(1); got[0].TicketID != later {
		t.Errorf("the second webhook got %v first, want the creation of %s", order(got), later)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(rc2.requests()); n != 1 {
		t.Errorf("the second webhook got %d requests, want 1: %v", n, order(rc2.requests()))
	}
}

// TestRoutingDeliveries: a routing decision reaches the webhooks of
// routing.assigned with its summary, after the ticket.updated of its
// changes, which carries the same summary.
func TestRoutingDeliveries(t *testing.T) {
	r := newRig(t, Config{})
	rc := newReceiver(t, nil)
	r.webhook(rc.srv.URL, TicketUpdated, RoutingAssigned)
	id := r.ticket("发票开错了")
	decision := &ticketv1.RoutingSummary{Id: "d-1", Trigger: "created", Outcome: "assigned", Group: "billing", Agent: "u-wang",
		Rules: []string{"账单"}, Explanation: "规则“账单”匹配：主题含“发票”。"}
	if _, err := r.routing.AssignTicket(r.out(), &ticketv1.AssignTicketRequest{TicketId: id, Decision: decision,
		Group: proto.String("billing"), Assignee: proto.String("u-wang"), Note: "转给账单组"}); err != nil {
		t.Fatal(err)
	}
	got := rc.waitDelivered(2)
	if ts := []string{got[0].Type, got[1].Type}; !slices.Equal(ts, []string{TicketUpdated, RoutingAssigned}) {
		t.Fatalf("deliveries %v, want ticket.updated then routing.assigned", ts)
	}
	for _, g := range got {
		var body struct {
			Event struct {
				Routing json.RawMessage
				Ticket  struct{ Assignee string }
				Comment struct{ Body, Visibility string }
			}
		}
		if err := json.Unmarshal(g.body, &body); err != nil {
			t.Fatal(err)
		}
		e := body.Event
		routing := &ticketv1.RoutingSummary{}
		if err := protojson.Unmarshal(e.Routing, routing); err != nil || !proto.Equal(routing, decision) || e.Ticket.Assignee != "u-wang" || g.header.Get(HeaderEventType) != g.Type {
			t.Errorf("%s: routing %s (%v), assignee %q; want the decision and u-wang in %s", g.Type, e.Routing, err, e.Ticket.Assignee, g.body)
		}
		if wantNote := g.Type == RoutingAssigned; wantNote != (e.Comment.Body == "转给账单组" && e.Comment.Visibility == "VISIBILITY_INTERNAL") {
			t.Errorf("%s: comment %+v; the note comes with routing.assigned only", g.Type, e.Comment)
		}
	}
}

// TestReceiverDownForAnHour: a receiver answering 500 for an hour gets
// every event afterwards, in order; the waits between attempts double,
// with jitter, up to the maximum.
func TestReceiverDownForAnHour(t *testing.T) {
	r := newRig(t, Config{})
	var back atomic.Value // time.Time
	back.Store(r.clock.Now().Add(time.Hour))
	rc := newReceiver(t, func(received, int) (int, string) {
		if r.clock.Now().Before(back.Load().(time.Time)) {
			return http.StatusInternalServerError, "database is down"
		}
		return http.StatusOK, "ok"
	})
	w := r.webhook(rc.srv.URL, TicketCreated, CommentAdded)
	id := r.ticket("VPN 断线")
	for i := range 5 {
		r.comment(id, fmt.Sprintf("update %d", i))
	}
	rc.waitDelivered(6)
	// (Another ticket's events do not wait: they have their own lane.
	// It is created after the outage, so that the waits below are all
	// the first ticket's.)
	other := r.ticket("another ticket")
	got := rc.waitDelivered(7)
	want := []string{TicketCreated}
	for i := range 5 {
		want = append(want, fmt.Sprintf("%s update %d", CommentAdded, i))
	}
	if byTicket := order(got); !slices.Equal(byTicket[id], want) || len(byTicket[other]) != 1 {
		t.Errorf("delivered after the outage: %v, want %v and the other ticket's creation", byTicket, want)
	}
	// Nothing of the ticket came before its first event got through.
	var seq []string
	for _, q := range rc.requests() {
		if q.TicketID == id {
			seq = append(seq, fmt.Sprintf("%s/%d", q.Type, q.answer))
		}
	}
	firstOK := slices.Index(seq, TicketCreated+"/200")
	for i, s := range seq[:firstOK] {
		if s != TicketCreated+"/500" {
			t.Fatalf("request %d of the ticket was %s before its creation was delivered: %v", i, s, seq)
		}
	}
	if firstOK < 5 {
		t.Errorf("the creation got through at attempt %d; an hour of back-off from 10s is more attempts", firstOK+1)
	}
	r.clock.mu.Lock()
	slept := slices.Clone(r.clock.slept)
	r.clock.mu.Unlock()
	for i, d := range slept[:firstOK] {
		base := min(DefaultRetryInitial<<i, DefaultRetryMax)
		if d < base/2 || d > base {
			t.Errorf("wait %d: %v, want between %v and %v", i+1, d, base/2, base)
		}
	}
	var created *channelv1.WebhookDelivery
	waitFor(t, "the log of 7 deliveries", func() bool { return len(r.deliveries(w.GetId(), "state = succeeded")) == 7 })
	for _, d := range r.deliveries(w.GetId(), "ticket = "+id) {
		if d.GetEventType() == TicketCreated {
			created = d
		} else if d.GetAttempts() != 1 {
			t.Errorf("%s took %d attempts; it waited behind the first, which got through", d.GetEventType(), d.GetAttempts())
		}
	}
	if created.GetAttempts() != int32(firstOK+1) || created.GetResponseCode() != 200 || created.GetError() != "" {
		t.Errorf("the creation's delivery %v, want %d attempts, then 200", created, firstOK+1)
	}
}

// TestDeadLetter: an event that fails for the whole window is
// dead-lettered, recorded with its last error, and the ticket's later
// events go on.
func TestDeadLetter(t *testing.T) {
	r := newRig(t, Config{Retry: RetryConfig{Window: config.Duration(time.Hour)}})
	var poisoned atomic.Value // the event ID that always fails
	poisoned.Store("")
	rc := newReceiver(t, func(q received, _ int) (int, string) {
		if q.Type == TicketCreated && strings.Contains(string(q.body), "poison") {
			poisoned.Store(q.ID)
			return http.StatusBadGateway, strings.Repeat("upstream failed ", 200)
		}
		return http.StatusNoContent, ""
	})
	w := r.webhook(rc.srv.URL, TicketCreated, CommentAdded)
	id := r.ticket("poison")
	r.comment(id, "after the poison")
	other := r.ticket("healthy")
	got := rc.waitDelivered(2)
	if byTicket := order(got); !slices.Equal(byTicket[id], []string{CommentAdded + " after the poison"}) || len(byTicket[other]) != 1 {
		t.Errorf("delivered %v", byTicket)
	}
	dead := r.deliveries(w.GetId(), "state = dead_lettered")
	if len(dead) != 1 {
		t.Fatalf("dead letters %v, want 1", dead)
	}
	d := dead[0]
	if d.GetEventId() != poisoned.Load() || d.GetTicketId() != id || d.GetResponseCode() != 502 || d.GetAttempts() < 5 ||
		!strings.HasPrefix(d.GetError(), "HTTP 502: upstream failed upstream failed") || len(d.GetError()) > maxErrorBody+20 ||
		d.GetNextAttemptTime() != nil {
		t.Errorf("dead letter %v", d)
	}
	attempts := 0
	for _, q := range rc.requests() {
		if q.ID == d.GetEventId() {
			attempts++
		}
	}
	if attempts != int(d.GetAttempts()) {
		t.Errorf("the receiver got %d attempts, the log says %d", attempts, d.GetAttempts())
	}
	waitFor(t, "the succeeded attempts counted", func() bool { return r.attempts("succeeded") == 2 })
	if failed, dead := r.attempts("failed"), r.attempts("dead_lettered"); int(failed) != attempts-1 || dead != 1 {
		t.Errorf("kubedesk_webhook_attempts_total: failed %v, dead_lettered %v; want %d and 1", failed, dead, attempts-1)
	}
	// The comment came after the last attempt of the dead letter.
	reqs := rc.requests()
	last := slices.IndexFunc(reqs, func(q received) bool { return q.Type == CommentAdded })
	for _, q := range reqs[last:] {
		if q.ID == d.GetEventId() {
			t.Errorf("an attempt of the dead letter came after the ticket's next event")
		}
	}
}

// TestReplay: a replay from a cursor sends the events after it again,
// from a time the events since then, as new deliveries of the same
// events.
func TestReplay(t *testing.T) {
	r := newRig(t, Config{})
	rc := newReceiver(t, nil)
	early := r.ticket("before the webhook")
	w := r.webhook(rc.srv.URL, TicketCreated)
	var ids []string
	for i := range 3 {
		ids = append(ids, r.ticket(fmt.Sprintf("ticket %d", i)))
	}
	first := rc.waitDelivered(3)
	// Events of different tickets may arrive in any order; the first
	// ticket's creation is the first event of the stream.
	eventOf := map[string]received{}
	for _, q := range first {
		eventOf[q.TicketID] = q
	}
	after := eventOf[ids[0]].ID
	resp, err := r.srv.ReplayWebhook(r.ctx(), &channelv1.ReplayWebhookRequest{Id: w.GetId(), Start: &channelv1.ReplayWebhookRequest_AfterCursor{AfterCursor: after}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetWebhook().GetCursor() != after || resp.GetWebhook().GetVersion() != w.GetVersion()+1 {
		t.Errorf("replayed webhook %v", resp.GetWebhook())
	}
	again := rc.waitDelivered(5)[3:]
	if got := tickets(again); !slices.Equal(got, sorted(ids[1:])) {
		t.Errorf("replay after the first ticket's creation sent the events of %v, want %v", got, sorted(ids[1:]))
	}
	for _, q := range again {
		if first := eventOf[q.TicketID]; q.ID != first.ID || q.header.Get(HeaderDelivery) == first.header.Get(HeaderDelivery) {
			t.Errorf("replayed delivery %s of event %s; want the event %s under a new delivery ID", q.header.Get(HeaderDelivery), q.ID, first.ID)
		}
	}
	waitFor(t, "the replayed deliveries in the log", func() bool {
		n := 0
		for _, d := range r.deliveries(w.GetId(), "") {
			if d.GetReplay() {
				n++
			}
		}
		return n == 2
	})

	// From a time before the webhook: every event since, the one from
	// before its creation too.
	start := time.Now().Add(-time.Hour)
	if _, err := r.srv.ReplayWebhook(r.ctx(), &channelv1.ReplayWebhookRequest{Id: w.GetId(),
		Start: &channelv1.ReplayWebhookRequest_StartTime{StartTime: timestamppb.New(start)}}); err != nil {
		t.Fatal(err)
	}
	if got, want := tickets(rc.waitDelivered(9)[5:]), sorted(append([]string{early}, ids...)); !slices.Equal(got, want) {
		t.Errorf("replay from a time sent the events of %v, want %v", got, want)
	}
	// And new events follow the replay.
	later := r.ticket("after the replays")
	if got := rc.waitDelivered(10)[9]; got.TicketID != later {
		t.Errorf("after the replays came %v", got.TicketID)
	}
}

// TestSecretRotation: after a new secret, deliveries carry a signature
// with each secret until the window ends, then with the new one only.
func TestSecretRotation(t *testing.T) {
	r := newRig(t, Config{SecretRotationWindow: config.Duration(time.Hour)})
	rc := newReceiver(t, nil)
	w := r.webhook(rc.srv.URL, TicketCreated)
	r.ticket("before the rotation")
	before := rc.waitDelivered(1)[0]
	const newSecret = "the-new-secret-0123456789"
	s := newSecret
	resp, err := r.srv.UpdateWebhook(r.ctx(), &channelv1.UpdateWebhookRequest{Webhook: &channelv1.Webhook{Id: w.GetId(), Secret: &s}})
	if err != nil {
		t.Fatal(err)
	}
	up := resp.GetWebhook()
	if up.GetSecretUpdateTime().AsTime().Before(w.GetSecretUpdateTime().AsTime()) || up.GetPreviousSecretExpireTime() == nil ||
		up.GetPreviousSecretExpireTime().AsTime().Sub(up.GetSecretUpdateTime().AsTime()) != time.Hour {
		t.Errorf("rotated webhook %v", up)
	}
	r.waitVersion(w.GetId(), up.GetVersion())
	r.ticket("within the window")
	within := rc.waitDelivered(2)[1]
	r.clock.advance(time.Hour + time.Second)
	r.ticket("after the window")
	after := rc.waitDelivered(3)[2]

	for _, tt := range []struct {
		name       string
		q          received
		old, fresh bool
		signatures int
	}{
		{"before", before, true, false, 1},
		{"within", within, true, true, 2},
		{"after", after, false, true, 1},
	} {
		h := tt.q.header.Get(HeaderSignature)
		if n := strings.Count(h, "v1="); n != tt.signatures {
			t.Errorf("%s: %q has %d signatures, want %d", tt.name, h, n, tt.signatures)
		}
		if verifies(h, tt.q.body, rigSecret) != tt.old || verifies(h, tt.q.body, newSecret) != tt.fresh {
			t.Errorf("%s: %q verifies with the old secret %v, the new %v; want %v, %v", tt.name, h,
				verifies(h, tt.q.body, rigSecret), verifies(h, tt.q.body, newSecret), tt.old, tt.fresh)
		}
	}
	if strings.Index(within.header.Get(HeaderSignature), hmacHex(newSecret, within)) > strings.Index(within.header.Get(HeaderSignature), hmacHex(rigSecret, within)) {
		t.Errorf("within the window the new secret's signature comes second: %s", within.header.Get(HeaderSignature))
	}
}

// tickets are the tickets of deliveries, sorted.
func tickets(rs []received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.TicketID)
	}
	return sorted(out)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func hmacHex(secret string, q received) string {
	ts := strings.TrimPrefix(strings.Split(q.header.Get(HeaderSignature), ",")[0], "t=")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(q.body)))
	return hex.EncodeToString(mac.Sum(nil))
}

// TestGuardAtConnect: a webhook written while private targets were
// allowed (or whose name resolved elsewhere then) gets no connection
// once they are not: the rule is checked at connect time.
func TestGuardAtConnect(t *testing.T) {
	r := newRig(t, Config{Retry: RetryConfig{Window: config.Duration(time.Minute)}})
	rc := newReceiver(t, nil)
	w := r.webhook(strings.Replace(rc.srv.URL, "127.0.0.1", "localhost", 1), TicketCreated)
	r.allowPrivate.Store(false)
	r.ticket("to a private address")
	var dead []*channelv1.WebhookDelivery
	waitFor(t, "a dead letter", func() bool {
		dead = r.deliveries(w.GetId(), "state = dead_lettered")
		return len(dead) == 1
	})
	if e := dead[0].GetError(); !strings.Contains(e, "connection refused by the webhook address rules") || !strings.Contains(e, `is a loopback address (rule "loopback"`) ||
		dead[0].GetResponseCode() != 0 {
		t.Errorf("dead letter %v", dead[0])
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("the receiver got %d requests", n)
	}
}

// TestNoRedirects: a 3xx is a failure naming where it pointed; the
// target is never asked.
func TestNoRedirects(t *testing.T) {
	r := newRig(t, Config{Retry: RetryConfig{Window: config.Duration(time.Minute)}})
	target := newReceiver(t, nil)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, target.srv.URL+"/elsewhere", http.StatusFound)
	}))
	defer redirect.Close()
	w := r.webhook(redirect.URL, TicketCreated)
	r.ticket("redirected")
	var dead []*channelv1.WebhookDelivery
	waitFor(t, "a dead letter", func() bool {
		dead = r.deliveries(w.GetId(), "state = dead_lettered")
		return len(dead) == 1
	})
	if want := "HTTP 302: redirects are not followed (Location: " + target.srv.URL + "/elsewhere)"; !strings.HasPrefix(dead[0].GetError(), want) {
		t.Errorf("error %q, want it to start %q", dead[0].GetError(), want)
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("the redirect's target got %d requests", n)
	}
}

// TestDoneWithNotSentAgain: an event the consumer hands back after a
// restart is not sent again once delivered.
func TestDoneWithNotSentAgain(t *testing.T) {
	r := newRig(t, Config{})
	rc := newReceiver(t, nil)
	w := r.webhook(rc.srv.URL, TicketCreated)
	r.ticket("once")
	got := rc.waitDelivered(1)[0]
	waitFor(t, "the delivery in the log", func() bool { return len(r.deliveries(w.GetId(), "state = succeeded")) == 1 })
	r.d.mu.Lock()
	f := r.d.followers[rigTenant+"/"+w.GetId()]
	r.d.mu.Unlock()
	var created time.Time
	if err := json.Unmarshal(got.body, &struct{ CreateTime *time.Time }{&created}); err != nil {
		t.Fatal(err)
	}
	ev := &ticketv1.Event{Cursor: got.ID, Type: ticketv1.EventType_EVENT_TYPE_TICKET_CREATED, TicketId: got.TicketID, CreateTime: timestamppb.New(created)}
	if err := f.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("the receiver got %d requests, want 1", n)
	}
}

func TestBackoff(t *testing.T) {
	d := &Dispatcher{Config: Config{Retry: RetryConfig{Initial: config.Duration(time.Second), Max: config.Duration(time.Minute)}}}
	d.init()
	for n, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 40: time.Minute} {
		seen := map[time.Duration]bool{}
		for range 200 {
			w := d.backoff(n)
			if w < base/2 || w > base {
				t.Fatalf("backoff(%d) = %v, want between %v and %v", n, w, base/2, base)
			}
			seen[w] = true
		}
		if len(seen) < 50 {
			t.Errorf("backoff(%d) took %d values in 200 draws; want jitter", n, len(seen))
		}
	}
}

// TestOneReplicaDelivers: of two processes delivering from one store,
// one delivers (each event once); when it stops, the other takes over.
func TestOneReplicaDelivers(t *testing.T) {
	cfg := Config{Refresh: config.Duration(50 * time.Millisecond)}
	r := newRig(t, cfg)
	other := &Dispatcher{Store: r.st, Stream: r.tickets, Config: cfg, AllowPrivate: func(string) bool { return true },
		Clock: r.clock, Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	stopOther := r.run(other)
	rc := newReceiver(t, nil)
	r.webhook(rc.srv.URL, TicketCreated)
	time.Sleep(200 * time.Millisecond) // both have read the webhook
	for i := range 5 {
		r.ticket(fmt.Sprintf("ticket %d", i))
	}
	rc.waitDelivered(5)
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.requests()); n != 5 {
		t.Fatalf("two replicas made %d requests of 5 events", n)
	}
	// The holder stops; the other takes over.
	r.d.mu.Lock()
	rigHolds := len(r.d.followers) > 0
	r.d.mu.Unlock()
	other.mu.Lock()
	otherHolds := len(other.followers) > 0
	other.mu.Unlock()
	if rigHolds == otherHolds {
		t.Fatalf("the rig's dispatcher follows %v, the other %v; want exactly one", rigHolds, otherHolds)
	}
	if rigHolds {
		r.stop()
	} else {
		stopOther()
	}
	r.ticket("after the stop")
	got := rc.waitDelivered(6)
	if got[5].Type != TicketCreated || len(rc.requests()) != 6 {
		t.Errorf("after one stopped: %d requests", len(rc.requests()))
	}
}
