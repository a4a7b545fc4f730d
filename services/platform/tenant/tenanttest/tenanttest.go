// Package tenanttest serves a single service in a test with the tenant
// its calls name in their metadata, trusted, and no credentials: what the
// access interceptor (services/platform/auth) gives a handler, without
// the identity module behind it.
package tenanttest

import (
	"context"

	"google.golang.org/grpc"

	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// ServerOptions are a test server's interceptors: each call's context
// carries the tenant (tenant.With) its metadata names; health and
// reflection need none.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(Unary()), grpc.ChainStreamInterceptor(Stream())}
}

// Unary puts the named tenant into the context of unary calls.
func Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if auth.Infrastructure(info.FullMethod) {
			return handler(ctx, req)
		}
		id, err := tenant.Named(ctx, "")
		if err != nil {
			return nil, err
		}
		return handler(tenant.With(ctx, id), req)
	}
}

// Stream puts the named tenant into the context of streaming calls.
func Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if auth.Infrastructure(info.FullMethod) {
			return handler(srv, ss)
		}
		id, err := tenant.Named(ss.Context(), "")
		if err != nil {
			return err
		}
		return handler(srv, &stream{ServerStream: ss, ctx: tenant.With(ss.Context(), id)})
	}
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }
