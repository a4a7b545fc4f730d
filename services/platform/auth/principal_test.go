package auth

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

func TestClientIP(t *testing.T) {
	tcp := &net.TCPAddr{IP: net.ParseIP("192.0.2.9"), Port: 41000}
	tests := []struct {
		name      string
		forwarded string
		peer      net.Addr
		want      string
	}{
		{"the gateway's", "203.0.113.7", tcp, "203.0.113.7"},
		{"first of a list", "203.0.113.7, 10.0.0.1", tcp, "203.0.113.7"},
		{"IPv6", "2001:db8::1", nil, "2001:db8::1"},
		{"not an address: the peer", "<script>" + string(make([]byte, 300)), tcp, "192.0.2.9"},
		{"none: the peer", "", tcp, "192.0.2.9"},
		{"nothing", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.forwarded != "" {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(ClientIPKey, tt.forwarded))
			}
			if tt.peer != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tt.peer})
			}
			if got := ClientIP(ctx); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
