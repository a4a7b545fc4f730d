package iam

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// authServer implements the internal iamv1.AuthServiceServer on the
// Server. It is a type of its own because each generated service has its
// own Unimplemented base to embed.
type authServer struct {
	iamv1.UnimplementedAuthServiceServer
	s *Server
}

// Authenticate implements iamv1.AuthServiceServer.
func (x authServer) Authenticate(ctx context.Context, req *iamv1.AuthenticateRequest) (*iamv1.AuthenticateResponse, error) {
	p, err := x.s.authenticate(ctx, auth.Credential{Kind: req.GetKind(), Secret: req.GetCredential()})
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return nil, status.Error(codes.Unauthenticated, auth.ErrUnauthenticated.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, status.FromContextError(err).Err()
	case err != nil:
		x.s.log.ErrorContext(ctx, "authenticating a credential", "err", err)
		return nil, status.Error(codes.Unavailable, "the identity store failed; try again")
	}
	return &iamv1.AuthenticateResponse{Principal: p}, nil
}

// RecordAuditEvent implements iamv1.AuthServiceServer. The event names
// its tenant; a missing one is the call's.
func (x authServer) RecordAuditEvent(ctx context.Context, req *iamv1.RecordAuditEventRequest) (*iamv1.RecordAuditEventResponse, error) {
	e := req.GetEvent()
	if e.GetType() == iamv1.AuditEventType_AUDIT_EVENT_TYPE_UNSPECIFIED {
		return nil, status.Error(codes.InvalidArgument, "event.type: is required; accepted: an AUDIT_EVENT_TYPE_* value")
	}
	x.s.Audit(ctx, e)
	return &iamv1.RecordAuditEventResponse{}, nil
}
