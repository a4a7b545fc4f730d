package ticket

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Contacts finds the contact (a customer of the channel service) a
// requester is, for tickets that name their requester by e-mail address
// alone: a REST or API create, an agent changing the requester.
type Contacts interface {
	// ContactOf returns the ID of the contact of the call's tenant holding
	// the e-mail address, created with the name when none does. An
	// address the contact store refuses is INVALID_ARGUMENT.
	ContactOf(ctx context.Context, email, name string) (string, error)
}

// WithContacts links requesters named by e-mail address to their
// contacts through c. Without it tickets keep the requester as given,
// with a contact only when the caller names one.
func WithContacts(c Contacts) Option { return func(s *Server) { s.contacts = c } }

// linkRequester sets r's contact from its e-mail address when the caller
// named none. field is the request field of r ("ticket.requester"). When
// the contact cannot be found nothing is written: the caller retries,
// with its Idempotency-Key if it has one.
func (s *Server) linkRequester(ctx context.Context, field string, r *Requester) error {
	email := strings.TrimSpace(r.Email)
	if s.contacts == nil || r.ContactID != "" || email == "" {
		return nil
	}
	id, err := s.contacts.ContactOf(ctx, email, r.Name)
	if err == nil {
		r.ContactID = id
		return nil
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument:
		return status.Errorf(codes.InvalidArgument, "%s.email: %q: %s", field, email, st.Message())
	case codes.Canceled, codes.DeadlineExceeded:
		return err
	}
	s.log.WarnContext(ctx, "resolving a requester's contact", "err", err)
	return status.Errorf(codes.Unavailable, "%s: the contact of %q could not be found (%s: %s); nothing was written, retry", field, email, st.Code(), st.Message())
}
