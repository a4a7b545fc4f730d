// Package store keeps the iam service's users, API keys, sessions,
// customers' sign-in codes and audit log in SQLite (embedded, the default) or PostgreSQL (production).
// Both implement iam.Store and are held to it by one contract suite
// (store_test.go). The tables are named iam_* so that the service can share
// a database with the others.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/storage"
)

//go:embed migrations
var migrations embed.FS

// migrationScope records the iam service's migrations apart from other
// services sharing a database.
const migrationScope = "iam"

// Open opens the store a service is configured for: PostgreSQL when
// databaseURL is a postgres:// or postgresql:// URL, else (databaseURL
// empty) the SQLite file iam.db in dataDir, which it creates if needed.
func Open(ctx context.Context, databaseURL, dataDir string) (iam.Store, error) {
	return storage.Open(ctx, databaseURL, dataDir, "iam.db",
		func(ctx context.Context, url string) (iam.Store, error) { return OpenPostgres(ctx, url) },
		func(ctx context.Context, path string) (iam.Store, error) { return OpenSQLite(ctx, path) })
}

// ErrNULText: a text value to store or look up holds the NUL character.
// PostgreSQL cannot store it ("invalid byte sequence for encoding UTF8:
// 0x00") where SQLite could, and the engines must not differ, so both
// refuse it. The API refuses NUL before it reaches a store; this keeps the
// engines alike for every other caller.
var ErrNULText = errors.New("text holds the NUL character (U+0000)")

// now is the store's clock: UTC, at the microsecond precision both engines
// keep, so what a write returns equals what a read returns later.
func now() time.Time { return normTime(time.Now()) }

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// nonNil returns a copy of s that is never nil, so a stored record reads
// back the same whichever engine keeps it.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}

// normUser returns u as the store keeps it: email lower-cased, UTC
// microsecond times, lists copied and never nil.
func normUser(u iam.User) iam.User {
	u.Email = lowerEmail(u.Email)
	u.Roles, u.Groups = nonNil(u.Roles), nonNil(u.Groups)
	u.CreateTime, u.UpdateTime = normTime(u.CreateTime), normTime(u.UpdateTime)
	return u
}

// lowerEmail is the form an email is stored and looked up in. Go's
// strings.ToLower, not SQL lower(), so both engines agree whatever the
// database's locale.
func lowerEmail(email string) string { return strings.ToLower(email) }

func normKey(k iam.APIKey) iam.APIKey {
	k.Tenants = nonNil(k.Tenants)
	k.CreateTime, k.ExpireTime = normTime(k.CreateTime), normTime(k.ExpireTime)
	k.LastUsedTime, k.RevokeTime = normTime(k.LastUsedTime), normTime(k.RevokeTime)
	return k
}

func normSession(s iam.Session) iam.Session {
	s.Email = lowerEmail(s.Email)
	s.CreateTime, s.LastSeenTime = normTime(s.CreateTime), normTime(s.LastSeenTime)
	s.ExpireTime, s.RevokeTime = normTime(s.ExpireTime), normTime(s.RevokeTime)
	return s
}

func normCode(c iam.SignInCode) iam.SignInCode {
	c.Email = lowerEmail(c.Email)
	c.CreateTime, c.ExpireTime, c.UsedTime = normTime(c.CreateTime), normTime(c.ExpireTime), normTime(c.UsedTime)
	return c
}

func normAudit(e iam.AuditEvent) iam.AuditEvent {
	e.CreateTime = normTime(e.CreateTime)
	return e
}

// text is one text value given to the store, named for the error that
// refuses it.
type text struct{ field, value string }

// checkText refuses the first value that holds a NUL byte with ErrNULText,
// naming its field.
func checkText(values ...text) error {
	for _, v := range values {
		if strings.IndexByte(v.value, 0) >= 0 {
			return fmt.Errorf("%s %q: %w", v.field, v.value, ErrNULText)
		}
	}
	return nil
}

func userText(u iam.User) []text {
	out := []text{
		{"tenant", u.Tenant}, {"id", u.ID}, {"email", u.Email}, {"display name", u.DisplayName},
		{"locale", u.Locale}, {"time zone", u.TimeZone}, {"password hash", u.PasswordHash},
	}
	for _, g := range u.Groups {
		out = append(out, text{"group", g})
	}
	return out
}

func keyText(k iam.APIKey) []text {
	out := []text{
		{"tenant", k.Tenant}, {"id", k.ID}, {"display name", k.DisplayName}, {"digest", k.Digest},
		{"prefix", k.Prefix}, {"creator id", k.Creator.ID}, {"creator name", k.Creator.DisplayName},
	}
	for _, t := range k.Tenants {
		out = append(out, text{"tenants", t})
	}
	return out
}

func sessionText(s iam.Session) []text {
	return []text{
		{"tenant", s.Tenant}, {"id", s.ID}, {"user id", s.UserID}, {"digest", s.Digest},
		{"client IP", s.ClientIP}, {"user agent", s.UserAgent}, {"contact id", s.ContactID},
		{"email", s.Email}, {"display name", s.DisplayName}, {"locale", s.Locale},
	}
}

func codeText(c iam.SignInCode) []text {
	return []text{
		{"tenant", c.Tenant}, {"id", c.ID}, {"email", c.Email}, {"contact id", c.ContactID},
		{"display name", c.DisplayName}, {"locale", c.Locale}, {"digest", c.Digest},
	}
}

// checkCode refuses what the sign-in codes table cannot keep, naming the
// field.
func checkCode(c iam.SignInCode) error {
	if err := checkText(codeText(c)...); err != nil {
		return err
	}
	switch {
	case c.Tenant == "", c.ID == "", c.Email == "", c.ContactID == "", c.Digest == "":
		return errors.New("tenant, id, email, contact id and digest: are required")
	case c.ExpireTime.IsZero():
		return errors.New("expire time: is zero; a sign-in code needs an end")
	case c.AttemptsLeft < 1:
		return fmt.Errorf("attempts left: %d; a new code needs at least 1", c.AttemptsLeft)
	}
	return nil
}

// checkReassign refuses an empty contact ID: every user's session names
// the contact "".
func checkReassign(tenant, from, into string) error {
	if err := checkText(text{"tenant", tenant}, text{"from", from}, text{"into", into}); err != nil {
		return err
	}
	if from == "" || into == "" {
		return fmt.Errorf("from %q, into %q: both contacts are required", from, into)
	}
	return nil
}

// useError is what UseSignInCode returns after its transaction: its
// error, or ErrWrongCode when it spent an attempt.
func useError(err error, wrong bool) error {
	switch {
	case err != nil:
		return fmt.Errorf("use sign-in code: %w", err)
	case wrong:
		return fmt.Errorf("use sign-in code: %w", iam.ErrWrongCode)
	}
	return nil
}

// checkOwner checks the arguments of a session list; owner is the
// user's or contact's ID, which must be given (users' sessions all have
// the contact "" and customers' the user "").
func checkOwner(column, tenant, owner, beforeID string, limit int) error {
	name := strings.ReplaceAll(column, "_", " ")
	if err := checkText(text{"tenant", tenant}, text{name, owner}, text{"before id", beforeID}); err != nil {
		return err
	}
	if owner == "" {
		return fmt.Errorf("%s: is required", name)
	}
	return checkLimit("list sessions", limit)
}

// liveCode reports whether c may still be used at now.
func liveCode(c iam.SignInCode, at time.Time) bool {
	return c.UsedTime.IsZero() && at.Before(c.ExpireTime) && c.AttemptsLeft > 0
}

func auditText(e iam.AuditEvent) []text {
	return []text{
		{"tenant", e.Tenant}, {"id", e.ID}, {"actor id", e.Actor.ID}, {"actor name", e.Actor.DisplayName},
		{"subject", e.Subject}, {"client IP", e.ClientIP}, {"detail", e.Detail}, {"trace id", e.TraceID},
	}
}

// idsText is the keys of a touch batch, for checkText.
func idsText[V any](m map[string]V) []text {
	out := make([]text, 0, len(m))
	for id := range m {
		out = append(out, text{"id", id})
	}
	return out
}

// checkSession refuses what the sessions table cannot keep.
func checkSession(s iam.Session) error {
	if err := checkText(sessionText(s)...); err != nil {
		return err
	}
	if s.ExpireTime.IsZero() {
		return errors.New("expire time: is zero; a session needs an absolute limit")
	}
	return nil
}

// checkAt refuses a zero revoke time: the row would read back as not
// revoked while the store treats it as revoked.
func checkAt(at time.Time) error {
	if at.IsZero() {
		return errors.New("revoke time: is zero; give the time of the revocation")
	}
	return nil
}

// errMutate carries mutate's own error out of a transaction, so that
// UpdateUser returns it untouched.
type errMutate struct{ err error }

func (e errMutate) Error() string { return e.err.Error() }

// mutateUser is the part of UpdateUser both engines share: given the
// locked user, it checks ifVersion, runs mutate on a copy and returns the
// user to write, with its identity kept, its version bumped and its update
// time at. mutate's error comes back as errMutate.
func mutateUser(cur iam.User, ifVersion int64, mutate func(*iam.User) error, at time.Time) (iam.User, error) {
	if ifVersion > 0 && cur.Version != ifVersion {
		return iam.User{}, fmt.Errorf("version %d, stored %d: %w", ifVersion, cur.Version, iam.ErrStale)
	}
	next := normUser(cur) // copies the lists: mutate cannot edit cur
	if mutate != nil {
		if err := mutate(&next); err != nil {
			return iam.User{}, errMutate{err}
		}
	}
	next = normUser(next)
	if err := checkText(userText(next)...); err != nil {
		return iam.User{}, err
	}
	next.Tenant, next.ID, next.CreateTime = cur.Tenant, cur.ID, cur.CreateTime
	next.Version = cur.Version + 1
	next.UpdateTime = at
	return next, nil
}

// updateError is what UpdateUser returns for err from its transaction:
// mutate's error as is, anything else wrapped.
func updateError(id string, err error) error {
	if m, ok := errors.AsType[errMutate](err); ok {
		return m.err
	}
	return fmt.Errorf("update user %s: %w", id, err)
}

func checkLimit(what string, limit int) error {
	if limit <= 0 {
		return fmt.Errorf("%s: limit %d: must be > 0", what, limit)
	}
	return nil
}

// sortedIDs is the keys of a touch batch in order, leaving out zero times
// (nothing to record): writers that lock rows in one order cannot deadlock
// each other.
func sortedIDs(m map[string]time.Time) []string {
	out := slices.Sorted(maps.Keys(m))
	return slices.DeleteFunc(out, func(id string) bool { return m[id].IsZero() })
}

const (
	userColumns = `tenant, id, email, display_name, locale, time_zone, roles, group_names,
		active, password_hash, create_time, update_time, version`
	keyColumns = `tenant, id, display_name, role, digest, prefix, tenants, creator_id,
		creator_kind, creator_name, create_time, expire_time, last_used_time, revoke_time`
	sessionColumns = `tenant, id, user_id, digest, client_ip, user_agent, create_time,
		last_seen_time, expire_time, revoke_time, contact_id, email, display_name, locale`
	codeColumns = `tenant, id, email, contact_id, display_name, locale, digest, attempts_left,
		create_time, expire_time, used_time`
	auditColumns = `tenant, id, type, actor_id, actor_kind, actor_name, subject, client_ip,
		detail, trace_id, create_time`
)

// query builds a statement whose shape depends on its arguments (an
// optional keyset bound, a type filter) for either engine.
type query struct {
	postgres bool
	args     []any
}

// arg adds a bind argument and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	if q.postgres {
		return "$" + strconv.Itoa(len(q.args))
	}
	return "?"
}

// time adds t as the engine keeps it and returns its placeholder.
func (q *query) time(t time.Time) string {
	if q.postgres {
		return q.arg(t)
	}
	return q.arg(micros(t))
}

// before is the keyset bound "id < beforeID", or nothing for "" (from the
// newest).
func (q *query) before(beforeID string) string {
	if beforeID == "" {
		return ""
	}
	return " AND id < " + q.arg(beforeID)
}

// types is the audit type filter, or nothing for all types.
func (q *query) types(ts []iamv1.AuditEventType) string {
	if len(ts) == 0 {
		return ""
	}
	vs := make([]int32, len(ts))
	for i, t := range ts {
		vs[i] = int32(t)
	}
	if q.postgres {
		return " AND type = ANY(" + q.arg(vs) + ")"
	}
	marks := make([]string, len(vs))
	for i, v := range vs {
		marks[i] = q.arg(int64(v))
	}
	return " AND type IN (" + strings.Join(marks, ", ") + ")"
}

func listUsersQuery(postgres bool, tenant, afterEmail string, limit int) (string, []any) {
	q := &query{postgres: postgres}
	sql := `SELECT ` + userColumns + ` FROM iam_users WHERE tenant = ` + q.arg(tenant) +
		` AND email > ` + q.arg(lowerEmail(afterEmail)) + ` ORDER BY email LIMIT ` + q.arg(limit)
	return sql, q.args
}

func listKeysQuery(postgres bool, tenant, beforeID string, limit int) (string, []any) {
	q := &query{postgres: postgres}
	sql := `SELECT ` + keyColumns + ` FROM iam_api_keys WHERE tenant = ` + q.arg(tenant) +
		q.before(beforeID) + ` ORDER BY id DESC LIMIT ` + q.arg(limit)
	return sql, q.args
}

// listSessionsQuery pages the live sessions whose owner column (user_id
// or contact_id) is owner.
func listSessionsQuery(postgres bool, tenant, column, owner, beforeID string, at time.Time, limit int) (string, []any) {
	q := &query{postgres: postgres}
	sql := `SELECT ` + sessionColumns + ` FROM iam_sessions WHERE tenant = ` + q.arg(tenant) +
		` AND ` + column + ` = ` + q.arg(owner) + q.before(beforeID) +
		` AND revoke_time IS NULL AND expire_time > ` + q.time(at) +
		` ORDER BY id DESC LIMIT ` + q.arg(limit)
	return sql, q.args
}

func listAuditQuery(postgres bool, tenant string, types []iamv1.AuditEventType, beforeID string, limit int) (string, []any) {
	q := &query{postgres: postgres}
	sql := `SELECT ` + auditColumns + ` FROM iam_audit_events WHERE tenant = ` + q.arg(tenant) +
		q.before(beforeID) + q.types(types) + ` ORDER BY id DESC LIMIT ` + q.arg(limit)
	return sql, q.args
}

// int32s is rs as numbers, the way both engines keep roles.
func int32s(rs []iamv1.Role) []int32 {
	out := make([]int32, len(rs))
	for i, r := range rs {
		out[i] = int32(r)
	}
	return out
}

func roles(ns []int32) []iamv1.Role {
	out := make([]iamv1.Role, len(ns))
	for i, n := range ns {
		out[i] = iamv1.Role(n)
	}
	return out
}
