package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSplitTargets runs the ticket service and the gateway as separate
// servers, the way a cluster runs them, and uses the API through both.
func TestSplitTargets(t *testing.T) {
	backend := startServe(t, "--target=ticket", "--database-url="+pg.NewDatabase(t))
	if backend.grpc == "" {
		t.Fatal("the ticket target reported no gRPC address")
	}
	// The backend serves probes and metrics but no REST API.
	backend.mustCall(t, 200, "GET", "/readyz", nil)
	backend.mustCall(t, 404, "GET", "/v1/tickets", nil)

	gw := startServe(t, "--target=gateway", "--ticket-addr="+backend.grpc)
	c := gw.create(t, map[string]any{"subject": "分开部署也能用"})
	if got := gw.mustCall(t, 200, "GET", "/v1/tickets/"+c.str("id"), nil); got.str("subject") != "分开部署也能用" {
		t.Errorf("read back %q", got.str("subject"))
	}
	gw.mustCall(t, 200, "GET", "/readyz", nil)
	gw.mustCall(t, 200, "GET", "/openapi.json", nil)
	// Without --worker-addr the gateway has no SLA routes.
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
