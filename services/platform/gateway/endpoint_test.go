package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestEndpoints: a plain endpoint sees the client's address as the REST
// API takes it, and its request ends when shutdown begins (a stream
// would otherwise hold the server open).
func TestEndpoints(t *testing.T) {
	streams, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	addr := make(chan string, 4)
	ended := make(chan struct{})
	h, err := NewHandler(context.Background(), Options{
		MaxRequestBytes: 1024, TrustForwardedFor: true, Streams: streams,
		Endpoints: []Endpoint{
			{Pattern: "GET /where", Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { addr <- r.RemoteAddr })},
			{Pattern: "GET /stream", Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
				close(ended)
			})},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, forwarded, want string
	}{
		{"the peer", "", "192.0.2.1:0"},
		{"the proxy's last entry", "198.51.100.7, 203.0.113.9", "203.0.113.9:0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/where", nil)
			req.RemoteAddr = "192.0.2.1:4242"
			if tt.forwarded != "" {
				req.Header.Set("X-Forwarded-For", tt.forwarded)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got := <-addr; got != tt.want {
				t.Errorf("RemoteAddr %q, want %q", got, tt.want)
			}
		})
	}
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/stream", nil))
	shutdown()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the endpoint's request did not end when shutdown began")
	}
}
