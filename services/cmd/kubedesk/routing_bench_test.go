package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// routingBenchSettings start the --config of the routing benchmarks: no
// rate limit or sign-in throttle in the way (signInLimits), and a sweep
// of the queues every 100 ms.
const routingBenchSettings = signInLimits + `  routing: {sweepInterval: 100ms}
`

// routingBenchEverything is a rule that sends every ticket to group desk
// (a round-robin group in BenchmarkRoutingEndToEnd, a pool in
// BenchmarkClaimRace).
const routingBenchEverything = `---
apiVersion: kubedesk.io/v1alpha1
kind: RoutingRule
metadata: {name: everything}
spec:
  tenantRef: {name: default}
  order: 20
  then: {group: desk}
`

// routingBenchCapacity is a rule that sends a ticket whose subject says
// "capacity" to group small, before routingBenchEverything.
const routingBenchCapacity = `---
apiVersion: kubedesk.io/v1alpha1
kind: RoutingRule
metadata: {name: capacity-check}
spec:
  tenantRef: {name: default}
  order: 10
  when: {keywords: [capacity]}
  then: {group: small}
`

// routingBenchRate is the pace of BenchmarkRoutingEndToEnd's creates.
const routingBenchRate = 200

// Capacities of BenchmarkRoutingEndToEnd's two groups: desk's ten agents
// have room for 10,000 tickets between them; small's three hold five each.
const (
	deskCapacity  = 1000
	smallCapacity = 5
	smallTickets  = 100
)

// benchREST calls the REST API from any goroutine, returning errors rather
// than failing the benchmark (which only its own goroutine may do).
type benchREST struct {
	base, bearer string
	client       *http.Client
}

func newBenchREST(b *testing.B, srv *instance, conns int) *benchREST {
	return &benchREST{base: srv.base, bearer: "Bearer " + srv.key(b, "default"),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}}
}

// do sends one request with the admin key, or with what headers (name,
// value pairs) say: an empty Authorization sends none.
func (c *benchREST) do(method, path string, body any, headers ...string) (response, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.bearer)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if req.Header.Get("Authorization") == "" {
		req.Header.Del("Authorization")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	out := response{code: resp.StatusCode, header: resp.Header, body: raw}
	_ = json.Unmarshal(raw, &out.json)
	return out, nil
}

// must is do, with any status but want an error.
func (c *benchREST) must(want int, method, path string, body any, headers ...string) (response, error) {
	r, err := c.do(method, path, body, headers...)
	if err == nil && r.code != want {
		err = fmt.Errorf("%s %s = %d %s, want %d", method, path, r.code, r.body, want)
	}
	return r, err
}

// mustB is must on the benchmark's own goroutine: an error fails it.
func (c *benchREST) mustB(b *testing.B, want int, method, path string, body any, headers ...string) response {
	b.Helper()
	r, err := c.must(want, method, path, body, headers...)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// parallel runs op(i) for i in [0, n) from workers goroutines and returns
// the first error.
func parallel(n, workers int, op func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || first.Load() != nil {
					return
				}
				if err := op(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	err, _ := first.Load().(error)
	return err
}

// benchAgent is an agent of the routing benchmarks; s is set when it
// signed in.
type benchAgent struct {
	id, name string
	s        session
}

// makeAgents creates n agents named "name 00"... (e-mail
// group-00@example.com...), with api capacity
// capacity, online (set by the admin); with password, each signs in, 4 at
// a time (two argon2 hashes of 64 MiB each).
func makeAgents(b *testing.B, c *benchREST, group, name string, n, capacity int, password string) []benchAgent {
	b.Helper()
	agents := make([]benchAgent, n)
	err := parallel(n, 4, func(i int) error {
		a := benchAgent{name: fmt.Sprintf("%s %02d", name, i)}
		email := fmt.Sprintf("%s-%02d@example.com", group, i)
		user := map[string]any{"email": email, "displayName": a.name, "locale": "zh-CN", "roles": []string{"ROLE_AGENT"}}
		if password != "" {
			user["password"] = password
		}
		u, err := c.must(http.StatusOK, "POST", "/v1/users", user)
		if err != nil {
			return err
		}
		a.id = u.str("id")
		if _, err := c.must(http.StatusOK, "PATCH", "/v1/agents/"+a.id, map[string]any{"capacity": map[string]int{"api": capacity}}); err != nil {
			return err
		}
		if _, err := c.must(http.StatusOK, "PUT", "/v1/agents/"+a.id+"/presence", map[string]any{"presence": "PRESENCE_ONLINE"}); err != nil {
			return err
		}
		if password != "" {
			r, err := c.must(http.StatusOK, "POST", "/v1/sessions", map[string]any{"email": email, "password": password}, "Authorization", "")
			if err != nil {
				return err
			}
			token, _, _ := strings.Cut(strings.TrimPrefix(r.header.Get("Set-Cookie"), "kd_session="), ";")
			a.s = session{token: token, csrf: r.str("csrfToken")}
		}
		agents[i] = a
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return agents
}

func agentIDs(agents []benchAgent) []string {
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.id
	}
	return ids
}

// waitRules waits until n routing rules are in force (the rules name
// groups the benchmark creates after start-up).
func waitRules(b *testing.B, c *benchREST, n int) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := c.mustB(b, http.StatusOK, "GET", "/v1/routingRules", nil)
		if len(asList(r.json["routingRules"])) == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("routing rules in force: %s, want %d rules", r.body, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// routedEvent is a routing.assigned event as the benchmarks read it, with
// when it arrived.
type routedEvent struct {
	ticket, outcome, group, agent, trigger string
	at                                     time.Time
}

// routedStream follows the tenant's routing.assigned events over REST
// (GET /v1/events:watch, from the start of the stream) and hands each to
// on as it arrives, until ctx ends. err says why the stream ended early.
type routedStream struct {
	done chan struct{}
	err  error
}

// Err is why the stream ended, once it has; nil while it runs.
func (s *routedStream) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

func followRouted(ctx context.Context, c *benchREST, on func(routedEvent)) (*routedStream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/events:watch?types=EVENT_TYPE_ROUTING_ASSIGNED", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", c.bearer)
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // the stream's reader closes it when the benchmark ends
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("GET /v1/events:watch: %s %s", resp.Status, body)
	}
	s := &routedStream{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			at := time.Now()
			var line struct {
				Result struct {
					Event *struct {
						TicketID string `json:"ticketId"`
						Routing  struct {
							Outcome, Group, Agent, Trigger string
						} `json:"routing"`
					} `json:"event"`
				} `json:"result"`
				Error json.RawMessage `json:"error"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Error != nil {
				s.err = fmt.Errorf("event stream line %s: %w", sc.Bytes(), err)
				return
			}
			if e := line.Result.Event; e != nil {
				on(routedEvent{ticket: e.TicketID, outcome: e.Routing.Outcome, group: e.Routing.Group,
					agent: e.Routing.Agent, trigger: e.Routing.Trigger, at: at})
			}
		}
		if ctx.Err() == nil {
			s.err = fmt.Errorf("event stream ended: %w", sc.Err())
		}
	}()
	return s, nil
}

// ms is d in milliseconds, as a metric.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile is the p-th of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*p)]
}

// BenchmarkRoutingEndToEnd creates b.N tickets over REST at 200 a second
// (8 clients, paced by a ticker) on the all-in-one binary on PostgreSQL,
// whose rules send them to group desk: ten agents online, round robin,
// capacity 1,000 api tickets each (so b.N up to 10,000). It follows the
// routing.assigned events over REST and measures, for each ticket, the
// time from the create response to its assignment's event arriving
// (p50, p99, max), and tickets/s (from the first create to the last
// assignment). It fails when a ticket is not assigned within 60 s of the
// last create, is assigned twice, when round robin gives one agent more
// than one ticket over another, or when an agent's load (its ledger, as
// GET /v1/agents/{id} shows it) is not the tickets it got.
//
// Then, untimed, the capacity check: 100 tickets to group small (three
// agents, capacity 5 each), created at the same pace, each solved 0-30 ms
// after its agent gets it (a goroutine per ticket). Meanwhile it samples
// GET /v1/agents/{id} load without pause and counts, per agent, the tickets
// assigned on the event stream and not yet being solved; it fails when
// either is ever above 5, or when a ticket is never assigned or assigned
// twice.
//
//	go test -run '^$' -bench RoutingEndToEnd -benchtime 10000x ./services/cmd/kubedesk
func BenchmarkRoutingEndToEnd(b *testing.B) {
	config := writeBenchConfig(b, b.TempDir(), routingBenchSettings+routingBenchCapacity+routingBenchEverything)
	srv := startServe(b, config, "--database-url="+pg.NewDatabase(b))
	c := newBenchREST(b, srv, 32)
	desk := makeAgents(b, c, "desk", "前台", 10, deskCapacity, "")
	small := makeAgents(b, c, "small", "小组", 3, smallCapacity, "")
	c.mustB(b, http.StatusOK, "POST", "/v1/groups?groupId=desk", map[string]any{"displayName": "Desk 前台", "strategy": "STRATEGY_ROUND_ROBIN", "members": agentIDs(desk)})
	c.mustB(b, http.StatusOK, "POST", "/v1/groups?groupId=small", map[string]any{"displayName": "Small 小组", "strategy": "STRATEGY_ROUND_ROBIN", "members": agentIDs(small)})
	waitRules(b, c, 2)

	var (
		mu       sync.Mutex
		created  = map[string]time.Time{}                  // ticket -> create response
		assigned = map[string][]routedEvent{}              // ticket -> its assignments
		held     = map[string]int{}                        // small's agent -> tickets assigned, not yet being solved
		solved   atomic.Int64                              // small's tickets solved
		problems []string                                  // capacity exceeded, solves failed
		toSolve  = make(chan routedEvent, 10*smallTickets) // small's assignments, to solve
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	stream, err := followRouted(ctx, c, func(e routedEvent) {
		if e.outcome != "assigned" {
			return
		}
		mu.Lock()
		assigned[e.ticket] = append(assigned[e.ticket], e)
		first := len(assigned[e.ticket]) == 1
		if e.group == "small" && first {
			held[e.agent]++
			if held[e.agent] > smallCapacity && len(problems) < 20 {
				problems = append(problems, fmt.Sprintf("agent %s holds %d tickets by the event stream, capacity %d (ticket %s)", e.agent, held[e.agent], smallCapacity, e.ticket))
			}
		}
		mu.Unlock()
		if e.group == "small" && first {
			toSolve <- e
		}
	})
	if err != nil {
		b.Fatal(err)
	}

	// create makes a ticket each time more says so (it is called once
	// per ticket, and may block), at most routingBenchRate a second, from
	// 8 clients, and returns how many it made.
	create := func(subject string, more func() bool) (int, error) {
		jobs := make(chan int, 64)
		var failed atomic.Value
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for i := range jobs {
					r, err := c.must(http.StatusOK, "POST", "/v1/tickets", map[string]any{"subject": fmt.Sprintf(subject, i)})
					at := time.Now()
					if err != nil {
						failed.CompareAndSwap(nil, err)
						continue
					}
					mu.Lock()
					created[r.str("id")] = at
					mu.Unlock()
				}
			})
		}
		tick := time.NewTicker(time.Second / routingBenchRate)
		i := 0
		for more() {
			<-tick.C
			jobs <- i
			i++
		}
		tick.Stop()
		close(jobs)
		wg.Wait()
		err, _ := failed.Load().(error)
		return i, err
	}
	// waitAssigned waits until every ticket of ids is assigned, for up to
	// 60 s, then 1 s more for assignments that should not come.
	waitAssigned := func(ids []string, extra func() bool) {
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			missing := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return len(assigned[id]) > 0 })
			mu.Unlock()
			if len(missing) == 0 && extra() {
				break
			}
			if time.Now().After(deadline) || stream.Err() != nil {
				b.Errorf("%d of %d tickets not assigned within 60 s of the last create (%v), e.g. %v", len(missing), len(ids), stream.Err(), missing[:min(len(missing), 5)])
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second)
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if as := assigned[id]; len(as) > 1 {
				b.Errorf("ticket %s assigned %d times: %+v", id, len(as), as)
			}
		}
	}

	// Phase 1, timed: b.N tickets to desk.
	start := time.Now()
	n, err := create("打印机无法连接 %d", b.Loop)
	if err != nil {
		b.Fatal(err)
	}
	createTime := time.Since(start)
	mu.Lock()
	ids := make([]string, 0, len(created))
	for id := range created {
		ids = append(ids, id)
	}
	mu.Unlock()
	if len(ids) != n {
		b.Fatalf("%d tickets created, want %d", len(ids), n)
	}
	waitAssigned(ids, func() bool { return true })
	mu.Lock()
	var lat []time.Duration
	var last time.Time
	early := 0
	counts := map[string]int{}
	for _, id := range ids {
		as := assigned[id]
		if len(as) == 0 {
			continue
		}
		counts[as[0].agent]++
		if as[0].at.After(last) {
			last = as[0].at
		}
		d := as[0].at.Sub(created[id])
		if d < 0 {
			early++ // the event came before the create response
			d = 0
		}
		lat = append(lat, d)
	}
	mu.Unlock()
	lo, hi := n, 0
	for _, a := range desk {
		lo, hi = min(lo, counts[a.id]), max(hi, counts[a.id])
		load := c.mustB(b, http.StatusOK, "GET", "/v1/agents/"+a.id, nil).json["load"].(map[string]any)
		if got, _ := load["api"].(float64); int(got) != counts[a.id] {
			b.Errorf("agent %s: load %v, want the %d tickets it was assigned", a.name, load, counts[a.id])
		}
	}
	if hi-lo > 1 || len(counts) > len(desk) {
		b.Errorf("round robin over %d agents: %v, want each within one ticket of the others", len(desk), counts)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/last.Sub(start).Seconds(), "tickets/s")
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(percentile(lat, 1)), "max-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d tickets created in %v (%.0f/s); assignment after create p50 %v, p99 %v, max %v; %d assignments came before their create response; per agent %v",
		n, createTime.Round(time.Millisecond), float64(n)/createTime.Seconds(), percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1), early, slices.Sorted(maps.Values(counts)))

	// Phase 2, untimed: capacity at every moment.
	var solvers sync.WaitGroup
	go func() {
		for e := range toSolve {
			solvers.Go(func() {
				time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
				mu.Lock()
				held[e.agent]--
				mu.Unlock()
				if _, err := c.must(http.StatusOK, "PATCH", "/v1/tickets/"+e.ticket, map[string]any{"status": "STATUS_SOLVED"}); err != nil {
					problem("solving %s: %v", e.ticket, err)
					return
				}
				solved.Add(1)
			})
		}
	}()
	sampling := make(chan struct{})
	var samples, maxLoad atomic.Int64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			for _, a := range small {
				select {
				case <-sampling:
					return
				default:
				}
				r, err := c.must(http.StatusOK, "GET", "/v1/agents/"+a.id, nil)
				if err != nil {
					problem("sampling the load: %v", err)
					return
				}
				load, _ := r.json["load"].(map[string]any)
				got, _ := load["api"].(float64)
				samples.Add(1)
				if int64(got) > maxLoad.Load() {
					maxLoad.Store(int64(got))
				}
				if got > smallCapacity {
					problem("agent %s: load %v by GET /v1/agents, capacity %d", a.name, load, smallCapacity)
				}
			}
		}
	})
	mu.Lock()
	clear(created)
	mu.Unlock()
	capStart := time.Now()
	k := 0
	if _, err := create("capacity check %d", func() bool { k++; return k <= smallTickets }); err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	ids = ids[:0]
	for id := range created {
		ids = append(ids, id)
	}
	mu.Unlock()
	waitAssigned(ids, func() bool { return solved.Load() == int64(len(ids)) })
	capTime := time.Since(capStart)
	close(sampling)
	sampler.Wait()
	close(toSolve)
	solvers.Wait()
	if got := solved.Load(); got != int64(len(ids)) {
		b.Errorf("%d of %d capacity-check tickets solved", got, len(ids))
	}
	mu.Lock()
	for _, p := range problems {
		b.Error(p)
	}
	smallCounts := map[string]int{}
	for _, id := range ids {
		if as := assigned[id]; len(as) > 0 {
			smallCounts[as[0].agent]++
		}
	}
	mu.Unlock()
	b.Logf("capacity check: %d tickets through 3 agents of capacity %d in %v, %d load samples, highest load seen %d; per agent %v",
		len(ids), smallCapacity, capTime.Round(time.Millisecond), samples.Load(), maxLoad.Load(), slices.Sorted(maps.Values(smallCounts)))
	cancel()
	<-stream.done
}

// claimRacers is how many agents claim each ticket of BenchmarkClaimRace
// at once.
const claimRacers = 100

// BenchmarkClaimRace has 100 signed-in agents of a pool group (made once,
// untimed) race for each of b.N tickets: each ticket is created over REST,
// and once its offer's routing.assigned event arrives (the ticket is in
// the pool then), the 100 agents POST /v1/tickets/{id}:claim at once.
// It fails unless exactly one claim succeeds and the 99 others are 409
// naming the winner, and unless each ticket has exactly one assignment on
// the event stream. It reports claims/s over the races and the latency of
// a claim (p50, p99); each ticket is solved after its race, untimed.
//
//	go test -run '^$' -bench ClaimRace -benchtime 1000x ./services/cmd/kubedesk
func BenchmarkClaimRace(b *testing.B) {
	config := writeBenchConfig(b, b.TempDir(), routingBenchSettings+routingBenchEverything)
	srv := startServe(b, config, "--database-url="+pg.NewDatabase(b))
	c := newBenchREST(b, srv, claimRacers+8)
	agents := makeAgents(b, c, "pool", "抢单员", claimRacers, 1000, "correct horse battery staple")
	c.mustB(b, http.StatusOK, "POST", "/v1/groups?groupId=desk", map[string]any{"displayName": "抢单池", "strategy": "STRATEGY_POOL", "members": agentIDs(agents)})
	waitRules(b, c, 1)

	var (
		mu       sync.Mutex
		offered  = map[string]chan struct{}{} // ticket -> closed once offered
		assigned = map[string]int{}
	)
	offer := func(id string) chan struct{} { // mu held
		ch, ok := offered[id]
		if !ok {
			ch = make(chan struct{})
			offered[id] = ch
		}
		return ch
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	stream, err := followRouted(ctx, c, func(e routedEvent) {
		mu.Lock()
		defer mu.Unlock()
		switch e.outcome {
		case "offered":
			select {
			case <-offer(e.ticket):
			default:
				close(offer(e.ticket))
			}
		case "assigned":
			assigned[e.ticket]++
		}
	})
	if err != nil {
		b.Fatal(err)
	}

	var lat latencies
	var racing, waiting time.Duration
	var ids []string
	problems := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		t0 := time.Now()
		id := c.mustB(b, http.StatusOK, "POST", "/v1/tickets", map[string]any{"subject": fmt.Sprintf("抢单 %d", i)}).str("id")
		ids = append(ids, id)
		mu.Lock()
		ch := offer(id)
		mu.Unlock()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			b.Fatalf("ticket %s not offered within 30 s (%v)", id, stream.Err())
		}
		waiting += time.Since(t0)
		b.StartTimer()

		type result struct {
			code int
			body string
			who  benchAgent
		}
		results := make([]result, claimRacers)
		go1 := make(chan struct{})
		var wg sync.WaitGroup
		for j, a := range agents {
			wg.Go(func() {
				<-go1
				t := time.Now()
				r, err := c.do("POST", "/v1/tickets/"+id+":claim", map[string]any{}, a.s.headers()...)
				lat.add(time.Since(t))
				if err != nil {
					results[j] = result{body: err.Error(), who: a}
					return
				}
				results[j] = result{code: r.code, body: string(r.body), who: a}
			})
		}
		t1 := time.Now()
		close(go1)
		wg.Wait()
		racing += time.Since(t1)
		b.StopTimer()

		var winners []result
		for _, r := range results {
			if r.code == http.StatusOK {
				winners = append(winners, r)
			}
		}
		if len(winners) != 1 {
			b.Errorf("ticket %s: %d claims won, want 1: %+v", id, len(winners), winners)
			problems++
		} else {
			w := winners[0]
			if !strings.Contains(w.body, w.who.id) {
				b.Errorf("ticket %s: the winning claim by %s answered %s", id, w.who.id, w.body)
				problems++
			}
			naming := "claimed by " + w.who.name + " (" + w.who.id + ")"
			for _, r := range results {
				if r.code != http.StatusOK && (r.code != http.StatusConflict || !strings.Contains(r.body, naming)) {
					b.Errorf("ticket %s: a losing claim by %s got %d %s, want 409 naming %q", id, r.who.name, r.code, r.body, naming)
					problems++
					break
				}
			}
		}
		if problems >= 10 {
			b.Fatal("stopping after 10 failed races")
		}
		c.mustB(b, http.StatusOK, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "STATUS_SOLVED"})
		b.StartTimer()
	}
	b.StopTimer()
	time.Sleep(time.Second) // assignments that should not come
	mu.Lock()
	for _, id := range ids {
		if assigned[id] != 1 {
			b.Errorf("ticket %s: %d assignments on the event stream, want 1", id, assigned[id])
		}
	}
	mu.Unlock()
	if stream.Err() != nil {
		b.Error(stream.Err())
	}
	b.Logf("%d races of %d claims: %v racing (%.1f ms a race), %v creating and waiting for the offers",
		len(ids), claimRacers, racing.Round(time.Millisecond), ms(racing)/float64(len(ids)), waiting.Round(time.Millisecond))
	lat.report(b, racing, "claims/s")
	cancel()
	<-stream.done
}
