package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/kubedesk/kubedesk/services/iam"
)

// signInLimits raises every throttle of sign-in (per client address at
// the gateway, per account in the identity module) and the per-credential
// rate limit, so that no sign-in of the benchmark is refused.
const signInLimits = benchLimits + `    signIn: {maxFailures: 1000000, window: 1s}
  gateway:
    signInRate: {perSecond: 1000000, burst: 1000000}
`

// BenchmarkSignIn measures POST /v1/sessions with the right password on
// the all-in-one server (in-process, SQLite), one at a time (sequential)
// and from 4 clients at once (concurrent-4), and reports p50/p99 ms. Run
// it with -benchtime=200x.
//
// The password hash is argon2id with iam.DefaultArgon2: m=64 MiB (65,536
// KiB), t=2 iterations, p=2 lanes; the benchmark fails if the defaults
// change without this comment. Each sign-in verifies one hash, so its
// time is mostly that hash's: the target is p99 between 50 ms (slow for
// an attacker) and 250 ms (fine for people).
func BenchmarkSignIn(b *testing.B) {
	if want := (iam.Argon2Config{MemoryKiB: 64 * 1024, Iterations: 2, Threads: 2}); iam.DefaultArgon2 != want {
		b.Fatalf("iam.DefaultArgon2 is %+v, the doc comment says %+v: update it", iam.DefaultArgon2, want)
	}
	srv := startServe(b, writeBenchConfig(b, b.TempDir(), signInLimits))
	srv.mustCall(b, http.StatusOK, "POST", "/v1/users", map[string]any{"email": agentEmail, "password": agentPassword})
	body, err := json.Marshal(map[string]any{"email": agentEmail, "password": agentPassword})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	signIn := func(int64) error {
		resp, err := client.Post(srv.base+"/v1/sessions", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		drain(resp)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("sign-in: %s", resp.Status)
		}
		return nil
	}
	b.Run("sequential", func(b *testing.B) { runWorkers(b, 1, "sign-ins/s", signIn) })
	b.Run("concurrent-4", func(b *testing.B) { runWorkers(b, 4, "sign-ins/s", signIn) })
}
