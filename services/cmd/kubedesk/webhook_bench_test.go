package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// webhookBenchPerTicket is how many events each ticket of
// BenchmarkWebhooks has: its creation and the comments after it.
const webhookBenchPerTicket = 20

// webhookBenchTenant lets the default tenant's webhooks reach the
// receiver on loopback.
const webhookBenchTenant = `---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: default}
spec:
  channels:
    webhooks: {allowPrivateNetworks: true}
`

// BenchmarkWebhooks delivers b.N ticket events (tickets of 20: a creation
// and 19 comments) to a receiver on loopback through one webhook of the
// all-in-one binary, on SQLite and on PostgreSQL. The events are made
// first (through REST, untimed); then a replay from before them hands the
// webhook the whole backlog, and the benchmark times it from the replay to
// the last delivery: deliveries/s. It fails when an event is missing,
// comes twice, or a ticket's events come out of order, and reports the
// server's peak RSS.
//
//	go test -run '^$' -bench Webhooks -benchtime 10000x ./services/cmd/kubedesk
func BenchmarkWebhooks(b *testing.B) {
	bin := kubedeskBinary(b)
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			dir := b.TempDir()
			args := append([]string{writeBenchConfig(b, dir, benchLimits+webhookBenchTenant)}, strings.Fields(os.Getenv("KUBEDESK_BENCH_SERVE_ARGS"))...)
			if engine == "postgres" {
				args = append(args, "--database-url="+pg.NewDatabase(b))
			}
			p := startBinary(b, bin, dir, args...)
			defer p.stop(b)
			bearer := "Bearer " + p.instance().key(b, "default")
			call := func(method, path string, body any) (map[string]any, error) {
				raw, _ := json.Marshal(body)
				req, err := http.NewRequest(method, p.base+path, bytes.NewReader(raw))
				if err != nil {
					return nil, err
				}
				req.Header.Set("Authorization", bearer)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return nil, err
				}
				defer drain(resp)
				out, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
				}
				var m map[string]any
				return m, json.Unmarshal(out, &m)
			}

			// The receiver checks each ticket's order as deliveries come:
			// the creation (0), then comments 1, 2, ...
			var (
				mu        sync.Mutex
				next      = map[string]int{}
				problems  []string
				delivered atomic.Int64
				all       = make(chan struct{})
			)
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var d struct {
					Type, TicketID string
					Event          struct{ Comment struct{ Body string } }
				}
				body, _ := io.ReadAll(r.Body)
				if err := json.Unmarshal(body, &d); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				n := 0
				if d.Type == "comment.added" {
					n, _ = strconv.Atoi(d.Event.Comment.Body)
				}
				mu.Lock()
				if want := next[d.TicketID]; n != want && len(problems) < 10 {
					problems = append(problems, fmt.Sprintf("ticket %s: event %d came when %d was due", d.TicketID, n, want))
				}
				next[d.TicketID] = n + 1
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
				if delivered.Add(1) == int64(b.N) {
					close(all)
				}
			}))
			defer rc.Close()

			// The events, made by 8 clients, each ticket's in order.
			b.StopTimer()
			before := time.Now().Add(-time.Second)
			tickets := (b.N + webhookBenchPerTicket - 1) / webhookBenchPerTicket
			ticket := func(i int) error {
				events := min(webhookBenchPerTicket, b.N-i*webhookBenchPerTicket)
				tk, err := call("POST", "/v1/tickets", map[string]any{"subject": fmt.Sprintf("打印机无法连接 %d", i)})
				if err != nil {
					return err
				}
				for c := 1; c < events; c++ {
					if _, err := call("POST", "/v1/tickets/"+tk["id"].(string)+"/comments", map[string]any{"body": strconv.Itoa(c)}); err != nil {
						return err
					}
				}
				return nil
			}
			var nextTicket atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Value
			for range 8 {
				wg.Go(func() {
					for {
						i := int(nextTicket.Add(1)) - 1
						if i >= tickets {
							return
						}
						if err := ticket(i); err != nil {
							failed.Store(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			w, err := call("POST", "/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"ticket.created", "comment.added"},
				"secret": "whsec_bench_0123456789abcdef"})
			if err != nil {
				b.Fatal(err)
			}

			var peak atomic.Int64
			done := make(chan struct{})
			go func() {
				t := time.NewTicker(100 * time.Millisecond)
				defer t.Stop()
				for {
					if rss := p.rss(b); rss > peak.Load() {
						peak.Store(rss)
					}
					select {
					case <-done:
						return
					case <-t.C:
					}
				}
			}()
			b.StartTimer()
			start := time.Now()
			if _, err := call("POST", "/v1/webhooks/"+w["id"].(string)+":replay", map[string]any{"startTime": before.UTC().Format(time.RFC3339Nano)}); err != nil {
				b.Fatal(err)
			}
			select {
			case <-all:
			case <-time.After(20 * time.Minute):
				b.Fatalf("%d of %d events delivered within 20 minutes", delivered.Load(), b.N)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			close(done)
			// Anything more would be an event delivered twice.
			time.Sleep(200 * time.Millisecond)
			if n := delivered.Load(); n != int64(b.N) {
				b.Errorf("%d deliveries of %d events", n, b.N)
			}
			mu.Lock()
			if len(next) != tickets {
				b.Errorf("deliveries of %d tickets, want %d", len(next), tickets)
			}
			for _, p := range problems {
				b.Error(p)
			}
			mu.Unlock()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}
