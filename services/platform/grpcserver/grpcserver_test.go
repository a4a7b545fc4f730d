package grpcserver

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// TestAccessBeforeValidation: a call without a credential learns nothing
// from validation; one with a credential is validated; health checks need
// none.
func TestAccessBeforeValidation(t *testing.T) {
	token := auth.NewServiceToken()
	s, err := New(slog.New(slog.DiscardHandler), auth.NewInterceptor(auth.InterceptorOptions{
		Authenticator: auth.WithServiceToken(token, nil),
	}))
	if err != nil {
		t.Fatal(err)
	}
	ticketv1.RegisterTicketServiceServer(s, ticketv1.UnimplementedTicketServiceServer{})
	if err := auth.CheckDeclared(s); err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	dial := func(opts ...grpc.DialOption) *grpc.ClientConn {
		opts = append(opts,
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	ctx, cancel := context.WithTimeout(tenant.Outgoing(context.Background(), "acme"), time.Minute)
	defer cancel()

	anonymous, service := dial(), dial(grpc.WithPerRPCCredentials(auth.ServiceCredentials(token)))
	invalid := &ticketv1.UpdateTicketRequest{}
	if _, err := ticketv1.NewTicketServiceClient(anonymous).UpdateTicket(ctx, invalid); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no credential: %v; want UNAUTHENTICATED", err)
	}
	if _, err := ticketv1.NewTicketServiceClient(service).UpdateTicket(ctx, invalid); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a credential, an invalid request: %v; want INVALID_ARGUMENT", err)
	}
	r, err := healthpb.NewHealthClient(anonymous).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health: %v, %v", r, err)
	}
}
