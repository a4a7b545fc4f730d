package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/services/routing"
)

const (
	groupColumns = `tenant, id, display_name, strategy, members, calendar, overflow_group,
		overflow_after_ns, create_time, update_time, version`
	getGroup = `SELECT ` + groupColumns + ` FROM routing_groups WHERE tenant = ? AND id = ?`
)

// groupRow is a group's JSON columns.
type groupRow struct{ members, calendar string }

// checkGroup refuses what the groups table cannot keep, naming the field.
func checkGroup(g routing.Group) error {
	if err := checkKey(g.Tenant, g.ID); err != nil {
		return err
	}
	ts := []text{{"display name", g.DisplayName}, {"strategy", string(g.Strategy)}}
	for _, m := range g.Members {
		ts = append(ts, text{"member", m})
	}
	if g.Overflow != nil {
		ts = append(ts, text{"overflow group", g.Overflow.Group})
	}
	if err := checkText(ts...); err != nil {
		return err
	}
	if g.Overflow != nil && g.Overflow.Group == "" {
		return errors.New("overflow group: is required when the group overflows")
	}
	return nil
}

// encodeGroup returns g's JSON columns, and g as a read returns it (its
// lists decoded from those columns, its overflow copied).
func encodeGroup(g routing.Group) (routing.Group, groupRow, error) {
	row := groupRow{members: toJSON(nonNil(g.Members)), calendar: toJSON(g.Calendar)}
	if err := decodeGroup(&g, row); err != nil {
		return routing.Group{}, groupRow{}, err
	}
	if g.Overflow != nil {
		o := *g.Overflow
		g.Overflow = &o
	}
	return g, row, nil
}

func decodeGroup(g *routing.Group, row groupRow) error {
	g.Members = nil
	if err := fromJSON(row.members, &g.Members); err != nil {
		return fmt.Errorf("group %s: members: %w", g.ID, err)
	}
	g.Calendar = v1alpha1.BusinessCalendar{}
	if err := fromJSON(row.calendar, &g.Calendar); err != nil {
		return fmt.Errorf("group %s: calendar: %w", g.ID, err)
	}
	return nil
}

// overflowArgs are the overflow columns: NULL for none.
func overflowArgs(o *routing.Overflow) (group, after any) {
	if o == nil {
		return nil, nil
	}
	return o.Group, int64(o.After)
}

func scanGroup(r scanner) (routing.Group, error) {
	var (
		g                routing.Group
		strategy         string
		row              groupRow
		oGroup           *string
		oAfter           *int64
		created, updated dbTime
	)
	if err := r.Scan(&g.Tenant, &g.ID, &g.DisplayName, &strategy, &row.members, &row.calendar,
		&oGroup, &oAfter, &created, &updated, &g.Version); err != nil {
		return routing.Group{}, err
	}
	g.Strategy = routing.Strategy(strategy)
	if err := decodeGroup(&g, row); err != nil {
		return routing.Group{}, err
	}
	if oGroup != nil {
		g.Overflow = &routing.Overflow{Group: *oGroup}
		if oAfter != nil {
			g.Overflow.After = time.Duration(*oAfter)
		}
	}
	g.CreateTime, g.UpdateTime = created.t, updated.t
	return g, nil
}

// CreateGroup implements routing.Store.
func (e *engine) CreateGroup(ctx context.Context, g routing.Group) (routing.Group, error) {
	if err := checkGroup(g); err != nil {
		return routing.Group{}, fmt.Errorf("create group: %w", err)
	}
	g, row, err := encodeGroup(g)
	if err != nil {
		return routing.Group{}, fmt.Errorf("create group: %w", err)
	}
	g.CreateTime = now()
	g.UpdateTime, g.Version = g.CreateTime, 1
	oGroup, oAfter := overflowArgs(g.Overflow)
	err = e.d.single(ctx, func(q queryer) error {
		_, err := q.exec(ctx, `INSERT INTO routing_groups (`+groupColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			g.Tenant, g.ID, g.DisplayName, string(g.Strategy), row.members, row.calendar, oGroup, oAfter,
			e.ts(g.CreateTime), e.ts(g.UpdateTime), g.Version)
		return err
	})
	switch {
	case err != nil && e.d.unique(err):
		return routing.Group{}, fmt.Errorf("create group %s: %w", g.ID, routing.ErrExists)
	case err != nil:
		return routing.Group{}, fmt.Errorf("create group %s: %w", g.ID, err)
	}
	return g, nil
}

// GetGroup implements routing.Store.
func (e *engine) GetGroup(ctx context.Context, tenant, id string) (routing.Group, error) {
	if err := checkKey(tenant, id); err != nil {
		return routing.Group{}, fmt.Errorf("get group: %w", err)
	}
	g, err := scanGroup(e.d.read.queryRow(ctx, getGroup, tenant, id))
	if err != nil {
		return routing.Group{}, fmt.Errorf("get group %s: %w", id, e.notFound(err))
	}
	return g, nil
}

// ListGroups implements routing.Store.
func (e *engine) ListGroups(ctx context.Context, tenant, after string, limit int) ([]routing.Group, error) {
	if err := checkText(text{"tenant", tenant}, text{"after", after}); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out, err := list(ctx, e.d.read, scanGroup, `SELECT `+groupColumns+` FROM routing_groups
		WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?`, tenant, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return out, nil
}

// UpdateGroup implements routing.Store. One statement replaces the group
// if its version is still g.Version; only when it does not is the stored
// version read, to tell ErrNotFound from ErrVersion.
func (e *engine) UpdateGroup(ctx context.Context, g routing.Group) (routing.Group, error) {
	if err := checkGroup(g); err != nil {
		return routing.Group{}, fmt.Errorf("update group: %w", err)
	}
	g, row, err := encodeGroup(g)
	if err != nil {
		return routing.Group{}, fmt.Errorf("update group: %w", err)
	}
	g.UpdateTime = now()
	oGroup, oAfter := overflowArgs(g.Overflow)
	var created dbTime
	err = e.d.single(ctx, func(q queryer) error {
		return q.queryRow(ctx, `UPDATE routing_groups SET display_name = ?, strategy = ?, members = ?,
			calendar = ?, overflow_group = ?, overflow_after_ns = ?, update_time = ?, version = version + 1
			WHERE tenant = ? AND id = ? AND version = ? RETURNING create_time`,
			g.DisplayName, string(g.Strategy), row.members, row.calendar, oGroup, oAfter, e.ts(g.UpdateTime),
			g.Tenant, g.ID, g.Version).Scan(&created)
	})
	if e.d.noRows(err) {
		var stored int64
		err = e.d.read.queryRow(ctx, `SELECT version FROM routing_groups WHERE tenant = ? AND id = ?`, g.Tenant, g.ID).Scan(&stored)
		if err == nil {
			err = fmt.Errorf("version %d, stored %d: %w", g.Version, stored, routing.ErrVersion)
		}
		return routing.Group{}, fmt.Errorf("update group %s: %w", g.ID, e.notFound(err))
	}
	if err != nil {
		return routing.Group{}, fmt.Errorf("update group %s: %w", g.ID, err)
	}
	g.CreateTime, g.Version = created.t, g.Version+1
	return g, nil
}

// DeleteGroup implements routing.Store. The group's round-robin position
// goes with it; its queue stays, for the service to route again.
func (e *engine) DeleteGroup(ctx context.Context, tenant, id string) error {
	if err := checkKey(tenant, id); err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	err := e.d.tx(ctx, func(q queryer) error {
		n, err := q.exec(ctx, `DELETE FROM routing_groups WHERE tenant = ? AND id = ?`, tenant, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return routing.ErrNotFound
		}
		_, err = q.exec(ctx, `DELETE FROM routing_round_robin WHERE tenant = ? AND group_id = ?`, tenant, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	return nil
}

// LastPicked implements routing.Store.
func (e *engine) LastPicked(ctx context.Context, tenant, group string) (string, error) {
	if err := checkText(text{"tenant", tenant}, text{"group", group}); err != nil {
		return "", fmt.Errorf("last picked: %w", err)
	}
	var agent string
	err := e.d.read.queryRow(ctx, `SELECT last_agent FROM routing_round_robin WHERE tenant = ? AND group_id = ?`,
		tenant, group).Scan(&agent)
	if err != nil && !e.d.noRows(err) {
		return "", fmt.Errorf("last picked in group %s: %w", group, err)
	}
	return agent, nil
}
