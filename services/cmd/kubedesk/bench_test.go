package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// clients is the concurrency of the create benchmarks.
const clients = 32

// latencies collects per-request durations from concurrent workers.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// report prints throughput (per unit, e.g. "creates/s") and p50/p99 as
// benchmark metrics.
func (l *latencies) report(b *testing.B, elapsed time.Duration, unit string) {
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return
	}
	pct := func(p float64) float64 {
		return float64(l.d[int(float64(len(l.d)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), unit)
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // throughput is the figure; ns/op of a parallel run misleads
}

// drain reads what is left of a response and closes it, so that the
// client's connection goes back to its pool: a body closed unread closes
// the connection, and every next request dials a new one.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

// runConcurrently calls op b.N times from clients goroutines and reports
// creates/s.
func runConcurrently(b *testing.B, op func(i int64) error) {
	runWorkers(b, clients, "creates/s", op)
}

// runWorkers calls op b.N times from workers goroutines and reports the
// rate (per unit) and latencies.
func runWorkers(b *testing.B, workers int, unit string, op func(i int64) error) {
	var next atomic.Int64
	var lat latencies
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					failed.Store(err)
					return
				}
				lat.add(time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	lat.report(b, elapsed, unit)
}

var benchBody = []byte(`{"subject":"打印机无法连接","description":"三楼的打印机从昨天起连不上网络，财务部急用。",` +
	`"impact":2,"urgency":1,"channel":"CHANNEL_EMAIL","requester":{"name":"张伟","email":"zhang.wei@example.com"},"tags":["硬件","三楼"]}`)

// benchLimits is the --config of the benchmarks' servers: the
// per-credential rate limit still runs on every call, but at a rate 32
// clients never reach, so that no call is refused with 429.
const benchLimits = `apiVersion: kubedesk.io/v1alpha1
kind: KubedeskConfig
spec:
  iam:
    rateLimit: {perSecond: 1000000, burst: 1000000}
`

// writeBenchConfig writes text (benchLimits, maybe with more documents) to
// a --config file in dir and returns the flag.
func writeBenchConfig(b *testing.B, dir, text string) string {
	b.Helper()
	file := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	return "--config=" + file
}

// fixedAdmin is an Authenticator that costs nothing: any bearer is the
// default tenant's admin. It is BenchmarkCreate's unauthenticated
// baseline (the access interceptor, roles and rate limit still run).
type fixedAdmin struct{ p *iamv1.Principal }

func (f fixedAdmin) Authenticate(context.Context, auth.Credential) (*iamv1.Principal, error) {
	return f.p, nil
}

func (fixedAdmin) Audit(context.Context, *iamv1.AuditEvent) {}

// BenchmarkCreate measures POST /v1/tickets (gateway -> ticket -> store,
// event row included) at 32 concurrent clients on each engine, and the raw
// ceiling: the same ticket row + event row inserted straight through pgx.
//
// Every REST call carries the default tenant's admin API key (rest/...:
// the real path, SHA-256 of the key, the identity module's cache, the
// limiter). rest-noauth/postgres is the same server with an authenticator
// that answers a fixed admin principal without looking anything up: the
// unauthenticated baseline of issue 23. The servers' rate limit is raised
// (benchLimits) but still runs.
func BenchmarkCreate(b *testing.B) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	rest := func(engine string, noAuth bool) func(b *testing.B) {
		return func(b *testing.B) {
			args := []string{writeBenchConfig(b, b.TempDir(), benchLimits)}
			if engine == "postgres" {
				args = append(args, "--database-url="+pg.NewDatabase(b))
			}
			if noAuth {
				admin := fixedAdmin{p: &iamv1.Principal{Id: "bench-admin", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY,
					Tenant: "default", Roles: []iamv1.Role{iamv1.Role_ROLE_ADMIN}, DisplayName: "bench admin"}}
				authenticatorOverride = func(auth.Authenticator) auth.Authenticator { return admin }
				b.Cleanup(func() { authenticatorOverride = nil })
			}
			srv := startServe(b, args...)
			authenticatorOverride = nil // read once, at start-up
			bearer := "Bearer " + srv.key(b, "default")
			runConcurrently(b, func(int64) error {
				req, err := http.NewRequest(http.MethodPost, srv.base+"/v1/tickets", bytes.NewReader(benchBody))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", bearer)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				drain(resp)
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("create: %s", resp.Status)
				}
				return nil
			})
		}
	}
	b.Run("rest/sqlite", rest("sqlite", false))
	b.Run("rest/postgres", rest("postgres", false))
	b.Run("rest-noauth/postgres", rest("postgres", true))
	b.Run("raw-pgx/postgres", func(b *testing.B) {
		url := pg.NewDatabase(b)
		// Let the store create its schema, then write to it directly.
		if err := startServe(b, "--database-url="+url).stop(); err != nil {
			b.Fatal(err)
		}
		pool, err := pgxpool.New(context.Background(), url+"&pool_max_conns="+strconv.Itoa(clients))
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		runConcurrently(b, func(int64) error { return rawCreate(context.Background(), pool) })
	})
}

// BenchmarkStartup measures exec -> /readyz 200 of the built binary on an
// empty data directory, and its resident memory once idle.
func BenchmarkStartup(b *testing.B) {
	bin := kubedeskBinary(b)
	var rss int64
	b.ResetTimer()
	for range b.N {
		p := startBinary(b, bin, b.TempDir(), "--temporal-listen-addr=127.0.0.1:0")
		b.StopTimer()
		rss = p.rss(b)
		p.kill()
		b.StartTimer()
	}
	b.ReportMetric(float64(rss)/(1<<20), "idle-RSS-MiB")
}

// BenchmarkMemory creates 100,000 tickets over REST (SQLite) and reports the
// process's resident memory before and after. Run it with -benchtime=1x.
func BenchmarkMemory(b *testing.B) {
	dir := b.TempDir()
	p := startBinary(b, kubedeskBinary(b), dir, "--temporal-listen-addr=127.0.0.1:0", writeBenchConfig(b, dir, benchLimits))
	defer p.kill()
	bearer := "Bearer " + p.instance().key(b, "default")
	idle := p.rss(b)
	const tickets = 100_000
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	b.ResetTimer()
	for range b.N {
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		for range clients {
			wg.Go(func() {
				for next.Add(1) <= tickets {
					req, err := http.NewRequest(http.MethodPost, p.base+"/v1/tickets", bytes.NewReader(benchBody))
					if err != nil {
						failed.Store(err)
						return
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", bearer)
					resp, err := client.Do(req)
					if err != nil {
						failed.Store(err)
						return
					}
					drain(resp)
					if resp.StatusCode != http.StatusOK {
						failed.Store(fmt.Errorf("create: %s", resp.Status))
						return
					}
				}
			})
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(idle)/(1<<20), "idle-RSS-MiB")
	b.ReportMetric(float64(p.rss(b))/(1<<20), "after-100k-RSS-MiB")
}

// rawCreate is the ceiling: one ticket row and its event row, in one
// transaction sent as a single pgx batch, with none of kubedesk's layers.
func rawCreate(ctx context.Context, pool *pgxpool.Pool) error {
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now()
	payload := []byte(`{"ticket":{"id":"` + id + `","subject":"打印机无法连接"}}`)
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO tickets (tenant, id, subject, description, status, impact, urgency, priority, channel,
		requester_name, requester_email, requester_identity, group_name, assignee, tags, custom_fields,
		create_time, update_time, version)
		VALUES ('default', $1, '打印机无法连接', '三楼的打印机从昨天起连不上网络，财务部急用。', 'new', 2, 1, 2, 'email',
		'张伟', 'zhang.wei@example.com', '', '', '', ARRAY['硬件','三楼'], '{}', $2, $2, 1)`, id, now)
	batch.Queue(`INSERT INTO ticket_events (tenant, ticket_id, type, payload, create_time)
		VALUES ('default', $1, 'ticket.created', $2, $3)`, id, payload, now)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, batch).Close()
	})
}
