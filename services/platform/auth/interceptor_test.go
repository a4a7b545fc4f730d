package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// keyring is a small Authenticator: credentials it knows, by kind and
// secret, and the audit events it was given.
type keyring struct {
	principals map[auth.Credential]*iamv1.Principal

	mu      sync.Mutex
	events  []*iamv1.AuditEvent
	audited chan struct{}
	calls   int
}

func newKeyring(principals map[auth.Credential]*iamv1.Principal) *keyring {
	return &keyring{principals: principals, audited: make(chan struct{}, 100)}
}

func (k *keyring) Authenticate(_ context.Context, c auth.Credential) (*iamv1.Principal, error) {
	k.mu.Lock()
	k.calls++
	k.mu.Unlock()
	if p, ok := k.principals[c]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("no %s credential of that digest: %w", c.Kind, auth.ErrUnauthenticated)
}

func (k *keyring) Audit(_ context.Context, e *iamv1.AuditEvent) {
	k.mu.Lock()
	k.events = append(k.events, e)
	k.mu.Unlock()
	k.audited <- struct{}{}
}

func bearer(secret string) auth.Credential {
	return auth.Credential{Kind: iamv1.CredentialKind_CREDENTIAL_KIND_BEARER, Secret: secret}
}

func session(secret string) auth.Credential {
	return auth.Credential{Kind: iamv1.CredentialKind_CREDENTIAL_KIND_SESSION, Secret: secret}
}

const (
	agentKey    = "kd_agent_of_acme_secret"
	adminKey    = "kd_platform_admin_secret"
	noTenantKey = "kd_key_without_tenant"
	sessionTok  = "session_token_of_ana"
	serviceTok  = "kds_service_token_secret"
	expiredKey  = "kd_expired_key_secret"
)

func testPrincipals() map[auth.Credential]*iamv1.Principal {
	role := func(r ...iamv1.Role) []iamv1.Role { return r }
	return map[auth.Credential]*iamv1.Principal{
		bearer(agentKey): {Id: "apikey:agent", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY, Tenant: "acme",
			Roles: role(iamv1.Role_ROLE_AGENT)},
		bearer(adminKey): {Id: "apikey:platform", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY, Tenant: "ops",
			Tenants: []string{"acme"}, Roles: role(iamv1.Role_ROLE_ADMIN)},
		bearer(noTenantKey): {Id: "apikey:orphan", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY, Tenants: []string{"acme"},
			Roles: role(iamv1.Role_ROLE_ADMIN)},
		bearer(expiredKey): {Id: "apikey:old", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY, Tenant: "acme",
			Roles: role(iamv1.Role_ROLE_AGENT), ExpireTime: timestamp(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))},
		session(sessionTok): {Id: "user:ana", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, Tenant: "acme",
			Roles: role(iamv1.Role_ROLE_SUPERVISOR), UserId: "ana", SessionId: "s1"},
	}
}

// echo answers with the tenant and principal its context carries.
type echo struct {
	iamv1.UnimplementedIdentityServiceServer
	ticketv1.UnimplementedTicketServiceServer
	ticketv1.UnimplementedTicketSLAServiceServer
}

func (echo) GetMe(ctx context.Context, _ *iamv1.GetMeRequest) (*iamv1.GetMeResponse, error) {
	p := auth.From(ctx)
	return &iamv1.GetMeResponse{Principal: &iamv1.Principal{Id: p.GetId(), Tenant: tenant.From(ctx)}}, nil
}

func (echo) CreateSession(ctx context.Context, _ *iamv1.CreateSessionRequest) (*iamv1.CreateSessionResponse, error) {
	if auth.From(ctx) != nil {
		return nil, status.Error(codes.Internal, "a public call carries a principal")
	}
	return &iamv1.CreateSessionResponse{Session: &iamv1.Session{Id: tenant.From(ctx)}}, nil
}

func (echo) GetTicket(ctx context.Context, _ *ticketv1.GetTicketRequest) (*ticketv1.GetTicketResponse, error) {
	return &ticketv1.GetTicketResponse{Ticket: &ticketv1.Ticket{Id: tenant.From(ctx) + "/" + auth.From(ctx).GetId()}}, nil
}

func (echo) SetTicketSLA(ctx context.Context, _ *ticketv1.SetTicketSLARequest) (*ticketv1.SetTicketSLAResponse, error) {
	return &ticketv1.SetTicketSLAResponse{}, nil
}

func (echo) WatchEvents(_ *ticketv1.WatchEventsRequest, ss grpc.ServerStreamingServer[ticketv1.WatchEventsResponse]) error {
	ctx := ss.Context()
	return ss.SendHeader(metadata.Pairs("tenant", tenant.From(ctx), "principal", auth.From(ctx).GetId()))
}

// serve starts a gRPC server with the interceptor and the echo services,
// and returns a connection to it.
func serve(t testing.TB, i *auth.Interceptor) *grpc.ClientConn {
	t.Helper()
	s := grpc.NewServer(grpc.ChainUnaryInterceptor(i.Unary()), grpc.ChainStreamInterceptor(i.Stream()))
	iamv1.RegisterIdentityServiceServer(s, echo{})
	ticketv1.RegisterTicketServiceServer(s, echo{})
	ticketv1.RegisterTicketSLAServiceServer(s, echo{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	return serveOn(t, s)
}

// serveOn serves s on an in-memory listener and returns a connection to it.
func serveOn(t testing.TB, s *grpc.Server) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func outgoing(kv ...string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_ = cancel // the test's calls end well before; the timeout only bounds a hang
	return metadata.NewOutgoingContext(ctx, metadata.Pairs(kv...))
}

func TestInterceptor(t *testing.T) {
	keys := newKeyring(testPrincipals())
	i := auth.NewInterceptor(auth.InterceptorOptions{
		Authenticator: auth.WithServiceToken(serviceTok, keys),
		DefaultTenant: "default",
		PerCredential: auth.Rate{PerSecond: 1000, Burst: 1000},
	})
	conn := serve(t, i)
	identity := iamv1.NewIdentityServiceClient(conn)
	tickets := ticketv1.NewTicketServiceClient(conn)
	sla := ticketv1.NewTicketSLAServiceClient(conn)

	getMe := func(ctx context.Context) (string, error) {
		r, err := identity.GetMe(ctx, &iamv1.GetMeRequest{})
		return r.GetPrincipal().GetTenant() + "/" + r.GetPrincipal().GetId(), err
	}
	getTicket := func(ctx context.Context) (string, error) {
		r, err := tickets.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: "t1"})
		return r.GetTicket().GetId(), err
	}
	setSLA := func(ctx context.Context) (string, error) {
		_, err := sla.SetTicketSLA(ctx, &ticketv1.SetTicketSLARequest{TicketId: "t1"})
		return "", err
	}
	createSession := func(ctx context.Context) (string, error) {
		r, err := identity.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "a@example.com", Password: "pw"})
		return r.GetSession().GetId(), err
	}
	watch := func(ctx context.Context) (string, error) {
		s, err := tickets.WatchEvents(ctx, &ticketv1.WatchEventsRequest{})
		if err != nil {
			return "", err
		}
		md, err := s.Header()
		if err != nil {
			return "", err
		}
		if _, err := s.Recv(); err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.Join(md.Get("tenant"), "") + "/" + strings.Join(md.Get("principal"), ""), nil
	}
	health := func(ctx context.Context) (string, error) {
		r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return r.GetStatus().String(), err
	}

	invalid := "the credential is not valid: unknown, revoked or expired"
	tests := []struct {
		name   string
		call   func(context.Context) (string, error)
		md     []string
		want   string     // the answer, when the call succeeds
		code   codes.Code // else the error
		msg    string     // a substring of the error's message
		secret string     // must not appear in the error
	}{
		{name: "no credential", call: getMe, code: codes.Unauthenticated,
			msg: "no credential: send Authorization: Bearer <API key or token>, or sign in (POST /v1/sessions)"},
		{name: "basic auth", call: getMe, md: []string{"authorization", "Basic " + agentKey}, code: codes.Unauthenticated,
			msg: `"Bearer <API key or token>"`, secret: agentKey},
		{name: "bearer without a token", call: getMe, md: []string{"authorization", "Bearer  "}, code: codes.Unauthenticated,
			msg: `"Bearer <API key or token>"`},
		{name: "unknown key", call: getMe, md: []string{"authorization", "Bearer kd_unknown_secret"}, code: codes.Unauthenticated,
			msg: invalid, secret: "kd_unknown_secret"},
		{name: "unknown session", call: getMe, md: []string{"kubedesk-session", "stolen_session"}, code: codes.Unauthenticated,
			msg: invalid, secret: "stolen_session"},
		{name: "expired key", call: getMe, md: []string{"authorization", "Bearer " + expiredKey}, code: codes.Unauthenticated,
			msg: invalid, secret: expiredKey},
		{name: "API key", call: getMe, md: []string{"authorization", "Bearer " + agentKey}, want: "acme/apikey:agent"},
		{name: "scheme in lower case", call: getMe, md: []string{"authorization", "bearer " + agentKey}, want: "acme/apikey:agent"},
		{name: "session", call: getMe, md: []string{"kubedesk-session", sessionTok}, want: "acme/user:ana"},
		{name: "bearer before session", call: getMe, md: []string{"kubedesk-session", sessionTok, "authorization", "Bearer " + agentKey},
			want: "acme/apikey:agent"},
		{name: "own tenant named", call: getMe, md: []string{"authorization", "Bearer " + agentKey, "x-kubedesk-tenant", "acme"},
			want: "acme/apikey:agent"},
		{name: "foreign tenant named", call: getMe, md: []string{"authorization", "Bearer " + agentKey, "x-kubedesk-tenant", "beta"},
			code: codes.PermissionDenied, secret: agentKey,
			msg: `X-Kubedesk-Tenant: the credential belongs to tenant "acme" and may not act for tenant "beta"`},
		{name: "invalid tenant named", call: getMe, md: []string{"authorization", "Bearer " + agentKey, "x-kubedesk-tenant", "Beta!"},
			code: codes.InvalidArgument, msg: "not valid"},
		{name: "platform admin in its own tenant", call: getMe, md: []string{"authorization", "Bearer " + adminKey},
			want: "ops/apikey:platform"},
		{name: "platform admin for a listed tenant", call: getMe, md: []string{"authorization", "Bearer " + adminKey, "x-kubedesk-tenant", "acme"},
			want: "acme/apikey:platform"},
		{name: "platform admin for another tenant", call: getMe, md: []string{"authorization", "Bearer " + adminKey, "x-kubedesk-tenant", "beta"},
			code: codes.PermissionDenied, msg: `belongs to tenant "ops" and may not act for tenant "beta"`},
		{name: "no tenant of its own, none named", call: getMe, md: []string{"authorization", "Bearer " + noTenantKey},
			code: codes.InvalidArgument, msg: "the credential belongs to no tenant"},
		{name: "no tenant of its own, one named", call: getMe, md: []string{"authorization", "Bearer " + noTenantKey, "x-kubedesk-tenant", "acme"},
			want: "acme/apikey:orphan"},
		{name: "wrong role", call: setSLA, md: []string{"authorization", "Bearer " + agentKey}, code: codes.PermissionDenied,
			msg: "kubedesk.ticket.v1.TicketSLAService/SetTicketSLA is allowed for the roles service; the credential has agent"},
		{name: "public method without credential", call: createSession, want: "default"},
		{name: "public method names its tenant", call: createSession, md: []string{"x-kubedesk-tenant", "beta"}, want: "beta"},
		{name: "public method, invalid tenant", call: createSession, md: []string{"x-kubedesk-tenant", "-"}, code: codes.InvalidArgument},
		{name: "service principal needs a tenant", call: setSLA, md: []string{"authorization", "Bearer " + serviceTok},
			code: codes.InvalidArgument, msg: "belongs to no tenant"},
		{name: "service principal for any tenant", call: getTicket, md: []string{"authorization", "Bearer " + serviceTok, "x-kubedesk-tenant", "zeta"},
			want: "zeta/service:kubedesk"},
		{name: "service principal, service RPC", call: setSLA, md: []string{"authorization", "Bearer " + serviceTok, "x-kubedesk-tenant", "acme"}},
		{name: "service token as a session", call: getTicket, md: []string{"kubedesk-session", serviceTok, "x-kubedesk-tenant", "acme"},
			code: codes.Unauthenticated, msg: invalid, secret: serviceTok},
		{name: "stream", call: watch, md: []string{"kubedesk-session", sessionTok}, want: "acme/user:ana"},
		{name: "stream, no credential", call: watch, code: codes.Unauthenticated, msg: "no credential"},
		{name: "stream, foreign tenant", call: watch, md: []string{"kubedesk-session", sessionTok, "x-kubedesk-tenant", "beta"},
			code: codes.PermissionDenied},
		{name: "stream, wrong role", call: watch, md: []string{"authorization", "Bearer " + agentKey}, code: codes.PermissionDenied,
			msg: "allowed for the roles admin, supervisor, integration, service; the credential has agent"},
		{name: "health needs nothing", call: health, want: "SERVING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call(outgoing(tt.md...))
			if st := status.Convert(err); st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
				t.Fatalf("got %v, want code %v with message containing %q", err, tt.code, tt.msg)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if tt.secret != "" && err != nil && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the error %q holds the secret", err)
			}
		})
	}

	// The three calls naming a foreign tenant were audited.
	for range 3 {
		select {
		case <-keys.audited:
		case <-time.After(10 * time.Second):
			t.Fatal("no audit event for a cross-tenant call")
		}
	}
	keys.mu.Lock()
	defer keys.mu.Unlock()
	if len(keys.events) != 3 {
		t.Errorf("%d audit events, want 3", len(keys.events))
	}
	var e *iamv1.AuditEvent
	for _, ev := range keys.events {
		if ev.GetActor().GetId() == "apikey:agent" {
			e = ev
		}
	}
	if e.GetType() != iamv1.AuditEventType_AUDIT_EVENT_TYPE_CROSS_TENANT_DENIED || e.GetTenant() != "acme" ||
		e.GetSubject() != "beta" || e.GetActor().GetId() != "apikey:agent" || e.GetCreateTime() == nil {
		t.Errorf("audit event %v; want CROSS_TENANT_DENIED in acme by apikey:agent naming beta", e)
	}
	for _, e := range keys.events {
		if strings.Contains(e.String(), agentKey) || strings.Contains(e.String(), adminKey) {
			t.Errorf("audit event %v holds a secret", e)
		}
	}
}

func TestInterceptorRateLimit(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	i := auth.NewInterceptor(auth.InterceptorOptions{
		Authenticator: auth.WithServiceToken(serviceTok, newKeyring(testPrincipals())),
		PerCredential: auth.Rate{PerSecond: 0.5, Burst: 2},
		Now:           clock,
	})
	conn := serve(t, i)
	identity := iamv1.NewIdentityServiceClient(conn)
	tickets := ticketv1.NewTicketServiceClient(conn)

	agent := outgoing("authorization", "Bearer "+agentKey)
	for n := range 2 {
		if _, err := identity.GetMe(agent, &iamv1.GetMeRequest{}); err != nil {
			t.Fatalf("call %d within the burst: %v", n+1, err)
		}
	}
	var header metadata.MD
	_, err := identity.GetMe(agent, &iamv1.GetMeRequest{}, grpc.Header(&header))
	want := "rate limit exceeded: 0.5 requests per second per credential; retry after 2s"
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != want {
		t.Fatalf("third call: %v; want RESOURCE_EXHAUSTED %q", err, want)
	}
	for k, v := range map[string]string{"retry-after": "2", "ratelimit-limit": "2", "ratelimit-remaining": "0", "ratelimit-reset": "4"} {
		if got := header.Get(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}

	// Streams are limited alike.
	s, err := tickets.WatchEvents(agent, &ticketv1.WatchEventsRequest{})
	if err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("stream: %v; want RESOURCE_EXHAUSTED", err)
	}
	if h, _ := s.Header(); len(h.Get("retry-after")) != 1 {
		t.Errorf("stream headers %v; want retry-after", h)
	}

	// Each credential has its own bucket; the service principal has none.
	if _, err := identity.GetMe(outgoing("kubedesk-session", sessionTok), &iamv1.GetMeRequest{}); err != nil {
		t.Errorf("another credential: %v", err)
	}
	svc := outgoing("authorization", "Bearer "+serviceTok, "x-kubedesk-tenant", "acme")
	for n := range 20 {
		if _, err := tickets.GetTicket(svc, &ticketv1.GetTicketRequest{Id: "t1"}); err != nil {
			t.Fatalf("service call %d: %v", n+1, err)
		}
	}

	// Two seconds on, a token is back.
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if _, err := identity.GetMe(agent, &iamv1.GetMeRequest{}); err != nil {
		t.Errorf("after the refill: %v", err)
	}
}

// unavailable is an Authenticator whose store is down.
type unavailable struct{}

func (unavailable) Authenticate(context.Context, auth.Credential) (*iamv1.Principal, error) {
	return nil, errors.New("dial tcp 10.0.0.1:9090: connection refused")
}
func (unavailable) Audit(context.Context, *iamv1.AuditEvent) {}

func TestInterceptorWithoutAuthenticator(t *testing.T) {
	i := auth.NewInterceptor(auth.InterceptorOptions{DefaultTenant: "default"})
	identity := iamv1.NewIdentityServiceClient(serve(t, i))
	ctx := outgoing("authorization", "Bearer "+agentKey)

	if _, err := identity.GetMe(ctx, &iamv1.GetMeRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("before SetAuthenticator: %v; want UNAVAILABLE", err)
	}
	if _, err := identity.CreateSession(outgoing(), &iamv1.CreateSessionRequest{}); err != nil {
		t.Errorf("a public method before SetAuthenticator: %v", err)
	}

	i.SetAuthenticator(unavailable{})
	_, err := identity.GetMe(ctx, &iamv1.GetMeRequest{})
	if st := status.Convert(err); st.Code() != codes.Unavailable || strings.Contains(st.Message(), "10.0.0.1") {
		t.Errorf("store down: %v; want UNAVAILABLE without the store's error", err)
	}

	i.SetAuthenticator(newKeyring(testPrincipals()))
	if _, err := identity.GetMe(ctx, &iamv1.GetMeRequest{}); err != nil {
		t.Errorf("after SetAuthenticator: %v", err)
	}
}
