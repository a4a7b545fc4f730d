package main

import (
	"context"
	"encoding/hex"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// collector is an OTLP/gRPC trace receiver that keeps what it is sent.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// inTrace returns the names of the spans of one trace.
func (c *collector) inTrace(traceID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for _, s := range c.spans {
		if hex.EncodeToString(s.GetTraceId()) == traceID {
			names = append(names, s.GetName())
		}
	}
	return names
}

// TestTraceCrossesServices follows one REST call through an OTLP collector:
// the caller's trace continues in the gateway's HTTP span, the gateway's
// gRPC client span and the ticket service's gRPC server span.
func TestTraceCrossesServices(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	gs := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(gs, col)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+lis.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")

	srv := startServe(t)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	srv.create(t, map[string]any{"subject": "跟踪这个请求"}, "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")

	want := []string{
		"POST /v1/tickets", // the gateway's HTTP server span
		"kubedesk.ticket.v1.TicketService/CreateTicket", // gRPC client and server spans
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := col.inTrace(traceID)
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool { return slices.Contains(got, w) })
		rpcSpans := 0
		for _, n := range got {
			if n == want[1] {
				rpcSpans++
			}
		}
		if len(missing) == 0 && rpcSpans == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans of trace %s: %v; want %v with the RPC seen by client and server", traceID, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
