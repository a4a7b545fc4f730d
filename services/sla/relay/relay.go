// Package relay turns ticket events into SLA workflow starts and signals.
// A Relay is the consumer.Handler of one tenant's ticket events (the
// consumer package follows the stream, keeps the position and retries):
// it starts an SLAEscalationWorkflow for each new ticket an SLA policy
// covers, and signals the ticket's workflow with every change the clocks
// react to. Events seen twice change nothing (the workflow ignores a
// ticket version it has taken in, and a second start of one workflow ID
// is refused).
package relay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
	"github.com/kubedesk/kubedesk/workflows/escalation"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

// StateWriter writes a ticket's SLA state (services/sla.Tickets does).
type StateWriter interface {
	SetSLA(ctx context.Context, st escalation.Report) error
}

var tracer = otel.Tracer("github.com/kubedesk/kubedesk/services/sla/relay")

// CustomerTierField is the ticket custom field that SLAPolicy
// match.customerTiers compares with.
const CustomerTierField = "customer_tier"

// ConsumerName is the relay's name as an event consumer: the key of its
// stored cursors.
const ConsumerName = "sla"

// EventTypes are the events the relay follows. Not EVENT_TYPE_SLA_CHANGED:
// those are the workflows' own writes; nor EVENT_TYPE_ROUTING_ASSIGNED: a
// routing decision's changes come as an EVENT_TYPE_TICKET_UPDATED.
var EventTypes = []ticketv1.EventType{
	ticketv1.EventType_EVENT_TYPE_TICKET_CREATED,
	ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED,
	ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED,
}

// Relay handles one tenant's events. Fields are set before use.
type Relay struct {
	Tenant    string
	Temporal  client.Client
	TaskQueue string
	// Policies returns the policy set in force; it is asked on every
	// event, so a reload applies to the next ticket.
	Policies func() *policy.Set
	// States writes a new ticket's opening SLA state; the ticket's
	// workflow then starts with its first task delayed until its first
	// deadline. Nil leaves the opening state to the workflow.
	States StateWriter
}

// Handle implements consumer.Handler: it starts or signals the ticket's
// workflow. An error Temporal will refuse again (an invalid request, a
// namespace gone) is permanent; others, Temporal being unavailable, are
// retried by the consumer.
//
// It continues the trace of the change the event records (its
// traceparent), so that the workflow calls, and through Temporal the
// clocks' writes and escalations, join the trace of the customer's or
// agent's request.
func (r *Relay) Handle(ctx context.Context, ev *ticketv1.Event) error {
	switch ev.GetType() {
	case ticketv1.EventType_EVENT_TYPE_SLA_CHANGED:
		return nil // the workflow's own writes
	case ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED:
		// The decision alone: the changes it made (a group, a priority)
		// came in the EVENT_TYPE_TICKET_UPDATED just before, which is
		// followed as any update.
		return nil
	}
	ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": ev.GetTraceparent()})
	ctx, span := tracer.Start(ctx, "sla-relay "+enumName(ev.GetType().String(), "EVENT_TYPE_"),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("kubedesk.tenant", r.Tenant), attribute.String("kubedesk.ticket_id", ev.GetTicketId())))
	defer span.End()
	err := r.deliver(ctx, ev)
	if err == nil {
		return nil
	}
	span.RecordError(err)
	if !retryable(err) {
		span.SetStatus(codes.Error, err.Error())
		return consumer.Permanent(fmt.Errorf("ticket %s: %w", ev.GetTicketId(), err))
	}
	return fmt.Errorf("ticket %s: %w", ev.GetTicketId(), err)
}

func retryable(err error) bool {
	var (
		invalid *serviceerror.InvalidArgument
		denied  *serviceerror.PermissionDenied
		nsGone  *serviceerror.NamespaceNotFound
	)
	return !errors.As(err, &invalid) && !errors.As(err, &denied) && !errors.As(err, &nsGone)
}

func (r *Relay) deliver(ctx context.Context, ev *ticketv1.Event) error {
	t := ev.GetTicket()
	if t == nil {
		return nil
	}
	id := escalation.WorkflowID(r.Tenant, ev.GetTicketId())
	policies := r.Policies()
	matched := policies.Match(MatchTicket(r.Tenant, t))
	if ev.GetType() == ticketv1.EventType_EVENT_TYPE_TICKET_CREATED {
		if matched == nil {
			return nil
		}
		return r.start(ctx, id, startInput(r.Tenant, t, matched, t.GetVersion()))
	}
	// The policy that covered the ticket before this change, if that can
	// be told from the change (ok false: it cannot).
	var before *policy.Policy
	old, ok := Before(ev)
	if ok {
		before = policies.Match(MatchTicket(r.Tenant, old))
	}
	signals := Signals(ev)
	switch {
	case matched != nil && len(signals) == 0:
		if ok && before != nil {
			return nil // covered before: its workflow runs already
		}
		// Newly covered (moved into a group a policy matches, say): the
		// clocks start now, from the ticket as it is.
		return r.start(ctx, id, startInput(r.Tenant, t, matched, t.GetVersion()))
	case len(signals) == 0:
		return nil
	case matched == nil && before == nil:
		// No policy covers the ticket now, nor (as far as this change
		// tells) just before it. A workflow may still run from a policy
		// that covered it earlier, and it hears of the change; one whose
		// first task is still delayed takes the signals in, at their own
		// instants, when it runs.
		for _, s := range signals {
			if err := r.Temporal.SignalWorkflow(ctx, id, "", escalation.SignalTicketEvent, s); err != nil {
				return ignoreGone(err)
			}
		}
		return nil
	}
	// Signal-with-start: it wakes a workflow whose first task is delayed,
	// and starts one that is missing (a policy that came later, or a start
	// that was lost) from the ticket as it was before this change, whose
	// signals then apply. When the change took the ticket out of every
	// policy, the one that covered it until now started its workflow.
	p := cmp.Or(matched, before)
	in := startInput(r.Tenant, t, p, t.GetVersion()-1)
	for _, s := range signals {
		_, err := r.Temporal.SignalWithStartWorkflow(ctx, id, escalation.SignalTicketEvent, s, startOptions(id, r.TaskQueue), escalation.SLAEscalationWorkflow, in)
		if err := ignoreStarted(err); err != nil {
			return err
		}
	}
	return nil
}

// start starts a ticket's workflow, unless it has been started before.
// With States set, it writes the clocks' opening state to the ticket
// itself and delays the workflow's first task until its first warning or
// breach: until then the workflow would only write that same state and
// set a timer, and the server is spared that workflow task. (A signal
// with start, which every change that moves a clock sends, wakes the
// workflow early.)
func (r *Relay) start(ctx context.Context, id string, in escalation.Input) error {
	opts := startOptions(id, r.TaskQueue)
	if r.States != nil {
		// The state as of the ticket's creation: written again after a
		// restart, it is older than anything the workflow has written,
		// and the ticket keeps the newer.
		st, first, err := escalation.Opening(in)
		if err != nil {
			return err
		}
		if err := r.States.SetSLA(ctx, st); err != nil {
			return fmt.Errorf("write the opening SLA state: %w", err)
		}
		if d := time.Until(first); !first.IsZero() && d > 0 {
			opts.StartDelay = d
		}
	}
	_, err := r.Temporal.ExecuteWorkflow(ctx, opts, escalation.SLAEscalationWorkflow, in)
	return ignoreStarted(err)
}

func startOptions(id, taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: taskQueue,
		// A worker that dies holding a workflow task delays the workflow
		// by this timeout (Temporal's default is 10 s); the SLA workflow's
		// tasks take milliseconds.
		WorkflowTaskTimeout: WorkflowTaskTimeout,
		// A ticket's SLA runs once: a closed workflow (closed ticket) is
		// never started again.
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}
}

// ignoreGone treats "no such running workflow" as success: a ticket no
// policy covered, or whose clocks have ended.
func ignoreGone(err error) error {
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil
	}
	return err
}

// ignoreStarted treats "already started" as success: the relay starts
// each workflow at least once.
func ignoreStarted(err error) error {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// WorkflowTaskTimeout bounds one workflow task of an SLA workflow.
const WorkflowTaskTimeout = 2 * time.Second

// MatchTicket is what policy matching needs of a ticket.
func MatchTicket(tenantID string, t *ticketv1.Ticket) policy.Ticket {
	return policy.Ticket{
		Tenant:       tenantID,
		Priority:     int(t.GetPriority()),
		Channel:      enumName(t.GetChannel().String(), "CHANNEL_"),
		CustomerTier: t.GetCustomFields()[CustomerTierField],
		Group:        t.GetGroup(),
		Tags:         t.GetTags(),
	}
}

func enumName(s, prefix string) string { return strings.ToLower(strings.TrimPrefix(s, prefix)) }

func startInput(tenantID string, t *ticketv1.Ticket, p *policy.Policy, version int64) escalation.Input {
	return escalation.Input{
		Tenant:    tenantID,
		TicketID:  t.GetId(),
		CreatedAt: t.GetCreateTime().AsTime(),
		Status:    enumName(t.GetStatus().String(), "STATUS_"),
		Priority:  int(t.GetPriority()),
		Version:   version,
		Policy:    p.Spec,
		Revision:  escalation.LatestRevision,
	}
}

// Signals returns the workflow signals of one ticket event, in order,
// each identified by the ticket version after the change and its index:
// replies, status and priority changes, the changes the clocks depend on.
// (A change of group moves no clock and is not signalled; it may bring
// the ticket under a policy, which the relay handles by a start.)
func Signals(ev *ticketv1.Event) []escalation.TicketEvent {
	t := ev.GetTicket()
	at := ev.GetCreateTime().AsTime()
	var out []escalation.TicketEvent
	add := func(e escalation.TicketEvent) {
		e.At, e.Version, e.Part = at, t.GetVersion(), len(out)
		out = append(out, e)
	}
	if ev.GetType() == ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED {
		c := ev.GetComment()
		public := c.GetVisibility() != ticketv1.Visibility_VISIBILITY_INTERNAL
		switch c.GetAuthorType() {
		case ticketv1.AuthorType_AUTHOR_TYPE_AGENT:
			if public {
				add(escalation.TicketEvent{Kind: escalation.EventAgentReply})
			}
		case ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER:
			add(escalation.TicketEvent{Kind: escalation.EventCustomerReply})
		}
	}
	for _, ch := range ev.GetChanges() {
		switch ch.GetField() {
		case "status":
			add(escalation.TicketEvent{Kind: escalation.EventStatusChange, Status: ch.GetAfter().GetStringValue()})
		case "priority":
			add(escalation.TicketEvent{Kind: escalation.EventPriorityChange, Priority: int(t.GetPriority())})
		}
	}
	return out
}

// Before returns the ticket of ev as it was before the change, as far as
// policy matching goes (priority, channel, group, tags, customer tier),
// from the typed old values of the event's changes. ok is false when that
// cannot be told: an event written before changes were typed, whose old
// value the ticket service could not read back (FieldChange.before unset).
func Before(ev *ticketv1.Event) (t *ticketv1.Ticket, ok bool) {
	t = ev.GetTicket()
	var old *ticketv1.Ticket
	edit := func() *ticketv1.Ticket {
		if old == nil {
			old = proto.CloneOf(t)
		}
		return old
	}
	for _, ch := range ev.GetChanges() {
		v := ch.GetBefore()
		switch ch.GetField() {
		case "priority", "channel", "group", "tags", "custom_fields":
			if v == nil {
				return t, false
			}
		}
		switch ch.GetField() {
		case "priority":
			p := v.GetNumberValue()
			if p < 1 || p > 5 || p != float64(int(p)) {
				return t, false
			}
			edit().Priority = ticketv1.Priority(p)
		case "channel":
			c, found := ticketv1.Channel_value["CHANNEL_"+strings.ToUpper(v.GetStringValue())]
			if !found {
				return t, false
			}
			edit().Channel = ticketv1.Channel(c)
		case "group":
			edit().Group = v.GetStringValue()
		case "tags":
			var tags []string
			for _, tag := range v.GetListValue().GetValues() {
				tags = append(tags, tag.GetStringValue())
			}
			edit().Tags = tags
		case "custom_fields":
			fields := map[string]string{}
			for k, f := range v.GetStructValue().GetFields() {
				fields[k] = f.GetStringValue()
			}
			edit().CustomFields = fields
		}
	}
	if old == nil {
		return t, true
	}
	return old, true
}
