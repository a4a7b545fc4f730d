package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/storage"
)

// Postgres is the production iam.Store. Every write but UpdateUser and the
// touch batches is one statement.
type Postgres struct {
	pool *pgxpool.Pool
}

const (
	pgGetUser       = `SELECT ` + userColumns + ` FROM iam_users WHERE tenant = $1 AND id = $2`
	pgLockUser      = pgGetUser + ` FOR UPDATE`
	pgGetUserEmail  = `SELECT ` + userColumns + ` FROM iam_users WHERE tenant = $1 AND email = $2`
	pgLookupKey     = `SELECT ` + keyColumns + ` FROM iam_api_keys WHERE digest = $1`
	pgLookupSession = `SELECT ` + sessionColumns + ` FROM iam_sessions WHERE digest = $1`
	pgGetSession    = `SELECT ` + sessionColumns + ` FROM iam_sessions WHERE tenant = $1 AND id = $2`

	pgInsertUser = `INSERT INTO iam_users (` + userColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	pgUpdateUser = `UPDATE iam_users SET email = $3, display_name = $4, locale = $5, time_zone = $6,
		roles = $7, group_names = $8, active = $9, password_hash = $10, update_time = $11, version = $12
		WHERE tenant = $1 AND id = $2`
	pgInsertKey = `INSERT INTO iam_api_keys (` + keyColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	// A second revoke keeps the first time.
	pgRevokeKey = `UPDATE iam_api_keys SET revoke_time = coalesce(revoke_time, $3)
		WHERE tenant = $1 AND id = $2 RETURNING ` + keyColumns
	pgTouchKey = `UPDATE iam_api_keys SET last_used_time = $2
		WHERE id = $1 AND (last_used_time IS NULL OR last_used_time < $2)`
	pgInsertSession = `INSERT INTO iam_sessions (` + sessionColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	pgRevokeSession = `UPDATE iam_sessions SET revoke_time = coalesce(revoke_time, $3)
		WHERE tenant = $1 AND id = $2`
	pgRevokeUserSessions = `UPDATE iam_sessions SET revoke_time = $4
		WHERE tenant = $1 AND user_id = $2 AND id <> $3 AND revoke_time IS NULL AND expire_time > $4`
	pgTouchSession = `UPDATE iam_sessions SET last_seen_time = $2
		WHERE id = $1 AND (last_seen_time IS NULL OR last_seen_time < $2)`
	// Rows another janitor (another replica) is deleting are skipped, not
	// waited for.
	pgDeleteSessions = `DELETE FROM iam_sessions WHERE id IN (
		SELECT id FROM iam_sessions WHERE expire_time < $1 OR revoke_time < $1
		LIMIT $2 FOR UPDATE SKIP LOCKED)`
	pgDeleteAddressCode = `DELETE FROM iam_sign_in_codes WHERE tenant = $1 AND email = $2`
	pgInsertCode        = `INSERT INTO iam_sign_in_codes (` + codeColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	pgLockAddressCode = `SELECT ` + codeColumns + ` FROM iam_sign_in_codes
		WHERE tenant = $1 AND email = $2 FOR UPDATE`
	pgUseCode          = `UPDATE iam_sign_in_codes SET used_time = $2 WHERE id = $1`
	pgSpendCode        = `UPDATE iam_sign_in_codes SET attempts_left = attempts_left - 1 WHERE id = $1`
	pgReassignSessions = `UPDATE iam_sessions SET contact_id = $3 WHERE tenant = $1 AND contact_id = $2`
	pgReassignCodes    = `UPDATE iam_sign_in_codes SET contact_id = $3 WHERE tenant = $1 AND contact_id = $2`
	pgDeleteCodes      = `DELETE FROM iam_sign_in_codes WHERE id IN (
		SELECT id FROM iam_sign_in_codes WHERE expire_time < $1
		LIMIT $2 FOR UPDATE SKIP LOCKED)`
	pgInsertAudit = `INSERT INTO iam_audit_events (` + auditColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	pgDeleteAudit = `DELETE FROM iam_audit_events WHERE (tenant, id) IN (
		SELECT tenant, id FROM iam_audit_events WHERE create_time < $1
		ORDER BY create_time LIMIT $2 FOR UPDATE SKIP LOCKED)`
)

// OpenPostgres connects to url and brings the schema up to date
// (serialised with other replicas).
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	pool, err := storage.OpenPostgres(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("iam store: %w", err)
	}
	if err := storage.MigratePostgres(ctx, pool, migrationScope, storage.EngineMigrations(migrations, "postgres")); err != nil {
		pool.Close()
		return nil, fmt.Errorf("iam store: %w", err)
	}
	return &Postgres{pool: pool}, nil
}

// pgConflict turns a unique violation into iam.ErrConflict.
func pgConflict(err error) error {
	if e, ok := errors.AsType[*pgconn.PgError](err); ok && e.Code == "23505" {
		return fmt.Errorf("%w (%s)", iam.ErrConflict, e.ConstraintName)
	}
	return err
}

// CreateUser implements iam.Store.
func (s *Postgres) CreateUser(ctx context.Context, u iam.User) error {
	if err := checkText(userText(u)...); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	u = normUser(u)
	_, err := s.pool.Exec(ctx, pgInsertUser, u.Tenant, u.ID, u.Email, u.DisplayName, u.Locale, u.TimeZone,
		int32s(u.Roles), u.Groups, u.Active, u.PasswordHash, u.CreateTime, u.UpdateTime, u.Version)
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, pgConflict(err))
	}
	return nil
}

// GetUser implements iam.Store.
func (s *Postgres) GetUser(ctx context.Context, tenant, id string) (iam.User, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return iam.User{}, fmt.Errorf("get user: %w", err)
	}
	u, err := scanPGUser(s.pool.QueryRow(ctx, pgGetUser, tenant, id))
	if err != nil {
		return iam.User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// GetUserByEmail implements iam.Store.
func (s *Postgres) GetUserByEmail(ctx context.Context, tenant, email string) (iam.User, error) {
	if err := checkText(text{"tenant", tenant}, text{"email", email}); err != nil {
		return iam.User{}, fmt.Errorf("get user by email: %w", err)
	}
	u, err := scanPGUser(s.pool.QueryRow(ctx, pgGetUserEmail, tenant, lowerEmail(email)))
	if err != nil {
		return iam.User{}, fmt.Errorf("get user by email %q: %w", email, err)
	}
	return u, nil
}

// ListUsers implements iam.Store.
func (s *Postgres) ListUsers(ctx context.Context, tenant, afterEmail string, limit int) ([]iam.User, error) {
	if err := checkText(text{"tenant", tenant}, text{"after email", afterEmail}); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	if err := checkLimit("list users", limit); err != nil {
		return nil, err
	}
	q, args := listUsersQuery(true, tenant, afterEmail, limit)
	out, err := pgList(ctx, s.pool, scanPGUser, q, args)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser implements iam.Store: lock the row, mutate, write, commit.
func (s *Postgres) UpdateUser(ctx context.Context, tenant, id string, ifVersion int64, mutate func(*iam.User) error) (iam.User, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return iam.User{}, fmt.Errorf("update user: %w", err)
	}
	var out iam.User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanPGUser(tx.QueryRow(ctx, pgLockUser, tenant, id))
		if err != nil {
			return err
		}
		next, err := mutateUser(cur, ifVersion, mutate, now())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, pgUpdateUser, tenant, id, next.Email, next.DisplayName, next.Locale,
			next.TimeZone, int32s(next.Roles), next.Groups, next.Active, next.PasswordHash,
			next.UpdateTime, next.Version); err != nil {
			return pgConflict(err)
		}
		out = next
		return nil
	})
	if err != nil {
		return iam.User{}, updateError(id, err)
	}
	return out, nil
}

// CountUsers implements iam.Store.
func (s *Postgres) CountUsers(ctx context.Context, tenant string) (int, error) {
	if err := checkText(text{"tenant", tenant}); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM iam_users WHERE tenant = $1`, tenant).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateAPIKey implements iam.Store.
func (s *Postgres) CreateAPIKey(ctx context.Context, k iam.APIKey) error {
	if err := checkText(keyText(k)...); err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	k = normKey(k)
	_, err := s.pool.Exec(ctx, pgInsertKey, k.Tenant, k.ID, k.DisplayName, int32(k.Role), k.Digest, k.Prefix,
		k.Tenants, k.Creator.ID, int32(k.Creator.Kind), k.Creator.DisplayName, k.CreateTime,
		nullTime(k.ExpireTime), nullTime(k.LastUsedTime), nullTime(k.RevokeTime))
	if err != nil {
		return fmt.Errorf("create API key %s: %w", k.ID, pgConflict(err))
	}
	return nil
}

// LookupAPIKey implements iam.Store.
func (s *Postgres) LookupAPIKey(ctx context.Context, digest string) (iam.APIKey, error) {
	if err := checkText(text{"digest", digest}); err != nil {
		return iam.APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	k, err := scanPGKey(s.pool.QueryRow(ctx, pgLookupKey, digest))
	if err != nil {
		return iam.APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	return k, nil
}

// ListAPIKeys implements iam.Store.
func (s *Postgres) ListAPIKeys(ctx context.Context, tenant, beforeID string, limit int) ([]iam.APIKey, error) {
	if err := checkText(text{"tenant", tenant}, text{"before id", beforeID}); err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	if err := checkLimit("list API keys", limit); err != nil {
		return nil, err
	}
	q, args := listKeysQuery(true, tenant, beforeID, limit)
	out, err := pgList(ctx, s.pool, scanPGKey, q, args)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey implements iam.Store.
func (s *Postgres) RevokeAPIKey(ctx context.Context, tenant, id string, at time.Time) (iam.APIKey, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return iam.APIKey{}, fmt.Errorf("revoke API key: %w", err)
	}
	if err := checkAt(at); err != nil {
		return iam.APIKey{}, fmt.Errorf("revoke API key: %w", err)
	}
	k, err := scanPGKey(s.pool.QueryRow(ctx, pgRevokeKey, tenant, id, normTime(at)))
	if err != nil {
		return iam.APIKey{}, fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return k, nil
}

// CountAPIKeys implements iam.Store.
func (s *Postgres) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM iam_api_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count API keys: %w", err)
	}
	return n, nil
}

// TouchAPIKeys implements iam.Store in one transaction and one round trip.
func (s *Postgres) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if err := s.touch(ctx, pgTouchKey, used); err != nil {
		return fmt.Errorf("touch API keys: %w", err)
	}
	return nil
}

// CreateSession implements iam.Store.
func (s *Postgres) CreateSession(ctx context.Context, ses iam.Session) error {
	if err := checkSession(ses); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	ses = normSession(ses)
	_, err := s.pool.Exec(ctx, pgInsertSession, ses.Tenant, ses.ID, ses.UserID, ses.Digest, ses.ClientIP,
		ses.UserAgent, ses.CreateTime, nullTime(ses.LastSeenTime), ses.ExpireTime, nullTime(ses.RevokeTime),
		ses.ContactID, ses.Email, ses.DisplayName, ses.Locale)
	if err != nil {
		return fmt.Errorf("create session %s: %w", ses.ID, pgConflict(err))
	}
	return nil
}

// LookupSession implements iam.Store.
func (s *Postgres) LookupSession(ctx context.Context, digest string) (iam.Session, error) {
	if err := checkText(text{"digest", digest}); err != nil {
		return iam.Session{}, fmt.Errorf("look up session: %w", err)
	}
	ses, err := scanPGSession(s.pool.QueryRow(ctx, pgLookupSession, digest))
	if err != nil {
		return iam.Session{}, fmt.Errorf("look up session: %w", err)
	}
	return ses, nil
}

// ListSessions implements iam.Store.
func (s *Postgres) ListSessions(ctx context.Context, tenant, userID, beforeID string, at time.Time, limit int) ([]iam.Session, error) {
	return s.listSessions(ctx, "user_id", tenant, userID, beforeID, at, limit)
}

// ListContactSessions implements iam.Store.
func (s *Postgres) ListContactSessions(ctx context.Context, tenant, contactID, beforeID string, at time.Time, limit int) ([]iam.Session, error) {
	return s.listSessions(ctx, "contact_id", tenant, contactID, beforeID, at, limit)
}

func (s *Postgres) listSessions(ctx context.Context, column, tenant, owner, beforeID string, at time.Time, limit int) ([]iam.Session, error) {
	if err := checkOwner(column, tenant, owner, beforeID, limit); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	q, args := listSessionsQuery(true, tenant, column, owner, beforeID, normTime(at), limit)
	out, err := pgList(ctx, s.pool, scanPGSession, q, args)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// GetSession implements iam.Store.
func (s *Postgres) GetSession(ctx context.Context, tenant, id string) (iam.Session, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return iam.Session{}, fmt.Errorf("get session: %w", err)
	}
	ses, err := scanPGSession(s.pool.QueryRow(ctx, pgGetSession, tenant, id))
	if err != nil {
		return iam.Session{}, fmt.Errorf("get session %s: %w", id, err)
	}
	return ses, nil
}

// RevokeSession implements iam.Store.
func (s *Postgres) RevokeSession(ctx context.Context, tenant, id string, at time.Time) error {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if err := checkAt(at); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	tag, err := s.pool.Exec(ctx, pgRevokeSession, tenant, id, normTime(at))
	if err == nil && tag.RowsAffected() == 0 {
		err = iam.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke session %s: %w", id, err)
	}
	return nil
}

// RevokeUserSessions implements iam.Store.
func (s *Postgres) RevokeUserSessions(ctx context.Context, tenant, userID, exceptID string, at time.Time) (int, error) {
	if err := checkText(text{"tenant", tenant}, text{"user id", userID}, text{"except id", exceptID}); err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	if err := checkAt(at); err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	tag, err := s.pool.Exec(ctx, pgRevokeUserSessions, tenant, userID, exceptID, normTime(at))
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of user %s: %w", userID, err)
	}
	return int(tag.RowsAffected()), nil
}

// TouchSessions implements iam.Store in one transaction and one round trip.
func (s *Postgres) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	if err := s.touch(ctx, pgTouchSession, seen); err != nil {
		return fmt.Errorf("touch sessions: %w", err)
	}
	return nil
}

// DeleteSessions implements iam.Store.
func (s *Postgres) DeleteSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := checkLimit("delete sessions", limit); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, pgDeleteSessions, normTime(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// CreateSignInCode implements iam.Store in one transaction.
func (s *Postgres) CreateSignInCode(ctx context.Context, c iam.SignInCode) error {
	if err := checkCode(c); err != nil {
		return fmt.Errorf("create sign-in code: %w", err)
	}
	c = normCode(c)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, pgDeleteAddressCode, c.Tenant, c.Email); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, pgInsertCode, c.Tenant, c.ID, c.Email, c.ContactID, c.DisplayName, c.Locale,
			c.Digest, c.AttemptsLeft, c.CreateTime, c.ExpireTime, nullTime(c.UsedTime))
		return pgConflict(err)
	})
	if err != nil {
		return fmt.Errorf("create sign-in code %s: %w", c.ID, err)
	}
	return nil
}

// UseSignInCode implements iam.Store: lock the address's code, decide,
// write, commit. Two sign-ins with the right code: the second waits for
// the first and finds the code used.
func (s *Postgres) UseSignInCode(ctx context.Context, tenant, email string, at time.Time, match func(iam.SignInCode) bool) (iam.SignInCode, error) {
	if err := checkText(text{"tenant", tenant}, text{"email", email}); err != nil {
		return iam.SignInCode{}, fmt.Errorf("use sign-in code: %w", err)
	}
	at = normTime(at)
	var (
		out   iam.SignInCode
		wrong bool // the spent attempt is committed
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := scanPGCode(tx.QueryRow(ctx, pgLockAddressCode, tenant, lowerEmail(email)))
		if err != nil {
			return err
		}
		if !liveCode(c, at) {
			return iam.ErrNotFound
		}
		if !match(c) {
			if _, err := tx.Exec(ctx, pgSpendCode, c.ID); err != nil {
				return err
			}
			wrong = true
			return nil
		}
		if _, err := tx.Exec(ctx, pgUseCode, c.ID, at); err != nil {
			return err
		}
		c.UsedTime = at
		out = c
		return nil
	})
	return out, useError(err, wrong)
}

// ReassignContact implements iam.Store in one transaction.
func (s *Postgres) ReassignContact(ctx context.Context, tenant, from, into string) (int, error) {
	if err := checkReassign(tenant, from, into); err != nil {
		return 0, fmt.Errorf("reassign contact: %w", err)
	}
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, pgReassignSessions, tenant, from, into)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, pgReassignCodes, tenant, from, into)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reassign contact %s to %s: %w", from, into, err)
	}
	return int(n), nil
}

// DeleteSignInCodes implements iam.Store.
func (s *Postgres) DeleteSignInCodes(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := checkLimit("delete sign-in codes", limit); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, pgDeleteCodes, normTime(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete sign-in codes: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// AppendAudit implements iam.Store.
func (s *Postgres) AppendAudit(ctx context.Context, e iam.AuditEvent) error {
	if err := checkText(auditText(e)...); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	e = normAudit(e)
	_, err := s.pool.Exec(ctx, pgInsertAudit, e.Tenant, e.ID, int32(e.Type), e.Actor.ID, int32(e.Actor.Kind),
		e.Actor.DisplayName, e.Subject, e.ClientIP, e.Detail, e.TraceID, e.CreateTime)
	if err != nil {
		return fmt.Errorf("append audit event %s: %w", e.ID, pgConflict(err))
	}
	return nil
}

// ListAudit implements iam.Store.
func (s *Postgres) ListAudit(ctx context.Context, tenant string, types []iamv1.AuditEventType, beforeID string, limit int) ([]iam.AuditEvent, error) {
	if err := checkText(text{"tenant", tenant}, text{"before id", beforeID}); err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	if err := checkLimit("list audit events", limit); err != nil {
		return nil, err
	}
	q, args := listAuditQuery(true, tenant, types, beforeID, limit)
	out, err := pgList(ctx, s.pool, scanPGAudit, q, args)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}

// DeleteAudit implements iam.Store.
func (s *Postgres) DeleteAudit(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := checkLimit("delete audit events", limit); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, pgDeleteAudit, normTime(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete audit events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Ping implements iam.Store.
func (s *Postgres) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// Close implements iam.Store.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}

// touch runs update ($1 the id, $2 the time) for each entry of times, in
// id order (so two replicas' batches lock rows in one order and cannot
// deadlock), in one transaction sent as one batch.
func (s *Postgres) touch(ctx context.Context, update string, times map[string]time.Time) error {
	if err := checkText(idsText(times)...); err != nil {
		return err
	}
	ids := sortedIDs(times)
	if len(ids) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, id := range ids {
			b.Queue(update, id, normTime(times[id]))
		}
		return tx.SendBatch(ctx, &b).Close()
	})
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// pgList runs a page query and scans its rows.
func pgList[T any](ctx context.Context, pool *pgxpool.Pool, scan func(pgx.Row) (T, error), q string, args []any) ([]T, error) {
	rows, err := pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

// pgNotFound turns "no row" into iam.ErrNotFound.
func pgNotFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return iam.ErrNotFound
	}
	return err
}

// scanPGUser reads userColumns; no row is ErrNotFound.
func scanPGUser(r pgx.Row) (iam.User, error) {
	var (
		u  iam.User
		rs []int32
	)
	err := r.Scan(&u.Tenant, &u.ID, &u.Email, &u.DisplayName, &u.Locale, &u.TimeZone, &rs, &u.Groups,
		&u.Active, &u.PasswordHash, &u.CreateTime, &u.UpdateTime, &u.Version)
	if err != nil {
		return iam.User{}, pgNotFound(err)
	}
	u.Roles = roles(rs)
	return normUser(u), nil
}

// scanPGKey reads keyColumns; no row is ErrNotFound.
func scanPGKey(r pgx.Row) (iam.APIKey, error) {
	var (
		k                     iam.APIKey
		role, creatorKind     int32
		expire, used, revoked *time.Time
	)
	err := r.Scan(&k.Tenant, &k.ID, &k.DisplayName, &role, &k.Digest, &k.Prefix, &k.Tenants,
		&k.Creator.ID, &creatorKind, &k.Creator.DisplayName, &k.CreateTime, &expire, &used, &revoked)
	if err != nil {
		return iam.APIKey{}, pgNotFound(err)
	}
	k.Role, k.Creator.Kind = iamv1.Role(role), iamv1.PrincipalKind(creatorKind)
	k.ExpireTime, k.LastUsedTime, k.RevokeTime = fromNullTime(expire), fromNullTime(used), fromNullTime(revoked)
	return normKey(k), nil
}

// scanPGSession reads sessionColumns; no row is ErrNotFound.
func scanPGSession(r pgx.Row) (iam.Session, error) {
	var (
		s             iam.Session
		seen, revoked *time.Time
	)
	err := r.Scan(&s.Tenant, &s.ID, &s.UserID, &s.Digest, &s.ClientIP, &s.UserAgent, &s.CreateTime,
		&seen, &s.ExpireTime, &revoked, &s.ContactID, &s.Email, &s.DisplayName, &s.Locale)
	if err != nil {
		return iam.Session{}, pgNotFound(err)
	}
	s.LastSeenTime, s.RevokeTime = fromNullTime(seen), fromNullTime(revoked)
	return normSession(s), nil
}

// scanPGCode reads codeColumns; no row is ErrNotFound.
func scanPGCode(r pgx.Row) (iam.SignInCode, error) {
	var (
		c    iam.SignInCode
		used *time.Time
	)
	err := r.Scan(&c.Tenant, &c.ID, &c.Email, &c.ContactID, &c.DisplayName, &c.Locale, &c.Digest,
		&c.AttemptsLeft, &c.CreateTime, &c.ExpireTime, &used)
	if err != nil {
		return iam.SignInCode{}, pgNotFound(err)
	}
	c.UsedTime = fromNullTime(used)
	return normCode(c), nil
}

// scanPGAudit reads auditColumns.
func scanPGAudit(r pgx.Row) (iam.AuditEvent, error) {
	var (
		e         iam.AuditEvent
		typ, kind int32
	)
	err := r.Scan(&e.Tenant, &e.ID, &typ, &e.Actor.ID, &kind, &e.Actor.DisplayName, &e.Subject,
		&e.ClientIP, &e.Detail, &e.TraceID, &e.CreateTime)
	if err != nil {
		return iam.AuditEvent{}, pgNotFound(err)
	}
	e.Type, e.Actor.Kind = iamv1.AuditEventType(typ), iamv1.PrincipalKind(kind)
	return normAudit(e), nil
}
