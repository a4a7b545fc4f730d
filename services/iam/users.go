package iam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/etag"
	"github.com/kubedesk/kubedesk/services/platform/paging"
	"github.com/kubedesk/kubedesk/services/platform/updatemask"
	"github.com/kubedesk/kubedesk/workflows/calendar"
)

// UpdatableUserFields are the update_mask paths UpdateUser accepts.
var UpdatableUserFields = []string{"display_name", "email", "locale", "time_zone", "roles", "groups", "active", "password"}

// userRoles are the roles a user may hold.
var userRoles = []iamv1.Role{iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_SUPERVISOR, iamv1.Role_ROLE_AGENT}

func checkRoles(roles []iamv1.Role) error {
	if len(roles) == 0 {
		return status.Error(codes.InvalidArgument, "user.roles: is empty; accepted: one or more of ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT (deactivate a user to take all access away)")
	}
	for _, r := range roles {
		if !slices.Contains(userRoles, r) {
			return status.Errorf(codes.InvalidArgument, "user.roles: %s is not a user's role; accepted: ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT", r)
		}
	}
	return nil
}

func checkTimeZone(tz string) error {
	if _, err := calendar.Location(tz); err != nil {
		return status.Errorf(codes.InvalidArgument, "user.time_zone: %v", err)
	}
	return nil
}

func emailTaken(email string) error {
	return status.Errorf(codes.AlreadyExists, "user.email: %q belongs to another user of this tenant; accepted: an email no other user has", email)
}

// CreateUser implements iamv1.IdentityServiceServer. A new user is always
// active: proto3 cannot tell an unset active from false, and a user made
// inactive on purpose is rare (create it, then UpdateUser with active in
// the mask). Roles default to [ROLE_AGENT]. The password is optional (a
// user of an OpenID Connect issuer has none).
func (s *Server) CreateUser(ctx context.Context, req *iamv1.CreateUserRequest) (*iamv1.CreateUserResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetUser()
	email := strings.ToLower(strings.TrimSpace(in.GetEmail()))
	if email == "" {
		return nil, status.Error(codes.InvalidArgument, "user.email: is required; accepted: an email address such as agent@example.com")
	}
	roles := in.GetRoles()
	if len(roles) == 0 {
		roles = []iamv1.Role{iamv1.Role_ROLE_AGENT}
	}
	if err := checkRoles(roles); err != nil {
		return nil, err
	}
	if err := checkTimeZone(in.GetTimeZone()); err != nil {
		return nil, err
	}
	var hash string
	if pw := in.GetPassword(); pw != "" {
		if err := s.checkPassword("user.password", pw); err != nil {
			return nil, err
		}
		if hash, err = s.hashPassword(ctx, pw); err != nil {
			return nil, err
		}
	}
	now := s.now()
	tid := callTenant(ctx)
	u := User{
		Tenant:       tid,
		ID:           newID(),
		Email:        email,
		DisplayName:  in.GetDisplayName(),
		Locale:       in.GetLocale(),
		TimeZone:     in.GetTimeZone(),
		Roles:        roles,
		Groups:       in.GetGroups(),
		Active:       true,
		PasswordHash: hash,
		CreateTime:   now,
		UpdateTime:   now,
		Version:      1,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, emailTaken(email)
		}
		return nil, s.storeError(ctx, err, "user")
	}
	s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_USER_CREATED, actorOf(p), u.ID,
		fmt.Sprintf("%s, roles %s", email, auth.RoleNames(roles)))
	return &iamv1.CreateUserResponse{User: userToProto(u)}, nil
}

// GetUser implements iamv1.IdentityServiceServer.
func (s *Server) GetUser(ctx context.Context, req *iamv1.GetUserRequest) (*iamv1.GetUserResponse, error) {
	id := strings.TrimPrefix(req.GetId(), "users/")
	u, err := s.store.GetUser(ctx, callTenant(ctx), id)
	if err != nil {
		return nil, s.storeError(ctx, err, "user "+strconv.Quote(id))
	}
	return &iamv1.GetUserResponse{User: userToProto(u)}, nil
}

// ListUsers implements iamv1.IdentityServiceServer.
func (s *Server) ListUsers(ctx context.Context, req *iamv1.ListUsersRequest) (*iamv1.ListUsersResponse, error) {
	const query = "users"
	after, err := paging.Position(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	rows, err := s.store.ListUsers(ctx, callTenant(ctx), after, size+1)
	if err != nil {
		return nil, s.storeError(ctx, err, "users")
	}
	rows, next := paging.Cut(rows, size, query, func(r User) string { return r.Email })
	resp := &iamv1.ListUsersResponse{NextPageToken: next}
	for _, u := range rows {
		resp.Users = append(resp.Users, userToProto(u))
	}
	return resp, nil
}

// UpdateUser implements iamv1.IdentityServiceServer.
func (s *Server) UpdateUser(ctx context.Context, req *iamv1.UpdateUserRequest) (*iamv1.UpdateUserResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetUser()
	id := strings.TrimPrefix(in.GetId(), "users/")
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "user.id: is required")
	}
	paths, err := updatemask.Paths(req.GetUpdateMask(), req.GetUser(), UpdatableUserFields)
	if err != nil {
		return nil, err
	}
	want, err := etag.Expected(ctx, in.GetEtag(), "user")
	if err != nil {
		return nil, err
	}
	has := func(f string) bool { return slices.Contains(paths, f) }
	if auth.HasRole(p, iamv1.Role_ROLE_SERVICE) && !slices.Equal(paths, []string{"groups"}) {
		return nil, status.Errorf(codes.PermissionDenied, "update_mask: kubedesk's modules change user.groups only, not %s", strings.Join(paths, ", "))
	}
	email := strings.ToLower(strings.TrimSpace(in.GetEmail()))
	if has("email") && email == "" {
		return nil, status.Error(codes.InvalidArgument, "user.email: is required when email is in update_mask; accepted: an email address")
	}
	if has("roles") {
		if err := checkRoles(in.GetRoles()); err != nil {
			return nil, err
		}
	}
	if has("time_zone") {
		if err := checkTimeZone(in.GetTimeZone()); err != nil {
			return nil, err
		}
	}
	var hash string
	if has("password") {
		if err := s.checkPassword("user.password", in.GetPassword()); err != nil {
			return nil, err
		}
		if hash, err = s.hashPassword(ctx, in.GetPassword()); err != nil {
			return nil, err
		}
	}
	tid := callTenant(ctx)
	self := id == p.GetUserId() && tid == p.GetTenant()
	if self && has("active") && !in.GetActive() {
		return nil, status.Error(codes.FailedPrecondition, "user.active: an admin cannot deactivate itself; ask another admin")
	}
	if self && has("roles") && !slices.Contains(in.GetRoles(), iamv1.Role_ROLE_ADMIN) {
		return nil, status.Error(codes.FailedPrecondition, "user.roles: an admin cannot take ROLE_ADMIN from itself; ask another admin")
	}
	var before User
	u, err := s.store.UpdateUser(ctx, tid, id, want, func(u *User) error {
		before = *u
		before.Roles = slices.Clone(u.Roles)
		for _, f := range paths {
			switch f {
			case "display_name":
				u.DisplayName = in.GetDisplayName()
			case "email":
				u.Email = email
			case "locale":
				u.Locale = in.GetLocale()
			case "time_zone":
				u.TimeZone = in.GetTimeZone()
			case "roles":
				u.Roles = in.GetRoles()
			case "groups":
				u.Groups = in.GetGroups()
			case "active":
				u.Active = in.GetActive()
			case "password":
				u.PasswordHash = hash
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrConflict):
		return nil, emailTaken(email)
	case errors.Is(err, ErrStale):
		return nil, status.Errorf(codes.Aborted, "etag: user %q has changed since version %q; read it again and retry", id, etag.Format(want))
	case err != nil:
		return nil, s.storeError(ctx, err, "user "+strconv.Quote(id))
	}
	// Every cached principal of this replica is dropped: the user's roles,
	// groups or names may be in one. Other replicas follow within CacheTTL.
	s.cache.Flush()
	actor := actorOf(p)
	if !slices.Equal(before.Roles, u.Roles) {
		s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_USER_ROLES_CHANGED, actor, u.ID,
			auth.RoleNames(before.Roles)+" -> "+auth.RoleNames(u.Roles))
	}
	endSessions := has("password")
	if before.Active && !u.Active {
		endSessions = true
		s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_USER_DEACTIVATED, actor, u.ID, u.Email)
	}
	if endSessions {
		n, err := s.store.RevokeUserSessions(ctx, tid, u.ID, "", s.now())
		if err != nil {
			return nil, s.storeError(ctx, err, "sessions")
		}
		if has("password") {
			s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_PASSWORD_CHANGED, actor, u.ID,
				"set by an admin; "+strconv.Itoa(n)+" sessions signed out")
		}
	}
	return &iamv1.UpdateUserResponse{User: userToProto(u)}, nil
}
