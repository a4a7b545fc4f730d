package channel

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"google.golang.org/grpc/status"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
)

// Sizes of the customer card.
const (
	summaryOpen   = 20   // open tickets listed
	summaryRecent = 10   // recent tickets listed
	summaryCount  = 1000 // counts stop here
)

// openStatuses is the ticket filter of tickets not solved or closed.
const openStatuses = "status = (new OR open OR pending OR on_hold)"

// GetContactSummary implements channelv1.ContactServiceServer. A merged
// contact's card is its own (its tickets moved to the contact it was
// merged into, whose card shows them).
func (s *Server) GetContactSummary(ctx context.Context, req *channelv1.GetContactSummaryRequest) (*channelv1.GetContactSummaryResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.GetId(), "contacts/")
	c, err := s.store.GetContact(ctx, tid, id)
	if err != nil {
		return nil, s.storeError(ctx, err, "contact "+strconv.Quote(id))
	}
	sum := &channelv1.ContactSummary{Contact: contactToProto(c)}
	if c.OrganizationID != "" {
		org, err := s.store.GetOrganization(ctx, tid, c.OrganizationID)
		switch {
		case err == nil:
			sum.Organization = orgToProto(org)
		case !errors.Is(err, store.ErrNotFound):
			return nil, s.storeError(ctx, err, "organization "+strconv.Quote(c.OrganizationID))
		}
	}
	out := outgoing(ctx, tid)
	mine := "contact = " + strconv.Quote(c.ID)
	open, err := s.tickets.ListTickets(out, &ticketv1.ListTicketsRequest{Filter: mine + " AND " + openStatuses, PageSize: summaryOpen})
	if err != nil {
		return nil, ticketError(err, "open tickets of contact "+c.ID)
	}
	sum.OpenTickets = open.GetTickets()
	recent, err := s.tickets.ListTickets(out, &ticketv1.ListTicketsRequest{Filter: mine, PageSize: summaryRecent})
	if err != nil {
		return nil, ticketError(err, "recent tickets of contact "+c.ID)
	}
	sum.RecentTickets = recent.GetTickets()
	if sum.OpenCount, err = s.countTickets(ctx, tid, mine+" AND "+openStatuses, open); err != nil {
		return nil, err
	}
	if sum.SlaBreaches, err = s.countTickets(ctx, tid, mine+" AND sla = breached", nil); err != nil {
		return nil, err
	}
	return &channelv1.GetContactSummaryResponse{Summary: sum}, nil
}

// ticketError is a failed call to the ticket service as the caller sees
// it: its code, and what was being done.
func ticketError(err error, what string) error {
	st := status.Convert(err)
	return status.Errorf(st.Code(), "%s: the ticket service: %s", what, st.Message())
}

// countTickets counts the tickets of filter up to summaryCount; first,
// when given, is the first page already read with a smaller page size.
func (s *Server) countTickets(ctx context.Context, tid, filter string, first *ticketv1.ListTicketsResponse) (int32, error) {
	if first != nil && first.GetNextPageToken() == "" {
		return int32(len(first.GetTickets())), nil
	}
	out := outgoing(ctx, tid)
	n, token := 0, ""
	for n < summaryCount {
		resp, err := s.tickets.ListTickets(out, &ticketv1.ListTicketsRequest{Filter: filter, PageSize: 100, PageToken: token})
		if err != nil {
			return 0, ticketError(err, "counting tickets ("+filter+")")
		}
		n += len(resp.GetTickets())
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return int32(min(n, summaryCount)), nil
}
