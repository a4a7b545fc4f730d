package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kubedesk/kubedesk/services/routing"
)

const assignmentColumns = `tenant, ticket_id, agent, group_id, channel, answered, assign_time, decision_id`

func scanAssignment(r scanner) (routing.Assignment, error) {
	var (
		a  routing.Assignment
		at dbTime
	)
	if err := r.Scan(&a.Tenant, &a.TicketID, &a.Agent, &a.Group, &a.Channel, &a.Answered, &at, &a.DecisionID); err != nil {
		return routing.Assignment{}, err
	}
	a.AssignTime = at.t
	return a, nil
}

// checkAssignment refuses what the ledger cannot keep, naming the field.
func checkAssignment(a routing.Assignment) error {
	ts := []text{{"tenant", a.Tenant}, {"ticket id", a.TicketID}, {"agent", a.Agent}}
	if err := checkText(append(ts, text{"group", a.Group}, text{"channel", a.Channel}, text{"decision id", a.DecisionID})...); err != nil {
		return err
	}
	return required(ts...)
}

// checkAssign checks Assign's arguments: the assignment and its decision
// are about one ticket of one tenant.
func checkAssign(a routing.Assignment, roundRobin bool, d routing.Decision) error {
	if err := checkAssignment(a); err != nil {
		return err
	}
	if err := checkDecision(d); err != nil {
		return err
	}
	switch {
	case d.Tenant != a.Tenant:
		return fmt.Errorf("decision tenant %q: must be the assignment's, %q", d.Tenant, a.Tenant)
	case d.TicketID != a.TicketID:
		return fmt.Errorf("decision ticket id %q: must be the assignment's, %q", d.TicketID, a.TicketID)
	case a.DecisionID != "" && a.DecisionID != d.ID:
		return fmt.Errorf("decision id %q: must be empty or the decision's, %q", a.DecisionID, d.ID)
	case roundRobin && a.Group == "":
		return errors.New("group: is required to record a round-robin pick")
	}
	return nil
}

// Assign implements routing.Store in one transaction: store the decision
// (its key first, so that a redelivered event is ErrDuplicate whatever
// happened to the ticket since), then check the holder and the agent's
// load, then write the ledger row, dequeue, and record the agent's last
// assignment and the round-robin pick. Assigning a ticket to the agent
// that holds it stores the decision and changes nothing else: no capacity
// check, the row's assign time and answered flag kept. A new row is
// unanswered, assigned at a.AssignTime (now when zero), with d's ID; d is
// created at d.CreateTime (now when zero).
//
// The routing service assigns under a lock of its own, so the time this
// takes is time every other decision of the tenant waits: on PostgreSQL
// the statements go in two batches, one round trip each, instead of one
// round trip a statement (the locks, the decision and the checks' read;
// then the writes).
func (e *engine) Assign(ctx context.Context, a routing.Assignment, limit int, roundRobin bool, d routing.Decision) error {
	if err := checkAssign(a, roundRobin, d); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	a.DecisionID, a.Answered, a.AssignTime = d.ID, false, orNow(a.AssignTime)
	err := e.d.tx(ctx, func(q queryer) error {
		var (
			stored int64
			holder *string
			load   int64
		)
		err := q.batch(ctx, append(e.locks(agentLock(a.Tenant, a.Agent), ticketLock(a.Tenant, a.TicketID)),
			e.decisionStmt(d, &stored),
			stmt{sql: `SELECT
				(SELECT agent FROM routing_assignments WHERE tenant = ? AND ticket_id = ?),
				(SELECT count(*) FROM routing_assignments WHERE tenant = ? AND agent = ? AND channel = ?)`,
				args: []any{a.Tenant, a.TicketID, a.Tenant, a.Agent, a.Channel},
				scan: func(r scanner) error { return r.Scan(&holder, &load) }},
		)...)
		switch {
		case err != nil:
			return e.decisionError(d, err)
		case stored != 1:
			return fmt.Errorf("decision key %q: %w", d.Key, routing.ErrDuplicate)
		case holder != nil:
			return holderError(*holder, a.Agent)
		case limit >= 0 && load >= int64(limit):
			return &routing.CapacityError{Agent: a.Agent, Channel: a.Channel, Load: int(load), Limit: limit}
		}
		// A writer that took no ticket lock may have inserted the ticket
		// since: on PostgreSQL the insert waits for it and, once it
		// commits, writes nothing, and the holder is read again. The
		// writes after it apply only to the row it inserted (the one
		// with d's ID), so that assigning to the agent that got the
		// ticket so still changes nothing else.
		var inserted int64
		mine := `EXISTS (SELECT 1 FROM routing_assignments WHERE tenant = ? AND ticket_id = ? AND decision_id = ?)`
		writes := []stmt{
			{sql: `INSERT INTO routing_assignments (` + assignmentColumns + `)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, ticket_id) DO NOTHING`,
				args: []any{a.Tenant, a.TicketID, a.Agent, a.Group, a.Channel, false, e.ts(a.AssignTime), a.DecisionID}, n: &inserted},
			{sql: `DELETE FROM routing_queue WHERE tenant = ? AND ticket_id = ? AND ` + mine,
				args: []any{a.Tenant, a.TicketID, a.Tenant, a.TicketID, d.ID}},
			{sql: `INSERT INTO routing_agents (` + agentColumns + `)
				SELECT ?, ?, '[]', '{}', 'offline', NULL, NULL, ?, 0 WHERE ` + mine + `
				ON CONFLICT (tenant, id) DO UPDATE SET last_assign_time = excluded.last_assign_time`,
				args: []any{a.Tenant, a.Agent, e.ts(a.AssignTime), a.Tenant, a.TicketID, d.ID}},
		}
		if roundRobin {
			writes = append(writes, stmt{sql: `INSERT INTO routing_round_robin (tenant, group_id, last_agent)
				SELECT ?, ?, ? WHERE ` + mine + `
				ON CONFLICT (tenant, group_id) DO UPDATE SET last_agent = excluded.last_agent`,
				args: []any{a.Tenant, a.Group, a.Agent, a.Tenant, a.TicketID, d.ID}})
		}
		if err := q.batch(ctx, writes...); err != nil {
			return err
		}
		if inserted == 0 {
			var winner string
			if err := q.queryRow(ctx, `SELECT agent FROM routing_assignments WHERE tenant = ? AND ticket_id = ?`,
				a.Tenant, a.TicketID).Scan(&winner); err != nil {
				return fmt.Errorf("reading the ticket's new holder: %w", err)
			}
			return holderError(winner, a.Agent)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("assign ticket %s to %s: %w", a.TicketID, a.Agent, err)
	}
	return nil
}

// holderError is what Assign's transaction returns when the ticket has
// a holder: nil (commit the decision, change nothing else) when it is the
// agent assigning, else a *routing.TakenError naming it.
func holderError(holder, agent string) error {
	if holder == agent {
		return nil
	}
	return &routing.TakenError{Agent: holder}
}

// SetAssignment implements routing.Store: the ticket's ledger row becomes
// a (assigned now when a.AssignTime is zero), and the ticket leaves its
// queue. The agent's last-assign time and load limit are not the
// service's to weigh here: the assignment was made by hand.
func (e *engine) SetAssignment(ctx context.Context, a routing.Assignment) error {
	if err := checkAssignment(a); err != nil {
		return fmt.Errorf("set assignment: %w", err)
	}
	a.AssignTime = orNow(a.AssignTime)
	err := e.d.tx(ctx, func(q queryer) error {
		if err := e.lock(ctx, q, ticketLock(a.Tenant, a.TicketID)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `INSERT INTO routing_assignments (`+assignmentColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, ticket_id) DO UPDATE SET agent = excluded.agent, group_id = excluded.group_id,
				channel = excluded.channel, answered = excluded.answered, assign_time = excluded.assign_time,
				decision_id = excluded.decision_id`,
			a.Tenant, a.TicketID, a.Agent, a.Group, a.Channel, a.Answered, e.ts(a.AssignTime), a.DecisionID); err != nil {
			return err
		}
		_, err := q.exec(ctx, `DELETE FROM routing_queue WHERE tenant = ? AND ticket_id = ?`, a.Tenant, a.TicketID)
		return err
	})
	if err != nil {
		return fmt.Errorf("set assignment of ticket %s: %w", a.TicketID, err)
	}
	return nil
}

// Unassign implements routing.Store.
func (e *engine) Unassign(ctx context.Context, tenant, ticketID string) (routing.Assignment, bool, error) {
	if err := checkTicket(tenant, ticketID); err != nil {
		return routing.Assignment{}, false, fmt.Errorf("unassign: %w", err)
	}
	var out routing.Assignment
	err := e.d.single(ctx, func(q queryer) error {
		var err error
		out, err = scanAssignment(q.queryRow(ctx, `DELETE FROM routing_assignments WHERE tenant = ? AND ticket_id = ?
			RETURNING `+assignmentColumns, tenant, ticketID))
		return err
	})
	switch {
	case e.d.noRows(err):
		return routing.Assignment{}, false, nil
	case err != nil:
		return routing.Assignment{}, false, fmt.Errorf("unassign ticket %s: %w", ticketID, err)
	}
	return out, true, nil
}

// checkTicket checks the tenant and ID that name a ticket.
func checkTicket(tenant, ticketID string) error {
	ts := []text{{"tenant", tenant}, {"ticket id", ticketID}}
	if err := checkText(ts...); err != nil {
		return err
	}
	return required(ts...)
}

// Assignment implements routing.Store.
func (e *engine) Assignment(ctx context.Context, tenant, ticketID string) (routing.Assignment, bool, error) {
	if err := checkTicket(tenant, ticketID); err != nil {
		return routing.Assignment{}, false, fmt.Errorf("get assignment: %w", err)
	}
	a, err := scanAssignment(e.d.read.queryRow(ctx, `SELECT `+assignmentColumns+` FROM routing_assignments
		WHERE tenant = ? AND ticket_id = ?`, tenant, ticketID))
	switch {
	case e.d.noRows(err):
		return routing.Assignment{}, false, nil
	case err != nil:
		return routing.Assignment{}, false, fmt.Errorf("get assignment of ticket %s: %w", ticketID, err)
	}
	return a, true, nil
}

// MarkAnswered implements routing.Store; ErrNotFound when the ticket has
// no holder.
func (e *engine) MarkAnswered(ctx context.Context, tenant, ticketID string) error {
	if err := checkTicket(tenant, ticketID); err != nil {
		return fmt.Errorf("mark answered: %w", err)
	}
	var n int64
	err := e.d.single(ctx, func(q queryer) error {
		var err error
		n, err = q.exec(ctx, `UPDATE routing_assignments SET answered = ? WHERE tenant = ? AND ticket_id = ?`, true, tenant, ticketID)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("mark ticket %s answered: %w", ticketID, err)
	case n == 0:
		return fmt.Errorf("mark ticket %s answered: no holder: %w", ticketID, routing.ErrNotFound)
	}
	return nil
}

// Loads implements routing.Store; agents holding nothing are left out.
func (e *engine) Loads(ctx context.Context, tenant string, agents []string) (map[string]map[string]int, error) {
	if err := checkText(text{"tenant", tenant}); err != nil {
		return nil, fmt.Errorf("loads: %w", err)
	}
	query, args := `SELECT agent, channel, count(*) FROM routing_assignments WHERE tenant = ?`, []any{tenant}
	if agents != nil {
		if len(agents) == 0 {
			return map[string]map[string]int{}, nil
		}
		query += ` AND agent IN (?` + strings.Repeat(", ?", len(agents)-1) + `)`
		for _, a := range agents {
			args = append(args, a)
		}
	}
	type load struct {
		agent, channel string
		n              int64
	}
	loads, err := list(ctx, e.d.read, func(r scanner) (load, error) {
		var l load
		err := r.Scan(&l.agent, &l.channel, &l.n)
		return l, err
	}, query+` GROUP BY agent, channel`, args...)
	if err != nil {
		return nil, fmt.Errorf("loads: %w", err)
	}
	out := map[string]map[string]int{}
	for _, l := range loads {
		if out[l.agent] == nil {
			out[l.agent] = map[string]int{}
		}
		out[l.agent][l.channel] = int(l.n)
	}
	return out, nil
}

// Assignments implements routing.Store (ties in assign time by ticket ID).
func (e *engine) Assignments(ctx context.Context, tenant, agent string) ([]routing.Assignment, error) {
	if err := checkText(text{"tenant", tenant}, text{"agent", agent}); err != nil {
		return nil, fmt.Errorf("assignments: %w", err)
	}
	out, err := list(ctx, e.d.read, scanAssignment, `SELECT `+assignmentColumns+` FROM routing_assignments
		WHERE tenant = ? AND agent = ? ORDER BY assign_time, ticket_id`, tenant, agent)
	if err != nil {
		return nil, fmt.Errorf("assignments of %s: %w", agent, err)
	}
	return out, nil
}
