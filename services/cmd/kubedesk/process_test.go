package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// built is the kubedesk binary the process tests and benchmarks exec,
// built once per test run.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// kubedeskBinary builds the binary (static, as in the image) on first use.
func kubedeskBinary(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "kubedesk-test-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "kubedesk")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", built.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.path
}

// removeBinary deletes what kubedeskBinary built (from TestMain).
func removeBinary() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}

// process is a kubedesk binary running as its own process.
type process struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	grpc string // 127.0.0.1:port

	dataDir, databaseURL string
}

// instance is the process as the REST helpers (call, create, ...) take
// it, with API keys made in its identity store.
func (p *process) instance() *instance {
	return &instance{base: p.base, grpc: p.grpc, dataDir: p.dataDir, databaseURL: p.databaseURL, keys: map[string]string{}}
}

// startBinary execs `kubedesk serve` on free loopback ports with dataDir
// and extra args, and returns once /readyz answers 200.
func startBinary(tb testing.TB, bin, dataDir string, args ...string) *process {
	tb.Helper()
	httpAddr, grpcAddr := freeAddr(tb), freeAddr(tb)
	all := append([]string{"serve", "--http-addr=" + httpAddr, "--grpc-addr=" + grpcAddr, "--smtp-addr=" + freeAddr(tb), "--data-dir=" + dataDir, "--log-level=warn",
		"--internal-token=" + testInternalToken}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Stderr = os.Stderr
	cmd.Stdout = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &process{cmd: cmd, base: "http://" + httpAddr, grpc: flagValue(all, "grpc-addr"),
		dataDir: flagValue(all, "data-dir"), databaseURL: flagValue(all, "database-url")}
	// Ended before the test's temporary directories are removed; kill
	// and stop may also be called earlier.
	tb.Cleanup(p.kill)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			tb.Fatalf("kubedesk not ready after 30s: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rss reads the process's resident set size from /proc.
func (p *process) rss(tb testing.TB) int64 {
	tb.Helper()
	return readStatus(tb, p.cmd.Process.Pid, "VmRSS:")
}

// peakRSS reads the process's peak resident set size from /proc.
func (p *process) peakRSS(tb testing.TB) int64 {
	tb.Helper()
	return readStatus(tb, p.cmd.Process.Pid, "VmHWM:")
}

// cpuTime reads the CPU time (user and system) the process has used
// so far from /proc.
func (p *process) cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The command name (field 2) may hold spaces; the fields after it
	// start at the last ')'. utime and stime are fields 14 and 15, in
	// clock ticks of 1/100 s (USER_HZ on Linux).
	rest := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(rest) < 13 {
		tb.Fatalf("/proc/%d/stat: too few fields", p.cmd.Process.Pid)
	}
	utime, _ := strconv.ParseInt(rest[11], 10, 64)
	stime, _ := strconv.ParseInt(rest[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func readStatus(tb testing.TB, pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	tb.Fatalf("no %s in /proc status", field)
	return 0
}

// kill ends the process at once (SIGKILL): nothing is flushed or closed.
func (p *process) kill() {
	if p.cmd.ProcessState != nil {
		return // ended already
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// stop ends the process gracefully (SIGTERM) and waits for it.
func (p *process) stop(tb testing.TB) {
	tb.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			tb.Errorf("kubedesk exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		p.kill()
		tb.Error("kubedesk did not stop within 30s of SIGTERM")
	}
}

func freeAddr(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
