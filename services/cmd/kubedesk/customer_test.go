package main

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/channel/smtpout/smtptest"
)

// TestCustomerSignIn runs a customer's way in end to end on both engines:
// mail to support@default.localhost makes a contact and a ticket; the
// contact asks for a sign-in code, which arrives by mail at the relay;
// signed in with it, the customer sees exactly its own tickets, never an
// internal note, and opens a ticket that names its contact.
func TestCustomerSignIn(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			sink := smtptest.Start(t)
			srv := startServe(t, append(args, "--smtp-relay="+sink.URL())...)
			testCustomerSignIn(t, &mailbox{t: t, srv: srv, sink: sink})
		})
	}
}

func testCustomerSignIn(t *testing.T, m *mailbox) {
	srv := m.srv
	anonymous := []string{"Authorization", ""}

	// Two customers write in; each becomes a contact with a ticket.
	m.send(t, "default", mailText{from: "Wang Fang <wang.fang@example.com>", to: "support@default.localhost", id: "wang-1@example.com", subject: "VPN 断线", body: "VPN 每隔十分钟断一次。"})
	m.send(t, "default", mailText{from: "Li Na <li.na@example.com>", to: "support@default.localhost", id: "li-1@example.com", subject: "invoice", body: "Where is my invoice?"})
	mine := m.ticketOf(t, "default", "wang.fang@example.com", "VPN 断线")
	other := m.ticketOf(t, "default", "li.na@example.com", "invoice")
	contact, _ := mine["requester"].(map[string]any)["contactId"].(string)
	if contact == "" {
		t.Fatalf("the mailed ticket names no contact: %v", mine)
	}
	mineID, otherID := mine["id"].(string), other["id"].(string)
	// The help desk answers, in public and in an internal note.
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+mineID+"/comments", map[string]any{"body": "客户是 VIP，优先处理", "visibility": "VISIBILITY_INTERNAL"})
	reply := srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+mineID+"/comments", map[string]any{"body": "请重启路由器后再试。"})

	// Asking for a code: the same answer for a known and an unknown
	// address; the known one's code arrives at the relay.
	known := srv.mustCall(t, http.StatusOK, "POST", "/v1/contacts:sendSignInCode", map[string]any{"email": "Wang.Fang@Example.com"}, anonymous...)
	unknown := srv.mustCall(t, http.StatusOK, "POST", "/v1/contacts:sendSignInCode", map[string]any{"email": "nobody@example.com"}, anonymous...)
	if string(known.body) != string(unknown.body) {
		t.Errorf("answers differ: known %s, unknown %s", known.body, unknown.body)
	}
	code := waitSignInCode(t, m.sink, "wang.fang@example.com")
	for _, msg := range m.sink.Messages() {
		if slices.Contains(msg.To, "nobody@example.com") {
			t.Errorf("a mail went to the unknown address: %s", msg.Data)
		}
	}

	// A wrong code: 401 naming the code, nothing about the address.
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	for _, addr := range []string{"wang.fang@example.com", "nobody@example.com"} {
		r := srv.call(t, "POST", "/v1/sessions", map[string]any{"tenant": "default", "email": addr, "code": wrong}, anonymous...)
		if r.code != http.StatusUnauthorized || !strings.HasPrefix(r.str("message"), "code: ") || strings.Contains(string(r.body), addr) {
			t.Errorf("a wrong code for %s = %d %s; want 401 naming the code, not the address", addr, r.code, r.body)
		}
	}

	// Signing in with the code: a customer's session of the contact.
	r := srv.mustCall(t, http.StatusOK, "POST", "/v1/sessions", map[string]any{"tenant": "default", "email": "wang.fang@example.com", "code": code}, anonymous...)
	if r.str("contactId") != contact || r.str("userId") != "" {
		t.Errorf("session %s; want contactId %s and no user", r.body, contact)
	}
	token, _, _ := strings.Cut(strings.TrimPrefix(r.header.Get("Set-Cookie"), "kd_session="), ";")
	if token == "" {
		t.Fatalf("no session cookie: %v", r.header)
	}
	ses := session{token: token, csrf: r.str("csrfToken")}

	me := srv.mustCall(t, http.StatusOK, "GET", "/v1/me", nil, ses.headers()...)
	p, _ := me.json["principal"].(map[string]any)
	if p["contactId"] != contact || p["kind"] != "PRINCIPAL_KIND_CUSTOMER" || !slices.Equal(anyStrings(p["roles"]), []string{"ROLE_CUSTOMER"}) ||
		p["email"] != "wang.fang@example.com" || p["displayName"] != "Wang Fang" {
		t.Errorf("GET /v1/me = %s", me.body)
	}

	// Exactly its tickets.
	if got := ids(srv.listAll(t, "", ses.headers()...)); !slices.Equal(got, []string{mineID}) {
		t.Errorf("the customer lists %v, want only %s", got, mineID)
	}
	if r := srv.call(t, "GET", "/v1/tickets/"+otherID, nil, ses.headers()...); r.code != http.StatusNotFound {
		t.Errorf("another's ticket = %d %s, want 404", r.code, r.body)
	}
	if r := srv.call(t, "GET", "/v1/tickets/"+otherID+"/comments", nil, ses.headers()...); r.code != http.StatusNotFound {
		t.Errorf("another's comments = %d %s, want 404", r.code, r.body)
	}
	comments := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+mineID+"/comments", nil, ses.headers()...)
	var seen []string
	for _, c := range comments.json["comments"].([]any) {
		c := c.(map[string]any)
		seen = append(seen, c["id"].(string))
		if c["visibility"] == "VISIBILITY_INTERNAL" || strings.Contains(c["body"].(string), "VIP") {
			t.Errorf("the customer reads an internal note: %v", c)
		}
	}
	if !slices.Contains(seen, reply.str("id")) {
		t.Errorf("the customer does not read the public reply %s: %s", reply.str("id"), comments.body)
	}
	if r := srv.call(t, "GET", "/v1/events:watch", nil, ses.headers()...); r.code != http.StatusForbidden {
		t.Errorf("the event stream for a customer = %d %s, want 403", r.code, r.body)
	}

	// A new ticket names the customer's contact, whatever the body says.
	otherContact, _ := other["requester"].(map[string]any)["contactId"].(string)
	created := srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets", map[string]any{
		"subject": "打印机也坏了", "requester": map[string]any{"email": "li.na@example.com", "contactId": otherContact},
	}, ses.headers()...)
	req, _ := created.json["requester"].(map[string]any)
	if req["contactId"] != contact || req["email"] != "wang.fang@example.com" {
		t.Errorf("the customer's new ticket names requester %v; want contact %s", req, contact)
	}
	if got := ids(srv.listAll(t, "", ses.headers()...)); !slices.Equal(got, []string{created.str("id"), mineID}) {
		t.Errorf("after creating one the customer lists %v", got)
	}

	// The code worked once.
	again := srv.call(t, "POST", "/v1/sessions", map[string]any{"tenant": "default", "email": "wang.fang@example.com", "code": code}, anonymous...)
	if again.code != http.StatusUnauthorized || !strings.HasPrefix(again.str("message"), "code: ") {
		t.Errorf("the code's second use = %d %s, want 401 naming the code", again.code, again.body)
	}
	// Signed out, the cookie is nothing.
	srv.mustCall(t, http.StatusOK, "DELETE", "/v1/sessions/current", nil, ses.headers()...)
	if r := srv.call(t, "GET", "/v1/tickets", nil, ses.headers()...); r.code != http.StatusUnauthorized {
		t.Errorf("after sign-out = %d, want 401", r.code)
	}
}

var signInSubject = regexp.MustCompile(`^Your sign-in code: ([0-9]{6})$`)

// waitSignInCode waits for the sign-in mail to addr and returns its code.
func waitSignInCode(t *testing.T, sink *smtptest.Sink, addr string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, msg := range sink.Messages() {
			if !slices.Contains(msg.To, addr) {
				continue
			}
			h := header(t, msg.Data)
			subject, _ := h.Subject()
			if m := signInSubject.FindStringSubmatch(subject); m != nil {
				if !strings.Contains(body(t, msg.Data), "    "+m[1]) {
					t.Errorf("the sign-in mail's body lacks the code of its subject:\n%s", msg.Data)
				}
				return m[1]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sign-in code mailed to %s within 15s; mails: %d", addr, len(sink.Messages()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ids(tickets []map[string]any) []string {
	out := make([]string, len(tickets))
	for i, tk := range tickets {
		out[i], _ = tk["id"].(string)
	}
	return out
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
