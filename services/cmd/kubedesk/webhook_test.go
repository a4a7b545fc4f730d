package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// webhookConfig gives the webhooks short retries (a receiver "down for an
// hour" is down for a second and a half, the retry window is 3 s), and
// declares the tenants: those of the tests allow private networks, to
// reach their receivers on loopback; globex does not.
var webhookConfig = `apiVersion: kubedesk.io/v1alpha1
kind: KubedeskConfig
spec:
  channel:
    webhooks:
      retry: {initial: 20ms, max: 200ms, window: 3s}
      secretRotationWindow: 3s
      refresh: 200ms
` + webhookTenants + `---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: globex}
spec:
  displayName: Globex
`

var webhookTenants = func() string {
	var b strings.Builder
	for _, t := range []string{"hooks-order", "hooks-retry", "hooks-dead", "hooks-replay", "hooks-rotate"} {
		fmt.Fprintf(&b, `---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: %s}
spec:
  channels:
    webhooks: {allowPrivateNetworks: true}
`, t)
	}
	return b.String()
}()

// TestWebhooks runs the outgoing webhooks end to end on both engines:
// made through REST, fed by tickets and comments made through REST,
// received on loopback with the signature checked here, independently
// of the server's code.
func TestWebhooks(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "kubedesk.yaml")
			writeFile(t, file, webhookConfig)
			srv := startServe(t, append(args, "--config="+file)...)
			t.Run("signed and in order", func(t *testing.T) { testWebhookOrder(t, srv) })
			t.Run("bad input", func(t *testing.T) { testWebhookBadInput(t, srv) })
			t.Run("receiver down, then back", func(t *testing.T) { testWebhookRecovery(t, srv) })
			t.Run("dead letter", func(t *testing.T) { testWebhookDeadLetter(t, srv) })
			t.Run("replay", func(t *testing.T) { testWebhookReplay(t, srv) })
			t.Run("secret rotation", func(t *testing.T) { testWebhookRotation(t, srv) })
		})
	}
}

// hook is a receiver of one webhook: a loopback HTTP server that checks
// and records every delivery.
type hook struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	got    []delivery
	answer func(d delivery) int
}

// delivery is one request a hook got.
type delivery struct {
	header http.Header
	body   []byte
	status int
	// signed reports which secrets the signature verifies with.
	signed []string

	ID, Type, TicketID, WebhookID string
	Event                         struct {
		Comment struct{ Body string }
		Ticket  struct{ Subject string }
	}
}

func newHook(t *testing.T, secrets []string, answer func(d delivery) int) *hook {
	h := &hook{t: t, answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := delivery{header: r.Header.Clone(), body: body, status: http.StatusOK}
		if err := json.Unmarshal(body, &d); err != nil {
			t.Errorf("hook: body %s: %v", body, err)
		}
		for _, s := range secrets {
			if signatureVerifies(r.Header.Get("X-Kubedesk-Signature"), body, s, time.Now()) {
				d.signed = append(d.signed, s)
			}
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("hook: %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if answer != nil {
			d.status = answer(d)
		}
		h.mu.Lock()
		h.got = append(h.got, d)
		h.mu.Unlock()
		w.WriteHeader(d.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// signatureVerifies checks X-Kubedesk-Signature the way docs/webhooks.md
// tells receivers to: t within 5 minutes of now, and a v1 that is the hex
// HMAC-SHA256 of "<t>.<body>" under secret.
func signatureVerifies(header string, body []byte, secret string, now time.Time) bool {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(unix, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func (h *hook) all() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// ok are the deliveries answered 2xx.
func (h *hook) ok() []delivery {
	var out []delivery
	for _, d := range h.all() {
		if d.status < 300 {
			out = append(out, d)
		}
	}
	return out
}

func (h *hook) waitOK(n int) []delivery {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(h.ok()) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("the receiver got %d deliveries within 30s, want %d: %v", len(h.ok()), n, h.lines())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return h.ok()
}

func (h *hook) lines() []string {
	var out []string
	for _, d := range h.all() {
		out = append(out, fmt.Sprintf("%s %s %d", d.Type, d.TicketID, d.status))
	}
	return out
}

// perTicket is what a hook got answered 2xx, per ticket, as "type" or
// "type comment-body".
func perTicket(ds []delivery) map[string][]string {
	out := map[string][]string{}
	for _, d := range ds {
		out[d.TicketID] = append(out[d.TicketID], strings.TrimSpace(d.Type+" "+d.Event.Comment.Body))
	}
	return out
}

// createHook creates a webhook of tenantID to h with secret.
func createHook(t *testing.T, srv *instance, tenantID string, h *hook, secret string, events ...string) response {
	t.Helper()
	return srv.mustCall(t, http.StatusOK, "POST", "/v1/webhooks",
		map[string]any{"url": h.srv.URL + "/kubedesk", "events": events, "secret": secret, "description": "测试接收端"},
		"X-Kubedesk-Tenant", tenantID)
}

func ticketIn(t *testing.T, srv *instance, tenantID, subject string) string {
	t.Helper()
	return srv.create(t, map[string]any{"subject": subject, "requester": map[string]any{"name": "张伟", "email": "zhang.wei@example.com"}},
		"X-Kubedesk-Tenant", tenantID).str("id")
}

func commentIn(t *testing.T, srv *instance, tenantID, id, body string) {
	t.Helper()
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+id+"/comments", map[string]any{"body": body}, "X-Kubedesk-Tenant", tenantID)
}

// deliveries lists a webhook's deliveries through REST.
func deliveries(t *testing.T, srv *instance, tenantID, id, filter string) []map[string]any {
	t.Helper()
	r := srv.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id+"/deliveries?page_size=100&filter="+url.QueryEscape(filter), nil, "X-Kubedesk-Tenant", tenantID)
	return toMaps(r.json["deliveries"])
}

func waitDeliveries(t *testing.T, srv *instance, tenantID, id, filter string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds := deliveries(t, srv, tenantID, id, filter)
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries (filter %q) within 30s, want %d: %v", len(ds), filter, n, ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testWebhookOrder(t *testing.T, srv *instance) {
	const tenantID, secret = "hooks-order", "whsec_order_0123456789abcdef"
	h := newHook(t, []string{secret}, nil)
	w := createHook(t, srv, tenantID, h, secret, "ticket.created", "comment.added")
	id := w.str("id")
	if _, has := w.json["secret"]; has || w.str("secretUpdateTime") == "" || w.str("etag") != "v1" || w.str("url") != h.srv.URL+"/kubedesk" {
		t.Errorf("created webhook %s; want no secret, secretUpdateTime and etag v1", w.body)
	}
	if got := srv.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id, nil, "X-Kubedesk-Tenant", tenantID); strings.Contains(string(got.body), secret) {
		t.Errorf("GET shows the secret: %s", got.body)
	}
	if list := srv.mustCall(t, http.StatusOK, "GET", "/v1/webhooks", nil, "X-Kubedesk-Tenant", tenantID); len(toMaps(list.json["webhooks"])) != 1 {
		t.Errorf("list %s", list.body)
	}

	var tickets []string
	for i := range 3 {
		tk := ticketIn(t, srv, tenantID, fmt.Sprintf("打印机无法连接 %d", i))
		tickets = append(tickets, tk)
		for j := range 3 {
			commentIn(t, srv, tenantID, tk, fmt.Sprintf("第 %d.%d 次回复", i, j))
		}
		// Not subscribed: not delivered.
		srv.mustCall(t, http.StatusOK, "PATCH", "/v1/tickets/"+tk, map[string]any{"assignee": "李娜"}, "X-Kubedesk-Tenant", tenantID)
	}
	got := h.waitOK(12)
	byTicket := perTicket(got)
	for i, tk := range tickets {
		want := []string{"ticket.created"}
		for j := range 3 {
			want = append(want, fmt.Sprintf("comment.added 第 %d.%d 次回复", i, j))
		}
		if !slices.Equal(byTicket[tk], want) {
			t.Errorf("ticket %d: %v, want %v", i, byTicket[tk], want)
		}
	}
	for _, d := range got {
		if !slices.Equal(d.signed, []string{secret}) {
			t.Errorf("delivery of %s: signature %q does not verify", d.ID, d.header.Get("X-Kubedesk-Signature"))
		}
		if d.header.Get("X-Kubedesk-Event-Id") != d.ID || d.header.Get("X-Kubedesk-Event-Type") != d.Type || d.header.Get("X-Kubedesk-Delivery") == "" ||
			d.header.Get("X-Kubedesk-Webhook-Id") != id || d.WebhookID != id || d.header.Get("Traceparent") == "" {
			t.Errorf("delivery headers %v", d.header)
		}
	}
	log := waitDeliveries(t, srv, tenantID, id, "state = succeeded", 12)
	for _, d := range log {
		if fmt.Sprint(d["attempts"]) != "1" || fmt.Sprint(d["responseCode"]) != "200" || d["state"] != "WEBHOOK_DELIVERY_STATE_SUCCEEDED" || d["error"] != "" {
			t.Errorf("delivery %v", d)
		}
	}
	// Page through the log: 12 in pages of 5.
	var paged []string
	token := ""
	for {
		r := srv.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id+"/deliveries?page_size=5&page_token="+token, nil, "X-Kubedesk-Tenant", tenantID)
		for _, d := range toMaps(r.json["deliveries"]) {
			paged = append(paged, d["id"].(string))
		}
		if token = r.str("nextPageToken"); token == "" {
			break
		}
	}
	if len(paged) != 12 || len(slices.Compact(slices.Sorted(slices.Values(paged)))) != 12 {
		t.Errorf("paged %d deliveries, want 12 distinct", len(paged))
	}

	// Deleted, it gets nothing more.
	srv.mustCall(t, http.StatusOK, "DELETE", "/v1/webhooks/"+id, nil, "X-Kubedesk-Tenant", tenantID)
	srv.mustCall(t, http.StatusNotFound, "GET", "/v1/webhooks/"+id, nil, "X-Kubedesk-Tenant", tenantID)
	ticketIn(t, srv, tenantID, "after the delete")
	time.Sleep(300 * time.Millisecond)
	if n := len(h.all()); n != 12 {
		t.Errorf("the receiver got %d requests, want 12 (none after the delete)", n)
	}
}

func testWebhookBadInput(t *testing.T, srv *instance) {
	const accepted = "; accepted: an http or https URL whose host resolves to public addresses, e.g. https://hooks.example.com/kubedesk"
	events := []string{"ticket.created"}
	const secret = "whsec_bad_0123456789abcdef"
	for _, tt := range []struct {
		name, tenant string
		body         map[string]any
		code         int
		msg          string
	}{
		{"metadata", "hooks-order", map[string]any{"url": "http://169.254.169.254/latest/meta-data/iam", "events": events, "secret": secret}, 400,
			`webhook.url: "http://169.254.169.254/latest/meta-data/iam": 169.254.169.254 is a cloud metadata address (rule "cloud metadata": never a webhook's target)` + accepted},
		{"loopback without the tenant's allowance", "globex", map[string]any{"url": "http://127.0.0.1:8080/hooks", "events": events, "secret": secret}, 400,
			`webhook.url: "http://127.0.0.1:8080/hooks": 127.0.0.1 is a loopback address (rule "loopback": refused unless the tenant sets spec.channels.webhooks.allowPrivateNetworks)` + accepted},
		{"name resolving to loopback", "globex", map[string]any{"url": "http://localhost:8080/hooks", "events": events, "secret": secret}, 400,
			`webhook.url: "http://localhost:8080/hooks": host localhost resolves to an address webhooks may not reach: `},
		{"not http", "hooks-order", map[string]any{"url": "file:///etc/passwd", "events": events, "secret": secret}, 400,
			`webhook.url: "file:///etc/passwd": scheme "file" is not accepted` + accepted},
		{"unknown event", "hooks-order", map[string]any{"url": "https://93.184.215.14/hooks", "events": []string{"ticket.created", "ticket.exploded"}, "secret": secret}, 400,
			`webhook.events[1]: "ticket.exploded" is not an event; accepted: ticket.created, ticket.updated, comment.added, sla.changed, sla.breached, routing.assigned`},
		{"no secret", "hooks-order", map[string]any{"url": "https://93.184.215.14/hooks", "events": events}, 400,
			"webhook.secret: is required; accepted: 16 to 256 bytes of text without control characters, e.g. 32 random bytes in hex"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.call(t, "POST", "/v1/webhooks", tt.body, "X-Kubedesk-Tenant", tt.tenant)
			if r.code != tt.code || !strings.HasPrefix(r.str("message"), tt.msg) {
				t.Errorf("%d %s\nwant %d %s", r.code, r.str("message"), tt.code, tt.msg)
			}
		})
	}
	if list := srv.mustCall(t, http.StatusOK, "GET", "/v1/webhooks", nil, "X-Kubedesk-Tenant", "globex"); len(toMaps(list.json["webhooks"])) != 0 {
		t.Errorf("bad input made webhooks: %s", list.body)
	}

	// Admins and supervisors only; another tenant's webhook is not there.
	h := newHook(t, nil, nil)
	w := createHook(t, srv, "hooks-order", h, secret, "ticket.created").str("id")
	for _, role := range []string{"agent", "integration"} {
		r := srv.call(t, "GET", "/v1/webhooks/"+w, nil, "X-Kubedesk-Tenant", "hooks-order", "Authorization", "Bearer "+srv.roleKey(t, "hooks-order", role))
		if r.code != http.StatusForbidden {
			t.Errorf("%s: GET = %d %s, want 403", role, r.code, r.body)
		}
	}
	srv.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+w, nil, "X-Kubedesk-Tenant", "hooks-order", "Authorization", "Bearer "+srv.roleKey(t, "hooks-order", "supervisor"))
	srv.mustCall(t, http.StatusNotFound, "GET", "/v1/webhooks/"+w, nil, "X-Kubedesk-Tenant", "globex")
	srv.mustCall(t, http.StatusNotFound, "DELETE", "/v1/webhooks/"+w, nil, "X-Kubedesk-Tenant", "globex")
	srv.mustCall(t, http.StatusOK, "DELETE", "/v1/webhooks/"+w, nil, "X-Kubedesk-Tenant", "hooks-order")
}

// testWebhookRecovery: a receiver answering 500 (for a second and a
// half; the retries are scaled down from an hour) gets every event
// afterwards, in order, each once.
func testWebhookRecovery(t *testing.T, srv *instance) {
	const tenantID, secret = "hooks-retry", "whsec_retry_0123456789abcdef"
	var mu sync.Mutex
	var back time.Time
	h := newHook(t, []string{secret}, func(delivery) int {
		mu.Lock()
		defer mu.Unlock()
		if back.IsZero() || time.Now().Before(back) {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	id := createHook(t, srv, tenantID, h, secret, "ticket.created", "comment.added").str("id")
	mu.Lock()
	back = time.Now().Add(1500 * time.Millisecond)
	mu.Unlock()
	tk := ticketIn(t, srv, tenantID, "VPN 每隔十分钟断一次")
	want := []string{"ticket.created"}
	for i := range 4 {
		commentIn(t, srv, tenantID, tk, fmt.Sprintf("更新 %d", i))
		want = append(want, fmt.Sprintf("comment.added 更新 %d", i))
	}
	// While it is down, the log shows the delivery pending, with the
	// error and when it is tried next.
	pending := waitDeliveries(t, srv, tenantID, id, "state = pending", 1)[0]
	if pending["error"] != "HTTP 500: (no body)" || pending["nextAttemptTime"] == nil || fmt.Sprint(pending["responseCode"]) != "500" {
		t.Errorf("pending delivery %v", pending)
	}
	got := h.waitOK(5)
	if byTicket := perTicket(got); !slices.Equal(byTicket[tk], want) {
		t.Errorf("after the outage: %v, want %v", byTicket[tk], want)
	}
	// Nothing came out of order while it was down: only the creation was
	// tried.
	for _, d := range h.all() {
		if d.status >= 300 && d.Type != "ticket.created" {
			t.Errorf("%s was tried before the ticket's creation got through", d.Type)
		}
	}
	first := waitDeliveries(t, srv, tenantID, id, "state = succeeded", 5)
	attempts := map[string]int{}
	for _, d := range first {
		n, _ := strconv.Atoi(fmt.Sprint(d["attempts"]))
		attempts[d["eventType"].(string)] += n
	}
	if attempts["ticket.created"] < 2 || attempts["comment.added"] != 4 {
		t.Errorf("attempts %v; want the creation tried several times, each comment once", attempts)
	}
}

// testWebhookDeadLetter: an event every attempt of which fails for the
// retry window (3 s here) is dead-lettered and shown so; the ticket's
// later events go on.
func testWebhookDeadLetter(t *testing.T, srv *instance) {
	const tenantID, secret = "hooks-dead", "whsec_dead_0123456789abcdef"
	h := newHook(t, []string{secret}, func(d delivery) int {
		if d.Event.Ticket.Subject == "毒丸" && d.Type == "ticket.created" {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	id := createHook(t, srv, tenantID, h, secret, "ticket.created", "comment.added").str("id")
	poison := ticketIn(t, srv, tenantID, "毒丸")
	commentIn(t, srv, tenantID, poison, "之后的回复")
	healthy := ticketIn(t, srv, tenantID, "正常")
	got := h.waitOK(2)
	if byTicket := perTicket(got); !slices.Equal(byTicket[poison], []string{"comment.added 之后的回复"}) || !slices.Equal(byTicket[healthy], []string{"ticket.created"}) {
		t.Errorf("delivered %v", byTicket)
	}
	dead := waitDeliveries(t, srv, tenantID, id, "state = dead_lettered", 1)
	d := dead[0]
	if d["ticketId"] != poison || d["eventType"] != "ticket.created" || fmt.Sprint(d["responseCode"]) != "503" || d["error"] != "HTTP 503: (no body)" ||
		d["nextAttemptTime"] != nil || d["state"] != "WEBHOOK_DELIVERY_STATE_DEAD_LETTERED" {
		t.Errorf("dead letter %v", d)
	}
	if n, _ := strconv.Atoi(fmt.Sprint(d["attempts"])); n < 3 {
		t.Errorf("dead-lettered after %d attempts; 3 s of back-off from 20 ms is more", n)
	}
}

// testWebhookReplay: :replay re-delivers from a delivery's event ID and
// from a time, with new delivery IDs and the same event IDs.
func testWebhookReplay(t *testing.T, srv *instance) {
	const tenantID, secret = "hooks-replay", "whsec_replay_0123456789abcdef"
	h := newHook(t, []string{secret}, nil)
	id := createHook(t, srv, tenantID, h, secret, "ticket.created").str("id")
	start := time.Now().UTC()
	var tickets []string
	for i := range 3 {
		tickets = append(tickets, ticketIn(t, srv, tenantID, fmt.Sprintf("replay %d", i)))
	}
	first := map[string]delivery{}
	for _, d := range h.waitOK(3) {
		first[d.TicketID] = d
	}
	after := first[tickets[0]].ID
	r := srv.mustCall(t, http.StatusOK, "POST", "/v1/webhooks/"+id+":replay", map[string]any{"afterCursor": after}, "X-Kubedesk-Tenant", tenantID)
	if r.str("cursor") != after || r.str("etag") != "v2" {
		t.Errorf("replayed webhook %s", r.body)
	}
	again := h.waitOK(5)[3:]
	var replayed []string
	for _, d := range again {
		replayed = append(replayed, d.TicketID)
		if d.ID != first[d.TicketID].ID || d.header.Get("X-Kubedesk-Delivery") == first[d.TicketID].header.Get("X-Kubedesk-Delivery") {
			t.Errorf("replayed delivery of %s: event %s, delivery %s", d.TicketID, d.ID, d.header.Get("X-Kubedesk-Delivery"))
		}
	}
	if slices.Sort(replayed); !slices.Equal(replayed, slices.Sorted(slices.Values(tickets[1:]))) {
		t.Errorf("replay after the first event sent %v, want %v", replayed, tickets[1:])
	}
	srv.mustCall(t, http.StatusOK, "POST", "/v1/webhooks/"+id+":replay", map[string]any{"startTime": start.Format(time.RFC3339Nano)}, "X-Kubedesk-Tenant", tenantID)
	var fromTime []string
	for _, d := range h.waitOK(8)[5:] {
		fromTime = append(fromTime, d.TicketID)
	}
	if slices.Sort(fromTime); !slices.Equal(fromTime, slices.Sorted(slices.Values(tickets))) {
		t.Errorf("replay from %s sent %v, want %v", start, fromTime, tickets)
	}
	replays := 0
	for _, d := range waitDeliveries(t, srv, tenantID, id, "", 8) {
		if d["replay"] == true {
			replays++
		}
	}
	if replays != 5 {
		t.Errorf("%d deliveries marked replay, want 5", replays)
	}
	for body, msg := range map[string]string{
		`{"afterCursor": "nonsense"}`: `after_cursor: "nonsense" is not a position in this tenant's event stream; accepted: a delivery's event_id, or a cursor from GET /v1/events:watch`,
		`{}`:                          "",
	} {
		r := srv.call(t, "POST", "/v1/webhooks/"+id+":replay", body, "X-Kubedesk-Tenant", tenantID)
		if r.code != http.StatusBadRequest || msg != "" && r.str("message") != msg {
			t.Errorf("replay %s = %d %s, want 400 %s", body, r.code, r.body, msg)
		}
	}
}

// testWebhookRotation: a new secret signs beside the old one for the
// rotation window (3 s here), then alone.
func testWebhookRotation(t *testing.T, srv *instance) {
	const tenantID, oldSecret, newSecret = "hooks-rotate", "whsec_old_0123456789abcdef", "whsec_new_0123456789abcdef"
	h := newHook(t, []string{oldSecret, newSecret}, nil)
	w := createHook(t, srv, tenantID, h, oldSecret, "ticket.created")
	id := w.str("id")
	ticketIn(t, srv, tenantID, "before")
	h.waitOK(1)
	up := srv.mustCall(t, http.StatusOK, "PATCH", "/v1/webhooks/"+id, map[string]any{"secret": newSecret}, "X-Kubedesk-Tenant", tenantID, "If-Match", `"v1"`)
	if up.str("previousSecretExpireTime") == "" || up.str("secretUpdateTime") == w.str("secretUpdateTime") || strings.Contains(string(up.body), newSecret) {
		t.Errorf("rotated webhook %s", up.body)
	}
	// The deliveries take the change within the refresh (200 ms), or at
	// once in this process.
	time.Sleep(300 * time.Millisecond)
	ticketIn(t, srv, tenantID, "within the window")
	h.waitOK(2)
	expires, err := time.Parse(time.RFC3339Nano, up.str("previousSecretExpireTime"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(expires) + 100*time.Millisecond)
	ticketIn(t, srv, tenantID, "after the window")
	got := h.waitOK(3)
	bySubject := map[string][]string{}
	for _, d := range got {
		bySubject[d.Event.Ticket.Subject] = d.signed
		if d.Event.Ticket.Subject == "within the window" && strings.Count(d.header.Get("X-Kubedesk-Signature"), "v1=") != 2 {
			t.Errorf("within the window: %q, want two v1 signatures", d.header.Get("X-Kubedesk-Signature"))
		}
	}
	for subject, want := range map[string][]string{
		"before":            {oldSecret},
		"within the window": {oldSecret, newSecret},
		"after the window":  {newSecret},
	} {
		if !slices.Equal(bySubject[subject], want) {
			t.Errorf("%s: verifies with %v, want %v", subject, bySubject[subject], want)
		}
	}
}
