package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

// Claim gives t to the claiming user, if it is still unassigned, the
// user is a member of its group (or supervises), and the user has room
// on its channel. Of concurrent claims exactly one wins: the load
// ledger's hold on the ticket is taken once, and the ticket service
// applies the assignment only to a ticket still unassigned.
func (r *Router) Claim(ctx context.Context, tenantID string, t *ticketv1.Ticket, user User, supervises bool) (Decision, error) {
	number := ticketLabel(t)
	if !open(t) {
		return Decision{}, status.Errorf(codes.Aborted, "%s is %s; only an open ticket can be claimed", number, statusName(t))
	}
	if a := t.GetAssignee(); a != "" {
		if a == user.ID {
			return r.lastDecision(ctx, tenantID, t.GetId())
		}
		return Decision{}, r.takenBy(ctx, tenantID, number, a)
	}
	g, err := r.Store.GetGroup(ctx, tenantID, t.GetGroup())
	if errors.Is(err, ErrNotFound) || t.GetGroup() == "" {
		return Decision{}, status.Errorf(codes.FailedPrecondition, "%s is in no routing group (group %q); ask a supervisor to assign or transfer it", number, t.GetGroup())
	}
	if err != nil {
		return Decision{}, storeError(err, "group "+t.GetGroup())
	}
	if !slices.Contains(g.Members, user.ID) && !supervises {
		return Decision{}, status.Errorf(codes.PermissionDenied, "%s is in group %s, which you are not a member of; only its members claim its tickets", number, g.ID)
	}
	channel := ChannelName(t.GetChannel())
	start := time.Now()
	d, err := func() (Decision, error) {
		unlock := r.lock(tenantID)
		defer unlock()
		if held, ok, err := r.Store.Assignment(ctx, tenantID, t.GetId()); err != nil {
			return Decision{}, storeError(err, "claim")
		} else if ok && held.Agent == user.ID {
			return Decision{}, errClaimedAlready // a retry of the caller's own claim
		} else if ok {
			// Lost the race: the ticket's event has not shown the winner
			// yet, but the ledger does. Refused here, each loser of a race
			// holds the tenant's lock for one read instead of a
			// transaction that Assign would refuse the same way.
			return Decision{}, r.takenBy(ctx, tenantID, number, held.Agent)
		}
		prof, err := r.Store.GetAgent(ctx, tenantID, user.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Decision{}, storeError(err, "agent "+user.ID)
		}
		now := r.now()
		d := Decision{
			Tenant: tenantID, ID: newDecisionID(), TicketID: t.GetId(), Trigger: TriggerClaim, Outcome: Assigned,
			Group: g.ID, Agent: user.ID, Strategy: g.Strategy, ActorID: user.ID, ActorDisplayName: user.DisplayName, CreateTime: now,
			Notes: []Reason{{Code: "note.claimed", Args: map[string]string{"agent": user.ID}}},
		}
		a := Assignment{Tenant: tenantID, TicketID: t.GetId(), Agent: user.ID, Group: g.ID, Channel: channel, AssignTime: now, DecisionID: d.ID}
		limit := prof.CapacityFor(channel)
		err = r.Store.Assign(ctx, a, limit, false, d)
		var taken *TakenError
		var full *CapacityError
		switch {
		case errors.As(err, &taken):
			return Decision{}, r.takenBy(ctx, tenantID, number, taken.Agent)
		case errors.As(err, &full):
			return Decision{}, status.Errorf(codes.Aborted, "%s: you hold %d of %d %s tickets, your capacity; solve or hand one on before claiming another", number, full.Load, full.Limit, channel)
		case err != nil:
			return Decision{}, storeError(err, "claim")
		}
		r.observe(d, start)
		return d, nil
	}()
	if errors.Is(err, errClaimedAlready) {
		return r.lastDecision(ctx, tenantID, t.GetId())
	}
	if err != nil {
		return Decision{}, err
	}
	overtaken, err := r.applyDecision(ctx, tenantID, t, d, false)
	if err != nil {
		return Decision{}, status.Errorf(codes.Unavailable, "%s: the claim is recorded but not yet on the ticket (it will be): %v", number, err)
	}
	if overtaken {
		current, err := r.Tickets.GetTicket(ctx, tenantID, t.GetId())
		if err == nil && current.GetAssignee() == user.ID {
			return r.lastDecision(ctx, tenantID, t.GetId())
		}
		if err == nil && current.GetAssignee() != "" {
			return Decision{}, r.takenBy(ctx, tenantID, number, current.GetAssignee())
		}
		return Decision{}, status.Errorf(codes.Aborted, "%s changed while you claimed it; reload it and try again", number)
	}
	r.Kick(tenantID)
	return d, nil
}

// errClaimedAlready: the claimer holds the ticket already.
var errClaimedAlready = errors.New("claimed by the caller already")

// takenBy is the refusal of a claim the named agent won.
func (r *Router) takenBy(ctx context.Context, tenantID, number, agent string) error {
	name := r.names(ctx, tenantID)(agent)
	if name != agent {
		name = fmt.Sprintf("%s (%s)", name, agent)
	}
	return status.Errorf(codes.Aborted, "%s was claimed by %s", number, name)
}

// lastDecision is the ticket's latest decision (a claim retried by its
// winner returns the claim).
func (r *Router) lastDecision(ctx context.Context, tenantID, ticketID string) (Decision, error) {
	var last Decision
	for after := ""; ; {
		ds, err := r.Store.Decisions(ctx, tenantID, ticketID, after, 100)
		if err != nil {
			return Decision{}, storeError(err, "routing decisions")
		}
		if len(ds) == 0 {
			return last, nil
		}
		last = ds[len(ds)-1]
		after = last.ID
	}
}

// Transfer is a request to move a ticket.
type Transfer struct {
	Group string // the group to move to; "" keeps the ticket's
	Agent string // the agent to give it to; "" lets the group choose
	Note  string // the internal note saying why
	By    User   // who transfers
}

// Transfer moves t to another group, which routes it by its strategy, or
// straight to an agent who is online and has room.
func (r *Router) Transfer(ctx context.Context, tenantID string, t *ticketv1.Ticket, tr Transfer) (Decision, error) {
	number := ticketLabel(t)
	if !open(t) {
		return Decision{}, status.Errorf(codes.FailedPrecondition, "%s is %s; reopen it before transferring it", number, statusName(t))
	}
	group := tr.Group
	if group == "" {
		group = t.GetGroup()
	}
	g, err := r.Store.GetGroup(ctx, tenantID, group)
	switch {
	case errors.Is(err, ErrNotFound) && tr.Group != "":
		return Decision{}, status.Errorf(codes.InvalidArgument, "group: %q is not a routing group of this tenant", tr.Group)
	case errors.Is(err, ErrNotFound):
		g = Group{Tenant: tenantID, ID: group}
	case err != nil:
		return Decision{}, storeError(err, "group "+group)
	}
	notes := []Reason{{Code: "note.transferred", Args: map[string]string{"by": tr.By.ID}}}
	if tr.Agent == "" {
		if tr.Group == "" {
			return Decision{}, status.Error(codes.InvalidArgument, "group, agent: name the group or the agent to transfer the ticket to (or both)")
		}
		d, err := r.decide(ctx, tenantID, t, routeOpts{
			trigger: TriggerTransfer, group: g.ID, unassign: true, notes: notes, actor: tr.By, note: tr.Note,
			exclude: t.GetAssignee(), // a transfer hands the ticket on
		})
		if err != nil {
			return Decision{}, err
		}
		if overtaken, err := r.applyDecision(ctx, tenantID, t, *d, true); err != nil || overtaken {
			return Decision{}, changedError(number, err)
		}
		return *d, nil
	}
	agent, err := r.Users.User(ctx, tenantID, tr.Agent)
	if status.Code(err) == codes.NotFound || (err == nil && !agent.Agent) {
		return Decision{}, status.Errorf(codes.InvalidArgument, "agent: %q is not an agent of this tenant; accepted: the ID of an active user with the agent, supervisor or admin role", tr.Agent)
	}
	if err != nil {
		return Decision{}, status.Errorf(codes.Unavailable, "agent: cannot look %q up: %v", tr.Agent, err)
	}
	name := agent.DisplayName
	if name == "" {
		name = agent.ID
	}
	if tr.Group != "" && !slices.Contains(g.Members, tr.Agent) {
		return Decision{}, status.Errorf(codes.InvalidArgument, "agent: %s is not a member of group %s; transfer to the group, or to one of its members", name, g.ID)
	}
	channel := ChannelName(t.GetChannel())
	start := time.Now()
	d, err := func() (Decision, error) {
		unlock := r.lock(tenantID)
		defer unlock()
		prof, err := r.Store.GetAgent(ctx, tenantID, tr.Agent)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Decision{}, storeError(err, "agent "+tr.Agent)
		}
		if prof.Presence != Online {
			p := prof.Presence
			if p == "" {
				p = Offline
			}
			return Decision{}, status.Errorf(codes.FailedPrecondition, "agent: %s is %s and takes no tickets now; transfer to the group, or to an online agent", name, p)
		}
		now := r.now()
		d := Decision{
			Tenant: tenantID, ID: newDecisionID(), TicketID: t.GetId(), Trigger: TriggerTransfer, Outcome: Assigned,
			Group: g.ID, Agent: tr.Agent, Strategy: g.Strategy, ActorID: tr.By.ID, ActorDisplayName: tr.By.DisplayName,
			CreateTime: now, Notes: notes, Actions: Actions{Note: tr.Note},
		}
		if held, ok, err := r.Store.Assignment(ctx, tenantID, t.GetId()); err != nil {
			return Decision{}, storeError(err, "transfer")
		} else if ok && held.Agent != tr.Agent {
			if _, _, err := r.Store.Unassign(ctx, tenantID, t.GetId()); err != nil {
				return Decision{}, storeError(err, "transfer")
			}
		}
		a := Assignment{Tenant: tenantID, TicketID: t.GetId(), Agent: tr.Agent, Group: g.ID, Channel: channel, AssignTime: now, DecisionID: d.ID}
		err = r.Store.Assign(ctx, a, prof.CapacityFor(channel), false, d)
		var full *CapacityError
		var taken *TakenError
		switch {
		case errors.As(err, &full):
			return Decision{}, status.Errorf(codes.FailedPrecondition, "agent: %s holds %d of %d %s tickets, its capacity; transfer to the group instead", name, full.Load, full.Limit, channel)
		case errors.As(err, &taken):
			return Decision{}, status.Errorf(codes.Aborted, "%s changed while you transferred it; reload it and try again", number)
		case err != nil:
			return Decision{}, storeError(err, "transfer")
		}
		r.observe(d, start)
		return d, nil
	}()
	if err != nil {
		return Decision{}, err
	}
	if overtaken, err := r.applyDecision(ctx, tenantID, t, d, false); err != nil || overtaken {
		return Decision{}, changedError(number, err)
	}
	return d, nil
}

func changedError(number string, err error) error {
	if err != nil {
		return status.Errorf(codes.Unavailable, "%s: the transfer is recorded but not yet on the ticket (it will be): %v", number, err)
	}
	return status.Errorf(codes.Aborted, "%s changed while you transferred it; reload it and try again", number)
}

// ticketLabel is how messages name a ticket: "ticket #42".
func ticketLabel(t *ticketv1.Ticket) string {
	if n := t.GetNumber(); n > 0 {
		return fmt.Sprintf("ticket #%d", n)
	}
	return fmt.Sprintf("ticket %s", t.GetId())
}

func statusName(t *ticketv1.Ticket) string {
	return map[ticketv1.Status]string{ticketv1.Status_STATUS_SOLVED: "solved", ticketv1.Status_STATUS_CLOSED: "closed"}[t.GetStatus()]
}
