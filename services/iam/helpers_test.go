package iam_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// clock is the servers' injected time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer collects the servers' logs, to look for secrets in them.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// env is one identity store with a server over it and a fake clock.
type env struct {
	t     *testing.T
	st    iam.Store
	cfg   iam.Config
	clock *clock
	logs  *syncBuffer
	srv   *iam.Server
}

func testConfig() iam.Config {
	cfg := iam.DefaultConfig()
	cfg.Argon2 = iam.CheapArgon2
	cfg.SignIn = iam.SignInConfig{MaxFailures: 5, Window: config.Duration(15 * time.Minute)}
	return cfg
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvConfig(t, testConfig())
}

func newEnvConfig(t *testing.T, cfg iam.Config) *env {
	t.Helper()
	st := openStore(t)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	e := &env{t: t, st: st, cfg: cfg, logs: &syncBuffer{},
		clock: &clock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}}
	e.srv = e.replica()
	return e
}

// replica is another Server over the same store (another process).
func (e *env) replica() *iam.Server {
	return iam.NewServer(e.st, e.cfg, iam.Options{
		Log: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: e.clock.Now,
	})
}

// headers records what a handler sends with grpc.SetHeader.
type headers struct {
	mu sync.Mutex
	md metadata.MD
}

func (h *headers) Method() string { return "/test" }
func (h *headers) SetHeader(md metadata.MD) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.md = metadata.Join(h.md, md)
	return nil
}
func (h *headers) SendHeader(md metadata.MD) error { return h.SetHeader(md) }
func (h *headers) SetTrailer(metadata.MD) error    { return nil }

func (h *headers) get(key string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v := h.md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// call is a context as the access interceptor leaves it: the tenant, the
// principal (nil: anonymous), incoming metadata in pairs, and a header
// recorder.
func call(tid string, p *iamv1.Principal, kv ...string) (context.Context, *headers) {
	h := &headers{}
	ctx := grpc.NewContextWithServerTransportStream(context.Background(), h)
	ctx = tenant.With(ctx, tid)
	if p != nil {
		ctx = auth.With(ctx, p)
	}
	if len(kv) > 0 {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(kv...))
	}
	return ctx, h
}

// admin is an admin key's principal in tenant tid.
func admin(tid string) *iamv1.Principal {
	return &iamv1.Principal{Id: "key-admin-" + tid, Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY, Tenant: tid,
		Roles: []iamv1.Role{iamv1.Role_ROLE_ADMIN}, DisplayName: "test admin key"}
}

// createUser makes an active user with a password.
func (e *env) createUser(tid, email, password string, roles ...iamv1.Role) *iamv1.User {
	e.t.Helper()
	ctx, _ := call(tid, admin(tid))
	resp, err := e.srv.CreateUser(ctx, &iamv1.CreateUserRequest{User: &iamv1.User{
		Email: email, DisplayName: email, Password: proto.String(password), Roles: roles,
	}})
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return resp.GetUser()
}

// signIn signs a user in on srv and returns the session token from the
// header metadata, with the principal it authenticates to.
func (e *env) signIn(srv *iam.Server, tid, email, password string) (string, *iamv1.Principal) {
	e.t.Helper()
	ctx, h := call(tid, nil, "x-forwarded-for", "203.0.113.7, 10.0.0.1", "grpcgateway-user-agent", "test-browser/1.0")
	if _, err := srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: email, Password: password}); err != nil {
		e.t.Fatalf("CreateSession(%s): %v", email, err)
	}
	tok := h.get(auth.SessionTokenKey)
	if tok == "" {
		e.t.Fatal("CreateSession sent no session token header")
	}
	p, err := srv.Authenticator().Authenticate(context.Background(), session(tok))
	if err != nil {
		e.t.Fatalf("Authenticate(new session): %v", err)
	}
	return tok, p
}

func session(tok string) auth.Credential {
	return auth.Credential{Kind: iamv1.CredentialKind_CREDENTIAL_KIND_SESSION, Secret: tok}
}

func bearer(secret string) auth.Credential {
	return auth.Credential{Kind: iamv1.CredentialKind_CREDENTIAL_KIND_BEARER, Secret: secret}
}

// auditEvents lists every audit event of the tenant, newest first, of
// the types given, through the RPC's pages.
func (e *env) auditEvents(tid string, types ...iamv1.AuditEventType) []*iamv1.AuditEvent {
	e.t.Helper()
	var out []*iamv1.AuditEvent
	token := ""
	for {
		ctx, _ := call(tid, admin(tid))
		resp, err := e.srv.ListAuditEvents(ctx, &iamv1.ListAuditEventsRequest{PageSize: 7, PageToken: token, Types: types})
		if err != nil {
			e.t.Fatalf("ListAuditEvents: %v", err)
		}
		out = append(out, resp.GetAuditEvents()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

const (
	acme   = "acme"
	globex = "globex"
	pw     = "correct horse battery staple"
)

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func digestOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
