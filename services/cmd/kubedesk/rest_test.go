package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// engines are the storage engines the REST suite runs on: embedded SQLite
// and the throwaway PostgreSQL cluster started in TestMain.
func engines(t *testing.T) map[string][]string {
	return map[string][]string{
		"sqlite":   nil,
		"postgres": {"--database-url=" + pg.NewDatabase(t)},
	}
}

// texts that must round-trip byte for byte.
var texts = map[string]string{
	"chinese":   "打印机无法连接，三楼财务部急用",
	"emoji":     "Laptop won't boot 💻🔥 — 👩🏽‍💻 needs it",
	"rtl":       "الطابعة لا تعمل — המדפסת לא עובדת",
	"combining": "Cafe\u0301 ñ vs n\u0303, Z̤͔ͧ̑̓ä͖̭̈̇lg̮ͩ",
}

func TestREST(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			srv := startServe(t, args...)
			t.Run("round trip", func(t *testing.T) { testRoundTrip(t, srv) })
			t.Run("bad input", func(t *testing.T) { testBadInput(t, srv) })
			t.Run("NUL in text", func(t *testing.T) { testNUL(t, srv) })
			t.Run("update", func(t *testing.T) { testUpdate(t, srv) })
			t.Run("idempotency", func(t *testing.T) { testIdempotency(t, srv) })
			t.Run("paging and filters", func(t *testing.T) { testPaging(t, srv) })
			t.Run("comments", func(t *testing.T) { testComments(t, srv) })
			t.Run("tenancy", func(t *testing.T) { testTenancy(t, srv) })
			t.Run("watch", func(t *testing.T) { testWatch(t, srv) })
			t.Run("requesters are contacts", func(t *testing.T) { testRequesters(t, srv) })
		})
	}
}

func testRoundTrip(t *testing.T, srv *instance) {
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			c := srv.create(t, map[string]any{
				"subject": text, "description": text + "\n" + text,
				"requester": map[string]any{"name": text, "email": "zhang.wei@example.com"},
				"tags":      []string{text}, "customFields": map[string]string{"note": text},
				"impact": 1, "urgency": 2, "channel": "CHANNEL_WECHAT",
			})
			got := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+c.str("id"), nil)
			if got.str("subject") != text || got.str("description") != text+"\n"+text {
				t.Errorf("read back subject %q description %q, want %q", got.str("subject"), got.str("description"), text)
			}
			if n := got.json["requester"].(map[string]any)["name"]; n != text {
				t.Errorf("requester name %q, want %q", n, text)
			}
			if tag := got.json["tags"].([]any)[0]; tag != text {
				t.Errorf("tag %q, want %q", tag, text)
			}
			for k, want := range map[string]any{"status": "STATUS_NEW", "priority": "PRIORITY_P2", "channel": "CHANNEL_WECHAT", "etag": "v1", "tenant": "default"} {
				if got.json[k] != want {
					t.Errorf("%s = %v, want %v", k, got.json[k], want)
				}
			}
			if got.header.Get("ETag") != `"v1"` {
				t.Errorf("ETag header %q, want \"v1\"", got.header.Get("ETag"))
			}
		})
	}
}

func testBadInput(t *testing.T, srv *instance) {
	existing := srv.create(t, map[string]any{"subject": "exists"})
	before := len(srv.listAll(t, ""))
	huge := `{"subject":"big","description":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name, method, path string
		body               any
		headers            []string
		code               int
		want               []string // substrings of the error message
	}{
		{"missing subject", "POST", "/v1/tickets", map[string]any{"description": "no subject"}, nil, 400, []string{"subject is required"}},
		{"empty subject", "POST", "/v1/tickets", map[string]any{"subject": ""}, nil, 400, []string{"subject is required"}},
		{"impact 7", "POST", "/v1/tickets", map[string]any{"subject": "x", "impact": 7}, nil, 400,
			[]string{"ticket.impact", "greater than or equal to 1 and less than or equal to 3", "got 7"}},
		{"body over 1 MiB", "POST", "/v1/tickets", huge, nil, 413, []string{"request body", "1048576"}},
		{"malformed JSON", "POST", "/v1/tickets", `{"subject": "x",`, nil, 400, nil},
		{"unknown field", "POST", "/v1/tickets", map[string]any{"subject": "x", "colour": "red"}, nil, 400, []string{"colour"}},
		{"bad email", "POST", "/v1/tickets", map[string]any{"subject": "x", "requester": map[string]any{"email": "zhang at example"}}, nil, 400, []string{"ticket.requester.email"}},
		{"created closed", "POST", "/v1/tickets", map[string]any{"subject": "x", "status": "STATUS_CLOSED"}, nil, 400, []string{"ticket.status"}},
		{"unknown ticket", "GET", "/v1/tickets/0193a0c4-0000-7000-8000-000000000000", nil, nil, 404, []string{"not found"}},
		{"page_size negative", "GET", "/v1/tickets?page_size=-5", nil, nil, 400, []string{"page_size"}},
		{"bad filter", "GET", "/v1/tickets?filter=colour%3Dred", nil, nil, 400, []string{`unknown field "colour"`}},
		{"bad page token", "GET", "/v1/tickets?page_token=nonsense", nil, nil, 400, []string{"page_token"}},
		{"bad tenant", "GET", "/v1/tickets", nil, []string{"X-Kubedesk-Tenant", "Acme Corp"}, 400, []string{"X-Kubedesk-Tenant", "DNS label"}},
		{"bad update mask", "PATCH", "/v1/tickets/" + existing.str("id") + "?update_mask=priority", map[string]any{"priority": "PRIORITY_P1"}, nil, 400, []string{`"priority" cannot be updated`}},
		{"comment without body", "POST", "/v1/tickets/" + existing.str("id") + "/comments", map[string]any{"author": "李娜"}, nil, 400, []string{"comment.body"}},
		{"bad cursor", "GET", "/v1/events:watch?after_cursor=zzz", nil, nil, 400, []string{"after_cursor"}},
		{"unspecified event type", "GET", "/v1/events:watch?types=EVENT_TYPE_UNSPECIFIED", nil, nil, 400, []string{"types"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.call(t, tt.method, tt.path, tt.body, tt.headers...)
			// A streaming error arrives as {"error": {...}} in a 200 body.
			msg := r.str("message")
			if e, ok := r.json["error"].(map[string]any); ok {
				msg, _ = e["message"].(string)
				r.code = httpCodeOf(e)
			}
			if r.code != tt.code {
				t.Fatalf("status %d (%s), want %d", r.code, r.body, tt.code)
			}
			if _, ok := r.json["code"]; !ok && r.json["error"] == nil {
				t.Errorf("body %s is not a google.rpc.Status", r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
	if after := len(srv.listAll(t, "")); after != before {
		t.Errorf("failed requests changed the ticket count from %d to %d", before, after)
	}
	got := srv.mustCall(t, 200, "GET", "/v1/tickets/"+existing.str("id"), nil)
	if got.str("etag") != "v1" {
		t.Errorf("failed requests changed the ticket: etag %s", got.str("etag"))
	}
}

// testNUL sends text holding the NUL character (JSON "\u0000") in the
// fields of every write and in the parameters of reads: each is refused
// with 400 naming the field, alike on both engines (PostgreSQL cannot
// store it), and nothing is written.
func testNUL(t *testing.T, srv *instance) {
	existing := srv.create(t, map[string]any{"subject": "exists"})
	id := existing.str("id")
	before := len(srv.listAll(t, ""))
	const nul = "打印机\x00坏了"
	const quoted = `"打印机\x00坏了"`
	tests := []struct {
		name, method, path string
		body               any
		want               string // the whole message
	}{
		{"subject", "POST", "/v1/tickets", map[string]any{"subject": nul}, "ticket.subject: must not contain the NUL character (U+0000) (got " + quoted + ")"},
		{"description", "POST", "/v1/tickets", map[string]any{"subject": "x", "description": nul}, "ticket.description: must not contain the NUL character (U+0000) (got " + quoted + ")"},
		{"requester name", "POST", "/v1/tickets", map[string]any{"subject": "x", "requester": map[string]any{"name": nul, "email": "wang@example.com"}},
			"ticket.requester.name: must not contain the NUL character (U+0000) (got " + quoted + ")"},
		{"tag", "POST", "/v1/tickets", map[string]any{"subject": "x", "tags": []string{"vip", nul}}, "ticket.tags[1]: must not contain the NUL character (U+0000) (got " + quoted + ")"},
		{"custom field", "POST", "/v1/tickets", map[string]any{"subject": "x", "customFields": map[string]string{"printer": nul}},
			`ticket.custom_fields["printer"]: must not contain the NUL character (U+0000) (got ` + quoted + ")"},
		{"update assignee", "PATCH", "/v1/tickets/" + id + "?update_mask=assignee", map[string]any{"assignee": nul},
			"ticket.assignee: must not contain the NUL character (U+0000) (got " + quoted + ")"},
		{"comment body", "POST", "/v1/tickets/" + id + "/comments", map[string]any{"author": "李娜", "body": nul},
			"comment.body: must not contain the NUL character (U+0000) (got " + quoted + ")"},
		{"ticket id", "GET", "/v1/tickets/a%00b", nil, `id: must not contain the NUL character (U+0000) (got "a\x00b")`},
		{"filter", "GET", "/v1/tickets?filter=" + url.QueryEscape("tag = a\x00b"), nil, `filter: must not contain the NUL character (U+0000) (got "tag = a\x00b")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.call(t, tt.method, tt.path, tt.body)
			if r.code != http.StatusBadRequest || r.json["code"] != float64(3) || r.str("message") != tt.want {
				t.Errorf("got %d %s\nwant 400 INVALID_ARGUMENT (3) %q", r.code, r.body, tt.want)
			}
		})
	}
	if after := len(srv.listAll(t, "")); after != before {
		t.Errorf("refused requests changed the ticket count from %d to %d", before, after)
	}
	if got := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil); got.str("etag") != "v1" {
		t.Errorf("refused requests changed the ticket: etag %s", got.str("etag"))
	}
}

func httpCodeOf(status map[string]any) int {
	if c, ok := status["code"].(float64); ok && int(c) == 3 {
		return 400
	}
	return 500
}

func testUpdate(t *testing.T, srv *instance) {
	c := srv.create(t, map[string]any{"subject": "VPN 连不上", "impact": 3, "urgency": 3})
	id := c.str("id")
	path := "/v1/tickets/" + id

	// Raising impact and urgency recomputes the priority.
	u := srv.mustCall(t, 200, "PATCH", path, map[string]any{"impact": 1, "urgency": 1, "assignee": "李娜"}, "If-Match", `"v1"`)
	if u.str("priority") != "PRIORITY_P1" || u.str("assignee") != "李娜" || u.str("etag") != "v2" {
		t.Fatalf("after update: %s", u.body)
	}
	// A stale etag is a conflict and changes nothing.
	stale := srv.call(t, "PATCH", path, map[string]any{"subject": "lost update"}, "If-Match", `"v1"`)
	if stale.code != http.StatusConflict || !strings.Contains(stale.str("message"), "changed since") {
		t.Fatalf("stale If-Match = %d %s, want 409", stale.code, stale.body)
	}
	staleBody := srv.call(t, "PATCH", path, map[string]any{"subject": "lost update", "etag": "v1"})
	if staleBody.code != http.StatusConflict {
		t.Fatalf("stale etag in body = %d %s, want 409", staleBody.code, staleBody.body)
	}
	// The lifecycle: solve, then close, then nothing more.
	steps := []struct {
		status string
		code   int
		want   []string
	}{
		{"STATUS_SOLVED", 200, nil},
		{"STATUS_NEW", 400, []string{`from "solved" to "new"`}},
		{"STATUS_CLOSED", 200, nil},
		{"STATUS_OPEN", 400, []string{`from "closed" to "open"`, `"closed" is final`}},
	}
	for _, s := range steps {
		r := srv.call(t, "PATCH", path, map[string]any{"status": s.status})
		if r.code != s.code {
			t.Fatalf("PATCH status %s = %d %s, want %d", s.status, r.code, r.body, s.code)
		}
		for _, w := range s.want {
			if !strings.Contains(r.str("message"), w) {
				t.Errorf("PATCH status %s: message %q does not contain %q", s.status, r.str("message"), w)
			}
		}
	}
	final := srv.mustCall(t, 200, "GET", path, nil)
	if final.str("status") != "STATUS_CLOSED" || final.str("etag") != "v4" || final.str("solveTime") == "" {
		t.Errorf("final ticket %s: want closed, v4, solveTime kept", final.body)
	}
	// The closed -> open refusal names both states.
	r := srv.call(t, "PATCH", path, map[string]any{"status": "STATUS_OPEN"})
	if r.code != 400 || !strings.Contains(r.str("message"), "closed") {
		t.Errorf("closed -> open = %d %s", r.code, r.body)
	}

	// Reopening a solved ticket clears its solve time.
	o := srv.create(t, map[string]any{"subject": "reopen me"})
	opath := "/v1/tickets/" + o.str("id")
	srv.mustCall(t, 200, "PATCH", opath, map[string]any{"status": "STATUS_SOLVED"})
	re := srv.mustCall(t, 200, "PATCH", opath, map[string]any{"status": "STATUS_OPEN"})
	if re.json["solveTime"] != nil {
		t.Errorf("reopened ticket keeps solveTime %v", re.json["solveTime"])
	}
	// An explicit update_mask ignores fields outside it.
	m := srv.mustCall(t, 200, "PATCH", opath+"?update_mask=tags", map[string]any{"tags": []string{"vip", "vip ", "网络"}, "subject": "ignored"})
	if m.str("subject") != "reopen me" || fmt.Sprint(m.json["tags"]) != "[vip 网络]" {
		t.Errorf("masked update: %s", m.body)
	}
}

func testIdempotency(t *testing.T, srv *instance) {
	tenantHdr := []string{"X-Kubedesk-Tenant", "idem"}
	body := map[string]any{"subject": "重复提交的工单", "description": "同一个请求发了两次"}
	first := srv.create(t, body, "Idempotency-Key", "order-42", tenantHdr[0], tenantHdr[1])
	again := srv.create(t, body, "Idempotency-Key", "order-42", tenantHdr[0], tenantHdr[1])
	if string(first.body) != string(again.body) {
		t.Errorf("retry returned\n%s\nwant the first response\n%s", again.body, first.body)
	}
	other := srv.call(t, "POST", "/v1/tickets", map[string]any{"subject": "something else"}, "Idempotency-Key", "order-42", tenantHdr[0], tenantHdr[1])
	if other.code != 400 || !strings.Contains(other.str("message"), "Idempotency-Key") {
		t.Errorf("key reused for another request = %d %s, want 400 naming Idempotency-Key", other.code, other.body)
	}

	// Twenty concurrent retries create one ticket.
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Go(func() {
			r := srv.call(t, "POST", "/v1/tickets", map[string]any{"subject": "race"}, "Idempotency-Key", "race-1", tenantHdr[0], tenantHdr[1])
			if r.code == 200 {
				ids[i] = r.str("id")
			} else {
				t.Errorf("concurrent create = %d %s", r.code, r.body)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent creates returned different tickets: %v", ids)
		}
	}
	if n := len(srv.listAll(t, "", tenantHdr...)); n != 2 {
		t.Errorf("tenant has %d tickets, want 2 (one per key)", n)
	}

	// Comments are idempotent too.
	path := "/v1/tickets/" + first.str("id") + "/comments"
	c1 := srv.mustCall(t, 200, "POST", path, map[string]any{"author": "王芳", "body": "已收到"}, "Idempotency-Key", "c-1", tenantHdr[0], tenantHdr[1])
	c2 := srv.mustCall(t, 200, "POST", path, map[string]any{"author": "王芳", "body": "已收到"}, "Idempotency-Key", "c-1", tenantHdr[0], tenantHdr[1])
	if c1.str("id") != c2.str("id") {
		t.Errorf("comment retry created a second comment")
	}
	list := srv.mustCall(t, 200, "GET", path, nil, tenantHdr...)
	if n := len(list.json["comments"].([]any)); n != 1 {
		t.Errorf("%d comments after a retried add, want 1", n)
	}
}

func testPaging(t *testing.T, srv *instance) {
	hdr := []string{"X-Kubedesk-Tenant", "paging"}
	for i := range 105 {
		tk := map[string]any{"subject": fmt.Sprintf("ticket %03d", i), "tags": []string{fmt.Sprintf("batch%d", i%3)}}
		if i%5 == 0 {
			tk["impact"], tk["urgency"] = 1, 1
		}
		srv.create(t, tk, hdr...)
	}
	r := srv.mustCall(t, 200, "GET", "/v1/tickets?page_size=10000", nil, hdr...)
	if n := len(r.json["tickets"].([]any)); n != 100 || r.str("nextPageToken") == "" {
		t.Fatalf("page_size=10000 returned %d tickets (token %q), want 100 and a next page", n, r.str("nextPageToken"))
	}
	all := srv.listAll(t, "", hdr...)
	seen := map[string]bool{}
	for i, tk := range all {
		id := tk["id"].(string)
		if seen[id] {
			t.Fatalf("ticket %s listed twice", id)
		}
		seen[id] = true
		if i > 0 && id > all[i-1]["id"].(string) {
			t.Fatalf("list is not newest first at %d", i)
		}
	}
	if len(all) != 105 {
		t.Fatalf("paged through %d tickets, want 105", len(all))
	}
	for _, f := range []struct {
		filter string
		want   int
	}{
		{"priority%3DP1", 21},
		{"tag%3Dbatch1", 35},
		{"priority%3DP1%20AND%20tag%3Dbatch0", 7},
		{"status%3D(new%20OR%20open)", 105},
		{"status%3Dclosed", 0},
	} {
		if got := len(srv.listAll(t, "filter="+f.filter, hdr...)); got != f.want {
			t.Errorf("filter %s: %d tickets, want %d", f.filter, got, f.want)
		}
	}
}

func testComments(t *testing.T, srv *instance) {
	c := srv.create(t, map[string]any{"subject": "邮件无法发送"})
	path := "/v1/tickets/" + c.str("id") + "/comments"
	srv.mustCall(t, 200, "POST", path, map[string]any{"author": "李娜", "body": "内部：先查一下 SMTP 日志", "visibility": "VISIBILITY_INTERNAL"})
	if s := srv.mustCall(t, 200, "GET", "/v1/tickets/"+c.str("id"), nil).str("status"); s != "STATUS_NEW" {
		t.Errorf("an internal note moved the ticket to %s", s)
	}
	srv.mustCall(t, 200, "POST", path, map[string]any{"author": "李娜", "body": "您好，我们正在处理。", "authorType": "AUTHOR_TYPE_AGENT"})
	got := srv.mustCall(t, 200, "GET", "/v1/tickets/"+c.str("id"), nil)
	// Each comment bumps the ticket's version; the reply and the move to
	// open are one change.
	if got.str("status") != "STATUS_OPEN" || got.str("etag") != "v3" {
		t.Errorf("after the agent's first public reply: status %s etag %s, want open v3", got.str("status"), got.str("etag"))
	}
	srv.mustCall(t, 200, "PATCH", "/v1/tickets/"+c.str("id"), map[string]any{"status": "STATUS_PENDING"})
	// A mail bridge's integration key posts the customer's reply.
	srv.mustCall(t, 200, "POST", path, map[string]any{"author": "zhang.wei@example.com", "body": "还是不行 😢", "authorType": "AUTHOR_TYPE_CUSTOMER"},
		"Authorization", "Bearer "+srv.roleKey(t, "default", "integration"))
	if s := srv.mustCall(t, 200, "GET", "/v1/tickets/"+c.str("id"), nil).str("status"); s != "STATUS_OPEN" {
		t.Errorf("a customer reply on a pending ticket left it %s, want open", s)
	}
	list := srv.mustCall(t, 200, "GET", path+"?page_size=2", nil)
	first := list.json["comments"].([]any)
	if len(first) != 2 || list.str("nextPageToken") == "" {
		t.Fatalf("first page: %s", list.body)
	}
	rest := srv.mustCall(t, 200, "GET", path+"?page_size=2&page_token="+list.str("nextPageToken"), nil)
	if n := len(rest.json["comments"].([]any)); n != 1 || rest.str("nextPageToken") != "" {
		t.Fatalf("second page: %s", rest.body)
	}
	if b := rest.json["comments"].([]any)[0].(map[string]any)["body"]; b != "还是不行 😢" {
		t.Errorf("last comment body %q", b)
	}
	srv.mustCall(t, 404, "GET", "/v1/tickets/0193a0c4-0000-7000-8000-000000000000/comments", nil)
	srv.mustCall(t, 404, "POST", "/v1/tickets/0193a0c4-0000-7000-8000-000000000000/comments", map[string]any{"author": "a", "body": "b"})
}

func testTenancy(t *testing.T, srv *instance) {
	acme := []string{"X-Kubedesk-Tenant", "acme"}
	globex := []string{"X-Kubedesk-Tenant", "globex"}
	c := srv.create(t, map[string]any{"subject": "acme only"}, acme...)
	path := "/v1/tickets/" + c.str("id")
	srv.mustCall(t, 200, "GET", path, nil, acme...)
	for _, probe := range []struct {
		method, path string
		body         any
	}{
		{"GET", path, nil},
		{"PATCH", path, map[string]any{"subject": "hijack"}},
		{"GET", path + "/comments", nil},
		{"POST", path + "/comments", map[string]any{"author": "x", "body": "y"}},
	} {
		r := srv.call(t, probe.method, probe.path, probe.body, globex...)
		if r.code != 404 {
			t.Errorf("%s %s as another tenant = %d %s, want 404", probe.method, probe.path, r.code, r.body)
		}
	}
	if n := len(srv.listAll(t, "", globex...)); n != 0 {
		t.Errorf("globex lists %d tickets, want 0", n)
	}
	if s := srv.mustCall(t, 200, "GET", path, nil, acme...).str("subject"); s != "acme only" {
		t.Errorf("another tenant changed the ticket: subject %q", s)
	}
}

// testWatch reads the REST event stream, then resumes it from a cursor.
func testWatch(t *testing.T, srv *instance) {
	hdr := []string{"X-Kubedesk-Tenant", "watch"}
	a := srv.create(t, map[string]any{"subject": "first"}, hdr...)
	srv.mustCall(t, 200, "PATCH", "/v1/tickets/"+a.str("id"), map[string]any{"status": "STATUS_OPEN"}, hdr...)
	srv.create(t, map[string]any{"subject": "second"}, hdr...)

	events := watch(t, srv, "", 3, hdr...)
	// Only updates: the one update, then a bookmark past the creation
	// after it.
	updates, bookmark := watchTypes(t, srv, "types=EVENT_TYPE_TICKET_UPDATED", 1, hdr...)
	if updates[0]["type"] != "EVENT_TYPE_TICKET_UPDATED" {
		t.Errorf("filtered stream sent %v", updates[0]["type"])
	}
	if updates[0]["cursor"] != events[1]["cursor"] {
		t.Errorf("filtered stream: update at %v, want %v", updates[0]["cursor"], events[1]["cursor"])
	}
	if bookmark != events[2]["cursor"] {
		t.Errorf("filtered stream: bookmark at %v, want past the creation left out, %v", bookmark, events[2]["cursor"])
	}
	wantTypes := []string{"EVENT_TYPE_TICKET_CREATED", "EVENT_TYPE_TICKET_UPDATED", "EVENT_TYPE_TICKET_CREATED"}
	for i, e := range events {
		if e["type"] != wantTypes[i] {
			t.Errorf("event %d type %v, want %s", i, e["type"], wantTypes[i])
		}
	}
	// The update's change, typed and as text.
	wantChange := map[string]any{"field": "status", "before": "new", "after": "open", "oldValue": "new", "newValue": "open"}
	if changes, _ := events[1]["changes"].([]any); len(changes) != 1 || !reflect.DeepEqual(changes[0], wantChange) {
		t.Errorf("update's changes = %v, want [%v]", events[1]["changes"], wantChange)
	}
	// Resuming after the first event yields the other two, then a new one.
	go srv.create(t, map[string]any{"subject": "third"}, hdr...)
	resumed := watch(t, srv, events[0]["cursor"].(string), 3, hdr...)
	if resumed[0]["cursor"] != events[1]["cursor"] || resumed[1]["cursor"] != events[2]["cursor"] {
		t.Errorf("resume after %v gave %v, %v", events[0]["cursor"], resumed[0]["cursor"], resumed[1]["cursor"])
	}
	if s := resumed[2]["ticket"].(map[string]any)["subject"]; s != "third" {
		t.Errorf("live event subject %v, want third", s)
	}
}

// watchTypes reads n events of the stream filtered by query, then the
// bookmark that follows and returns its cursor.
func watchTypes(t *testing.T, srv *instance, query string, n int, headers ...string) ([]map[string]any, any) {
	t.Helper()
	resp := openEvents(t, srv, query, headers...)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var out []map[string]any
	for sc.Scan() {
		var line struct {
			Result map[string]any `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("stream line %s: %v", sc.Bytes(), err)
		}
		if b, ok := line.Result["bookmark"].(map[string]any); ok {
			if len(out) < n {
				t.Fatalf("bookmark after %d events, want %d", len(out), n)
			}
			return out, b["cursor"]
		}
		out = append(out, line.Result["event"].(map[string]any))
	}
	t.Fatalf("stream ended after %d events: %v", len(out), sc.Err())
	return nil, nil
}

// openEvents opens /v1/events:watch with query and headers (name, value
// pairs); the caller closes the body.
func openEvents(t *testing.T, srv *instance, query string, headers ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.base+"/v1/events:watch?"+query, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	srv.authorize(t, req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func watch(t *testing.T, srv *instance, after string, n int, headers ...string) []map[string]any {
	t.Helper()
	resp := openEvents(t, srv, "after_cursor="+after, headers...)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var out []map[string]any
	for len(out) < n && sc.Scan() {
		var line struct {
			Result map[string]any `json:"result"`
			Error  map[string]any `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Error != nil {
			t.Fatalf("stream line %s: %v", sc.Bytes(), err)
		}
		if b, ok := line.Result["bookmark"].(map[string]any); ok {
			// Bookmarks come when the stream is caught up, and carry the
			// cursor of the last event sent.
			var last any = after
			if len(out) > 0 {
				last = out[len(out)-1]["cursor"]
			}
			if b["cursor"] != last {
				t.Errorf("bookmark cursor %v, want %v", b["cursor"], last)
			}
			continue
		}
		out = append(out, line.Result["event"].(map[string]any))
	}
	if len(out) < n {
		t.Fatalf("stream ended after %d events, want %d: %v", len(out), n, sc.Err())
	}
	return out
}
