package iam

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/paging"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// errSignIn is the one answer to an unknown email, a wrong password and
// an inactive user, so that none tells which it was.
var errSignIn = status.Error(codes.Unauthenticated, "email or password is wrong")

// checkPassword enforces the password rule; field names the request
// field. The password itself is never echoed.
func (s *Server) checkPassword(field, password string) error {
	if n := utf8.RuneCountInString(password); n < s.cfg.MinPasswordLength {
		return status.Errorf(codes.InvalidArgument, "%s: must be at least %d characters (got %d)", field, s.cfg.MinPasswordLength, n)
	}
	return nil
}

// signInTenant is the tenant a sign-in names: the request's tenant field,
// which must agree with an X-Kubedesk-Tenant header if one was sent, else
// the call's (the header, or the default tenant).
func signInTenant(ctx context.Context, named string) (string, error) {
	header := auth.IncomingValue(ctx, tenant.MetadataKey)
	switch {
	case named == "":
	case tenant.Validate(named) != nil:
		return "", status.Errorf(codes.InvalidArgument, "tenant: %q: %v", named, tenant.Validate(named))
	case header != "" && header != named:
		return "", status.Errorf(codes.InvalidArgument, "tenant: %q differs from the %s header %q; accepted: one of them, or both the same", named, tenant.HeaderName, header)
	default:
		return named, nil
	}
	if tid := tenant.From(ctx); tid != "" {
		return tid, nil
	}
	return "", status.Errorf(codes.InvalidArgument, "%s: no tenant named; send the %s header or the tenant field", tenant.HeaderName, tenant.HeaderName)
}

// CreateSession implements iamv1.IdentityServiceServer: a user signs in
// with a password, a customer with a one-time code (createCustomerSession).
func (s *Server) CreateSession(ctx context.Context, req *iamv1.CreateSessionRequest) (*iamv1.CreateSessionResponse, error) {
	tid, err := signInTenant(ctx, strings.TrimSpace(req.GetTenant()))
	if err != nil {
		return nil, err
	}
	email := strings.ToLower(strings.TrimSpace(req.GetEmail()))
	if email == "" {
		return nil, status.Error(codes.InvalidArgument, "email: is required")
	}
	switch {
	case req.GetPassword() != "" && req.GetCode() != "":
		return nil, status.Error(codes.InvalidArgument, "code: a password is sent too; accepted: password (a user) or code (a customer), not both")
	case req.GetCode() != "":
		return s.createCustomerSession(ctx, tid, email, strings.TrimSpace(req.GetCode()))
	case req.GetPassword() == "":
		return nil, status.Error(codes.InvalidArgument, "password: is required (or code, for a customer's one-time sign-in code)")
	}
	throttleKey := tid + "\x00" + email
	now := s.now()
	if wait, first := s.signIn.begin(throttleKey, now); wait > 0 {
		if first {
			s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_THROTTLED, Actor{}, email,
				"sign-in refused until the failure window passes")
		}
		return nil, throttled(ctx, wait)
	}

	u, err := s.store.GetUserByEmail(ctx, tid, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.signIn.undo(throttleKey)
		return nil, s.storeError(ctx, err, "user")
	}
	hash := u.PasswordHash
	if err != nil || hash == "" {
		hash = s.dummyHash // the same work for an account that cannot sign in
	}
	ok, verr := s.verifyPassword(ctx, req.GetPassword(), hash)
	if st, busy := status.FromError(verr); busy && verr != nil && st.Code() != codes.Unknown {
		s.signIn.undo(throttleKey) // not an attempt: no password was checked
		return nil, verr
	}
	if verr != nil {
		s.log.ErrorContext(ctx, "stored password hash is unusable", "tenant", tid, "user", u.ID, "err", verr)
	}
	if err != nil || u.PasswordHash == "" || !ok || !u.Active {
		detail := "wrong email or password"
		if ok && !u.Active {
			detail = "user is inactive"
		}
		s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED, Actor{}, email, detail)
		return nil, errSignIn
	}
	s.signIn.succeeded(throttleKey)

	out, err := s.startSession(ctx, Session{Tenant: tid, UserID: u.ID}, now)
	if err != nil {
		return nil, err
	}
	actor := Actor{ID: u.ID, Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, DisplayName: u.DisplayName}
	s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_SUCCEEDED, actor, u.ID, "session "+out.GetId())
	return &iamv1.CreateSessionResponse{Session: out, User: userToProto(u)}, nil
}

// startSession stores ses (whose tenant and owner the caller sets) as a
// new session from now, with a fresh token the gateway sets as the
// cookie, and returns it with its CSRF token.
func (s *Server) startSession(ctx context.Context, ses Session, now time.Time) (*iamv1.Session, error) {
	token := newToken()
	ses.ID = newID()
	ses.Digest = digest(token)
	ses.ClientIP = auth.ClientIP(ctx)
	ses.UserAgent = userAgent(ctx)
	ses.CreateTime, ses.LastSeenTime = now, now
	ses.ExpireTime = now.Add(time.Duration(s.cfg.SessionAbsoluteTimeout))
	if err := s.store.CreateSession(ctx, ses); err != nil {
		return nil, s.storeError(ctx, err, "session")
	}
	if err := grpc.SetHeader(ctx, metadata.Pairs(auth.SessionTokenKey, token)); err != nil {
		// Without the header the gateway cannot set the cookie: the
		// session is useless, so end it.
		s.revokeQuietly(ctx, ses)
		return nil, status.Errorf(codes.Internal, "sending the session token: %v", err)
	}
	out := sessionToProto(ses)
	out.CsrfToken = auth.CSRFToken(token)
	return out, nil
}

func (s *Server) revokeQuietly(ctx context.Context, ses Session) {
	if err := s.store.RevokeSession(context.WithoutCancel(ctx), ses.Tenant, ses.ID, s.now()); err != nil {
		s.log.ErrorContext(ctx, "revoking an unusable session", "err", err, "session", ses.ID)
	}
}

// throttled is the RESOURCE_EXHAUSTED answer with Retry-After.
func throttled(ctx context.Context, wait time.Duration) error {
	secs := int64((wait + time.Second - 1) / time.Second)
	_ = grpc.SetHeader(ctx, metadata.Pairs(auth.RetryAfterKey, strconv.FormatInt(secs, 10)))
	return status.Errorf(codes.ResourceExhausted, "too many failed sign-ins for this account; try again in %d seconds", secs)
}

// ListSessions implements iamv1.IdentityServiceServer.
func (s *Server) ListSessions(ctx context.Context, req *iamv1.ListSessionsRequest) (*iamv1.ListSessionsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	tid := callTenant(ctx)
	userID := strings.TrimPrefix(req.GetUser(), "users/")
	if userID == "" && p.GetUserId() == "" && p.GetContactId() != "" {
		return s.listContactSessions(ctx, p, req)
	}
	switch {
	case userID == "" && p.GetUserId() == "":
		return nil, status.Error(codes.InvalidArgument, "user: is required when the caller is not a user (e.g. an API key); accepted: users/{id}")
	case userID == "":
		userID = p.GetUserId()
	case userID != p.GetUserId() || tid != p.GetTenant():
		if !auth.HasRole(p, iamv1.Role_ROLE_ADMIN) {
			return nil, status.Error(codes.PermissionDenied, "user: only an admin may list another user's sessions; leave it empty for your own")
		}
		if _, err := s.store.GetUser(ctx, tid, userID); err != nil {
			return nil, s.storeError(ctx, err, "user "+strconv.Quote(userID))
		}
	}
	query := "sessions\x00" + userID
	before, err := paging.Position(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	rows, err := s.store.ListSessions(ctx, tid, userID, before, s.now(), size+1)
	if err != nil {
		return nil, s.storeError(ctx, err, "sessions")
	}
	rows, next := paging.Cut(rows, size, query, func(r Session) string { return r.ID })
	resp := &iamv1.ListSessionsResponse{NextPageToken: next}
	csrf := sessionCSRF(ctx, p)
	for _, r := range rows {
		ps := sessionToProto(r)
		if r.ID == p.GetSessionId() && r.Tenant == p.GetTenant() {
			ps.CsrfToken = csrf
		}
		resp.Sessions = append(resp.Sessions, ps)
	}
	return resp, nil
}

// listContactSessions is ListSessions for a customer: its contact's own
// sessions.
func (s *Server) listContactSessions(ctx context.Context, p *iamv1.Principal, req *iamv1.ListSessionsRequest) (*iamv1.ListSessionsResponse, error) {
	query := "contact sessions\x00" + p.GetContactId()
	before, err := paging.Position(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	rows, err := s.store.ListContactSessions(ctx, p.GetTenant(), p.GetContactId(), before, s.now(), size+1)
	if err != nil {
		return nil, s.storeError(ctx, err, "sessions")
	}
	rows, next := paging.Cut(rows, size, query, func(r Session) string { return r.ID })
	resp := &iamv1.ListSessionsResponse{NextPageToken: next}
	for _, r := range rows {
		ps := sessionToProto(r)
		if r.ID == p.GetSessionId() {
			ps.CsrfToken = sessionCSRF(ctx, p)
		}
		resp.Sessions = append(resp.Sessions, ps)
	}
	return resp, nil
}

// ownSession reports whether ses is p's: p's own session, or another of
// the same user or contact.
func ownSession(ses Session, p *iamv1.Principal) bool {
	if ses.Tenant != p.GetTenant() {
		return false
	}
	return ses.ID == p.GetSessionId() ||
		(ses.UserID != "" && ses.UserID == p.GetUserId()) ||
		(ses.ContactID != "" && ses.ContactID == p.GetContactId())
}

// sessionCSRF is the CSRF token of the caller's session, computed from
// the session token the gateway forwards; "" for other credentials.
func sessionCSRF(ctx context.Context, p *iamv1.Principal) string {
	if p.GetSessionId() == "" {
		return ""
	}
	if tok := auth.IncomingValue(ctx, auth.SessionKey); tok != "" {
		return auth.CSRFToken(tok)
	}
	return ""
}

// DeleteSession implements iamv1.IdentityServiceServer.
func (s *Server) DeleteSession(ctx context.Context, req *iamv1.DeleteSessionRequest) (*iamv1.DeleteSessionResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	tid := callTenant(ctx)
	id := req.GetId()
	if id == "current" {
		if p.GetSessionId() == "" {
			return nil, status.Error(codes.InvalidArgument, `id: "current" is the caller's session, but the caller did not sign in with one; name a session ID`)
		}
		id, tid = p.GetSessionId(), p.GetTenant()
	}
	notFound := status.Errorf(codes.NotFound, "session %q not found", id)
	ses, err := s.store.GetSession(ctx, tid, id)
	if err != nil {
		return nil, s.storeError(ctx, err, "session "+strconv.Quote(id))
	}
	if !ownSession(ses, p) && !auth.HasRole(p, iamv1.Role_ROLE_ADMIN) {
		return nil, notFound // another user's session is not the caller's to see
	}
	if err := s.store.RevokeSession(ctx, tid, id, s.now()); err != nil {
		return nil, s.storeError(ctx, err, "session "+strconv.Quote(id))
	}
	s.cache.Flush()
	typ := iamv1.AuditEventType_AUDIT_EVENT_TYPE_SESSION_REVOKED
	if ses.ID == p.GetSessionId() {
		typ = iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGNED_OUT
		_ = grpc.SetHeader(ctx, metadata.Pairs(auth.SessionEndedKey, "1"))
	}
	owner := "user " + ses.UserID
	if ses.ContactID != "" {
		owner = "contact " + ses.ContactID
	}
	s.audit(ctx, tid, typ, actorOf(p), ses.ID, owner)
	return &iamv1.DeleteSessionResponse{}, nil
}

// GetMe implements iamv1.IdentityServiceServer.
func (s *Server) GetMe(ctx context.Context, _ *iamv1.GetMeRequest) (*iamv1.GetMeResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	resp := &iamv1.GetMeResponse{Principal: p, CsrfToken: sessionCSRF(ctx, p)}
	if p.GetUserId() != "" {
		u, err := s.store.GetUser(ctx, p.GetTenant(), p.GetUserId())
		switch {
		case err == nil:
			resp.User = userToProto(u)
		case !errors.Is(err, ErrNotFound): // an OIDC subject may have no user record
			return nil, s.storeError(ctx, err, "user "+strconv.Quote(p.GetUserId()))
		}
	}
	return resp, nil
}

// ChangePassword implements iamv1.IdentityServiceServer. A wrong current
// password counts toward the account's sign-in throttle.
func (s *Server) ChangePassword(ctx context.Context, req *iamv1.ChangePasswordRequest) (*iamv1.ChangePasswordResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.GetUserId() == "" {
		return nil, status.Error(codes.FailedPrecondition, "the caller is not a user with a password; sign in with email and password first")
	}
	if err := s.checkPassword("new_password", req.GetNewPassword()); err != nil {
		return nil, err
	}
	tid := p.GetTenant()
	u, err := s.store.GetUser(ctx, tid, p.GetUserId())
	if err != nil {
		return nil, s.storeError(ctx, err, "user "+strconv.Quote(p.GetUserId()))
	}
	throttleKey := tid + "\x00" + u.Email
	now := s.now()
	if wait, _ := s.signIn.begin(throttleKey, now); wait > 0 {
		return nil, throttled(ctx, wait)
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = s.dummyHash
	}
	ok, verr := s.verifyPassword(ctx, req.GetCurrentPassword(), hash)
	if st, busy := status.FromError(verr); busy && verr != nil && st.Code() != codes.Unknown {
		s.signIn.undo(throttleKey)
		return nil, verr
	}
	if !ok || u.PasswordHash == "" {
		return nil, status.Error(codes.PermissionDenied, "current_password: is not the user's password")
	}
	s.signIn.succeeded(throttleKey)
	newHash, err := s.hashPassword(ctx, req.GetNewPassword())
	if err != nil {
		return nil, err
	}
	if _, err := s.store.UpdateUser(ctx, tid, u.ID, 0, func(u *User) error {
		u.PasswordHash = newHash
		return nil
	}); err != nil {
		return nil, s.storeError(ctx, err, "user "+strconv.Quote(u.ID))
	}
	n, err := s.store.RevokeUserSessions(ctx, tid, u.ID, p.GetSessionId(), s.now())
	if err != nil {
		return nil, s.storeError(ctx, err, "sessions")
	}
	s.cache.Flush()
	s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_PASSWORD_CHANGED, actorOf(p), u.ID,
		"changed by the user; "+strconv.Itoa(n)+" other sessions signed out")
	return &iamv1.ChangePasswordResponse{}, nil
}
