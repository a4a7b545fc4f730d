package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/workflows/calendar"
)

// ConsumerName is the routing service's name as a follower of the ticket
// events: the key of its stored cursors.
const ConsumerName = "routing"

// EventTypes are the ticket events the router follows.
var EventTypes = []ticketv1.EventType{
	ticketv1.EventType_EVENT_TYPE_TICKET_CREATED,
	ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED,
	ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED,
}

// Tickets is what the router calls of the ticket service.
type Tickets interface {
	GetTicket(ctx context.Context, tenantID, id string) (*ticketv1.Ticket, error)
	AssignTicket(ctx context.Context, tenantID string, in *ticketv1.AssignTicketRequest) (*ticketv1.AssignTicketResponse, error)
}

// Directory tells the router about users: their names (for the
// explanations) and whether they may work tickets.
type Directory interface {
	User(ctx context.Context, tenantID, id string) (User, error)
}

// User is what the router knows of a user.
type User struct {
	ID          string
	DisplayName string
	Locale      string
	Agent       bool // holds the agent, supervisor or admin role, and is active
}

// Router takes the routing decisions: it follows the ticket events
// (Handle), serves claims and transfers, and runs the periodic sweep
// (queues, overflow, lapsed presence, offline agents' tickets).
type Router struct {
	Store     Store
	Rules     Rules
	Tickets   Tickets
	Users     Directory
	Customers Customers // nil: tiers and organisations come from custom fields only
	// Locale is a tenant's language for the explanation the ticket's
	// events carry.
	Locale func(tenantID string) string
	// OfflineGrace is how long an offline agent keeps its unanswered
	// tickets before they return to their queues.
	OfflineGrace time.Duration
	Now          func() time.Time
	Log          *slog.Logger
	// Meter makes the decision metrics; nil: the global meter provider's.
	Meter metric.Meter

	mu      sync.Mutex
	tenants map[string]*sync.Mutex
	applied map[string][]string // tenant -> decisions applied, not yet marked
	cals    sync.Map            // group key -> *calendarEntry
	kicks   sync.Map            // tenant -> chan struct{}
	metrics metrics
}

type calendarEntry struct {
	version int64
	cal     *calendar.Calendar
}

func (r *Router) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Router) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// lock serialises one tenant's decisions in this process, so that round
// robin turns and capacity are read and written in order.
func (r *Router) lock(tenantID string) func() {
	r.mu.Lock()
	if r.tenants == nil {
		r.tenants = map[string]*sync.Mutex{}
	}
	m, ok := r.tenants[tenantID]
	if !ok {
		m = &sync.Mutex{}
		r.tenants[tenantID] = m
	}
	r.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (r *Router) kick(tenantID string) chan struct{} {
	ch, _ := r.kicks.LoadOrStore(tenantID, make(chan struct{}, 1))
	return ch.(chan struct{})
}

// Kicked returns the channel that is signalled when a tenant's queues
// may move (an agent came online, a ticket was solved).
func (r *Router) Kicked(tenantID string) <-chan struct{} { return r.kick(tenantID) }

// Kick signals that a tenant's queues may move.
func (r *Router) Kick(tenantID string) {
	select {
	case r.kick(tenantID) <- struct{}{}:
	default:
	}
}

// Handle acts on one ticket event. It is idempotent: a decision taken
// for an event is stored under the event's cursor, so an event that
// comes again re-applies that decision instead of taking another.
func (r *Router) Handle(ctx context.Context, ev *ticketv1.Event) error {
	t := ev.GetTicket()
	if t == nil {
		return nil
	}
	tenantID := t.GetTenant()
	ctx = tenant.With(ctx, tenantID)
	switch ev.GetType() {
	case ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED:
		c := ev.GetComment()
		if c.GetVisibility() != ticketv1.Visibility_VISIBILITY_PUBLIC {
			return nil
		}
		a, held, err := r.Store.Assignment(ctx, tenantID, t.GetId())
		if err != nil || !held || a.Answered || c.GetActor().GetId() != a.Agent {
			return err
		}
		return r.Store.MarkAnswered(ctx, tenantID, t.GetId())
	case ticketv1.EventType_EVENT_TYPE_TICKET_CREATED:
		t, pending, err := r.reconcile(ctx, tenantID, t)
		if err != nil || pending {
			return err
		}
		if t.GetAssignee() != "" || !open(t) {
			return nil
		}
		return r.route(ctx, tenantID, t, routeOpts{trigger: TriggerCreated, key: "event:" + ev.GetCursor(), rules: true})
	case ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED:
		t, pending, err := r.reconcile(ctx, tenantID, t)
		if err != nil || pending {
			return err
		}
		if ev.GetRouting() != nil {
			return nil // the router's own change
		}
		if !open(t) {
			r.Kick(tenantID) // room for another ticket
			return nil
		}
		var groupChanged, unassigned bool
		var from string
		for _, c := range ev.GetChanges() {
			switch c.GetField() {
			case "group":
				groupChanged = true
			case "assignee":
				unassigned = t.GetAssignee() == ""
				from = c.GetBefore().GetStringValue()
			case "status":
				r.Kick(tenantID)
			}
		}
		key := "event:" + ev.GetCursor()
		switch {
		case groupChanged:
			if t.GetAssignee() != "" {
				if g, err := r.Store.GetGroup(ctx, tenantID, t.GetGroup()); err != nil || slices.Contains(g.Members, t.GetAssignee()) {
					return nil // not a routing group, or the agent is in it: the ticket stays
				}
			}
			return r.route(ctx, tenantID, t, routeOpts{trigger: TriggerGroupChanged, key: key, unassign: t.GetAssignee() != ""})
		case unassigned:
			r.Kick(tenantID)
			return r.route(ctx, tenantID, t, routeOpts{trigger: TriggerReturned, key: key, exclude: from, notes: []Reason{{Code: "note.unassigned"}}})
		}
	}
	return nil
}

// reconcile brings the load ledger in line with the ticket: who holds
// it, on which channel, and whether it is done. It returns the ticket to
// act on, and pending when a decision is on its way to the ticket (there
// is nothing to act on until its own event comes).
//
// The ticket an event carries may be older than the ledger: events come
// in order for each ticket, but claims, transfers and the queues' drains
// assign tickets outside that order, so an event that shows a ticket
// unassigned may be handled after such an assignment (whose own event is
// still to come), or again after a restart. Taken at its word, it would
// take the ticket off its agent's load, and give the agent room for one
// ticket more than its capacity. So when the event and the ledger
// disagree, the ticket as it is now decides; and while the ticket's last
// decision is not yet applied, the ledger, which has it already, stays as
// it is (applying it either brings the ticket in line, or, overtaken,
// undoes its hold and reconciles again).
func (r *Router) reconcile(ctx context.Context, tenantID string, t *ticketv1.Ticket) (*ticketv1.Ticket, bool, error) {
	if !open(t) {
		return t, false, r.release(ctx, tenantID, t.GetId())
	}
	a, held, err := r.Store.Assignment(ctx, tenantID, t.GetId())
	if err != nil || agrees(t, a, held) {
		return t, false, err
	}
	current, err := r.Tickets.GetTicket(ctx, tenantID, t.GetId())
	switch {
	case status.Code(err) == codes.NotFound:
		return t, false, r.release(ctx, tenantID, t.GetId())
	case err != nil:
		return t, false, err
	case !open(current):
		return current, false, r.release(ctx, tenantID, t.GetId())
	case agrees(current, a, held):
		return current, false, nil // the event is older than the ledger
	}
	last, err := r.lastDecision(ctx, tenantID, t.GetId())
	if err != nil {
		return t, false, err
	}
	if last.ID != "" && !last.Applied && !r.marked(tenantID, last.ID) {
		return current, true, nil
	}
	if who := current.GetAssignee(); who == "" {
		_, _, err = r.Store.Unassign(ctx, tenantID, t.GetId())
	} else {
		err = r.Store.SetAssignment(ctx, Assignment{
			Tenant: tenantID, TicketID: t.GetId(), Agent: who, Group: current.GetGroup(),
			Channel: ChannelName(current.GetChannel()), AssignTime: r.now(),
		})
	}
	return current, false, err
}

// agrees reports whether the ledger's hold on t (held, by a.Agent) is
// the ticket's assignee.
func agrees(t *ticketv1.Ticket, a Assignment, held bool) bool {
	if held {
		return t.GetAssignee() == a.Agent
	}
	return t.GetAssignee() == ""
}

// release takes a ticket that is done (or gone) off the ledger and out of
// its queue.
func (r *Router) release(ctx context.Context, tenantID, ticketID string) error {
	if _, _, err := r.Store.Unassign(ctx, tenantID, ticketID); err != nil {
		return err
	}
	return r.Store.Dequeue(ctx, tenantID, ticketID)
}

type routeOpts struct {
	trigger  Trigger
	key      string
	rules    bool   // run the rules (on creation)
	group    string // route in this group rather than the ticket's
	exclude  string // an agent not to pick
	unassign bool   // the ticket's current assignee goes (group changed)
	notes    []Reason
	actor    User
	note     string             // an internal note for the ticket
	skills   []SkillRequirement // required when the rules do not run (a ticket moving on)
}

// route decides for t and applies the decision.
func (r *Router) route(ctx context.Context, tenantID string, t *ticketv1.Ticket, o routeOpts) error {
	d, err := r.decide(ctx, tenantID, t, o)
	if err != nil || d == nil {
		return err
	}
	return r.apply(ctx, tenantID, t, *d, o.unassign)
}

// decide takes and stores the decision for t; a decision stored under
// o.key already is returned as it was (nil result: nothing to add).
//
// What depends on no other decision (the decision stored under the key,
// the rules and the customer they read, the group) is read before the
// tenant's lock is taken: the lock serialises every decision of the
// tenant, and a call to another module under it would hold them all up.
// Two decisions under one key are not taken at once anyway (an event is
// handled by one lane at a time, the sweeps by one goroutine), and the
// store refuses the second (ErrDuplicate).
func (r *Router) decide(ctx context.Context, tenantID string, t *ticketv1.Ticket, o routeOpts) (*Decision, error) {
	start := time.Now()
	if o.key != "" {
		if d, found, err := r.Store.DecisionByKey(ctx, tenantID, o.key); err != nil || found {
			if found && !d.Applied {
				return &d, nil
			}
			return nil, err
		}
	}
	res := RuleResult{RequireSkills: o.skills}
	if o.rules && r.Rules != nil {
		var cust Customer
		if id := t.GetRequester().GetContactId(); id != "" && r.Customers != nil {
			c, err := r.Customers.Customer(ctx, id)
			if err != nil {
				r.log().Warn("routing without the customer's tier and organisation", "tenant", tenantID, "contact", id, "err", err)
			}
			cust = c
		}
		res = r.Rules.Evaluate(tenantID, factsOf(t, cust), r.now())
	}
	group := o.group
	if group == "" {
		group = res.Group
	}
	if group == "" {
		group = t.GetGroup()
	}
	// The group too: the lock does not keep it from changing (the API
	// changes groups without it).
	g, gerr := Group{}, ErrNotFound
	if group != "" {
		g, gerr = r.Store.GetGroup(ctx, tenantID, group)
	}
	unlock := r.lock(tenantID)
	defer unlock()
	if o.unassign {
		// The current holder lets go, so the group may pick anyone.
		if _, _, err := r.Store.Unassign(ctx, tenantID, t.GetId()); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		d, entry, a, limit, err := r.choose(ctx, tenantID, t, group, g, gerr, res, o)
		if err != nil {
			return nil, err
		}
		switch d.Outcome {
		case Assigned:
			err = r.Store.Assign(ctx, a, limit, d.Strategy == RoundRobin, d)
		case Unrouted:
			err = r.Store.AddDecision(ctx, d)
		default:
			err = r.Store.Enqueue(ctx, entry, d)
		}
		var capErr *CapacityError
		var taken *TakenError
		switch {
		case err == nil:
			r.observe(d, start)
			return &d, nil
		case errors.Is(err, ErrDuplicate):
			return nil, nil
		case (errors.As(err, &capErr) || errors.As(err, &taken)) && attempt < 3:
			// Another replica's claim or decision took the room or the
			// ticket between the read and the write: read again.
			continue
		default:
			return nil, err
		}
	}
}

// choose builds the decision for t in group from the current state; g is
// the group as GetGroup read it, with gerr.
func (r *Router) choose(ctx context.Context, tenantID string, t *ticketv1.Ticket, group string, g Group, gerr error, res RuleResult, o routeOpts) (Decision, QueueEntry, Assignment, int, error) {
	now := r.now()
	d := Decision{
		Tenant: tenantID, ID: uuid.Must(uuid.NewV7()).String(), TicketID: t.GetId(), Key: o.key,
		Trigger: o.trigger, Group: group, Rules: res.Matched, Notes: slices.Clone(o.notes),
		ActorID: o.actor.ID, ActorDisplayName: o.actor.DisplayName, CreateTime: now,
		Actions: Actions{AddTags: res.AddTags, PriorityAtLeast: res.PriorityAtLeast, SetCustomFields: res.SetCustomFields, Note: o.note},
	}
	prio := max(int(t.GetPriority()), 1)
	if res.PriorityAtLeast > 0 {
		prio = min(prio, res.PriorityAtLeast)
	}
	entry := QueueEntry{
		Tenant: tenantID, TicketID: t.GetId(), Group: group, Channel: ChannelName(t.GetChannel()),
		Priority: prio, Skills: res.RequireSkills, TicketCreateTime: t.GetCreateTime().AsTime(), EnqueueTime: now,
	}
	if errors.Is(gerr, ErrNotFound) {
		if group != "" {
			d.Notes = append(d.Notes, Reason{Code: "note.unknown_group", Args: map[string]string{"group": group}})
		}
		d.Outcome = Unrouted
		return d, entry, Assignment{}, 0, nil
	}
	if gerr != nil {
		return d, entry, Assignment{}, 0, gerr
	}
	d.Strategy = g.Strategy
	if g.Strategy == Pool {
		d.Outcome = Offered
		return d, entry, Assignment{}, 0, nil
	}
	if cal := r.calendar(g); cal != nil && !cal.IsOpen(now) {
		d.Outcome = Queued
		d.Notes = append(d.Notes, Reason{Code: "note.group_closed", Args: map[string]string{
			"group": group, "opens": cal.NextOpen(now).In(cal.Location()).Format("2006-01-02 15:04 MST"),
		}})
		return d, entry, Assignment{}, 0, nil
	}
	agents, loads, last, err := r.weigh(ctx, tenantID, g)
	if err != nil {
		return d, entry, Assignment{}, 0, err
	}
	var exclude []string
	if o.exclude != "" {
		exclude = []string{o.exclude}
	}
	p := Choose(Situation{Group: g, Channel: entry.Channel, Skills: res.RequireSkills, Agents: agents, Loads: loads, LastPicked: last, Exclude: exclude})
	d.Candidates = p.Candidates
	if p.Agent == "" {
		d.Outcome = Queued
		return d, entry, Assignment{}, 0, nil
	}
	d.Outcome, d.Agent = Assigned, p.Agent
	a := Assignment{Tenant: tenantID, TicketID: t.GetId(), Agent: p.Agent, Group: group, Channel: entry.Channel, AssignTime: now, DecisionID: d.ID}
	prof := agents[p.Agent]
	return d, entry, a, prof.CapacityFor(entry.Channel), nil
}

// weigh reads what a pick in group g weighs: its members' profiles and
// loads, and the member round robin picked last. The three reads depend
// on nothing but the group, so they run at once: they are made under the
// tenant's lock, which every decision of the tenant waits for.
func (r *Router) weigh(ctx context.Context, tenantID string, g Group) (agents map[string]Agent, loads map[string]map[string]int, last string, err error) {
	reads, rctx := errgroup.WithContext(ctx)
	reads.Go(func() (err error) {
		agents, err = r.Store.AgentsByID(rctx, tenantID, g.Members)
		return err
	})
	reads.Go(func() (err error) {
		loads, err = r.Store.Loads(rctx, tenantID, g.Members)
		return err
	})
	reads.Go(func() (err error) {
		last, err = r.Store.LastPicked(rctx, tenantID, g.ID)
		return err
	})
	err = reads.Wait()
	return agents, loads, last, err
}

// calendar is the group's business calendar; nil when it works around
// the clock or its calendar cannot be built (checked on save).
func (r *Router) calendar(g Group) *calendar.Calendar {
	if len(g.Calendar.WorkingHours) == 0 && len(g.Calendar.Holidays) == 0 {
		return nil
	}
	key := g.Tenant + "/" + g.ID
	if e, ok := r.cals.Load(key); ok && e.(*calendarEntry).version == g.Version {
		return e.(*calendarEntry).cal
	}
	cal, err := CompileCalendar(g.Calendar)
	if err != nil {
		r.log().Warn("group calendar ignored", "group", g.ID, "err", err)
		return nil
	}
	r.cals.Store(key, &calendarEntry{version: g.Version, cal: cal})
	return cal
}

// apply writes the decision to the ticket and marks it applied. A ticket
// that changed meanwhile (another assignee, solved) keeps that change:
// the decision's hold on the ledger is undone and the change's own event
// routes it again if need be.
func (r *Router) apply(ctx context.Context, tenantID string, t *ticketv1.Ticket, d Decision, unassign bool) error {
	_, err := r.applyDecision(ctx, tenantID, t, d, unassign)
	return err
}

// applyDecision is apply, reporting whether the ticket had changed
// (overtaken) so that the decision did not apply.
func (r *Router) applyDecision(ctx context.Context, tenantID string, t *ticketv1.Ticket, d Decision, unassign bool) (overtaken bool, err error) {
	if d.Outcome == Unrouted && d.Actions.IsZero() {
		// Nothing changes on the ticket: no event for it.
		return false, r.markApplied(ctx, tenantID, d)
	}
	in := r.assignRequest(ctx, tenantID, t, d, unassign)
	_, err = r.Tickets.AssignTicket(ctx, tenantID, in)
	switch status.Code(err) {
	case codes.OK:
		return false, r.markApplied(ctx, tenantID, d)
	case codes.Aborted, codes.FailedPrecondition, codes.NotFound:
		r.log().Info("routing decision overtaken by a change to the ticket", "tenant", tenantID, "ticket", t.GetId(), "decision", d.ID, "err", err)
		if d.Outcome == Assigned {
			if a, held, aerr := r.Store.Assignment(ctx, tenantID, t.GetId()); aerr == nil && held && a.DecisionID == d.ID {
				if _, _, err := r.Store.Unassign(ctx, tenantID, t.GetId()); err != nil {
					return true, err
				}
			}
		}
		if err := r.Store.MarkApplied(ctx, tenantID, d.ID); err != nil {
			return true, err
		}
		if current, gerr := r.Tickets.GetTicket(ctx, tenantID, t.GetId()); gerr == nil {
			_, _, err := r.reconcile(ctx, tenantID, current)
			return true, err
		}
		return true, nil
	default:
		return false, fmt.Errorf("apply routing decision %s to ticket %s: %w", d.ID, t.GetId(), err)
	}
}

// markApplied records that the ticket has decision id. The marks are
// written in batches, at the next sweep or every 200 decisions: a decision
// applied but not yet marked when the process stops is applied again
// after the restart, which the ticket service recognises and skips.
//
// Claims and transfers, which any replica serves, mark at once: only the
// replica that holds the routing lease sweeps, and flushes.
func (r *Router) markApplied(ctx context.Context, tenantID string, d Decision) error {
	if d.Trigger == TriggerClaim || d.Trigger == TriggerTransfer {
		return r.Store.MarkApplied(ctx, tenantID, d.ID)
	}
	id := d.ID
	r.mu.Lock()
	if r.applied == nil {
		r.applied = map[string][]string{}
	}
	r.applied[tenantID] = append(r.applied[tenantID], id)
	full := len(r.applied[tenantID]) >= 200
	r.mu.Unlock()
	if full {
		return r.flushApplied(ctx, tenantID)
	}
	return nil
}

// marked reports whether decision id is applied and waits to be marked so.
func (r *Router) marked(tenantID, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.applied[tenantID], id)
}

// flushApplied writes the marks markApplied holds for a tenant.
func (r *Router) flushApplied(ctx context.Context, tenantID string) error {
	r.mu.Lock()
	ids := r.applied[tenantID]
	delete(r.applied, tenantID)
	r.mu.Unlock()
	for len(ids) > 0 {
		n := min(len(ids), 200)
		if err := r.Store.MarkApplied(ctx, tenantID, ids[:n]...); err != nil {
			r.mu.Lock()
			if r.applied == nil {
				r.applied = map[string][]string{}
			}
			r.applied[tenantID] = append(r.applied[tenantID], ids...)
			r.mu.Unlock()
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func (r *Router) assignRequest(ctx context.Context, tenantID string, t *ticketv1.Ticket, d Decision, unassign bool) *ticketv1.AssignTicketRequest {
	lang := English
	if r.Locale != nil {
		lang = LangOf(r.Locale(tenantID))
	}
	names := r.names(ctx, tenantID)
	sum := &ticketv1.RoutingSummary{
		Id: d.ID, Trigger: string(d.Trigger), Outcome: string(d.Outcome), Group: d.Group, Agent: d.Agent,
		Explanation: truncate(Explain(d, lang, names), 8000),
	}
	for _, m := range d.Rules {
		sum.Rules = append(sum.Rules, m.Rule)
	}
	act := d.Actions
	in := &ticketv1.AssignTicketRequest{
		TicketId: t.GetId(), Decision: sum, AddTags: act.AddTags, SetCustomFields: act.SetCustomFields, Note: act.Note,
	}
	if act.PriorityAtLeast > 0 {
		in.PriorityAtLeast = ticketv1.Priority(act.PriorityAtLeast)
	}
	if d.Group != "" && d.Group != t.GetGroup() {
		in.Group = proto.String(d.Group)
	}
	switch {
	case d.Outcome == Assigned:
		in.Assignee = proto.String(d.Agent)
		in.ExpectAssignee = proto.String(t.GetAssignee())
		if unassign || d.Trigger == TriggerTransfer {
			break
		}
		in.ExpectAssignee = proto.String("")
	case unassign && t.GetAssignee() != "":
		in.Assignee = proto.String("")
		in.ExpectAssignee = proto.String(t.GetAssignee())
	}
	return in
}

// names resolves user IDs to display names for one explanation.
func (r *Router) names(ctx context.Context, tenantID string) Names {
	seen := map[string]string{}
	return func(id string) string {
		if n, ok := seen[id]; ok {
			return n
		}
		n := id
		if r.Users != nil {
			if u, err := r.Users.User(ctx, tenantID, id); err == nil && u.DisplayName != "" {
				n = u.DisplayName
			}
		}
		seen[id] = n
		return n
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Sweep does a tenant's periodic work: online agents whose heartbeat
// lapsed become away; the unanswered tickets of agents offline longer
// than the grace return to their queues; tickets queued longer than their
// group's overflow wait move on; queued tickets go to agents who may now
// take them; decisions stored but not applied (a crash between the two)
// are applied.
func (r *Router) Sweep(ctx context.Context, tenantID string) error {
	ctx = tenant.With(ctx, tenantID)
	now := r.now()
	if err := r.flushApplied(ctx, tenantID); err != nil {
		return err
	}
	if _, err := r.Store.LapsePresence(ctx, tenantID, now); err != nil {
		return err
	}
	if err := r.returnFromOffline(ctx, tenantID, now); err != nil {
		return err
	}
	if err := r.overflow(ctx, tenantID, now); err != nil {
		return err
	}
	if err := r.Drain(ctx, tenantID); err != nil {
		return err
	}
	return r.reapply(ctx, tenantID, now.Add(-5*time.Second))
}

func (r *Router) returnFromOffline(ctx context.Context, tenantID string, now time.Time) error {
	after := ""
	for {
		agents, err := r.Store.ListAgents(ctx, tenantID, after, 500)
		if err != nil || len(agents) == 0 {
			return err
		}
		after = agents[len(agents)-1].ID
		for _, a := range agents {
			if a.Presence != Offline || now.Sub(a.PresenceTime) < r.OfflineGrace {
				continue
			}
			held, err := r.Store.Assignments(ctx, tenantID, a.ID)
			if err != nil {
				return err
			}
			for _, h := range held {
				if h.Answered {
					continue
				}
				t, err := r.Tickets.GetTicket(ctx, tenantID, h.TicketID)
				if status.Code(err) == codes.NotFound {
					_, _, _ = r.Store.Unassign(ctx, tenantID, h.TicketID)
					continue
				}
				if err != nil {
					return err
				}
				if t.GetAssignee() != a.ID || !open(t) {
					if _, _, err := r.reconcile(ctx, tenantID, t); err != nil {
						return err
					}
					continue
				}
				if err := r.route(ctx, tenantID, t, routeOpts{
					trigger: TriggerReturned, key: "return:" + h.TicketID + ":" + h.DecisionID + ":" + strconv.FormatInt(h.AssignTime.UnixMicro(), 10),
					exclude: a.ID, unassign: true,
					notes: []Reason{{Code: "note.returned", Args: map[string]string{"agent": a.ID}}},
				}); err != nil {
					return err
				}
			}
		}
	}
}

func (r *Router) overflow(ctx context.Context, tenantID string, now time.Time) error {
	entries, err := r.Store.Queue(ctx, tenantID, "", 10000)
	if err != nil {
		return err
	}
	groups := map[string]*Group{}
	for _, e := range entries {
		g, ok := groups[e.Group]
		if !ok {
			gg, err := r.Store.GetGroup(ctx, tenantID, e.Group)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err == nil {
				g = &gg
			}
			groups[e.Group] = g
		}
		if g == nil || g.Overflow == nil || g.Overflow.Group == "" || now.Sub(e.EnqueueTime) < g.Overflow.After {
			continue
		}
		t, err := r.Tickets.GetTicket(ctx, tenantID, e.TicketID)
		if status.Code(err) == codes.NotFound {
			_ = r.Store.Dequeue(ctx, tenantID, e.TicketID)
			continue
		}
		if err != nil {
			return err
		}
		if !open(t) || t.GetAssignee() != "" || t.GetGroup() != e.Group {
			if _, _, err := r.reconcile(ctx, tenantID, t); err != nil {
				return err
			}
			if t.GetAssignee() != "" || !open(t) {
				_ = r.Store.Dequeue(ctx, tenantID, e.TicketID)
			}
			continue
		}
		if err := r.route(ctx, tenantID, t, routeOpts{
			trigger: TriggerOverflow, group: g.Overflow.Group,
			key:    "overflow:" + e.TicketID + ":" + e.Group + ":" + strconv.FormatInt(e.EnqueueTime.UnixMicro(), 10),
			notes:  []Reason{{Code: "note.overflow", Args: map[string]string{"from": e.Group, "after": g.Overflow.After.String()}}},
			skills: e.Skills,
		}); err != nil {
			return err
		}
	}
	return nil
}

// Drain offers the tenant's queued tickets, highest priority and oldest
// first, to the agents who may take them now.
func (r *Router) Drain(ctx context.Context, tenantID string) error {
	ctx = tenant.With(ctx, tenantID)
	entries, err := r.Store.Queue(ctx, tenantID, "", 10000)
	if err != nil {
		return err
	}
	full := map[string]bool{} // groups with nobody left to take a ticket
	for _, e := range entries {
		if full[e.Group] {
			continue
		}
		g, err := r.Store.GetGroup(ctx, tenantID, e.Group)
		if errors.Is(err, ErrNotFound) {
			full[e.Group] = true
			continue
		}
		if err != nil {
			return err
		}
		if g.Strategy == Pool {
			full[e.Group] = true
			continue
		}
		if cal := r.calendar(g); cal != nil && !cal.IsOpen(r.now()) {
			full[e.Group] = true
			continue
		}
		exclude, err := r.excluded(ctx, tenantID, e.TicketID)
		if err != nil {
			return err
		}
		d, ok, err := r.drainOne(ctx, tenantID, g, e, exclude)
		if err != nil {
			return err
		}
		if !ok {
			// Nobody may take this one; a later ticket of the group may
			// still fit (another channel, other skills).
			continue
		}
		t, err := r.Tickets.GetTicket(ctx, tenantID, e.TicketID)
		if status.Code(err) == codes.NotFound {
			_, _, _ = r.Store.Unassign(ctx, tenantID, e.TicketID)
			continue
		}
		if err != nil {
			return err
		}
		if err := r.apply(ctx, tenantID, t, d, false); err != nil {
			return err
		}
	}
	return nil
}

// excluded is who the decision that queued a ticket left out (the agent
// it was transferred or returned from): the queue does not give it back
// to them.
func (r *Router) excluded(ctx context.Context, tenantID, ticketID string) ([]string, error) {
	last, err := r.lastDecision(ctx, tenantID, ticketID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range last.Candidates {
		if c.Reason.Code == ReasonExcluded {
			out = append(out, c.Agent)
		}
	}
	return out, nil
}

// drainOne picks an agent for one queued ticket and records the
// assignment; ok is false when nobody may take it.
func (r *Router) drainOne(ctx context.Context, tenantID string, g Group, e QueueEntry, exclude []string) (Decision, bool, error) {
	start := time.Now()
	unlock := r.lock(tenantID)
	defer unlock()
	agents, loads, last, err := r.weigh(ctx, tenantID, g)
	if err != nil {
		return Decision{}, false, err
	}
	p := Choose(Situation{Group: g, Channel: e.Channel, Skills: e.Skills, Agents: agents, Loads: loads, LastPicked: last, Exclude: exclude})
	if p.Agent == "" {
		return Decision{}, false, nil
	}
	now := r.now()
	d := Decision{
		Tenant: tenantID, ID: uuid.Must(uuid.NewV7()).String(), TicketID: e.TicketID, Trigger: TriggerAgentAvailable,
		Outcome: Assigned, Group: g.ID, Agent: p.Agent, Strategy: g.Strategy, Candidates: p.Candidates, CreateTime: now,
	}
	a := Assignment{Tenant: tenantID, TicketID: e.TicketID, Agent: p.Agent, Group: g.ID, Channel: e.Channel, AssignTime: now, DecisionID: d.ID}
	err = r.Store.Assign(ctx, a, agents[p.Agent].CapacityFor(e.Channel), g.Strategy == RoundRobin, d)
	var capErr *CapacityError
	var taken *TakenError
	if errors.As(err, &capErr) || errors.As(err, &taken) {
		return Decision{}, false, nil
	}
	if err == nil {
		r.observe(d, start)
	}
	return d, err == nil, err
}

// reapply applies decisions stored but never applied.
func (r *Router) reapply(ctx context.Context, tenantID string, olderThan time.Time) error {
	ds, err := r.Store.Unapplied(ctx, tenantID, olderThan, 100)
	if err != nil {
		return err
	}
	for _, d := range ds {
		t, err := r.Tickets.GetTicket(ctx, tenantID, d.TicketID)
		if status.Code(err) == codes.NotFound {
			_ = r.Store.MarkApplied(ctx, tenantID, d.ID)
			continue
		}
		if err != nil {
			return err
		}
		if err := r.apply(ctx, tenantID, t, d, d.Outcome != Assigned || d.Trigger == TriggerReturned || d.Trigger == TriggerGroupChanged); err != nil {
			return err
		}
	}
	return nil
}
