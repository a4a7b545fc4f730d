package oidc_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/auth/oidc"
)

// issuer is an OpenID Connect issuer the test runs: a discovery document
// and a key set, whose keys the test rotates.
type issuer struct {
	*httptest.Server

	mu        sync.Mutex
	published []jose.JSONWebKey
	fetches   atomic.Int64
}

// signingKey is a private key and the kid it is published under.
type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func newRSAKey(t *testing.T, kid string) signingKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, alg: jose.RS256, key: k}
}

func newECKey(t *testing.T, kid string) signingKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, alg: jose.ES256, key: k}
}

func (k signingKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.key.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

func startIssuer(t *testing.T, keys ...signingKey) *issuer {
	is := &issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                is.URL,
			"authorization_endpoint":                is.URL + "/authorize",
			"token_endpoint":                        is.URL + "/token",
			"jwks_uri":                              is.URL + "/keys",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		is.fetches.Add(1)
		is.mu.Lock()
		set := jose.JSONWebKeySet{Keys: is.published}
		is.mu.Unlock()
		writeJSON(w, set)
	})
	is.Server = httptest.NewServer(mux)
	t.Cleanup(is.Close)
	is.publish(keys...)
	return is
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// publish replaces the key set.
func (is *issuer) publish(keys ...signingKey) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.published = nil
	for _, k := range keys {
		is.published = append(is.published, k.public())
	}
}

// sign makes a token of claims with key.
func sign(t *testing.T, key signingKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.alg, Key: jose.JSONWebKey{Key: key.key, KeyID: key.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

const audience = "kubedesk"

// claims are a good token's claims, with changes.
func claims(is *issuer, exp time.Time, change map[string]any) map[string]any {
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

func newVerifier(t *testing.T, is *issuer) *oidc.Verifier {
	t.Helper()
	v, err := oidc.New(context.Background(), oidc.Config{IssuerURL: is.URL, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerify(t *testing.T) {
	key := newRSAKey(t, "k1")
	is := startIssuer(t, key)
	v := newVerifier(t, is)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Truncate(time.Second)

	p, err := v.Verify(ctx, sign(t, key, claims(is, exp, nil)))
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

	rogue := newRSAKey(t, "rogue")
	tests := []struct {
		name  string
		token string
		want  string // in the error, after "the credential is not valid"
	}{
		{"expired", sign(t, key, claims(is, time.Now().Add(-time.Minute), nil)), "token is expired"},
		{"wrong audience", sign(t, key, claims(is, exp, map[string]any{"aud": "someone-else"})), "expected audience"},
		{"wrong issuer", sign(t, key, claims(is, exp, map[string]any{"iss": "https://login.example.com"})), "issued by a different provider"},
		{"unknown key", sign(t, rogue, claims(is, exp, nil)), "failed to verify"},
		{"not a JWT", "kd_not_a_jwt", "malformed"},
		{"no tenant", sign(t, key, claims(is, exp, map[string]any{"kubedesk_tenant": nil})), "claim kubedesk_tenant (the tenant) is missing"},
		{"tenant not a DNS label", sign(t, key, claims(is, exp, map[string]any{"kubedesk_tenant": "Acme Corp"})), "is not valid"},
		{"no roles", sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": nil})), "names none of the roles"},
		{"unknown roles only", sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": []string{"pilot", "service"}})), "names none of the roles"},
		{"customer role", sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": "customer"})), "names none of the roles"},
		{"roles a number", sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": 3})), "is not a list"},
		{"no subject", sign(t, key, claims(is, exp, map[string]any{"sub": nil})), "no sub claim"},
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
	key := newECKey(t, "ec1")
	is := startIssuer(t, key)
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
			p, err := v.Verify(context.Background(), sign(t, key, claims(is, exp, map[string]any{"kubedesk_roles": tt.roles, "groups": tt.groups})))
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
	key := newRSAKey(t, "k1")
	is := startIssuer(t, key)
	v, err := oidc.New(context.Background(), oidc.Config{IssuerURL: is.URL, Audience: audience,
		TenantClaim: "org", RolesClaim: "roles", GroupsClaim: "teams"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), sign(t, key, claims(is, time.Now().Add(time.Hour), map[string]any{
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
	old, next := newRSAKey(t, "2026-11"), newECKey(t, "2026-12")
	is := startIssuer(t, old)
	v := newVerifier(t, is)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)

	if _, err := v.Verify(ctx, sign(t, old, claims(is, exp, nil))); err != nil {
		t.Fatalf("old key before the rotation: %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, next, claims(is, exp, nil))); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("new key before it is published: %v; want ErrUnauthenticated", err)
	}

	// The refused token made go-oidc fetch the key set; a call just after
	// may share that fetch's (older) answer, so the first tokens of a new
	// key can be refused for as long as one fetch takes. A client's retry
	// then succeeds, as here.
	is.publish(next)
	token := sign(t, next, claims(is, exp, nil))
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
	fetches := is.fetches.Load()
	for range 3 {
		if _, err := v.Verify(ctx, sign(t, next, claims(is, exp, nil))); err != nil {
			t.Fatalf("new key after the rotation: %v", err)
		}
	}
	if n := is.fetches.Load() - fetches; n != 0 {
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
