package escalation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

const escalationPolicy = `
apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: standard, namespace: acme}
spec:
  tenantRef: {name: acme}
  calendar:
    timeZone: Asia/Shanghai
    workingHours: [{days: [Mon, Tue, Wed, Thu, Fri], start: "09:00", end: "18:00"}]
  targets:
    - {priority: P1, firstResponse: 15m, nextResponse: 30m, resolution: 4h, businessHours: false}
    - {priority: P3, firstResponse: 2h, nextResponse: 4h, resolution: 16h}
  warningThresholdPercent: 75
  breachActions:
    - {type: notify, recipients: [assignee, group]}
    - {type: reassign, group: escalation}
    - {type: raisePriority}
`

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// monday10 is Monday 2 March 2026, 10:00 in Shanghai, a working day.
var monday10 = time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)

// fakeTickets records what the activities did to the ticket: the states
// written, and the reassignments and priority raises, whether made by
// calls of their own or with a state (escalated also lists the latter).
type fakeTickets struct {
	mu        sync.Mutex
	states    []Report
	escalated []EscalateInput
	reassign  []string
	raised    int
	notified  []Notification
}

func (f *fakeTickets) SetSLA(_ context.Context, s Report) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states = append(f.states, s)
	return nil
}

func (f *fakeTickets) Escalate(_ context.Context, s Report, e Escalation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states = append(f.states, s)
	f.escalated = append(f.escalated, EscalateInput{State: s, Escalation: e})
	if e.Group != "" {
		f.reassign = append(f.reassign, e.Group)
	}
	if e.RaiseFrom != 0 {
		f.raised++
	}
	return nil
}

func (f *fakeTickets) Reassign(_ context.Context, _, _, group string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reassign = append(f.reassign, group)
	return nil
}

func (f *fakeTickets) RaisePriority(context.Context, string, string, int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raised++
	return nil
}

func (f *fakeTickets) Notify(_ context.Context, n Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notified = append(f.notified, n)
	return nil
}

// firstState returns when clock k was first written in state s, zero if
// never, and that write's clock.
func (f *fakeTickets) firstState(k ClockKind, s ClockState) (time.Time, ClockStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, st := range f.states {
		for _, c := range st.Clocks {
			if c.Kind == k && c.State == s {
				return st.UpdatedAt, c
			}
		}
	}
	return time.Time{}, ClockStatus{}
}

func parse(t *testing.T, doc string) v1alpha1.SLAPolicy {
	t.Helper()
	var p v1alpha1.SLAPolicy
	if err := yaml.UnmarshalStrict([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func testPolicy(t *testing.T) policy.Spec {
	t.Helper()
	p, err := policy.NewSpec(parse(t, escalationPolicy))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testInput(t *testing.T, created time.Time, priority int) Input {
	return Input{
		Tenant: "acme", TicketID: "T-1", CreatedAt: created,
		Status: "open", Priority: priority, Policy: testPolicy(t), Revision: LatestRevision,
	}
}

// step sends ev (At = its instant) after the given delay from start.
type step struct {
	after time.Duration
	ev    TicketEvent
}

// runWorkflow runs the workflow from in.CreatedAt, sends the steps and
// returns the ticket fake and the workflow's error.
func runWorkflow(t *testing.T, in Input, acts *Activities, steps ...step) (*fakeTickets, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(in.CreatedAt)
	tickets := &fakeTickets{}
	if acts == nil {
		acts = &Activities{}
	}
	acts.Tickets = tickets
	env.RegisterActivity(acts)
	env.RegisterWorkflow(SLAEscalationWorkflow)
	for _, st := range steps {
		ev := st.ev
		env.RegisterDelayedCallback(func() {
			if ev.At.IsZero() {
				ev.At = env.Now()
			}
			env.SignalWorkflow(SignalTicketEvent, ev)
		}, st.after)
	}
	env.ExecuteWorkflow(SLAEscalationWorkflow, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	return tickets, env.GetWorkflowError()
}

func closeAt(d time.Duration) step {
	return step{d, TicketEvent{Kind: EventStatusChange, Status: StatusClosed}}
}

func status(d time.Duration, s string) step {
	return step{d, TicketEvent{Kind: EventStatusChange, Status: s}}
}

func agentReply(d time.Duration) step    { return step{d, TicketEvent{Kind: EventAgentReply}} }
func customerReply(d time.Duration) step { return step{d, TicketEvent{Kind: EventCustomerReply}} }
func priority(d time.Duration, p int) step {
	return step{d, TicketEvent{Kind: EventPriorityChange, Priority: p}}
}

// want is one expected first occurrence of a clock state.
type want struct {
	clock ClockKind
	state ClockState
	at    time.Time // zero: must never occur
	due   time.Time // checked unless zero
}

func checkWants(t *testing.T, f *fakeTickets, wants []want) {
	t.Helper()
	for _, w := range wants {
		at, cs := f.firstState(w.clock, w.state)
		if !at.Equal(w.at) {
			t.Errorf("%s %s first written at %v, want %v", w.clock, w.state, at, w.at)
		}
		if !w.due.IsZero() && !cs.Due.Equal(w.due) {
			t.Errorf("%s %s due %v, want %v", w.clock, w.state, cs.Due, w.due)
		}
	}
}

func TestEscalationSignalPaths(t *testing.T) {
	m := monday10
	friday17 := time.Date(2026, 3, 6, 17, 0, 0, 0, shanghai)
	for _, tc := range []struct {
		name     string
		created  time.Time
		priority int
		steps    []step
		wants    []want
	}{{
		name: "no reply warns then breaches", created: m, priority: 1,
		steps: []step{closeAt(5 * time.Hour)},
		wants: []want{
			{FirstResponse, StateOK, m, m.Add(15 * time.Minute)},
			{FirstResponse, StateWarning, m.Add(11*time.Minute + 15*time.Second), m.Add(15 * time.Minute)},
			{FirstResponse, StateBreached, m.Add(15 * time.Minute), m.Add(15 * time.Minute)},
			{Resolution, StateWarning, m.Add(3 * time.Hour), m.Add(4 * time.Hour)},
			{Resolution, StateBreached, m.Add(4 * time.Hour), m.Add(4 * time.Hour)},
			{FirstResponse, StateMet, time.Time{}, time.Time{}},
		},
	}, {
		name: "reply before due meets first response", created: m, priority: 1,
		steps: []step{agentReply(5 * time.Minute), closeAt(time.Hour)},
		wants: []want{
			{FirstResponse, StateMet, m.Add(5 * time.Minute), time.Time{}},
			{FirstResponse, StateWarning, time.Time{}, time.Time{}},
			{FirstResponse, StateBreached, time.Time{}, time.Time{}},
			{NextResponse, StateOK, time.Time{}, time.Time{}},
		},
	}, {
		name: "customer reply starts next response", created: m, priority: 1,
		steps: []step{agentReply(5 * time.Minute), customerReply(20 * time.Minute), closeAt(2 * time.Hour)},
		wants: []want{
			{NextResponse, StateOK, m.Add(20 * time.Minute), m.Add(50 * time.Minute)},
			{NextResponse, StateWarning, m.Add(20*time.Minute + 22*time.Minute + 30*time.Second), m.Add(50 * time.Minute)},
			{NextResponse, StateBreached, m.Add(50 * time.Minute), m.Add(50 * time.Minute)},
		},
	}, {
		name: "agent reply meets next response", created: m, priority: 1,
		steps: []step{
			agentReply(5 * time.Minute), customerReply(20 * time.Minute),
			agentReply(30 * time.Minute), closeAt(2 * time.Hour),
		},
		wants: []want{
			{NextResponse, StateMet, m.Add(30 * time.Minute), time.Time{}},
			{NextResponse, StateWarning, time.Time{}, time.Time{}},
		},
	}, {
		name: "customer reply before any agent reply starts nothing", created: m, priority: 1,
		steps: []step{customerReply(time.Minute), agentReply(5 * time.Minute), closeAt(time.Hour)},
		wants: []want{{NextResponse, StateOK, time.Time{}, time.Time{}}},
	}, {
		name: "solved meets resolution, reopen resumes it", created: m, priority: 1,
		steps: []step{
			agentReply(5 * time.Minute), status(time.Hour, StatusSolved),
			status(2*time.Hour, "open"), closeAt(10 * time.Hour),
		},
		wants: []want{
			{Resolution, StateMet, m.Add(time.Hour), time.Time{}},
			// 1h used before solved, 3h left from the reopen at 2h.
			{Resolution, StateWarning, m.Add(4 * time.Hour), m.Add(5 * time.Hour)},
			{Resolution, StateBreached, m.Add(5 * time.Hour), m.Add(5 * time.Hour)},
		},
	}, {
		// Friday 17:00, P3 first response 2h of business time: 30 min
		// used when pending at 17:30; back to open Monday 11:00 leaves
		// 1h30 -> due Monday 12:30 (not Monday 10:00 as without the pause).
		name: "pending pauses across a weekend", created: friday17, priority: 3,
		steps: []step{
			status(30*time.Minute, "pending"),
			status(66*time.Hour, "open"), // Monday 11:00
			closeAt(70 * time.Hour),
		},
		wants: []want{
			{FirstResponse, StateOK, friday17, friday17.Add(65 * time.Hour)}, // Monday 10:00
			{FirstResponse, StatePaused, friday17.Add(30 * time.Minute), time.Time{}},
			// Warning at 1h30 used: 1h left from Monday 11:00.
			{FirstResponse, StateWarning, friday17.Add(67 * time.Hour), friday17.Add(67*time.Hour + 30*time.Minute)},
			{FirstResponse, StateBreached, friday17.Add(67*time.Hour + 30*time.Minute), time.Time{}},
		},
	}, {
		// P3 at Monday 10:00; at 11:00 (1h used) it becomes P1, whose first
		// response target is 15m: breached at once.
		name: "priority raised past the new target breaches now", created: m, priority: 3,
		steps: []step{priority(time.Hour, 1), closeAt(2 * time.Hour)},
		wants: []want{
			{FirstResponse, StateOK, m, m.Add(2 * time.Hour)},
			{FirstResponse, StateWarning, time.Time{}, time.Time{}},
			{FirstResponse, StateBreached, m.Add(time.Hour), m.Add(time.Hour)},
		},
	}, {
		// P1 at 10:00; at 10:10 it becomes P3: 10m used of 2h business
		// time, due 12:00, warning at 1h30 used, 11:30.
		name: "priority lowered moves the due time later", created: m, priority: 1,
		steps: []step{priority(10*time.Minute, 3), closeAt(3 * time.Hour)},
		wants: []want{
			{FirstResponse, StateOK, m, m.Add(15 * time.Minute)},
			{FirstResponse, StateWarning, m.Add(90 * time.Minute), m.Add(2 * time.Hour)},
			{FirstResponse, StateBreached, m.Add(2 * time.Hour), m.Add(2 * time.Hour)},
		},
	}, {
		// A relay restarted from an older cursor sends the agent reply of
		// version 2 again after the customer reply of version 3: the
		// repeat must not meet the next-response clock.
		name: "repeated events are ignored", created: m, priority: 1,
		steps: []step{
			{5 * time.Minute, TicketEvent{Kind: EventAgentReply, Version: 2}},
			{20 * time.Minute, TicketEvent{Kind: EventCustomerReply, Version: 3}},
			{21 * time.Minute, TicketEvent{Kind: EventAgentReply, Version: 2}},
			{22 * time.Minute, TicketEvent{Kind: EventCustomerReply, Version: 3}},
			closeAt(2 * time.Hour),
		},
		wants: []want{
			{FirstResponse, StateMet, m.Add(5 * time.Minute), time.Time{}},
			{NextResponse, StateOK, m.Add(20 * time.Minute), m.Add(50 * time.Minute)},
			{NextResponse, StateMet, time.Time{}, time.Time{}},
			{NextResponse, StateBreached, m.Add(50 * time.Minute), m.Add(50 * time.Minute)},
		},
	}, {
		// One ticket change can produce two signals (a customer reply
		// that reopens a pending ticket): both parts count.
		name: "parts of one change all count", created: m, priority: 1,
		steps: []step{
			{5 * time.Minute, TicketEvent{Kind: EventAgentReply, Version: 2}},
			{10 * time.Minute, TicketEvent{Kind: EventStatusChange, Status: "pending", Version: 3}},
			{20 * time.Minute, TicketEvent{Kind: EventCustomerReply, Version: 4}},
			{20 * time.Minute, TicketEvent{Kind: EventStatusChange, Status: "open", Version: 4, Part: 1}},
			closeAt(2 * time.Hour),
		},
		wants: []want{
			{NextResponse, StateOK, m.Add(20 * time.Minute), m.Add(50 * time.Minute)},
			{NextResponse, StateBreached, m.Add(50 * time.Minute), m.Add(50 * time.Minute)},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := runWorkflow(t, testInput(t, tc.created, tc.priority), nil, tc.steps...)
			if err != nil {
				t.Fatalf("workflow: %v", err)
			}
			checkWants(t, f, tc.wants)
		})
	}
}

// A breach outlives its target: when the priority moves to one without
// targets (P2 in the test policy), the breached clock stays on the ticket,
// red, due at its breach, while the clocks that had not breached go. It
// shows the target it breached, here and when the new priority has other
// targets (P3); runs before RevisionKeepBreachedTarget showed the new
// priority's target, 0s for none.
func TestBreachStaysAfterPriorityWithoutTargets(t *testing.T) {
	m := monday10
	breachedFR := ClockStatus{
		Kind: FirstResponse, State: StateBreached, Target: 15 * time.Minute,
		Due: m.Add(15 * time.Minute), BreachedAt: m.Add(15 * time.Minute), Elapsed: 30 * time.Minute, Remaining: -15 * time.Minute,
	}
	// P3 counts business hours, 09:00-18:00: 15h30m of resolution left at
	// 10:30 on Monday is 7h30m on Monday and 8h on Tuesday.
	resolutionP3 := ClockStatus{
		Kind: Resolution, State: StateOK, Target: 16 * time.Hour,
		Due: time.Date(2026, 3, 3, 17, 0, 0, 0, shanghai), Elapsed: 30 * time.Minute, Remaining: 15*time.Hour + 30*time.Minute,
	}
	oldFR := breachedFR
	oldFR.Target, oldFR.Remaining = 0, 0
	for _, tc := range []struct {
		name     string
		revision int
		to       int
		want     []ClockStatus
	}{
		{"to P2 without targets", LatestRevision, 2, []ClockStatus{breachedFR}},
		{"to P3 with longer targets", LatestRevision, 3, []ClockStatus{breachedFR, resolutionP3}},
		{"to P2, revision 1", RevisionEscalateWithState, 2, []ClockStatus{oldFR}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := testInput(t, m, 1)
			in.Revision = tc.revision
			f, err := runWorkflow(t, in, nil, priority(30*time.Minute, tc.to), closeAt(time.Hour))
			if err != nil {
				t.Fatalf("workflow: %v", err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			var got *Report
			for i := range f.states {
				if f.states[i].UpdatedAt.Equal(m.Add(30 * time.Minute)) {
					got = &f.states[i]
				}
			}
			if got == nil {
				t.Fatalf("no state written at the priority change; written: %+v", f.states)
			}
			same := func(a, b ClockStatus) bool {
				return a.Kind == b.Kind && a.State == b.State && a.Due.Equal(b.Due) &&
					a.BreachedAt.Equal(b.BreachedAt) && a.Elapsed == b.Elapsed && a.Target == b.Target && a.Remaining == b.Remaining
			}
			if got.Priority != tc.to || !slices.EqualFunc(got.Clocks, tc.want, same) {
				t.Errorf("state at the change = priority %d, clocks %+v; want priority %d, clocks %+v", got.Priority, got.Clocks, tc.to, tc.want)
			}
		})
	}
}

func TestBreachActions(t *testing.T) {
	var (
		mu   sync.Mutex
		hits []WebhookPayload
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		hits = append(hits, p)
		mu.Unlock()
	}))
	defer srv.Close()
	breach := monday10.Add(15 * time.Minute)
	for _, tc := range []struct {
		revision int
		// escalated: the reassignment and the raise come with the state
		// write that records the breach, not in calls of their own.
		escalated []Escalation
	}{
		{RevisionActionsAfterState, nil},
		{RevisionEscalateWithState, []Escalation{{Group: "escalation", RaiseFrom: 1}}},
	} {
		t.Run(fmt.Sprintf("revision %d", tc.revision), func(t *testing.T) {
			mu.Lock()
			hits = nil
			mu.Unlock()
			in := testInput(t, monday10, 1)
			in.Revision = tc.revision
			in.Policy.BreachActions = append(in.Policy.BreachActions, v1alpha1.BreachAction{Type: v1alpha1.BreachWebhook, URL: srv.URL + "/sla"})

			f, err := runWorkflow(t, in, &Activities{HTTP: srv.Client()}, agentReply(time.Hour), closeAt(2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.reassign, []string{"escalation"}) {
				t.Errorf("reassigned to %v, want [escalation]", f.reassign)
			}
			if f.raised != 1 {
				t.Errorf("priority raised %d times, want 1", f.raised)
			}
			var escalated []Escalation
			for _, e := range f.escalated {
				escalated = append(escalated, e.Escalation)
				if c := e.State.Clocks[slices.IndexFunc(e.State.Clocks, func(c ClockStatus) bool { return c.Kind == FirstResponse })]; c.State != StateBreached {
					t.Errorf("escalated with a state whose first response is %s, want the state recording the breach", c.State)
				}
			}
			if !slices.Equal(escalated, tc.escalated) {
				t.Errorf("escalated with a state write %v, want %v", escalated, tc.escalated)
			}
			if len(f.notified) != 1 || f.notified[0].Clock != FirstResponse || !f.notified[0].At.Equal(breach) ||
				!slices.Equal(f.notified[0].Recipients, []v1alpha1.Recipient{"assignee", "group"}) {
				t.Errorf("notified %+v, want one first-response breach at %v to assignee, group", f.notified, breach)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(hits) != 1 || hits[0].Event != "sla.breached" || hits[0].Clock != FirstResponse ||
				hits[0].TicketID != "T-1" || hits[0].Policy != "acme/standard" || !hits[0].At.Equal(breach) {
				t.Errorf("webhook got %+v, want one sla.breached for T-1 at %v", hits, breach)
			}
		})
	}
}

func TestWebhookRetries(t *testing.T) {
	for _, tc := range []struct {
		code  int
		calls int32
	}{
		{http.StatusOK, 1},
		{http.StatusBadRequest, 1}, // refused: not retried
		{http.StatusNotFound, 1},
		{http.StatusTooManyRequests, 5}, // retried up to MaximumAttempts
		{http.StatusBadGateway, 5},
	} {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.code)
			}))
			defer srv.Close()
			in := testInput(t, monday10, 1)
			in.Policy.BreachActions = []v1alpha1.BreachAction{
				{Type: v1alpha1.BreachWebhook, URL: srv.URL},
				{Type: v1alpha1.BreachReassign, Group: "escalation"},
			}
			f, err := runWorkflow(t, in, &Activities{HTTP: srv.Client()}, agentReply(time.Hour), closeAt(2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if got := calls.Load(); got != tc.calls {
				t.Errorf("webhook called %d times, want %d", got, tc.calls)
			}
			// A failed action does not stop the next one.
			if !slices.Equal(f.reassign, []string{"escalation"}) {
				t.Errorf("reassigned to %v, want [escalation]", f.reassign)
			}
		})
	}
}

func TestCallWebhookRefusalIsNonRetryable(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	defer srv.Close()
	a := &Activities{HTTP: srv.Client()}
	err := a.CallWebhook(t.Context(), BreachInput{Action: v1alpha1.BreachAction{Type: v1alpha1.BreachWebhook, URL: srv.URL}})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != ErrTypeWebhookRejected {
		t.Fatalf("CallWebhook on 403 = %v, want a non-retryable %s", err, ErrTypeWebhookRejected)
	}
}

func TestClosedEndsWorkflow(t *testing.T) {
	f, err := runWorkflow(t, testInput(t, monday10, 1), nil, closeAt(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.states) != 1 {
		t.Errorf("wrote %d states, want only the initial one", len(f.states))
	}
	if len(f.notified)+len(f.reassign)+f.raised != 0 {
		t.Error("a closed ticket ran breach actions")
	}
}

func TestQuerySLAState(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(monday10)
	env.RegisterActivity(&Activities{Tickets: &fakeTickets{}})
	var got Report
	var qerr error
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QuerySLAState)
		if err == nil {
			err = v.Get(&got)
		}
		qerr = err
		env.SignalWorkflow(SignalTicketEvent, TicketEvent{Kind: EventStatusChange, Status: StatusClosed})
	}, 12*time.Minute)
	env.ExecuteWorkflow(SLAEscalationWorkflow, testInput(t, monday10, 1))
	if qerr != nil {
		t.Fatal(qerr)
	}
	if len(got.Clocks) != 2 {
		t.Fatalf("query returned clocks %+v, want first response and resolution", got.Clocks)
	}
	fr := got.Clocks[0]
	if fr.Kind != FirstResponse || fr.State != StateWarning ||
		fr.Remaining != 3*time.Minute || !fr.Due.Equal(monday10.Add(15*time.Minute)) {
		t.Errorf("first response at 12m = %+v, want warning, 3m left, due 10:15", fr)
	}
	if r := got.Clocks[1]; r.Kind != Resolution || r.State != StateOK {
		t.Errorf("resolution at 12m = %+v, want ok", r)
	}
}

func TestContinueAsNewCarriesClocks(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(monday10)
	env.RegisterActivity(&Activities{Tickets: &fakeTickets{}})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalTicketEvent, TicketEvent{Kind: EventAgentReply, At: env.Now()})
	}, 5*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SetCurrentHistoryLength(DefaultHistoryLimit)
		env.SignalWorkflow(SignalTicketEvent, TicketEvent{Kind: EventPriorityChange, Priority: 3, At: env.Now()})
	}, 6*time.Minute)
	env.ExecuteWorkflow(SLAEscalationWorkflow, testInput(t, monday10, 1))
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error %v, want continue-as-new", err)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Priority != 3 || next.State == nil || !next.State.Clocks[0].Met ||
		!next.State.Clocks[0].MetAt.Equal(monday10.Add(5*time.Minute)) || next.State.Clocks[2].Elapsed != 6*time.Minute {
		t.Fatalf("carried input %+v, state %+v; want P3, first response met at 10:05, resolution 6m used", next, next.State)
	}

	// The next run picks up where this one stopped: P3 resolution is 16h
	// of business time, 6m used at 10:06 Monday: 7h54m left that day,
	// 8h on Tuesday -> due Tuesday 17:00.
	f, err := runWorkflow(t, next, nil, closeAt(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	checkWants(t, f, []want{
		{FirstResponse, StateMet, monday10, time.Time{}},
		{Resolution, StateOK, monday10, time.Date(2026, 3, 3, 17, 0, 0, 0, shanghai)},
	})
}

func TestInvalidInputFails(t *testing.T) {
	in := testInput(t, monday10, 0)
	_, err := runWorkflow(t, in, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "InvalidInput" {
		t.Fatalf("workflow error %v, want InvalidInput", err)
	}
}

func TestWorkflowID(t *testing.T) {
	if got := WorkflowID("acme", "T-1"); got != "sla/acme/T-1" {
		t.Errorf("WorkflowID = %q", got)
	}
}

// A workflow started from a ticket snapshot at version 3 ignores signals of
// the changes the snapshot already reflects.
func TestStartVersionSkipsReflectedChanges(t *testing.T) {
	in := testInput(t, monday10, 1)
	in.Version = 3
	f, err := runWorkflow(t, in, nil,
		step{time.Minute, TicketEvent{Kind: EventAgentReply, Version: 3}},
		step{20 * time.Minute, TicketEvent{Kind: EventAgentReply, Version: 4}},
		closeAt(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	checkWants(t, f, []want{
		{FirstResponse, StateBreached, monday10.Add(15 * time.Minute), monday10.Add(15 * time.Minute)},
		{FirstResponse, StateMet, monday10.Add(20 * time.Minute), time.Time{}},
	})
}

// TestPolicyUpdate applies a policy change to a running clock: the time
// used stays, the new target counts from then on. An update of another
// policy, or one with a calendar that does not build, changes nothing.
func TestPolicyUpdate(t *testing.T) {
	m := monday10
	in := testInput(t, m, 1)
	longer := in.Policy
	longer.Targets = slices.Clone(longer.Targets)
	longer.Targets[0].FirstResponse = time.Hour // P1: 15m -> 1h
	other := longer
	other.Name = "acme/other"
	other.Targets = slices.Clone(other.Targets)
	other.Targets[0].FirstResponse = time.Minute
	broken := in.Policy
	broken.Calendar.TimeZone = "Mars/Olympus"

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(m)
	tickets := &fakeTickets{}
	env.RegisterActivity(&Activities{Tickets: tickets})
	env.RegisterWorkflow(SLAEscalationWorkflow)
	for _, u := range []struct {
		after time.Duration
		spec  policy.Spec
	}{{2 * time.Minute, broken}, {3 * time.Minute, other}, {5 * time.Minute, longer}} {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalPolicyUpdate, u.spec) }, u.after)
	}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalTicketEvent, TicketEvent{Kind: EventStatusChange, Status: StatusClosed, At: env.Now()})
	}, 2*time.Hour)
	env.ExecuteWorkflow(SLAEscalationWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	checkWants(t, tickets, []want{
		{FirstResponse, StateOK, m, m.Add(15 * time.Minute)},
		// 75% of 1h: 45m; breach at 1h from creation.
		{FirstResponse, StateWarning, m.Add(45 * time.Minute), m.Add(time.Hour)},
		{FirstResponse, StateBreached, m.Add(time.Hour), m.Add(time.Hour)},
	})
}

// TestPolicyUpdateDrainedBeforeContinueAsNew: policy updates that arrive in
// the workflow task that reaches the history limit are taken in before the
// run continues as new, so the next run carries them.
func TestPolicyUpdateDrainedBeforeContinueAsNew(t *testing.T) {
	in := testInput(t, monday10, 1)
	other := in.Policy
	other.Name = "acme/other" // not this workflow's policy: ignored
	longer := in.Policy
	longer.Targets = slices.Clone(longer.Targets)
	longer.Targets[0].FirstResponse = time.Hour

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(monday10)
	env.RegisterActivity(&Activities{Tickets: &fakeTickets{}})
	env.RegisterDelayedCallback(func() {
		env.SetCurrentHistoryLength(DefaultHistoryLimit)
		// Both arrive in one workflow task: the clock loop receives the
		// first, the drain before continue-as-new the second.
		env.SignalWorkflowSkippingWorkflowTask(SignalPolicyUpdate, other)
		env.SignalWorkflow(SignalPolicyUpdate, longer)
	}, 5*time.Minute)
	env.ExecuteWorkflow(SLAEscalationWorkflow, in)
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error %v, want continue-as-new", err)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if got := next.Policy.Targets[0].FirstResponse; next.Policy.Name != in.Policy.Name || got != time.Hour {
		t.Fatalf("carried policy %q with P1 first response %v; want %q with 1h (the drained update)", next.Policy.Name, got, in.Policy.Name)
	}
}

func TestOpening(t *testing.T) {
	saturday := time.Date(2026, 3, 7, 10, 0, 0, 0, shanghai)
	for _, tc := range []struct {
		name     string
		in       Input
		wantNext time.Time // zero: none
	}{
		{"P1 around the clock: warns at 75 % of 15 min", testInput(t, monday10, 1), monday10.Add(15 * time.Minute * 3 / 4)},
		{"P3 in business hours: warns after 1 h 30 of working time", testInput(t, monday10, 3), monday10.Add(90 * time.Minute)},
		{"P3 on a Saturday: the clock starts Monday 09:00",
			testInput(t, saturday, 3), time.Date(2026, 3, 9, 10, 30, 0, 0, shanghai)},
		{"pending: every clock paused, nothing due", func() Input {
			in := testInput(t, monday10, 1)
			in.Status, in.Policy.PauseOn = "pending", []string{"pending"}
			return in
		}(), time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, next, err := Opening(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !next.Equal(tc.wantNext) {
				t.Errorf("first deadline %v, want %v", next, tc.wantNext)
			}
			if !st.UpdatedAt.Equal(tc.in.CreatedAt) {
				t.Errorf("UpdatedAt %v, want the creation %v", st.UpdatedAt, tc.in.CreatedAt)
			}
			// The workflow, run from the same input, first writes exactly
			// this state: a starter that writes it itself and delays the
			// workflow shows the same ticket.
			f, err := runWorkflow(t, tc.in, nil, closeAt(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.states) == 0 {
				t.Fatal("the workflow wrote no state")
			}
			if diff := cmp.Diff(f.states[0], st); diff != "" {
				t.Errorf("Opening differs from the workflow's first write (-workflow +Opening):\n%s", diff)
			}
		})
	}
	bad := testInput(t, monday10, 9)
	if _, _, err := Opening(bad); err == nil {
		t.Error("Opening accepted priority 9")
	}
}
