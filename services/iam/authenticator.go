package iam

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// digest is the stored form of a secret: hex SHA-256. Secrets carry 256
// random bits, so a fast hash is enough: nobody can guess one from it.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newToken returns 256 random bits, base64url without padding (43
// characters).
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("iam: crypto/rand failed: %v", err)) // never, on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Authenticator returns the local Authenticator over the store, behind a
// cache of CacheTTL (an auth.Cache on the server's clock, flushed by
// every revocation). The access interceptor of every gRPC server of this
// process uses it.
func (s *Server) Authenticator() auth.Authenticator { return s.cache }

type localAuthenticator struct{ s *Server }

// Authenticate implements auth.Authenticator.
func (a localAuthenticator) Authenticate(ctx context.Context, c auth.Credential) (*iamv1.Principal, error) {
	return a.s.authenticate(ctx, c)
}

// Audit implements auth.Authenticator.
func (a localAuthenticator) Audit(ctx context.Context, e *iamv1.AuditEvent) { a.s.Audit(ctx, e) }

func (s *Server) authenticate(ctx context.Context, c auth.Credential) (*iamv1.Principal, error) {
	if c.Secret == "" {
		return nil, auth.ErrUnauthenticated
	}
	now := s.now()
	var (
		p   *iamv1.Principal
		err error
	)
	switch {
	case c.Kind == iamv1.CredentialKind_CREDENTIAL_KIND_BEARER && strings.HasPrefix(c.Secret, auth.APIKeyPrefix):
		p, err = s.authenticateKey(ctx, c.Secret, now)
	case c.Kind == iamv1.CredentialKind_CREDENTIAL_KIND_BEARER:
		if s.tokens == nil {
			return nil, auth.ErrUnauthenticated
		}
		// The verifier keeps the issuer's signing keys; the cache in
		// front keeps a token's answer no later than its expiry.
		return s.tokens.Verify(ctx, c.Secret)
	case c.Kind == iamv1.CredentialKind_CREDENTIAL_KIND_SESSION:
		p, err = s.authenticateSession(ctx, c.Secret, now)
	default:
		return nil, auth.ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	s.touched(p, now)
	return p, nil
}

func (s *Server) authenticateKey(ctx context.Context, secret string, now time.Time) (*iamv1.Principal, error) {
	k, err := s.store.LookupAPIKey(ctx, digest(secret))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, auth.ErrUnauthenticated
	case err != nil:
		return nil, fmt.Errorf("looking up the API key: %w", err)
	case !k.RevokeTime.IsZero(), !k.ExpireTime.IsZero() && !now.Before(k.ExpireTime):
		return nil, auth.ErrUnauthenticated
	}
	return &iamv1.Principal{
		Id:          k.ID,
		Kind:        iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY,
		Tenant:      k.Tenant,
		Tenants:     k.Tenants,
		Roles:       []iamv1.Role{k.Role},
		DisplayName: k.DisplayName,
		ExpireTime:  timestamp(k.ExpireTime),
	}, nil
}

func (s *Server) authenticateSession(ctx context.Context, token string, now time.Time) (*iamv1.Principal, error) {
	ses, err := s.store.LookupSession(ctx, digest(token))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, auth.ErrUnauthenticated
	case err != nil:
		return nil, fmt.Errorf("looking up the session: %w", err)
	}
	if !s.sessionAlive(ses, now) {
		return nil, auth.ErrUnauthenticated
	}
	if ses.ContactID != "" {
		return customerPrincipal(ses), nil
	}
	u, err := s.store.GetUser(ctx, ses.Tenant, ses.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, auth.ErrUnauthenticated
	case err != nil:
		return nil, fmt.Errorf("looking up the session's user: %w", err)
	case !u.Active:
		return nil, auth.ErrUnauthenticated
	}
	return &iamv1.Principal{
		Id:          u.ID,
		Kind:        iamv1.PrincipalKind_PRINCIPAL_KIND_USER,
		Tenant:      u.Tenant,
		Roles:       u.Roles,
		Groups:      u.Groups,
		DisplayName: u.DisplayName,
		Email:       u.Email,
		UserId:      u.ID,
		SessionId:   ses.ID,
		ExpireTime:  timestamp(ses.ExpireTime),
		Locale:      u.Locale,
		TimeZone:    u.TimeZone,
	}, nil
}

// sessionAlive reports whether ses may still be used at now: not revoked,
// before its absolute end, and used within the idle timeout. Last-seen
// times wait in memory up to a minute before they are stored, so this
// replica's pending one counts too.
func (s *Server) sessionAlive(ses Session, now time.Time) bool {
	if !ses.RevokeTime.IsZero() || !now.Before(ses.ExpireTime) {
		return false
	}
	seen := ses.CreateTime
	for _, t := range []time.Time{ses.LastSeenTime, s.touch.session(ses.ID)} {
		if t.After(seen) {
			seen = t
		}
	}
	return now.Sub(seen) < time.Duration(s.cfg.SessionIdleTimeout)
}

// touched notes that p's credential was used at now.
func (s *Server) touched(p *iamv1.Principal, now time.Time) {
	switch p.GetKind() {
	case iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY:
		s.touch.add(s.touch.keys, p.GetId(), now)
	case iamv1.PrincipalKind_PRINCIPAL_KIND_USER, iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER:
		if id := p.GetSessionId(); id != "" {
			s.touch.add(s.touch.sessions, id, now)
		}
	}
}

// touches batches last-used times of keys and last-seen times of
// sessions in memory; the janitor writes them once a minute.
type touches struct {
	mu       sync.Mutex
	keys     map[string]time.Time
	sessions map[string]time.Time
}

func (t *touches) add(m map[string]time.Time, id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at.After(m[id]) {
		m[id] = at
	}
}

func (t *touches) session(id string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sessions[id]
}

// take returns the pending times and forgets them.
func (t *touches) take() (keys, sessions map[string]time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys, sessions = t.keys, t.sessions
	t.keys, t.sessions = map[string]time.Time{}, map[string]time.Time{}
	return keys, sessions
}

// putBack returns times that could not be written, unless newer ones
// came meanwhile.
func (t *touches) putBack(keys, sessions map[string]time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for dst, src := range map[*map[string]time.Time]map[string]time.Time{&t.keys: keys, &t.sessions: sessions} {
		for id, at := range src {
			if at.After((*dst)[id]) {
				(*dst)[id] = at
			}
		}
	}
}

// flushTouches writes the pending last-used and last-seen times.
func (s *Server) flushTouches(ctx context.Context) error {
	keys, sessions := s.touch.take()
	var errs []error
	if len(keys) > 0 {
		if err := s.store.TouchAPIKeys(ctx, keys); err != nil {
			errs = append(errs, fmt.Errorf("API key last-used times: %w", err))
			s.touch.putBack(keys, nil)
		}
	}
	if len(sessions) > 0 {
		if err := s.store.TouchSessions(ctx, sessions); err != nil {
			errs = append(errs, fmt.Errorf("session last-seen times: %w", err))
			s.touch.putBack(nil, sessions)
		}
	}
	return errors.Join(errs...)
}

// RunJanitor writes the batched last-used and last-seen times, deletes
// audit events older than AuditRetention, sessions that ended and expired
// sign-in codes, once a minute until ctx ends; then it writes the pending
// times one last time and returns ctx's error. Failures are logged and
// retried at the next tick.
func (s *Server) RunJanitor(ctx context.Context) error {
	tick := time.NewTicker(s.janitorEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.flushTouches(fctx); err != nil {
				s.log.WarnContext(fctx, "iam janitor: writing last-used times at shutdown", "err", err)
			}
			cancel()
			return ctx.Err()
		case <-tick.C:
		}
		s.sweep(ctx)
	}
}

// sweep is one round of the janitor.
func (s *Server) sweep(ctx context.Context) {
	if err := s.flushTouches(ctx); err != nil {
		s.log.WarnContext(ctx, "iam janitor: writing last-used times", "err", err)
	}
	now := s.now()
	auditN, err := s.deleteBatches(ctx, func(limit int) (int, error) {
		return s.store.DeleteAudit(ctx, now.Add(-time.Duration(s.cfg.AuditRetention)), limit)
	})
	if err != nil {
		s.log.WarnContext(ctx, "iam janitor: deleting old audit events", "err", err)
	}
	sesN, err := s.deleteBatches(ctx, func(limit int) (int, error) {
		return s.store.DeleteSessions(ctx, now, limit)
	})
	if err != nil {
		s.log.WarnContext(ctx, "iam janitor: deleting ended sessions", "err", err)
	}
	codeN, err := s.deleteBatches(ctx, func(limit int) (int, error) {
		return s.store.DeleteSignInCodes(ctx, now, limit)
	})
	if err != nil {
		s.log.WarnContext(ctx, "iam janitor: deleting expired sign-in codes", "err", err)
	}
	if auditN+sesN+codeN > 0 {
		s.log.DebugContext(ctx, "iam janitor", "auditEventsDeleted", auditN, "sessionsDeleted", sesN, "signInCodesDeleted", codeN)
	}
}

// deleteBatches calls del with the batch size until a batch comes back
// short, at most 20 batches a round so that one round stays short.
func (s *Server) deleteBatches(ctx context.Context, del func(limit int) (int, error)) (int, error) {
	total := 0
	for range 20 {
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
		n, err := del(s.batch)
		total += n
		if err != nil || n < s.batch {
			return total, err
		}
	}
	return total, nil
}
