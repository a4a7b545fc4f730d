package sla

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket"
	"github.com/kubedesk/kubedesk/workflows/escalation"
)

// Tickets carries out the SLA workflow's side effects through the ticket
// service's gRPC API, so the worker never touches the ticket tables.
type Tickets struct {
	// Client is the public ticket API: reads, updates and notes.
	Client ticketv1.TicketServiceClient
	// SLA is the internal API that records the clocks.
	SLA ticketv1.TicketSLAServiceClient
}

// NewTickets returns Tickets that call the ticket service over conn.
func NewTickets(conn grpc.ClientConnInterface) Tickets {
	return Tickets{Client: ticketv1.NewTicketServiceClient(conn), SLA: ticketv1.NewTicketSLAServiceClient(conn)}
}

var _ escalation.TicketUpdater = Tickets{}

// NotifyAuthor is the author of the internal notes that notify actions
// write.
const NotifyAuthor = "SLA"

// SetSLA implements escalation.TicketUpdater.
func (t Tickets) SetSLA(ctx context.Context, st escalation.Report) error {
	return t.setSLA(ctx, st, nil)
}

// Escalate implements escalation.TicketUpdater: one SetTicketSLA call
// writes the state and applies the escalation in one transaction.
func (t Tickets) Escalate(ctx context.Context, st escalation.Report, e escalation.Escalation) error {
	if e.RaiseFrom < 0 || e.RaiseFrom > 5 {
		return fmt.Errorf("escalation: raise priority from %d: accepted 1 to 5, or 0 for none", e.RaiseFrom)
	}
	return t.setSLA(ctx, st, &ticketv1.SLAEscalation{Group: e.Group, RaisePriorityFrom: ticketv1.Priority(e.RaiseFrom)})
}

// setSLA writes st, with esc (nil: none), through SetTicketSLA.
func (t Tickets) setSLA(ctx context.Context, st escalation.Report, esc *ticketv1.SLAEscalation) error {
	msg, err := TicketSLA(st)
	if err != nil {
		return err
	}
	_, err = t.SLA.SetTicketSLA(tenant.Outgoing(ctx, st.Tenant), &ticketv1.SetTicketSLARequest{TicketId: st.TicketID, Sla: msg, Escalation: esc})
	return err
}

// Reassign implements escalation.TicketUpdater: it moves the ticket to
// group.
func (t Tickets) Reassign(ctx context.Context, tenantID, ticketID, group string) error {
	_, err := t.Client.UpdateTicket(tenant.Outgoing(ctx, tenantID), &ticketv1.UpdateTicketRequest{
		Ticket:     &ticketv1.Ticket{Id: ticketID, Group: group},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"group"}},
	})
	return err
}

// RaisePriority implements escalation.TicketUpdater. Priority follows from
// impact and urgency, so it raises urgency one step, or impact once
// urgency is highest; a ticket no longer at priority from, or already at
// the top, is left alone. The update is conditional on the version read,
// and read again if someone else changed the ticket in between.
func (t Tickets) RaisePriority(ctx context.Context, tenantID, ticketID string, from int) error {
	ctx = tenant.Outgoing(ctx, tenantID)
	for range 3 {
		resp, err := t.Client.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: ticketID})
		if err != nil {
			return err
		}
		cur := resp.GetTicket()
		if int(cur.GetPriority()) != from {
			return nil // raised already (a retried call), or changed by an agent
		}
		impact, urgency, path, ok := ticket.RaiseStep(int(orMedium(cur.GetImpact())), int(orMedium(cur.GetUrgency())))
		if !ok {
			return nil // highest impact and urgency
		}
		next := &ticketv1.Ticket{Id: ticketID, Etag: cur.GetEtag(), Impact: int32(impact), Urgency: int32(urgency)}
		_, err = t.Client.UpdateTicket(ctx, &ticketv1.UpdateTicketRequest{
			Ticket: next, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}},
		})
		if status.Code(err) == codes.Aborted {
			continue // changed since read: look again
		}
		return err
	}
	return errors.New("ticket changed three times while raising its priority")
}

func orMedium(v int32) int32 {
	if v == 0 {
		return 2
	}
	return v
}

// Notify implements escalation.TicketUpdater: it writes an internal note on
// the ticket naming the breach and whom it concerns. The note's request ID
// makes a retried call write it once.
func (t Tickets) Notify(ctx context.Context, n escalation.Notification) error {
	ctx = tenant.Outgoing(ctx, n.Tenant)
	_, err := t.Client.AddComment(ctx, &ticketv1.AddCommentRequest{
		TicketId:  n.TicketID,
		RequestId: fmt.Sprintf("sla-notify/%s/%s/%d", n.TicketID, n.Clock, n.At.UnixNano()),
		Comment: &ticketv1.Comment{
			Author:     NotifyAuthor,
			AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_SYSTEM,
			Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL,
			Body:       notificationText(n),
		},
	})
	return err
}

var clockNames = map[escalation.ClockKind]string{
	escalation.FirstResponse: "first response",
	escalation.NextResponse:  "next response",
	escalation.Resolution:    "resolution",
}

func notificationText(n escalation.Notification) string {
	who := make([]string, len(n.Recipients))
	for i, r := range n.Recipients {
		who[i] = string(r)
	}
	return fmt.Sprintf("SLA breached: the %s target was due at %s. Notified: %s.",
		clockNames[n.Clock], n.At.UTC().Format(time.RFC3339), strings.Join(who, ", "))
}

var (
	clocksToProto = map[escalation.ClockKind]ticketv1.SLAClock{
		escalation.FirstResponse: ticketv1.SLAClock_SLA_CLOCK_FIRST_RESPONSE,
		escalation.NextResponse:  ticketv1.SLAClock_SLA_CLOCK_NEXT_RESPONSE,
		escalation.Resolution:    ticketv1.SLAClock_SLA_CLOCK_RESOLUTION,
	}
	statesToProto = map[escalation.ClockState]ticketv1.SLAState{
		escalation.StateOK:       ticketv1.SLAState_SLA_STATE_OK,
		escalation.StateWarning:  ticketv1.SLAState_SLA_STATE_WARNING,
		escalation.StateBreached: ticketv1.SLAState_SLA_STATE_BREACHED,
		escalation.StatePaused:   ticketv1.SLAState_SLA_STATE_PAUSED,
		escalation.StateMet:      ticketv1.SLAState_SLA_STATE_MET,
	}
)

// TicketSLA converts the workflow's report into the ticket API's message.
func TicketSLA(st escalation.Report) (*ticketv1.TicketSLA, error) {
	msg := &ticketv1.TicketSLA{Policy: st.Policy, UpdateTime: timestamppb.New(st.UpdatedAt)}
	for _, c := range st.Clocks {
		kind, ok := clocksToProto[c.Kind]
		if !ok {
			return nil, fmt.Errorf("SLA clock %q: unknown", c.Kind)
		}
		state, ok := statesToProto[c.State]
		if !ok {
			return nil, fmt.Errorf("SLA clock %s: state %q: unknown", c.Kind, c.State)
		}
		cs := &ticketv1.SLAClockStatus{
			Clock:     kind,
			State:     state,
			Remaining: durationpb.New(c.Remaining),
			Target:    durationpb.New(c.Target),
		}
		if !c.Due.IsZero() {
			cs.DueTime = timestamppb.New(c.Due)
		}
		if !c.BreachedAt.IsZero() {
			cs.BreachTime = timestamppb.New(c.BreachedAt)
		}
		msg.Clocks = append(msg.Clocks, cs)
	}
	return msg, nil
}
