package ticket_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/blob"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// blobFixture is a ticket server with a filesystem blob store, served
// over gRPC with the test principals, and its clients.
type blobFixture struct {
	tickets ticketv1.TicketServiceClient
	blobs   ticketv1.TicketBlobServiceClient
	store   ticket.Store
	ctx     context.Context
}

func newBlobFixture(t *testing.T, cfg ticket.Config) *blobFixture {
	t.Helper()
	bs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	st := openSQLite(t)
	conn := serveServer(t, ticket.NewServer(st, cfg, slog.New(slog.DiscardHandler), ticket.WithBlobs(bs)), principalInterceptors()...)
	ctx, cancel := context.WithTimeout(tenant.Outgoing(context.Background(), "acme"), time.Minute)
	t.Cleanup(cancel)
	return &blobFixture{tickets: ticketv1.NewTicketServiceClient(conn), blobs: ticketv1.NewTicketBlobServiceClient(conn), store: st, ctx: ctx}
}

// as is the fixture's context as the named test principal.
func (f *blobFixture) as(who string) context.Context {
	return metadata.AppendToOutgoingContext(f.ctx, "test-principal", who)
}

// upload sends data in chunks of chunk bytes as who.
func (f *blobFixture) upload(who string, data []byte, chunk int) (*ticketv1.UploadBlobResponse, error) {
	stream, err := f.blobs.UploadBlob(f.as(who))
	if err != nil {
		return nil, err
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		if err := stream.Send(&ticketv1.UploadBlobRequest{Chunk: data[:n]}); err != nil {
			break // the server ended the call: CloseAndRecv has its status
		}
		data = data[n:]
	}
	return stream.CloseAndRecv()
}

// download reads an attachment's bytes as who, with the header metadata.
func (f *blobFixture) download(who, ticketID, attachmentID string) ([]byte, string, metadata.MD, error) {
	var header metadata.MD
	stream, err := f.tickets.GetAttachmentContent(f.as(who), &ticketv1.GetAttachmentContentRequest{
		TicketId: ticketID, AttachmentId: attachmentID}, grpc.Header(&header))
	if err != nil {
		return nil, "", nil, err
	}
	var (
		out         []byte
		contentType string
	)
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, contentType, header, nil
		}
		if err != nil {
			return nil, "", nil, err
		}
		if len(msg.GetData()) > 1<<20 {
			return nil, "", nil, errors.New("a chunk over 1 MiB")
		}
		if contentType == "" {
			contentType = msg.GetContentType()
		}
		out = append(out, msg.GetData()...)
	}
}

func hexDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestUploadBlob(t *testing.T) {
	f := newBlobFixture(t, ticket.Config{MaxAttachmentBytes: 3 << 20})
	data := bytes.Repeat([]byte("0123456789abcdef"), (5<<20)/32) // 2.5 MiB
	for _, who := range []string{"service", "integration"} {
		got, err := f.upload(who, data, 1<<20)
		if err != nil {
			t.Fatalf("UploadBlob as %s: %v", who, err)
		}
		if got.GetSha256() != hexDigest(data) || got.GetSize() != int64(len(data)) {
			t.Errorf("UploadBlob as %s = %s %d, want %s %d", who, got.GetSha256(), got.GetSize(), hexDigest(data), len(data))
		}
	}
	_, err := f.upload("service", make([]byte, 3<<20+1), 1<<20)
	want := "chunk: the upload is larger than ticket.maxAttachmentBytes; accepted: at most 3145728 bytes"
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != want {
		t.Errorf("an upload over the limit: %v; want InvalidArgument %q", err, want)
	}
	_, err = f.upload("service", make([]byte, 1<<20+1), 2<<20)
	want = "chunk: is 1048577 bytes; accepted: at most 1048576 bytes per message"
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != want {
		t.Errorf("a chunk over 1 MiB: %v; want InvalidArgument %q", err, want)
	}
	got, err := f.upload("service", nil, 1)
	if err != nil || got.GetSha256() != blob.EmptySHA256 || got.GetSize() != 0 {
		t.Errorf("an empty upload = %v, %v; want the empty digest", got, err)
	}
}

func TestAttachments(t *testing.T) {
	f := newBlobFixture(t, ticket.Config{})
	big := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n'}, (5<<20)/10) // 2.5 MiB of binary: three chunks
	html := []byte("<script>alert(1)</script>")
	png := []byte("\x89PNG\r\n\x1a\nnot really")
	for _, b := range [][]byte{big, html, png} {
		if _, err := f.upload("service", b, 1<<20); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("unknown digests are refused", func(t *testing.T) {
		_, err := f.tickets.CreateTicket(f.as("service"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "s",
			Attachments: []*ticketv1.Attachment{{Filename: "a.png", Sha256: hexDigest([]byte("never uploaded"))}}}})
		want := "ticket.attachments[0].sha256: no uploaded blob has this digest; upload it first"
		if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != want {
			t.Errorf("CreateTicket = %v; want InvalidArgument %q", err, want)
		}
	})

	created, err := f.tickets.CreateTicket(f.as("service"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{
		Subject: "printer on fire", Channel: ticketv1.Channel_CHANNEL_EMAIL,
		Requester: &ticketv1.Requester{Email: "wang@example.com", ContactId: "contact-wang"},
		Attachments: []*ticketv1.Attachment{
			{Filename: "dump.bin", Sha256: hexDigest(big)},
			{Filename: "photo.png", ContentType: "image/png", Sha256: hexDigest(png), Inline: true, ContentId: "p1@mail"},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tk := created.GetTicket()
	as := tk.GetAttachments()
	if len(as) != 2 || as[0].GetId() == "" || as[0].GetSize() != int64(len(big)) || as[0].GetContentType() != "application/octet-stream" ||
		as[1].GetContentType() != "image/png" || !as[1].GetInline() || as[1].GetContentId() != "p1@mail" {
		t.Fatalf("created attachments = %v", as)
	}
	if tk.GetNumber() != 1 || tk.GetRequester().GetContactId() != "contact-wang" {
		t.Errorf("created ticket number %d, contact %q; want 1 and contact-wang", tk.GetNumber(), tk.GetRequester().GetContactId())
	}

	t.Run("download", func(t *testing.T) {
		for _, tt := range []struct {
			who, id     string
			want        []byte
			contentType string
			disposition string
		}{
			{"service", as[0].GetId(), big, "application/octet-stream", `attachment; filename="dump.bin"; filename*=UTF-8''dump.bin`},
			{"customer", as[1].GetId(), png, "image/png", `inline; filename="photo.png"; filename*=UTF-8''photo.png`},
		} {
			got, contentType, header, err := f.download(tt.who, tk.GetId(), tt.id)
			if err != nil {
				t.Fatalf("download as %s: %v", tt.who, err)
			}
			if !bytes.Equal(got, tt.want) || contentType != tt.contentType {
				t.Errorf("download as %s: %d bytes of %s, want %d of %s", tt.who, len(got), contentType, len(tt.want), tt.contentType)
			}
			if d := header.Get("content-disposition"); len(d) != 1 || d[0] != tt.disposition {
				t.Errorf("content-disposition = %q, want %q", d, tt.disposition)
			}
			if n := header.Get("x-content-type-options"); len(n) != 1 || n[0] != "nosniff" {
				t.Errorf("x-content-type-options = %q, want nosniff", n)
			}
		}
	})

	// An internal note with the HTML file, and a public reply with it.
	_, err = f.tickets.AddComment(f.as("agent"), &ticketv1.AddCommentRequest{TicketId: tk.GetId(), Comment: &ticketv1.Comment{
		Body: "the page", Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL,
		Attachments: []*ticketv1.Attachment{{Filename: "page.html", ContentType: "text/html; charset=utf-8", Sha256: hexDigest(html)}}}})
	if err == nil {
		t.Fatal("an agent who cannot see the ticket commented on it")
	}
	note, err := f.tickets.AddComment(f.as("admin"), &ticketv1.AddCommentRequest{TicketId: tk.GetId(), Comment: &ticketv1.Comment{
		Body: "the page", Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL,
		Attachments: []*ticketv1.Attachment{{Filename: "page.html", ContentType: "text/html; charset=utf-8", Sha256: hexDigest(html)}}}})
	if err != nil {
		t.Fatal(err)
	}
	noteFile := note.GetComment().GetAttachments()[0]

	t.Run("comment attachments", func(t *testing.T) {
		_, err := f.tickets.AddComment(f.as("service"), &ticketv1.AddCommentRequest{TicketId: tk.GetId(), Comment: &ticketv1.Comment{
			Body: "x", Attachments: []*ticketv1.Attachment{{Filename: "a", Sha256: hexDigest(html)}, {Filename: "b", Sha256: hexDigest(nil)}}}})
		want := "comment.attachments[1].sha256: no uploaded blob has this digest; upload it first"
		if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != want {
			t.Errorf("AddComment = %v; want InvalidArgument %q", err, want)
		}
		listed, err := f.tickets.ListComments(f.as("admin"), &ticketv1.ListCommentsRequest{TicketId: tk.GetId()})
		if err != nil || len(listed.GetComments()) != 1 || len(listed.GetComments()[0].GetAttachments()) != 1 ||
			listed.GetComments()[0].GetAttachments()[0].GetId() != noteFile.GetId() {
			t.Errorf("ListComments = %v, %v; want the note with its file", listed.GetComments(), err)
		}
		got, contentType, header, err := f.download("admin", tk.GetId(), noteFile.GetId())
		if err != nil || !bytes.Equal(got, html) || contentType != "text/html; charset=utf-8" {
			t.Errorf("download of the HTML = %q %q, %v", got, contentType, err)
		}
		if d := header.Get("content-disposition"); len(d) != 1 || !strings.HasPrefix(d[0], "attachment;") {
			t.Errorf("HTML content-disposition = %q, want attachment", d)
		}
	})

	t.Run("who may download", func(t *testing.T) {
		for _, tt := range []struct{ who, ticketID, id, why string }{
			{"customer", tk.GetId(), noteFile.GetId(), "a customer, an internal note's file"},
			{"other customer", tk.GetId(), as[0].GetId(), "a customer, another's ticket"},
			{"agent", tk.GetId(), as[0].GetId(), "an agent, a ticket outside its groups"},
			{"admin", tk.GetId(), "no-such-attachment", "an unknown attachment"},
		} {
			if _, _, _, err := f.download(tt.who, tt.ticketID, tt.id); status.Code(err) != codes.NotFound {
				t.Errorf("%s: %v; want NotFound", tt.why, err)
			}
		}
	})

	t.Run("number and contact filters", func(t *testing.T) {
		for _, filter := range []string{"number = 1", "number = #1", "contact = contact-wang"} {
			resp, err := f.tickets.ListTickets(f.as("admin"), &ticketv1.ListTicketsRequest{Filter: filter})
			if err != nil || len(resp.GetTickets()) != 1 || resp.GetTickets()[0].GetId() != tk.GetId() ||
				len(resp.GetTickets()[0].GetAttachments()) != 2 {
				t.Errorf("ListTickets(%q) = %v, %v; want the ticket with its attachments", filter, resp.GetTickets(), err)
			}
		}
		upd, err := f.tickets.UpdateTicket(f.as("service"), &ticketv1.UpdateTicketRequest{
			Ticket:     &ticketv1.Ticket{Id: tk.GetId(), Requester: &ticketv1.Requester{Email: "wang@example.com", ContactId: "contact-2"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"requester"}},
		})
		if err != nil || upd.GetTicket().GetRequester().GetContactId() != "contact-2" || len(upd.GetTicket().GetAttachments()) != 2 {
			t.Errorf("UpdateTicket(requester) = %v, %v; want contact-2, attachments kept", upd.GetTicket(), err)
		}
		_, err = f.tickets.UpdateTicket(f.as("service"), &ticketv1.UpdateTicketRequest{
			Ticket:     &ticketv1.Ticket{Id: tk.GetId(), Attachments: []*ticketv1.Attachment{{Filename: "x", Sha256: hexDigest(html)}}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"attachments"}},
		})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("UpdateTicket(attachments) = %v; want InvalidArgument", err)
		}
	})
}

// TestCustomerReplyReopens: the mail channel (a service) relaying a
// customer's public reply reopens a solved ticket in the comment's
// transaction; its event carries the status change as an update's would.
// A closed ticket takes no comment.
func TestCustomerReplyReopens(t *testing.T) {
	f := newBlobFixture(t, ticket.Config{})
	created, err := f.tickets.CreateTicket(f.as("service"), &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{
		Subject: "s", Status: ticketv1.Status_STATUS_SOLVED}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetTicket().GetId()
	reply := &ticketv1.Comment{Author: "wang@example.com", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER, Body: "still broken"}
	if _, err := f.tickets.AddComment(f.as("service"), &ticketv1.AddCommentRequest{TicketId: id, Comment: reply}); err != nil {
		t.Fatal(err)
	}
	got, err := f.tickets.GetTicket(f.as("admin"), &ticketv1.GetTicketRequest{Id: id})
	if err != nil || got.GetTicket().GetStatus() != ticketv1.Status_STATUS_OPEN || got.GetTicket().GetSolveTime() != nil {
		t.Fatalf("after the reply: %v, %v; want open, unsolved", got.GetTicket(), err)
	}
	events, err := f.store.ListEvents(context.Background(), "acme", "", 10)
	if err != nil || len(events) != 2 {
		t.Fatalf("events = %v, %v", events, err)
	}
	e := ticket.EventToProto(events[1])
	if e.GetType() != ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED || len(e.GetChanges()) != 1 {
		t.Fatalf("event = %v; want comment.added with one change", e)
	}
	ch := e.GetChanges()[0]
	if ch.GetField() != "status" || ch.GetBefore().GetStringValue() != "solved" || ch.GetAfter().GetStringValue() != "open" {
		t.Errorf("change = %v; want status solved -> open", ch)
	}

	for _, st := range []ticketv1.Status{ticketv1.Status_STATUS_SOLVED, ticketv1.Status_STATUS_CLOSED} {
		if _, err := f.tickets.UpdateTicket(f.as("admin"), &ticketv1.UpdateTicketRequest{
			Ticket: &ticketv1.Ticket{Id: id, Status: st}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.tickets.AddComment(f.as("service"), &ticketv1.AddCommentRequest{TicketId: id, Comment: reply})
	want := `ticket_id: ticket "` + id + `" is closed and takes no more comments; open a follow-up ticket instead`
	if status.Code(err) != codes.FailedPrecondition || status.Convert(err).Message() != want {
		t.Errorf("a reply to a closed ticket: %v; want FailedPrecondition %q", err, want)
	}
}

func TestContentDisposition(t *testing.T) {
	for _, tt := range []struct{ filename, contentType, want string }{
		{"a.png", "image/png", `inline; filename="a.png"; filename*=UTF-8''a.png`},
		{"a.jpg", "IMAGE/JPEG", `inline; filename="a.jpg"; filename*=UTF-8''a.jpg`},
		{"a.webp", "image/webp", `inline; filename="a.webp"; filename*=UTF-8''a.webp`},
		{"a.gif", "image/gif; x=y", `inline; filename="a.gif"; filename*=UTF-8''a.gif`},
		{"x.svg", "image/svg+xml", `attachment; filename="x.svg"; filename*=UTF-8''x.svg`},
		{"page.html", "text/html", `attachment; filename="page.html"; filename*=UTF-8''page.html`},
		{"page.png", "text/html", `attachment; filename="page.png"; filename*=UTF-8''page.png`},
		{"x", "", `attachment; filename="x"; filename*=UTF-8''x`},
		{`报告 "final".pdf`, "application/pdf",
			`attachment; filename="__ _final_.pdf"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%20%22final%22.pdf`},
		{`a\b;c=d`, "text/plain", `attachment; filename="a_b;c=d"; filename*=UTF-8''a%5Cb%3Bc%3Dd`},
	} {
		if got := ticket.ContentDisposition(tt.filename, tt.contentType); got != tt.want {
			t.Errorf("ContentDisposition(%q, %q) = %s, want %s", tt.filename, tt.contentType, got, tt.want)
		}
	}
}

// FuzzContentDisposition: whatever the file name (the sender's), the
// header is printable ASCII and reads back as that name.
func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"a.png", `报告 "final".pdf`, "a\\b;c=d", "x\r\ny: z", "'", "%41", ""} {
		f.Add(s, "image/png")
	}
	f.Fuzz(func(t *testing.T, name, contentType string) {
		h := ticket.ContentDisposition(name, contentType)
		for _, r := range h {
			if r < 0x20 || r > 0x7e {
				t.Fatalf("ContentDisposition(%q) = %q holds %U", name, h, r)
			}
		}
		if !utf8.ValidString(name) || name == "" || strings.ContainsFunc(name, unicode.IsControl) {
			return // the API refuses such names
		}
		kind, params, err := mime.ParseMediaType(h)
		if err != nil || (kind != "inline" && kind != "attachment") || params["filename"] != name {
			t.Fatalf("ContentDisposition(%q) = %q reads back as %q %v, %v", name, h, kind, params, err)
		}
	})
}
