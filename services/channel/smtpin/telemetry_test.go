package smtpin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// logBuffer collects log lines from the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// messages returns the "smtp message" log records.
func (l *logBuffer) messages(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.b.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "smtp message" {
			out = append(out, rec)
		}
	}
	return out
}

func TestMetricsAndLogs(t *testing.T) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	var logs logBuffer
	cfg := testConfig()
	cfg.MaxMessageBytes = 2048
	st := newStore()
	s, err := newServer(cfg, st, slog.New(slog.NewJSONHandler(&logs, nil)), mp.Meter(MeterName))
	if err != nil {
		t.Fatal(err)
	}
	ts := startWith(t, cfg, st, s)

	const secret = "the body never reaches the log"
	to := []string{"support@acme.example", "sales@acme.example"}
	if err := sendOne(t, ts.addr, "ana@customer.example", to, "Subject: hi\r\n\r\n"+secret+"\r\n"); err != nil {
		t.Fatal(err)
	}
	st.setDeliver(func(context.Context, Envelope, []byte) error { return errors.New("disk full") })
	_ = sendOne(t, ts.addr, "ana@customer.example", to[:1], message)
	_ = sendOne(t, ts.addr, "ana@customer.example", to[:1], strings.Repeat("xxxxxxxxx\r\n", 400))

	counts := map[string]float64{}
	var observed uint64
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			result := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					result = l.GetValue()
				}
			}
			switch f.GetName() {
			case "kubedesk_smtp_messages_total":
				counts[result] = m.GetCounter().GetValue()
			case "kubedesk_smtp_delivery_duration_seconds":
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	want := map[string]float64{ResultAccepted: 1, ResultFailed: 1, ResultTooLarge: 1}
	if len(counts) != len(want) || counts[ResultAccepted] != 1 || counts[ResultFailed] != 1 || counts[ResultTooLarge] != 1 {
		t.Errorf("kubedesk_smtp_messages_total %v, want %v", counts, want)
	}
	// Only the messages that reached the Backend are timed.
	if observed != 2 {
		t.Errorf("kubedesk_smtp_delivery_duration_seconds has %d observations, want 2", observed)
	}

	recs := logs.messages(t)
	if len(recs) != 3 {
		t.Fatalf("%d message log lines, want 3", len(recs))
	}
	first := recs[0]
	for k, v := range map[string]any{"level": "INFO", "remote_ip": "127.0.0.1", "from": "ana@customer.example",
		"recipients": 2.0, "result": ResultAccepted, "tls": false} {
		if first[k] != v {
			t.Errorf("log %s = %v, want %v (%v)", k, first[k], v, first)
		}
	}
	if n, _ := first["bytes"].(float64); n < 40 {
		t.Errorf("log bytes = %v", first["bytes"])
	}
	if _, ok := first["duration"]; !ok {
		t.Errorf("log has no duration: %v", first)
	}
	if recs[1]["result"] != ResultFailed || recs[2]["result"] != ResultTooLarge {
		t.Errorf("results logged %v, %v; want failed, too_large", recs[1]["result"], recs[2]["result"])
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if strings.Contains(logs.b.String(), secret) {
		t.Error("the log holds the message body")
	}
}
