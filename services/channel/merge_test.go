package channel_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// ticketFor opens a ticket requested by contact id in tid, in status st.
func (e *env) ticketFor(tid, contactID, subject string, st ticketv1.Status) *ticketv1.Ticket {
	e.t.Helper()
	r := &ticketv1.Requester{Name: "Li", Email: "li@acme.example", ContactId: contactID}
	ctx := tenant.Outgoing(e.t.Context(), tid)
	resp, err := e.tickets.CreateTicket(ctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: subject, Requester: r}})
	if err != nil {
		e.t.Fatalf("CreateTicket: %v", err)
	}
	tk := resp.GetTicket()
	for _, next := range map[ticketv1.Status][]ticketv1.Status{
		ticketv1.Status_STATUS_SOLVED: {ticketv1.Status_STATUS_SOLVED},
		ticketv1.Status_STATUS_CLOSED: {ticketv1.Status_STATUS_SOLVED, ticketv1.Status_STATUS_CLOSED},
	}[st] {
		u, err := e.tickets.UpdateTicket(ctx, &ticketv1.UpdateTicketRequest{
			Ticket: &ticketv1.Ticket{Id: tk.GetId(), Status: next}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status"}},
		})
		if err != nil {
			e.t.Fatalf("UpdateTicket(status %s): %v", next, err)
		}
		tk = u.GetTicket()
	}
	return tk
}

func contactOf(tk *ticketv1.Ticket) string { return tk.GetRequester().GetContactId() }

func TestMergeContact(t *testing.T) {
	e := newEnv(t)
	from := e.createContact(acme, &channelv1.Contact{DisplayName: "Old", Identities: []*channelv1.Identity{
		emailID("old@acme.example"), {Type: wechatType, Value: "oOld"}}})
	into := e.createContact(acme, &channelv1.Contact{DisplayName: "New", Identities: []*channelv1.Identity{emailID("new@acme.example")}})

	resp, err := e.srv.MergeContact(call(acme), &channelv1.MergeContactRequest{Id: from.GetId(), Into: into.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []*channelv1.Identity{emailID("new@acme.example"), emailID("old@acme.example"), {Type: wechatType, Value: "oOld"}}
	if diff := cmp.Diff(wantIDs, resp.GetContact().GetIdentities(), protocmp.Transform()); diff != "" {
		t.Errorf("surviving contact's identities (-want +got):\n%s", diff)
	}
	merged, err := e.srv.GetContact(call(acme), &channelv1.GetContactRequest{Id: from.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if m := merged.GetContact(); m.GetMergedInto() != into.GetId() || m.GetDisplayName() != "Old" || len(m.GetIdentities()) != 0 {
		t.Errorf("merged contact = %v, want it readable, merged into %s", m, into.GetId())
	}
	_, err = e.srv.UpdateContact(call(acme), &channelv1.UpdateContactRequest{
		Contact: &channelv1.Contact{Id: from.GetId(), DisplayName: "x"}, UpdateMask: mask("display_name")})
	wantStatus(t, err, codes.FailedPrecondition, fmt.Sprintf("contact %s was merged into %s", from.GetId(), into.GetId()))

	audit, err := e.srv.ListContactAuditEvents(call(acme), &channelv1.ListContactAuditEventsRequest{Id: into.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if evs := audit.GetAuditEvents(); len(evs) != 1 || evs[0].GetType() != channelv1.ContactAuditEventType_CONTACT_AUDIT_EVENT_TYPE_MERGED_FROM ||
		evs[0].GetOtherContactId() != from.GetId() || evs[0].GetActor().GetId() != "user-ana" || len(evs[0].GetIdentities()) != 2 {
		t.Errorf("audit of the surviving contact = %v", evs)
	}

	third := e.createContact(acme, &channelv1.Contact{})
	for _, tc := range []struct {
		name     string
		from, to string
		tid      string
		code     codes.Code
		msg      string
	}{
		{"into itself", third.GetId(), third.GetId(), acme, codes.InvalidArgument,
			fmt.Sprintf("into: %q is the contact being merged; accepted: the id of another contact", third.GetId())},
		{"into a merged contact", third.GetId(), from.GetId(), acme, codes.FailedPrecondition,
			fmt.Sprintf("into: contact %s was merged into %s; accepted: a contact that is not merged (merge into %s instead)", from.GetId(), into.GetId(), into.GetId())},
		{"a merged contact elsewhere", from.GetId(), third.GetId(), acme, codes.FailedPrecondition,
			fmt.Sprintf("contact %s was merged into %s; it cannot be merged again", from.GetId(), into.GetId())},
		{"unknown into", third.GetId(), "nope", acme, codes.NotFound, `into: contact "nope" not found`},
		{"another tenant's", third.GetId(), into.GetId(), globex, codes.NotFound, fmt.Sprintf("contact %q not found", third.GetId())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.srv.MergeContact(call(tc.tid), &channelv1.MergeContactRequest{Id: tc.from, Into: tc.to})
			wantStatus(t, err, tc.code, tc.msg)
		})
	}
}

func TestMergeMovesTickets(t *testing.T) {
	e := newEnv(t)
	from := e.createContact(acme, &channelv1.Contact{Identities: []*channelv1.Identity{emailID("old@acme.example")}})
	into := e.createContact(acme, &channelv1.Contact{Identities: []*channelv1.Identity{emailID("new@acme.example")}})
	var open []*ticketv1.Ticket
	for i := range 3 {
		open = append(open, e.ticketFor(acme, from.GetId(), fmt.Sprintf("open %d", i), ticketv1.Status_STATUS_NEW))
	}
	solved := e.ticketFor(acme, from.GetId(), "solved", ticketv1.Status_STATUS_SOLVED)
	closed := e.ticketFor(acme, from.GetId(), "closed", ticketv1.Status_STATUS_CLOSED)
	mine := e.ticketFor(acme, into.GetId(), "into's own", ticketv1.Status_STATUS_NEW)

	if _, err := e.srv.MergeContact(call(acme), &channelv1.MergeContactRequest{Id: from.GetId(), Into: into.GetId()}); err != nil {
		t.Fatal(err)
	}
	ctx := tenant.Outgoing(t.Context(), acme)
	for _, tk := range append(open, solved, mine) {
		got, err := e.tickets.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: tk.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if contactOf(got.GetTicket()) != into.GetId() || got.GetTicket().GetRequester().GetEmail() != "li@acme.example" {
			t.Errorf("ticket %q requester = %v, want contact %s with its email kept", tk.GetSubject(), got.GetTicket().GetRequester(), into.GetId())
		}
	}
	got, _ := e.tickets.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: closed.GetId()})
	if contactOf(got.GetTicket()) != from.GetId() {
		t.Errorf("closed ticket moved to %s; a closed ticket cannot change", contactOf(got.GetTicket()))
	}
	for _, id := range []string{from.GetId(), into.GetId()} {
		audit, err := e.srv.ListContactAuditEvents(call(acme), &channelv1.ListContactAuditEventsRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		if n := audit.GetAuditEvents()[0].GetTicketsMoved(); n != 4 {
			t.Errorf("audit of %s: %d tickets moved, want 4", id, n)
		}
	}
}

func TestContactSummary(t *testing.T) {
	e := newEnv(t)
	org := e.createOrg(acme, &channelv1.Organization{Name: "Acme"})
	c := e.createContact(acme, &channelv1.Contact{OrganizationId: org.GetId(), Identities: []*channelv1.Identity{emailID("li@acme.example")}})
	other := e.createContact(acme, &channelv1.Contact{})
	var opened []string
	for i := range 12 {
		st := ticketv1.Status_STATUS_NEW
		if i%3 == 0 {
			st = ticketv1.Status_STATUS_SOLVED
		}
		tk := e.ticketFor(acme, c.GetId(), fmt.Sprintf("t%d", i), st)
		if st == ticketv1.Status_STATUS_NEW {
			opened = append([]string{tk.GetId()}, opened...)
		}
	}
	e.ticketFor(acme, other.GetId(), "not mine", ticketv1.Status_STATUS_NEW)
	resp, err := e.srv.GetContactSummary(call(acme), &channelv1.GetContactSummaryRequest{Id: c.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	sum := resp.GetSummary()
	var gotOpen []string
	for _, tk := range sum.GetOpenTickets() {
		gotOpen = append(gotOpen, tk.GetId())
	}
	if diff := cmp.Diff(opened, gotOpen); diff != "" {
		t.Errorf("open tickets, newest first (-want +got):\n%s", diff)
	}
	if len(sum.GetRecentTickets()) != 10 || sum.GetRecentTickets()[0].GetSubject() != "t11" {
		t.Errorf("recent tickets: %d, first %q; want 10, t11 first", len(sum.GetRecentTickets()), sum.GetRecentTickets()[0].GetSubject())
	}
	if sum.GetOpenCount() != 8 || sum.GetSlaBreaches() != 0 || sum.GetOrganization().GetId() != org.GetId() || sum.GetContact().GetId() != c.GetId() {
		t.Errorf("summary: open %d, breaches %d, organization %q; want 8, 0, %s", sum.GetOpenCount(), sum.GetSlaBreaches(), sum.GetOrganization().GetId(), org.GetId())
	}
	_, err = e.srv.GetContactSummary(call(globex), &channelv1.GetContactSummaryRequest{Id: c.GetId()})
	wantStatus(t, err, codes.NotFound, fmt.Sprintf("contact %q not found", c.GetId()))
}
