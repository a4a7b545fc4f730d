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

// serve runs srv on a real gRPC listener behind a stand-in for the access
// interceptor: the tenant from x-kubedesk-tenant, and the principal of a
// bearer API key, if any.
func serve(t *testing.T, srv *iam.Server) *grpc.ClientConn {
	t.Helper()
	a := srv.Authenticator()
	g := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		// As the access interceptor, every call names a tenant (public
		// ones may leave it to the default).
		v := metadata.ValueFromIncomingContext(ctx, tenant.MetadataKey)
		if len(v) == 0 && !strings.HasSuffix(info.FullMethod, "/CreateSession") {
			return nil, status.Errorf(codes.InvalidArgument, "%s names no tenant", info.FullMethod)
		}
		if len(v) > 0 {
			ctx = tenant.With(ctx, v[0])
		}
		if v := metadata.ValueFromIncomingContext(ctx, auth.AuthorizationKey); len(v) > 0 {
			p, err := a.Authenticate(ctx, bearer(strings.TrimPrefix(v[0], "Bearer ")))
			if err != nil {
				return nil, status.Error(codes.Unauthenticated, err.Error())
			}
			ctx = auth.With(ctx, p)
		}
		return h(ctx, req)
	}))
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestRemote(t *testing.T) {
	e := newEnv(t)
	conn := serve(t, e.srv)
	key := e.createKey(acme, "ticket relay", iamv1.Role_ROLE_INTEGRATION)
	r := iam.NewRemote(conn)
	ctx := context.Background()

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
	conn := serve(t, e.srv)
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
