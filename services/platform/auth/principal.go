// Package auth authenticates and authorises every gRPC call of every
// kubedesk service: it finds the caller's credential (an API key or OpenID
// Connect token in `authorization: Bearer`, or the session cookie the
// gateway forwards), resolves it to a principal through an Authenticator,
// takes the tenant from it, and checks the roles the RPC declares with the
// kubedesk.iam.v1.access method option.
package auth

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Metadata keys a credential travels under.
const (
	// AuthorizationKey carries "Bearer <api key or JWT>".
	AuthorizationKey = "authorization"
	// SessionKey carries the session token; the gateway copies it from
	// the session cookie.
	SessionKey = "kubedesk-session"
	// SessionTokenKey is the response header metadata in which
	// CreateSession hands the new session's token to the gateway, which
	// turns it into the cookie.
	SessionTokenKey = "kubedesk-session-token"
	// SessionEndedKey is the response header metadata that tells the
	// gateway to clear the session cookie.
	SessionEndedKey = "kubedesk-session-ended"
	// ClientIPKey is the client address the gateway saw.
	ClientIPKey = "x-forwarded-for"
)

// APIKeyPrefix starts every API key secret.
const APIKeyPrefix = "kd_"

// ErrUnauthenticated is what an Authenticator returns for a credential it
// does not accept: unknown, revoked, expired or malformed. Callers answer
// them all alike.
var ErrUnauthenticated = errors.New("the credential is not valid")

// Credential is a secret as a caller presented it.
type Credential struct {
	Kind   iamv1.CredentialKind
	Secret string
}

// Authenticator resolves credentials to principals and keeps the audit
// log. The identity module implements it over its store; other processes
// reach that one over gRPC (AuthService).
type Authenticator interface {
	// Authenticate returns the credential's principal, or an error
	// wrapping ErrUnauthenticated.
	Authenticate(ctx context.Context, c Credential) (*iamv1.Principal, error)
	// Audit records a security event; it never fails the caller (a lost
	// event is logged).
	Audit(ctx context.Context, e *iamv1.AuditEvent)
}

type principalKey struct{}

// With returns ctx carrying the authenticated principal.
func With(ctx context.Context, p *iamv1.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// From returns the principal of the call; nil for a public RPC's
// anonymous caller.
func From(ctx context.Context) *iamv1.Principal {
	p, _ := ctx.Value(principalKey{}).(*iamv1.Principal)
	return p
}

// HasRole reports whether p holds any of roles.
func HasRole(p *iamv1.Principal, roles ...iamv1.Role) bool {
	for _, r := range p.GetRoles() {
		if slices.Contains(roles, r) {
			return true
		}
	}
	return false
}

// ActorOf is who p is, as changes record it; nil for nil.
func ActorOf(p *iamv1.Principal) *iamv1.Actor {
	if p == nil {
		return nil
	}
	return &iamv1.Actor{Id: p.GetId(), Kind: p.GetKind(), DisplayName: p.GetDisplayName()}
}

// MayActFor reports whether p may act in tenant: its own, or one its
// credential lists ("*" for every tenant).
func MayActFor(p *iamv1.Principal, tenant string) bool {
	return p.GetTenant() == tenant || slices.Contains(p.GetTenants(), tenant) || slices.Contains(p.GetTenants(), "*")
}

// RoleName is a role as people write it: "admin", "agent".
func RoleName(r iamv1.Role) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "ROLE_"))
}

// RoleNames writes roles as "admin, agent"; "none" for none.
func RoleNames(roles []iamv1.Role) string {
	if len(roles) == 0 {
		return "none"
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = RoleName(r)
	}
	return strings.Join(names, ", ")
}

// ParseRole reads a role's name ("agent") or enum name ("ROLE_AGENT").
func ParseRole(name string) (iamv1.Role, bool) {
	upper := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(upper, "ROLE_") {
		upper = "ROLE_" + upper
	}
	v, ok := iamv1.Role_value[upper]
	if !ok || v == 0 {
		return iamv1.Role_ROLE_UNSPECIFIED, false
	}
	return iamv1.Role(v), true
}

// IncomingValue returns the first value of an incoming call's metadata
// key; "" when it has none.
func IncomingValue(ctx context.Context, key string) string {
	if v := metadata.ValueFromIncomingContext(ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// ClientIP is the address of the caller: the first X-Forwarded-For entry
// the gateway passed on (metadata ClientIPKey), or else the peer of the
// gRPC connection; "" when neither is an IP address. It is for the audit
// log and sessions, not for decisions: a direct gRPC client can name any.
func ClientIP(ctx context.Context) string {
	first, _, _ := strings.Cut(IncomingValue(ctx, ClientIPKey), ",")
	if a, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
		return a.WithZone("").String()
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		if ap, err := netip.ParseAddrPort(p.Addr.String()); err == nil {
			return ap.Addr().WithZone("").String()
		}
	}
	return ""
}

// ClientKey is the key a per-client rate limit counts an address under:
// an IPv4 address as it is, an IPv6 address by the /64 it is in (one host
// commonly holds a whole /64 and could take a fresh address for every
// attempt). What is not an address is its own key.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Unmap().Is4() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// ForwardCaller returns ctx with the incoming call's credential (and the
// client address) as outgoing metadata, for a call made on the caller's
// behalf to another module, which then applies the caller's own rights
// (a ticket an agent may not see stays unseen).
func ForwardCaller(ctx context.Context) context.Context {
	var kv []string
	for _, k := range []string{AuthorizationKey, SessionKey, ClientIPKey, tenant.MetadataKey} {
		if v := IncomingValue(ctx, k); v != "" {
			kv = append(kv, k, v)
		}
	}
	return metadata.NewOutgoingContext(ctx, metadata.Pairs(kv...))
}
