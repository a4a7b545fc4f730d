package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kubedesk/kubedesk/services/routing"
)

const decisionColumns = `tenant, id, ticket_id, dedup_key, trigger_kind, outcome, group_id, agent,
	strategy, rules, candidates, notes, actions, actor_id, actor_name, create_time, applied`

// checkDecision refuses what the decisions table cannot keep, naming the
// field.
func checkDecision(d routing.Decision) error {
	ts := []text{{"decision tenant", d.Tenant}, {"decision id", d.ID}, {"decision ticket id", d.TicketID}}
	if err := checkText(append(ts,
		text{"decision key", d.Key}, text{"decision trigger", string(d.Trigger)},
		text{"decision outcome", string(d.Outcome)}, text{"decision group", d.Group},
		text{"decision agent", d.Agent}, text{"decision strategy", string(d.Strategy)},
		text{"decision actor id", d.ActorID}, text{"decision actor name", d.ActorDisplayName})...); err != nil {
		return err
	}
	return required(ts...)
}

// insertDecision stores d, created at now when it has no time; false
// when another decision of the tenant has its key (nothing written). A
// decision ID stored already is an error.
func (e *engine) insertDecision(ctx context.Context, q queryer, d routing.Decision) (bool, error) {
	var n int64
	err := e.decisionError(d, q.batch(ctx, e.decisionStmt(d, &n)))
	return n == 1, err
}

// decisionStmt is the statement that inserts d, unless its key is taken:
// it sets n to 1 if it did.
func (e *engine) decisionStmt(d routing.Decision, n *int64) stmt {
	return stmt{sql: `INSERT INTO routing_decisions (` + decisionColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, dedup_key) WHERE dedup_key <> '' DO NOTHING`,
		args: []any{d.Tenant, d.ID, d.TicketID, d.Key, string(d.Trigger), string(d.Outcome), d.Group, d.Agent,
			string(d.Strategy), toJSON(nonNil(d.Rules)), toJSON(nonNil(d.Candidates)), toJSON(nonNil(d.Notes)), toJSON(d.Actions),
			d.ActorID, d.ActorDisplayName, e.ts(orNow(d.CreateTime)), d.Applied},
		n: n}
}

// decisionError names a decision ID taken already (routing.ErrExists).
func (e *engine) decisionError(d routing.Decision, err error) error {
	if err != nil && e.d.unique(err) {
		return fmt.Errorf("decision %s: %w", d.ID, routing.ErrExists)
	}
	return err
}

// storeDecision is insertDecision with a taken key as ErrDuplicate.
func (e *engine) storeDecision(ctx context.Context, q queryer, d routing.Decision) error {
	ok, err := e.insertDecision(ctx, q, d)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("decision key %q: %w", d.Key, routing.ErrDuplicate)
	}
	return nil
}

func scanDecision(r scanner) (routing.Decision, error) {
	var (
		d                          routing.Decision
		trigger, outcome, strategy string
		rules, candidates, notes   string
		actions                    string
		created                    dbTime
	)
	if err := r.Scan(&d.Tenant, &d.ID, &d.TicketID, &d.Key, &trigger, &outcome, &d.Group, &d.Agent,
		&strategy, &rules, &candidates, &notes, &actions, &d.ActorID, &d.ActorDisplayName, &created, &d.Applied); err != nil {
		return routing.Decision{}, err
	}
	d.Trigger, d.Outcome, d.Strategy = routing.Trigger(trigger), routing.Outcome(outcome), routing.Strategy(strategy)
	if err := fromJSON(rules, &d.Rules); err != nil {
		return routing.Decision{}, fmt.Errorf("decision %s: rules: %w", d.ID, err)
	}
	if err := fromJSON(candidates, &d.Candidates); err != nil {
		return routing.Decision{}, fmt.Errorf("decision %s: candidates: %w", d.ID, err)
	}
	if err := fromJSON(notes, &d.Notes); err != nil {
		return routing.Decision{}, fmt.Errorf("decision %s: notes: %w", d.ID, err)
	}
	if err := fromJSON(actions, &d.Actions); err != nil {
		return routing.Decision{}, fmt.Errorf("decision %s: actions: %w", d.ID, err)
	}
	d.CreateTime = created.t
	return d, nil
}

// AddDecision implements routing.Store.
func (e *engine) AddDecision(ctx context.Context, d routing.Decision) error {
	if err := checkDecision(d); err != nil {
		return fmt.Errorf("add decision: %w", err)
	}
	if err := e.d.single(ctx, func(q queryer) error { return e.storeDecision(ctx, q, d) }); err != nil {
		return fmt.Errorf("add decision about ticket %s: %w", d.TicketID, err)
	}
	return nil
}

// MarkApplied implements routing.Store; marking a decision twice is no
// error. One decision that does not exist is ErrNotFound; of several,
// those that do not exist are passed over.
func (e *engine) MarkApplied(ctx context.Context, tenant string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{true, tenant}
	for _, id := range ids {
		if err := checkKey(tenant, id); err != nil {
			return fmt.Errorf("mark applied: %w", err)
		}
		args = append(args, id)
	}
	var n int64
	err := e.d.single(ctx, func(q queryer) error {
		var err error
		n, err = q.exec(ctx, `UPDATE routing_decisions SET applied = ? WHERE tenant = ? AND id IN (?`+
			strings.Repeat(", ?", len(ids)-1)+`)`, args...)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("mark %d decisions applied: %w", len(ids), err)
	case n == 0 && len(ids) == 1:
		return fmt.Errorf("mark decision %s applied: %w", ids[0], routing.ErrNotFound)
	}
	return nil
}

// DecisionByKey implements routing.Store; the empty key names no decision.
func (e *engine) DecisionByKey(ctx context.Context, tenant, key string) (routing.Decision, bool, error) {
	if err := checkText(text{"tenant", tenant}, text{"key", key}); err != nil {
		return routing.Decision{}, false, fmt.Errorf("decision by key: %w", err)
	}
	if key == "" {
		return routing.Decision{}, false, nil
	}
	d, err := scanDecision(e.d.read.queryRow(ctx, `SELECT `+decisionColumns+` FROM routing_decisions
		WHERE tenant = ? AND dedup_key = ? AND dedup_key <> ''`, tenant, key)) // the partial index's predicate
	switch {
	case e.d.noRows(err):
		return routing.Decision{}, false, nil
	case err != nil:
		return routing.Decision{}, false, fmt.Errorf("decision by key %q: %w", key, err)
	}
	return d, true, nil
}

// Decisions implements routing.Store, in creation order (create time,
// then ID). after must name a decision of the tenant (ErrNotFound).
func (e *engine) Decisions(ctx context.Context, tenant, ticketID, after string, limit int) ([]routing.Decision, error) {
	if err := checkText(text{"tenant", tenant}, text{"ticket id", ticketID}, text{"after", after}); err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	sql := `SELECT ` + decisionColumns + ` FROM routing_decisions WHERE tenant = ? AND ticket_id = ?`
	args := []any{tenant, ticketID}
	if after != "" {
		var at dbTime
		err := e.d.read.queryRow(ctx, `SELECT create_time FROM routing_decisions WHERE tenant = ? AND id = ?`, tenant, after).Scan(&at)
		if err != nil {
			return nil, fmt.Errorf("list decisions: after %s: %w", after, e.notFound(err))
		}
		sql += ` AND (create_time > ? OR (create_time = ? AND id > ?))`
		args = append(args, e.ts(at.t), e.ts(at.t), after)
	}
	out, err := list(ctx, e.d.read, scanDecision, sql+` ORDER BY create_time, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list decisions of ticket %s: %w", ticketID, err)
	}
	return out, nil
}

// Unapplied implements routing.Store.
func (e *engine) Unapplied(ctx context.Context, tenant string, olderThan time.Time, limit int) ([]routing.Decision, error) {
	if err := checkText(text{"tenant", tenant}); err != nil {
		return nil, fmt.Errorf("unapplied decisions: %w", err)
	}
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("unapplied decisions: %w", err)
	}
	if olderThan.IsZero() {
		return nil, fmt.Errorf("unapplied decisions: older than: is the zero time")
	}
	out, err := list(ctx, e.d.read, scanDecision, `SELECT `+decisionColumns+` FROM routing_decisions
		WHERE tenant = ? AND NOT applied AND create_time < ? ORDER BY create_time, id LIMIT ?`,
		tenant, e.ts(normTime(olderThan)), limit)
	if err != nil {
		return nil, fmt.Errorf("unapplied decisions: %w", err)
	}
	return out, nil
}
