package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func TestNewServiceToken(t *testing.T) {
	a, b := auth.NewServiceToken(), auth.NewServiceToken()
	if a == b {
		t.Fatal("two service tokens are equal")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(a, "kds_"))
	if !strings.HasPrefix(a, "kds_") || err != nil || len(raw) != 32 {
		t.Errorf("service token %q: want kds_ and 256 bits in base64url (%v)", a, err)
	}
}

func TestWithServiceToken(t *testing.T) {
	ctx := context.Background()
	token := auth.NewServiceToken()
	keys := newKeyring(testPrincipals())
	a := auth.WithServiceToken(token, keys)

	p, err := a.Authenticate(ctx, bearer(token))
	if err != nil || p.GetId() != "service:kubedesk" || p.GetKind() != iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE ||
		!auth.HasRole(p, iamv1.Role_ROLE_SERVICE) || !auth.MayActFor(p, "any-tenant") || p.GetDisplayName() != "kubedesk" {
		t.Errorf("service token: %v, %v; want the service principal", p, err)
	}
	if p, err := a.Authenticate(ctx, bearer(agentKey)); err != nil || p.GetId() != "apikey:agent" {
		t.Errorf("another key: %v, %v; want it resolved by next", p, err)
	}
	for _, c := range []auth.Credential{session(token), bearer(token + "x"), bearer(token[:len(token)-1]), bearer("")} {
		if _, err := a.Authenticate(ctx, c); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%v: %v; want ErrUnauthenticated", c.Kind, err)
		}
	}
	alone := auth.WithServiceToken(token, nil)
	if _, err := alone.Authenticate(ctx, bearer(agentKey)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("no next: %v; want ErrUnauthenticated", err)
	}
	alone.Audit(ctx, &iamv1.AuditEvent{}) // dropped, not a panic
	if _, err := auth.WithServiceToken("", nil).Authenticate(ctx, bearer("")); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("empty token configured: %v; want ErrUnauthenticated", err)
	}
}

// TestServiceCredentials calls a server as kubedesk's own modules do.
func TestServiceCredentials(t *testing.T) {
	token := auth.NewServiceToken()
	i := auth.NewInterceptor(auth.InterceptorOptions{Authenticator: auth.WithServiceToken(token, nil)})
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(grpc.UnaryInterceptor(i.Unary()))
	ticketv1.RegisterTicketServiceServer(s, echo{})
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(auth.ServiceCredentials(token)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := ticketv1.NewTicketServiceClient(conn).GetTicket(tenant.Outgoing(ctx, "acme"), &ticketv1.GetTicketRequest{Id: "t1"})
	if err != nil || r.GetTicket().GetId() != "acme/service:kubedesk" {
		t.Errorf("GetTicket with service credentials: %v, %v", r, err)
	}
}
