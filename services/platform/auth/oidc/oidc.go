// Package oidc accepts OpenID Connect tokens as credentials: a token from
// the tenant's identity provider, sent as `Authorization: Bearer <JWT>`,
// is verified (signature against the issuer's published keys, issuer,
// audience, expiry) and its claims mapped to a kubedesk principal.
//
// go-oidc's package is also named oidc; it is imported here as gooidc, the
// one place that needs both.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Claim names used unless configured.
const (
	DefaultTenantClaim = "kubedesk_tenant"
	DefaultRolesClaim  = "kubedesk_roles"
	DefaultGroupsClaim = "groups"
)

// PrincipalIDPrefix starts the ID of every principal of a token:
// "oidc:" and the token's subject.
const PrincipalIDPrefix = "oidc:"

// Config is the iam.oidc section: which issuer's tokens are accepted and
// where their claims carry the tenant, roles and groups.
type Config struct {
	// IssuerURL is the issuer, as its tokens' iss claim names it; its
	// discovery document is at IssuerURL/.well-known/openid-configuration.
	IssuerURL string `json:"issuerURL"`
	// Audience must be in a token's aud claim: the client ID kubedesk
	// has at the issuer.
	Audience string `json:"audience"`
	// TenantClaim holds the tenant ID (a string). Default kubedesk_tenant.
	TenantClaim string `json:"tenantClaim,omitempty"`
	// Tenant, when set, is the one tenant the issuer's tokens sign in to
	// (an issuer per tenant, as the operator configures it): a token
	// without the tenant claim belongs to it, and one whose claim names
	// another tenant is refused. Unset, the claim is required and names
	// the tenant.
	Tenant string `json:"tenant,omitempty"`
	// RolesClaim holds the roles: a JSON array of role names
	// (["agent"]) or a space-separated string ("agent supervisor").
	// Default kubedesk_roles.
	RolesClaim string `json:"rolesClaim,omitempty"`
	// GroupsClaim holds the user's groups, in the same two forms.
	// Default groups.
	GroupsClaim string `json:"groupsClaim,omitempty"`
}

// Default fills the claim names left empty.
func (c *Config) Default() {
	if c.TenantClaim == "" {
		c.TenantClaim = DefaultTenantClaim
	}
	if c.RolesClaim == "" {
		c.RolesClaim = DefaultRolesClaim
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
}

// Validate names each bad field. Empty claim names are accepted: Default
// fills them.
func (c Config) Validate() error {
	var errs []error
	if c.IssuerURL == "" {
		errs = append(errs, errors.New("iam.oidc.issuerURL: required; accepted: the issuer's URL, e.g. \"https://login.example.com/realms/acme\""))
	} else if err := checkIssuer(c.IssuerURL); err != nil {
		errs = append(errs, fmt.Errorf("iam.oidc.issuerURL: %q %w", c.IssuerURL, err))
	}
	if strings.TrimSpace(c.Audience) == "" {
		errs = append(errs, errors.New("iam.oidc.audience: required; accepted: kubedesk's client ID at the issuer, as tokens name it in aud"))
	}
	if c.Tenant != "" {
		if err := tenant.Validate(c.Tenant); err != nil {
			errs = append(errs, fmt.Errorf("iam.oidc.tenant: %w", err))
		}
	}
	for _, f := range []struct{ name, value string }{
		{"tenantClaim", c.TenantClaim}, {"rolesClaim", c.RolesClaim}, {"groupsClaim", c.GroupsClaim},
	} {
		if strings.TrimSpace(f.value) != f.value {
			errs = append(errs, fmt.Errorf("iam.oidc.%s: %q has surrounding spaces; accepted: a claim name, e.g. %q", f.name, f.value, strings.TrimSpace(f.value)))
		}
	}
	return errors.Join(errs...)
}

// checkIssuer accepts an absolute https URL, or http on a loopback host
// (a development issuer).
func checkIssuer(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("is not an absolute URL without query or fragment; accepted: e.g. \"https://login.example.com/realms/acme\"")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return errors.New("is not https; accepted: an https URL (http only on localhost)")
}

// Verifier verifies tokens of one issuer.
type Verifier struct {
	cfg      Config
	verifier *gooidc.IDTokenVerifier
}

// New reads the issuer's discovery document and returns a verifier of its
// tokens; it fails if the issuer cannot be reached. The issuer's signing
// keys are fetched when first needed and again whenever a token names a
// key not seen before, so a key rotation needs no restart.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The client serves the discovery now and the key fetches later
	// (go-oidc keeps the context's values, not its deadline).
	ctx = gooidc.ClientContext(ctx, &http.Client{Timeout: 10 * time.Second})
	provider, err := gooidc.NewProvider(ctx, cfg.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("iam.oidc.issuerURL: discovery at %s/.well-known/openid-configuration failed: %w",
			strings.TrimSuffix(cfg.IssuerURL, "/"), err)
	}
	return &Verifier{
		cfg:      cfg,
		verifier: provider.VerifierContext(context.WithoutCancel(ctx), &gooidc.Config{ClientID: cfg.Audience}),
	}, nil
}

// Verify returns the principal of a token. Every failure wraps
// auth.ErrUnauthenticated; its text says why (for the log: callers answer
// all alike) and never holds the token.
func (v *Verifier) Verify(ctx context.Context, raw string) (*iamv1.Principal, error) {
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: OpenID Connect token refused: %w", auth.ErrUnauthenticated, err)
	}
	var claims map[string]json.RawMessage
	if err := tok.Claims(&claims); err != nil {
		return nil, refused("its claims are not a JSON object")
	}
	if tok.Subject == "" {
		return nil, refused("it has no sub claim")
	}
	p := &iamv1.Principal{
		Id:          PrincipalIDPrefix + tok.Subject,
		Kind:        iamv1.PrincipalKind_PRINCIPAL_KIND_OIDC,
		Email:       stringClaim(claims, "email"),
		DisplayName: stringClaim(claims, "name"),
	}
	if !tok.Expiry.IsZero() {
		p.ExpireTime = timestamppb.New(tok.Expiry)
	}

	p.Tenant = stringClaim(claims, v.cfg.TenantClaim)
	switch {
	case p.Tenant == "" && v.cfg.Tenant != "":
		p.Tenant = v.cfg.Tenant
	case p.Tenant == "":
		return nil, refused("claim %s (the tenant) is missing or not a string", v.cfg.TenantClaim)
	case v.cfg.Tenant != "" && p.Tenant != v.cfg.Tenant:
		return nil, refused("claim %s names tenant %q; this issuer signs in to tenant %q only", v.cfg.TenantClaim, p.Tenant, v.cfg.Tenant)
	}
	if err := tenant.Validate(p.Tenant); err != nil {
		return nil, refused("claim %s: %v", v.cfg.TenantClaim, err)
	}

	names, ok := listClaim(claims, v.cfg.RolesClaim)
	if !ok {
		return nil, refused("claim %s (the roles) is not a list of role names or a space-separated string", v.cfg.RolesClaim)
	}
	for _, n := range names {
		if r, ok := roles[strings.ToLower(n)]; ok && !slices.Contains(p.Roles, r) {
			p.Roles = append(p.Roles, r)
		}
	}
	if len(p.Roles) == 0 {
		return nil, refused("claim %s names none of the roles admin, supervisor, agent, integration (got %q)", v.cfg.RolesClaim, names)
	}

	if p.Groups, ok = listClaim(claims, v.cfg.GroupsClaim); !ok {
		return nil, refused("claim %s (the groups) is not a list of names or a space-separated string", v.cfg.GroupsClaim)
	}
	return p, nil
}

// roles are the roles a token may grant. Customers sign in through the
// channels, and ROLE_SERVICE is kubedesk's own: no token grants them.
var roles = map[string]iamv1.Role{
	"admin":       iamv1.Role_ROLE_ADMIN,
	"supervisor":  iamv1.Role_ROLE_SUPERVISOR,
	"agent":       iamv1.Role_ROLE_AGENT,
	"integration": iamv1.Role_ROLE_INTEGRATION,
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: OpenID Connect token refused: "+format, append([]any{auth.ErrUnauthenticated}, args...)...)
}

// stringClaim is a string claim's value; "" when it is absent or not a
// string.
func stringClaim(claims map[string]json.RawMessage, name string) string {
	var s string
	if raw, ok := claims[name]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// listClaim reads a claim that is a JSON array of strings or one
// space-separated string; an absent or null claim is an empty list.
func listClaim(claims map[string]json.RawMessage, name string) ([]string, bool) {
	raw, ok := claims[name]
	if !ok || string(raw) == "null" {
		return nil, true
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return slices.DeleteFunc(list, func(s string) bool { return s == "" }), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.Fields(s), true
	}
	return nil, false
}
