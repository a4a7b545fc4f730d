package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSplitTargets runs the ticket service and the gateway as separate
// servers, the way a cluster runs them, and uses the API through both.
func TestSplitTargets(t *testing.T) {
	// The gateway runs the identity module, which the backend asks about
	// every credential: its address is known before it starts, as a
	// Service's name is in a cluster.
	gwGRPC := freeAddr(t)
	backend := startServe(t, "--target=ticket", "--database-url="+pg.NewDatabase(t), "--services=iam="+gwGRPC)
	if backend.grpc == "" {
		t.Fatal("the ticket target reported no gRPC address")
	}
	// The backend serves probes and metrics but no REST API.
	backend.mustCall(t, 200, "GET", "/readyz", nil)
	backend.mustCall(t, 404, "GET", "/v1/tickets", nil, "Authorization", "")

	gw := startServe(t, "--target=gateway", "--grpc-addr="+gwGRPC, "--services=ticket="+backend.grpc)
	c := gw.create(t, map[string]any{"subject": "分开部署也能用"})
	if got := gw.mustCall(t, 200, "GET", "/v1/tickets/"+c.str("id"), nil); got.str("subject") != "分开部署也能用" {
		t.Errorf("read back %q", got.str("subject"))
	}
	gw.mustCall(t, 200, "GET", "/readyz", nil)
	gw.mustCall(t, 200, "GET", "/openapi.json", nil)
	// Without services.worker the gateway has no SLA routes.
	gw.mustCall(t, 404, "GET", "/v1/slaPolicies", nil)
	if m := gw.mustCall(t, 200, "GET", "/metrics", nil); !strings.Contains(string(m.body), "rpc_client_") {
		t.Errorf("gateway metrics lack gRPC client metrics")
	}

	// With the backend gone the gateway is alive but not ready.
	if err := backend.stop(); err != nil {
		t.Fatal(err)
	}
	gw.mustCall(t, 200, "GET", "/healthz", nil)
	if r := gw.call(t, "GET", "/readyz", nil); r.code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the ticket service down = %d %s, want 503", r.code, r.body)
	}
}

// TestShutdownEndsWatchers checks that an open event stream does not hold
// the server up: SIGTERM (here: context cancellation) ends the stream and
// shutdown completes. The shutdown timeout is an hour, so a stream that
// held the server up would make stop fail (startServe gives up after 20s)
// rather than merely slow it: the test asserts what happens, not how fast.
func TestShutdownEndsWatchers(t *testing.T) {
	srv := startServe(t, "--shutdown-timeout=1h")
	resp, err := http.Get(srv.base + "/v1/events:watch") //nolint:bodyclose // closed below, after a goroutine drains it
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	// The server has stopped, so the stream is over; the minute only
	// bounds a hang.
	select {
	case err := <-ended:
		t.Logf("the watch stream ended: %v", err)
	case <-time.After(time.Minute):
		t.Error("the watch stream is still open after shutdown")
	}
}

// TestTargetList runs two modules named in one --target and checks that
// the process serves what they register and nothing else.
func TestTargetList(t *testing.T) {
	gwGRPC := freeAddr(t)
	srv := startServe(t, "--target=worker,ticket", "--services=iam="+gwGRPC)
	if srv.grpc == "" {
		t.Fatal("no gRPC address reported")
	}
	srv.mustCall(t, 200, "GET", "/readyz", nil)
	// No gateway module: no REST routes.
	srv.mustCall(t, 404, "GET", "/v1/tickets", nil, "Authorization", "")

	// A gateway in another process reaches both through the services map.
	gw := startServe(t, "--target=gateway", "--grpc-addr="+gwGRPC, "--services=ticket="+srv.grpc+",worker="+srv.grpc)
	gw.create(t, map[string]any{"subject": "两个模块一个进程"})
	gw.mustCall(t, 200, "GET", "/v1/slaPolicies", nil)
	gw.mustCall(t, 200, "GET", "/readyz", nil)
}

// TestTargetErrors checks that a bad --target or a missing peer address
// stops start-up with a message naming the setting.
func TestTargetErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--target=ticket,billing"}, `target: "billing" is not a module; accepted: all, iam, ticket, worker, channel, routing, gateway`},
		{[]string{"--target=ticket", "--internal-token="}, "internalToken: is required with --target=ticket"},
		{[]string{"--target=ticket"}, "services.iam: is required with --target=ticket (ticket calls iam)"},
		{[]string{"--target=gateway"}, "services.ticket: is required with --target=gateway (gateway calls ticket)"},
		{[]string{"--target=worker", "--temporal-address=temporal:7233"}, "services.ticket: is required with --target=worker (worker calls ticket)"},
		{[]string{"--services=billing=b:9090"}, `services.billing: "billing" is not a module`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			err := run(t.Context(), append([]string{"serve", "--data-dir=" + t.TempDir(), "--internal-token=" + testInternalToken}, tt.args...), func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestServerFailureEndsProcess closes the gRPC listener under a running
// server: the process must end with an error that names the server,
// instead of living on with /healthz answering 200.
func TestServerFailureEndsProcess(t *testing.T) {
	grpcAddr := freeAddr(t)
	var (
		mu     sync.Mutex
		opened []net.Listener
	)
	listen = func(network, addr string) (net.Listener, error) {
		l, err := net.Listen(network, addr)
		if err == nil {
			mu.Lock()
			opened = append(opened, l)
			mu.Unlock()
		}
		return l, err
	}
	t.Cleanup(func() { listen = net.Listen })

	done := make(chan error, 1)
	out := &lockedBuffer{}
	go func() {
		done <- run(t.Context(), []string{"serve", "--http-addr=127.0.0.1:0", "--grpc-addr=" + grpcAddr, "--data-dir=" + t.TempDir(),
			"--temporal-address=none", "--target=ticket", "--internal-token=" + testInternalToken, "--services=iam=127.0.0.1:1"},
			func(string) string { return "" }, out, io.Discard)
	}()
	var grpcLis net.Listener
	for grpcLis == nil {
		select {
		case err := <-done:
			t.Fatalf("serve ended during start-up: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if !strings.Contains(out.String(), `"msg":"kubedesk started"`) {
			continue
		}
		mu.Lock()
		for _, l := range opened {
			if l.Addr().String() == grpcAddr {
				grpcLis = l
			}
		}
		mu.Unlock()
	}
	if err := grpcLis.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		want := "gRPC server on " + grpcAddr + " stopped"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("serve returned %v, want an error containing %q", err, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve still runs 30s after its gRPC listener closed")
	}
}

// lockedBuffer is an io.Writer a test reads while the server writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
