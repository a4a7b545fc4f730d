// Package record runs the SLA workflow on a real, embedded Temporal server:
// it records the history that the escalation package's replay test
// replays, and tests what only a real server shows (a first task delayed
// by the start, and the signals that do or do not end that delay). It
// lives apart from package escalation so that its unit tests do not link
// the Temporal server.
//
// The test always runs, at every revision of the workflow
// (escalation.LatestRevision and the ones before); it writes the latest
// revision's history to ../../testdata/NAME.json only when asked to, after
// a deliberate change of the workflow made a new revision, keeping the
// histories of earlier revisions (each must still replay):
//
//	KUBEDESK_RECORD_HISTORY=escalation-r2 go test ./workflows/escalation/internal/record/
//
// testdata/escalation.json is revision 0's history (the pre-release
// versions were folded into it, see SLAEscalationWorkflow),
// escalation-r1.json revision 1's, escalation-r2.json revision 2's.
package record

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/workflows/calendar"
	"github.com/kubedesk/kubedesk/workflows/escalation"
	"github.com/kubedesk/kubedesk/workflows/policy"
	"github.com/kubedesk/kubedesk/workflows/temporalserver"
)

// tickets records what the workflow wrote and when it reassigned (through
// Reassign, or in the state write that Escalate makes).
type tickets struct {
	mu         sync.Mutex
	states     []escalation.Report
	at         []time.Time // wall-clock instants of the states' writes
	reassigned []time.Time // wall-clock instants of the reassignments
}

func (t *tickets) SetSLA(_ context.Context, s escalation.Report) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.states = append(t.states, s)
	t.at = append(t.at, time.Now())
	return nil
}

func (t *tickets) Reassign(context.Context, string, string, string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reassigned = append(t.reassigned, time.Now())
	return nil
}
func (t *tickets) Escalate(ctx context.Context, s escalation.Report, e escalation.Escalation) error {
	if err := t.SetSLA(ctx, s); err != nil {
		return err
	}
	if e.Group != "" {
		return t.Reassign(ctx, s.Tenant, s.TicketID, e.Group)
	}
	return nil
}
func (*tickets) RaisePriority(context.Context, string, string, int) error { return nil }
func (*tickets) Notify(context.Context, escalation.Notification) error    { return nil }

// written is one state write, and when it was made.
type written struct {
	at time.Time
	escalation.Report
}

// statesOf returns the states written to a ticket, in order.
func (t *tickets) statesOf(ticketID string) []written {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []written
	for i, st := range t.states {
		if st.TicketID == ticketID {
			out = append(out, written{t.at[i], st})
		}
	}
	return out
}

// startWorker starts an in-memory Temporal server and a worker of the SLA
// workflow on task queue "sla" whose ticket calls land in the returned
// recorder.
func startWorker(t *testing.T) (client.Client, *tickets) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	srv, err := temporalserver.Start(ctx, temporalserver.Options{FrontendAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	c, err := client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddr(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := worker.New(c, "sla", worker.Options{})
	w.RegisterWorkflow(escalation.SLAEscalationWorkflow)
	rec := &tickets{}
	w.RegisterActivity(&escalation.Activities{Tickets: rec})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c, rec
}

func TestEscalationOnRealServer(t *testing.T) {
	for rev := range escalation.LatestRevision + 1 {
		t.Run(fmt.Sprintf("revision %d", rev), func(t *testing.T) { escalateOnRealServer(t, rev) })
	}
}

func escalateOnRealServer(t *testing.T, revision int) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, written := startWorker(t)

	// Around the clock, short targets: first response breaches (timer,
	// warning, breach actions), then replies, next response, a pause, a
	// priority change, solve, reopen and close.
	in := escalation.Input{
		Tenant: "acme", TicketID: "T-replay", CreatedAt: time.Now(), Status: "open", Priority: 3,
		Policy: policy.Spec{
			Name: "acme/replay",
			Targets: []policy.PriorityTarget{
				{Priority: 1, FirstResponse: time.Second, NextResponse: time.Second, Resolution: 3 * time.Second},
				{Priority: 3, FirstResponse: 2 * time.Second, NextResponse: 3 * time.Second, Resolution: 20 * time.Second},
			},
			Calendar: calendar.Spec{
				TimeZone:     "Asia/Shanghai",
				WorkingHours: []calendar.WorkingHours{{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "09:00", End: "18:00"}},
			},
			WarningPercent: 50,
			PauseOn:        []string{"pending"},
			BreachActions: []v1alpha1.BreachAction{
				{Type: v1alpha1.BreachNotify, Recipients: []v1alpha1.Recipient{"assignee"}},
				{Type: v1alpha1.BreachReassign, Group: "escalation"},
				{Type: v1alpha1.BreachRaisePriority},
			},
		},
		Revision: revision,
	}
	id := escalation.WorkflowID(in.Tenant, in.TicketID)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "sla"}, escalation.SLAEscalationWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	signal := func(wait time.Duration, ev escalation.TicketEvent) time.Time {
		time.Sleep(wait)
		ev.At = time.Now()
		if err := c.SignalWorkflow(ctx, id, run.GetRunID(), escalation.SignalTicketEvent, ev); err != nil {
			t.Fatalf("signal %+v: %v (workflow: %v)", ev, err, run.Get(ctx, nil))
		}
		return ev.At
	}
	// The reply comes a second after the first response's due time (2 s),
	// so that a breach escalated by its timer comes before it.
	replied := signal(3*time.Second, escalation.TicketEvent{Kind: escalation.EventAgentReply})
	signal(200*time.Millisecond, escalation.TicketEvent{Kind: escalation.EventCustomerReply})
	signal(500*time.Millisecond, escalation.TicketEvent{Kind: escalation.EventStatusChange, Status: "pending"})
	signal(500*time.Millisecond, escalation.TicketEvent{Kind: escalation.EventStatusChange, Status: "open"})
	signal(200*time.Millisecond, escalation.TicketEvent{Kind: escalation.EventPriorityChange, Priority: 1})
	signal(1500*time.Millisecond, escalation.TicketEvent{Kind: escalation.EventAgentReply})
	signal(200*time.Millisecond, escalation.TicketEvent{Kind: escalation.EventStatusChange, Status: escalation.StatusSolved})
	signal(200*time.Millisecond, escalation.TicketEvent{Kind: escalation.EventStatusChange, Status: "open"})
	signal(200*time.Millisecond, escalation.TicketEvent{Kind: escalation.EventStatusChange, Status: escalation.StatusClosed})
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}

	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, id, run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	// The first response (2 s on P3) breached and was escalated (the
	// reassign action ran) by its timer: after its due time and before the
	// reply that met the clock was sent. The state written to the ticket
	// records the breach at its due time even though the reply came later.
	// (How late after the due time is a latency: the SLA benchmark
	// measures it.)
	due := in.CreatedAt.Add(2 * time.Second)
	written.mu.Lock()
	var breachedAt time.Time
	for _, st := range written.states {
		for _, c := range st.Clocks {
			if c.Kind == escalation.FirstResponse && !c.BreachedAt.IsZero() && breachedAt.IsZero() {
				breachedAt = c.BreachedAt
			}
		}
	}
	reassigned := slices.Clone(written.reassigned)
	written.mu.Unlock()
	if breachedAt.Before(due) || breachedAt.After(replied) {
		t.Errorf("first response breached at %v, want at its due time %v, before the reply at %v", breachedAt, due, replied)
	}
	if len(reassigned) == 0 {
		t.Fatal("the breach was not escalated: no reassign")
	}
	t.Logf("escalated (reassigned) %v after the due time", reassigned[0].Sub(due))
	if reassigned[0].Before(due) || !reassigned[0].Before(replied) {
		t.Errorf("escalated at %s; want after the due time %s and before the reply at %s",
			reassigned[0].Format(time.RFC3339Nano), due.Format(time.RFC3339Nano), replied.Format(time.RFC3339Nano))
	}

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(escalation.SLAEscalationWorkflow)
	if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
		t.Fatalf("the history just recorded does not replay: %v", err)
	}

	name := os.Getenv("KUBEDESK_RECORD_HISTORY")
	if name == "" || revision != escalation.LatestRevision {
		return
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join("..", "..", "testdata", filepath.Base(name)+".json")
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events to %s", len(hist.Events), out)
}
