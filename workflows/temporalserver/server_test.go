package temporalserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kubedesk/kubedesk/workflows/temporalserver"
)

const (
	namespace = "kubedesk-test"

	// timerAhead is how far ahead of its start a test workflow's deadline
	// lies: room for the first workflow task (which starts the timer; slow
	// under -race) and for a server restart before the deadline.
	timerAhead = 3 * time.Second

	// restartAhead is the lead for the restart tests: a stop and a start
	// (a cold one under -race on a busy 2-core CI machine) must fit before
	// the deadline, or the test would measure the restart, not the timer.
	restartAhead = 10 * time.Second

	// childDataDirEnv makes the test binary a child process that runs a
	// server on that DataDir (see runChild).
	childDataDirEnv = "TEMPORALSERVER_TEST_CHILD_DATADIR"
)

// shared is the in-memory server of the tests that need no restart.
var shared *temporalserver.Server

// logger shows the servers' warnings and errors in the test output.
var logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDataDirEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := temporalserver.Start(ctx, temporalserver.Options{
		FrontendAddr: "127.0.0.1:0",
		Namespaces:   []string{namespace},
		Logger:       logger,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the shared Temporal server:", err)
		return 1
	}
	shared = srv
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop the shared Temporal server:", err)
		return 1
	}
	return code
}

// SleepUntil sleeps until deadline and returns the workflow time it woke at.
// The sleep is computed from the absolute deadline when the workflow runs,
// never from a duration fixed at start: the timer only starts with the first
// workflow task, and after a restart the remaining time is what counts.
func SleepUntil(ctx workflow.Context, deadline time.Time) (time.Time, error) {
	if d := deadline.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return time.Time{}, err
		}
	}
	return workflow.Now(ctx), nil
}

func TestTimerWorkflowCompletes(t *testing.T) {
	c := dial(t, shared.FrontendAddr())
	startWorker(t, c, t.Name())
	deadline := time.Now().Add(timerAhead)
	run := startSleep(t, c, t.Name(), deadline)

	woke := result(t, run)
	fired := timerFired(t, c, run)
	t.Logf("timer fired %v after its deadline; the workflow woke %v after it", fired.Sub(deadline), woke.Sub(deadline))
	checkOnTime(t, deadline, fired)
}

func TestTwoServersSideBySide(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	other, err := temporalserver.Start(ctx, temporalserver.Options{FrontendAddr: "127.0.0.1:0", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, other)
	if other.FrontendAddr() == shared.FrontendAddr() {
		t.Fatalf("both servers on %s", other.FrontendAddr())
	}

	// The default namespace exists on the second server only: their
	// databases are distinct.
	c, err := client.DialContext(ctx, client.Options{HostPort: other.FrontendAddr(), Logger: sdkLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	startWorker(t, c, t.Name())
	deadline := time.Now().Add(timerAhead)
	run := startSleep(t, c, t.Name(), deadline)
	result(t, run)
	checkOnTime(t, deadline, timerFired(t, c, run))

	nc, err := client.NewNamespaceClient(client.Options{HostPort: shared.FrontendAddr(), Logger: sdkLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, err = nc.Describe(ctx, temporalserver.DefaultNamespace)
	var notFound *serviceerror.NamespaceNotFound
	if !errors.As(err, &notFound) {
		t.Errorf("describe namespace %q on the shared server: err = %v, want NamespaceNotFound", temporalserver.DefaultNamespace, err)
	}
}

// TestRestartAfterStop stops the server while a timer runs, starts it again
// on the same DataDir in the same process and checks the timer fires on time.
func TestRestartAfterStop(t *testing.T) {
	dir := t.TempDir()
	opts := temporalserver.Options{DataDir: dir, FrontendAddr: "127.0.0.1:0", Namespaces: []string{namespace}, Logger: logger}
	began := time.Now()
	srv, err := temporalserver.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first start (schema created) took %v", time.Since(began))

	c := dial(t, srv.FrontendAddr())
	w := startWorker(t, c, t.Name())
	deadline := time.Now().Add(restartAhead)
	run := startSleep(t, c, t.Name(), deadline)
	waitTimerStarted(t, c, run)

	// Down goes everything, worker first, as when the process ends.
	w.Stop()
	c.Close()
	began = time.Now()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop took %v", time.Since(began))

	began = time.Now()
	srv, err = temporalserver.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, srv)
	checkResumed(t, srv, run, deadline, began)
}

// TestRestartAfterKill runs the server in a child process, kills it with
// SIGKILL while a timer runs (a crash: nothing is shut down), starts a server
// on the same DataDir here and checks the timer fires on time.
func TestRestartAfterKill(t *testing.T) {
	dir := t.TempDir()
	child := startChild(t, dir)
	t.Logf("child process: server started in %v, VmRSS %d MiB after start (peak %d MiB)",
		child.report.Startup, child.report.RSSKiB/1024, child.report.HWMKiB/1024)

	c := dial(t, child.report.Addr)
	w := startWorker(t, c, t.Name())
	deadline := time.Now().Add(restartAhead)
	run := startSleep(t, c, t.Name(), deadline)
	waitTimerStarted(t, c, run)

	child.kill(t)
	w.Stop()
	c.Close()

	began := time.Now()
	srv, err := temporalserver.Start(t.Context(), temporalserver.Options{
		DataDir: dir, FrontendAddr: "127.0.0.1:0", Namespaces: []string{namespace}, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, srv)
	checkResumed(t, srv, run, deadline, began)
}

// checkResumed checks, after a restart begun at restarted, that the
// workflow run carries on with a new worker and its timer fires at its
// deadline: not before it, and before a timer that had started afresh at
// the restart (the whole restartAhead lead again) would fire.
func checkResumed(t *testing.T, srv *temporalserver.Server, run client.WorkflowRun, deadline, restarted time.Time) {
	t.Helper()
	t.Logf("restart took %v; %v left before the deadline", time.Since(restarted), time.Until(deadline))
	if time.Until(deadline) <= 0 {
		t.Fatalf("the restart outlasted the %v lead, so the test cannot tell a timer on time from one fired at restart", restartAhead)
	}
	c := dial(t, srv.FrontendAddr())
	startWorker(t, c, t.Name())
	run = c.GetWorkflow(t.Context(), run.GetID(), run.GetRunID())
	woke := result(t, run)
	fired := timerFired(t, c, run)
	t.Logf("after the restart the timer fired %v after its deadline; the workflow woke %v after it", fired.Sub(deadline), woke.Sub(deadline))
	checkOnTime(t, deadline, fired)
	if afresh := restarted.Add(restartAhead); !fired.Before(afresh) {
		t.Errorf("timer fired at %s, not before %s when a timer started afresh at the restart would: the restart lost its deadline",
			fired.Format(time.RFC3339Nano), afresh.Format(time.RFC3339Nano))
	}
}

// TestNoVersionCheck checks that the server does not call home: Temporal's
// frontend runs a loop that posts to version-info.temporal.io unless
// dynamic config turns it off.
func TestNoVersionCheck(t *testing.T) {
	var stacks bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&stacks, 1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stacks.String(), "go.temporal.io/server/service/frontend") {
		t.Fatal("no frontend goroutine in this process: the check below would prove nothing")
	}
	if strings.Contains(stacks.String(), "VersionChecker).versionCheckLoop") {
		t.Error("the frontend runs its version check, which calls version-info.temporal.io")
	}
}

func TestDataDirUsedOnce(t *testing.T) {
	dir := t.TempDir()
	srv, err := temporalserver.Start(t.Context(), temporalserver.Options{DataDir: dir, FrontendAddr: "127.0.0.1:0", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, srv)

	_, err = temporalserver.Start(t.Context(), temporalserver.Options{DataDir: dir, FrontendAddr: "127.0.0.1:0", Logger: logger})
	if err == nil || !strings.Contains(err.Error(), "in use by another Temporal server") {
		t.Fatalf("second Start on one DataDir: err = %v, want it refused as in use", err)
	}
}

func TestStartRefusesPortInUse(t *testing.T) {
	_, err := temporalserver.Start(t.Context(), temporalserver.Options{FrontendAddr: shared.FrontendAddr(), Logger: logger})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start on the shared server's port: err = %v, want address already in use", err)
	}
}

func TestOptionsRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts temporalserver.Options
		want string
	}{
		{"no port", temporalserver.Options{FrontendAddr: "127.0.0.1"}, `Options.FrontendAddr "127.0.0.1": want host:port`},
		{"no host", temporalserver.Options{FrontendAddr: ":7233"}, `Options.FrontendAddr ":7233": host must be an IP address`},
		{"host name", temporalserver.Options{FrontendAddr: "temporal.example.com:7233"}, `Options.FrontendAddr "temporal.example.com:7233": host must be an IP address`},
		{"port too large", temporalserver.Options{FrontendAddr: "127.0.0.1:70000"}, `Options.FrontendAddr "127.0.0.1:70000": port must be a number from 0`},
		{"empty namespace", temporalserver.Options{Namespaces: []string{"a", ""}}, `Options.Namespaces[1] "": want a non-empty name`},
		{"spaced namespace", temporalserver.Options{Namespaces: []string{" a"}}, `Options.Namespaces[0] " a": want a non-empty name without surrounding spaces`},
		{"system namespace", temporalserver.Options{Namespaces: []string{"temporal-system"}}, `Options.Namespaces[0] "temporal-system": the name is reserved`},
		{"duplicate namespace", temporalserver.Options{Namespaces: []string{"a", "b", "a"}}, `Options.Namespaces[2] "a": listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := temporalserver.Start(t.Context(), tc.opts)
			if err == nil {
				_ = srv.Stop()
				t.Fatalf("Start(%+v) succeeded, want an error containing %q", tc.opts, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start(%+v) = %q, want it to contain %q", tc.opts, err, tc.want)
			}
		})
	}
}

func TestStartHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := temporalserver.Start(ctx, temporalserver.Options{FrontendAddr: "127.0.0.1:0", Logger: logger})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a cancelled context: err = %v, want context.Canceled", err)
	}

	// A deadline that passes during the start: Start returns, the server is
	// stopped in the background and its DataDir released.
	dir := t.TempDir()
	ctx, cancel = context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	_, err = temporalserver.Start(ctx, temporalserver.Options{DataDir: dir, FrontendAddr: "127.0.0.1:0", Logger: logger})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with a 1 ms deadline: err = %v, want context.DeadlineExceeded", err)
	}
	for range 300 {
		srv, err := temporalserver.Start(t.Context(), temporalserver.Options{DataDir: dir, FrontendAddr: "127.0.0.1:0", Logger: logger})
		if err == nil {
			stop(t, srv)
			return
		}
		if !strings.Contains(err.Error(), "in use by another Temporal server") {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the DataDir of a start cut short by its context was not released in 30 s")
}

// BenchmarkStart starts servers in child processes, first on a fresh DataDir
// (the schema is created) then again on it after a SIGKILL, and reports the
// start-up times and the child's resident memory once started.
func BenchmarkStart(b *testing.B) {
	var first, restart time.Duration
	var rss, hwm int64
	n := 0
	for b.Loop() {
		dir := b.TempDir()
		c := startChild(b, dir)
		first += c.report.Startup
		c.kill(b)
		c = startChild(b, dir)
		restart += c.report.Startup
		rss += c.report.RSSKiB
		hwm += c.report.HWMKiB
		c.kill(b)
		n++
	}
	b.ReportMetric(float64((first / time.Duration(n)).Milliseconds()), "first-start-ms")
	b.ReportMetric(float64((restart / time.Duration(n)).Milliseconds()), "restart-ms")
	b.ReportMetric(float64(rss/int64(n))/1024, "rss-MiB")
	b.ReportMetric(float64(hwm/int64(n))/1024, "peak-rss-MiB")
}

// childReport is what a child process prints once its server has started.
type childReport struct {
	Addr    string        `json:"addr"`
	Startup time.Duration `json:"startup"`
	RSSKiB  int64         `json:"rssKiB"`
	HWMKiB  int64         `json:"hwmKiB"`
}

// runChild is the child process: it starts a server on dir, reports on
// stdout and runs until stdin closes or it is killed.
func runChild(dir string) int {
	began := time.Now()
	srv, err := temporalserver.Start(context.Background(), temporalserver.Options{
		DataDir: dir, FrontendAddr: "127.0.0.1:0", Namespaces: []string{namespace}, Logger: logger,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	report := childReport{Addr: srv.FrontendAddr(), Startup: time.Since(began)}
	report.RSSKiB, report.HWMKiB, err = memory()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// memory returns VmRSS and VmHWM (peak RSS) of this process in KiB.
func memory() (rss, hwm int64, err error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, fmt.Errorf("read memory use: %w", err)
	}
	for line := range strings.Lines(string(status)) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s: %w", strings.TrimSpace(line), err)
		}
		if name == "VmRSS" {
			rss = kib
		} else {
			hwm = kib
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, errors.New("no VmRSS or VmHWM in /proc/self/status")
	}
	return rss, hwm, nil
}

type child struct {
	cmd    *exec.Cmd
	report childReport
}

// startChild runs this test binary as a child process serving dir and waits
// for its report.
func startChild(tb testing.TB, dir string) *child {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childDataDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // closed by the child's death or by kill
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: cmd}
	tb.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		tb.Fatalf("child process gave no report: %v", err)
	}
	if err := json.Unmarshal(line, &c.report); err != nil {
		tb.Fatalf("child process report %q: %v", line, err)
	}
	return c
}

// kill sends SIGKILL to the child and waits for it to die.
func (c *child) kill(tb testing.TB) {
	tb.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		tb.Fatal(err)
	}
	_ = c.cmd.Wait() // "signal: killed"
}

// sdkLogger is the SDK clients' and workers': errors only, as they warn on
// every poll while a server restarts.
var sdkLogger = sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))

func dial(t *testing.T, addr string) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: namespace, Logger: sdkLogger})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

func startWorker(t *testing.T, c client.Client, taskQueue string) worker.Worker {
	t.Helper()
	w := worker.New(c, taskQueue, worker.Options{WorkflowPanicPolicy: worker.FailWorkflow})
	w.RegisterWorkflow(SleepUntil)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return w
}

func startSleep(t *testing.T, c client.Client, taskQueue string, deadline time.Time) client.WorkflowRun {
	t.Helper()
	run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{
		ID:        "sleep-" + t.Name(),
		TaskQueue: taskQueue,
	}, SleepUntil, deadline)
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	return run
}

func result(t *testing.T, run client.WorkflowRun) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var woke time.Time
	if err := run.Get(ctx, &woke); err != nil {
		t.Fatalf("workflow %s: %v", run.GetID(), err)
	}
	return woke
}

// timerFired returns when the server fired the workflow's timer, from its
// history.
func timerFired(t *testing.T, c client.Client, run client.WorkflowRun) time.Time {
	t.Helper()
	it := c.GetWorkflowHistory(t.Context(), run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", run.GetID(), err)
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
			return e.GetEventTime().AsTime()
		}
	}
	t.Fatalf("history of %s has no TimerFired event", run.GetID())
	return time.Time{}
}

// waitTimerStarted waits until the workflow's timer is recorded, so that
// what a restart has to keep is a running timer.
func waitTimerStarted(t *testing.T, c client.Client, run client.WorkflowRun) {
	t.Helper()
	for range 100 {
		it := c.GetWorkflowHistory(t.Context(), run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatalf("history of %s: %v", run.GetID(), err)
			}
			if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("workflow %s started no timer in 2 s", run.GetID())
}

// checkOnTime checks that the timer fired at or after its deadline, never
// before. How late after it is a latency, not asserted: the tests log it
// (docs/benchmarks.md quotes it), and the SLA benchmark in make bench
// measures breach lateness end to end.
func checkOnTime(t *testing.T, deadline, fired time.Time) {
	t.Helper()
	if fired.Before(deadline) {
		t.Errorf("timer fired at %s, %v before its deadline %s", fired.Format(time.RFC3339Nano), deadline.Sub(fired), deadline.Format(time.RFC3339Nano))
	}
}

func stop(t *testing.T, srv *temporalserver.Server) {
	t.Helper()
	if err := srv.Stop(); err != nil {
		t.Error(err)
	}
}
