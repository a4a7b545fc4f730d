package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/singleflight"

	"github.com/kubedesk/kubedesk/services/platform/storage"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// Postgres is the production ticket.Store. Writes are single statements
// (CTEs) where the logic allows, so a create is one round trip.
type Postgres struct {
	pool *pgxpool.Pool
	hub  storage.Broadcaster
	// notifier tells other processes (their listeners) that a tenant has
	// new events; listener hears them, ours included, and wakes local
	// watchers.
	notifier  *storage.PGNotifier
	listener  *storage.PGListener
	closeOnce sync.Once
	// sequences are the tenants whose number sequence this process knows
	// to exist (tenant -> its name).
	sequences sync.Map
	creating  singleflight.Group // a sequence being created, by tenant
}

// notifyChannel is the LISTEN/NOTIFY channel; the payload is the tenant.
const notifyChannel = "kubedesk_ticket_events"

// The SQL below numbers its parameters to match the arg builders
// (pgTicketArgs, pgWriteArgs); ticketColumns and commentColumns are shared
// with SQLite.
const (
	// pgAttachmentsOf aggregates attachments as a JSON array
	// (attachmentJSON), NULL when there are none.
	pgAttachmentsOf = `(SELECT json_agg(json_build_object('id', a.id, 'position', a.position,
		'filename', a.filename, 'content_type', a.content_type, 'size', a.size, 'sha256', a.sha256,
		'inline', a.inline, 'content_id', a.content_id)) FROM attachments a WHERE `
	// pgTicketReadColumns are ticketColumns, the SLA (which only SetSLA
	// writes) and the description's attachments.
	pgTicketReadColumns = ticketColumns + `, sla, ` + pgAttachmentsOf +
		`a.tenant = tickets.tenant AND a.ticket_id = tickets.id AND a.comment_id = '')`
	pgCommentReadColumns = commentColumns + `, ` + pgAttachmentsOf +
		`a.tenant = comments.tenant AND a.ticket_id = comments.ticket_id AND a.comment_id = comments.id)`

	pgGetTicket = `SELECT ` + pgTicketReadColumns + ` FROM tickets WHERE tenant = $1 AND id = $2`
	// pgTicketWriteLock serialises the writers of one ticket (see
	// lockTicket). An advisory lock needs no transaction id, unlike a row
	// lock; 0x7469 ("ti") keeps its key space apart from other users of
	// two-key advisory locks. A hash collision only serialises two tickets.
	pgTicketWriteLock = `SELECT pg_advisory_xact_lock(x'7469'::int, hashtext($1 || '/' || $2))`
	pgLockTicket      = pgGetTicket + ` FOR UPDATE`

	// $1..$21: ticketColumns but number (pgTicketArgs).
	pgTicketValues = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21`
	pgEventColumns = `tenant, ticket_id, type, payload, create_time`

	pgAttachmentColumns = `tenant, id, ticket_id, comment_id, position, filename, content_type, size, sha256, inline, content_id`

	// pgCreateTicket writes a ticket with the next value of its tenant's
	// number sequence, its attachments and its event, and returns the
	// number. $1..$21 pgTicketArgs, $22 payload (its ticket's number is
	// set here), $23 the sequence, $24 the attachments (JSON rows). The
	// sequence is named as text and looked up at run time.
	pgCreateTicket = `WITH n AS (
		SELECT nextval($23::text::regclass) AS number
	), t AS (
		INSERT INTO tickets (` + ticketColumns + `) SELECT ` + pgTicketValues + `, n.number FROM n RETURNING number
	), a AS (
		INSERT INTO attachments (` + pgAttachmentColumns + `)
		SELECT $1, r.id, $2, '', r.position, r.filename, r.content_type, r.size, r.sha256, r.inline, r.content_id
		FROM ` + pgCreateAttachmentRows + `
	)
	INSERT INTO ticket_events (` + pgEventColumns + `)
	SELECT $1, $2, 'ticket.created', jsonb_set($22::jsonb, '{ticket,number}', to_jsonb(t.number))::json, $17 FROM t
	RETURNING (payload->'ticket'->>'number')::bigint`
	// pgCreateAttachmentRows reads $24, the JSON array of
	// encodeAttachmentRows.
	pgCreateAttachmentRows = `json_to_recordset($24::json) AS r(id text, position integer, filename text,
		content_type text, size bigint, sha256 text, inline boolean, content_id text)`
	// As pgCreateTicket, plus $25 key, $26 request hash. The ticket, its
	// number and its event are taken and written only if the key is new
	// (FROM k): a retry consumes no number. A concurrent twin waits on the
	// key's primary key until this commits, then writes nothing. No row
	// returned means the key was used before.
	pgCreateTicketKey = `WITH k AS (
		INSERT INTO idempotency_keys (tenant, key, request_hash, resource_kind, resource_id, create_time)
		VALUES ($1, $25, $26, 'ticket', $2, $17)
		ON CONFLICT DO NOTHING
		RETURNING 1
	), n AS (
		SELECT nextval($23::text::regclass) AS number FROM k
	), t AS (
		INSERT INTO tickets (` + ticketColumns + `) SELECT ` + pgTicketValues + `, n.number FROM n RETURNING number
	), a AS (
		INSERT INTO attachments (` + pgAttachmentColumns + `)
		SELECT $1, r.id, $2, '', r.position, r.filename, r.content_type, r.size, r.sha256, r.inline, r.content_id
		FROM k, ` + pgCreateAttachmentRows + `
	)
	INSERT INTO ticket_events (` + pgEventColumns + `)
	SELECT $1, $2, 'ticket.created', jsonb_set($22::jsonb, '{ticket,number}', to_jsonb(t.number))::json, $17 FROM t
	RETURNING (payload->'ticket'->>'number')::bigint`

	// $1 tenant, $2 ticket id, $3..$19 the new values, $20 event type, $21
	// payload, $22 the requester's contact ID (pgWriteArgs).
	pgUpdateSet = `UPDATE tickets SET subject = $3, description = $4, status = $5, impact = $6,
		urgency = $7, priority = $8, channel = $9, requester_name = $10, requester_email = $11,
		requester_identity = $12, group_name = $13, assignee = $14, tags = $15, custom_fields = $16,
		update_time = $17, solve_time = $18, version = $19, requester_contact_id = $22
		WHERE tenant = $1 AND id = $2`
	pgEventValues = `$1, $2, $20, $21, $17`

	pgUpdateTicket = `WITH u AS (` + pgUpdateSet + `)
	INSERT INTO ticket_events (` + pgEventColumns + `) VALUES (` + pgEventValues + `)`

	// As pgUpdateTicket, plus the comment: $23 id, $24 author, $25 author
	// type, $26 body, $27 visibility, $28 create time, $29 actor id, $30
	// actor kind, $31 actor name, $32 its attachments (JSON rows).
	pgCommentValues     = `$1, $23, $2, $24, $25, $26, $27, $28, $29, $30, $31`
	pgCommentAttachment = `SELECT $1, r.id, $2, $23, r.position, r.filename, r.content_type, r.size, r.sha256, r.inline, r.content_id
		FROM `
	pgCommentRows = `json_to_recordset($32::json) AS r(id text, position integer, filename text,
		content_type text, size bigint, sha256 text, inline boolean, content_id text)`
	pgAddComment = `WITH c AS (
		INSERT INTO comments (` + commentColumns + `) VALUES (` + pgCommentValues + `)
	), a AS (
		INSERT INTO attachments (` + pgAttachmentColumns + `) ` + pgCommentAttachment + pgCommentRows + `
	), u AS (` + pgUpdateSet + `)
	INSERT INTO ticket_events (` + pgEventColumns + `) VALUES (` + pgEventValues + `)`
	// As pgAddComment, plus $33 key, $34 request hash, gated like
	// pgCreateTicketKey.
	pgAddCommentKey = `WITH k AS (
		INSERT INTO idempotency_keys (tenant, key, request_hash, resource_kind, resource_id, create_time)
		VALUES ($1, $33, $34, 'comment', $23, $28)
		ON CONFLICT DO NOTHING
		RETURNING 1
	), c AS (
		INSERT INTO comments (` + commentColumns + `) SELECT ` + pgCommentValues + ` FROM k
	), a AS (
		INSERT INTO attachments (` + pgAttachmentColumns + `) ` + pgCommentAttachment + `k, ` + pgCommentRows + `
	), u AS (` + pgUpdateSet + ` AND EXISTS (SELECT 1 FROM k))
	INSERT INTO ticket_events (` + pgEventColumns + `) SELECT ` + pgEventValues + ` FROM k`

	// $1 tenant, $2 ticket id, $3 sla, $4 sla_state, $5 sla_next_due, $6
	// sla_update_time (encodeSLA's slaRow). Version and update_time stay.
	pgSetSLA = `UPDATE tickets SET sla = $3, sla_state = $4, sla_next_due = $5, sla_update_time = $6
		WHERE tenant = $1 AND id = $2`
	// As pgSetSLA, plus its event: $7 payload, $8 create time.
	pgSetSLAEvent = `WITH u AS (` + pgSetSLA + `)
	INSERT INTO ticket_events (` + pgEventColumns + `) VALUES ($1, $2, 'sla.changed', $7, $8)`

	// pgInsertComment writes a comment without attachments: $1 tenant,
	// $2 ticket id, then as pgCommentValues' $23..$31 at $3..$11.
	pgInsertComment = `INSERT INTO comments (` + commentColumns + `) VALUES ($1, $3, $2, $4, $5, $6, $7, $8, $9, $10, $11)`
	// pgInsertEvent writes one event: $1 tenant, $2 ticket id, $3 type,
	// $4 payload, $5 create time.
	pgInsertEvent = `INSERT INTO ticket_events (` + pgEventColumns + `) VALUES ($1, $2, $3, $4, $5)`
	// pgApplied finds the ticket a decision was applied to.
	pgApplied       = `SELECT ticket_id FROM ticket_routing_applied WHERE tenant = $1 AND decision_id = $2`
	pgInsertApplied = `INSERT INTO ticket_routing_applied (tenant, decision_id, ticket_id, create_time)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`

	pgDeleteKeys = `DELETE FROM idempotency_keys WHERE (tenant, key) IN (
		SELECT tenant, key FROM idempotency_keys WHERE create_time < $1
		ORDER BY create_time LIMIT $2 FOR UPDATE SKIP LOCKED)`
	pgGetKey = `SELECT request_hash, resource_kind, resource_id FROM idempotency_keys
		WHERE tenant = $1 AND key = $2`
	pgGetComment   = `SELECT ` + pgCommentReadColumns + ` FROM comments WHERE tenant = $1 AND id = $2`
	pgListComments = `SELECT ` + pgCommentReadColumns + ` FROM comments
		WHERE tenant = $1 AND ticket_id = $2 AND id > $3 ORDER BY id LIMIT $4`
	pgTicketExists  = `SELECT EXISTS (SELECT 1 FROM tickets WHERE tenant = $1 AND id = $2)`
	pgGetAttachment = `SELECT a.id, a.filename, a.content_type, a.size, a.sha256, a.inline, a.content_id,
		a.comment_id, coalesce(c.visibility, '')
		FROM attachments a LEFT JOIN comments c ON c.tenant = a.tenant AND c.id = a.comment_id
		WHERE a.tenant = $1 AND a.ticket_id = $2 AND a.id = $3`

	// pgListEvents returns events after the cursor ($2 xid, $3 id) whose
	// transactions are older than the oldest one still running: those are
	// all finished, so no event sorting before them can still appear (a
	// bigserial alone is not commit order). The subquery evaluates the
	// snapshot once, as an index bound.
	pgListEvents = `SELECT xid::text, id, ticket_id, type, payload, create_time
		FROM ticket_events
		WHERE tenant = $1
		  AND (xid, id) > ($2::text::xid8, $3::bigint)
		  AND xid < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
		ORDER BY ticket_events.xid, ticket_events.id -- the columns, not the text of the select list
		LIMIT $4`
)

// OpenPostgres connects to url, brings the schema up to date (serialised
// with other replicas) and starts listening for other processes' writes.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	pool, err := storage.OpenPostgres(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("ticket store: %w", err)
	}
	if err := storage.MigratePostgres(ctx, pool, migrationScope, storage.EngineMigrations(migrations, "postgres")); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ticket store: %w", err)
	}
	s := &Postgres{pool: pool}
	s.notifier = storage.NewPGNotifier(pool, notifyChannel)
	// After a reconnect, notifications may have been missed: wake everyone.
	s.listener = storage.ListenPostgres(pool.Config().ConnConfig, notifyChannel, s.hub.Notify, s.hub.NotifyAll)
	return s, nil
}

// committed wakes watchers of tenant here and, through PostgreSQL, in
// other processes.
func (s *Postgres) committed(tenant string) {
	s.hub.Notify(tenant)
	s.notifier.Notify(tenant)
}

// CreateTicket implements ticket.Store in one statement (one round trip),
// plus two reads when replaying a used key.
func (s *Postgres) CreateTicket(ctx context.Context, t ticket.Ticket, idem ticket.Idempotency) (ticket.Ticket, bool, error) {
	if err := checkText(ticketText(t, idem)...); err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	t = normTicket(t)
	t.SLA = nil  // a new ticket has none; SetSLA sets it
	t.Number = 0 // the statement sets the payload's
	payload, err := encodePayload(ctx, t, nil, nil)
	if err != nil {
		return ticket.Ticket{}, false, err
	}
	seq, err := s.numberSequence(ctx, t.Tenant)
	if err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("create ticket %s: %w", t.ID, err)
	}
	args := append(pgTicketArgs(t), payload, seq, encodeAttachmentRows(t.Attachments))
	sql := pgCreateTicket
	if idem.Key != "" {
		sql = pgCreateTicketKey
		args = append(args, idem.Key, idem.RequestHash)
	}
	err = s.pool.QueryRow(ctx, sql, args...).Scan(&t.Number)
	if errors.Is(err, pgx.ErrNoRows) {
		first, err := s.replayTicket(ctx, t.Tenant, idem)
		if err != nil {
			return ticket.Ticket{}, false, fmt.Errorf("create ticket %s: %w", t.ID, err)
		}
		return first, false, nil
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23505" && pgErr.ConstraintName == "tickets_pkey" {
		return ticket.Ticket{}, false, fmt.Errorf("create ticket %s: %w", t.ID, ticket.ErrExists)
	}
	if err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("create ticket %s: %w", t.ID, err)
	}
	s.committed(t.Tenant)
	return t, true, nil
}

// numberSequence returns the name of the tenant's ticket number sequence,
// creating it on the tenant's first create (in this process): one
// sequence per tenant, so creates of one tenant never wait on each other
// (nextval takes no lock a transaction holds), named from a hash of the
// tenant (any text) and started past the tenant's highest number (those
// the migration gave existing tickets).
//
// Creates in this process share one creation (single flight), and
// replicas take turns under an advisory lock keyed by the sequence: CREATE
// SEQUENCE IF NOT EXISTS alone is not safe when two run at once (the loser
// can fail with a unique violation on the catalog instead of seeing the
// sequence), and under the lock the second finds the first's committed.
func (s *Postgres) numberSequence(ctx context.Context, tenant string) (string, error) {
	if name, ok := s.sequences.Load(tenant); ok {
		return name.(string), nil
	}
	sum := sha256.Sum256([]byte(tenant))
	name := "ticket_number_" + hex.EncodeToString(sum[:16])
	_, err, _ := s.creating.Do(tenant, func() (any, error) {
		return nil, s.createSequence(context.WithoutCancel(ctx), tenant, name, int64(binary.BigEndian.Uint64(sum[16:24])))
	})
	if err != nil {
		return "", fmt.Errorf("creating the ticket number sequence %s: %w", name, err)
	}
	s.sequences.Store(tenant, name)
	return name, nil
}

// createSequence creates the sequence called name, starting past the
// tenant's highest number, holding the advisory lock lockKey meanwhile.
func (s *Postgres) createSequence(ctx context.Context, tenant, name string, lockKey int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
			return err
		}
		var next int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(number), 0) + 1 FROM tickets WHERE tenant = $1`, tenant).Scan(&next); err != nil {
			return err
		}
		// name is hex from our hash and next a number: nothing to quote.
		// DDL takes no parameters.
		_, err := tx.Exec(ctx, `CREATE SEQUENCE IF NOT EXISTS `+name+` AS bigint START WITH `+strconv.FormatInt(next, 10))
		return err
	})
}

// replayTicket returns the ticket an already used key created.
func (s *Postgres) replayTicket(ctx context.Context, tenant string, idem ticket.Idempotency) (ticket.Ticket, error) {
	id, err := s.usedKey(ctx, s.pool, tenant, idem, kindTicket)
	if err != nil {
		return ticket.Ticket{}, err
	}
	return scanPGTicket(s.pool.QueryRow(ctx, pgGetTicket, tenant, id))
}

// usedKey returns the id of the resource a used key made, or
// ErrIdempotencyMismatch when it was used for another request.
func (s *Postgres) usedKey(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, tenant string, idem ticket.Idempotency, kind string) (string, error) {
	var hash, gotKind, id string
	if err := q.QueryRow(ctx, pgGetKey, tenant, idem.Key).Scan(&hash, &gotKind, &id); err != nil {
		return "", fmt.Errorf("reading idempotency key: %w", err)
	}
	if hash != idem.RequestHash || gotKind != kind {
		return "", ticket.ErrIdempotencyMismatch
	}
	return id, nil
}

// GetTicket implements ticket.Store.
func (s *Postgres) GetTicket(ctx context.Context, tenant, id string) (ticket.Ticket, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return ticket.Ticket{}, fmt.Errorf("get ticket: %w", err)
	}
	t, err := scanPGTicket(s.pool.QueryRow(ctx, pgGetTicket, tenant, id))
	if err != nil {
		return ticket.Ticket{}, fmt.Errorf("get ticket %s: %w", id, err)
	}
	return t, nil
}

// ListTickets implements ticket.Store.
func (s *Postgres) ListTickets(ctx context.Context, tenant string, q ticket.ListQuery) ([]ticket.Ticket, error) {
	if err := checkText(append(filterText(q), text{"tenant", tenant}, text{"after id", q.After.ID})...); err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	if err := checkLimit("list tickets", q.Limit); err != nil {
		return nil, err
	}
	out := []ticket.Ticket{}
	for _, st := range buildList(true, tenant, q) {
		rows, err := s.pool.Query(ctx, st.sql, append(st.args, q.Limit-len(out))...)
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ticket.Ticket, error) { return scanPGTicket(r) })
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		if out = append(out, page...); len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

// UpdateTicket implements ticket.Store: lock, mutate, write ticket and
// event in one statement, commit.
func (s *Postgres) UpdateTicket(ctx context.Context, tenant, id string, mutate ticket.Mutation) (ticket.Ticket, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return ticket.Ticket{}, fmt.Errorf("update ticket: %w", err)
	}
	var (
		out    ticket.Ticket
		wrote  bool
		mutErr error
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, _, err := s.lockTicket(ctx, tx, tenant, id, ticket.Idempotency{})
		if err != nil {
			return err
		}
		next, changes, err := mutateTicket(cur, mutate, now())
		if err != nil {
			mutErr = err
			return err
		}
		if len(changes) == 0 {
			out = cur
			return errNothingToWrite
		}
		payload, err := encodePayload(ctx, next, nil, changes)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, pgUpdateTicket, pgWriteArgs(next, ticket.EventTicketUpdated, payload)...); err != nil {
			return fmt.Errorf("writing ticket: %w", err)
		}
		out, wrote = next, true
		return nil
	})
	if mutErr != nil {
		return ticket.Ticket{}, mutErr // the caller's own error, untouched
	}
	if err != nil {
		return ticket.Ticket{}, fmt.Errorf("update ticket %s: %w", id, err)
	}
	if wrote {
		s.committed(tenant)
	}
	return out, nil
}

// SetSLA implements ticket.Store: lock the ticket as UpdateTicket does (so
// its events stay in commit order), write the SLA columns and, when a
// clock's state changed, the event in one statement, then an escalation's
// update and its event, commit.
func (s *Postgres) SetSLA(ctx context.Context, tenant, id string, sla ticket.SLA, escalate ticket.Mutation) (ticket.Ticket, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}, text{"SLA policy", sla.Policy}); err != nil {
		return ticket.Ticket{}, fmt.Errorf("set SLA: %w", err)
	}
	var (
		out    ticket.Ticket
		wrote  bool // an event
		mutErr error
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, _, err := s.lockTicket(ctx, tx, tenant, id, ticket.Idempotency{})
		if err != nil {
			return err
		}
		w, err := planSetSLA(cur, sla, escalate, now())
		if err != nil {
			mutErr = err
			return err
		}
		out = w.result()
		if !w.write && len(w.escalation) == 0 {
			return errNothingToWrite
		}
		if w.write {
			row, err := encodeSLA(w.withSLA.SLA)
			if err != nil {
				return err
			}
			args := []any{tenant, id, row.json, row.state, nullTime(row.nextDue), nullTime(row.updateTime)}
			sql := pgSetSLA
			if w.changed {
				payload, err := encodePayload(ctx, w.withSLA, nil, w.changes)
				if err != nil {
					return err
				}
				sql, args = pgSetSLAEvent, append(args, payload, w.at)
			}
			if _, err := tx.Exec(ctx, sql, args...); err != nil {
				return fmt.Errorf("writing SLA: %w", err)
			}
			wrote = w.changed
		}
		if len(w.escalation) == 0 {
			return nil
		}
		payload, err := encodePayload(ctx, w.escalated, nil, w.escalation)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, pgUpdateTicket, pgWriteArgs(w.escalated, ticket.EventTicketUpdated, payload)...); err != nil {
			return fmt.Errorf("writing ticket: %w", err)
		}
		wrote = true
		return nil
	})
	if mutErr != nil {
		return ticket.Ticket{}, mutErr // the caller's own error, untouched
	}
	if err != nil {
		return ticket.Ticket{}, fmt.Errorf("set SLA of ticket %s: %w", id, err)
	}
	if wrote {
		s.committed(tenant)
	}
	return out, nil
}

// ApplyRouting implements ticket.Store: lock the ticket as UpdateTicket
// does (its events stay in commit order, and a decision sent twice at
// once finds the first one's record), look the decision up, mutate, then
// write the note, the ticket with the first event, the routing event and
// the record, commit.
func (s *Postgres) ApplyRouting(ctx context.Context, tenant, id string, r ticket.Routing, note *ticket.Comment, mutate ticket.Mutation) (ticket.Ticket, bool, error) {
	if err := checkText(append(routingText(r, note), text{"tenant", tenant}, text{"id", id})...); err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("apply routing: %w", err)
	}
	var (
		out     ticket.Ticket
		applied bool
		mutErr  error
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, _, err := s.lockTicket(ctx, tx, tenant, id, ticket.Idempotency{})
		if err != nil {
			return err
		}
		var appliedTo string
		switch err := tx.QueryRow(ctx, pgApplied, tenant, r.ID).Scan(&appliedTo); {
		case err == nil && appliedTo == id:
			out = cur
			return errNothingToWrite
		case err == nil:
			return fmt.Errorf("decision %s was applied to ticket %s: %w", r.ID, appliedTo, ticket.ErrDecisionReused)
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("reading applied decisions: %w", err)
		}
		w, err := planRouting(ctx, cur, r, note, mutate, now())
		if err != nil {
			mutErr = err
			return err
		}
		b := &pgx.Batch{}
		if c := w.note; c != nil {
			b.Queue(pgInsertComment, c.Tenant, c.TicketID, c.ID, c.Author, string(c.AuthorType), c.Body,
				string(c.Visibility), c.CreateTime, c.Actor.ID, string(c.Actor.Kind), c.Actor.DisplayName)
		}
		switch {
		case w.updated != nil: // the ticket and its update event at once
			b.Queue(pgUpdateTicket, pgWriteArgs(w.next, ticket.EventTicketUpdated, w.updated)...)
		case w.bump: // a note alone: the ticket and the routing event at once
			b.Queue(pgUpdateTicket, pgWriteArgs(w.next, ticket.EventRoutingAssigned, w.assigned)...)
		}
		if !w.bump || w.updated != nil {
			b.Queue(pgInsertEvent, tenant, id, string(ticket.EventRoutingAssigned), w.assigned, w.at)
		}
		b.Queue(pgInsertApplied, tenant, r.ID, id, w.at)
		results := tx.SendBatch(ctx, b)
		var tag pgconn.CommandTag
		for range b.Len() {
			if tag, err = results.Exec(); err != nil {
				results.Close()
				return fmt.Errorf("writing routing decision: %w", err)
			}
		}
		if err := results.Close(); err != nil {
			return fmt.Errorf("writing routing decision: %w", err)
		}
		if tag.RowsAffected() == 0 {
			// The same decision, for another ticket (whose lock is not
			// ours), committed since our look-up.
			return fmt.Errorf("decision %s: %w", r.ID, ticket.ErrDecisionReused)
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
		s.committed(tenant)
	}
	return out, applied, nil
}

// errNothingToWrite ends a transaction early without an error to report.
var errNothingToWrite = errors.New("nothing to write")

// inTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise; errNothingToWrite rolls back and reports success.
func (s *Postgres) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		// A failed rollback leaves a broken connection, which pgx closes.
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if errors.Is(err, errNothingToWrite) {
			return nil
		}
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// AddComment implements ticket.Store: lock the ticket (and, in the same
// round trip, look the key up), mutate, write comment, ticket and event in
// one statement, commit.
func (s *Postgres) AddComment(ctx context.Context, c ticket.Comment, idem ticket.Idempotency, mutate ticket.Mutation) (ticket.Comment, bool, error) {
	if err := checkText(commentText(c, idem)...); err != nil {
		return ticket.Comment{}, false, fmt.Errorf("add comment: %w", err)
	}
	c = normComment(c)
	var (
		first  *ticket.Comment
		mutErr error
		raced  bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, keyUsed, err := s.lockTicket(ctx, tx, c.Tenant, c.TicketID, idem)
		if err != nil {
			return err
		}
		if keyUsed {
			got, err := s.replayComment(ctx, tx, c.Tenant, idem)
			first = &got
			if err != nil {
				return err
			}
			return errNothingToWrite
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
		args := append(pgWriteArgs(next, ticket.EventCommentAdded, payload),
			c.ID, c.Author, string(c.AuthorType), c.Body, string(c.Visibility), c.CreateTime,
			c.Actor.ID, string(c.Actor.Kind), c.Actor.DisplayName, encodeAttachmentRows(c.Attachments))
		sql := pgAddComment
		if idem.Key != "" {
			sql = pgAddCommentKey
			args = append(args, idem.Key, idem.RequestHash)
		}
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("writing comment: %w", err)
		}
		if tag.RowsAffected() == 0 {
			// A create with the same key, which does not lock this
			// ticket, committed between our look-up and our insert.
			raced = true
			return errNothingToWrite
		}
		return nil
	})
	if mutErr != nil {
		return ticket.Comment{}, false, mutErr
	}
	if err == nil && raced {
		var got ticket.Comment
		got, err = s.replayComment(ctx, s.pool, c.Tenant, idem)
		first = &got
	}
	if err != nil {
		return ticket.Comment{}, false, fmt.Errorf("add comment %s to ticket %s: %w", c.ID, c.TicketID, err)
	}
	if first != nil {
		return *first, false, nil
	}
	s.committed(c.Tenant)
	return c, true, nil
}

// lockTicket locks a ticket for a write and reads it; with an idempotency
// key it also reports whether the key was used before. It is one round
// trip, and must open the transaction.
//
// The event stream orders a ticket's events by transaction id, so the
// writers of a ticket must get their ids in the order they get the ticket.
// A row lock alone does not ensure that: under READ COMMITTED a waiter for
// a row that its holder then updates is given its transaction id while
// following the update chain, before it competes for the new row version,
// so a later id can win (the contract suite caught it). The advisory lock
// taken first needs no transaction id; the id is assigned by the FOR UPDATE
// after it, hence after the previous writer has committed. FOR UPDATE stays
// as the guard against writers that bypass this store.
//
// The key look-up runs after the locks are granted, so it sees a twin
// request that held them before us.
func (s *Postgres) lockTicket(ctx context.Context, tx pgx.Tx, tenant, id string, idem ticket.Idempotency) (ticket.Ticket, bool, error) {
	b := &pgx.Batch{}
	b.Queue(pgTicketWriteLock, tenant, id)
	b.Queue(pgLockTicket, tenant, id)
	if idem.Key != "" {
		b.Queue(`SELECT EXISTS (SELECT 1 FROM idempotency_keys WHERE tenant = $1 AND key = $2)`, tenant, idem.Key)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("locking ticket: %w", err)
	}
	cur, err := scanPGTicket(br.QueryRow())
	if err != nil {
		return cur, false, err
	}
	var used bool
	if idem.Key != "" {
		if err := br.QueryRow().Scan(&used); err != nil {
			return cur, false, fmt.Errorf("reading idempotency key: %w", err)
		}
	}
	return cur, used, br.Close()
}

// replayComment returns the comment an already used key created.
func (s *Postgres) replayComment(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, tenant string, idem ticket.Idempotency) (ticket.Comment, error) {
	id, err := s.usedKey(ctx, q, tenant, idem, kindComment)
	if err != nil {
		return ticket.Comment{}, err
	}
	return scanPGComment(q.QueryRow(ctx, pgGetComment, tenant, id))
}

// GetAttachment implements ticket.Store.
func (s *Postgres) GetAttachment(ctx context.Context, tenant, ticketID, id string) (ticket.AttachmentRef, error) {
	if err := checkText(text{"tenant", tenant}, text{"ticket id", ticketID}, text{"attachment id", id}); err != nil {
		return ticket.AttachmentRef{}, fmt.Errorf("get attachment: %w", err)
	}
	var (
		a          ticket.AttachmentRef
		visibility string
	)
	err := s.pool.QueryRow(ctx, pgGetAttachment, tenant, ticketID, id).Scan(&a.ID, &a.Filename, &a.ContentType,
		&a.Size, &a.SHA256, &a.Inline, &a.ContentID, &a.CommentID, &visibility)
	if errors.Is(err, pgx.ErrNoRows) {
		err = ticket.ErrNotFound
	}
	if err != nil {
		return ticket.AttachmentRef{}, fmt.Errorf("get attachment %s of ticket %s: %w", id, ticketID, err)
	}
	a.Visibility = ticket.Visibility(visibility)
	return a, nil
}

// ListComments implements ticket.Store.
func (s *Postgres) ListComments(ctx context.Context, tenant, ticketID, afterID string, limit int) ([]ticket.Comment, error) {
	if err := checkText(text{"tenant", tenant}, text{"ticket id", ticketID}, text{"after id", afterID}); err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	if err := checkLimit("list comments", limit); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, pgListComments, tenant, ticketID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list comments of ticket %s: %w", ticketID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ticket.Comment, error) { return scanPGComment(r) })
	if err != nil {
		return nil, fmt.Errorf("list comments of ticket %s: %w", ticketID, err)
	}
	if len(out) > 0 {
		return out, nil
	}
	// An empty page: tell "no (more) comments" from "no such ticket".
	var exists bool
	if err := s.pool.QueryRow(ctx, pgTicketExists, tenant, ticketID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("list comments of ticket %s: %w", ticketID, err)
	}
	if !exists {
		return nil, fmt.Errorf("list comments of ticket %s: %w", ticketID, ticket.ErrNotFound)
	}
	return []ticket.Comment{}, nil
}

// ListEvents implements ticket.Store; see pgListEvents.
func (s *Postgres) ListEvents(ctx context.Context, tenant, afterCursor string, limit int) ([]ticket.Event, error) {
	if err := checkText(text{"tenant", tenant}); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	if err := checkLimit("list events", limit); err != nil {
		return nil, err
	}
	xid, id, err := parsePostgresCursor(afterCursor)
	if err != nil {
		return nil, fmt.Errorf("list events after %q: %w", afterCursor, err)
	}
	rows, err := s.pool.Query(ctx, pgListEvents, tenant, strconv.FormatUint(xid, 10), id, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ticket.Event, error) {
		var (
			xidText string
			id      int64
			typ     string
			payload []byte
		)
		e := ticket.Event{Tenant: tenant}
		if err := r.Scan(&xidText, &id, &e.TicketID, &typ, &payload, &e.CreateTime); err != nil {
			return e, err
		}
		x, err := strconv.ParseUint(xidText, 10, 64)
		if err != nil {
			return e, fmt.Errorf("event %d: xid %q: %w", id, xidText, err)
		}
		e.Cursor, e.Type, e.CreateTime = postgresCursor(x, id), ticket.EventType(typ), normTime(e.CreateTime)
		return e, decodeEvent(&e, payload)
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return nonNil(out), nil
}

// DeleteIdempotencyKeys implements ticket.Store. Keys another janitor
// (another replica) is deleting are skipped, not waited for.
func (s *Postgres) DeleteIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := checkLimit("delete idempotency keys", limit); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, pgDeleteKeys, normTime(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Subscribe implements ticket.Store. Watchers wake on this process's
// commits at once and on other processes' through LISTEN.
func (s *Postgres) Subscribe(tenant string) (<-chan struct{}, func()) {
	return s.hub.Subscribe(tenant)
}

// Ping implements ticket.Store.
func (s *Postgres) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// Close implements ticket.Store; later calls do nothing.
func (s *Postgres) Close() error {
	s.closeOnce.Do(func() {
		s.listener.Close()
		s.notifier.Close()
		s.pool.Close()
	})
	return nil
}

// pgTicketArgs are the values of ticketColumns but number for t
// ($1..$21).
func pgTicketArgs(t ticket.Ticket) []any {
	return []any{
		t.Tenant, t.ID, t.Subject, t.Description, string(t.Status), t.Impact, t.Urgency,
		int(t.Priority), string(t.Channel), t.Requester.Name, t.Requester.Email,
		t.Requester.Identity, t.Group, t.Assignee, t.Tags, t.CustomFields,
		t.CreateTime, t.UpdateTime, nullTime(t.SolveTime), t.Version, t.Requester.ContactID,
	}
}

// pgWriteArgs are $1..$22 of pgUpdateTicket and pgAddComment.
func pgWriteArgs(t ticket.Ticket, typ ticket.EventType, payload []byte) []any {
	return []any{
		t.Tenant, t.ID, t.Subject, t.Description, string(t.Status), t.Impact, t.Urgency,
		int(t.Priority), string(t.Channel), t.Requester.Name, t.Requester.Email,
		t.Requester.Identity, t.Group, t.Assignee, t.Tags, t.CustomFields,
		t.UpdateTime, nullTime(t.SolveTime), t.Version, string(typ), payload, t.Requester.ContactID,
	}
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// scanPGTicket reads ticketColumns; no row is ErrNotFound.
func scanPGTicket(r pgx.Row) (ticket.Ticket, error) {
	var (
		t               ticket.Ticket
		status, channel string
		priority        int
		solved          *time.Time
		sla             []byte
		attachments     []byte
	)
	err := r.Scan(&t.Tenant, &t.ID, &t.Subject, &t.Description, &status, &t.Impact, &t.Urgency,
		&priority, &channel, &t.Requester.Name, &t.Requester.Email, &t.Requester.Identity,
		&t.Group, &t.Assignee, &t.Tags, &t.CustomFields, &t.CreateTime, &t.UpdateTime, &solved, &t.Version,
		&t.Requester.ContactID, &t.Number, &sla, &attachments)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ticket.ErrNotFound
	}
	if err != nil {
		return t, err
	}
	t.Status, t.Channel, t.Priority = ticket.Status(status), ticket.Channel(channel), ticket.Priority(priority)
	if solved != nil {
		t.SolveTime = *solved
	}
	if t.SLA, err = decodeSLA(sla); err != nil {
		return t, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	if t.Attachments, err = decodeAttachments(attachments); err != nil {
		return t, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	return normTicket(t), nil
}

func scanPGComment(r pgx.Row) (ticket.Comment, error) {
	var (
		c                      ticket.Comment
		authorType, visibility string
		actorKind              string
		attachments            []byte
	)
	err := r.Scan(&c.Tenant, &c.ID, &c.TicketID, &c.Author, &authorType, &c.Body, &visibility, &c.CreateTime,
		&c.Actor.ID, &actorKind, &c.Actor.DisplayName, &attachments)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ticket.ErrNotFound
	}
	if err != nil {
		return c, err
	}
	c.AuthorType, c.Visibility = ticket.AuthorType(authorType), ticket.Visibility(visibility)
	c.Actor.Kind = ticket.ActorKind(actorKind)
	if c.Attachments, err = decodeAttachments(attachments); err != nil {
		return c, fmt.Errorf("comment %s: %w", c.ID, err)
	}
	return normComment(c), nil
}

// nonNil turns "no rows" into an empty, non-nil page.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
