package iam

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/paging"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// keyPrefixLen is how much of a secret is kept to tell keys apart:
// "kd_" and 8 characters (48 of its 256 random bits).
const keyPrefixLen = 11

// minSecretLen is the length of the random part of a secret (256 bits in
// base64url).
const minSecretLen = 43

// systemActor creates the keys made outside any request (bootstrap,
// EnsureKey, the CLI).
var systemActor = Actor{ID: "service:kubedesk", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE, DisplayName: "kubedesk"}

// keyRoles are the roles an API key may have.
var keyRoles = []iamv1.Role{iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_SUPERVISOR, iamv1.Role_ROLE_AGENT, iamv1.Role_ROLE_INTEGRATION}

// CreateKey makes an API key of tenant and stores its digest; the secret
// ("kd_" and 256 random bits in base64url) is returned once, here. The
// CLI (`kubedesk apikey create`) and Bootstrap use it; actFor lists other
// tenants the key may act for ("*": all).
func CreateKey(ctx context.Context, st Store, tenant string, role iamv1.Role, name string, actFor []string, now time.Time) (string, APIKey, error) {
	return createKey(ctx, st, auth.APIKeyPrefix+newToken(), APIKey{
		Tenant: tenant, DisplayName: name, Role: role, Tenants: actFor, Creator: systemActor,
	}, now)
}

// createKey stores k with the secret's digest and prefix.
func createKey(ctx context.Context, st Store, secret string, k APIKey, now time.Time) (string, APIKey, error) {
	if k.Role == iamv1.Role_ROLE_UNSPECIFIED {
		k.Role = iamv1.Role_ROLE_INTEGRATION
	}
	if !slices.Contains(keyRoles, k.Role) {
		return "", APIKey{}, fmt.Errorf("api_key.role: %s is not a key's role; accepted: ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_INTEGRATION", k.Role)
	}
	if err := tenant.Validate(k.Tenant); err != nil {
		return "", APIKey{}, fmt.Errorf("api_key.tenant: %w", err)
	}
	if strings.TrimSpace(k.DisplayName) == "" {
		return "", APIKey{}, errors.New("api_key.display_name: is required; accepted: 1 to 200 characters")
	}
	k.ID = newID()
	k.Digest = digest(secret)
	k.Prefix = secret[:keyPrefixLen]
	k.CreateTime = now
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return "", APIKey{}, fmt.Errorf("storing API key %q: %w", k.DisplayName, err)
	}
	return secret, k, nil
}

// CreateApiKey implements iamv1.IdentityServiceServer.
func (s *Server) CreateApiKey(ctx context.Context, req *iamv1.CreateApiKeyRequest) (*iamv1.CreateApiKeyResponse, error) { //nolint:revive // the generated interface names it so
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetApiKey()
	name := strings.TrimSpace(in.GetDisplayName())
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "api_key.display_name: is required; accepted: 1 to 200 characters, e.g. \"CRM sync\"")
	}
	role := in.GetRole()
	if role == iamv1.Role_ROLE_UNSPECIFIED {
		role = iamv1.Role_ROLE_INTEGRATION
	}
	if !slices.Contains(keyRoles, role) {
		return nil, status.Errorf(codes.InvalidArgument, "api_key.role: %s is not a key's role; accepted: ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_INTEGRATION (the default)", role)
	}
	// A key never holds more than its creator: an admin may make any
	// key, anyone else only keys of a role it holds.
	if !auth.HasRole(p, iamv1.Role_ROLE_ADMIN, role) {
		return nil, status.Errorf(codes.PermissionDenied, "api_key.role: %s is more than the caller holds", role)
	}
	now := s.now()
	expire := timeOf(in.GetExpireTime())
	if !expire.IsZero() && !expire.After(now) {
		return nil, status.Errorf(codes.InvalidArgument, "api_key.expire_time: %s is not in the future; accepted: a later time, or unset for a key that does not expire", expire.Format(time.RFC3339))
	}
	tid := callTenant(ctx)
	secret, k, err := createKey(ctx, s.store, auth.APIKeyPrefix+newToken(), APIKey{
		Tenant: tid, DisplayName: name, Role: role, Creator: actorOf(p), ExpireTime: expire,
	}, now)
	if err != nil {
		return nil, s.storeError(ctx, err, "API key")
	}
	s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_API_KEY_CREATED, actorOf(p), k.ID,
		fmt.Sprintf("%q, role %s, prefix %s", k.DisplayName, auth.RoleNames([]iamv1.Role{k.Role}), k.Prefix))
	out := keyToProto(k)
	out.Secret = secret
	return &iamv1.CreateApiKeyResponse{ApiKey: out}, nil
}

// ListApiKeys implements iamv1.IdentityServiceServer.
func (s *Server) ListApiKeys(ctx context.Context, req *iamv1.ListApiKeysRequest) (*iamv1.ListApiKeysResponse, error) { //nolint:revive // the generated interface names it so
	const query = "apiKeys"
	before, err := paging.Position(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	rows, err := s.store.ListAPIKeys(ctx, callTenant(ctx), before, size+1)
	if err != nil {
		return nil, s.storeError(ctx, err, "API keys")
	}
	rows, next := paging.Cut(rows, size, query, func(r APIKey) string { return r.ID })
	resp := &iamv1.ListApiKeysResponse{NextPageToken: next}
	for _, k := range rows {
		resp.ApiKeys = append(resp.ApiKeys, keyToProto(k))
	}
	return resp, nil
}

// DeleteApiKey implements iamv1.IdentityServiceServer.
func (s *Server) DeleteApiKey(ctx context.Context, req *iamv1.DeleteApiKeyRequest) (*iamv1.DeleteApiKeyResponse, error) { //nolint:revive // the generated interface names it so
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.GetId(), "apiKeys/")
	tid := callTenant(ctx)
	k, err := s.store.RevokeAPIKey(ctx, tid, id, s.now())
	if err != nil {
		return nil, s.storeError(ctx, err, "API key "+strconv.Quote(id))
	}
	s.cache.Flush()
	s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_API_KEY_REVOKED, actorOf(p), k.ID,
		fmt.Sprintf("%q, prefix %s", k.DisplayName, k.Prefix))
	return &iamv1.DeleteApiKeyResponse{}, nil
}

// AdminKeyFile is the file Bootstrap writes the first admin key to, in
// the data directory.
const AdminKeyFile = "admin.key"

// Bootstrap makes the first admin key when the store holds no API key at
// all, and writes its secret to <dataDir>/admin.key (mode 0600). It
// returns the file's path, or "" when the store already had keys. An
// admin.key left from an earlier store (the database was deleted) is
// replaced, and the replacement logged. Two replicas bootstrapping an
// empty shared database at the same moment may each make a key; each
// writes its own data directory.
func (s *Server) Bootstrap(ctx context.Context, tenant, dataDir string) (string, error) {
	n, err := s.store.CountAPIKeys(ctx)
	if err != nil {
		return "", fmt.Errorf("bootstrap: counting API keys: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	path := filepath.Join(dataDir, AdminKeyFile)
	secret := auth.APIKeyPrefix + newToken()
	// The secret is on disk before the key is stored: a key whose secret
	// was lost would lock the admin out, since bootstrap never runs again.
	tmp, err := os.CreateTemp(dataDir, AdminKeyFile+".*")
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if _, err := tmp.WriteString(secret + "\n"); err != nil {
		tmp.Close()
		return "", fmt.Errorf("bootstrap: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("bootstrap: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("bootstrap: writing %s: %w", tmp.Name(), err)
	}
	_, k, err := createKey(ctx, s.store, secret, APIKey{
		Tenant: tenant, DisplayName: "bootstrap admin key", Role: iamv1.Role_ROLE_ADMIN, Creator: systemActor,
	}, s.now())
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		s.log.WarnContext(ctx, "replacing an admin key file of an earlier store: the store holds no API key", "path", path)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("bootstrap: the admin key %s is stored but its file could not be put in place: %w", k.ID, err)
	}
	s.audit(ctx, tenant, iamv1.AuditEventType_AUDIT_EVENT_TYPE_API_KEY_CREATED, systemActor, k.ID,
		fmt.Sprintf("%q, role admin, prefix %s, secret in %s", k.DisplayName, k.Prefix, path))
	s.log.InfoContext(ctx, "created the first admin API key in "+path+`: curl -H "Authorization: Bearer $(cat `+path+`)" ...`, "path", path, "tenant", tenant, "key", k.ID)
	return path, nil
}

// EnsureKey registers a key whose secret was made elsewhere (the operator
// keeps one in a Secret), unless its digest is stored already: a stored
// key, even a revoked one, is left as it is.
func (s *Server) EnsureKey(ctx context.Context, tenant string, role iamv1.Role, name, secret string) error {
	if !strings.HasPrefix(secret, auth.APIKeyPrefix) || len(secret)-len(auth.APIKeyPrefix) < minSecretLen {
		// Never echo the secret.
		return fmt.Errorf("API key %q: the secret is not one kubedesk accepts; accepted: %q followed by at least %d characters (256 random bits in base64url)",
			name, auth.APIKeyPrefix, minSecretLen)
	}
	k, err := s.store.LookupAPIKey(ctx, digest(secret))
	switch {
	case err == nil:
		if k.Tenant != tenant {
			s.log.WarnContext(ctx, "a configured API key is registered to another tenant; left as it is", "key", k.ID, "name", name, "tenant", k.Tenant, "configured", tenant)
		}
		if !k.RevokeTime.IsZero() {
			s.log.WarnContext(ctx, "a configured API key was revoked; it stays revoked", "key", k.ID, "name", name)
		}
		return nil
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("API key %q: %w", name, err)
	}
	_, k, err = createKey(ctx, s.store, secret, APIKey{
		Tenant: tenant, DisplayName: name, Role: role, Creator: systemActor,
	}, s.now())
	if errors.Is(err, ErrConflict) {
		return nil // another replica registered it first
	}
	if err != nil {
		return err
	}
	s.cache.Flush() // a refusal of the secret may be remembered
	s.audit(ctx, tenant, iamv1.AuditEventType_AUDIT_EVENT_TYPE_API_KEY_CREATED, systemActor, k.ID,
		fmt.Sprintf("%q, role %s, prefix %s, from configuration", k.DisplayName, auth.RoleNames([]iamv1.Role{k.Role}), k.Prefix))
	return nil
}

// ListAuditEvents implements iamv1.IdentityServiceServer.
func (s *Server) ListAuditEvents(ctx context.Context, req *iamv1.ListAuditEventsRequest) (*iamv1.ListAuditEventsResponse, error) {
	types := slices.Clone(req.GetTypes())
	slices.Sort(types)
	types = slices.Compact(types)
	query := "auditEvents"
	for _, t := range types {
		query += "," + strconv.Itoa(int(t))
	}
	before, err := paging.Position(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	rows, err := s.store.ListAudit(ctx, callTenant(ctx), types, before, size+1)
	if err != nil {
		return nil, s.storeError(ctx, err, "audit events")
	}
	rows, next := paging.Cut(rows, size, query, func(r AuditEvent) string { return r.ID })
	resp := &iamv1.ListAuditEventsResponse{NextPageToken: next}
	for _, e := range rows {
		resp.AuditEvents = append(resp.AuditEvents, auditToProto(e))
	}
	return resp, nil
}
