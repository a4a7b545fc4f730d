package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/storage/pgtest"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket"
)

var cluster *pgtest.Cluster

// TestMain starts the PostgreSQL cluster the contract suite runs against.
// Without it the tests fail rather than skip: an untested engine is not
// shipped.
func TestMain(m *testing.M) { pgtest.Main(m, &cluster, pgtest.Fast...) }

// engines are SQLite and PostgreSQL, each on a fresh database per test.
var engines = pgtest.Engines(&cluster, "ticket.db",
	func(ctx context.Context, path string) (ticket.Store, error) { return OpenSQLite(ctx, path) },
	func(ctx context.Context, url string) (ticket.Store, error) { return OpenPostgres(ctx, url) })

// contract runs f against a fresh store of every engine, with the same
// expectations.
func contract(t *testing.T, f func(t *testing.T, s ticket.Store)) { pgtest.Contract(t, engines, f) }

var ctx = context.Background()

// base is deliberately not UTC and has nanoseconds: the store must keep
// UTC microseconds.
var base = time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CST", 8*3600))

// id makes the n-th test ID; like UUIDv7 strings they sort in creation order.
func id(n int) string { return fmt.Sprintf("01900000-0000-7000-8000-%012d", n) }

var (
	statuses  = []ticket.Status{ticket.StatusNew, ticket.StatusOpen, ticket.StatusPending, ticket.StatusOnHold, ticket.StatusSolved}
	channels  = []ticket.Channel{ticket.ChannelWeb, ticket.ChannelEmail, ticket.ChannelChat, ticket.ChannelWeChat, ticket.ChannelAPI, ticket.ChannelPhone}
	groups    = []string{"billing", "it", "sales"}
	assignees = []string{"", "ana", "bo", "李娜"}
	tagSets   = [][]string{nil, {"vip"}, {"vip", "refund"}, {"outage", "网络"}}
)

// fixture is the n-th ticket of a tenant, with fields varied so filters
// pick different subsets.
func fixture(tenant string, n int) ticket.Ticket {
	t := ticket.Ticket{
		ID:          id(n),
		Tenant:      tenant,
		Subject:     fmt.Sprintf("ticket %d", n),
		Description: "printer on fire",
		Status:      statuses[n%len(statuses)],
		Impact:      n%3 + 1,
		Urgency:     (n/3)%3 + 1,
		Priority:    ticket.Priority(n%5 + 1),
		Channel:     channels[n%len(channels)],
		Requester: ticket.Requester{
			Name:     "Customer " + strconv.Itoa(n%4),
			Email:    fmt.Sprintf("user%d@example.com", n%4),
			Identity: fmt.Sprintf("wechat:o%d", n%3),
		},
		Group:        groups[n%len(groups)],
		Assignee:     assignees[n%len(assignees)],
		Tags:         slices.Clone(tagSets[n%len(tagSets)]),
		CustomFields: map[string]string{"n": strconv.Itoa(n)},
		CreateTime:   base.Add(time.Duration(n) * time.Minute),
		Version:      1,
	}
	t.UpdateTime = t.CreateTime
	if t.Status == ticket.StatusSolved {
		t.SolveTime = t.CreateTime.Add(time.Second)
	}
	return t
}

// stored is t as the store keeps it: UTC microseconds, non-nil collections.
// It is written out here rather than calling the store's own normTicket, so
// the expectation does not share the code under test.
func stored(t ticket.Ticket) ticket.Ticket {
	us := func(tm time.Time) time.Time {
		if tm.IsZero() {
			return tm
		}
		return tm.UTC().Truncate(time.Microsecond)
	}
	t.CreateTime, t.UpdateTime, t.SolveTime = us(t.CreateTime), us(t.UpdateTime), us(t.SolveTime)
	if t.Tags == nil {
		t.Tags = []string{}
	}
	if t.CustomFields == nil {
		t.CustomFields = map[string]string{}
	}
	return t
}

func storedComment(c ticket.Comment) ticket.Comment {
	c.CreateTime = c.CreateTime.UTC().Truncate(time.Microsecond)
	return c
}

func create(t *testing.T, s ticket.Store, tk ticket.Ticket) ticket.Ticket {
	t.Helper()
	got, created, err := s.CreateTicket(ctx, tk, ticket.Idempotency{})
	if err != nil || !created {
		t.Fatalf("CreateTicket(%s) = created %v, %v", tk.ID, created, err)
	}
	return got
}

// allEvents reads the tenant's whole stream in small pages.
func allEvents(t *testing.T, s ticket.Store, tenant string) []ticket.Event {
	t.Helper()
	var out []ticket.Event
	cursor := ""
	for {
		page, err := s.ListEvents(ctx, tenant, cursor, 3)
		if err != nil {
			t.Fatalf("ListEvents(%q): %v", cursor, err)
		}
		out = append(out, page...)
		if len(page) < 3 {
			return out
		}
		cursor = page[len(page)-1].Cursor
	}
}

func eventTypes(es []ticket.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s %s v%d", e.Type, e.TicketID, e.Ticket.Version)
	}
	return out
}

func TestCreateAndGet(t *testing.T) {
	full := fixture("acme", 4) // solved: has a solve time
	bare := ticket.Ticket{ID: id(5), Tenant: "acme", Subject: "bare", Status: ticket.StatusNew,
		Impact: 2, Urgency: 2, Priority: ticket.P3, Channel: ticket.ChannelAPI,
		CreateTime: base, UpdateTime: base, Version: 1} // nil tags and custom fields
	contract(t, func(t *testing.T, s ticket.Store) {
		for i, tk := range []ticket.Ticket{full, bare} {
			got := create(t, s, tk)
			want := stored(tk)
			want.Number = int64(i + 1) // the tenant's first and second
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CreateTicket returned (-want +got):\n%s", diff)
			}
			read, err := s.GetTicket(ctx, "acme", tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			// cmp compares times with Equal; the location must be UTC too.
			if diff := cmp.Diff(want, read); diff != "" {
				t.Errorf("GetTicket (-want +got):\n%s", diff)
			}
			for _, tm := range []time.Time{read.CreateTime, read.UpdateTime, read.SolveTime} {
				if !tm.IsZero() && (tm.Location() != time.UTC || tm.Nanosecond()%1000 != 0) {
					t.Errorf("time %v: want UTC with microsecond precision", tm)
				}
			}
			if read.Tags == nil || read.CustomFields == nil {
				t.Errorf("read ticket has nil tags or custom fields: %#v %#v", read.Tags, read.CustomFields)
			}
		}
		events := allEvents(t, s, "acme")
		if len(events) != 2 {
			t.Fatalf("events = %v, want one ticket.created per ticket", eventTypes(events))
		}
		e := events[0]
		if e.Type != ticket.EventTicketCreated || e.Tenant != "acme" || e.TicketID != full.ID || e.Comment != nil || e.Changes != nil {
			t.Errorf("event = %+v, want ticket.created of %s", e, full.ID)
		}
		wantFull := stored(full)
		wantFull.Number = 1
		if diff := cmp.Diff(wantFull, e.Ticket); diff != "" {
			t.Errorf("event ticket (-want +got):\n%s", diff)
		}
		if !e.CreateTime.Equal(stored(full).CreateTime) {
			t.Errorf("event time = %v, want the ticket's create time %v", e.CreateTime, stored(full).CreateTime)
		}
	})
}

func TestCreateDuplicateID(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		create(t, s, fixture("acme", 1))
		if _, _, err := s.CreateTicket(ctx, fixture("acme", 1), ticket.Idempotency{}); !errors.Is(err, ticket.ErrExists) {
			t.Errorf("creating a ticket with an existing ID = %v, want ErrExists", err)
		}
		// Another tenant may have a ticket of that ID.
		create(t, s, fixture("globex", 1))
		if n := len(allEvents(t, s, "acme")); n != 1 {
			t.Errorf("events = %d, want 1 (the failed create wrote none)", n)
		}
	})
}

// TestTextRoundTrip stores text that byte-level mistakes (normalisation,
// encoding, escaping) would change, everywhere text is kept.
func TestTextRoundTrip(t *testing.T) {
	texts := []struct{ name, text string }{
		{"chinese", "打印机无法连接网络，请尽快处理。"},
		{"emoji", "🔥🖨️ 👩🏽‍💻 🇨🇳 👨‍👩‍👧‍👦"},
		{"arabic", "الطابعة لا تعمل"},
		{"hebrew", "המדפסת לא עובדת"},
		{"bidi mix", "Order \u202bرقم 42\u202c ok \u200f"},
		{"combining (NFD)", "Cafe\u0301 n\u0303 a\u030a Z\u0335\u0321a\u0336"},
		{"precomposed (NFC)", "Café ñ å"},
		{"zero width", "a\u200bb\u200dc\ufeffd"},
		{"quotes and escapes", `'"\%_;--<script>&amp;` + "\t\r\n"},
	}
	contract(t, func(t *testing.T, s ticket.Store) {
		for i, tt := range texts {
			t.Run(tt.name, func(t *testing.T) {
				tk := fixture("acme", i)
				tk.Subject, tk.Description = tt.text, tt.text+" (description)"
				tk.Requester = ticket.Requester{Name: tt.text, Email: tt.text + "@example.com", Identity: "wechat:" + tt.text, ContactID: tt.text}
				tk.Attachments = []ticket.Attachment{{ID: id(2000 + i), Filename: tt.text, ContentType: "text/plain", Size: 1, SHA256: digest(i), ContentID: tt.text}}
				tk.Group, tk.Assignee = tt.text, tt.text
				tk.Tags = []string{tt.text, "x" + tt.text}
				tk.CustomFields = map[string]string{tt.text: tt.text}
				create(t, s, tk)
				got, err := s.GetTicket(ctx, "acme", tk.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := stored(tk)
				want.Number = int64(i + 1)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ticket (-want +got):\n%s", diff)
				}
				// The filters match the exact text too.
				page, err := s.ListTickets(ctx, "acme", ticket.ListQuery{Limit: 10, Filter: ticket.Filter{
					Assignees: []string{tt.text}, Tags: []string{tt.text}, Requesters: []string{"wechat:" + tt.text},
					Contacts: []string{tt.text}}})
				if err != nil || len(page) != 1 || page[0].ID != tk.ID {
					t.Errorf("list by text filters = %d tickets, %v; want %s", len(page), err, tk.ID)
				}
				c := ticket.Comment{ID: id(1000 + i), Tenant: "acme", TicketID: tk.ID, Author: tt.text,
					AuthorType: ticket.AuthorCustomer, Body: tt.text, Visibility: ticket.VisibilityPublic, CreateTime: base,
					Attachments: []ticket.Attachment{{ID: id(3000 + i), Filename: tt.text, ContentType: tt.text, Size: 2, SHA256: digest(100 + i)}}}
				if _, _, err := s.AddComment(ctx, c, ticket.Idempotency{}, nil); err != nil {
					t.Fatal(err)
				}
				comments, err := s.ListComments(ctx, "acme", tk.ID, "", 10)
				if err != nil || len(comments) != 1 {
					t.Fatalf("ListComments = %v, %v", comments, err)
				}
				if diff := cmp.Diff(storedComment(c), comments[0]); diff != "" {
					t.Errorf("comment (-want +got):\n%s", diff)
				}
			})
		}
		// The event payloads carry the same bytes.
		for _, e := range allEvents(t, s, "acme") {
			if e.Type == ticket.EventCommentAdded && e.Comment.Body != e.Ticket.Subject {
				t.Errorf("event comment body %q != ticket subject %q", e.Comment.Body, e.Ticket.Subject)
			}
		}
	})
}

// TestNULText: text holding the NUL character is refused by every engine
// alike, with ErrNULText naming the field, and nothing is written
// (PostgreSQL cannot store it, SQLite could). A ticket that already holds
// one (SQLite data written before the refusal) still takes updates that
// bring no new NUL.
func TestNULText(t *testing.T) {
	const nul = "a\x00b"
	contract(t, func(t *testing.T, s ticket.Store) {
		tk := create(t, s, fixture("acme", 1))
		with := func(edit func(*ticket.Ticket)) ticket.Ticket {
			out := fixture("acme", 2)
			edit(&out)
			return out
		}
		set := func(edit func(*ticket.Ticket)) ticket.Mutation {
			return func(t *ticket.Ticket) ([]ticket.Change, error) {
				edit(t)
				return []ticket.Change{{Field: "x", Old: "1", New: "2"}}, nil
			}
		}
		comment := newComment(tk, 1)
		comment.Body = nul
		sla := ticket.SLA{Policy: nul, UpdateTime: base}
		checks := []struct {
			name string
			err  error
			want string
		}{
			{"create: subject", third(s.CreateTicket(ctx, with(func(t *ticket.Ticket) { t.Subject = nul }), ticket.Idempotency{})),
				`create ticket: subject "a\x00b": text holds the NUL character (U+0000)`},
			{"create: description", third(s.CreateTicket(ctx, with(func(t *ticket.Ticket) { t.Description = nul }), ticket.Idempotency{})),
				`create ticket: description "a\x00b": text holds the NUL character (U+0000)`},
			{"create: requester name", third(s.CreateTicket(ctx, with(func(t *ticket.Ticket) { t.Requester.Name = nul }), ticket.Idempotency{})),
				`create ticket: requester name "a\x00b": text holds the NUL character (U+0000)`},
			{"create: tag", third(s.CreateTicket(ctx, with(func(t *ticket.Ticket) { t.Tags = []string{"vip", nul} }), ticket.Idempotency{})),
				`create ticket: tag "a\x00b": text holds the NUL character (U+0000)`},
			{"create: custom field", third(s.CreateTicket(ctx, with(func(t *ticket.Ticket) { t.CustomFields = map[string]string{"os": nul} }), ticket.Idempotency{})),
				`create ticket: custom field os "a\x00b": text holds the NUL character (U+0000)`},
			{"create: idempotency key", third(s.CreateTicket(ctx, fixture("acme", 2), ticket.Idempotency{Key: nul, RequestHash: "h"})),
				`create ticket: idempotency key "a\x00b": text holds the NUL character (U+0000)`},
			{"get: id", second(s.GetTicket(ctx, "acme", nul)),
				`get ticket: id "a\x00b": text holds the NUL character (U+0000)`},
			{"list: tag filter", second(s.ListTickets(ctx, "acme", ticket.ListQuery{Limit: 10, Filter: ticket.Filter{Tags: []string{nul}}})),
				`list tickets: filter tag "a\x00b": text holds the NUL character (U+0000)`},
			{"update: assignee", second(s.UpdateTicket(ctx, "acme", tk.ID, set(func(t *ticket.Ticket) { t.Assignee = nul }))),
				`assignee "a\x00b": text holds the NUL character (U+0000)`},
			{"update: id", second(s.UpdateTicket(ctx, "acme", nul, set(func(*ticket.Ticket) {}))),
				`update ticket: id "a\x00b": text holds the NUL character (U+0000)`},
			{"comment: body", third(s.AddComment(ctx, comment, ticket.Idempotency{}, nil)),
				`add comment: body "a\x00b": text holds the NUL character (U+0000)`},
			{"comments: ticket id", second(s.ListComments(ctx, "acme", nul, "", 10)),
				`list comments: ticket id "a\x00b": text holds the NUL character (U+0000)`},
			{"events: tenant", second(s.ListEvents(ctx, nul, "", 10)),
				`list events: tenant "a\x00b": text holds the NUL character (U+0000)`},
			{"SLA: policy", second(s.SetSLA(ctx, "acme", tk.ID, sla, nil)),
				`set SLA: SLA policy "a\x00b": text holds the NUL character (U+0000)`},
			{"SLA: escalation group", second(s.SetSLA(ctx, "acme", tk.ID, ticket.SLA{Policy: "p", UpdateTime: base}, set(func(t *ticket.Ticket) { t.Group = nul }))),
				`group "a\x00b": text holds the NUL character (U+0000)`},
		}
		for _, c := range checks {
			if !errors.Is(c.err, ticket.ErrNULText) || c.err.Error() != c.want {
				t.Errorf("%s: err = %v, want ErrNULText: %s", c.name, c.err, c.want)
			}
		}
		if ids := listAll(t, s, "acme", ticket.Filter{}, 10); !slices.Equal(ids, []string{tk.ID}) {
			t.Errorf("tickets = %v, want only %s", ids, tk.ID)
		}
		if got, err := s.GetTicket(ctx, "acme", tk.ID); err != nil || got.Version != 1 || got.SLA != nil {
			t.Errorf("ticket after the refusals = version %d, SLA %v, %v; want version 1, no SLA", got.Version, got.SLA, err)
		}
		if n := len(allEvents(t, s, "acme")); n != 1 {
			t.Errorf("events = %d, want 1", n)
		}
	})
}

// TestNULTextStoredBefore: a ticket with a NUL written before the engines
// refused it (SQLite kept it) still takes updates that add no NUL.
func TestNULTextStoredBefore(t *testing.T) {
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "ticket.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tk := create(t, s, fixture("acme", 1))
	if _, err := s.db.Write.ExecContext(ctx, `UPDATE tickets SET description = ? WHERE id = ?`, "old\x00text", tk.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateTicket(ctx, "acme", tk.ID, func(t *ticket.Ticket) ([]ticket.Change, error) {
		t.Assignee = "li.na"
		return []ticket.Change{{Field: "assignee", Old: "", New: "li.na"}}, nil
	})
	if err != nil || got.Assignee != "li.na" || got.Description != "old\x00text" {
		t.Errorf("update of a ticket holding a NUL = %+v, %v; want it assigned, the description kept", got, err)
	}
}

func TestNotFound(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		create(t, s, fixture("acme", 1))
		missing := id(99)
		called := false
		mutate := func(*ticket.Ticket) ([]ticket.Change, error) { called = true; return nil, nil }
		checks := []struct {
			name string
			err  error
		}{
			{"GetTicket", second(s.GetTicket(ctx, "acme", missing))},
			{"UpdateTicket", second(s.UpdateTicket(ctx, "acme", missing, mutate))},
			{"AddComment", third(s.AddComment(ctx, ticket.Comment{ID: id(50), Tenant: "acme", TicketID: missing,
				Author: "a", AuthorType: ticket.AuthorAgent, Visibility: ticket.VisibilityPublic, CreateTime: base}, ticket.Idempotency{}, mutate))},
			{"ListComments", second(s.ListComments(ctx, "acme", missing, "", 10))},
		}
		for _, c := range checks {
			if !errors.Is(c.err, ticket.ErrNotFound) {
				t.Errorf("%s of a missing ticket: err = %v, want ErrNotFound", c.name, c.err)
			}
		}
		if called {
			t.Error("mutate was called for a missing ticket")
		}
		if n := len(allEvents(t, s, "acme")); n != 1 {
			t.Errorf("events = %d, want 1", n)
		}
	})
}

func second[T any](_ T, err error) error        { return err }
func third[T, U any](_ T, _ U, err error) error { return err }

// TestTenantIsolation: tenant B cannot see or touch tenant A's ticket, not
// even learn that it exists.
func TestTenantIsolation(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		a := create(t, s, fixture("tenant-a", 1))
		keyed := fixture("tenant-a", 2)
		if _, _, err := s.CreateTicket(ctx, keyed, ticket.Idempotency{Key: "k1", RequestHash: "h1"}); err != nil {
			t.Fatal(err)
		}
		mutate := func(t *ticket.Ticket) ([]ticket.Change, error) {
			t.Subject = "hijacked"
			return []ticket.Change{{Field: "subject", Old: "", New: "hijacked"}}, nil
		}
		comment := ticket.Comment{ID: id(50), Tenant: "tenant-b", TicketID: a.ID, Author: "mallory",
			AuthorType: ticket.AuthorAgent, Body: "hi", Visibility: ticket.VisibilityPublic, CreateTime: base}
		checks := []struct {
			name string
			err  error
		}{
			{"GetTicket", second(s.GetTicket(ctx, "tenant-b", a.ID))},
			{"UpdateTicket", second(s.UpdateTicket(ctx, "tenant-b", a.ID, mutate))},
			{"AddComment", third(s.AddComment(ctx, comment, ticket.Idempotency{}, nil))},
			{"ListComments", second(s.ListComments(ctx, "tenant-b", a.ID, "", 10))},
		}
		for _, c := range checks {
			if !errors.Is(c.err, ticket.ErrNotFound) {
				t.Errorf("tenant-b %s of tenant-a's ticket: err = %v, want ErrNotFound", c.name, c.err)
			}
		}
		list, err := s.ListTickets(ctx, "tenant-b", ticket.ListQuery{Limit: 10})
		if err != nil || len(list) != 0 {
			t.Errorf("tenant-b ListTickets = %d tickets, %v; want none", len(list), err)
		}
		if events := allEvents(t, s, "tenant-b"); len(events) != 0 {
			t.Errorf("tenant-b events = %v, want none", eventTypes(events))
		}
		// Tenant A's key means nothing to tenant B.
		b := fixture("tenant-b", 2)
		if _, created, err := s.CreateTicket(ctx, b, ticket.Idempotency{Key: "k1", RequestHash: "other"}); err != nil || !created {
			t.Errorf("tenant-b create with tenant-a's key = created %v, %v; want a new ticket", created, err)
		}
		got, err := s.GetTicket(ctx, "tenant-a", a.ID)
		if err != nil || got.Subject != a.Subject || got.Version != 1 {
			t.Errorf("tenant-a's ticket after tenant-b's attempts = %+v, %v; want it untouched", got, err)
		}
		if n := len(allEvents(t, s, "tenant-a")); n != 2 {
			t.Errorf("tenant-a events = %d, want 2", n)
		}
	})
}

// matchesFilter is the reference semantics of ticket.Filter.
func matchesFilter(t ticket.Ticket, f ticket.Filter) bool {
	anyOf := func(want []string, have ...string) bool {
		if len(want) == 0 {
			return true
		}
		for _, h := range have {
			if slices.Contains(want, h) {
				return true
			}
		}
		return false
	}
	tagsMatch := len(f.Tags) == 0 || slices.ContainsFunc(t.Tags, func(tag string) bool { return slices.Contains(f.Tags, tag) })
	slaState := ticket.SLANone
	if t.SLA != nil {
		slaState = t.SLA.State
	}
	return anyOf(strs(f.Statuses), string(t.Status)) &&
		(len(f.SLAStates) == 0 || slices.Contains(f.SLAStates, slaState)) &&
		(len(f.Priorities) == 0 || slices.Contains(f.Priorities, t.Priority)) &&
		anyOf(strs(f.Channels), string(t.Channel)) &&
		anyOf(f.Assignees, t.Assignee) &&
		anyOf(f.Groups, t.Group) &&
		anyOf(f.Requesters, t.Requester.Email, t.Requester.Identity) &&
		tagsMatch
}

func TestListTickets(t *testing.T) {
	const n = 40
	filters := []struct {
		name string
		f    ticket.Filter
	}{
		{"none", ticket.Filter{}},
		{"status", ticket.Filter{Statuses: []ticket.Status{ticket.StatusOpen}}},
		{"statuses", ticket.Filter{Statuses: []ticket.Status{ticket.StatusNew, ticket.StatusSolved}}},
		{"priorities", ticket.Filter{Priorities: []ticket.Priority{ticket.P1, ticket.P2}}},
		{"channel", ticket.Filter{Channels: []ticket.Channel{ticket.ChannelWeChat}}},
		{"assignee", ticket.Filter{Assignees: []string{"李娜"}}},
		{"unassigned", ticket.Filter{Assignees: []string{""}}},
		{"groups", ticket.Filter{Groups: []string{"it", "sales"}}},
		{"requester email", ticket.Filter{Requesters: []string{"user1@example.com"}}},
		{"requester identity", ticket.Filter{Requesters: []string{"wechat:o2"}}},
		{"requester either", ticket.Filter{Requesters: []string{"user3@example.com", "wechat:o0"}}},
		{"tag", ticket.Filter{Tags: []string{"refund"}}},
		{"tags any", ticket.Filter{Tags: []string{"网络", "refund"}}},
		{"no match", ticket.Filter{Tags: []string{"nope"}}},
		{"no SLA", ticket.Filter{SLAStates: []ticket.SLAState{ticket.SLANone}}},
		{"SLA breached", ticket.Filter{SLAStates: []ticket.SLAState{ticket.SLABreached}}},
		{"combined", ticket.Filter{Statuses: []ticket.Status{ticket.StatusNew, ticket.StatusOpen, ticket.StatusPending},
			Tags: []string{"vip"}, Groups: []string{"billing", "it"}}},
		{"everything", ticket.Filter{Statuses: statuses, Priorities: []ticket.Priority{1, 2, 3, 4, 5}, Channels: channels,
			Assignees: assignees, Groups: groups, Requesters: []string{"user0@example.com", "user1@example.com", "user2@example.com", "user3@example.com"}}},
	}
	contract(t, func(t *testing.T, s ticket.Store) {
		var all []ticket.Ticket
		for i := range n {
			all = append(all, create(t, s, fixture("acme", i)))
			create(t, s, fixture("other", i)) // same IDs, another tenant: never listed
		}
		for _, tt := range filters {
			t.Run(tt.name, func(t *testing.T) {
				var want []string
				for i := len(all) - 1; i >= 0; i-- {
					if matchesFilter(all[i], tt.f) {
						want = append(want, all[i].ID)
					}
				}
				for _, limit := range []int{1, 7, 100} {
					got := listAll(t, s, "acme", tt.f, limit)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("limit %d: IDs (-want +got):\n%s", limit, diff)
					}
				}
			})
		}
		t.Run("rows are whole tickets", func(t *testing.T) {
			page, err := s.ListTickets(ctx, "acme", ticket.ListQuery{Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]ticket.Ticket{all[n-1], all[n-2]}, page); diff != "" {
				t.Errorf("page (-want +got):\n%s", diff)
			}
		})
		t.Run("limit must be positive", func(t *testing.T) {
			if _, err := s.ListTickets(ctx, "acme", ticket.ListQuery{}); err == nil {
				t.Error("ListTickets with limit 0 succeeded")
			}
		})
	})
}

// listAll pages through a filtered list, newest first, and returns the
// IDs, failing on a repeat.
func listAll(t *testing.T, s ticket.Store, tenant string, f ticket.Filter, limit int) []string {
	t.Helper()
	return listOrdered(t, s, tenant, ticket.ListQuery{Filter: f}, limit)
}

// listOrdered pages through q's list (q.After and q.Limit are its own),
// each page starting after the last ticket of the previous one, and
// returns the IDs, failing on a repeat.
func listOrdered(t *testing.T, s ticket.Store, tenant string, q ticket.ListQuery, limit int) []string {
	t.Helper()
	var ids []string
	seen := map[string]bool{}
	q.After, q.Limit = ticket.ListPosition{}, limit
	for {
		page, err := s.ListTickets(ctx, tenant, q)
		if err != nil {
			t.Fatalf("ListTickets: %v", err)
		}
		if len(page) > limit {
			t.Fatalf("page of %d with limit %d", len(page), limit)
		}
		for _, tk := range page {
			if seen[tk.ID] {
				t.Fatalf("ticket %s listed twice", tk.ID)
			}
			seen[tk.ID] = true
			ids = append(ids, tk.ID)
		}
		if len(page) < limit {
			return ids
		}
		q.After = ticket.PositionOf(page[len(page)-1])
	}
}

func setSubject(subject string) ticket.Mutation {
	return func(t *ticket.Ticket) ([]ticket.Change, error) {
		if t.Subject == subject {
			return nil, nil
		}
		ch := ticket.Change{Field: "subject", Old: t.Subject, New: subject}
		t.Subject = subject
		return []ticket.Change{ch}, nil
	}
}

func TestUpdateTicket(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		orig := create(t, s, fixture("acme", 1))
		before := time.Now().Add(-time.Second)

		t.Run("changes", func(t *testing.T) {
			got, err := s.UpdateTicket(ctx, "acme", orig.ID, func(tk *ticket.Ticket) ([]ticket.Change, error) {
				tk.Subject, tk.Tags, tk.Status = "new subject", []string{"moved"}, ticket.StatusSolved
				tk.SolveTime = base.Add(time.Hour)
				tk.CustomFields["extra"] = "1"
				tk.ID, tk.Version = "hijack", 99 // identity and version are the store's
				return []ticket.Change{{Field: "subject", Old: orig.Subject, New: "new subject"}}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := orig
			want.Subject, want.Tags, want.Status, want.Version = "new subject", []string{"moved"}, ticket.StatusSolved, 2
			want.SolveTime = base.Add(time.Hour).UTC().Truncate(time.Microsecond)
			want.CustomFields = map[string]string{"n": "1", "extra": "1"}
			want.UpdateTime = got.UpdateTime
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("UpdateTicket (-want +got):\n%s", diff)
			}
			if got.UpdateTime.Before(before) || got.UpdateTime.Location() != time.UTC || got.UpdateTime.Nanosecond()%1000 != 0 {
				t.Errorf("update time = %v, want now in UTC microseconds", got.UpdateTime)
			}
			read, err := s.GetTicket(ctx, "acme", orig.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, read); diff != "" {
				t.Errorf("GetTicket after update (-want +got):\n%s", diff)
			}
			// The tag index follows the change.
			if ids := listAll(t, s, "acme", ticket.Filter{Tags: []string{"moved"}}, 10); len(ids) != 1 {
				t.Errorf("tickets tagged moved = %v, want the updated one", ids)
			}
			if ids := listAll(t, s, "acme", ticket.Filter{Tags: orig.Tags}, 10); len(orig.Tags) > 0 && len(ids) != 0 {
				t.Errorf("tickets with the old tags = %v, want none", ids)
			}
			events := allEvents(t, s, "acme")
			last := events[len(events)-1]
			if last.Type != ticket.EventTicketUpdated || last.Ticket.Version != 2 {
				t.Fatalf("last event = %s v%d, want ticket.updated v2", last.Type, last.Ticket.Version)
			}
			if diff := cmp.Diff(got, last.Ticket); diff != "" {
				t.Errorf("event ticket (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]ticket.Change{{Field: "subject", Old: orig.Subject, New: "new subject"}}, last.Changes); diff != "" {
				t.Errorf("event changes (-want +got):\n%s", diff)
			}
			if !last.CreateTime.Equal(got.UpdateTime) {
				t.Errorf("event time %v, want the update time %v", last.CreateTime, got.UpdateTime)
			}
		})

		t.Run("no changes writes nothing", func(t *testing.T) {
			cur, _ := s.GetTicket(ctx, "acme", orig.ID)
			n := len(allEvents(t, s, "acme"))
			got, err := s.UpdateTicket(ctx, "acme", orig.ID, func(tk *ticket.Ticket) ([]ticket.Change, error) {
				tk.Description = "edited but not reported" // no changes reported: not kept
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cur, got); diff != "" {
				t.Errorf("UpdateTicket without changes returned (-want +got):\n%s", diff)
			}
			read, _ := s.GetTicket(ctx, "acme", orig.ID)
			if diff := cmp.Diff(cur, read); diff != "" {
				t.Errorf("ticket after an update without changes (-want +got):\n%s", diff)
			}
			if m := len(allEvents(t, s, "acme")); m != n {
				t.Errorf("events = %d, want %d (none written)", m, n)
			}
		})

		t.Run("mutate error rolls back", func(t *testing.T) {
			cur, _ := s.GetTicket(ctx, "acme", orig.ID)
			n := len(allEvents(t, s, "acme"))
			boom := errors.New("etag mismatch")
			_, err := s.UpdateTicket(ctx, "acme", orig.ID, func(tk *ticket.Ticket) ([]ticket.Change, error) {
				tk.Subject = "half"
				return []ticket.Change{{Field: "subject"}}, boom
			})
			// As is: a gRPC status from the server's mutation must reach
			// the client with its message unchanged.
			if !errors.Is(err, boom) || err.Error() != boom.Error() {
				t.Errorf("UpdateTicket = %v, want mutate's error as is", err)
			}
			read, _ := s.GetTicket(ctx, "acme", orig.ID)
			if diff := cmp.Diff(cur, read); diff != "" {
				t.Errorf("ticket after a failed mutate (-want +got):\n%s", diff)
			}
			if m := len(allEvents(t, s, "acme")); m != n {
				t.Errorf("events = %d, want %d (none written)", m, n)
			}
		})
	})
}

func TestConcurrentUpdatesKeepEveryChange(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		tk := create(t, s, fixture("acme", 1))
		const writers = 10
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				_, err := s.UpdateTicket(ctx, "acme", tk.ID, func(t *ticket.Ticket) ([]ticket.Change, error) {
					t.CustomFields[fmt.Sprintf("w%d", w)] = "x" // lost if two writers read the same version
					return []ticket.Change{{Field: "custom_fields"}}, nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := s.GetTicket(ctx, "acme", tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 1+writers || len(got.CustomFields) != 1+writers {
			t.Errorf("after %d concurrent updates: version %d, %d custom fields; want %d and %d",
				writers, got.Version, len(got.CustomFields), 1+writers, 1+writers)
		}
	})
}

func newComment(tk ticket.Ticket, n int) ticket.Comment {
	return ticket.Comment{ID: id(1000 + n), Tenant: tk.Tenant, TicketID: tk.ID, Author: "agent " + strconv.Itoa(n),
		AuthorType: ticket.AuthorAgent, Body: "reply " + strconv.Itoa(n), Visibility: ticket.VisibilityPublic,
		CreateTime: base.Add(time.Duration(n) * time.Second)}
}

func TestComments(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		tk := create(t, s, fixture("acme", 0)) // status new
		other := create(t, s, fixture("acme", 1))
		open := func(t *ticket.Ticket) ([]ticket.Change, error) {
			if t.Status == ticket.StatusOpen {
				return nil, nil
			}
			ch := ticket.Change{Field: "status", Old: t.Status, New: ticket.StatusOpen}
			t.Status = ticket.StatusOpen
			return []ticket.Change{ch}, nil
		}

		var want []ticket.Comment
		for i := range 7 {
			c := newComment(tk, i)
			got, created, err := s.AddComment(ctx, c, ticket.Idempotency{}, open)
			if err != nil || !created {
				t.Fatalf("AddComment = created %v, %v", created, err)
			}
			if diff := cmp.Diff(storedComment(c), got); diff != "" {
				t.Errorf("AddComment returned (-want +got):\n%s", diff)
			}
			want = append(want, storedComment(c))
		}
		if _, _, err := s.AddComment(ctx, newComment(other, 100), ticket.Idempotency{}, nil); err != nil {
			t.Fatal(err)
		}

		t.Run("ticket bumped and event written", func(t *testing.T) {
			got, _ := s.GetTicket(ctx, "acme", tk.ID)
			if got.Version != 8 || got.Status != ticket.StatusOpen {
				t.Errorf("ticket after 7 comments: version %d status %s; want 8, open", got.Version, got.Status)
			}
			events := allEvents(t, s, "acme")
			var comments []ticket.Event
			for _, e := range events {
				if e.Type == ticket.EventCommentAdded && e.TicketID == tk.ID {
					comments = append(comments, e)
				}
			}
			if len(comments) != 7 {
				t.Fatalf("comment events = %d, want 7", len(comments))
			}
			first := comments[0]
			if diff := cmp.Diff(&want[0], first.Comment); diff != "" {
				t.Errorf("event comment (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]ticket.Change{{Field: "status", Old: ticket.StatusNew, New: ticket.StatusOpen}}, first.Changes); diff != "" {
				t.Errorf("event changes (-want +got):\n%s", diff)
			}
			if first.Ticket.Version != 2 || first.Ticket.Status != ticket.StatusOpen {
				t.Errorf("event ticket: version %d status %s; want 2, open", first.Ticket.Version, first.Ticket.Status)
			}
			if comments[1].Changes != nil {
				t.Errorf("second comment's changes = %v, want none", comments[1].Changes)
			}
		})

		t.Run("pages", func(t *testing.T) {
			var got []ticket.Comment
			after := ""
			for {
				page, err := s.ListComments(ctx, "acme", tk.ID, after, 3)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if len(page) < 3 {
					break
				}
				after = page[len(page)-1].ID
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
		})

		t.Run("ticket without comments", func(t *testing.T) {
			fresh := create(t, s, fixture("acme", 2))
			got, err := s.ListComments(ctx, "acme", fresh.ID, "", 10)
			if err != nil || len(got) != 0 {
				t.Errorf("ListComments = %v, %v; want an empty page", got, err)
			}
		})

		t.Run("mutate error rolls back", func(t *testing.T) {
			before, _ := s.GetTicket(ctx, "acme", tk.ID)
			n := len(allEvents(t, s, "acme"))
			closed := errors.New("ticket is closed")
			_, _, err := s.AddComment(ctx, newComment(tk, 50), ticket.Idempotency{Key: "c-fail", RequestHash: "h"},
				func(*ticket.Ticket) ([]ticket.Change, error) { return nil, closed })
			if !errors.Is(err, closed) || err.Error() != closed.Error() {
				t.Errorf("AddComment = %v, want mutate's error as is", err)
			}
			after, _ := s.GetTicket(ctx, "acme", tk.ID)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("ticket changed (-before +after):\n%s", diff)
			}
			comments, _ := s.ListComments(ctx, "acme", tk.ID, "", 100)
			if len(comments) != 7 {
				t.Errorf("comments = %d, want 7", len(comments))
			}
			if m := len(allEvents(t, s, "acme")); m != n {
				t.Errorf("events = %d, want %d", m, n)
			}
			// The key was rolled back too: a retry is a new request.
			if _, created, err := s.AddComment(ctx, newComment(tk, 50), ticket.Idempotency{Key: "c-fail", RequestHash: "h"}, nil); err != nil || !created {
				t.Errorf("retry after a failed mutate = created %v, %v; want created", created, err)
			}
		})

		t.Run("limit must be positive", func(t *testing.T) {
			if _, err := s.ListComments(ctx, "acme", tk.ID, "", 0); err == nil {
				t.Error("ListComments with limit 0 succeeded")
			}
		})
	})
}

func TestIdempotentCreate(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		key := ticket.Idempotency{Key: "req-1", RequestHash: "hash-1"}
		first, created, err := s.CreateTicket(ctx, fixture("acme", 1), key)
		if err != nil || !created {
			t.Fatalf("first create = created %v, %v", created, err)
		}
		// A retry carries a new ID (the server makes one per call): it
		// must get the first ticket back.
		again, created, err := s.CreateTicket(ctx, fixture("acme", 2), key)
		if err != nil || created {
			t.Fatalf("retry = created %v, %v; want the first ticket", created, err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("retry returned (-first +retry):\n%s", diff)
		}
		_, _, err = s.CreateTicket(ctx, fixture("acme", 3), ticket.Idempotency{Key: "req-1", RequestHash: "hash-2"})
		if !errors.Is(err, ticket.ErrIdempotencyMismatch) {
			t.Errorf("reuse with another request: err = %v, want ErrIdempotencyMismatch", err)
		}
		// A comment cannot reuse a ticket's key, whatever its hash.
		_, _, err = s.AddComment(ctx, newComment(first, 1), key, nil)
		if !errors.Is(err, ticket.ErrIdempotencyMismatch) {
			t.Errorf("comment reusing a ticket's key: err = %v, want ErrIdempotencyMismatch", err)
		}
		if ids := listAll(t, s, "acme", ticket.Filter{}, 10); len(ids) != 1 {
			t.Errorf("tickets = %v, want only the first", ids)
		}
		if n := len(allEvents(t, s, "acme")); n != 1 {
			t.Errorf("events = %d, want 1", n)
		}
	})
}

// TestDeleteIdempotencyKeys: keys of any tenant recorded before the
// instant go, oldest first, at most limit per call; a removed key creates
// anew, a kept one still returns the first result.
func TestDeleteIdempotencyKeys(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		var first []ticket.Ticket
		for n := 1; n <= 5; n++ {
			tenant := "acme"
			if n == 2 {
				tenant = "beta"
			}
			got, _, err := s.CreateTicket(ctx, fixture(tenant, n), ticket.Idempotency{Key: "k" + strconv.Itoa(n), RequestHash: "h"})
			if err != nil {
				t.Fatal(err)
			}
			first = append(first, got)
		}
		// Keys 1 to 3 were recorded before ticket 4's creation; key 4 at
		// that very instant stays.
		before := fixture("acme", 4).CreateTime
		var deleted []int
		for {
			n, err := s.DeleteIdempotencyKeys(ctx, before, 2)
			if err != nil {
				t.Fatal(err)
			}
			deleted = append(deleted, n)
			if n < 2 {
				break
			}
		}
		if !slices.Equal(deleted, []int{2, 1}) {
			t.Errorf("deleted per batch of 2 = %v, want [2 1]", deleted)
		}
		for n := 1; n <= 5; n++ {
			tenant := first[n-1].Tenant
			got, created, err := s.CreateTicket(ctx, fixture(tenant, 10+n), ticket.Idempotency{Key: "k" + strconv.Itoa(n), RequestHash: "h"})
			switch {
			case err != nil:
				t.Errorf("retry with key k%d: %v", n, err)
			case n <= 3 && (!created || got.ID != id(10+n)):
				t.Errorf("retry with the removed key k%d = %s, created %v; want a new ticket", n, got.ID, created)
			case n > 3 && (created || got.ID != first[n-1].ID):
				t.Errorf("retry with the kept key k%d = %s, created %v; want the first ticket %s", n, got.ID, created, first[n-1].ID)
			}
		}
		if _, err := s.DeleteIdempotencyKeys(ctx, before, 0); err == nil {
			t.Error("limit 0 accepted")
		}
	})
}

// TestIdempotencyKeyWindow runs the ticket service's janitor on an
// injected clock: a retry within the TTL returns the first ticket, even
// right after a sweep at its very end; once the TTL has passed a sweep
// removes the key (in batches) and the retry creates a new ticket.
func TestIdempotencyKeyWindow(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		t0 := base.UTC().Truncate(time.Microsecond)
		clock := t0
		const ttl = time.Hour
		srv := ticket.NewServer(s, ticket.Config{IdempotencyKeyTTL: config.Duration(ttl), IdempotencyKeyBatch: 2, Now: func() time.Time { return clock }},
			slog.New(slog.DiscardHandler))
		tctx := tenant.With(ctx, "acme")
		createWith := func(key string) string {
			t.Helper()
			resp, err := srv.CreateTicket(tctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "打印机坏了"}, RequestId: key})
			if err != nil {
				t.Fatalf("create with key %s: %v", key, err)
			}
			return resp.GetTicket().GetId()
		}
		sweep := func() int {
			t.Helper()
			n, err := srv.SweepIdempotencyKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		first := createWith("retry-me")
		for i := range 4 { // more keys than a batch holds
			createWith("other-" + strconv.Itoa(i))
		}

		for _, tc := range []struct {
			name    string
			at      time.Time
			deleted int
			same    bool
		}{
			{"within the window", t0.Add(ttl / 2), 0, true},
			{"at its end", t0.Add(ttl), 0, true},
			{"past it", t0.Add(ttl + time.Microsecond), 5, false},
		} {
			clock = tc.at
			if n := sweep(); n != tc.deleted {
				t.Errorf("%s: the sweep deleted %d keys, want %d", tc.name, n, tc.deleted)
			}
			if got := createWith("retry-me"); (got == first) != tc.same {
				t.Errorf("%s: retry returned %s (first %s); want the first ticket: %v", tc.name, got, first, tc.same)
			}
		}
		// The new ticket's key is the one kept now.
		clock = t0.Add(ttl + time.Minute)
		if n := sweep(); n != 0 {
			t.Errorf("a sweep right after deleted %d keys, want 0", n)
		}
	})
}

func TestIdempotentCreateConcurrent(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		const callers = 20
		key := ticket.Idempotency{Key: "burst", RequestHash: "h"}
		type result struct {
			id      string
			created bool
			err     error
		}
		results := make([]result, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				got, created, err := s.CreateTicket(ctx, fixture("acme", i), key)
				results[i] = result{got.ID, created, err}
			})
		}
		close(start)
		wg.Wait()
		createdN := 0
		ids := map[string]bool{}
		for _, r := range results {
			if r.err != nil {
				t.Fatalf("CreateTicket: %v", r.err)
			}
			if r.created {
				createdN++
			}
			ids[r.id] = true
		}
		if createdN != 1 || len(ids) != 1 {
			t.Errorf("%d concurrent creates with one key: %d created, %d distinct tickets returned; want 1 and 1", callers, createdN, len(ids))
		}
		if got := listAll(t, s, "acme", ticket.Filter{}, 100); len(got) != 1 {
			t.Errorf("tickets stored = %d, want 1", len(got))
		}
		if n := len(allEvents(t, s, "acme")); n != 1 {
			t.Errorf("events = %d, want 1", n)
		}
	})
}

func TestIdempotentComment(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		tk := create(t, s, fixture("acme", 1))
		key := ticket.Idempotency{Key: "c-1", RequestHash: "h"}
		first, created, err := s.AddComment(ctx, newComment(tk, 1), key, nil)
		if err != nil || !created {
			t.Fatalf("first comment = created %v, %v", created, err)
		}
		mutated := false
		again, created, err := s.AddComment(ctx, newComment(tk, 2), key, func(*ticket.Ticket) ([]ticket.Change, error) {
			mutated = true
			return nil, nil
		})
		if err != nil || created {
			t.Fatalf("retry = created %v, %v; want the first comment", created, err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("retry returned (-first +retry):\n%s", diff)
		}
		if mutated {
			t.Error("a replayed comment ran its mutation")
		}
		_, _, err = s.AddComment(ctx, newComment(tk, 3), ticket.Idempotency{Key: "c-1", RequestHash: "other"}, nil)
		if !errors.Is(err, ticket.ErrIdempotencyMismatch) {
			t.Errorf("reuse with another request: err = %v, want ErrIdempotencyMismatch", err)
		}

		// Concurrent retries of one new comment.
		const callers = 20
		burst := ticket.Idempotency{Key: "c-burst", RequestHash: "h"}
		var wg sync.WaitGroup
		var mu sync.Mutex
		createdN, ids := 0, map[string]bool{}
		for i := range callers {
			wg.Go(func() {
				got, created, err := s.AddComment(ctx, newComment(tk, 10+i), burst, nil)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("AddComment: %v", err)
				}
				if created {
					createdN++
				}
				ids[got.ID] = true
			})
		}
		wg.Wait()
		if createdN != 1 || len(ids) != 1 {
			t.Errorf("%d concurrent comments with one key: %d created, %d distinct comments returned; want 1 and 1", callers, createdN, len(ids))
		}
		comments, err := s.ListComments(ctx, "acme", tk.ID, "", 100)
		if err != nil || len(comments) != 2 {
			t.Errorf("comments = %d, %v; want 2", len(comments), err)
		}
		got, _ := s.GetTicket(ctx, "acme", tk.ID)
		if got.Version != 3 {
			t.Errorf("ticket version = %d, want 3 (one bump per stored comment)", got.Version)
		}
	})
}

func TestEvents(t *testing.T) {
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Fresh(t)(t)
			tk := create(t, s, fixture("acme", 1))
			if _, err := s.UpdateTicket(ctx, "acme", tk.ID, setSubject("v2")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.AddComment(ctx, newComment(tk, 1), ticket.Idempotency{}, nil); err != nil {
				t.Fatal(err)
			}
			create(t, s, fixture("other", 1))

			all, err := s.ListEvents(ctx, "acme", "", 10)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"ticket.created " + tk.ID + " v1",
				"ticket.updated " + tk.ID + " v2",
				"comment.added " + tk.ID + " v3",
			}
			if diff := cmp.Diff(want, eventTypes(all)); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
			t.Run("resume after each cursor", func(t *testing.T) {
				for i, ev := range all {
					rest, err := s.ListEvents(ctx, "acme", ev.Cursor, 10)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want[i+1:], eventTypes(rest)); diff != "" {
						t.Errorf("after %s (-want +got):\n%s", ev.Cursor, diff)
					}
				}
			})
			t.Run("limit", func(t *testing.T) {
				page, err := s.ListEvents(ctx, "acme", "", 2)
				if err != nil || len(page) != 2 {
					t.Errorf("ListEvents limit 2 = %d events, %v", len(page), err)
				}
				if _, err := s.ListEvents(ctx, "acme", "", 0); err == nil {
					t.Error("ListEvents with limit 0 succeeded")
				}
			})
			t.Run("invalid cursors", func(t *testing.T) {
				foreign := map[string]string{"sqlite": "p1:1234:5", "postgres": "s1:5"}[e.Name]
				for _, c := range []string{"garbage", "s1:", "s1:x", "s1:-1", "s1:0", "s1:007", "p1:12", "p1:1:2:3", "p1:x:1", "s1:99999999999999999999", " s1:1", foreign} {
					if _, err := s.ListEvents(ctx, "acme", c, 10); !errors.Is(err, ticket.ErrInvalidCursor) {
						t.Errorf("ListEvents(%q): err = %v, want ErrInvalidCursor", c, err)
					}
				}
			})
		})
	}
}

// TestEventStreamUnderConcurrency is the outbox's main promise: a reader
// resuming from its last cursor while many writers commit sees every event
// exactly once, and each ticket's events in version order.
func TestEventStreamUnderConcurrency(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		const (
			writers   = 8
			perWriter = 25
		)
		// Some tickets every writer updates, so their updates contend.
		var shared []ticket.Ticket
		for i := range 3 {
			shared = append(shared, create(t, s, fixture("acme", i)))
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					var err error
					switch i % 3 {
					case 0:
						tk := fixture("acme", 0)
						tk.ID = uuid.Must(uuid.NewV7()).String()
						_, _, err = s.CreateTicket(ctx, tk, ticket.Idempotency{})
					case 1:
						_, err = s.UpdateTicket(ctx, "acme", shared[(w+i)%len(shared)].ID, setSubject(fmt.Sprintf("w%d i%d", w, i)))
					default:
						c := newComment(shared[(w+i)%len(shared)], 0)
						c.ID = uuid.Must(uuid.NewV7()).String()
						_, _, err = s.AddComment(ctx, c, ticket.Idempotency{}, nil)
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		go func() { wg.Wait(); close(done) }()
		defer func() { <-done }() // writers finish before the store closes

		const total = 3 + writers*perWriter // the shared creates, then one event per write
		seen := map[string]bool{}
		lastVersion := map[string]int64{}
		cursor := ""
		n := 0
		deadline := time.After(2 * time.Minute)
		for n < total {
			page, err := s.ListEvents(ctx, "acme", cursor, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				key := fmt.Sprintf("%s v%d", e.TicketID, e.Ticket.Version)
				if seen[key] {
					t.Fatalf("event %s (%s) seen twice", key, e.Cursor)
				}
				seen[key] = true
				if want := lastVersion[e.TicketID] + 1; e.Ticket.Version != want {
					t.Fatalf("ticket %s: event for version %d after version %d; want %d", e.TicketID, e.Ticket.Version, lastVersion[e.TicketID], want)
				}
				lastVersion[e.TicketID] = e.Ticket.Version
				cursor = e.Cursor
				n++
			}
			if len(page) > 0 {
				continue
			}
			select {
			case <-done:
				if t.Failed() {
					return // a writer failed; its error says why
				}
			case <-deadline:
				t.Fatalf("timed out with %d of %d events seen", n, total)
			case <-time.After(time.Millisecond):
			}
		}
		<-done
		if extra, _ := s.ListEvents(ctx, "acme", cursor, 10); len(extra) != 0 {
			t.Errorf("%d events after the last expected one", len(extra))
		}
	})
}

func TestSubscribe(t *testing.T) {
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			connect := e.Fresh(t)
			s := connect(t)
			notify, cancel := s.Subscribe("acme")
			defer cancel()
			otherNotify, cancelOther := s.Subscribe("other")
			defer cancelOther()

			create(t, s, fixture("acme", 1))
			waitFor(t, notify, "a commit in this process")
			drain(otherNotify)
			if received(otherNotify) {
				t.Error("a subscriber of another tenant was woken")
			}

			if e.Name == "postgres" { // LISTEN/NOTIFY reaches other processes; SQLite's notes stay in one
				second := connect(t)
				// The second store's LISTEN may not be up yet: write until
				// its subscriber hears one.
				n2, cancel2 := second.Subscribe("acme")
				defer cancel2()
				deadline := time.Now().Add(20 * time.Second)
				for i := 2; ; i++ {
					create(t, s, fixture("acme", i))
					select {
					case <-n2:
						return
					case <-time.After(200 * time.Millisecond):
					}
					if time.Now().After(deadline) {
						t.Fatal("a store in another process was not woken by a commit")
					}
				}
			}
		})
	}
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("not woken by %s", what)
	}
}

func received(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(100 * time.Millisecond):
		return false
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestReopen: the migrations run on every open and change nothing the
// second time; the data is still there.
func TestReopen(t *testing.T) {
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			connect := e.Fresh(t)
			first := connect(t)
			tk := create(t, first, fixture("acme", 1))
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			second := connect(t)
			got, err := second.GetTicket(ctx, "acme", tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tk, got); diff != "" {
				t.Errorf("ticket after reopening (-want +got):\n%s", diff)
			}
			if err := second.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
			// Both open at once, as two replicas.
			third := connect(t)
			create(t, third, fixture("acme", 2))
			if ids := listAll(t, second, "acme", ticket.Filter{}, 10); len(ids) != 2 {
				t.Errorf("tickets seen by the second store = %v, want 2", ids)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	pgtest.CheckOpen(t, cluster, Open, "ticket.db",
		func(s ticket.Store) bool { _, ok := s.(*SQLite); return ok },
		func(s ticket.Store) bool { _, ok := s.(*Postgres); return ok })
}

// digest makes the n-th test SHA-256 digest (hex).
func digest(n int) string { return fmt.Sprintf("%064x", n) }
