package tenant

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestNamed(t *testing.T) {
	tests := []struct {
		name     string
		fallback string
		sent     []string // metadata values of x-kubedesk-tenant
		want     string
		code     codes.Code
	}{
		{"named", "default", []string{"acme"}, "acme", codes.OK},
		{"default", "default", nil, "default", codes.OK},
		{"required", "", nil, "", codes.InvalidArgument},
		{"upper case", "default", []string{"Acme"}, "", codes.InvalidArgument},
		{"too long", "default", []string{strings.Repeat("a", 64)}, "", codes.InvalidArgument},
		{"trailing dash", "default", []string{"acme-"}, "", codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.sent != nil {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(MetadataKey, tt.sent[0]))
			}
			got, err := Named(ctx, tt.fallback)
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
