package channel_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket/tickettest"
)

const (
	acme   = "acme"
	globex = "globex"
)

// env is a channel server over a SQLite store, with the real ticket
// service behind a loopback gRPC listener.
type env struct {
	t       *testing.T
	st      store.Store
	srv     *channel.Server
	orgs    channelv1.OrganizationServiceServer
	tickets ticketv1.TicketServiceClient
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "channel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tickets := serveTickets(t)
	srv := channel.NewServer(st, tickets, slog.New(slog.DiscardHandler))
	return &env{t: t, st: st, srv: srv, orgs: channel.OrganizationServer(srv), tickets: tickets}
}

// serveTickets starts the ticket service on SQLite behind a loopback
// listener, with the tenant its calls name trusted, and returns a client.
func serveTickets(t *testing.T) ticketv1.TicketServiceClient {
	t.Helper()
	return ticketv1.NewTicketServiceClient(tickettest.Start(t))
}

// serve runs gs on a loopback listener until the test ends and returns a
// connection to it.
func serve(t *testing.T, gs *grpc.Server) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// call is a context as the access interceptor leaves it: the tenant and
// an agent principal of it, with incoming metadata in pairs.
func call(tid string, kv ...string) context.Context {
	ctx := tenant.With(context.Background(), tid)
	ctx = auth.With(ctx, &iamv1.Principal{Id: "user-ana", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, Tenant: tid,
		Roles: []iamv1.Role{iamv1.Role_ROLE_AGENT}, DisplayName: "Ana"})
	if len(kv) > 0 {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(kv...))
	}
	return ctx
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func emailID(v string) *channelv1.Identity {
	return &channelv1.Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_EMAIL, Value: v}
}

func (e *env) createContact(tid string, c *channelv1.Contact) *channelv1.Contact {
	e.t.Helper()
	resp, err := e.srv.CreateContact(call(tid), &channelv1.CreateContactRequest{Contact: c})
	if err != nil {
		e.t.Fatalf("CreateContact(%s): %v", c.GetDisplayName(), err)
	}
	return resp.GetContact()
}

func (e *env) createOrg(tid string, o *channelv1.Organization) *channelv1.Organization {
	e.t.Helper()
	resp, err := e.orgs.CreateOrganization(call(tid), &channelv1.CreateOrganizationRequest{Organization: o})
	if err != nil {
		e.t.Fatalf("CreateOrganization(%s): %v", o.GetName(), err)
	}
	return resp.GetOrganization()
}

// wantStatus fails t unless err has code and message.
func wantStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st := status.Convert(err)
	if err == nil || st.Code() != code || st.Message() != msg {
		t.Errorf("error = %v\nwant %s: %s", err, code, msg)
	}
}
