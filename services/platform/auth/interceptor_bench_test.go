package auth_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// BenchmarkInterceptor measures what the interceptor adds to a call whose
// credential the cache knows: the metadata read, the rule, the rate
// limit, the tenant and role checks and the context.
func BenchmarkInterceptor(b *testing.B) {
	for _, bc := range []struct {
		name string
		md   metadata.MD
	}{
		{"api key", metadata.Pairs("authorization", "Bearer "+agentKey)},
		{"session, tenant named", metadata.Pairs("kubedesk-session", sessionTok, "x-kubedesk-tenant", "acme")},
		{"service", metadata.Pairs("authorization", "Bearer "+serviceTok, "x-kubedesk-tenant", "acme")},
		{"public", metadata.Pairs("x-kubedesk-tenant", "acme")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := auth.NewInterceptor(auth.InterceptorOptions{
				Authenticator: auth.NewCache(auth.WithServiceToken(serviceTok, newKeyring(testPrincipals())), time.Minute),
				PerCredential: auth.Rate{PerSecond: 1e9, Burst: 1e9},
			})
			unary := i.Unary()
			method := "/kubedesk.ticket.v1.TicketService/GetTicket"
			if bc.name == "public" {
				method = "/kubedesk.iam.v1.IdentityService/CreateSession"
			}
			info := &grpc.UnaryServerInfo{FullMethod: method}
			handler := func(ctx context.Context, _ any) (any, error) {
				if tenant.From(ctx) != "acme" {
					b.Fatalf("tenant %q", tenant.From(ctx))
				}
				return nil, nil
			}
			ctx := metadata.NewIncomingContext(context.Background(), bc.md)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := unary(ctx, nil, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
