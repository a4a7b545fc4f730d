package store

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/ticket"
)

// TestAttachments: the attachments of a ticket's description and of its
// comments are written with them and read back in order with the ticket
// (Get, List, events) and the comment (ListComments, events); GetAttachment
// finds each within its ticket, with the visibility of its comment.
func TestAttachments(t *testing.T) {
	contract(t, func(t *testing.T, s ticket.Store) {
		tk := fixture("acme", 1)
		tk.Attachments = []ticket.Attachment{
			{ID: id(101), Filename: "screenshot.png", ContentType: "image/png", Size: 2048, SHA256: digest(1), Inline: true, ContentID: "img1@example.com"},
			{ID: id(100), Filename: "log.txt", Size: 10, SHA256: digest(2)}, // no content type; an ID sorting first
		}
		want := stored(tk)
		want.Number = 1
		want.Attachments = []ticket.Attachment{tk.Attachments[0], tk.Attachments[1]}
		want.Attachments[1].ContentType = ticket.DefaultContentType
		if got := create(t, s, tk); !cmp.Equal(want.Attachments, got.Attachments) {
			t.Errorf("CreateTicket returned attachments %v, want %v", got.Attachments, want.Attachments)
		}
		read, err := s.GetTicket(ctx, "acme", tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, read); diff != "" {
			t.Errorf("GetTicket (-want +got):\n%s", diff)
		}
		page, err := s.ListTickets(ctx, "acme", ticket.ListQuery{Limit: 10})
		if err != nil || len(page) != 1 {
			t.Fatalf("ListTickets = %v, %v", page, err)
		}
		if diff := cmp.Diff(want.Attachments, page[0].Attachments); diff != "" {
			t.Errorf("ListTickets attachments (-want +got):\n%s", diff)
		}

		note := ticket.Comment{ID: id(200), Tenant: "acme", TicketID: tk.ID, Author: "ana", AuthorType: ticket.AuthorAgent,
			Body: "see the trace", Visibility: ticket.VisibilityInternal, CreateTime: base,
			Attachments: []ticket.Attachment{{ID: id(201), Filename: "trace.html", ContentType: "text/html", Size: 5, SHA256: digest(3)}}}
		reply := ticket.Comment{ID: id(202), Tenant: "acme", TicketID: tk.ID, Author: "ana", AuthorType: ticket.AuthorAgent,
			Body: "fixed", Visibility: ticket.VisibilityPublic, CreateTime: base}
		for _, c := range []ticket.Comment{note, reply} {
			if _, _, err := s.AddComment(ctx, c, ticket.Idempotency{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		comments, err := s.ListComments(ctx, "acme", tk.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]ticket.Comment{storedComment(note), storedComment(reply)}, comments); diff != "" {
			t.Errorf("ListComments (-want +got):\n%s", diff)
		}

		events := allEvents(t, s, "acme")
		if len(events) != 3 {
			t.Fatalf("events = %v, want created and two comments", eventTypes(events))
		}
		if diff := cmp.Diff(want.Attachments, events[0].Ticket.Attachments); diff != "" {
			t.Errorf("ticket.created event's attachments (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(note.Attachments, events[1].Comment.Attachments); diff != "" {
			t.Errorf("comment.added event's attachments (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want.Attachments, events[2].Ticket.Attachments); diff != "" {
			t.Errorf("a later event's ticket lost its attachments (-want +got):\n%s", diff)
		}

		for _, tt := range []struct {
			ticketID, id string
			want         ticket.AttachmentRef
		}{
			{tk.ID, id(100), ticket.AttachmentRef{Attachment: want.Attachments[1]}},
			{tk.ID, id(201), ticket.AttachmentRef{Attachment: note.Attachments[0], CommentID: note.ID, Visibility: ticket.VisibilityInternal}},
		} {
			got, err := s.GetAttachment(ctx, "acme", tt.ticketID, tt.id)
			if err != nil {
				t.Fatalf("GetAttachment(%s): %v", tt.id, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GetAttachment(%s) (-want +got):\n%s", tt.id, diff)
			}
		}
		create(t, s, fixture("acme", 2))
		for _, tt := range []struct{ tenant, ticketID, id string }{
			{"acme", tk.ID, id(999)},   // no such attachment
			{"acme", id(2), id(100)},   // another ticket's
			{"globex", tk.ID, id(100)}, // another tenant's
		} {
			if _, err := s.GetAttachment(ctx, tt.tenant, tt.ticketID, tt.id); !errors.Is(err, ticket.ErrNotFound) {
				t.Errorf("GetAttachment(%s, %s, %s) = %v, want ErrNotFound", tt.tenant, tt.ticketID, tt.id, err)
			}
		}
	})
}
