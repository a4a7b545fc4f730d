package channel

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// LinkerName is the requester linker's name in the consumer cursors.
const LinkerName = "channel-requester-link"

// LinkerEvents are the ticket events the linker acts on.
var LinkerEvents = []ticketv1.EventType{ticketv1.EventType_EVENT_TYPE_TICKET_CREATED}

// ResolveFunc returns the contact holding an identity in a tenant,
// creating it when none does (see Server.ResolveIdentity).
type ResolveFunc func(ctx context.Context, tenantID, identityType, value, name string) (contactID string, err error)

// Linker names every ticket's requester by contact. Tickets that come
// through a channel carry their contact already; one created through the
// REST API or by an integration names its requester by e-mail address or
// identity, and the linker, following the ticket events, resolves that to
// the contact holding it (created when none does) and records it on the
// ticket.
type Linker struct {
	Resolve ResolveFunc
	Tickets ticketv1.TicketServiceClient
}

var _ consumer.Handler = (*Linker)(nil)

// Handle implements consumer.Handler.
func (l *Linker) Handle(ctx context.Context, ev *ticketv1.Event) error {
	r := ev.GetTicket().GetRequester()
	if ev.GetType() != ticketv1.EventType_EVENT_TYPE_TICKET_CREATED || r.GetContactId() != "" {
		return nil
	}
	kind, value := requesterIdentity(r)
	if value == "" {
		return nil
	}
	tenantID := ev.GetTicket().GetTenant()
	ctx = tenant.Outgoing(ctx, tenantID)
	contactID, err := l.Resolve(ctx, tenantID, kind, value, r.GetName())
	if err != nil {
		return fmt.Errorf("resolve requester %s:%s of ticket %s: %w", kind, value, ev.GetTicketId(), err)
	}
	// Read the ticket again: the requester may have changed since the
	// event, and the update is made conditional on what was read.
	got, err := l.Tickets.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: ev.GetTicketId()})
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	t := got.GetTicket()
	now := t.GetRequester()
	if now.GetContactId() != "" || now.GetEmail() != r.GetEmail() || now.GetIdentity() != r.GetIdentity() {
		return nil // named since, by someone else
	}
	linked := &ticketv1.Requester{Name: now.GetName(), Email: now.GetEmail(), Identity: now.GetIdentity(), ContactId: contactID}
	_, err = l.Tickets.UpdateTicket(ctx, &ticketv1.UpdateTicketRequest{
		Ticket:     &ticketv1.Ticket{Id: t.GetId(), Requester: linked, Etag: t.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"requester"}},
	})
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.NotFound, codes.FailedPrecondition:
		return nil // gone, or closed meanwhile
	default:
		// ABORTED (changed since it was read) is retried by the consumer,
		// which reads it again.
		return fmt.Errorf("link ticket %s to contact %s: %w", t.GetId(), contactID, err)
	}
}

// requesterIdentity is the identity a requester is resolved by: the e-mail
// address, else the channel identity ("wechat:oAbC" names a WeChat
// openid; kinds the contacts do not know are external IDs).
func requesterIdentity(r *ticketv1.Requester) (kind, value string) {
	if r.GetEmail() != "" {
		return "email", r.GetEmail()
	}
	k, v, ok := strings.Cut(r.GetIdentity(), ":")
	if !ok || v == "" {
		return "", ""
	}
	switch k {
	case "email", "phone", "wechat", "web", "external":
		return k, v
	}
	return "external", r.GetIdentity()
}
