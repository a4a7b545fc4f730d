package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// chatBenchMessages is how many messages each of BenchmarkChatVisitors'
// visitors sends.
const chatBenchMessages = 20

// chatBenchPause is how long a visitor waits after a message's ack before
// writing the next, as people do in a chat (and then some: most write
// less often). Without it the visitors would send back to back, and with
// 500 of them the latency would be Little's law's queue (500 messages in
// flight over the server's messages/s), not what a visitor sees.
// KUBEDESK_BENCH_CHAT_PAUSE overrides it (0: back to back).
const chatBenchPause = 2 * time.Second

// chatBenchLimits lifts the chat's limits for the benchmark's visitors,
// which all come from one address.
const chatBenchLimits = `---
apiVersion: kubedesk.io/v1alpha1
kind: KubedeskConfig
spec:
  channel:
    chat:
      perVisitor: {perSecond: 1000000, burst: 1000000}
      newVisitors: {perSecond: 1000000, burst: 1000000}
`

// BenchmarkChatVisitors connects b.N visitors at once over WebSockets to a
// gateway running in its own process (the ticket and channel services in
// another, as in a cluster), each sending 20 messages, each 2 s after the
// last one's ack (chatBenchPause). It reports message-to-agent-stream latency (from the
// visitor's send to the message's event on an agent's event stream,
// GET /v1/events:watch through the same gateway) at p50 and p99, and the
// gateway process's resident memory idle and at its peak, on SQLite and
// PostgreSQL.
//
//	go test -run '^$' -bench ChatVisitors -benchtime 500x ./services/cmd/kubedesk
func BenchmarkChatVisitors(b *testing.B) {
	bin := kubedeskBinary(b)
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			dir := b.TempDir()
			config := writeBenchConfig(b, dir, benchLimits+chatBenchLimits)
			db := []string{}
			if engine == "postgres" {
				db = append(db, "--database-url="+pg.NewDatabase(b))
			}
			gwGRPC, backendGRPC := freeAddr(b), freeAddr(b)
			backend := startBinary(b, bin, b.TempDir(), append(db, config, "--target=ticket,channel", "--grpc-addr="+backendGRPC,
				"--services=iam="+gwGRPC)...)
			defer backend.stop(b)
			gw := startBinary(b, bin, b.TempDir(), append(db, config, "--target=gateway", "--grpc-addr="+gwGRPC,
				"--services=ticket="+backendGRPC+",channel="+backendGRPC)...)
			defer gw.stop(b)
			srv := gw.instance()
			idle := gw.rss(b)

			// The agent's stream: every new ticket (a visitor's first
			// message) and comment (the others).
			var sent sync.Map // message text -> time sent
			var lat latencies
			landed := make(chan struct{}, b.N*chatBenchMessages)
			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.base+"/v1/events:watch?types=EVENT_TYPE_TICKET_CREATED&types=EVENT_TYPE_COMMENT_ADDED", nil)
			req.Header.Set("Authorization", "Bearer "+srv.key(b, "default"))
			resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // the reader below closes it
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("events:watch: %v %v", resp, err)
			}
			go func() {
				defer resp.Body.Close()
				sc := bufio.NewScanner(resp.Body)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				for sc.Scan() {
					var line struct {
						Result struct {
							Event *struct {
								Ticket  struct{ Description string } `json:"ticket"`
								Comment *struct{ Body string }       `json:"comment"`
							} `json:"event"`
						} `json:"result"`
					}
					if json.Unmarshal(sc.Bytes(), &line) != nil || line.Result.Event == nil {
						continue
					}
					text := line.Result.Event.Ticket.Description
					if c := line.Result.Event.Comment; c != nil {
						text = c.Body
					}
					if t0, ok := sent.LoadAndDelete(text); ok {
						lat.add(time.Since(t0.(time.Time)))
						landed <- struct{}{}
					}
				}
			}()

			pause := chatBenchPause
			if v := os.Getenv("KUBEDESK_BENCH_CHAT_PAUSE"); v != "" {
				if pause, err = time.ParseDuration(v); err != nil {
					b.Fatalf("KUBEDESK_BENCH_CHAT_PAUSE: %v", err)
				}
			}

			// Every visitor connects first; then all start, spread over
			// one pause.
			socks := make([]*websocket.Conn, b.N)
			for i := range socks {
				c, _, err := websocket.Dial(ctx, "ws"+srv.base[len("http"):]+"/chat/default/ws", nil) //nolint:bodyclose // Dial closes it
				if err != nil {
					b.Fatalf("visitor %d: %v", i, err)
				}
				defer func() { _ = c.CloseNow() }()
				if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello"}`)); err != nil {
					b.Fatal(err)
				}
				socks[i] = c
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, b.N)
			for i, c := range socks {
				wg.Go(func() {
					if err := chatBenchVisitor(ctx, c, i, pause, &sent); err != nil {
						errs <- fmt.Errorf("visitor %d: %w", i, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			sentIn := time.Since(start)
			timeout := time.After(5 * time.Minute)
			for range b.N * chatBenchMessages {
				select {
				case <-landed:
				case <-timeout:
					b.Fatalf("%d of %d messages reached the agent's stream within 5 minutes", len(lat.d), b.N*chatBenchMessages)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			lat.report(b, elapsed, "messages/s")
			b.ReportMetric(sentIn.Seconds(), "send-s")
			b.ReportMetric(float64(idle)/(1<<20), "gateway-idle-MB")
			b.ReportMetric(float64(gw.peakRSS(b))/(1<<20), "gateway-peak-MB")
			b.ReportMetric(float64(gw.rss(b))/(1<<20), "gateway-rss-MB")
		})
	}
}

// chatBenchVisitor sends one visitor's messages, the first after a
// random part of pause, each next one pause after the last's ack, noting
// when each went.
func chatBenchVisitor(ctx context.Context, c *websocket.Conn, visitor int, pause time.Duration, sent *sync.Map) error {
	wait := time.Duration(0)
	if pause > 0 {
		wait = rand.N(pause)
	}
	for n := range chatBenchMessages {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = pause
		text := fmt.Sprintf("访客 %d 的第 %d 条消息", visitor, n+1)
		id := fmt.Sprintf("b%d-%d", visitor, n)
		frame, _ := json.Marshal(map[string]string{"type": "message", "id": id, "text": text})
		sent.Store(text, time.Now())
		if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
			return err
		}
		for acked := false; !acked; {
			_, data, err := c.Read(ctx)
			if err != nil {
				return err
			}
			var f struct{ Type, ID, Code, Message string }
			if err := json.Unmarshal(data, &f); err != nil {
				return err
			}
			switch {
			case f.Type == "error":
				return fmt.Errorf("%s: %s", f.Code, f.Message)
			case f.Type == "ack" && f.ID == id:
				acked = true
			}
		}
	}
	return nil
}
