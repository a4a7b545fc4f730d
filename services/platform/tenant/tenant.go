// Package tenant carries the caller's tenant through a request; stores
// scope every query by it. The tenant is the credential's (auth.Interceptor
// decides it); a request may name another in gRPC metadata
// x-kubedesk-tenant (REST header X-Kubedesk-Tenant) only if its credential
// may act for that one.
package tenant

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// MetadataKey is the gRPC metadata key; grpc-gateway forwards the HTTP
// header X-Kubedesk-Tenant under this name.
const MetadataKey = "x-kubedesk-tenant"

// HeaderName is the REST header that names the tenant.
const HeaderName = "X-Kubedesk-Tenant"

// A tenant ID is a DNS label, so it can name a Kubernetes namespace and
// HelpdeskTenant object too.
var idPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Validate checks a tenant ID.
func Validate(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("tenant %q is not valid; accepted: a DNS label (lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit)", id)
	}
	return nil
}

type key struct{}

// With returns ctx carrying tenant id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// Outgoing returns ctx naming tenant id in the metadata of the gRPC calls
// made with it.
func Outgoing(ctx context.Context, id string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, MetadataKey, id)
}

// From returns the tenant set by the interceptor; "" when none is set.
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Resolver takes the tenant of an incoming call from its metadata alone,
// trusting it. kubedesk's servers do not use it (auth.Interceptor takes the
// tenant from the credential); tests of a single service that need a
// tenant but no credentials do.
type Resolver struct {
	// Default is used when a call names no tenant; "" makes the tenant
	// mandatory.
	Default string
}

func (r Resolver) resolve(ctx context.Context) (context.Context, error) {
	id := r.Default
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if vals := md.Get(MetadataKey); len(vals) > 0 {
			id = vals[0]
		}
	}
	if id == "" {
		return nil, status.Errorf(codes.InvalidArgument, "%s: no tenant named; send the %s header (gRPC metadata %s)", HeaderName, HeaderName, MetadataKey)
	}
	if err := Validate(id); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%s: %v", HeaderName, err)
	}
	return With(ctx, id), nil
}

// UnaryInterceptor puts the tenant into the context of unary calls.
func (r Resolver) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if isInfrastructure(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := r.resolve(ctx)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamInterceptor puts the tenant into the context of streaming calls.
func (r Resolver) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if isInfrastructure(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, err := r.resolve(ss.Context())
		if err != nil {
			return err
		}
		return handler(srv, &tenantStream{ServerStream: ss, ctx: ctx})
	}
}

// isInfrastructure exempts health checks and reflection, which belong to no
// tenant.
func isInfrastructure(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") || strings.HasPrefix(method, "/grpc.reflection.")
}

type tenantStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *tenantStream) Context() context.Context { return s.ctx }
