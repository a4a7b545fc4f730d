package oidc_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/auth/oidc"
	"github.com/kubedesk/kubedesk/services/platform/auth/oidc/oidctest"
)

const audience = "kubedesk"

// claims are a good token's claims, with changes.
func claims(is *oidctest.Issuer, exp time.Time, change map[string]any) map[string]any {
	c := map[string]any{
		"iss":             is.URL,
		"aud":             audience,
		"sub":             "248289761001",
		"iat":             time.Now().Add(-time.Minute).Unix(),
		"exp":             exp.Unix(),
		"email":           "ana@acme.example",
		"name":            "Ana Lima",
		"kubedesk_tenant": "acme",
		"kubedesk_roles":  []string{"agent", "supervisor", "pilot"},
		"groups":          []string{"billing", "network"},
	}
	maps.Copy(c, change)
	for k, v := range c {
		if v == nil {
			delete(c, k)
		}
	}
	return c
}

func newVerifier(t testing.TB, is *oidctest.Issuer) *oidc.Verifier {
	t.Helper()
	v, err := oidc.New(context.Background(), oidc.Config{IssuerURL: is.URL, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerify(t *testing.T) {
	key := oidctest.NewRSAKey(t, "k1")
	is := oidctest.Start(t, key)
	v := newVerifier(t, is)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Truncate(time.Second)

	p, err := v.Verify(ctx, oidctest.Sign(t, key, claims(is, exp, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := &iamv1.Principal{
		Id:          "oidc:248289761001",
		Kind:        iamv1.PrincipalKind_PRINCIPAL_KIND_OIDC,
		Tenant:      "acme",
		Roles:       []iamv1.Role{iamv1.Role_ROLE_AGENT, iamv1.Role_ROLE_SUPERVISOR},
		Groups:      []string{"billing", "network"},
		Email:       "ana@acme.example",
		DisplayName: "Ana Lima",
		ExpireTime:  timestamppb.New(exp),
	}
	if d := cmp.Diff(want, p, protocmp.Transform()); d != "" {
		t.Errorf("principal (-want +got):\n%s", d)
	}

	rogue := oidctest.NewRSAKey(t, "rogue")
	tests := []struct {
		name  string
		token string
		want  string // in the error, after "the credential is not valid"
	}{
		{"expired", oidctest.Sign(t, key, claims(is, time.Now().Add(-time.Minute), nil)), "token is expired"},
		{"wrong audience", oidctest.Sign(t, key, claims(is, exp, map[string]any{"aud": "someone-else"})), "expected audience"},
		{"wrong issuer", oidctest.Sign(t, key, claims(is, exp, map[string]any{"iss": "https://login.example.com"})), "issued by a different provider"},
		{"unknown key", oidctest.Sign(t, rogue, claims(is, exp, nil)), "failed to verify"},
		{"not a JWT", "kd_not_a_jwt", "malformed"},
		{"no tenant", oidctest.Sign(t, key, claims(is, exp, map[string]any{"kubedesk_tenant": nil})), "claim kubedesk_tenant (the tenant) is missing"},
		{"tenant not a DNS label", oidctest.Sign(t, key, claims(is, exp, map[string]any{"kubedesk_tenant": "Acme Corp"})), "is not valid"},
		{"no roles", oidctest.Sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": nil})), "names none of the roles"},
		{"unknown roles only", oidctest.Sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": []string{"pilot", "service"}})), "names none of the roles"},
		{"customer role", oidctest.Sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": "customer"})), "names none of the roles"},
		{"roles a number", oidctest.Sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": 3})), "is not a list"},
		{"no subject", oidctest.Sign(t, key, claims(is, exp, map[string]any{"sub": nil})), "no sub claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(ctx, tt.token)
			if !errors.Is(err, auth.ErrUnauthenticated) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want ErrUnauthenticated, %q", p, err, tt.want)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("the error holds the token")
			}
		})
	}
}

func TestRolesClaimForms(t *testing.T) {
	key := oidctest.NewECKey(t, "ec1")
	is := oidctest.Start(t, key)
	v := newVerifier(t, is)
	exp := time.Now().Add(time.Hour)
	for _, tt := range []struct {
		name   string
		roles  any
		groups any
		want   []iamv1.Role
	}{
		{"array", []string{"admin", "integration"}, []string{"g"}, []iamv1.Role{iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_INTEGRATION}},
		{"space-separated string", "agent  Supervisor agent", "g", []iamv1.Role{iamv1.Role_ROLE_AGENT, iamv1.Role_ROLE_SUPERVISOR}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), oidctest.Sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": tt.roles, "groups": tt.groups})))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, p.GetRoles()); d != "" {
				t.Errorf("roles (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]string{"g"}, p.GetGroups()); d != "" {
				t.Errorf("groups (-want +got):\n%s", d)
			}
		})
	}
}

func TestConfiguredClaims(t *testing.T) {
	key := oidctest.NewRSAKey(t, "k1")
	is := oidctest.Start(t, key)
	v, err := oidc.New(context.Background(), oidc.Config{IssuerURL: is.URL, Audience: audience,
		TenantClaim: "org", RolesClaim: "roles", GroupsClaim: "teams"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), oidctest.Sign(t, key, claims(is, time.Now().Add(time.Hour), map[string]any{
		"org": "beta", "roles": []string{"admin"}, "teams": "a b", "kubedesk_tenant": nil, "kubedesk_roles": nil, "groups": nil,
	})))
	if err != nil {
		t.Fatal(err)
	}
	if p.GetTenant() != "beta" || !auth.HasRole(p, iamv1.Role_ROLE_ADMIN) || len(p.GetGroups()) != 2 {
		t.Errorf("principal %v; want tenant beta, admin, groups a and b", p)
	}
}

// TestKeyRotation: the issuer replaces its key; tokens of the new key
// verify without a new Verifier. (Those of the retired key are refused
// once go-oidc has replaced its copy of the key set, which it does only
// when a token names a kid it does not know.)
func TestKeyRotation(t *testing.T) {
	old, next := oidctest.NewRSAKey(t, "2026-11"), oidctest.NewECKey(t, "2026-12")
	is := oidctest.Start(t, old)
	v := newVerifier(t, is)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)

	if _, err := v.Verify(ctx, oidctest.Sign(t, old, claims(is, exp, nil))); err != nil {
		t.Fatalf("old key before the rotation: %v", err)
	}
	if _, err := v.Verify(ctx, oidctest.Sign(t, next, claims(is, exp, nil))); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("new key before it is published: %v; want ErrUnauthenticated", err)
	}

	// The refused token made go-oidc fetch the key set; a call just after
	// may share that fetch's (older) answer, so the first tokens of a new
	// key can be refused for as long as one fetch takes. A client's retry
	// then succeeds, as here.
	is.Publish(next)
	token := oidctest.Sign(t, next, claims(is, exp, nil))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Verify(ctx, token)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new key after the rotation: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fetches := is.Fetches()
	for range 3 {
		if _, err := v.Verify(ctx, oidctest.Sign(t, next, claims(is, exp, nil))); err != nil {
			t.Fatalf("new key after the rotation: %v", err)
		}
	}
	if n := is.Fetches() - fetches; n != 0 {
		t.Errorf("%d key set fetches once the new key is known; want none", n)
	}
}

func TestNewIssuerUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := oidc.New(context.Background(), oidc.Config{IssuerURL: url, Audience: audience})
	if err == nil || !strings.Contains(err.Error(), "iam.oidc.issuerURL: discovery at "+url+"/.well-known/openid-configuration failed") {
		t.Errorf("unreachable issuer: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  oidc.Config
		want []string // substrings of the error; none = valid
	}{
		{"valid", oidc.Config{IssuerURL: "https://login.example.com/realms/acme", Audience: "kubedesk"}, nil},
		{"http on localhost", oidc.Config{IssuerURL: "http://127.0.0.1:5556/dex", Audience: "kubedesk"}, nil},
		{"empty", oidc.Config{}, []string{"iam.oidc.issuerURL: required", "iam.oidc.audience: required"}},
		{"http elsewhere", oidc.Config{IssuerURL: "http://login.example.com", Audience: "kubedesk"},
			[]string{`iam.oidc.issuerURL: "http://login.example.com" is not https`}},
		{"relative", oidc.Config{IssuerURL: "login.example.com", Audience: "kubedesk"},
			[]string{`iam.oidc.issuerURL: "login.example.com" is not an absolute URL`}},
		{"claim with spaces", oidc.Config{IssuerURL: "https://login.example.com", Audience: "kubedesk", RolesClaim: " roles"},
			[]string{`iam.oidc.rolesClaim: " roles" has surrounding spaces`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != (len(tt.want) > 0) {
				t.Fatalf("Validate: %v; want %q", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %v; want %q", err, w)
				}
			}
		})
	}
	var c oidc.Config
	c.Default()
	if c.TenantClaim != "kubedesk_tenant" || c.RolesClaim != "kubedesk_roles" || c.GroupsClaim != "groups" {
		t.Errorf("defaults: %+v", c)
	}
}

// TestIssuerOfOneTenant: an issuer configured for one tenant signs in to
// it whether or not its tokens carry the claim, and never to another.
func TestIssuerOfOneTenant(t *testing.T) {
	key := oidctest.NewRSAKey(t, "k1")
	is := oidctest.Start(t, key)
	v, err := oidc.New(context.Background(), oidc.Config{IssuerURL: is.URL, Audience: audience, Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name   string
		change map[string]any
		tenant string // "" for refused
	}{
		{"no tenant claim", map[string]any{"kubedesk_tenant": nil}, "acme"},
		{"the same tenant", map[string]any{"kubedesk_tenant": "acme"}, "acme"},
		{"another tenant", map[string]any{"kubedesk_tenant": "globex"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), oidctest.Sign(t, key, claims(is, exp, tt.change)))
			if tt.tenant == "" {
				if !errors.Is(err, auth.ErrUnauthenticated) {
					t.Fatalf("Verify = %v, %v; want ErrUnauthenticated", p, err)
				}
				return
			}
			if err != nil || p.GetTenant() != tt.tenant {
				t.Fatalf("Verify = tenant %q, %v; want %q", p.GetTenant(), err, tt.tenant)
			}
		})
	}
	if err := (oidc.Config{IssuerURL: is.URL, Audience: audience, Tenant: "Acme Corp"}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "iam.oidc.tenant:") {
		t.Errorf("Validate with a bad tenant = %v, want an error naming iam.oidc.tenant", err)
	}
}
