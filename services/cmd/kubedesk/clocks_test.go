package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The tests in this file run the SLA clocks end to end on the built binary
// (not in-process, so that they can kill it, and so that the race detector
// of the test binary does not slow the embedded Temporal server): tickets
// over REST, the relay, SLAEscalationWorkflow on the embedded server, and
// the state written back to the ticket.

// clockPolicy gives P1 and P2 a 2 s first response and P3 a 6 s one, around the
// clock, warning at half-time.
const clockPolicy = `apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: fast, namespace: acme}
spec:
  tenantRef: {name: acme}
  calendar: {timeZone: Asia/Shanghai}
  targets:
    - {priority: P1, firstResponse: 2s, resolution: 1h, businessHours: false}
    - {priority: P2, firstResponse: 2s, resolution: 1h, businessHours: false}
    - {priority: P3, firstResponse: 6s, resolution: 1h, businessHours: false}
  warningThresholdPercent: 50
  breachActions:
    - {type: notify, recipients: [assignee, group]}
    - {type: reassign, group: escalation}
    - {type: raisePriority}
`

// afterDue is how long past a due instant the tests wait before they
// check that a clock did not breach. How late a breach shows is a latency,
// not asserted here: BenchmarkSLABreaches measures it (docs/benchmarks.md).
const afterDue = time.Second

// midClock is how long after a clock first shows the restart tests kill
// the process: by then the workflow has set its timer. (A worker killed
// while it holds a workflow task delays that workflow by the task timeout,
// relay.WorkflowTaskTimeout.)
const midClock = 500 * time.Millisecond

var acme = []string{"X-Kubedesk-Tenant", "acme"}

func writeClockConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "kubedesk.yaml")
	if err := os.WriteFile(path, []byte(clockPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startAllInOne runs `kubedesk serve` (all targets, embedded Temporal) on
// dataDir with the clock policy.
func startAllInOne(t *testing.T, dataDir string) (*process, *instance) {
	t.Helper()
	p := startBinary(t, kubedeskBinary(t), dataDir,
		"--config="+writeClockConfig(t, dataDir), "--temporal-listen-addr=127.0.0.1:0")
	return p, p.instance()
}

// clock is one SLA clock as REST shows it.
type clock struct {
	State, Colour string
	Due, Breach   time.Time
}

// ticketView is what the tests read of a ticket.
type ticketView struct {
	Group, Priority, Status string
	FirstResponse           clock
	SLAColour               string
	// SLAUpdate is when the worker computed the SLA state (workflow time).
	SLAUpdate time.Time
}

func getTicket(t *testing.T, srv *instance, id string) ticketView {
	t.Helper()
	r := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil, acme...)
	v := ticketView{Group: r.str("group"), Priority: r.str("priority"), Status: r.str("status")}
	s, _ := r.json["sla"].(map[string]any)
	v.SLAColour, _ = s["colour"].(string)
	v.SLAUpdate = parseTime(s["updateTime"])
	clocks, _ := s["clocks"].([]any)
	for _, c := range clocks {
		c := c.(map[string]any)
		if c["clock"] != "SLA_CLOCK_FIRST_RESPONSE" {
			continue
		}
		v.FirstResponse.State, _ = c["state"].(string)
		v.FirstResponse.Colour, _ = c["colour"].(string)
		v.FirstResponse.Due, v.FirstResponse.Breach = parseTime(c["dueTime"]), parseTime(c["breachTime"])
	}
	return v
}

// parseTime reads a JSON timestamp; anything else is the zero time.
func parseTime(v any) time.Time {
	s, _ := v.(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// createTicket opens a ticket with the given impact and urgency (P2: 1/2,
// P3: 2/2 in the default matrix) and returns its ID and creation time.
func createTicket(t *testing.T, srv *instance, impact, urgency int) (string, time.Time) {
	t.Helper()
	r := srv.create(t, map[string]any{
		"subject": "打印机坏了 printer down", "impact": impact, "urgency": urgency,
		"group": "support", "assignee": "li.na",
		"requester": map[string]any{"email": "wang@example.com"},
	}, acme...)
	created, err := time.Parse(time.RFC3339Nano, r.str("createTime"))
	if err != nil {
		t.Fatal(err)
	}
	return r.str("id"), created
}

// waitFor polls the ticket until cond holds, returning the ticket and the
// instant it was first seen so; it fails after timeout.
func waitFor(t *testing.T, srv *instance, id string, timeout time.Duration, what string, cond func(ticketView) bool) (ticketView, time.Time) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last ticketView
	for {
		v := getTicket(t, srv, id)
		if v != last {
			t.Logf("%s ticket %s: %+v", time.Now().Format("15:04:05.000"), id, v)
			last = v
		}
		if cond(v) {
			return v, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket %s: %s not seen within %v; last %+v", id, what, timeout, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// escalatedTo reports a breach whose actions have all run: reassigned to
// the escalation group and raised to priority.
func escalatedTo(priority string) func(ticketView) bool {
	return func(v ticketView) bool {
		return v.FirstResponse.State == "SLA_STATE_BREACHED" && v.Group == "escalation" && v.Priority == priority
	}
}

// checkOnTime fails unless the breach v shows, seen at seen, is recorded
// at its due instant and was not seen before it. (How late after it the
// breach showed is logged; the benchmark measures it.)
func checkOnTime(t *testing.T, due time.Time, v ticketView, seen time.Time) {
	t.Helper()
	t.Logf("breach seen %v after its due instant", seen.Sub(due).Round(time.Millisecond))
	if !v.FirstResponse.Breach.Equal(due) {
		t.Errorf("breach recorded at %v, want its due instant %v", v.FirstResponse.Breach.Format(time.RFC3339Nano), due.Format(time.RFC3339Nano))
	}
	if seen.Before(due) {
		t.Errorf("breach seen at %v, before its due instant %v", seen.Format(time.RFC3339Nano), due.Format(time.RFC3339Nano))
	}
}

func TestSLAClocksOnEmbeddedTemporal(t *testing.T) {
	_, srv := startAllInOne(t, t.TempDir())

	t.Run("no reply turns yellow, then red and escalates on time", func(t *testing.T) {
		t.Parallel()
		id, created := createTicket(t, srv, 1, 2) // P2: first response 2 s
		due := created.Add(2 * time.Second)
		yellow, _ := waitFor(t, srv, id, 5*time.Second, "warning", func(v ticketView) bool {
			return v.FirstResponse.State != "" && v.FirstResponse.State != "SLA_STATE_OK"
		})
		if yellow.FirstResponse.State != "SLA_STATE_WARNING" || yellow.FirstResponse.Colour != "SLA_COLOUR_YELLOW" {
			t.Errorf("after ok, first response went %s/%s; want the warning (yellow) first", yellow.FirstResponse.State, yellow.FirstResponse.Colour)
		}
		// The worker computed the warning at the 50% threshold, not before.
		if threshold := created.Add(time.Second); yellow.SLAUpdate.Before(threshold) {
			t.Errorf("warning computed at %v, before the 50%% threshold %v", yellow.SLAUpdate.Format(time.RFC3339Nano), threshold.Format(time.RFC3339Nano))
		}
		if !yellow.FirstResponse.Due.Equal(due) {
			t.Errorf("first response due %v, want %v", yellow.FirstResponse.Due, due)
		}
		red, seen := waitFor(t, srv, id, 5*time.Second, "breach and escalation", escalatedTo("PRIORITY_P1"))
		checkOnTime(t, due, red, seen)
		if red.FirstResponse.Colour != "SLA_COLOUR_RED" || red.SLAColour != "SLA_COLOUR_RED" {
			t.Errorf("breached ticket colours: clock %s, ticket %s; want red", red.FirstResponse.Colour, red.SLAColour)
		}
		// The note follows the breach's state write (its own activity):
		// wait for it rather than read once.
		var notes response
		found := false
		for deadline := time.Now().Add(5 * time.Second); !found && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			notes = srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id+"/comments", nil, acme...)
			for _, c := range notes.json["comments"].([]any) {
				c := c.(map[string]any)
				found = found || c["author"] == "SLA" && c["visibility"] == "VISIBILITY_INTERNAL"
			}
		}
		if !found {
			t.Errorf("no internal SLA note among the comments within 5s of the breach: %s", notes.body)
		}
		list := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets?filter="+url.QueryEscape("sla = breached"), nil, acme...)
		if !containsTicket(list, id) {
			t.Errorf("filter sla = breached does not list %s: %s", id, list.body)
		}
	})

	t.Run("a reply before the due time meets the target", func(t *testing.T) {
		t.Parallel()
		id, created := createTicket(t, srv, 1, 2)
		time.Sleep(300 * time.Millisecond)
		srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+id+"/comments",
			map[string]any{"author": "li.na", "authorType": "AUTHOR_TYPE_AGENT", "body": "我们正在处理 on it"}, acme...)
		waitFor(t, srv, id, 5*time.Second, "first response met", func(v ticketView) bool {
			return v.FirstResponse.State == "SLA_STATE_MET"
		})
		time.Sleep(time.Until(created.Add(2*time.Second + afterDue)))
		if v := getTicket(t, srv, id); v.FirstResponse.State != "SLA_STATE_MET" || v.Group != "support" || v.Priority != "PRIORITY_P2" {
			t.Errorf("after the due time: %+v; want met, group support, P2", v)
		}
	})

	t.Run("pending pauses the clock", func(t *testing.T) {
		t.Parallel()
		id, created := createTicket(t, srv, 1, 2)
		srv.mustCall(t, http.StatusOK, "PATCH", "/v1/tickets/"+id+"?update_mask=status",
			map[string]any{"status": "STATUS_PENDING"}, acme...)
		waitFor(t, srv, id, 5*time.Second, "paused", func(v ticketView) bool {
			return v.FirstResponse.State == "SLA_STATE_PAUSED"
		})
		time.Sleep(time.Until(created.Add(2*time.Second + afterDue)))
		if v := getTicket(t, srv, id); v.FirstResponse.State != "SLA_STATE_PAUSED" || v.Group != "support" {
			t.Fatalf("past the unpaused due time: %+v; want still paused, group support", v)
		}
		reopened := srv.mustCall(t, http.StatusOK, "PATCH", "/v1/tickets/"+id+"?update_mask=status",
			map[string]any{"status": "STATUS_OPEN"}, acme...)
		resumed := parseTime(reopened.json["updateTime"])
		running, _ := waitFor(t, srv, id, 5*time.Second, "running again", func(v ticketView) bool {
			return v.FirstResponse.State == "SLA_STATE_OK" || v.FirstResponse.State == "SLA_STATE_WARNING"
		})
		// Had the pause not stopped the clock, it would have fallen due
		// at creation + 2s, before the ticket was reopened; it falls due
		// after the reopening instead, with the time it had left.
		if !running.FirstResponse.Due.After(resumed) {
			t.Errorf("resumed clock due %v, not after the reopening at %v: the pause did not stop it", running.FirstResponse.Due, resumed)
		}
		red, seen := waitFor(t, srv, id, 5*time.Second, "breach after resume", escalatedTo("PRIORITY_P1"))
		checkOnTime(t, running.FirstResponse.Due, red, seen)
	})
}

// TestSLAClockSurvivesKill kills the all-in-one process (SIGKILL) while a
// clock runs: after a restart on the same data directory the breach still
// comes at its original instant.
func TestSLAClockSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	p, srv := startAllInOne(t, dir)
	id, created := createTicket(t, srv, 2, 2) // P3: first response 6 s
	waitFor(t, srv, id, 5*time.Second, "clock running", func(v ticketView) bool { return v.FirstResponse.State == "SLA_STATE_OK" })
	time.Sleep(midClock)
	p.kill()
	p, srv = startAllInOne(t, dir)
	defer p.stop(t)
	red, seen := waitFor(t, srv, id, 15*time.Second, "breach after restart", escalatedTo("PRIORITY_P2"))
	checkOnTime(t, created.Add(6*time.Second), red, seen)
}

// TestSLAWorkerRestart runs the worker as its own process beside an
// all-in-one that runs no clocks, kills the worker mid-clock and starts it
// again: the relay resumes from its cursor and the breach comes on time.
func TestSLAWorkerRestart(t *testing.T) {
	bin := kubedeskBinary(t)
	desk := startBinary(t, bin, t.TempDir(), "--temporal-address=none")
	defer desk.stop(t)
	srv := desk.instance()
	workerDir := t.TempDir()
	startWorker := func() *process {
		return startBinary(t, bin, workerDir, "--target=worker", "--services=ticket="+desk.grpc+",iam="+desk.grpc,
			"--config="+writeClockConfig(t, workerDir), "--temporal-listen-addr=127.0.0.1:0")
	}
	w := startWorker()
	id, created := createTicket(t, srv, 2, 2) // P3: first response 6 s
	waitFor(t, srv, id, 5*time.Second, "clock running", func(v ticketView) bool { return v.FirstResponse.State == "SLA_STATE_OK" })
	time.Sleep(midClock)
	w.kill()
	// A ticket created while the worker is down gets its clock from the
	// relay's catch-up after the restart.
	late, lateCreated := createTicket(t, srv, 1, 2) // P2: 2 s
	began := time.Now()
	w = startWorker()
	t.Logf("worker restarted in %v", time.Since(began))
	defer w.stop(t)
	red, seen := waitFor(t, srv, id, 15*time.Second, "breach after worker restart", escalatedTo("PRIORITY_P2"))
	checkOnTime(t, created.Add(6*time.Second), red, seen)
	v, _ := waitFor(t, srv, late, 15*time.Second, "breach of the ticket created while down", escalatedTo("PRIORITY_P1"))
	if !v.FirstResponse.Due.Equal(lateCreated.Add(2 * time.Second)) {
		t.Errorf("ticket created while the worker was down: due %v, want %v", v.FirstResponse.Due, lateCreated.Add(2*time.Second))
	}
}

func containsTicket(list response, id string) bool {
	tickets, _ := list.json["tickets"].([]any)
	for _, x := range tickets {
		if x.(map[string]any)["id"] == id {
			return true
		}
	}
	return false
}

// TestSLAPolicyChangeAppliesToRunning edits the config file while a clock
// runs: a policy marked applyToRunning moves the running clock's due time,
// the time already used staying counted.
func TestSLAPolicyChangeAppliesToRunning(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kubedesk.yaml")
	policy := func(firstResponse string) string {
		return `apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: live, namespace: acme}
spec:
  tenantRef: {name: acme}
  applyToRunning: true
  calendar: {timeZone: Asia/Shanghai}
  targets:
    - {priority: P3, firstResponse: ` + firstResponse + `, resolution: 1h, businessHours: false}
  breachActions:
    - {type: reassign, group: escalation}
`
	}
	writeFile(t, file, policy("1h"))
	p := startBinary(t, kubedeskBinary(t), dir, "--config="+file, "--temporal-listen-addr=127.0.0.1:0")
	defer p.stop(t)
	srv := p.instance()
	id, created := createTicket(t, srv, 2, 2) // P3
	waitFor(t, srv, id, 5*time.Second, "clock running", func(v ticketView) bool { return v.FirstResponse.State == "SLA_STATE_OK" })

	writeFile(t, file, policy("8s"))
	v, _ := waitFor(t, srv, id, 8*time.Second, "the new target", func(v ticketView) bool {
		return v.FirstResponse.Due.Equal(created.Add(8 * time.Second))
	})
	if v.FirstResponse.State == "SLA_STATE_BREACHED" {
		t.Fatalf("the new target applied too late to tell: %+v", v)
	}
	red, seen := waitFor(t, srv, id, 10*time.Second, "breach under the new target", func(v ticketView) bool {
		return v.FirstResponse.State == "SLA_STATE_BREACHED" && v.Group == "escalation"
	})
	checkOnTime(t, created.Add(8*time.Second), red, seen)
}
