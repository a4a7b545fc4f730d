package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/kubedesk/kubedesk/services/routing"
)

const queueColumns = `tenant, ticket_id, group_id, channel, priority, skills, ticket_create_time, enqueue_time`

func scanEntry(r scanner) (routing.QueueEntry, error) {
	var (
		q                 routing.QueueEntry
		priority          int64
		skills            string
		created, enqueued dbTime
	)
	if err := r.Scan(&q.Tenant, &q.TicketID, &q.Group, &q.Channel, &priority, &skills, &created, &enqueued); err != nil {
		return routing.QueueEntry{}, err
	}
	var err error
	if q.Skills, err = requirementsFromJSON(skills); err != nil {
		return routing.QueueEntry{}, fmt.Errorf("queue entry of ticket %s: skills: %w", q.TicketID, err)
	}
	q.Priority, q.TicketCreateTime, q.EnqueueTime = int(priority), created.t, enqueued.t
	return q, nil
}

// checkEntry refuses what the queue cannot keep, naming the field, and an
// entry and decision about different tickets.
func checkEntry(q routing.QueueEntry, d routing.Decision) error {
	ts := []text{{"tenant", q.Tenant}, {"ticket id", q.TicketID}, {"group", q.Group}}
	ns := []text{{"channel", q.Channel}}
	for _, s := range q.Skills {
		ns = append(ns, text{"skill", s.Name})
	}
	if err := checkText(append(ts, ns...)...); err != nil {
		return err
	}
	if err := required(ts...); err != nil {
		return err
	}
	if q.TicketCreateTime.IsZero() {
		return errors.New("ticket create time: is the zero time; the queue is ordered by it")
	}
	if err := checkDecision(d); err != nil {
		return err
	}
	switch {
	case d.Tenant != q.Tenant:
		return fmt.Errorf("decision tenant %q: must be the entry's, %q", d.Tenant, q.Tenant)
	case d.TicketID != q.TicketID:
		return fmt.Errorf("decision ticket id %q: must be the entry's, %q", d.TicketID, q.TicketID)
	}
	return nil
}

// Enqueue implements routing.Store. The entry enters the queue at
// e.EnqueueTime (now when zero) unless it waits in that group already.
func (e *engine) Enqueue(ctx context.Context, q routing.QueueEntry, d routing.Decision) error {
	if err := checkEntry(q, d); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	q.EnqueueTime, q.TicketCreateTime = orNow(q.EnqueueTime), normTime(q.TicketCreateTime)
	err := e.d.tx(ctx, func(tx queryer) error {
		if err := e.lock(ctx, tx, ticketLock(q.Tenant, q.TicketID)); err != nil {
			return err
		}
		if err := e.storeDecision(ctx, tx, d); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM routing_assignments WHERE tenant = ? AND ticket_id = ?`, q.Tenant, q.TicketID); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO routing_queue (`+queueColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, ticket_id) DO UPDATE SET group_id = excluded.group_id, channel = excluded.channel,
				priority = excluded.priority, skills = excluded.skills, ticket_create_time = excluded.ticket_create_time,
				enqueue_time = CASE WHEN routing_queue.group_id = excluded.group_id
					THEN routing_queue.enqueue_time ELSE excluded.enqueue_time END`,
			q.Tenant, q.TicketID, q.Group, q.Channel, q.Priority, requirementsJSON(q.Skills),
			e.ts(q.TicketCreateTime), e.ts(q.EnqueueTime))
		return err
	})
	if err != nil {
		return fmt.Errorf("enqueue ticket %s in %s: %w", q.TicketID, q.Group, err)
	}
	return nil
}

// Dequeue implements routing.Store.
func (e *engine) Dequeue(ctx context.Context, tenant, ticketID string) error {
	if err := checkTicket(tenant, ticketID); err != nil {
		return fmt.Errorf("dequeue: %w", err)
	}
	err := e.d.single(ctx, func(q queryer) error {
		_, err := q.exec(ctx, `DELETE FROM routing_queue WHERE tenant = ? AND ticket_id = ?`, tenant, ticketID)
		return err
	})
	if err != nil {
		return fmt.Errorf("dequeue ticket %s: %w", ticketID, err)
	}
	return nil
}

// Queued implements routing.Store.
func (e *engine) Queued(ctx context.Context, tenant, ticketID string) (routing.QueueEntry, bool, error) {
	if err := checkTicket(tenant, ticketID); err != nil {
		return routing.QueueEntry{}, false, fmt.Errorf("queued: %w", err)
	}
	q, err := scanEntry(e.d.read.queryRow(ctx, `SELECT `+queueColumns+` FROM routing_queue
		WHERE tenant = ? AND ticket_id = ?`, tenant, ticketID))
	switch {
	case e.d.noRows(err):
		return routing.QueueEntry{}, false, nil
	case err != nil:
		return routing.QueueEntry{}, false, fmt.Errorf("queue entry of ticket %s: %w", ticketID, err)
	}
	return q, true, nil
}

// Queue implements routing.Store; ties in priority and ticket age go by
// ticket ID.
func (e *engine) Queue(ctx context.Context, tenant, group string, limit int) ([]routing.QueueEntry, error) {
	if err := checkText(text{"tenant", tenant}, text{"group", group}); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	sql, args := `SELECT `+queueColumns+` FROM routing_queue WHERE tenant = ?`, []any{tenant}
	if group != "" {
		sql, args = sql+` AND group_id = ?`, append(args, group)
	}
	out, err := list(ctx, e.d.read, scanEntry, sql+` ORDER BY priority, ticket_create_time, ticket_id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", group, err)
	}
	return out, nil
}

// QueueSizes implements routing.Store; groups with no entry are left out.
func (e *engine) QueueSizes(ctx context.Context, tenant string) (map[string]int, error) {
	if err := checkText(text{"tenant", tenant}); err != nil {
		return nil, fmt.Errorf("queue sizes: %w", err)
	}
	type size struct {
		group string
		n     int64
	}
	sizes, err := list(ctx, e.d.read, func(r scanner) (size, error) {
		var s size
		err := r.Scan(&s.group, &s.n)
		return s, err
	}, `SELECT group_id, count(*) FROM routing_queue WHERE tenant = ? GROUP BY group_id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("queue sizes: %w", err)
	}
	out := make(map[string]int, len(sizes))
	for _, s := range sizes {
		out[s.group] = int(s.n)
	}
	return out, nil
}
