package channel

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Server implements kubedesk.channel.v1's ContactService and, through
// Register, its OrganizationService, over a store.Store.
type Server struct {
	channelv1.UnimplementedContactServiceServer

	store   store.Store
	tickets ticketv1.TicketServiceClient
	log     *slog.Logger

	// Customers' sign-in (signin.go): see WithIdentity, WithCodeMail.
	identity              iamv1.AuthServiceClient
	mailer                CodeMailer
	perAddress, perClient *auth.Limiter
	codes                 chan codeJob
}

// NewServer returns the channel service's contact server. tickets is the
// ticket service's client (merges move tickets, summaries read them); log
// receives store failures (nil discards).
func NewServer(st store.Store, tickets ticketv1.TicketServiceClient, log *slog.Logger, opts ...Option) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: st, tickets: tickets, log: log, codes: make(chan codeJob, codeQueue)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register adds ContactService, OrganizationService and the internal
// ContactResolverService to a gRPC server.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	channelv1.RegisterContactServiceServer(g, s)
	channelv1.RegisterOrganizationServiceServer(g, orgServer{s: s})
	channelv1.RegisterContactResolverServiceServer(g, resolverServer{s: s})
}

// orgServer implements OrganizationService; a type of its own because
// each generated service has its own Unimplemented base to embed.
type orgServer struct {
	channelv1.UnimplementedOrganizationServiceServer
	s *Server
}

// Resolve returns the unmerged contact of the call's tenant (tenant.From)
// holding id, creating it (named name) if none does; created reports
// which. The mail channel resolves each sender with it. A bad identity is
// INVALID_ARGUMENT saying what is accepted.
func (s *Server) Resolve(ctx context.Context, id store.Identity, name string) (store.Contact, bool, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return store.Contact{}, false, err
	}
	n, err := store.NormalizeIdentity(id)
	if err != nil {
		return store.Contact{}, false, status.Errorf(codes.InvalidArgument, "identity: %v", err)
	}
	c, created, err := s.store.ResolveIdentity(ctx, tid, n, truncate(name, 200))
	if err != nil {
		return store.Contact{}, false, s.storeError(ctx, err, "contact of "+n.String())
	}
	return c, created, nil
}

// callTenant is the tenant the call acts in; a call without one is a
// wiring error (the access interceptor always sets it).
func callTenant(ctx context.Context) (string, error) {
	if t := tenant.From(ctx); t != "" {
		return t, nil
	}
	if t := auth.From(ctx).GetTenant(); t != "" {
		return t, nil
	}
	return "", status.Errorf(codes.InvalidArgument, "%s: no tenant named; send the %s header", tenant.HeaderName, tenant.HeaderName)
}

// actorOf is the caller as the audit log records it.
func actorOf(ctx context.Context) store.Actor {
	p := auth.From(ctx)
	if p == nil {
		return store.Actor{}
	}
	return store.Actor{ID: p.GetId(), Kind: p.GetKind(), DisplayName: p.GetDisplayName()}
}

// storeError turns a store error into the status a caller sees; what
// names the record ("contact \"c1\"").
func (s *Server) storeError(ctx context.Context, err error, what string) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	var merged *store.MergedError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return status.Errorf(codes.NotFound, "%s not found", what)
	case errors.As(err, &merged):
		return status.Error(codes.FailedPrecondition, merged.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	s.log.ErrorContext(ctx, "channel store failed", "err", err)
	return status.Error(codes.Internal, "the contact store failed; the request was not applied")
}

// outgoing is ctx naming the call's tenant to the ticket service.
func outgoing(ctx context.Context, tid string) context.Context { return tenant.Outgoing(ctx, tid) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
