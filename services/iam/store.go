package iam

import (
	"context"
	"errors"
	"time"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

// Errors a Store returns; callers match them with errors.Is.
var (
	// ErrNotFound: no such record in the tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value (a user's email in its tenant, a key
	// digest) is taken.
	ErrConflict = errors.New("already exists")
	// ErrStale: the record changed since the version the caller read.
	ErrStale = errors.New("changed since it was read")
	// ErrWrongCode: a sign-in code did not match the live code of its
	// address; the code has one attempt fewer left.
	ErrWrongCode = errors.New("wrong sign-in code")
)

// User is a person who signs in: agent, supervisor or admin.
type User struct {
	Tenant      string
	ID          string
	Email       string // stored lower-cased; unique in the tenant
	DisplayName string
	Locale      string
	TimeZone    string
	Roles       []iamv1.Role
	Groups      []string
	Active      bool
	// PasswordHash is the PHC string of the argon2id hash
	// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"); "" when the user
	// has no password (signs in by OIDC only).
	PasswordHash string
	CreateTime   time.Time
	UpdateTime   time.Time
	Version      int64 // bumped by every update
}

// APIKey is an integration's credential; only the SHA-256 digest of its
// secret is stored.
type APIKey struct {
	Tenant      string
	ID          string
	DisplayName string
	Role        iamv1.Role
	Digest      string // hex SHA-256 of the whole secret; unique across tenants
	Prefix      string // the secret's first characters, shown to tell keys apart
	// Tenants other than its own the key may act for ("*": all); only
	// platform-admin keys made by the CLI have any.
	Tenants      []string
	Creator      Actor
	CreateTime   time.Time
	ExpireTime   time.Time // zero: never
	LastUsedTime time.Time // zero: never used
	RevokeTime   time.Time // zero: not revoked
}

// Session is a signed-in browser; only the SHA-256 digest of its token is
// stored. A user's session names the user; a customer's (a contact of the
// channel service, signed in with a one-time code) names the contact and
// keeps what its principal shows, since iam holds no record of contacts.
type Session struct {
	Tenant string
	ID     string
	UserID string // "" for a customer's session
	// ContactID is the contact a customer's session signs in as; "" for a
	// user's. Email, DisplayName and Locale are the customer's, as the
	// sign-in code had them.
	ContactID    string
	Email        string
	DisplayName  string
	Locale       string
	Digest       string // hex SHA-256 of the token; unique
	ClientIP     string
	UserAgent    string
	CreateTime   time.Time
	LastSeenTime time.Time
	ExpireTime   time.Time // the absolute limit
	RevokeTime   time.Time // zero: not revoked
}

// SignInCode is a customer's one-time sign-in code: made for a contact
// reached at an e-mail address, mailed by the channel service, used once
// with CreateSession. Only a digest of the code is stored. An address has
// at most one code: a new one replaces it.
type SignInCode struct {
	Tenant      string
	ID          string
	Email       string // stored lower-cased; unique in the tenant
	ContactID   string
	DisplayName string
	Locale      string
	// Digest is the code's salted SHA-256 (see codeDigest); never the code.
	Digest string
	// AttemptsLeft is how many wrong codes may still be tried; at 0 the
	// code is spent.
	AttemptsLeft int
	CreateTime   time.Time
	ExpireTime   time.Time
	UsedTime     time.Time // zero: not used
}

// Actor is who did something, as stored.
type Actor struct {
	ID          string
	Kind        iamv1.PrincipalKind
	DisplayName string
}

// AuditEvent is a stored security event.
type AuditEvent struct {
	Tenant     string
	ID         string // time-ordered; ListAuditEvents pages by it, newest first
	Type       iamv1.AuditEventType
	Actor      Actor
	Subject    string
	ClientIP   string
	Detail     string
	TraceID    string
	CreateTime time.Time
}

// Store keeps users, API keys, sessions and the audit log. Implementations:
// store.SQLite and store.Postgres, held to it by one contract suite. Both
// refuse text holding NUL (U+0000), which PostgreSQL cannot store, and zero
// revoke times, with errors that name the field.
type Store interface {
	// CreateUser inserts u (ID, times, Version 1 set by the caller);
	// ErrConflict when the tenant has a user with that email (or ID).
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user or ErrNotFound.
	GetUser(ctx context.Context, tenant, id string) (User, error)
	// GetUserByEmail finds a user by email, case-insensitively.
	GetUserByEmail(ctx context.Context, tenant, email string) (User, error)
	// ListUsers returns up to limit users of the tenant with email >
	// afterEmail, by email.
	ListUsers(ctx context.Context, tenant, afterEmail string, limit int) ([]User, error)
	// UpdateUser runs mutate on the current user inside a transaction and
	// writes the result with Version+1 and UpdateTime now. With
	// ifVersion > 0 and another stored version, ErrStale and nothing
	// written. ErrConflict when the new email is taken.
	UpdateUser(ctx context.Context, tenant, id string, ifVersion int64, mutate func(*User) error) (User, error)
	// CountUsers is how many users the tenant has.
	CountUsers(ctx context.Context, tenant string) (int, error)

	// CreateAPIKey inserts k; ErrConflict for a digest (or ID) already
	// stored.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// LookupAPIKey finds a key of any tenant by digest, revoked and
	// expired ones included (the caller decides); ErrNotFound if none.
	LookupAPIKey(ctx context.Context, digest string) (APIKey, error)
	// ListAPIKeys returns up to limit keys of the tenant with ID < beforeID
	// ("" = from the newest), newest first.
	ListAPIKeys(ctx context.Context, tenant, beforeID string, limit int) ([]APIKey, error)
	// RevokeAPIKey sets RevokeTime (once; a second revoke keeps the
	// first time) and returns the key; ErrNotFound for an unknown one.
	RevokeAPIKey(ctx context.Context, tenant, id string, at time.Time) (APIKey, error)
	// CountAPIKeys is how many keys (revoked included) any tenant has: 0
	// means a store that was never bootstrapped.
	CountAPIKeys(ctx context.Context) (int, error)
	// TouchAPIKeys records last-used times, keyed by key ID; a time
	// earlier than the stored one, a zero time and an unknown ID are
	// ignored.
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error

	// CreateSession inserts s, whose ExpireTime must be set; ErrConflict
	// for a digest (or ID) already stored.
	CreateSession(ctx context.Context, s Session) error
	// LookupSession finds a session of any tenant by digest, revoked and
	// expired ones included; ErrNotFound if none.
	LookupSession(ctx context.Context, digest string) (Session, error)
	// ListSessions returns up to limit sessions of the user that are not
	// revoked and whose ExpireTime is after now, with ID < beforeID
	// ("" = newest), newest first.
	ListSessions(ctx context.Context, tenant, userID, beforeID string, now time.Time, limit int) ([]Session, error)
	// GetSession returns one session of the tenant, or ErrNotFound.
	GetSession(ctx context.Context, tenant, id string) (Session, error)
	// RevokeSession sets RevokeTime (once; a second revoke keeps the first
	// time); ErrNotFound for an unknown one.
	RevokeSession(ctx context.Context, tenant, id string, at time.Time) error
	// RevokeUserSessions revokes every live session of the user (not
	// revoked, ExpireTime after at) except exceptID and returns how many.
	RevokeUserSessions(ctx context.Context, tenant, userID, exceptID string, at time.Time) (int, error)
	// TouchSessions records last-seen times, keyed by session ID; like
	// TouchAPIKeys, it never moves a time back.
	TouchSessions(ctx context.Context, seen map[string]time.Time) error
	// DeleteSessions removes up to limit sessions that expired or were
	// revoked before the instant given; returns how many.
	DeleteSessions(ctx context.Context, before time.Time, limit int) (int, error)
	// ListContactSessions is ListSessions for the sessions of a contact
	// (customers).
	ListContactSessions(ctx context.Context, tenant, contactID, beforeID string, now time.Time, limit int) ([]Session, error)

	// CreateSignInCode stores c (ID, Digest, AttemptsLeft, CreateTime and
	// ExpireTime set by the caller), replacing any code of the same
	// tenant and email, in one transaction.
	CreateSignInCode(ctx context.Context, c SignInCode) error
	// UseSignInCode finds the live code of the address (not used, not
	// expired at now, attempts left), case-insensitively, and asks match
	// about it, in one transaction that locks it: true marks it used at
	// now and returns it; false spends one attempt and returns
	// ErrWrongCode. No live code: ErrNotFound (match is not called).
	UseSignInCode(ctx context.Context, tenant, email string, now time.Time, match func(SignInCode) bool) (SignInCode, error)
	// ReassignContact makes the sessions and sign-in codes of contact
	// from name into instead, in one transaction, and returns how many
	// sessions it changed (ended ones included). Empty from or into is an
	// error: a user's sessions name no contact.
	ReassignContact(ctx context.Context, tenant, from, into string) (int, error)
	// DeleteSignInCodes removes up to limit codes of any tenant that
	// expired before the instant given; returns how many.
	DeleteSignInCodes(ctx context.Context, before time.Time, limit int) (int, error)

	// AppendAudit stores an audit event (ID and CreateTime set);
	// ErrConflict for an ID the tenant has.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns up to limit events of the tenant with ID <
	// beforeID ("" = newest), newest first, of the given types (all when
	// empty).
	ListAudit(ctx context.Context, tenant string, types []iamv1.AuditEventType, beforeID string, limit int) ([]AuditEvent, error)
	// DeleteAudit removes up to limit events of any tenant older than
	// before; returns how many.
	DeleteAudit(ctx context.Context, before time.Time, limit int) (int, error)

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}
