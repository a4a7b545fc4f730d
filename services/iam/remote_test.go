package iam_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// serviceToken is the test's kubedesk service token.
const serviceToken = "kds_test-service-token-0123456789abcdefghijklmnopqrstuvwxyz"

// serve runs e's server on a real gRPC listener behind the access
// interceptor, which knows the service token and asks the server's
// Authenticator about every other credential. It returns a plain
// connection and one that carries the service credentials.
func serve(t *testing.T, e *env) (plain, service *grpc.ClientConn) {
	t.Helper()
	icpt := auth.NewInterceptor(auth.InterceptorOptions{
		Authenticator: auth.WithServiceToken(serviceToken, e.srv.Authenticator()),
		DefaultTenant: acme,
		Now:           e.clock.Now,
	})
	g := grpc.NewServer(grpc.UnaryInterceptor(icpt.Unary()))
	e.srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	dial := func(opts ...grpc.DialOption) *grpc.ClientConn {
		conn, err := grpc.NewClient(lis.Addr().String(), append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	return dial(), dial(grpc.WithPerRPCCredentials(auth.ServiceCredentials(serviceToken)))
}

func TestRemote(t *testing.T) {
	e := newEnv(t)
	plain, conn := serve(t, e)
	key := e.createKey(acme, "ticket relay", iamv1.Role_ROLE_INTEGRATION)
	r := iam.NewRemote(conn)
	ctx := context.Background()

	// AuthService is for kubedesk's own modules only.
	kctx := metadata.AppendToOutgoingContext(tenant.Outgoing(ctx, acme), auth.AuthorizationKey, "Bearer "+key.GetSecret())
	_, err := iam.NewRemote(plain).Authenticate(kctx, bearer(key.GetSecret()))
	if status.Code(errors.Unwrap(err)) != codes.PermissionDenied {
		t.Errorf("AuthService with an integration key: %v, want PERMISSION_DENIED", err)
	}

	p, err := r.Authenticate(ctx, bearer(key.GetSecret()))
	want, _ := e.srv.Authenticator().Authenticate(ctx, bearer(key.GetSecret()))
	if err != nil || !proto.Equal(p, want) {
		t.Fatalf("remote Authenticate = %v, %v; want %v", p, err, want)
	}
	_, err = r.Authenticate(ctx, bearer("kd_"+strings.Repeat("0", 43)))
	if !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("unknown key over gRPC: %v, want ErrUnauthenticated", err)
	}

	at := e.clock.Now().Add(-time.Minute)
	r.Audit(ctx, &iamv1.AuditEvent{Tenant: acme, Type: iamv1.AuditEventType_AUDIT_EVENT_TYPE_CROSS_TENANT_DENIED,
		Actor: &iamv1.Actor{Id: key.GetId(), Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY}, Subject: "globex", Detail: "GetTicket",
		CreateTime: timestamppb.New(at)})
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_CROSS_TENANT_DENIED)
		if len(ev) == 1 {
			if ev[0].GetSubject() != "globex" || ev[0].GetActor().GetId() != key.GetId() || ev[0].GetClientIp() != "127.0.0.1" ||
				!ev[0].GetCreateTime().AsTime().Equal(at) {
				t.Errorf("recorded %v", ev[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the remote audit event did not arrive: %v", ev)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOverGRPC signs in and lists keys through a real listener: the
// session token travels in header metadata.
func TestOverGRPC(t *testing.T) {
	e := newEnv(t)
	e.createUser(acme, "ada@example.com", pw)
	conn, _ := serve(t, e)
	c := iamv1.NewIdentityServiceClient(conn)
	ctx := tenant.Outgoing(context.Background(), acme)

	var hdr metadata.MD
	resp, err := c.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: pw}, grpc.Header(&hdr))
	if err != nil {
		t.Fatal(err)
	}
	tok := hdr.Get(auth.SessionTokenKey)
	if len(tok) != 1 || resp.GetSession().GetCsrfToken() != auth.CSRFToken(tok[0]) {
		t.Fatalf("header %v, csrf %q", hdr, resp.GetSession().GetCsrfToken())
	}
	// The cookie's session: GetMe gives its CSRF token, and signing out
	// tells the gateway to clear the cookie.
	sctx := metadata.AppendToOutgoingContext(ctx, auth.SessionKey, tok[0])
	me, err := c.GetMe(sctx, &iamv1.GetMeRequest{})
	if err != nil || me.GetCsrfToken() != auth.CSRFToken(tok[0]) || me.GetUser().GetEmail() != "ada@example.com" {
		t.Fatalf("GetMe = %v, %v", me, err)
	}
	if _, err := c.DeleteSession(sctx, &iamv1.DeleteSessionRequest{Id: "current"}, grpc.Header(&hdr)); err != nil || len(hdr.Get(auth.SessionEndedKey)) != 1 {
		t.Fatalf("DeleteSession(current) = %v, header %v", err, hdr)
	}
	if _, err := c.GetMe(sctx, &iamv1.GetMeRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("GetMe after signing out: %v, want UNAUTHENTICATED", err)
	}

	for range 6 {
		_, err = c.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: "wrong wrong wrong"}, grpc.Header(&hdr))
	}
	if status.Code(err) != codes.ResourceExhausted || len(hdr.Get("retry-after")) != 1 {
		t.Errorf("6th wrong password: %v, header %v; want RESOURCE_EXHAUSTED with retry-after", err, hdr)
	}

	key := e.createKey(acme, "admin", iamv1.Role_ROLE_ADMIN)
	actx := metadata.AppendToOutgoingContext(ctx, auth.AuthorizationKey, "Bearer "+key.GetSecret())
	list, err := c.ListApiKeys(actx, &iamv1.ListApiKeysRequest{})
	if err != nil || len(list.GetApiKeys()) != 1 || list.GetApiKeys()[0].GetSecret() != "" {
		t.Errorf("ListApiKeys = %v, %v", list, err)
	}
}
