package main

import (
	"context"
	"encoding/hex"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/prototext"
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

// dump waits for a span called name and returns every span received,
// attributes and events included, as text.
func (c *collector) dump(t *testing.T, name string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		found := slices.ContainsFunc(c.spans, func(s *tracepb.Span) bool { return s.GetName() == name })
		var b strings.Builder
		for _, s := range c.spans {
			b.WriteString(prototext.Format(s))
		}
		c.mu.Unlock()
		if found {
			return b.String()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no span %q exported within 10s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTraceCrossesServices follows one REST call through an OTLP collector:
// the caller's trace continues in the gateway's HTTP span, the gateway's
// gRPC client span and the ticket service's gRPC server span.
func TestTraceCrossesServices(t *testing.T) {
	col := startCollector(t)
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

// startCollector serves an OTLP/gRPC trace receiver and points the
// processes the test starts at it.
func startCollector(t *testing.T) *collector {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	gs := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(gs, col)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+lis.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	return col
}

// TestTraceReachesEscalation follows a customer's ticket from its REST
// request to the SLA escalation it causes, on the built binary: the event
// carries the request's trace to the SLA relay, the workflow start carries
// it into Temporal, and the workflow's ticket calls (the state writes, and
// the breach's escalation, written with its state) are spans of the same
// trace.
func TestTraceReachesEscalation(t *testing.T) {
	col := startCollector(t)
	_, srv := startAllInOne(t, t.TempDir())
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	r := srv.create(t, map[string]any{"subject": "服务器宕机 server down", "impact": 1, "urgency": 2, "group": "support"},
		append(acme, "traceparent", "00-"+traceID+"-b7ad6b7169203331-01")...)
	id := r.str("id")
	waitFor(t, srv, id, 10*time.Second, "breach and escalation", func(v ticketView) bool {
		return v.FirstResponse.State == "SLA_STATE_BREACHED" && v.Group == "escalation"
	})
	want := []string{
		"POST /v1/tickets",
		"sla-relay ticket_created",
		"StartWorkflow:SLAEscalationWorkflow",
		"RunWorkflow:SLAEscalationWorkflow",
		"RunActivity:WriteSLA",
		"kubedesk.ticket.v1.TicketSLAService/SetTicketSLA",
		"RunActivity:Escalate",
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := col.inTrace(traceID)
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool { return slices.Contains(got, w) })
		if len(missing) == 0 {
			t.Logf("spans of the trace: %v", got)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s lacks %v; its spans: %v", traceID, missing, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
