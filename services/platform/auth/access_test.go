package auth_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	slav1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/sla/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// TestKubedeskServicesDeclareAccess registers every kubedesk service, as
// the binary does, and requires an access rule on each of their methods.
func TestKubedeskServicesDeclareAccess(t *testing.T) {
	s := grpc.NewServer()
	ticketv1.RegisterTicketServiceServer(s, ticketv1.UnimplementedTicketServiceServer{})
	ticketv1.RegisterTicketSLAServiceServer(s, ticketv1.UnimplementedTicketSLAServiceServer{})
	ticketv1.RegisterTicketBlobServiceServer(s, ticketv1.UnimplementedTicketBlobServiceServer{})
	ticketv1.RegisterTicketRoutingServiceServer(s, ticketv1.UnimplementedTicketRoutingServiceServer{})
	slav1.RegisterSLAPolicyServiceServer(s, slav1.UnimplementedSLAPolicyServiceServer{})
	iamv1.RegisterIdentityServiceServer(s, iamv1.UnimplementedIdentityServiceServer{})
	iamv1.RegisterAuthServiceServer(s, iamv1.UnimplementedAuthServiceServer{})
	channelv1.RegisterContactServiceServer(s, channelv1.UnimplementedContactServiceServer{})
	channelv1.RegisterOrganizationServiceServer(s, channelv1.UnimplementedOrganizationServiceServer{})
	channelv1.RegisterWebhookServiceServer(s, channelv1.UnimplementedWebhookServiceServer{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	if err := auth.CheckDeclared(s); err != nil {
		t.Error(err)
	}
}

// undeclared is a service whose methods are in no .proto file, so they
// declare no access rule.
var undeclared = grpc.ServiceDesc{
	ServiceName: "kubedesk.example.v1.UndeclaredService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Peek",
		Handler: func(_ any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
			req := new(emptypb.Empty)
			if err := dec(req); err != nil {
				return nil, err
			}
			info := &grpc.UnaryServerInfo{FullMethod: "/kubedesk.example.v1.UndeclaredService/Peek"}
			handler := func(context.Context, any) (any, error) { return new(emptypb.Empty), nil }
			if in == nil {
				return handler(ctx, req)
			}
			return in(ctx, req, info, handler)
		},
	}},
}

func TestCheckDeclaredNamesUndeclared(t *testing.T) {
	s := grpc.NewServer()
	ticketv1.RegisterTicketServiceServer(s, ticketv1.UnimplementedTicketServiceServer{})
	s.RegisterService(&undeclared, struct{}{})
	err := auth.CheckDeclared(s)
	if err == nil || !strings.Contains(err.Error(), "kubedesk.example.v1.UndeclaredService.Peek declares no access rule") ||
		strings.Contains(err.Error(), "TicketService") {
		t.Errorf("CheckDeclared: %v; want UndeclaredService.Peek named, and only it", err)
	}
}

func TestUndeclaredMethodIsRefused(t *testing.T) {
	keys := newKeyring(testPrincipals())
	i := auth.NewInterceptor(auth.InterceptorOptions{Authenticator: keys})
	s := grpc.NewServer(grpc.UnaryInterceptor(i.Unary()))
	s.RegisterService(&undeclared, struct{}{})
	conn := serveOn(t, s)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+adminKey)
	err := conn.Invoke(ctx, "/kubedesk.example.v1.UndeclaredService/Peek", new(emptypb.Empty), new(emptypb.Empty))
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), "declares no access rule") {
		t.Errorf("undeclared method: %v; want PERMISSION_DENIED, declares no access rule", err)
	}
}

// TestEveryKubedeskMethodDeclaresAccess checks the .proto files compiled
// in, including services no server registers yet.
func TestEveryKubedeskMethodDeclaresAccess(t *testing.T) {
	n := 0
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(f.Path(), "kubedesk/") {
			return true
		}
		for i := range f.Services().Len() {
			methods := f.Services().Get(i).Methods()
			for j := range methods.Len() {
				m := methods.Get(j)
				n++
				a, _ := proto.GetExtension(m.Options(), iamv1.E_Access).(*iamv1.Access)
				switch {
				case !proto.HasExtension(m.Options(), iamv1.E_Access):
					t.Errorf("%s (%s) declares no option (kubedesk.iam.v1.access)", m.FullName(), f.Path())
				case a.GetPublic() && len(a.GetRoles()) > 0:
					t.Errorf("%s is public and lists roles; a public method takes none", m.FullName())
				case !a.GetPublic() && len(a.GetRoles()) == 0:
					t.Errorf("%s lists no roles and is not public: no one may call it", m.FullName())
				}
			}
		}
		return true
	})
	if n < 20 {
		t.Errorf("found %d kubedesk methods; want the ticket, SLA and IAM APIs", n)
	}
}
