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

// Named returns the tenant an incoming call names in its metadata, or def
// when it names none. None at all, or a name that is not a tenant ID, is
// INVALID_ARGUMENT naming the header. It trusts the metadata: the access
// interceptor (services/platform/auth) calls it only where the credential
// allows the tenant, or where a call needs no credential (sign-in).
func Named(ctx context.Context, def string) (string, error) {
	id := def
	if vals := metadata.ValueFromIncomingContext(ctx, MetadataKey); len(vals) > 0 {
		id = vals[0]
	}
	if id == "" {
		return "", status.Errorf(codes.InvalidArgument, "%s: no tenant named; send the %s header (gRPC metadata %s)", HeaderName, HeaderName, MetadataKey)
	}
	if err := Validate(id); err != nil {
		return "", status.Errorf(codes.InvalidArgument, "%s: %v", HeaderName, err)
	}
	return id, nil
}
