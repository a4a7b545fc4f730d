package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kubedesk/kubedesk/services/platform/storage"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// SQLite is the embedded ticket.Store. All writes go through one
// connection (storage.SQLite), which makes them serial: that is what lets
// an AUTOINCREMENT event id be the stream cursor.
type SQLite struct {
	db  *storage.SQLite
	hub storage.Broadcaster
	// Statements prepared once: write ones on the write connection, read
	// ones on each read connection as it is first used.
	w sqliteWriteStmts
	r sqliteReadStmts
}

type sqliteWriteStmts struct {
	getTicket, insertTicket, updateTicket *sql.Stmt
	setSLA                                *sql.Stmt
	insertTag, deleteTags                 *sql.Stmt
	insertComment, getComment             *sql.Stmt
	insertEvent                           *sql.Stmt
	getKey, insertKey                     *sql.Stmt
	nextNumber, insertAttachment          *sql.Stmt
	getApplied, insertApplied             *sql.Stmt
}

type sqliteReadStmts struct {
	getTicket, ticketExists, listComments, listEvents *sql.Stmt
	getAttachment                                     *sql.Stmt
}

const (
	ticketColumns = `tenant, id, subject, description, status, impact, urgency, priority, channel,
		requester_name, requester_email, requester_identity, group_name, assignee, tags, custom_fields,
		create_time, update_time, solve_time, version, requester_contact_id, number`
	commentColumns = `tenant, id, ticket_id, author, author_type, body, visibility, create_time,
		author_id, author_kind, author_name`

	// sqliteTicketReadColumns are ticketColumns, the SLA (which only
	// SetSLA writes) and the description's attachments.
	sqliteTicketReadColumns = ticketColumns + `, sla, ` + sqliteTicketAttachments
	sqliteTicketAttachments = `(SELECT json_group_array(json_object('id', a.id, 'position', a.position,
		'filename', a.filename, 'content_type', a.content_type, 'size', a.size, 'sha256', a.sha256,
		'inline', json(CASE WHEN a.inline THEN 'true' ELSE 'false' END), 'content_id', a.content_id))
		FROM attachments a WHERE a.tenant = tickets.tenant AND a.ticket_id = tickets.id AND a.comment_id = '')`
	sqliteCommentReadColumns = commentColumns + `, (SELECT json_group_array(json_object('id', a.id, 'position', a.position,
		'filename', a.filename, 'content_type', a.content_type, 'size', a.size, 'sha256', a.sha256,
		'inline', json(CASE WHEN a.inline THEN 'true' ELSE 'false' END), 'content_id', a.content_id))
		FROM attachments a WHERE a.tenant = comments.tenant AND a.ticket_id = comments.ticket_id AND a.comment_id = comments.id)`

	sqliteGetTicket    = `SELECT ` + sqliteTicketReadColumns + ` FROM tickets WHERE tenant = ? AND id = ?`
	sqliteInsertTicket = `INSERT INTO tickets (` + ticketColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteUpdateTicket = `UPDATE tickets SET subject = ?, description = ?, status = ?, impact = ?,
		urgency = ?, priority = ?, channel = ?, requester_name = ?, requester_email = ?,
		requester_identity = ?, group_name = ?, assignee = ?, tags = ?, custom_fields = ?,
		update_time = ?, solve_time = ?, version = ?, requester_contact_id = ?
		WHERE tenant = ? AND id = ?`
	// sqliteNextNumber takes the tenant's next ticket number.
	sqliteNextNumber = `INSERT INTO ticket_numbers (tenant, last) VALUES (?, 1)
		ON CONFLICT (tenant) DO UPDATE SET last = last + 1 RETURNING last`
	sqliteInsertAttachment = `INSERT INTO attachments (tenant, id, ticket_id, comment_id, position, filename,
		content_type, size, sha256, inline, content_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteGetAttachment = `SELECT a.id, a.filename, a.content_type, a.size, a.sha256, a.inline, a.content_id,
		a.comment_id, coalesce(c.visibility, '')
		FROM attachments a LEFT JOIN comments c ON c.tenant = a.tenant AND c.id = a.comment_id
		WHERE a.tenant = ? AND a.ticket_id = ? AND a.id = ?`
	sqliteSetSLA = `UPDATE tickets SET sla = ?, sla_state = ?, sla_next_due = ?, sla_update_time = ?
		WHERE tenant = ? AND id = ?`
	sqliteInsertComment = `INSERT INTO comments (` + commentColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteGetComment    = `SELECT ` + sqliteCommentReadColumns + ` FROM comments WHERE tenant = ? AND id = ?`
	sqliteListComments  = `SELECT ` + sqliteCommentReadColumns + ` FROM comments
		WHERE tenant = ? AND ticket_id = ? AND id > ? ORDER BY id LIMIT ?`
	sqliteInsertEvent = `INSERT INTO ticket_events (tenant, ticket_id, type, payload, create_time)
		VALUES (?, ?, ?, ?, ?)`
	sqliteListEvents = `SELECT id, ticket_id, type, payload, create_time FROM ticket_events
		WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?`
	sqliteGetKey = `SELECT request_hash, resource_kind, resource_id FROM idempotency_keys
		WHERE tenant = ? AND key = ?`
	sqliteDeleteKeys = `DELETE FROM idempotency_keys WHERE (tenant, key) IN (
		SELECT tenant, key FROM idempotency_keys WHERE create_time < ? ORDER BY create_time LIMIT ?)`
	sqliteGetApplied    = `SELECT ticket_id FROM ticket_routing_applied WHERE tenant = ? AND decision_id = ?`
	sqliteInsertApplied = `INSERT INTO ticket_routing_applied (tenant, decision_id, ticket_id, create_time) VALUES (?, ?, ?, ?)`
	sqliteInsertKey     = `INSERT INTO idempotency_keys (tenant, key, request_hash, resource_kind, resource_id, create_time)
		VALUES (?, ?, ?, ?, ?, ?)`
)

// OpenSQLite opens (creating if needed) the database file at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	db, err := storage.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	s := &SQLite{db: db}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ticket store %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLite) init(ctx context.Context) error {
	if err := s.db.Migrate(ctx, migrationScope, storage.EngineMigrations(migrations, "sqlite")); err != nil {
		return err
	}
	for _, p := range []struct {
		db   *sql.DB
		stmt **sql.Stmt
		sql  string
	}{
		{s.db.Write, &s.w.getTicket, sqliteGetTicket},
		{s.db.Write, &s.w.insertTicket, sqliteInsertTicket},
		{s.db.Write, &s.w.updateTicket, sqliteUpdateTicket},
		{s.db.Write, &s.w.setSLA, sqliteSetSLA},
		{s.db.Write, &s.w.insertTag, `INSERT OR IGNORE INTO ticket_tags (tenant, tag, ticket_id) VALUES (?, ?, ?)`},
		{s.db.Write, &s.w.deleteTags, `DELETE FROM ticket_tags WHERE tenant = ? AND ticket_id = ?`},
		{s.db.Write, &s.w.insertComment, sqliteInsertComment},
		{s.db.Write, &s.w.getComment, sqliteGetComment},
		{s.db.Write, &s.w.insertEvent, sqliteInsertEvent},
		{s.db.Write, &s.w.getKey, sqliteGetKey},
		{s.db.Write, &s.w.insertKey, sqliteInsertKey},
		{s.db.Write, &s.w.nextNumber, sqliteNextNumber},
		{s.db.Write, &s.w.insertAttachment, sqliteInsertAttachment},
		{s.db.Write, &s.w.getApplied, sqliteGetApplied},
		{s.db.Write, &s.w.insertApplied, sqliteInsertApplied},
		{s.db.Read, &s.r.getAttachment, sqliteGetAttachment},
		{s.db.Read, &s.r.getTicket, sqliteGetTicket},
		{s.db.Read, &s.r.ticketExists, `SELECT 1 FROM tickets WHERE tenant = ? AND id = ?`},
		{s.db.Read, &s.r.listComments, sqliteListComments},
		{s.db.Read, &s.r.listEvents, sqliteListEvents},
	} {
		stmt, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", p.sql, err)
		}
		*p.stmt = stmt
	}
	return nil
}

// CreateTicket implements ticket.Store.
func (s *SQLite) CreateTicket(ctx context.Context, t ticket.Ticket, idem ticket.Idempotency) (ticket.Ticket, bool, error) {
	if err := checkText(ticketText(t, idem)...); err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	t = normTicket(t)
	t.SLA = nil              // a new ticket has none; SetSLA sets it
	var first *ticket.Ticket // set when the key was used before
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if idem.Key != "" {
			id, used, err := s.claimKey(ctx, tx, t.Tenant, idem, kindTicket, t.ID, t.CreateTime)
			if err != nil || used {
				if err == nil {
					var got ticket.Ticket
					got, err = scanSQLiteTicket(tx.StmtContext(ctx, s.w.getTicket).QueryRowContext(ctx, t.Tenant, id))
					first = &got
				}
				return err
			}
		}
		if err := tx.StmtContext(ctx, s.w.nextNumber).QueryRowContext(ctx, t.Tenant).Scan(&t.Number); err != nil {
			return fmt.Errorf("numbering ticket: %w", err)
		}
		payload, err := encodePayload(ctx, t, nil, nil)
		if err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, s.w.insertTicket).ExecContext(ctx, sqliteTicketArgs(t)...); err != nil {
			if e, ok := errors.AsType[*sqlite.Error](err); ok && e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
				return ticket.ErrExists // the caller chose the ID of a ticket the tenant has
			}
			return fmt.Errorf("inserting ticket: %w", err)
		}
		if err := s.insertTags(ctx, tx, t); err != nil {
			return err
		}
		if err := s.insertAttachments(ctx, tx, t.Tenant, t.ID, "", t.Attachments); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, t, ticket.EventTicketCreated, payload, t.CreateTime)
	})
	if err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("create ticket %s: %w", t.ID, err)
	}
	if first != nil {
		return *first, false, nil
	}
	s.hub.Notify(t.Tenant)
	return t, true, nil
}

// claimKey looks idem.Key up; if the tenant used it before it returns the
// resource it made (used) or ErrIdempotencyMismatch, else it records the key
// for the resource about to be written in tx.
func (s *SQLite) claimKey(ctx context.Context, tx *sql.Tx, tenant string, idem ticket.Idempotency, kind, id string, at time.Time) (string, bool, error) {
	var hash, gotKind, gotID string
	err := tx.StmtContext(ctx, s.w.getKey).QueryRowContext(ctx, tenant, idem.Key).Scan(&hash, &gotKind, &gotID)
	switch {
	case err == nil:
		if hash != idem.RequestHash || gotKind != kind {
			return "", false, ticket.ErrIdempotencyMismatch
		}
		return gotID, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", false, fmt.Errorf("reading idempotency key: %w", err)
	}
	if _, err := tx.StmtContext(ctx, s.w.insertKey).ExecContext(ctx, tenant, idem.Key, idem.RequestHash, kind, id, micros(at)); err != nil {
		return "", false, fmt.Errorf("recording idempotency key: %w", err)
	}
	return "", false, nil
}

func (s *SQLite) insertTags(ctx context.Context, tx *sql.Tx, t ticket.Ticket) error {
	stmt := tx.StmtContext(ctx, s.w.insertTag)
	for _, tag := range t.Tags {
		if _, err := stmt.ExecContext(ctx, t.Tenant, tag, t.ID); err != nil {
			return fmt.Errorf("indexing tag %q: %w", tag, err)
		}
	}
	return nil
}

// insertAttachments writes the attachments of a ticket's description
// (commentID "") or of a comment.
func (s *SQLite) insertAttachments(ctx context.Context, tx *sql.Tx, tenant, ticketID, commentID string, as []ticket.Attachment) error {
	stmt := tx.StmtContext(ctx, s.w.insertAttachment)
	for i, a := range as {
		if _, err := stmt.ExecContext(ctx, tenant, a.ID, ticketID, commentID, i, a.Filename, a.ContentType,
			a.Size, a.SHA256, a.Inline, a.ContentID); err != nil {
			return fmt.Errorf("inserting attachment %q: %w", a.Filename, err)
		}
	}
	return nil
}

// GetAttachment implements ticket.Store.
func (s *SQLite) GetAttachment(ctx context.Context, tenant, ticketID, id string) (ticket.AttachmentRef, error) {
	if err := checkText(text{"tenant", tenant}, text{"ticket id", ticketID}, text{"attachment id", id}); err != nil {
		return ticket.AttachmentRef{}, fmt.Errorf("get attachment: %w", err)
	}
	var (
		a          ticket.AttachmentRef
		visibility string
	)
	err := s.r.getAttachment.QueryRowContext(ctx, tenant, ticketID, id).Scan(&a.ID, &a.Filename, &a.ContentType,
		&a.Size, &a.SHA256, &a.Inline, &a.ContentID, &a.CommentID, &visibility)
	if errors.Is(err, sql.ErrNoRows) {
		err = ticket.ErrNotFound
	}
	if err != nil {
		return ticket.AttachmentRef{}, fmt.Errorf("get attachment %s of ticket %s: %w", id, ticketID, err)
	}
	a.Visibility = ticket.Visibility(visibility)
	return a, nil
}

func (s *SQLite) insertEvent(ctx context.Context, tx *sql.Tx, t ticket.Ticket, typ ticket.EventType, payload []byte, at time.Time) error {
	_, err := tx.StmtContext(ctx, s.w.insertEvent).ExecContext(ctx, t.Tenant, t.ID, string(typ), string(payload), micros(at))
	if err != nil {
		return fmt.Errorf("inserting event: %w", err)
	}
	return nil
}

// GetTicket implements ticket.Store.
func (s *SQLite) GetTicket(ctx context.Context, tenant, id string) (ticket.Ticket, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return ticket.Ticket{}, fmt.Errorf("get ticket: %w", err)
	}
	t, err := scanSQLiteTicket(s.r.getTicket.QueryRowContext(ctx, tenant, id))
	if err != nil {
		return ticket.Ticket{}, fmt.Errorf("get ticket %s: %w", id, err)
	}
	return t, nil
}

// ListTickets implements ticket.Store.
func (s *SQLite) ListTickets(ctx context.Context, tenant string, q ticket.ListQuery) ([]ticket.Ticket, error) {
	if err := checkText(append(filterText(q), text{"tenant", tenant}, text{"after id", q.After.ID})...); err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	if err := checkLimit("list tickets", q.Limit); err != nil {
		return nil, err
	}
	out := []ticket.Ticket{}
	for _, st := range buildList(false, tenant, q) {
		rows, err := s.db.Read.QueryContext(ctx, st.sql, append(st.args, q.Limit-len(out))...)
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		page, err := collect(rows, scanSQLiteTicket)
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		if out = append(out, page...); len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

// UpdateTicket implements ticket.Store.
func (s *SQLite) UpdateTicket(ctx context.Context, tenant, id string, mutate ticket.Mutation) (ticket.Ticket, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return ticket.Ticket{}, fmt.Errorf("update ticket: %w", err)
	}
	var (
		out     ticket.Ticket
		wrote   bool
		mutErr  error
		changes []ticket.Change
	)
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanSQLiteTicket(tx.StmtContext(ctx, s.w.getTicket).QueryRowContext(ctx, tenant, id))
		if err != nil {
			return err
		}
		var next ticket.Ticket
		if next, changes, mutErr = mutateTicket(cur, mutate, now()); mutErr != nil {
			return mutErr
		}
		if len(changes) == 0 {
			out = cur
			return nil
		}
		payload, err := encodePayload(ctx, next, nil, changes)
		if err != nil {
			return err
		}
		if err := s.writeTicket(ctx, tx, cur, next); err != nil {
			return err
		}
		out, wrote = next, true
		return s.insertEvent(ctx, tx, next, ticket.EventTicketUpdated, payload, next.UpdateTime)
	})
	if mutErr != nil {
		return ticket.Ticket{}, mutErr // the caller's own error, untouched
	}
	if err != nil {
		return ticket.Ticket{}, fmt.Errorf("update ticket %s: %w", id, err)
	}
	if wrote {
		s.hub.Notify(tenant)
	}
	return out, nil
}

// SetSLA implements ticket.Store.
func (s *SQLite) SetSLA(ctx context.Context, tenant, id string, sla ticket.SLA, escalate ticket.Mutation) (ticket.Ticket, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}, text{"SLA policy", sla.Policy}); err != nil {
		return ticket.Ticket{}, fmt.Errorf("set SLA: %w", err)
	}
	var (
		out    ticket.Ticket
		wrote  bool // an event
		mutErr error
	)
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanSQLiteTicket(tx.StmtContext(ctx, s.w.getTicket).QueryRowContext(ctx, tenant, id))
		if err != nil {
			return err
		}
		w, err := planSetSLA(cur, sla, escalate, now())
		if err != nil {
			mutErr = err
			return err
		}
		out = w.result()
		if w.write {
			row, err := encodeSLA(w.withSLA.SLA)
			if err != nil {
				return err
			}
			if _, err := tx.StmtContext(ctx, s.w.setSLA).ExecContext(ctx, string(row.json), row.state,
				nullMicros(row.nextDue), nullMicros(row.updateTime), tenant, id); err != nil {
				return fmt.Errorf("writing SLA: %w", err)
			}
		}
		if w.changed {
			payload, err := encodePayload(ctx, w.withSLA, nil, w.changes)
			if err != nil {
				return err
			}
			if err := s.insertEvent(ctx, tx, w.withSLA, ticket.EventSLAChanged, payload, w.at); err != nil {
				return err
			}
			wrote = true
		}
		if len(w.escalation) == 0 {
			return nil
		}
		payload, err := encodePayload(ctx, w.escalated, nil, w.escalation)
		if err != nil {
			return err
		}
		if err := s.writeTicket(ctx, tx, w.withSLA, w.escalated); err != nil {
			return err
		}
		wrote = true
		return s.insertEvent(ctx, tx, w.escalated, ticket.EventTicketUpdated, payload, w.escalated.UpdateTime)
	})
	if mutErr != nil {
		return ticket.Ticket{}, mutErr // the caller's own error, untouched
	}
	if err != nil {
		return ticket.Ticket{}, fmt.Errorf("set SLA of ticket %s: %w", id, err)
	}
	if wrote {
		s.hub.Notify(tenant)
	}
	return out, nil
}

// ApplyRouting implements ticket.Store.
func (s *SQLite) ApplyRouting(ctx context.Context, tenant, id string, r ticket.Routing, note *ticket.Comment, mutate ticket.Mutation) (ticket.Ticket, bool, error) {
	if err := checkText(append(routingText(r, note), text{"tenant", tenant}, text{"id", id})...); err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("apply routing: %w", err)
	}
	var (
		out     ticket.Ticket
		applied bool
		mutErr  error
	)
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanSQLiteTicket(tx.StmtContext(ctx, s.w.getTicket).QueryRowContext(ctx, tenant, id))
		if err != nil {
			return err
		}
		var appliedTo string
		switch err := tx.StmtContext(ctx, s.w.getApplied).QueryRowContext(ctx, tenant, r.ID).Scan(&appliedTo); {
		case err == nil && appliedTo == id:
			out = cur
			return nil
		case err == nil:
			return fmt.Errorf("decision %s was applied to ticket %s: %w", r.ID, appliedTo, ticket.ErrDecisionReused)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("reading applied decisions: %w", err)
		}
		w, err := planRouting(ctx, cur, r, note, mutate, now())
		if err != nil {
			mutErr = err
			return err
		}
		if w.note != nil {
			if _, err := tx.StmtContext(ctx, s.w.insertComment).ExecContext(ctx, sqliteCommentArgs(*w.note)...); err != nil {
				return fmt.Errorf("inserting note: %w", err)
			}
		}
		if w.bump {
			if err := s.writeTicket(ctx, tx, cur, w.next); err != nil {
				return err
			}
		}
		if w.updated != nil {
			if err := s.insertEvent(ctx, tx, w.next, ticket.EventTicketUpdated, w.updated, w.at); err != nil {
				return err
			}
		}
		if err := s.insertEvent(ctx, tx, w.next, ticket.EventRoutingAssigned, w.assigned, w.at); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, s.w.insertApplied).ExecContext(ctx, tenant, r.ID, id, micros(w.at)); err != nil {
			return fmt.Errorf("recording decision %s: %w", r.ID, err)
		}
		out, applied = w.next, true
		return nil
	})
	if mutErr != nil {
		return ticket.Ticket{}, false, mutErr // the caller's own error, untouched
	}
	if err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("apply routing decision %s to ticket %s: %w", r.ID, id, err)
	}
	if applied {
		s.hub.Notify(tenant)
	}
	return out, applied, nil
}

// writeTicket stores next over cur, re-indexing the tags when they changed.
func (s *SQLite) writeTicket(ctx context.Context, tx *sql.Tx, cur, next ticket.Ticket) error {
	if _, err := tx.StmtContext(ctx, s.w.updateTicket).ExecContext(ctx, sqliteUpdateArgs(next)...); err != nil {
		return fmt.Errorf("updating ticket: %w", err)
	}
	if slices.Equal(cur.Tags, next.Tags) {
		return nil
	}
	if _, err := tx.StmtContext(ctx, s.w.deleteTags).ExecContext(ctx, next.Tenant, next.ID); err != nil {
		return fmt.Errorf("re-indexing tags: %w", err)
	}
	return s.insertTags(ctx, tx, next)
}

// AddComment implements ticket.Store.
func (s *SQLite) AddComment(ctx context.Context, c ticket.Comment, idem ticket.Idempotency, mutate ticket.Mutation) (ticket.Comment, bool, error) {
	if err := checkText(commentText(c, idem)...); err != nil {
		return ticket.Comment{}, false, fmt.Errorf("add comment: %w", err)
	}
	c = normComment(c)
	var (
		first  *ticket.Comment
		mutErr error
	)
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanSQLiteTicket(tx.StmtContext(ctx, s.w.getTicket).QueryRowContext(ctx, c.Tenant, c.TicketID))
		if err != nil {
			return err
		}
		if idem.Key != "" {
			id, used, err := s.claimKey(ctx, tx, c.Tenant, idem, kindComment, c.ID, c.CreateTime)
			if err != nil || used {
				if err == nil {
					var got ticket.Comment
					got, err = scanSQLiteComment(tx.StmtContext(ctx, s.w.getComment).QueryRowContext(ctx, c.Tenant, id))
					first = &got
				}
				return err
			}
		}
		next, changes, err := mutateTicket(cur, mutate, now())
		if err != nil {
			mutErr = err
			return err
		}
		payload, err := encodePayload(ctx, next, &c, changes)
		if err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, s.w.insertComment).ExecContext(ctx, sqliteCommentArgs(c)...); err != nil {
			return fmt.Errorf("inserting comment: %w", err)
		}
		if err := s.insertAttachments(ctx, tx, c.Tenant, c.TicketID, c.ID, c.Attachments); err != nil {
			return err
		}
		if err := s.writeTicket(ctx, tx, cur, next); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, next, ticket.EventCommentAdded, payload, next.UpdateTime)
	})
	if mutErr != nil {
		return ticket.Comment{}, false, mutErr
	}
	if err != nil {
		return ticket.Comment{}, false, fmt.Errorf("add comment %s to ticket %s: %w", c.ID, c.TicketID, err)
	}
	if first != nil {
		return *first, false, nil
	}
	s.hub.Notify(c.Tenant)
	return c, true, nil
}

// ListComments implements ticket.Store.
func (s *SQLite) ListComments(ctx context.Context, tenant, ticketID, afterID string, limit int) ([]ticket.Comment, error) {
	if err := checkText(text{"tenant", tenant}, text{"ticket id", ticketID}, text{"after id", afterID}); err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	if err := checkLimit("list comments", limit); err != nil {
		return nil, err
	}
	rows, err := s.r.listComments.QueryContext(ctx, tenant, ticketID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list comments of ticket %s: %w", ticketID, err)
	}
	out, err := collect(rows, scanSQLiteComment)
	if err != nil || len(out) > 0 {
		return out, err
	}
	// An empty page: tell "no (more) comments" from "no such ticket".
	var one int
	if err := s.r.ticketExists.QueryRowContext(ctx, tenant, ticketID).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = ticket.ErrNotFound
		}
		return nil, fmt.Errorf("list comments of ticket %s: %w", ticketID, err)
	}
	return out, nil
}

// ListEvents implements ticket.Store. Writers are serial, so every event id
// below the newest committed one is committed too: reading id > cursor can
// skip nothing.
func (s *SQLite) ListEvents(ctx context.Context, tenant, afterCursor string, limit int) ([]ticket.Event, error) {
	if err := checkText(text{"tenant", tenant}); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	if err := checkLimit("list events", limit); err != nil {
		return nil, err
	}
	after, err := parseSQLiteCursor(afterCursor)
	if err != nil {
		return nil, fmt.Errorf("list events after %q: %w", afterCursor, err)
	}
	rows, err := s.r.listEvents.QueryContext(ctx, tenant, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return collect(rows, func(r scanner) (ticket.Event, error) {
		var (
			id      int64
			typ     string
			payload string
			at      int64
		)
		e := ticket.Event{Tenant: tenant}
		if err := r.Scan(&id, &e.TicketID, &typ, &payload, &at); err != nil {
			return e, err
		}
		e.Cursor, e.Type, e.CreateTime = sqliteCursor(id), ticket.EventType(typ), fromMicros(at)
		return e, decodeEvent(&e, []byte(payload))
	})
}

// DeleteIdempotencyKeys implements ticket.Store.
func (s *SQLite) DeleteIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := checkLimit("delete idempotency keys", limit); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sqliteDeleteKeys, micros(normTime(before)), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	return int(n), nil
}

// Subscribe implements ticket.Store. Only this process writes through its
// connection, so its own broadcasts are all there is to hear; another
// process on the same file is seen on the watcher's next poll.
func (s *SQLite) Subscribe(tenant string) (<-chan struct{}, func()) {
	return s.hub.Subscribe(tenant)
}

// Ping implements ticket.Store.
func (s *SQLite) Ping(ctx context.Context) error {
	return s.db.Read.PingContext(ctx)
}

// Close implements ticket.Store.
func (s *SQLite) Close() error {
	return s.db.Close()
}

// micros is how SQLite keeps a time: Unix microseconds, UTC.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

// sqliteTicketArgs are the values of ticketColumns for t.
func sqliteTicketArgs(t ticket.Ticket) []any {
	tags, _ := json.Marshal(t.Tags)           // []string always encodes
	fields, _ := json.Marshal(t.CustomFields) // so does map[string]string
	return []any{
		t.Tenant, t.ID, t.Subject, t.Description, string(t.Status), t.Impact, t.Urgency,
		int(t.Priority), string(t.Channel), t.Requester.Name, t.Requester.Email,
		t.Requester.Identity, t.Group, t.Assignee, string(tags), string(fields),
		micros(t.CreateTime), micros(t.UpdateTime), nullMicros(t.SolveTime), t.Version,
		t.Requester.ContactID, t.Number,
	}
}

// sqliteUpdateArgs are the values of sqliteUpdateTicket for t.
func sqliteUpdateArgs(t ticket.Ticket) []any {
	tags, _ := json.Marshal(t.Tags)
	fields, _ := json.Marshal(t.CustomFields)
	return []any{
		t.Subject, t.Description, string(t.Status), t.Impact, t.Urgency, int(t.Priority),
		string(t.Channel), t.Requester.Name, t.Requester.Email, t.Requester.Identity, t.Group,
		t.Assignee, string(tags), string(fields), micros(t.UpdateTime), nullMicros(t.SolveTime),
		t.Version, t.Requester.ContactID, t.Tenant, t.ID,
	}
}

func sqliteCommentArgs(c ticket.Comment) []any {
	return []any{c.Tenant, c.ID, c.TicketID, c.Author, string(c.AuthorType), c.Body, string(c.Visibility), micros(c.CreateTime),
		c.Actor.ID, string(c.Actor.Kind), c.Actor.DisplayName}
}

type scanner interface{ Scan(dest ...any) error }

// scanSQLiteTicket reads ticketColumns; no row is ErrNotFound.
func scanSQLiteTicket(r scanner) (ticket.Ticket, error) {
	var (
		t                ticket.Ticket
		status, channel  string
		priority         int
		tags, fields     string
		created, updated int64
		solved           sql.NullInt64
		sla              sql.NullString
		attachments      sql.NullString
	)
	err := r.Scan(&t.Tenant, &t.ID, &t.Subject, &t.Description, &status, &t.Impact, &t.Urgency,
		&priority, &channel, &t.Requester.Name, &t.Requester.Email, &t.Requester.Identity,
		&t.Group, &t.Assignee, &tags, &fields, &created, &updated, &solved, &t.Version,
		&t.Requester.ContactID, &t.Number, &sla, &attachments)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ticket.ErrNotFound
	}
	if err != nil {
		return t, err
	}
	t.Status, t.Channel, t.Priority = ticket.Status(status), ticket.Channel(channel), ticket.Priority(priority)
	if err := json.Unmarshal([]byte(tags), &t.Tags); err != nil {
		return t, fmt.Errorf("ticket %s: tags: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(fields), &t.CustomFields); err != nil {
		return t, fmt.Errorf("ticket %s: custom fields: %w", t.ID, err)
	}
	t.CreateTime, t.UpdateTime = fromMicros(created), fromMicros(updated)
	if solved.Valid {
		t.SolveTime = fromMicros(solved.Int64)
	}
	if t.SLA, err = decodeSLA([]byte(sla.String)); err != nil {
		return t, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	if t.Attachments, err = decodeAttachments([]byte(attachments.String)); err != nil {
		return t, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	return normTicket(t), nil
}

func scanSQLiteComment(r scanner) (ticket.Comment, error) {
	var (
		c                      ticket.Comment
		authorType, visibility string
		actorKind              string
		created                int64
		attachments            sql.NullString
	)
	err := r.Scan(&c.Tenant, &c.ID, &c.TicketID, &c.Author, &authorType, &c.Body, &visibility, &created,
		&c.Actor.ID, &actorKind, &c.Actor.DisplayName, &attachments)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ticket.ErrNotFound
	}
	if err != nil {
		return c, err
	}
	c.AuthorType, c.Visibility, c.CreateTime = ticket.AuthorType(authorType), ticket.Visibility(visibility), fromMicros(created)
	c.Actor.Kind = ticket.ActorKind(actorKind)
	if c.Attachments, err = decodeAttachments([]byte(attachments.String)); err != nil {
		return c, fmt.Errorf("comment %s: %w", c.ID, err)
	}
	return c, nil
}

// collect scans every row with scan.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
