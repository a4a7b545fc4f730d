package channel

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
)

// MergeContact implements channelv1.ContactServiceServer: the store merges
// the contacts in one transaction (identities, merged_into, audit), then
// the tickets of the merged contact move one by one through the ticket
// API, and their number is added to the audit events. If a ticket move
// fails the call fails; calling again moves those left (the store merge
// is then a no-op). Between the two, the customer sessions and pending
// sign-in codes of the merged contact move to the surviving one (the
// identity module's ReassignContact), so a signed-in customer acts as it.
func (s *Server) MergeContact(ctx context.Context, req *channelv1.MergeContactRequest) (*channelv1.MergeContactResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	from := strings.TrimPrefix(req.GetId(), "contacts/")
	into := strings.TrimPrefix(req.GetInto(), "contacts/")
	if from == into {
		return nil, status.Errorf(codes.InvalidArgument, "into: %q is the contact being merged; accepted: the id of another contact", into)
	}
	// Both must exist for the caller: NOT_FOUND names the one missing.
	if _, err := s.store.GetContact(ctx, tid, from); err != nil {
		return nil, s.storeError(ctx, err, "contact "+strconv.Quote(from))
	}
	if _, err := s.store.GetContact(ctx, tid, into); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, status.Errorf(codes.NotFound, "into: contact %q not found", into)
		}
		return nil, s.storeError(ctx, err, "contact "+strconv.Quote(into))
	}
	c, err := s.store.MergeContacts(ctx, tid, from, into, actorOf(ctx))
	if merged, ok := errors.AsType[*store.MergedError](err); ok {
		if merged.ID == into {
			return nil, status.Errorf(codes.FailedPrecondition, "into: contact %s was merged into %s; accepted: a contact that is not merged (merge into %s instead)", merged.ID, merged.Into, merged.Into)
		}
		return nil, status.Errorf(codes.FailedPrecondition, "%s; it cannot be merged again", merged.Error())
	}
	if err != nil {
		return nil, s.storeError(ctx, err, "contact "+strconv.Quote(from))
	}
	// A customer signed in as the merged contact acts as into from now
	// on (its tickets move there next).
	if err := s.reassignSessions(ctx, tid, from, into); err != nil {
		return nil, status.Errorf(status.Code(err), "contacts merged, but the merged contact's customer sessions did not move: %s; call MergeContact again", status.Convert(err).Message())
	}
	moved, err := s.moveTickets(ctx, tid, from, into)
	if moved > 0 {
		if rerr := s.store.RecordTicketsMoved(ctx, tid, from, into, moved); rerr != nil {
			s.log.ErrorContext(ctx, "recording the tickets a merge moved", "err", rerr, "from", from, "into", into, "moved", moved)
		}
	}
	if err != nil {
		return nil, status.Errorf(status.Code(err), "contacts merged, but moving their tickets stopped after %d: %s; call MergeContact again to move the rest", moved, status.Convert(err).Message())
	}
	return &channelv1.MergeContactResponse{Contact: contactToProto(c)}, nil
}

// moveTickets names into as the requester's contact of every ticket that
// names from, but closed ones (final: they cannot change), and returns how
// many it moved.
func (s *Server) moveTickets(ctx context.Context, tid, from, into string) (int, error) {
	out := outgoing(ctx, tid)
	moved := 0
	token := ""
	for {
		resp, err := s.tickets.ListTickets(out, &ticketv1.ListTicketsRequest{
			Filter: "contact = " + strconv.Quote(from), PageSize: 100, PageToken: token,
		})
		if err != nil {
			return moved, fmt.Errorf("listing the tickets of contact %s: %w", from, err)
		}
		for _, t := range resp.GetTickets() {
			if t.GetStatus() == ticketv1.Status_STATUS_CLOSED {
				continue
			}
			r := t.GetRequester()
			next := &ticketv1.Requester{Name: r.GetName(), Email: r.GetEmail(), Identity: r.GetIdentity(), ContactId: into}
			_, err := s.tickets.UpdateTicket(out, &ticketv1.UpdateTicketRequest{
				Ticket:     &ticketv1.Ticket{Id: t.GetId(), Requester: next},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"requester"}},
			})
			if err != nil {
				return moved, fmt.Errorf("moving ticket %s: %w", t.GetId(), err)
			}
			moved++
		}
		if token = resp.GetNextPageToken(); token == "" {
			return moved, nil
		}
	}
}
