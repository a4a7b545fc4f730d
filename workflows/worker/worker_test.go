package worker

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kubedesk/kubedesk/workflows/calendar"
	"github.com/kubedesk/kubedesk/workflows/escalation"
	"github.com/kubedesk/kubedesk/workflows/policy"
	"github.com/kubedesk/kubedesk/workflows/temporalserver"
)

// states counts the SLA states written, by ticket.
type states struct {
	mu      sync.Mutex
	written map[string]int
}

func (s *states) SetSLA(_ context.Context, st escalation.Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written[st.TicketID]++
	return nil
}
func (s *states) Escalate(ctx context.Context, st escalation.Report, _ escalation.Escalation) error {
	return s.SetSLA(ctx, st)
}
func (*states) Reassign(context.Context, string, string, string) error   { return nil }
func (*states) RaisePriority(context.Context, string, string, int) error { return nil }
func (*states) Notify(context.Context, escalation.Notification) error    { return nil }

func (s *states) tickets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.written)
}

// TestNoWorkflowStaysInMemory runs sleeping SLA workflows on a worker
// beside an embedded Temporal server, whose own system workers start
// first: once their first tasks are done, none of them holds goroutines
// (a cached workflow holds two). The SDK sizes its process-wide cache when
// the first worker starts, so SetProcessDefaults must come before the
// server.
func TestNoWorkflowStaysInMemory(t *testing.T) {
	SetProcessDefaults()
	// A generous limit: under -race on a loaded two-core machine starting
	// the server and 50 workflows has taken more than 20 s.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	srv, err := temporalserver.Start(ctx, temporalserver.Options{FrontendAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	c, err := client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddr(), Namespace: temporalserver.DefaultNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	written := &states{written: map[string]int{}}
	w := NewSLA(c, &escalation.Activities{Tickets: written}, Options{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	const n = 50
	spec := policy.Spec{
		Name:    "acme/long",
		Targets: []policy.PriorityTarget{{Priority: 3, FirstResponse: time.Hour, Resolution: 8 * time.Hour}},
		Calendar: calendar.Spec{
			TimeZone:     "Asia/Shanghai",
			WorkingHours: []calendar.WorkingHours{{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "09:00", End: "18:00"}},
		},
	}
	for i := range n {
		in := escalation.Input{Tenant: "acme", TicketID: fmt.Sprint("T-", i), CreatedAt: time.Now(), Status: "open", Priority: 3, Policy: spec}
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: escalation.WorkflowID(in.Tenant, in.TicketID), TaskQueue: SLATaskQueue}, escalation.SLAEscalationWorkflow, in); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		if t.Failed() {
			d, err := c.DescribeWorkflowExecution(context.Background(), escalation.WorkflowID("acme", "T-0"), "")
			t.Logf("T-0: %v %v", d, err)
		}
	}()
	for written.tickets() < n {
		if ctx.Err() != nil {
			t.Fatalf("%d of %d workflows wrote their state", written.tickets(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The workflow goroutines of a finished task exit asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for {
		held := workflowGoroutines()
		if held == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of SLA workflows stay in memory after %d workflows went to sleep; want none (sticky cache size %d)", held, n, StickyCacheSize)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func workflowGoroutines() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "escalation.SLAEscalationWorkflow")
}
