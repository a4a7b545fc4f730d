package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// testRequesters: a ticket created through REST with its requester's
// e-mail address names that address's contact, the one mail from the
// address reaches too; each tenant has its own.
func testRequesters(t *testing.T, srv *instance) {
	hdr := []string{"X-Kubedesk-Tenant", "requesters"}
	contactOf := func(r response) string {
		t.Helper()
		req, _ := r.json["requester"].(map[string]any)
		id, _ := req["contactId"].(string)
		if id == "" {
			t.Fatalf("ticket %s names no contact: %s", r.str("id"), r.body)
		}
		return id
	}
	first := srv.create(t, map[string]any{"subject": "发票开不出来", "requester": map[string]any{"name": "周杰", "email": "zhou.jie@example.com"}}, hdr...)
	if first.str("etag") != "v1" {
		t.Errorf("etag %q after create, want v1", first.str("etag"))
	}
	contact := contactOf(first)
	second := srv.create(t, map[string]any{"subject": "还是开不出来", "requester": map[string]any{"name": "Jay", "email": "Zhou.Jie@Example.COM"}}, hdr...)
	if got := contactOf(second); got != contact {
		t.Errorf("the same address in other case: contact %s, want %s", got, contact)
	}
	// If-Match "v1" holds for the ticket just created (the README's example).
	srv.mustCall(t, http.StatusOK, "PATCH", "/v1/tickets/"+first.str("id"), map[string]any{"impact": 2}, append([]string{"If-Match", `"v1"`}, hdr...)...)

	c := srv.mustCall(t, http.StatusOK, "GET", "/v1/contacts/"+contact, nil, hdr...)
	if c.str("displayName") != "周杰" || !strings.Contains(string(c.body), "zhou.jie@example.com") {
		t.Errorf("contact: %s; want 周杰 with zhou.jie@example.com (the first name given)", c.body)
	}
	byContact := srv.listAll(t, "filter="+url.QueryEscape(`contact = "`+contact+`"`), hdr...)
	if len(byContact) != 2 {
		t.Errorf("filter contact = %s: %d tickets, want 2", contact, len(byContact))
	}
	sum := srv.mustCall(t, http.StatusOK, "GET", "/v1/contacts/"+contact+":summary", nil, hdr...)
	card, _ := sum.json["summary"].(map[string]any)
	if got, _ := card["openCount"].(float64); got != 2 {
		t.Errorf("customer card: openCount %v, want 2: %s", card["openCount"], sum.body)
	}

	// A caller naming the contact keeps it; a new requester by address
	// is that address's contact.
	other := srv.create(t, map[string]any{"subject": "换人", "requester": map[string]any{"email": "li.na@example.com"}}, hdr...)
	moved := srv.mustCall(t, http.StatusOK, "PATCH", "/v1/tickets/"+other.str("id")+"?update_mask=requester",
		map[string]any{"requester": map[string]any{"name": "周杰", "email": "zhou.jie@example.com"}}, hdr...)
	if got := contactOf(moved); got != contact {
		t.Errorf("requester changed to zhou.jie@example.com: contact %s, want %s", got, contact)
	}

	// Another tenant's same address is another contact.
	elsewhere := srv.create(t, map[string]any{"subject": "x", "requester": map[string]any{"email": "zhou.jie@example.com"}}, "X-Kubedesk-Tenant", "requesters-b")
	if got := contactOf(elsewhere); got == contact {
		t.Errorf("tenant requesters-b shares contact %s with tenant requesters", got)
	}
	// An address that is not one is refused naming the field, and nothing is written.
	bad := srv.call(t, "POST", "/v1/tickets", map[string]any{"subject": "bad requester", "requester": map[string]any{"email": "zhou.jie at example"}}, hdr...)
	if bad.code != http.StatusBadRequest || !strings.Contains(string(bad.body), "requester.email") {
		t.Errorf("bad requester e-mail = %d %s, want 400 naming requester.email", bad.code, bad.body)
	}
	for _, tk := range srv.listAll(t, "", hdr...) {
		if tk["subject"] == "bad requester" {
			t.Errorf("a refused create wrote %v", tk["id"])
		}
	}
}
