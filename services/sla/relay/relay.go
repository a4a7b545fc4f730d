// Package relay turns ticket events into SLA workflow starts and signals.
// A Relay follows one tenant's ticket event stream (WatchEvents), starts
// an SLAEscalationWorkflow for each new ticket an SLA policy covers, and
// signals the ticket's workflow with every change the clocks react to. It
// saves its position, so a restarted relay resumes where it stopped; events
// seen twice change nothing (the workflow ignores a ticket version it has
// taken in, and a second start of one workflow ID is refused).
package relay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/workflows/sla"
)

// CustomerTierField is the ticket custom field that SLAPolicy
// match.customerTiers compares with.
const CustomerTierField = "customer_tier"

// Relay follows one tenant's events. Fields are set before Run.
type Relay struct {
	Tenant    string
	Tickets   ticketv1.TicketServiceClient
	Temporal  client.Client
	TaskQueue string
	// Policies returns the policy set in force; it is asked on every
	// event, so a reload applies to the next ticket.
	Policies func() *sla.Set
	Cursors  Cursors
	// Lanes is how many tickets are handled at once (0: 16). Events of one
	// ticket always go through the same lane, in order.
	Lanes int
	// SaveEvery is how often the position is saved while events flow (0:
	// 500 ms); it is also saved when the relay stops.
	SaveEvery time.Duration
	Log       *slog.Logger
}

// Run follows the stream until ctx ends, reconnecting with backoff after
// errors. It returns nil when ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		began := time.Now()
		err := r.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		r.Log.Warn("SLA relay: event stream ended; reconnecting", "tenant", r.Tenant, "err", err, "in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

type job struct {
	seq uint64
	ev  *ticketv1.Event
}

// follow reads the stream from the saved cursor until it fails or ctx
// ends, then waits for the lanes to finish and saves the position.
func (r *Relay) follow(ctx context.Context) error {
	cursor, err := r.Cursors.Load(ctx, r.Tenant)
	if err != nil {
		return fmt.Errorf("load cursor: %w", err)
	}
	// The stream ends with ctx; the lanes finish the events they hold
	// even then, unless the caller's ctx is gone too.
	streamCtx, endStream := context.WithCancel(ctx)
	defer endStream()
	stream, err := r.Tickets.WatchEvents(tenant.Outgoing(streamCtx, r.Tenant), &ticketv1.WatchEventsRequest{AfterCursor: cursor})
	if err != nil {
		return fmt.Errorf("watch events: %w", err)
	}

	pos := newPosition(cursor)
	n := r.Lanes
	if n <= 0 {
		n = 16
	}
	lanes := make([]chan job, n)
	var wg sync.WaitGroup
	for i := range lanes {
		lanes[i] = make(chan job, 64)
		wg.Go(func() {
			for j := range lanes[i] {
				r.handle(ctx, j.ev)
				pos.done(j.seq)
			}
		})
	}
	saved := cursor
	save := func(ctx context.Context) {
		if c := pos.cursor(); c != saved {
			if err := r.Cursors.Save(ctx, r.Tenant, c); err != nil {
				r.Log.Warn("SLA relay: saving the cursor failed", "tenant", r.Tenant, "err", err)
				return
			}
			saved = c
		}
	}
	saverDone := make(chan struct{})
	stopSaver := make(chan struct{})
	go func() {
		defer close(saverDone)
		t := time.NewTicker(cmp.Or(r.SaveEvery, 500*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-stopSaver:
				return
			case <-t.C:
				save(ctx)
			}
		}
	}()
	defer func() {
		for _, l := range lanes {
			close(l)
		}
		wg.Wait()
		close(stopSaver)
		<-saverDone
		// Save even when ctx has ended: the position is what a restart
		// resumes from.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		save(sctx)
	}()

	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		if b := msg.GetBookmark(); b != nil {
			pos.bookmark(b.GetCursor())
			continue
		}
		ev := msg.GetEvent()
		if ev == nil {
			continue
		}
		j := job{seq: pos.add(ev.GetCursor()), ev: ev}
		select {
		case lanes[lane(ev.GetTicketId(), len(lanes))] <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func lane(ticketID string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(ticketID))
	return int(h.Sum32() % uint32(n))
}

// handle starts or signals the ticket's workflow, retrying while Temporal
// is unavailable; an event it cannot deliver for good is logged.
func (r *Relay) handle(ctx context.Context, ev *ticketv1.Event) {
	backoff := 100 * time.Millisecond
	for {
		err := r.deliver(ctx, ev)
		if err == nil || ctx.Err() != nil {
			return
		}
		if !retryable(err) {
			r.Log.Error("SLA relay: event not delivered", "tenant", r.Tenant, "ticket", ev.GetTicketId(), "cursor", ev.GetCursor(), "err", err)
			return
		}
		r.Log.Warn("SLA relay: delivery failed; retrying", "tenant", r.Tenant, "ticket", ev.GetTicketId(), "err", err, "in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
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
	id := sla.WorkflowID(r.Tenant, ev.GetTicketId())
	policy := r.Policies().Match(MatchTicket(r.Tenant, t))
	switch ev.GetType() {
	case ticketv1.EventType_EVENT_TYPE_TICKET_CREATED:
		if policy == nil {
			return nil
		}
		in := startInput(r.Tenant, t, policy, t.GetVersion())
		_, err := r.Temporal.ExecuteWorkflow(ctx, r.startOptions(id), sla.SLAEscalationWorkflow, in)
		return ignoreStarted(err)
	case ticketv1.EventType_EVENT_TYPE_SLA_CHANGED:
		return nil // the workflow's own writes
	}
	signals := Signals(ev)
	if len(signals) == 0 {
		return nil
	}
	if policy == nil {
		// No policy covers the ticket now (say its priority dropped out of
		// the match): a running workflow still hears of the change.
		for _, s := range signals {
			if err := r.Temporal.SignalWorkflow(ctx, id, "", sla.SignalTicketEvent, s); err != nil {
				return ignoreGone(err)
			}
		}
		return nil
	}
	// Started here if it is not running yet (a policy that came later, or
	// a start that was lost), from the ticket as it was before this change,
	// whose signals then apply.
	in := startInput(r.Tenant, t, policy, t.GetVersion()-1)
	for _, s := range signals {
		_, err := r.Temporal.SignalWithStartWorkflow(ctx, id, sla.SignalTicketEvent, s, r.startOptions(id), sla.SLAEscalationWorkflow, in)
		if err := ignoreStarted(err); err != nil {
			return err
		}
	}
	return nil
}

func (r *Relay) startOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: r.TaskQueue,
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
func MatchTicket(tenantID string, t *ticketv1.Ticket) sla.Ticket {
	return sla.Ticket{
		Tenant:       tenantID,
		Priority:     int(t.GetPriority()),
		Channel:      enumName(t.GetChannel().String(), "CHANNEL_"),
		CustomerTier: t.GetCustomFields()[CustomerTierField],
		Group:        t.GetGroup(),
		Tags:         t.GetTags(),
	}
}

func enumName(s, prefix string) string { return strings.ToLower(strings.TrimPrefix(s, prefix)) }

func startInput(tenantID string, t *ticketv1.Ticket, p *sla.Policy, version int64) sla.EscalationInput {
	return sla.EscalationInput{
		Tenant:    tenantID,
		TicketID:  t.GetId(),
		CreatedAt: t.GetCreateTime().AsTime(),
		Status:    enumName(t.GetStatus().String(), "STATUS_"),
		Priority:  int(t.GetPriority()),
		Version:   version,
		Policy:    p.Spec,
	}
}

// Signals returns the workflow signals of one ticket event, in order,
// each identified by the ticket version after the change and its index.
func Signals(ev *ticketv1.Event) []sla.TicketEvent {
	t := ev.GetTicket()
	at := ev.GetCreateTime().AsTime()
	var out []sla.TicketEvent
	add := func(e sla.TicketEvent) {
		e.At, e.Version, e.Part = at, t.GetVersion(), len(out)
		out = append(out, e)
	}
	if ev.GetType() == ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED {
		c := ev.GetComment()
		public := c.GetVisibility() != ticketv1.Visibility_VISIBILITY_INTERNAL
		switch c.GetAuthorType() {
		case ticketv1.AuthorType_AUTHOR_TYPE_AGENT:
			if public {
				add(sla.TicketEvent{Kind: sla.EventAgentReply})
			}
		case ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER:
			add(sla.TicketEvent{Kind: sla.EventCustomerReply})
		}
	}
	for _, ch := range ev.GetChanges() {
		switch ch.GetField() {
		case "status":
			add(sla.TicketEvent{Kind: sla.EventStatusChange, Status: ch.GetNewValue()})
		case "priority":
			add(sla.TicketEvent{Kind: sla.EventPriorityChange, Priority: int(t.GetPriority())})
		case "group":
			add(sla.TicketEvent{Kind: sla.EventReassignment, Group: ch.GetNewValue()})
		}
	}
	return out
}
