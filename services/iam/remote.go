package iam

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// remoteAuditTimeout bounds a fire-and-forget RecordAuditEvent call.
const remoteAuditTimeout = 3 * time.Second

// NewRemote returns an Authenticator that asks the identity module of
// another process over AuthService. conn must carry kubedesk's service
// credentials. It keeps no cache: wrap it in one (CacheTTL) where calls
// are frequent.
func NewRemote(conn grpc.ClientConnInterface) auth.Authenticator {
	return remote{c: iamv1.NewAuthServiceClient(conn), log: slog.Default()}
}

type remote struct {
	c   iamv1.AuthServiceClient
	log *slog.Logger
}

// Authenticate implements auth.Authenticator.
func (r remote) Authenticate(ctx context.Context, c auth.Credential) (*iamv1.Principal, error) {
	resp, err := r.c.Authenticate(outgoingTenant(ctx), &iamv1.AuthenticateRequest{Kind: c.Kind, Credential: c.Secret})
	switch {
	case status.Code(err) == codes.Unauthenticated:
		return nil, auth.ErrUnauthenticated
	case err != nil:
		// The status message is the server's, never the credential.
		return nil, fmt.Errorf("identity service: %w", err)
	}
	return resp.GetPrincipal(), nil
}

// Audit implements auth.Authenticator: it sends the event and returns at
// once; a failure is logged.
func (r remote) Audit(ctx context.Context, e *iamv1.AuditEvent) {
	ctx = context.WithoutCancel(ctx)
	if e.GetTenant() != "" {
		ctx = tenant.Outgoing(ctx, e.GetTenant())
	}
	go func() {
		ctx, cancel := context.WithTimeout(ctx, remoteAuditTimeout)
		defer cancel()
		if _, err := r.c.RecordAuditEvent(ctx, &iamv1.RecordAuditEventRequest{Event: e}); err != nil {
			r.log.WarnContext(ctx, "audit event lost", "err", err, "type", e.GetType().String(), "tenant", e.GetTenant(), "subject", e.GetSubject())
		}
	}()
}

// remoteTenant is named on an Authenticate call made outside any tenant's
// request. The answer does not depend on it (the credential decides the
// tenant), but the access interceptor wants every authenticated call to
// name one; the service credentials may act for all.
const remoteTenant = "default"

// outgoingTenant names, on ctx's outgoing calls, the tenant the incoming
// call named, else remoteTenant, unless one is named already.
func outgoingTenant(ctx context.Context) context.Context {
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(tenant.MetadataKey)) > 0 {
		return ctx
	}
	id := auth.IncomingValue(ctx, tenant.MetadataKey)
	if tenant.Validate(id) != nil {
		id = remoteTenant
	}
	return tenant.Outgoing(ctx, id)
}
