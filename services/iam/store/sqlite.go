package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/storage"
)

// SQLite is the embedded iam.Store. All writes go through one connection
// (storage.SQLite), so a write transaction sees no other writer: reading a
// user and writing it back in one is a locked read-modify-write.
type SQLite struct {
	db *storage.SQLite
	// The lookups every authenticated request makes, prepared once on the
	// read connections.
	lookupKey, lookupSession, getUser *sql.Stmt
}

const (
	sqliteGetUser       = `SELECT ` + userColumns + ` FROM iam_users WHERE tenant = ? AND id = ?`
	sqliteLookupKey     = `SELECT ` + keyColumns + ` FROM iam_api_keys WHERE digest = ?`
	sqliteLookupSession = `SELECT ` + sessionColumns + ` FROM iam_sessions WHERE digest = ?`

	sqliteInsertUser = `INSERT INTO iam_users (` + userColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteUpdateUser = `UPDATE iam_users SET email = ?, display_name = ?, locale = ?, time_zone = ?,
		roles = ?, group_names = ?, active = ?, password_hash = ?, update_time = ?, version = ?
		WHERE tenant = ? AND id = ?`
	sqliteInsertKey = `INSERT INTO iam_api_keys (` + keyColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// A second revoke keeps the first time.
	sqliteRevokeKey = `UPDATE iam_api_keys SET revoke_time = coalesce(revoke_time, ?)
		WHERE tenant = ? AND id = ? RETURNING ` + keyColumns
	sqliteTouchKey = `UPDATE iam_api_keys SET last_used_time = ?1
		WHERE id = ?2 AND (last_used_time IS NULL OR last_used_time < ?1)`
	sqliteInsertSession = `INSERT INTO iam_sessions (` + sessionColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteRevokeSession = `UPDATE iam_sessions SET revoke_time = coalesce(revoke_time, ?)
		WHERE tenant = ? AND id = ?`
	sqliteRevokeUserSessions = `UPDATE iam_sessions SET revoke_time = ?1
		WHERE tenant = ?2 AND user_id = ?3 AND id <> ?4 AND revoke_time IS NULL AND expire_time > ?1`
	sqliteTouchSession = `UPDATE iam_sessions SET last_seen_time = ?1
		WHERE id = ?2 AND (last_seen_time IS NULL OR last_seen_time < ?1)`
	sqliteDeleteSessions = `DELETE FROM iam_sessions WHERE id IN (
		SELECT id FROM iam_sessions WHERE expire_time < ?1
		UNION SELECT id FROM iam_sessions WHERE revoke_time < ?1
		LIMIT ?2)`
	sqliteDeleteAddressCode = `DELETE FROM iam_sign_in_codes WHERE tenant = ? AND email = ?`
	sqliteInsertCode        = `INSERT INTO iam_sign_in_codes (` + codeColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteGetAddressCode   = `SELECT ` + codeColumns + ` FROM iam_sign_in_codes WHERE tenant = ? AND email = ?`
	sqliteUseCode          = `UPDATE iam_sign_in_codes SET used_time = ? WHERE id = ?`
	sqliteSpendCode        = `UPDATE iam_sign_in_codes SET attempts_left = attempts_left - 1 WHERE id = ?`
	sqliteReassignCodes    = `UPDATE iam_sign_in_codes SET contact_id = ?3 WHERE tenant = ?1 AND contact_id = ?2`
	sqliteReassignSessions = `UPDATE iam_sessions SET contact_id = ?3 WHERE tenant = ?1 AND contact_id = ?2`
	sqliteDeleteCodes      = `DELETE FROM iam_sign_in_codes WHERE id IN (
		SELECT id FROM iam_sign_in_codes WHERE expire_time < ? LIMIT ?)`
	sqliteInsertAudit = `INSERT INTO iam_audit_events (` + auditColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteDeleteAudit = `DELETE FROM iam_audit_events WHERE (tenant, id) IN (
		SELECT tenant, id FROM iam_audit_events WHERE create_time < ? ORDER BY create_time LIMIT ?)`
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
		return nil, fmt.Errorf("iam store %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLite) init(ctx context.Context) error {
	if err := s.db.Migrate(ctx, migrationScope, storage.EngineMigrations(migrations, "sqlite")); err != nil {
		return err
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.lookupKey, sqliteLookupKey},
		{&s.lookupSession, sqliteLookupSession},
		{&s.getUser, sqliteGetUser},
	} {
		stmt, err := s.db.Read.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", p.sql, err)
		}
		*p.stmt = stmt
	}
	return nil
}

// sqliteConflict turns a unique constraint failure into iam.ErrConflict.
func sqliteConflict(err error) error {
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w (%s)", iam.ErrConflict, e.Error())
		}
	}
	return err
}

// CreateUser implements iam.Store.
func (s *SQLite) CreateUser(ctx context.Context, u iam.User) error {
	if err := checkText(userText(u)...); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	u = normUser(u)
	if _, err := s.db.Write.ExecContext(ctx, sqliteInsertUser, sqliteUserArgs(u)...); err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, sqliteConflict(err))
	}
	return nil
}

// GetUser implements iam.Store.
func (s *SQLite) GetUser(ctx context.Context, tenant, id string) (iam.User, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return iam.User{}, fmt.Errorf("get user: %w", err)
	}
	u, err := scanSQLiteUser(s.getUser.QueryRowContext(ctx, tenant, id))
	if err != nil {
		return iam.User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// GetUserByEmail implements iam.Store.
func (s *SQLite) GetUserByEmail(ctx context.Context, tenant, email string) (iam.User, error) {
	if err := checkText(text{"tenant", tenant}, text{"email", email}); err != nil {
		return iam.User{}, fmt.Errorf("get user by email: %w", err)
	}
	u, err := scanSQLiteUser(s.db.Read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM iam_users WHERE tenant = ? AND email = ?`, tenant, lowerEmail(email)))
	if err != nil {
		return iam.User{}, fmt.Errorf("get user by email %q: %w", email, err)
	}
	return u, nil
}

// ListUsers implements iam.Store.
func (s *SQLite) ListUsers(ctx context.Context, tenant, afterEmail string, limit int) ([]iam.User, error) {
	if err := checkText(text{"tenant", tenant}, text{"after email", afterEmail}); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	if err := checkLimit("list users", limit); err != nil {
		return nil, err
	}
	q, args := listUsersQuery(false, tenant, afterEmail, limit)
	out, err := sqliteList(ctx, s.db.Read, scanSQLiteUser, q, args)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser implements iam.Store in one write transaction.
func (s *SQLite) UpdateUser(ctx context.Context, tenant, id string, ifVersion int64, mutate func(*iam.User) error) (iam.User, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return iam.User{}, fmt.Errorf("update user: %w", err)
	}
	var out iam.User
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanSQLiteUser(tx.QueryRowContext(ctx, sqliteGetUser, tenant, id))
		if err != nil {
			return err
		}
		next, err := mutateUser(cur, ifVersion, mutate, now())
		if err != nil {
			return err
		}
		roles, _ := json.Marshal(int32s(next.Roles)) // numbers always encode
		groups, _ := json.Marshal(next.Groups)
		if _, err := tx.ExecContext(ctx, sqliteUpdateUser, next.Email, next.DisplayName, next.Locale,
			next.TimeZone, string(roles), string(groups), next.Active, next.PasswordHash,
			micros(next.UpdateTime), next.Version, tenant, id); err != nil {
			return sqliteConflict(err)
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
func (s *SQLite) CountUsers(ctx context.Context, tenant string) (int, error) {
	if err := checkText(text{"tenant", tenant}); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	var n int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM iam_users WHERE tenant = ?`, tenant).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateAPIKey implements iam.Store.
func (s *SQLite) CreateAPIKey(ctx context.Context, k iam.APIKey) error {
	if err := checkText(keyText(k)...); err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	k = normKey(k)
	tenants, _ := json.Marshal(k.Tenants)
	_, err := s.db.Write.ExecContext(ctx, sqliteInsertKey, k.Tenant, k.ID, k.DisplayName, int64(k.Role),
		k.Digest, k.Prefix, string(tenants), k.Creator.ID, int64(k.Creator.Kind), k.Creator.DisplayName,
		micros(k.CreateTime), nullMicros(k.ExpireTime), nullMicros(k.LastUsedTime), nullMicros(k.RevokeTime))
	if err != nil {
		return fmt.Errorf("create API key %s: %w", k.ID, sqliteConflict(err))
	}
	return nil
}

// LookupAPIKey implements iam.Store.
func (s *SQLite) LookupAPIKey(ctx context.Context, digest string) (iam.APIKey, error) {
	if err := checkText(text{"digest", digest}); err != nil {
		return iam.APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	k, err := scanSQLiteKey(s.lookupKey.QueryRowContext(ctx, digest))
	if err != nil {
		return iam.APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	return k, nil
}

// ListAPIKeys implements iam.Store.
func (s *SQLite) ListAPIKeys(ctx context.Context, tenant, beforeID string, limit int) ([]iam.APIKey, error) {
	if err := checkText(text{"tenant", tenant}, text{"before id", beforeID}); err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	if err := checkLimit("list API keys", limit); err != nil {
		return nil, err
	}
	q, args := listKeysQuery(false, tenant, beforeID, limit)
	out, err := sqliteList(ctx, s.db.Read, scanSQLiteKey, q, args)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey implements iam.Store.
func (s *SQLite) RevokeAPIKey(ctx context.Context, tenant, id string, at time.Time) (iam.APIKey, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return iam.APIKey{}, fmt.Errorf("revoke API key: %w", err)
	}
	if err := checkAt(at); err != nil {
		return iam.APIKey{}, fmt.Errorf("revoke API key: %w", err)
	}
	var k iam.APIKey
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		k, err = scanSQLiteKey(tx.QueryRowContext(ctx, sqliteRevokeKey, micros(normTime(at)), tenant, id))
		return err
	})
	if err != nil {
		return iam.APIKey{}, fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return k, nil
}

// CountAPIKeys implements iam.Store.
func (s *SQLite) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM iam_api_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count API keys: %w", err)
	}
	return n, nil
}

// TouchAPIKeys implements iam.Store in one write transaction.
func (s *SQLite) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if err := s.touch(ctx, sqliteTouchKey, used); err != nil {
		return fmt.Errorf("touch API keys: %w", err)
	}
	return nil
}

// CreateSession implements iam.Store.
func (s *SQLite) CreateSession(ctx context.Context, ses iam.Session) error {
	if err := checkSession(ses); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	ses = normSession(ses)
	_, err := s.db.Write.ExecContext(ctx, sqliteInsertSession, ses.Tenant, ses.ID, ses.UserID, ses.Digest,
		ses.ClientIP, ses.UserAgent, micros(ses.CreateTime), nullMicros(ses.LastSeenTime),
		micros(ses.ExpireTime), nullMicros(ses.RevokeTime), ses.ContactID, ses.Email, ses.DisplayName, ses.Locale)
	if err != nil {
		return fmt.Errorf("create session %s: %w", ses.ID, sqliteConflict(err))
	}
	return nil
}

// LookupSession implements iam.Store.
func (s *SQLite) LookupSession(ctx context.Context, digest string) (iam.Session, error) {
	if err := checkText(text{"digest", digest}); err != nil {
		return iam.Session{}, fmt.Errorf("look up session: %w", err)
	}
	ses, err := scanSQLiteSession(s.lookupSession.QueryRowContext(ctx, digest))
	if err != nil {
		return iam.Session{}, fmt.Errorf("look up session: %w", err)
	}
	return ses, nil
}

// ListSessions implements iam.Store.
func (s *SQLite) ListSessions(ctx context.Context, tenant, userID, beforeID string, at time.Time, limit int) ([]iam.Session, error) {
	return s.listSessions(ctx, "user_id", tenant, userID, beforeID, at, limit)
}

// ListContactSessions implements iam.Store.
func (s *SQLite) ListContactSessions(ctx context.Context, tenant, contactID, beforeID string, at time.Time, limit int) ([]iam.Session, error) {
	return s.listSessions(ctx, "contact_id", tenant, contactID, beforeID, at, limit)
}

func (s *SQLite) listSessions(ctx context.Context, column, tenant, owner, beforeID string, at time.Time, limit int) ([]iam.Session, error) {
	if err := checkOwner(column, tenant, owner, beforeID, limit); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	q, args := listSessionsQuery(false, tenant, column, owner, beforeID, normTime(at), limit)
	out, err := sqliteList(ctx, s.db.Read, scanSQLiteSession, q, args)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// GetSession implements iam.Store.
func (s *SQLite) GetSession(ctx context.Context, tenant, id string) (iam.Session, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return iam.Session{}, fmt.Errorf("get session: %w", err)
	}
	ses, err := scanSQLiteSession(s.db.Read.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM iam_sessions WHERE tenant = ? AND id = ?`, tenant, id))
	if err != nil {
		return iam.Session{}, fmt.Errorf("get session %s: %w", id, err)
	}
	return ses, nil
}

// RevokeSession implements iam.Store.
func (s *SQLite) RevokeSession(ctx context.Context, tenant, id string, at time.Time) error {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if err := checkAt(at); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	n, err := s.exec(ctx, sqliteRevokeSession, micros(normTime(at)), tenant, id)
	if err == nil && n == 0 {
		err = iam.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke session %s: %w", id, err)
	}
	return nil
}

// RevokeUserSessions implements iam.Store.
func (s *SQLite) RevokeUserSessions(ctx context.Context, tenant, userID, exceptID string, at time.Time) (int, error) {
	if err := checkText(text{"tenant", tenant}, text{"user id", userID}, text{"except id", exceptID}); err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	if err := checkAt(at); err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	n, err := s.exec(ctx, sqliteRevokeUserSessions, micros(normTime(at)), tenant, userID, exceptID)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of user %s: %w", userID, err)
	}
	return n, nil
}

// TouchSessions implements iam.Store in one write transaction.
func (s *SQLite) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	if err := s.touch(ctx, sqliteTouchSession, seen); err != nil {
		return fmt.Errorf("touch sessions: %w", err)
	}
	return nil
}

// DeleteSessions implements iam.Store.
func (s *SQLite) DeleteSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := checkLimit("delete sessions", limit); err != nil {
		return 0, err
	}
	n, err := s.exec(ctx, sqliteDeleteSessions, micros(normTime(before)), limit)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return n, nil
}

// CreateSignInCode implements iam.Store in one write transaction.
func (s *SQLite) CreateSignInCode(ctx context.Context, c iam.SignInCode) error {
	if err := checkCode(c); err != nil {
		return fmt.Errorf("create sign-in code: %w", err)
	}
	c = normCode(c)
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqliteDeleteAddressCode, c.Tenant, c.Email); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, sqliteInsertCode, c.Tenant, c.ID, c.Email, c.ContactID, c.DisplayName,
			c.Locale, c.Digest, c.AttemptsLeft, micros(c.CreateTime), micros(c.ExpireTime), nullMicros(c.UsedTime))
		return sqliteConflict(err)
	})
	if err != nil {
		return fmt.Errorf("create sign-in code %s: %w", c.ID, err)
	}
	return nil
}

// UseSignInCode implements iam.Store in one write transaction (the only
// writer: the code cannot change between the read and the write).
func (s *SQLite) UseSignInCode(ctx context.Context, tenant, email string, at time.Time, match func(iam.SignInCode) bool) (iam.SignInCode, error) {
	if err := checkText(text{"tenant", tenant}, text{"email", email}); err != nil {
		return iam.SignInCode{}, fmt.Errorf("use sign-in code: %w", err)
	}
	at = normTime(at)
	var (
		out   iam.SignInCode
		wrong bool // the spent attempt is committed
	)
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		c, err := scanSQLiteCode(tx.QueryRowContext(ctx, sqliteGetAddressCode, tenant, lowerEmail(email)))
		if err != nil {
			return err
		}
		if !liveCode(c, at) {
			return iam.ErrNotFound
		}
		if !match(c) {
			if _, err := tx.ExecContext(ctx, sqliteSpendCode, c.ID); err != nil {
				return err
			}
			wrong = true
			return nil
		}
		if _, err := tx.ExecContext(ctx, sqliteUseCode, micros(at), c.ID); err != nil {
			return err
		}
		c.UsedTime = at
		out = c
		return nil
	})
	return out, useError(err, wrong)
}

// ReassignContact implements iam.Store in one write transaction.
func (s *SQLite) ReassignContact(ctx context.Context, tenant, from, into string) (int, error) {
	if err := checkReassign(tenant, from, into); err != nil {
		return 0, fmt.Errorf("reassign contact: %w", err)
	}
	var n int64
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sqliteReassignSessions, tenant, from, into)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, sqliteReassignCodes, tenant, from, into)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reassign contact %s to %s: %w", from, into, err)
	}
	return int(n), nil
}

// DeleteSignInCodes implements iam.Store.
func (s *SQLite) DeleteSignInCodes(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := checkLimit("delete sign-in codes", limit); err != nil {
		return 0, err
	}
	n, err := s.exec(ctx, sqliteDeleteCodes, micros(normTime(before)), limit)
	if err != nil {
		return 0, fmt.Errorf("delete sign-in codes: %w", err)
	}
	return n, nil
}

// AppendAudit implements iam.Store.
func (s *SQLite) AppendAudit(ctx context.Context, e iam.AuditEvent) error {
	if err := checkText(auditText(e)...); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	e = normAudit(e)
	_, err := s.db.Write.ExecContext(ctx, sqliteInsertAudit, e.Tenant, e.ID, int64(e.Type), e.Actor.ID,
		int64(e.Actor.Kind), e.Actor.DisplayName, e.Subject, e.ClientIP, e.Detail, e.TraceID, micros(e.CreateTime))
	if err != nil {
		return fmt.Errorf("append audit event %s: %w", e.ID, sqliteConflict(err))
	}
	return nil
}

// ListAudit implements iam.Store.
func (s *SQLite) ListAudit(ctx context.Context, tenant string, types []iamv1.AuditEventType, beforeID string, limit int) ([]iam.AuditEvent, error) {
	if err := checkText(text{"tenant", tenant}, text{"before id", beforeID}); err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	if err := checkLimit("list audit events", limit); err != nil {
		return nil, err
	}
	q, args := listAuditQuery(false, tenant, types, beforeID, limit)
	out, err := sqliteList(ctx, s.db.Read, scanSQLiteAudit, q, args)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}

// DeleteAudit implements iam.Store.
func (s *SQLite) DeleteAudit(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := checkLimit("delete audit events", limit); err != nil {
		return 0, err
	}
	n, err := s.exec(ctx, sqliteDeleteAudit, micros(normTime(before)), limit)
	if err != nil {
		return 0, fmt.Errorf("delete audit events: %w", err)
	}
	return n, nil
}

// Ping implements iam.Store.
func (s *SQLite) Ping(ctx context.Context) error {
	return s.db.Read.PingContext(ctx)
}

// Close implements iam.Store.
func (s *SQLite) Close() error {
	return s.db.Close()
}

// sqliteList runs a page query and scans its rows.
func sqliteList[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), q string, args []any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}

// exec runs one write statement in its own transaction and returns the
// rows it changed.
func (s *SQLite) exec(ctx context.Context, query string, args ...any) (int, error) {
	var n int64
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// touch runs update (?1 the time, ?2 the id) for each entry of times in
// one write transaction.
func (s *SQLite) touch(ctx context.Context, update string, times map[string]time.Time) error {
	if err := checkText(idsText(times)...); err != nil {
		return err
	}
	ids := sortedIDs(times)
	if len(ids) == 0 {
		return nil
	}
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, update)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, micros(normTime(times[id])), id); err != nil {
				return err
			}
		}
		return nil
	})
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

func fromNullMicros(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
}

func sqliteUserArgs(u iam.User) []any {
	roles, _ := json.Marshal(int32s(u.Roles)) // numbers and strings always encode
	groups, _ := json.Marshal(u.Groups)
	return []any{
		u.Tenant, u.ID, u.Email, u.DisplayName, u.Locale, u.TimeZone, string(roles), string(groups),
		u.Active, u.PasswordHash, micros(u.CreateTime), micros(u.UpdateTime), u.Version,
	}
}

type scanner interface{ Scan(dest ...any) error }

// notFound turns "no row" into iam.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return iam.ErrNotFound
	}
	return err
}

// scanSQLiteUser reads userColumns; no row is ErrNotFound.
func scanSQLiteUser(r scanner) (iam.User, error) {
	var (
		u                iam.User
		rolesJSON        string
		groupsJSON       string
		created, updated int64
		rs               []int32
	)
	err := r.Scan(&u.Tenant, &u.ID, &u.Email, &u.DisplayName, &u.Locale, &u.TimeZone, &rolesJSON,
		&groupsJSON, &u.Active, &u.PasswordHash, &created, &updated, &u.Version)
	if err != nil {
		return iam.User{}, notFound(err)
	}
	if err := json.Unmarshal([]byte(rolesJSON), &rs); err != nil {
		return iam.User{}, fmt.Errorf("user %s: roles: %w", u.ID, err)
	}
	if err := json.Unmarshal([]byte(groupsJSON), &u.Groups); err != nil {
		return iam.User{}, fmt.Errorf("user %s: groups: %w", u.ID, err)
	}
	u.Roles = roles(rs)
	u.CreateTime, u.UpdateTime = fromMicros(created), fromMicros(updated)
	return normUser(u), nil
}

// scanSQLiteKey reads keyColumns; no row is ErrNotFound.
func scanSQLiteKey(r scanner) (iam.APIKey, error) {
	var (
		k                     iam.APIKey
		role, creatorKind     int32
		tenants               string
		created               int64
		expire, used, revoked sql.NullInt64
	)
	err := r.Scan(&k.Tenant, &k.ID, &k.DisplayName, &role, &k.Digest, &k.Prefix, &tenants,
		&k.Creator.ID, &creatorKind, &k.Creator.DisplayName, &created, &expire, &used, &revoked)
	if err != nil {
		return iam.APIKey{}, notFound(err)
	}
	if err := json.Unmarshal([]byte(tenants), &k.Tenants); err != nil {
		return iam.APIKey{}, fmt.Errorf("API key %s: tenants: %w", k.ID, err)
	}
	k.Role, k.Creator.Kind = iamv1.Role(role), iamv1.PrincipalKind(creatorKind)
	k.CreateTime, k.ExpireTime = fromMicros(created), fromNullMicros(expire)
	k.LastUsedTime, k.RevokeTime = fromNullMicros(used), fromNullMicros(revoked)
	return normKey(k), nil
}

// scanSQLiteSession reads sessionColumns; no row is ErrNotFound.
func scanSQLiteSession(r scanner) (iam.Session, error) {
	var (
		s               iam.Session
		created, expire int64
		seen, revoked   sql.NullInt64
	)
	err := r.Scan(&s.Tenant, &s.ID, &s.UserID, &s.Digest, &s.ClientIP, &s.UserAgent, &created,
		&seen, &expire, &revoked, &s.ContactID, &s.Email, &s.DisplayName, &s.Locale)
	if err != nil {
		return iam.Session{}, notFound(err)
	}
	s.CreateTime, s.LastSeenTime = fromMicros(created), fromNullMicros(seen)
	s.ExpireTime, s.RevokeTime = fromMicros(expire), fromNullMicros(revoked)
	return s, nil
}

// scanSQLiteCode reads codeColumns; no row is ErrNotFound.
func scanSQLiteCode(r scanner) (iam.SignInCode, error) {
	var (
		c               iam.SignInCode
		created, expire int64
		used            sql.NullInt64
	)
	err := r.Scan(&c.Tenant, &c.ID, &c.Email, &c.ContactID, &c.DisplayName, &c.Locale, &c.Digest,
		&c.AttemptsLeft, &created, &expire, &used)
	if err != nil {
		return iam.SignInCode{}, notFound(err)
	}
	c.CreateTime, c.ExpireTime, c.UsedTime = fromMicros(created), fromMicros(expire), fromNullMicros(used)
	return normCode(c), nil
}

// scanSQLiteAudit reads auditColumns.
func scanSQLiteAudit(r scanner) (iam.AuditEvent, error) {
	var (
		e         iam.AuditEvent
		typ, kind int32
		created   int64
	)
	err := r.Scan(&e.Tenant, &e.ID, &typ, &e.Actor.ID, &kind, &e.Actor.DisplayName, &e.Subject,
		&e.ClientIP, &e.Detail, &e.TraceID, &created)
	if err != nil {
		return iam.AuditEvent{}, notFound(err)
	}
	e.Type, e.Actor.Kind, e.CreateTime = iamv1.AuditEventType(typ), iamv1.PrincipalKind(kind), fromMicros(created)
	return e, nil
}

// collect scans every row with scan; no rows is an empty, non-nil page.
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
