package tenant

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestResolver(t *testing.T) {
	tests := []struct {
		name     string
		fallback string
		sent     []string // metadata values of x-kubedesk-tenant
		method   string
		want     string
		code     codes.Code
	}{
		{"named", "default", []string{"acme"}, "/kubedesk.ticket.v1.TicketService/GetTicket", "acme", codes.OK},
		{"default", "default", nil, "/kubedesk.ticket.v1.TicketService/GetTicket", "default", codes.OK},
		{"required", "", nil, "/kubedesk.ticket.v1.TicketService/GetTicket", "", codes.InvalidArgument},
		{"upper case", "default", []string{"Acme"}, "/kubedesk.ticket.v1.TicketService/GetTicket", "", codes.InvalidArgument},
		{"too long", "default", []string{strings.Repeat("a", 64)}, "/kubedesk.ticket.v1.TicketService/GetTicket", "", codes.InvalidArgument},
		{"trailing dash", "default", []string{"acme-"}, "/kubedesk.ticket.v1.TicketService/GetTicket", "", codes.InvalidArgument},
		{"health needs none", "", nil, "/grpc.health.v1.Health/Check", "", codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.sent != nil {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(MetadataKey, tt.sent[0]))
			}
			var got string
			_, err := Resolver{Default: tt.fallback}.UnaryInterceptor()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method},
				func(ctx context.Context, _ any) (any, error) { got = From(ctx); return nil, nil })
			if status.Code(err) != tt.code {
				t.Fatalf("code %v (%v), want %v", status.Code(err), err, tt.code)
			}
			if err != nil && !strings.Contains(err.Error(), HeaderName) {
				t.Errorf("error %q does not name the header", err)
			}
			if got != tt.want {
				t.Errorf("tenant %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOutgoingNamesTheTenant(t *testing.T) {
	md, _ := metadata.FromOutgoingContext(Outgoing(context.Background(), "acme"))
	if got := md.Get(MetadataKey); len(got) != 1 || got[0] != "acme" {
		t.Errorf("outgoing %s = %v, want [acme]", MetadataKey, got)
	}
}
