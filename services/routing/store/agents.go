package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kubedesk/kubedesk/services/routing"
)

// agentColumns are routing_agents' columns. A row made by a presence or
// an assignment, before any profile, has version 0, no skills and the
// default capacity.
const agentColumns = `tenant, id, skills, capacity, presence, presence_time, presence_expire,
	last_assign_time, version`

func scanAgent(r scanner) (routing.Agent, error) {
	var (
		a                      routing.Agent
		skills, capacity, pres string
		presAt, expire, lastAt dbTime
	)
	if err := r.Scan(&a.Tenant, &a.ID, &skills, &capacity, &pres, &presAt, &expire, &lastAt, &a.Version); err != nil {
		return routing.Agent{}, err
	}
	var err error
	if a.Skills, err = skillsFromJSON(skills); err != nil {
		return routing.Agent{}, fmt.Errorf("agent %s: skills: %w", a.ID, err)
	}
	if err := fromJSON(capacity, &a.Capacity); err != nil {
		return routing.Agent{}, fmt.Errorf("agent %s: capacity: %w", a.ID, err)
	}
	a.Presence = routing.Presence(pres)
	a.PresenceTime, a.PresenceExpire, a.LastAssignTime = presAt.t, expire.t, lastAt.t
	return a, nil
}

// GetAgent implements routing.Store.
func (e *engine) GetAgent(ctx context.Context, tenant, id string) (routing.Agent, error) {
	if err := checkKey(tenant, id); err != nil {
		return routing.Agent{}, fmt.Errorf("get agent: %w", err)
	}
	a, err := scanAgent(e.d.read.queryRow(ctx, `SELECT `+agentColumns+` FROM routing_agents WHERE tenant = ? AND id = ?`, tenant, id))
	if err != nil {
		return routing.Agent{}, fmt.Errorf("get agent %s: %w", id, e.notFound(err))
	}
	return a, nil
}

// ListAgents implements routing.Store.
func (e *engine) ListAgents(ctx context.Context, tenant, after string, limit int) ([]routing.Agent, error) {
	if err := checkText(text{"tenant", tenant}, text{"after", after}); err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	out, err := list(ctx, e.d.read, scanAgent, `SELECT `+agentColumns+` FROM routing_agents
		WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?`, tenant, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return out, nil
}

// AgentsByID implements routing.Store, in one query whatever the number
// of IDs (they travel as one JSON array).
func (e *engine) AgentsByID(ctx context.Context, tenant string, ids []string) (map[string]routing.Agent, error) {
	ts := []text{{"tenant", tenant}}
	for _, id := range ids {
		ts = append(ts, text{"id", id})
	}
	if err := checkText(ts...); err != nil {
		return nil, fmt.Errorf("agents by id: %w", err)
	}
	out := make(map[string]routing.Agent, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	agents, err := list(ctx, e.d.read, scanAgent, `SELECT `+agentColumns+` FROM routing_agents
		WHERE tenant = ? AND `+e.d.inJSON("id"), tenant, toJSON(ids))
	if err != nil {
		return nil, fmt.Errorf("agents by id: %w", err)
	}
	for _, a := range agents {
		out[a.ID] = a
	}
	return out, nil
}

func checkProfile(a routing.Agent) error {
	if err := checkKey(a.Tenant, a.ID); err != nil {
		return err
	}
	var ts []text
	for _, s := range a.Skills {
		ts = append(ts, text{"skill", s.Name})
	}
	for c := range a.Capacity {
		ts = append(ts, text{"capacity channel", c})
	}
	if err := checkText(ts...); err != nil {
		return err
	}
	if a.Version < 0 {
		return fmt.Errorf("version %d: must be 0 (a new profile) or the stored version", a.Version)
	}
	return nil
}

// PutAgentProfile implements routing.Store in one statement: an insert
// that, for version 0, replaces a row without a profile (made by a
// presence or an assignment); an update at the version otherwise. Only
// when it writes nothing is the stored version read, for the error.
func (e *engine) PutAgentProfile(ctx context.Context, a routing.Agent) (routing.Agent, error) {
	if err := checkProfile(a); err != nil {
		return routing.Agent{}, fmt.Errorf("put agent profile: %w", err)
	}
	capacity := a.Capacity
	if capacity == nil {
		capacity = map[string]int{}
	}
	skills, capJSON := skillsJSON(a.Skills), toJSON(capacity)
	var out routing.Agent
	err := e.d.single(ctx, func(q queryer) error {
		var err error
		if a.Version == 0 {
			out, err = scanAgent(q.queryRow(ctx, `INSERT INTO routing_agents (`+agentColumns+`)
				VALUES (?, ?, ?, ?, 'offline', NULL, NULL, NULL, 1)
				ON CONFLICT (tenant, id) DO UPDATE SET skills = excluded.skills, capacity = excluded.capacity,
					version = 1
				WHERE routing_agents.version = 0
				RETURNING `+agentColumns, a.Tenant, a.ID, skills, capJSON))
			return err
		}
		out, err = scanAgent(q.queryRow(ctx, `UPDATE routing_agents SET skills = ?, capacity = ?, version = version + 1
			WHERE tenant = ? AND id = ? AND version = ? RETURNING `+agentColumns,
			skills, capJSON, a.Tenant, a.ID, a.Version))
		return err
	})
	if e.d.noRows(err) {
		var stored int64
		err = e.d.read.queryRow(ctx, `SELECT version FROM routing_agents WHERE tenant = ? AND id = ?`, a.Tenant, a.ID).Scan(&stored)
		if err == nil || e.d.noRows(err) {
			err = fmt.Errorf("version %d, stored %d: %w", a.Version, stored, routing.ErrVersion)
		}
	}
	if err != nil {
		return routing.Agent{}, fmt.Errorf("put agent profile %s: %w", a.ID, err)
	}
	return out, nil
}

// SetPresence implements routing.Store. at defaults to now; a zero expire
// never lapses.
func (e *engine) SetPresence(ctx context.Context, tenant, id string, p routing.Presence, at, expire time.Time) (routing.Agent, error) {
	if err := checkKey(tenant, id); err != nil {
		return routing.Agent{}, fmt.Errorf("set presence: %w", err)
	}
	switch p {
	case routing.Online, routing.Away, routing.Offline:
	default:
		return routing.Agent{}, fmt.Errorf("set presence: presence %q: must be online, away or offline", p)
	}
	at = orNow(at)
	var out routing.Agent
	err := e.d.single(ctx, func(q queryer) error {
		var err error
		out, err = scanAgent(q.queryRow(ctx, `INSERT INTO routing_agents (`+agentColumns+`)
			VALUES (?, ?, '[]', '{}', ?, ?, ?, NULL, 0)
			ON CONFLICT (tenant, id) DO UPDATE SET presence = excluded.presence,
				presence_time = excluded.presence_time, presence_expire = excluded.presence_expire
			RETURNING `+agentColumns, tenant, id, string(p), e.ts(at), e.ts(normTime(expire))))
		return err
	})
	if err != nil {
		return routing.Agent{}, fmt.Errorf("set presence of %s: %w", id, err)
	}
	return out, nil
}

// LapsePresence implements routing.Store. A lapsed agent has been away
// since its online presence expired: that is its new PresenceTime.
func (e *engine) LapsePresence(ctx context.Context, tenant string, at time.Time) ([]routing.Agent, error) {
	if err := checkText(text{"tenant", tenant}); err != nil {
		return nil, fmt.Errorf("lapse presence: %w", err)
	}
	if at.IsZero() {
		return nil, fmt.Errorf("lapse presence: now: is the zero time")
	}
	var out []routing.Agent
	err := e.d.single(ctx, func(q queryer) error {
		var err error
		out, err = list(ctx, q, scanAgent, `UPDATE routing_agents
			SET presence = 'away', presence_time = presence_expire, presence_expire = NULL
			WHERE tenant = ? AND presence = 'online' AND presence_expire <= ?
			RETURNING `+agentColumns, tenant, e.ts(normTime(at)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lapse presence: %w", err)
	}
	slices.SortFunc(out, func(a, b routing.Agent) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
