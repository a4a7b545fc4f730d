package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// instance is a `kubedesk serve` started in-process on free ports.
type instance struct {
	base string // http://127.0.0.1:port
	grpc string // 127.0.0.1:port, when the target runs gRPC services
	smtp string // 127.0.0.1:port, when the target receives mail
	stop func() error

	// Where its identity store is: API keys for the tests are made there.
	dataDir, databaseURL string

	mu   sync.Mutex
	keys map[string]string // tenant/role -> API key

	// logs is everything the server logged.
	logs *lockedBuffer
}

// testInternalToken is the internal token the tests' split deployments
// share.
const testInternalToken = "kds_test-internal-token-0123456789abcdef"

// startServe runs `kubedesk serve` with args on free loopback ports and a
// fresh data directory, and waits until it has started.
func startServe(t testing.TB, args ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	// No SLA clocks unless a test asks for them (--temporal-address=):
	// an embedded Temporal server per test would cost a second and 150 MB.
	full := append([]string{
		"serve", "--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--data-dir=" + t.TempDir(), "--log-level=info",
		"--temporal-address=none", "--temporal-listen-addr=127.0.0.1:0", "--internal-token=" + testInternalToken,
		"--smtp-addr=127.0.0.1:0",
	}, args...)
	dataDir, databaseURL := flagValue(full, "data-dir"), flagValue(full, "database-url")
	done := make(chan error, 1)
	go func() {
		err := run(ctx, full, func(string) string { return "" }, pw, io.Discard)
		_ = pw.CloseWithError(fmt.Errorf("serve returned: %w", err))
		done <- err
	}()
	started := make(chan map[string]any, 1)
	logs := &lockedBuffer{}
	go func() {
		sc := bufio.NewScanner(io.TeeReader(pr, logs))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "kubedesk started" {
				started <- rec
			}
			if strings.Contains(sc.Text(), `"level":"ERROR"`) {
				t.Logf("server: %s", sc.Text())
			}
		}
	}()
	var inst *instance
	select {
	case rec := <-started:
		grpcAddr, _ := rec["grpc"].(string)
		smtpAddr, _ := rec["smtp"].(string)
		inst = &instance{base: "http://" + rec["http"].(string), grpc: grpcAddr, smtp: smtpAddr,
			dataDir: dataDir, databaseURL: databaseURL, keys: map[string]string{}, logs: logs}
	case err := <-done:
		cancel()
		t.Fatalf("serve %v exited during start-up: %v", args, err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve %v did not start within 30s", args)
	}
	var once sync.Once
	var stopErr error
	inst.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(20 * time.Second):
				stopErr = errors.New("serve did not stop within 20s of cancellation")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := inst.stop(); err != nil {
			t.Errorf("stopping serve: %v", err)
		}
	})
	return inst
}

// response is a decoded REST reply.
type response struct {
	code   int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r response) str(key string) string {
	s, _ := r.json[key].(string)
	return s
}

// flagValue is the last value args give the flag --name=value.
func flagValue(args []string, name string) string {
	v := ""
	for _, a := range args {
		if after, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			v = after
		}
	}
	return v
}

// key returns an admin API key of tenantID: the one the first start wrote
// to admin.key for the default tenant, else one `kubedesk apikey create`
// makes in the instance's identity store.
func (in *instance) key(t testing.TB, tenantID string) string {
	return in.roleKey(t, tenantID, "admin")
}

// roleKey returns an API key of tenantID with role, made once.
func (in *instance) roleKey(t testing.TB, tenantID, role string) string {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	id := tenantID + "/" + role
	if k, ok := in.keys[id]; ok {
		return k
	}
	var k string
	if id == "default/admin" {
		raw, err := os.ReadFile(filepath.Join(in.dataDir, "admin.key"))
		if err != nil {
			t.Fatalf("the first start wrote no admin key: %v", err)
		}
		k = strings.TrimSpace(string(raw))
	} else {
		k = createKey(t, in.dataDir, in.databaseURL, "--tenant="+tenantID, "--role="+role, "--name=test "+role)
	}
	in.keys[id] = k
	return k
}

// authorize gives a REST request (/v1/...) an admin API key of the tenant
// its X-Kubedesk-Tenant header names (the default tenant when none, or
// when the header is not a tenant ID), unless it has an Authorization
// header already; an empty one is removed, so the request goes without a
// credential. Probes, metrics and /openapi.json need none.
func (in *instance) authorize(t testing.TB, req *http.Request) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/v1/") {
		return
	}
	if _, given := req.Header["Authorization"]; given {
		if req.Header.Get("Authorization") == "" {
			req.Header.Del("Authorization")
		}
		return
	}
	tenantID := req.Header.Get("X-Kubedesk-Tenant")
	if tenant.Validate(tenantID) != nil {
		tenantID = "default"
	}
	req.Header.Set("Authorization", "Bearer "+in.key(t, tenantID))
}

// createKey runs `kubedesk apikey create` with args against an identity
// store and returns the key it printed.
func createKey(t testing.TB, dataDir, databaseURL string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	all := append([]string{"apikey", "create", "--data-dir=" + dataDir, "--database-url=" + databaseURL}, args...)
	if err := run(t.Context(), all, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("kubedesk %s: %v\n%s", strings.Join(all, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// call sends one REST request; headers alternate name, value. Unless the
// headers hold an Authorization (an empty one sends none), the request
// carries an admin API key of the tenant X-Kubedesk-Tenant names, or of
// the default tenant.
func (in *instance) call(t testing.TB, method, path string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, in.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	in.authorize(t, req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{code: resp.StatusCode, header: resp.Header, body: raw}
	_ = json.Unmarshal(raw, &out.json)
	return out
}

func (in *instance) mustCall(t testing.TB, want int, method, path string, body any, headers ...string) response {
	t.Helper()
	r := in.call(t, method, path, body, headers...)
	if r.code != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, r.code, r.body, want)
	}
	return r
}

func (in *instance) create(t testing.TB, ticket map[string]any, headers ...string) response {
	t.Helper()
	return in.mustCall(t, http.StatusOK, "POST", "/v1/tickets", ticket, headers...)
}

// listAll returns every ticket of the tenant, paging through.
func (in *instance) listAll(t testing.TB, query string, headers ...string) []map[string]any {
	t.Helper()
	var all []map[string]any
	token := ""
	for {
		r := in.mustCall(t, http.StatusOK, "GET", "/v1/tickets?page_size=100&"+query+"&page_token="+token, nil, headers...)
		for _, x := range r.json["tickets"].([]any) {
			all = append(all, x.(map[string]any))
		}
		if token = r.str("nextPageToken"); token == "" {
			return all
		}
	}
}

// TestPprofOnItsOwnListener checks that --pprof-addr serves Go's profiles
// there and not on the API listener.
func TestPprofOnItsOwnListener(t *testing.T) {
	addr := freeAddr(t)
	srv := startServe(t, "--pprof-addr="+addr)
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/ on --pprof-addr = %d, want 200", resp.StatusCode)
	}
	if r := srv.call(t, "GET", "/debug/pprof/", nil); r.code == http.StatusOK {
		t.Errorf("the API listener serves /debug/pprof/ too")
	}
}
