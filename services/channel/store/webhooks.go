package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Webhook is a receiver of a tenant's ticket events (see package
// webhook).
type Webhook struct {
	Tenant      string
	ID          string // time-ordered UUID
	URL         string
	Events      []string // event names; never nil when read
	Description string
	// Secret is write-only: the new signing secret given to CreateWebhook
	// or UpdateWebhook (empty: unchanged). Reads leave it empty;
	// WebhookSecrets reads the secrets.
	Secret string
	// SecretUpdateTime is when the current secret was set;
	// PreviousSecretExpireTime until when the one it replaced still signs
	// (zero: none does).
	SecretUpdateTime         time.Time
	PreviousSecretExpireTime time.Time
	// RequestID is the Idempotency-Key of the create ("" without one),
	// RequestHash a digest of that request, to tell a retry from another
	// request under the same key.
	RequestID, RequestHash string
	// Cursor is the position in the tenant's event stream up to which
	// every event is done with. Generation is bumped by every replay;
	// GenerationTime is when it began (the retry window of an event older
	// than it counts from it). Events committed before StartTime are passed
	// over (zero: none is).
	Cursor         string
	Generation     int64
	GenerationTime time.Time
	StartTime      time.Time
	CreateTime     time.Time
	UpdateTime     time.Time
	Version        int64 // bumped by every change a caller makes (not by the cursor)
}

// WebhookSecret is one secret of a webhook.
type WebhookSecret struct {
	Secret     string
	CreateTime time.Time
	// ExpireTime is zero for the current secret; a replaced one signs
	// until then.
	ExpireTime time.Time
}

// The states of a webhook delivery.
const (
	DeliveryPending      = "pending"
	DeliverySucceeded    = "succeeded"
	DeliveryDeadLettered = "dead_lettered"
)

// Delivery is the delivery of one event to one webhook, in one generation
// of it.
type Delivery struct {
	Tenant     string
	ID         string // made by SaveWebhookDelivery when empty
	WebhookID  string
	Generation int64
	Replay     bool
	EventID    string // the event's cursor
	EventType  string
	TicketID   string
	EventTime  time.Time
	State      string
	Attempts   int
	// ResponseCode, Latency and Error are the last attempt's.
	ResponseCode int
	Latency      time.Duration
	Error        string
	CreateTime   time.Time // the first attempt
	UpdateTime   time.Time // the last attempt
	// NextAttemptTime is when a pending delivery is tried again.
	NextAttemptTime time.Time
}

// DeliveryQuery selects and pages a webhook's deliveries, newest first.
type DeliveryQuery struct {
	State    string // "": any
	TicketID string // "": any
	BeforeID string
	Limit    int
}

// Webhooks keeps the outgoing webhooks, their secrets and their delivery
// log. Every method but AllWebhooks and PruneWebhookDeliveries is scoped
// to the tenant it is given.
type Webhooks interface {
	// CreateWebhook stores w as a new webhook (ID made when empty,
	// version and generation 1, generation time now) with its first
	// secret w.Secret, and returns it as stored, created true. When
	// w.RequestID is set and a webhook of the tenant was created with it,
	// it returns that one and created false; the caller compares
	// RequestHash.
	CreateWebhook(ctx context.Context, w Webhook) (Webhook, bool, error)
	GetWebhook(ctx context.Context, tenant, id string) (Webhook, error)
	// ListWebhooks pages a tenant's webhooks, newest first.
	ListWebhooks(ctx context.Context, tenant, beforeID string, limit int) ([]Webhook, error)
	// AllWebhooks lists every tenant's webhooks, for the deliveries.
	AllWebhooks(ctx context.Context) ([]Webhook, error)
	// UpdateWebhook runs mutate on the webhook in one transaction and
	// writes the result, its version bumped. ifVersion > 0 must be the
	// stored version (else ErrVersion). A w.Secret set by mutate becomes
	// the current secret; the one it replaces signs for keepPrevious more,
	// and secrets expired by now are removed. mutate's own error is
	// returned as is.
	UpdateWebhook(ctx context.Context, tenant, id string, ifVersion int64, keepPrevious time.Duration, mutate func(*Webhook) error) (Webhook, error)
	// DeleteWebhook removes the webhook, its secrets and its deliveries.
	// ifVersion as in UpdateWebhook.
	DeleteWebhook(ctx context.Context, tenant, id string, ifVersion int64) error
	// WebhookSecrets returns the webhook's secrets that sign at `at`:
	// the current one first, then replaced ones not expired, newest
	// first.
	WebhookSecrets(ctx context.Context, tenant, id string, at time.Time) ([]WebhookSecret, error)
	// ReplayWebhook starts a new generation of the webhook: from
	// afterCursor, passing over events committed before start (zero: none),
	// its version bumped.
	ReplayWebhook(ctx context.Context, tenant, id, afterCursor string, start time.Time) (Webhook, error)
	// SaveWebhookCursor records the webhook's cursor when generation is
	// still its generation, and reports whether it did.
	SaveWebhookCursor(ctx context.Context, tenant, id string, generation int64, cursor string) (bool, error)
	// WebhookDelivery returns the delivery of an event in a generation of
	// a webhook; ok is false when there is none.
	WebhookDelivery(ctx context.Context, tenant, webhookID string, generation int64, eventID string) (d Delivery, ok bool, err error)
	// SaveWebhookDelivery writes d: a new row (ID made when empty), or
	// the state, attempts and last attempt of the delivery of its event
	// in its generation. It returns d as stored.
	SaveWebhookDelivery(ctx context.Context, d Delivery) (Delivery, error)
	// ListWebhookDeliveries pages a webhook's deliveries, newest first.
	ListWebhookDeliveries(ctx context.Context, tenant, webhookID string, q DeliveryQuery) ([]Delivery, error)
	// PruneWebhookDeliveries removes, in every tenant, the deliveries done
	// with (succeeded or dead-lettered) whose last attempt was before
	// `before`, and those of webhooks that are gone, and returns how many.
	PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error)
	// The deliveries run in one process at a time (LeaseWebhookDeliveries).
	Leases
}

const (
	webhookColumns = `tenant, id, url, events, description, secret_update_time, previous_secret_expire_time,
		request_id, request_hash, cursor, generation, generation_time, start_time, create_time, update_time, version`
	insertWebhook = `INSERT INTO channel_webhooks (` + webhookColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	getWebhook   = `SELECT ` + webhookColumns + ` FROM channel_webhooks WHERE tenant = ? AND id = ?`
	insertSecret = `INSERT INTO channel_webhook_secrets (tenant, webhook_id, secret, create_time, expire_time) VALUES (?, ?, ?, ?, ?)`
	deliveryCols = `tenant, id, webhook_id, generation, replay, event_id, event_type, ticket_id, event_time, state,
		attempts, response_code, latency_us, error, create_time, update_time, next_attempt_time`
	upsertDeliver = `INSERT INTO channel_webhook_deliveries (` + deliveryCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, webhook_id, generation, event_id) DO UPDATE SET state = excluded.state,
		attempts = excluded.attempts, response_code = excluded.response_code, latency_us = excluded.latency_us,
		error = excluded.error, update_time = excluded.update_time, next_attempt_time = excluded.next_attempt_time`
)

// nullTime scans a time column that may be NULL (zero).
type nullTime struct{ t time.Time }

// Scan implements sql.Scanner.
func (n *nullTime) Scan(src any) error {
	if src == nil {
		n.t = time.Time{}
		return nil
	}
	var d dbTime
	if err := d.Scan(src); err != nil {
		return err
	}
	n.t = d.t
	return nil
}

// nullTS is t as the engine takes it, NULL when zero.
func (e *engine) nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return e.d.ts(t)
}

func normWebhook(w Webhook) Webhook {
	w.Events = slices.Clone(w.Events)
	if w.Events == nil {
		w.Events = []string{}
	}
	return w
}

func webhookText(w Webhook) []text {
	out := []text{
		{"tenant", w.Tenant}, {"id", w.ID}, {"url", w.URL}, {"description", w.Description}, {"secret", w.Secret},
		{"request id", w.RequestID}, {"cursor", w.Cursor},
	}
	for _, ev := range w.Events {
		out = append(out, text{"event", ev})
	}
	return out
}

func scanWebhook(r scanner) (Webhook, error) {
	var (
		w                       Webhook
		events                  string
		secretTime, genTime     dbTime
		created, updated        dbTime
		previousExpire, startAt nullTime
	)
	if err := r.Scan(&w.Tenant, &w.ID, &w.URL, &events, &w.Description, &secretTime, &previousExpire,
		&w.RequestID, &w.RequestHash, &w.Cursor, &w.Generation, &genTime, &startAt, &created, &updated, &w.Version); err != nil {
		return Webhook{}, err
	}
	if err := jsonUnmarshal(events, &w.Events); err != nil {
		return Webhook{}, fmt.Errorf("webhook %s: events: %w", w.ID, err)
	}
	w.SecretUpdateTime, w.PreviousSecretExpireTime = secretTime.t, previousExpire.t
	w.GenerationTime, w.StartTime = genTime.t, startAt.t
	w.CreateTime, w.UpdateTime = created.t, updated.t
	return normWebhook(w), nil
}

func (e *engine) webhookArgs(w Webhook) []any {
	return []any{
		w.Tenant, w.ID, w.URL, stringsJSON(w.Events), w.Description, e.d.ts(w.SecretUpdateTime), e.nullTS(w.PreviousSecretExpireTime),
		w.RequestID, w.RequestHash, w.Cursor, w.Generation, e.d.ts(w.GenerationTime), e.nullTS(w.StartTime),
		e.d.ts(w.CreateTime), e.d.ts(w.UpdateTime), w.Version,
	}
}

// CreateWebhook implements Webhooks.
func (e *engine) CreateWebhook(ctx context.Context, w Webhook) (Webhook, bool, error) {
	w = normWebhook(w)
	if w.ID == "" {
		w.ID = NewID()
	}
	if err := checkText(webhookText(w)...); err != nil {
		return Webhook{}, false, fmt.Errorf("create webhook: %w", err)
	}
	if w.Secret == "" {
		return Webhook{}, false, errors.New("create webhook: no secret")
	}
	at := now()
	w.SecretUpdateTime, w.PreviousSecretExpireTime = at, time.Time{}
	w.Generation, w.GenerationTime = 1, at
	w.CreateTime, w.UpdateTime, w.Version = at, at, 1
	secret := w.Secret
	w.Secret = ""
	err := e.d.tx(ctx, func(q queryer) error {
		if _, err := q.exec(ctx, insertWebhook, e.webhookArgs(w)...); err != nil {
			return err
		}
		_, err := q.exec(ctx, insertSecret, w.Tenant, w.ID, secret, e.d.ts(at), nil)
		return err
	})
	if err != nil && w.RequestID != "" && e.d.unique(err) {
		first, ferr := scanWebhook(e.d.read.queryRow(ctx, `SELECT `+webhookColumns+` FROM channel_webhooks WHERE tenant = ? AND request_id = ?`,
			w.Tenant, w.RequestID))
		if ferr == nil {
			return first, false, nil
		}
		if !e.d.noRows(ferr) {
			err = ferr
		}
	}
	if err != nil {
		return Webhook{}, false, fmt.Errorf("create webhook: %w", err)
	}
	return w, true, nil
}

// GetWebhook implements Webhooks.
func (e *engine) GetWebhook(ctx context.Context, tenant, id string) (Webhook, error) {
	w, err := scanWebhook(e.d.read.queryRow(ctx, getWebhook, tenant, id))
	if err != nil {
		return Webhook{}, fmt.Errorf("webhook %s: %w", id, e.notFound(err))
	}
	return w, nil
}

// ListWebhooks implements Webhooks.
func (e *engine) ListWebhooks(ctx context.Context, tenant, beforeID string, limit int) ([]Webhook, error) {
	if err := checkLimit("list webhooks", limit); err != nil {
		return nil, err
	}
	if err := checkText(text{"tenant", tenant}, text{"before id", beforeID}); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	sql := `SELECT ` + webhookColumns + ` FROM channel_webhooks WHERE tenant = ?`
	args := []any{tenant}
	if beforeID != "" {
		sql += ` AND id < ?`
		args = append(args, beforeID)
	}
	out, err := list(ctx, e.d.read, scanWebhook, sql+` ORDER BY id DESC LIMIT ?`, append(args, limit))
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// AllWebhooks implements Webhooks.
func (e *engine) AllWebhooks(ctx context.Context) ([]Webhook, error) {
	out, err := list(ctx, e.d.read, scanWebhook, `SELECT `+webhookColumns+` FROM channel_webhooks ORDER BY tenant, id`, nil)
	if err != nil {
		return nil, fmt.Errorf("all webhooks: %w", err)
	}
	return out, nil
}

// UpdateWebhook implements Webhooks.
func (e *engine) UpdateWebhook(ctx context.Context, tenant, id string, ifVersion int64, keepPrevious time.Duration, mutate func(*Webhook) error) (Webhook, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return Webhook{}, fmt.Errorf("update webhook: %w", err)
	}
	var out Webhook
	err := e.d.tx(ctx, func(q queryer) error {
		cur, err := scanWebhook(q.queryRow(ctx, getWebhook+e.d.forUpdate, tenant, id))
		if err != nil {
			return e.notFound(err)
		}
		if ifVersion > 0 && cur.Version != ifVersion {
			return fmt.Errorf("version %d, stored %d: %w", ifVersion, cur.Version, ErrVersion)
		}
		next := normWebhook(cur)
		if mutate != nil {
			if err := mutate(&next); err != nil {
				return errMutate{err}
			}
		}
		next = normWebhook(next)
		if err := checkText(webhookText(next)...); err != nil {
			return err
		}
		at := now()
		if next.Secret != "" {
			if err := e.rotateSecret(ctx, q, tenant, id, next.Secret, at, keepPrevious); err != nil {
				return err
			}
			next.SecretUpdateTime, next.PreviousSecretExpireTime = at, time.Time{}
			if keepPrevious > 0 {
				next.PreviousSecretExpireTime = at.Add(keepPrevious)
			}
			next.Secret = ""
		}
		// Only what a caller may change is written; the cursor and the
		// generation are the deliveries' and the replays'.
		next.Tenant, next.ID, next.CreateTime = cur.Tenant, cur.ID, cur.CreateTime
		next.Cursor, next.Generation, next.GenerationTime, next.StartTime = cur.Cursor, cur.Generation, cur.GenerationTime, cur.StartTime
		next.RequestID, next.RequestHash = cur.RequestID, cur.RequestHash
		next.Version, next.UpdateTime = cur.Version+1, at
		if _, err := q.exec(ctx, `UPDATE channel_webhooks SET url = ?, events = ?, description = ?, secret_update_time = ?,
			previous_secret_expire_time = ?, update_time = ?, version = ? WHERE tenant = ? AND id = ?`,
			next.URL, stringsJSON(next.Events), next.Description, e.d.ts(next.SecretUpdateTime),
			e.nullTS(next.PreviousSecretExpireTime), e.d.ts(next.UpdateTime), next.Version, tenant, id); err != nil {
			return err
		}
		out = next
		return nil
	})
	if m, ok := errors.AsType[errMutate](err); ok {
		return Webhook{}, m.err
	}
	if err != nil {
		return Webhook{}, fmt.Errorf("update webhook %s: %w", id, err)
	}
	return out, nil
}

// rotateSecret makes secret the webhook's current secret: the current
// one expires after keepPrevious, and those expired by at go.
func (e *engine) rotateSecret(ctx context.Context, q queryer, tenant, id, secret string, at time.Time, keepPrevious time.Duration) error {
	if _, err := q.exec(ctx, `UPDATE channel_webhook_secrets SET expire_time = ? WHERE tenant = ? AND webhook_id = ? AND expire_time IS NULL`,
		e.d.ts(at.Add(keepPrevious)), tenant, id); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM channel_webhook_secrets WHERE tenant = ? AND webhook_id = ? AND expire_time <= ?`,
		tenant, id, e.d.ts(at)); err != nil {
		return err
	}
	// Two rotations within a microsecond would share a key: the later
	// one is a microsecond on.
	var last nullTime
	if err := q.queryRow(ctx, `SELECT MAX(create_time) FROM channel_webhook_secrets WHERE tenant = ? AND webhook_id = ?`, tenant, id).Scan(&last); err != nil {
		return err
	}
	created := at
	if !created.After(last.t) {
		created = last.t.Add(time.Microsecond)
	}
	_, err := q.exec(ctx, insertSecret, tenant, id, secret, e.d.ts(created), nil)
	return err
}

// DeleteWebhook implements Webhooks.
func (e *engine) DeleteWebhook(ctx context.Context, tenant, id string, ifVersion int64) error {
	err := e.d.tx(ctx, func(q queryer) error {
		cur, err := scanWebhook(q.queryRow(ctx, getWebhook+e.d.forUpdate, tenant, id))
		if err != nil {
			return e.notFound(err)
		}
		if ifVersion > 0 && cur.Version != ifVersion {
			return fmt.Errorf("version %d, stored %d: %w", ifVersion, cur.Version, ErrVersion)
		}
		for _, table := range []string{"channel_webhook_deliveries", "channel_webhook_secrets"} {
			if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE tenant = ? AND webhook_id = ?`, tenant, id); err != nil {
				return err
			}
		}
		_, err = q.exec(ctx, `DELETE FROM channel_webhooks WHERE tenant = ? AND id = ?`, tenant, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// WebhookSecrets implements Webhooks.
func (e *engine) WebhookSecrets(ctx context.Context, tenant, id string, at time.Time) ([]WebhookSecret, error) {
	out, err := list(ctx, e.d.read, func(r scanner) (WebhookSecret, error) {
		var (
			s       WebhookSecret
			created dbTime
			expire  nullTime
		)
		err := r.Scan(&s.Secret, &created, &expire)
		s.CreateTime, s.ExpireTime = created.t, expire.t
		return s, err
	}, `SELECT secret, create_time, expire_time FROM channel_webhook_secrets
		WHERE tenant = ? AND webhook_id = ? AND (expire_time IS NULL OR expire_time > ?)
		ORDER BY create_time DESC`, []any{tenant, id, e.d.ts(at)})
	if err != nil {
		return nil, fmt.Errorf("secrets of webhook %s: %w", id, err)
	}
	return out, nil
}

// ReplayWebhook implements Webhooks.
func (e *engine) ReplayWebhook(ctx context.Context, tenant, id, afterCursor string, start time.Time) (Webhook, error) {
	if err := checkText(text{"cursor", afterCursor}); err != nil {
		return Webhook{}, fmt.Errorf("replay webhook: %w", err)
	}
	var out Webhook
	err := e.d.tx(ctx, func(q queryer) error {
		cur, err := scanWebhook(q.queryRow(ctx, getWebhook+e.d.forUpdate, tenant, id))
		if err != nil {
			return e.notFound(err)
		}
		at := now()
		cur.Cursor, cur.StartTime = afterCursor, start.UTC().Truncate(time.Microsecond)
		cur.Generation, cur.GenerationTime = cur.Generation+1, at
		cur.Version, cur.UpdateTime = cur.Version+1, at
		if _, err := q.exec(ctx, `UPDATE channel_webhooks SET cursor = ?, start_time = ?, generation = ?, generation_time = ?,
			version = ?, update_time = ? WHERE tenant = ? AND id = ?`,
			cur.Cursor, e.nullTS(cur.StartTime), cur.Generation, e.d.ts(at), cur.Version, e.d.ts(at), tenant, id); err != nil {
			return err
		}
		out = cur
		return nil
	})
	if err != nil {
		return Webhook{}, fmt.Errorf("replay webhook %s: %w", id, err)
	}
	return out, nil
}

// SaveWebhookCursor implements Webhooks.
func (e *engine) SaveWebhookCursor(ctx context.Context, tenant, id string, generation int64, cursor string) (bool, error) {
	if err := checkText(text{"cursor", cursor}); err != nil {
		return false, fmt.Errorf("save webhook cursor: %w", err)
	}
	n, err := e.d.write(ctx, `UPDATE channel_webhooks SET cursor = ? WHERE tenant = ? AND id = ? AND generation = ?`,
		cursor, tenant, id, generation)
	if err != nil {
		return false, fmt.Errorf("save the cursor of webhook %s: %w", id, err)
	}
	return n == 1, nil
}

func scanDelivery(r scanner) (Delivery, error) {
	var (
		d                       Delivery
		latency                 int64
		eventTime, created, upd dbTime
		next                    nullTime
	)
	if err := r.Scan(&d.Tenant, &d.ID, &d.WebhookID, &d.Generation, &d.Replay, &d.EventID, &d.EventType, &d.TicketID,
		&eventTime, &d.State, &d.Attempts, &d.ResponseCode, &latency, &d.Error, &created, &upd, &next); err != nil {
		return Delivery{}, err
	}
	d.Latency = time.Duration(latency) * time.Microsecond
	d.EventTime, d.CreateTime, d.UpdateTime, d.NextAttemptTime = eventTime.t, created.t, upd.t, next.t
	return d, nil
}

// WebhookDelivery implements Webhooks.
func (e *engine) WebhookDelivery(ctx context.Context, tenant, webhookID string, generation int64, eventID string) (Delivery, bool, error) {
	d, err := scanDelivery(e.d.read.queryRow(ctx, `SELECT `+deliveryCols+` FROM channel_webhook_deliveries
		WHERE tenant = ? AND webhook_id = ? AND generation = ? AND event_id = ?`, tenant, webhookID, generation, eventID))
	if e.d.noRows(err) {
		return Delivery{}, false, nil
	}
	if err != nil {
		return Delivery{}, false, fmt.Errorf("delivery of event %s to webhook %s: %w", eventID, webhookID, err)
	}
	return d, true, nil
}

// SaveWebhookDelivery implements Webhooks.
func (e *engine) SaveWebhookDelivery(ctx context.Context, d Delivery) (Delivery, error) {
	if d.ID == "" {
		d.ID = NewID()
	}
	if err := checkText(text{"tenant", d.Tenant}, text{"id", d.ID}, text{"webhook id", d.WebhookID}, text{"event id", d.EventID},
		text{"event type", d.EventType}, text{"ticket id", d.TicketID}, text{"error", d.Error}); err != nil {
		return Delivery{}, fmt.Errorf("save webhook delivery: %w", err)
	}
	switch d.State {
	case DeliveryPending, DeliverySucceeded, DeliveryDeadLettered:
	default:
		return Delivery{}, fmt.Errorf("save webhook delivery: state %q; accepted: %s, %s, %s", d.State, DeliveryPending, DeliverySucceeded, DeliveryDeadLettered)
	}
	at := now()
	if d.CreateTime.IsZero() {
		d.CreateTime = at
	}
	d.UpdateTime = at
	d.EventTime = d.EventTime.UTC().Truncate(time.Microsecond)
	d.NextAttemptTime = d.NextAttemptTime.UTC().Truncate(time.Microsecond)
	d.Latency = d.Latency.Truncate(time.Microsecond)
	if _, err := e.d.write(ctx, upsertDeliver, d.Tenant, d.ID, d.WebhookID, d.Generation, d.Replay, d.EventID, d.EventType,
		d.TicketID, e.d.ts(d.EventTime), d.State, d.Attempts, d.ResponseCode, d.Latency.Microseconds(), d.Error,
		e.d.ts(d.CreateTime), e.d.ts(d.UpdateTime), e.nullTS(d.NextAttemptTime)); err != nil {
		return Delivery{}, fmt.Errorf("save the delivery of event %s to webhook %s: %w", d.EventID, d.WebhookID, err)
	}
	return d, nil
}

// ListWebhookDeliveries implements Webhooks.
func (e *engine) ListWebhookDeliveries(ctx context.Context, tenant, webhookID string, q DeliveryQuery) ([]Delivery, error) {
	if err := checkLimit("list webhook deliveries", q.Limit); err != nil {
		return nil, err
	}
	if err := checkText(text{"tenant", tenant}, text{"webhook id", webhookID}, text{"before id", q.BeforeID},
		text{"state", q.State}, text{"ticket id", q.TicketID}); err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	where := []string{"tenant = ?", "webhook_id = ?"}
	args := []any{tenant, webhookID}
	add := func(cond string, a any) { where = append(where, cond); args = append(args, a) }
	if q.State != "" {
		add("state = ?", q.State)
	}
	if q.TicketID != "" {
		add("ticket_id = ?", q.TicketID)
	}
	if q.BeforeID != "" {
		add("id < ?", q.BeforeID)
	}
	out, err := list(ctx, e.d.read, scanDelivery, `SELECT `+deliveryCols+` FROM channel_webhook_deliveries WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, append(args, q.Limit))
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return out, nil
}

// PruneWebhookDeliveries implements Webhooks.
func (e *engine) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	// A delivery saved while its webhook was being deleted goes too.
	n, err := e.d.write(ctx, `DELETE FROM channel_webhook_deliveries WHERE (update_time < ? AND state <> 'pending')
		OR NOT EXISTS (SELECT 1 FROM channel_webhooks w WHERE w.tenant = channel_webhook_deliveries.tenant AND w.id = channel_webhook_deliveries.webhook_id)`,
		e.d.ts(before))
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return n, nil
}
