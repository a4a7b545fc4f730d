package ticket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/blob"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// chunkBytes bounds the pieces attachments stream in, both ways.
const chunkBytes = 1 << 20

// attachments reads the attachments of a request (field names them in
// errors, e.g. "ticket.attachments"): each must name an uploaded blob,
// whose size it takes; each gets an ID.
func (s *Server) attachments(ctx context.Context, field string, in []*ticketv1.Attachment) ([]Attachment, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if s.blobs == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "%s: this ticket service keeps no attachments (it has no blob store); send none", field)
	}
	out := make([]Attachment, len(in))
	for i, a := range in {
		name := fmt.Sprintf("%s[%d]", field, i)
		if !blob.ValidDigest(a.GetSha256()) {
			// The validation interceptor refuses it first; this is for
			// callers it does not cover.
			return nil, status.Errorf(codes.InvalidArgument, "%s.sha256: %q is not a digest; accepted: 64 lower-case hex characters", name, a.GetSha256())
		}
		info, err := s.blobs.Stat(ctx, a.GetSha256())
		switch {
		case errors.Is(err, blob.ErrNotFound):
			return nil, status.Errorf(codes.InvalidArgument, "%s.sha256: no uploaded blob has this digest; upload it first", name)
		case isContextError(err):
			return nil, status.FromContextError(err).Err()
		case err != nil:
			s.log.ErrorContext(ctx, "blob store failed", "err", err, "sha256", a.GetSha256())
			return nil, status.Error(codes.Unavailable, "the blob store failed; the request was not applied")
		}
		contentType := strings.TrimSpace(a.GetContentType())
		if contentType == "" {
			contentType = DefaultContentType
		}
		out[i] = Attachment{
			ID: newID(), Filename: a.GetFilename(), ContentType: contentType, Size: info.Size,
			SHA256: info.SHA256, Inline: a.GetInline(), ContentID: a.GetContentId(),
		}
	}
	return out, nil
}

// GetAttachmentContent implements ticketv1.TicketServiceServer.
func (s *Server) GetAttachmentContent(req *ticketv1.GetAttachmentContentRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	ctx := stream.Context()
	acc := accessOf(ctx)
	t, err := s.store.GetTicket(ctx, tenant.From(ctx), req.GetTicketId())
	if err == nil && !acc.sees(t) {
		err = ErrNotFound // not the caller's: as if it did not exist
	}
	if err != nil {
		return s.storeError(ctx, err, req.GetTicketId())
	}
	notFound := status.Errorf(codes.NotFound, "attachment %q of ticket %q not found", req.GetAttachmentId(), req.GetTicketId())
	a, err := s.store.GetAttachment(ctx, tenant.From(ctx), req.GetTicketId(), req.GetAttachmentId())
	switch {
	case errors.Is(err, ErrNotFound):
		return notFound
	case err != nil:
		return s.storeError(ctx, err, req.GetTicketId())
	case !acc.seesComment(Comment{Visibility: a.Visibility}):
		return notFound // a customer's view of an internal note's file
	case s.blobs == nil:
		return status.Error(codes.FailedPrecondition, "this ticket service keeps no attachments (it has no blob store)")
	}
	rc, _, err := s.blobs.Open(ctx, a.SHA256)
	if err != nil {
		if isContextError(err) {
			return status.FromContextError(err).Err()
		}
		s.log.ErrorContext(ctx, "reading an attachment's blob", "err", err, "sha256", a.SHA256, "ticket", t.ID, "attachment", a.ID)
		return status.Errorf(codes.Internal, "the content of attachment %q cannot be read", a.ID)
	}
	defer rc.Close()
	if err := stream.SetHeader(metadata.Pairs(
		"content-disposition", ContentDisposition(a.Filename, a.ContentType),
		"x-content-type-options", "nosniff",
	)); err != nil {
		return err
	}
	buf := make([]byte, chunkBytes)
	sent := false
	for {
		n, err := io.ReadFull(rc, buf)
		if n > 0 || !sent {
			// The first message carries the content type even when the
			// attachment is empty.
			if err := stream.Send(&httpbody.HttpBody{ContentType: a.ContentType, Data: buf[:n]}); err != nil {
				return err
			}
			sent = true
		}
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		case err != nil:
			s.log.ErrorContext(ctx, "reading an attachment's blob", "err", err, "sha256", a.SHA256)
			return status.Errorf(codes.Internal, "reading the content of attachment %q failed", a.ID)
		}
	}
}

// inlineTypes are the content types a browser may show in place: images
// it renders without running anything. Everything else, HTML and SVG
// above all, is a download.
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// ContentDisposition is the Content-Disposition of an attachment: inline
// for the image types of inlineTypes, attachment for any other, with the
// file name as an ASCII fallback (quotes, backslashes and non-ASCII
// replaced) and in full as RFC 8187 UTF-8 (filename*).
func ContentDisposition(filename, contentType string) string {
	kind := "attachment"
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && inlineTypes[mt] {
		kind = "inline"
	}
	fallback := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, filename)
	return kind + `; filename="` + fallback + `"; filename*=UTF-8''` + pctEncode(filename)
}

// pctEncode is RFC 8187's value encoding: attr-char as is, every other
// byte as %XX.
func pctEncode(s string) string {
	const attrChar = "!#$&+-.^_`|~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(attrChar, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// blobServer implements the internal ticketv1.TicketBlobServiceServer on
// the ticket service's blob store.
type blobServer struct {
	ticketv1.UnimplementedTicketBlobServiceServer
	s *Server
}

// UploadBlob implements ticketv1.TicketBlobServiceServer.
func (x blobServer) UploadBlob(stream grpc.ClientStreamingServer[ticketv1.UploadBlobRequest, ticketv1.UploadBlobResponse]) error {
	s := x.s
	ctx := stream.Context()
	if s.blobs == nil {
		return status.Error(codes.FailedPrecondition, "this ticket service keeps no attachments (it has no blob store)")
	}
	r := &chunkReader{recv: stream.Recv}
	info, err := s.blobs.Put(ctx, r, s.maxAttachment)
	switch {
	case r.err != nil:
		return r.err
	case errors.Is(err, blob.ErrTooLarge):
		return status.Errorf(codes.InvalidArgument, "chunk: the upload is larger than ticket.maxAttachmentBytes; accepted: at most %d bytes", s.maxAttachment)
	case isContextError(err):
		return status.FromContextError(err).Err()
	case err != nil:
		s.log.ErrorContext(ctx, "blob store failed", "err", err)
		return status.Error(codes.Unavailable, "the blob store failed; the upload was not stored")
	}
	return stream.SendAndClose(&ticketv1.UploadBlobResponse{Sha256: info.SHA256, Size: info.Size})
}

// chunkReader reads the chunks of an UploadBlob stream as one stream of
// bytes. err is the stream's own failure or a refused chunk, as a status.
type chunkReader struct {
	recv func() (*ticketv1.UploadBlobRequest, error)
	buf  []byte
	err  error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		req, err := r.recv()
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		if err != nil {
			r.err = err
			return 0, err
		}
		if n := len(req.GetChunk()); n > chunkBytes {
			r.err = status.Errorf(codes.InvalidArgument, "chunk: is %d bytes; accepted: at most %d bytes per message", n, chunkBytes)
			return 0, r.err
		}
		r.buf = req.GetChunk()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
