package record

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kubedesk/kubedesk/workflows/calendar"
	"github.com/kubedesk/kubedesk/workflows/escalation"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

// TestDelayedFirstTask starts workflows the way the relay does: the opening
// state computed by escalation.Opening, and the first workflow task delayed until
// the first deadline. A signal-with-start ends the delay at once; a plain
// signal waits for the first task, where it counts before the deadlines
// that passed in the meantime.
func TestDelayedFirstTask(t *testing.T) {
	c, rec := startWorker(t)
	spec := policy.Spec{
		Name: "acme/delayed",
		// First response in 2 s, warning at half-time.
		Targets: []policy.PriorityTarget{{Priority: 3, FirstResponse: 2 * time.Second, Resolution: time.Hour}},
		Calendar: calendar.Spec{
			TimeZone:     "Asia/Shanghai",
			WorkingHours: []calendar.WorkingHours{{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "09:00", End: "18:00"}},
		},
		WarningPercent: 50,
	}
	// start starts a ticket's workflow with its first task delayed, and
	// returns its input and its first deadline.
	start := func(t *testing.T, ticketID string) (escalation.Input, time.Time) {
		t.Helper()
		in := escalation.Input{Tenant: "acme", TicketID: ticketID, CreatedAt: time.Now(), Status: "open", Priority: 3, Version: 1, Policy: spec, Revision: escalation.LatestRevision}
		opening, first, err := escalation.Opening(in)
		if err != nil {
			t.Fatal(err)
		}
		if want := in.CreatedAt.Add(time.Second); !first.Equal(want) {
			t.Fatalf("first deadline %v, want the warning at %v", first, want)
		}
		if got := state(opening, escalation.FirstResponse); got != escalation.StateOK || !opening.UpdatedAt.Equal(in.CreatedAt) {
			t.Fatalf("opening state: first response %q at %v, want ok at creation %v", got, opening.UpdatedAt, in.CreatedAt)
		}
		_, err = c.ExecuteWorkflow(t.Context(), options(ticketID, time.Until(first)), escalation.SLAEscalationWorkflow, in)
		if err != nil {
			t.Fatal(err)
		}
		return in, first
	}
	reply := escalation.TicketEvent{Kind: escalation.EventAgentReply, Version: 2}

	t.Run("sleeps until its first deadline", func(t *testing.T) {
		t.Parallel()
		_, first := start(t, "T-sleeps")
		writes := waitWrites(t, rec, "T-sleeps", breached)
		if early := first.Sub(writes[0].at); early > 0 {
			t.Errorf("first write %v before the first deadline", early)
		}
		if got := state(writes[0].Report, escalation.FirstResponse); got != escalation.StateWarning {
			t.Errorf("first write: first response %q, want warning", got)
		}
	})

	t.Run("a signal with start wakes it", func(t *testing.T) {
		t.Parallel()
		in, first := start(t, "T-woken")
		time.Sleep(200 * time.Millisecond)
		ev := reply
		ev.At = time.Now()
		id := escalation.WorkflowID(in.Tenant, in.TicketID)
		if _, err := c.SignalWithStartWorkflow(t.Context(), id, escalation.SignalTicketEvent, ev, options(in.TicketID, 0), escalation.SLAEscalationWorkflow, in); err != nil {
			t.Fatal(err)
		}
		writes := waitWrites(t, rec, in.TicketID, func(w []written) bool { return len(w) > 0 })
		if !writes[0].at.Before(first) {
			t.Errorf("first write %v after the first deadline; the signal did not wake the workflow", writes[0].at.Sub(first))
		}
		checkMet(t, rec, in.TicketID, first)
	})

	t.Run("a plain signal counts first when the task comes", func(t *testing.T) {
		t.Parallel()
		in, first := start(t, "T-buffered")
		time.Sleep(200 * time.Millisecond)
		ev := reply
		ev.At = time.Now()
		if err := c.SignalWorkflow(t.Context(), escalation.WorkflowID(in.Tenant, in.TicketID), "", escalation.SignalTicketEvent, ev); err != nil {
			t.Fatal(err)
		}
		checkMet(t, rec, in.TicketID, first)
	})
}

// checkMet waits until the first response deadline has long passed and
// checks that every state written showed first response met: the reply
// came before the warning.
func checkMet(t *testing.T, rec *tickets, ticketID string, first time.Time) {
	t.Helper()
	time.Sleep(time.Until(first.Add(2 * time.Second)))
	writes := rec.statesOf(ticketID)
	if len(writes) == 0 {
		t.Fatal("no state written")
	}
	for _, w := range writes {
		if got := state(w.Report, escalation.FirstResponse); got != escalation.StateMet {
			t.Errorf("state written at %v: first response %q, want met", w.at.Format("15:04:05.000"), got)
		}
	}
}

func options(ticketID string, delay time.Duration) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: escalation.WorkflowID("acme", ticketID), TaskQueue: "sla", StartDelay: delay}
}

func state(st escalation.Report, k escalation.ClockKind) escalation.ClockState {
	for _, c := range st.Clocks {
		if c.Kind == k {
			return c.State
		}
	}
	return ""
}

func breached(w []written) bool {
	return len(w) > 0 && state(w[len(w)-1].Report, escalation.FirstResponse) == escalation.StateBreached
}

// waitWrites waits up to 10 s for the states written to a ticket to
// satisfy done.
func waitWrites(t *testing.T, rec *tickets, ticketID string, done func([]written) bool) []written {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w := rec.statesOf(ticketID)
		if done(w) {
			return w
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket %s: %s", ticketID, describe(w))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func describe(w []written) string {
	s := fmt.Sprintf("%d states written", len(w))
	for _, x := range w {
		s += fmt.Sprintf("; %s first response %s", x.at.Format("15:04:05.000"), state(x.Report, escalation.FirstResponse))
	}
	return s
}
