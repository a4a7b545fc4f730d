package escalation

import (
	"cmp"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

// Names the workflow's callers use.
const (
	// SignalTicketEvent carries a TicketEvent.
	SignalTicketEvent = "ticket-event"
	// SignalPolicyUpdate carries a policy.Spec: the new version of a policy
	// whose changes apply to running clocks (applyToRunning). A workflow
	// timed by another policy ignores it.
	SignalPolicyUpdate = "policy-update"
	// QuerySLAState is the "sla-state" query: the Report as of the
	// workflow's time.
	QuerySLAState = "sla-state"
	// DefaultHistoryLimit is the history length after which the workflow
	// continues as new.
	DefaultHistoryLimit = 1000
)

// Revisions of SLAEscalationWorkflow's behaviour. A run carries the
// revision it was started with in its input (Input.Revision),
// so a change that alters the commands the workflow issues replays
// unchanged against the histories of runs started before it, at no cost
// to the runs started after (workflow.GetVersion would add a search
// attribute write to every new workflow).
const (
	// RevisionActionsAfterState: the breach actions that change the
	// ticket (reassign, raisePriority) run as local activities of their
	// own after the state write that records the breach.
	RevisionActionsAfterState = 0
	// RevisionEscalateWithState: those actions are written with that
	// state, in one call to the ticket API and one transaction, so the
	// ticket turns red and moves in the same instant.
	RevisionEscalateWithState = 1
	// RevisionKeepBreachedTarget: a breached clock shows the target it
	// breached (Clock.BreachedTarget) rather than the current priority's,
	// which is 0s when a priority raise lands on a priority without
	// targets. The shown target decides whether a state is written, so
	// older runs keep showing the current one.
	RevisionKeepBreachedTarget = 2
	// LatestRevision is the revision new runs start at.
	LatestRevision = RevisionKeepBreachedTarget
)

// WorkflowID is the ID of a ticket's SLAEscalationWorkflow; starting it
// again with the same ID is refused by the server, so a relay that starts
// it twice does no harm.
func WorkflowID(tenant, ticketID string) string { return "sla/" + tenant + "/" + ticketID }

// Input starts (or continues) a ticket's SLA workflow.
type Input struct {
	Tenant    string
	TicketID  string
	CreatedAt time.Time
	Status    string // the ticket's status at start
	Priority  int    // 1..5
	// Version is the ticket's version that CreatedAt, Status and Priority
	// describe: signals from changes up to it are already reflected and are
	// ignored. Zero takes in every signal.
	Version int64 `json:",omitempty"`
	Policy  policy.Spec
	// HistoryLimit overrides DefaultHistoryLimit (tests).
	HistoryLimit int `json:",omitempty"`
	// Revision is the behaviour the run follows (see LatestRevision);
	// callers starting a run set LatestRevision, and continue-as-new
	// moves a run to it.
	Revision int `json:",omitempty"`
	// State is nil at the first start; continue-as-new carries the clocks
	// in it (Status and Priority are then the current ones).
	State *RunState `json:",omitempty"`
}

// activityOptions are those of the webhook calls: a task on the server
// each, as a webhook may be slow or down for a while. Retries are bounded
// (about a minute); a failed action is logged and the clocks go on.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        15 * time.Second,
		MaximumAttempts:        5,
		NonRetryableErrorTypes: []string{ErrTypeWebhookRejected},
	},
}

// localActivityOptions are those of the calls to the ticket API (state
// writes, notify, reassign, raise priority): quick, idempotent calls that
// run in the worker within the workflow task, which spares the server an
// activity task, and a workflow task, for each.
var localActivityOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy:         activityOptions.RetryPolicy,
}

// SLAEscalationWorkflow runs the SLA clocks of one ticket: it warns and
// breaches at the instants the policy's calendar gives, writes every change
// of the clocks back to the ticket, runs the breach actions, and ends when
// the ticket is closed.
//
// Semantics, per clock:
//   - first response and resolution start at creation; an agent reply meets
//     first response, or else a running next response;
//   - a customer reply after the first agent reply starts next response
//     (afresh, unless it is already waiting);
//   - a PauseOn status pauses every running clock, leaving it resumes them;
//   - solved meets every running clock; reopening resumes resolution from
//     the business time it had used;
//   - a priority change keeps the elapsed time and applies the new targets:
//     a clock already past its new target breaches at once. A breach is
//     never undone: a clock met late stays marked with BreachedAt, and a
//     breached clock stays on the ticket, showing the target it breached,
//     when the new priority has other targets or none (the clocks that
//     had not breached then go).
//
// Versioning: a change that alters the commands the workflow issues goes
// behind a new revision (Input.Revision), and a history recorded
// before it stays in testdata, where the replay test keeps it replaying.
// The versions made before the first release (side effects inline, then
// beside the clocks with ticket calls as activities) were folded into
// revision 0: no release ran them.
func SLAEscalationWorkflow(ctx workflow.Context, in Input) error {
	logger := workflow.GetLogger(ctx)
	c, err := newClocks(in)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	if err := workflow.SetQueryHandler(ctx, QuerySLAState, func() (Report, error) {
		return c.snapshot(&in, workflow.Now(ctx)), nil
	}); err != nil {
		return err
	}
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	// The side effects (state writes, breach actions) run beside the
	// clocks, state first: a slow or lost call (a worker killed mid-write
	// waits out its timeout) never holds back the next timer, and the
	// board turns red before the actions run.
	fx := newEffects(ctx, &in)
	var owed []breach // breaches whose actions wait for the state write
	breached := func(kinds []ClockKind, at time.Time) {
		for _, k := range kinds {
			owed = append(owed, breach{kind: k, at: at, priority: c.priority})
		}
	}
	events := workflow.GetSignalChannel(ctx, SignalTicketEvent)
	updates := workflow.GetSignalChannel(ctx, SignalPolicyUpdate)
	limit := cmp.Or(in.HistoryLimit, DefaultHistoryLimit)
	receive := func(ev TicketEvent) {
		if c.repeat(ev) {
			logger.Debug("Repeated ticket event ignored", "version", ev.Version, "part", ev.Part)
			return
		}
		now := workflow.Now(ctx)
		// Deadlines that passed before the event count first: a reply that
		// comes after the due time is late even if the timer has not fired
		// yet (both can arrive in one workflow task).
		breached(c.fire(c.eventTime(ev, now)), now)
		if err := c.apply(ev, now); err != nil {
			logger.Warn("Ticket event ignored", "error", err)
		}
	}
	update := func(p policy.Spec) {
		if p.Name != in.Policy.Name {
			return
		}
		now := workflow.Now(ctx)
		breached(c.fire(now), now) // what fell due under the old targets
		if err := c.updatePolicy(p, now); err != nil {
			logger.Warn("Policy update ignored", "policy", p.Name, "error", err)
			return
		}
		in.Policy = p
	}

	// The signals that came with this run's first task count first, each
	// at its own instant, before the deadlines passed by then are fired:
	// a first task delayed until the first deadline (the relay's start
	// delay), or held up while no worker ran, must not warn or breach for
	// a clock that a reply in the meantime had met.
	for {
		var p policy.Spec
		if !updates.ReceiveAsync(&p) {
			break
		}
		update(p)
	}
	for {
		var ev TicketEvent
		if !events.ReceiveAsync(&ev) {
			break
		}
		receive(ev)
	}

	var (
		written     []ClockStatus
		wrote       bool
		timerAt     time.Time
		timer       workflow.Future
		cancelTimer workflow.CancelFunc
	)
	for {
		now := workflow.Now(ctx)
		breached(c.fire(now), now)
		var esc Escalation
		if in.Revision >= RevisionEscalateWithState {
			esc = escalation(in.Policy.BreachActions, owed)
		}
		if st := c.snapshot(&in, now); !wrote || !sameClocks(written, st.Clocks) || esc != (Escalation{}) {
			fx.write(st, esc)
			written, wrote = st.Clocks, true
		}
		for _, b := range owed {
			fx.act(b)
		}
		owed = nil
		if c.st.Closed {
			fx.drain()
			return nil
		}
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() >= limit {
			// Finish the side effects, take in the signals (policy updates,
			// ticket events) already delivered to this run, then carry the
			// clocks over; after a drained signal the loop goes round once
			// more.
			fx.drain()
			drained := false
			for {
				var p policy.Spec
				if !updates.ReceiveAsync(&p) {
					break
				}
				update(p)
				drained = true
			}
			for {
				var ev TicketEvent
				if !events.ReceiveAsync(&ev) {
					break
				}
				receive(ev)
				drained = true
			}
			if !drained {
				next := in
				next.Status, next.Priority = c.status, c.priority
				st := c.st
				next.State = &st
				// The next run's history starts afresh: it can follow
				// the latest behaviour.
				next.Revision = LatestRevision
				return workflow.NewContinueAsNewError(ctx, SLAEscalationWorkflow, next)
			}
			continue
		}

		// One timer, for the earliest warning or breach; replaced only
		// when that instant moves. Sleeps are computed from absolute
		// instants, rounded up to the timer resolution.
		if next := c.next(); !next.Equal(timerAt) {
			if cancelTimer != nil {
				cancelTimer()
			}
			timer, cancelTimer, timerAt = nil, nil, next
			if !next.IsZero() {
				d := max(next.Sub(now), time.Millisecond)
				if r := d % time.Millisecond; r != 0 {
					d += time.Millisecond - r
				}
				var tctx workflow.Context
				tctx, cancelTimer = workflow.WithCancel(ctx)
				timer = workflow.NewTimer(tctx, d)
			}
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(updates, func(ch workflow.ReceiveChannel, _ bool) {
			var p policy.Spec
			ch.Receive(ctx, &p)
			update(p)
		})
		sel.AddReceive(events, func(ch workflow.ReceiveChannel, _ bool) {
			var ev TicketEvent
			ch.Receive(ctx, &ev)
			receive(ev)
		})
		if timer != nil {
			sel.AddFuture(timer, func(workflow.Future) {
				timer, cancelTimer, timerAt = nil, nil, time.Time{}
			})
		}
		sel.Select(ctx)
	}
}

// breach is a clock that breached at an instant, at a ticket priority.
type breach struct {
	kind     ClockKind
	at       time.Time
	priority int
}

// effects carries out the workflow's side effects beside the clock loop,
// which never waits on them. State writes run concurrently (the ticket
// keeps the latest by Report.UpdatedAt, so a write retried after a lost
// worker cannot hold back or undo a newer one); breach actions run one
// after another in a coroutine, in order.
type effects struct {
	ctx     workflow.Context
	in      *Input
	actions []breach // queued for the coroutine
	busy    bool     // the coroutine is running actions
	writes  int      // state writes in flight
}

func newEffects(ctx workflow.Context, in *Input) *effects {
	e := &effects{ctx: ctx, in: in}
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			if err := workflow.Await(ctx, func() bool { return len(e.actions) > 0 }); err != nil {
				return // the workflow is ending
			}
			b := e.actions[0]
			e.actions, e.busy = e.actions[1:], true
			runBreachActions(ctx, e.in, b.kind, b.at, b.priority)
			e.busy = false
		}
	})
	return e
}

// write writes st to the ticket, with the escalation of the breaches it
// records if there is one, as a local activity.
func (e *effects) write(st Report, esc Escalation) {
	var a *Activities
	lctx := workflow.WithLocalActivityOptions(e.ctx, localActivityOptions)
	var f workflow.Future
	if esc == (Escalation{}) {
		f = workflow.ExecuteLocalActivity(lctx, a.WriteSLA, st)
	} else {
		f = workflow.ExecuteLocalActivity(lctx, a.Escalate, EscalateInput{State: st, Escalation: esc})
	}
	e.writes++
	workflow.Go(e.ctx, func(ctx workflow.Context) {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("Write SLA state failed", "error", err)
		}
		e.writes--
	})
}

// act queues a breach's actions.
func (e *effects) act(b breach) {
	e.actions = append(e.actions, b)
}

// drain waits until every effect started has finished.
func (e *effects) drain() {
	_ = workflow.Await(e.ctx, func() bool { return len(e.actions) == 0 && !e.busy && e.writes == 0 })
}

// escalation is what the breaches in owed, in order, do to the ticket
// through the policy's reassign and raisePriority actions: the last group
// named, and a raise from the priority of the last breach (the ticket is
// raised at most one step per state write, as the actions of breaches at
// one priority raise it once).
func escalation(actions []v1alpha1.BreachAction, owed []breach) Escalation {
	var e Escalation
	for _, b := range owed {
		for _, a := range actions {
			switch a.Type {
			case v1alpha1.BreachReassign:
				e.Group = a.Group
			case v1alpha1.BreachRaisePriority:
				e.RaiseFrom = b.priority
			}
		}
	}
	return e
}

// runBreachActions carries out the policy's breach actions in order: the
// ticket API calls as local activities, webhooks as activities. From
// RevisionEscalateWithState on, reassign and raisePriority are left out:
// the state write that records the breach did them. A failed action is
// logged; the others still run.
func runBreachActions(ctx workflow.Context, in *Input, k ClockKind, at time.Time, priority int) {
	var a *Activities
	local := workflow.WithLocalActivityOptions(ctx, localActivityOptions)
	for _, action := range in.Policy.BreachActions {
		if in.Revision >= RevisionEscalateWithState && (action.Type == v1alpha1.BreachReassign || action.Type == v1alpha1.BreachRaisePriority) {
			continue
		}
		bi := BreachInput{
			Tenant: in.Tenant, TicketID: in.TicketID, Policy: in.Policy.Name,
			Clock: k, At: at, Action: action, Priority: priority,
		}
		var f workflow.Future
		switch action.Type {
		case v1alpha1.BreachNotify:
			f = workflow.ExecuteLocalActivity(local, a.Notify, bi)
		case v1alpha1.BreachReassign:
			f = workflow.ExecuteLocalActivity(local, a.Reassign, bi)
		case v1alpha1.BreachRaisePriority:
			f = workflow.ExecuteLocalActivity(local, a.RaisePriority, bi)
		case v1alpha1.BreachWebhook:
			f = workflow.ExecuteActivity(ctx, a.CallWebhook, bi)
		default:
			workflow.GetLogger(ctx).Warn("Unknown breach action skipped", "type", action.Type)
			continue
		}
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("Breach action failed", "type", action.Type, "clock", k, "error", err)
		}
	}
}
