package routing

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// MeterName is the OpenTelemetry meter the router reports on.
const MeterName = "kubedesk/routing"

// metrics are the router's instruments, made on first use from the
// global meter provider (the one this process's /metrics exports).
type metrics struct {
	once      sync.Once
	decisions metric.Int64Counter
	duration  metric.Float64Histogram
}

func (instruments *metrics) get(m metric.Meter) *metrics {
	instruments.once.Do(func() {
		if m == nil {
			m = otel.Meter(MeterName)
		}
		// The Prometheus exporter appends _total to the counter and
		// _seconds (from the unit) to the histogram. An instrument that
		// cannot be made is a no-op one, never a failed decision.
		instruments.decisions, _ = m.Int64Counter("kubedesk_routing_decisions",
			metric.WithDescription("Routing decisions taken, by trigger and outcome."),
			metric.WithUnit("{decision}"))
		instruments.duration, _ = m.Float64Histogram("kubedesk_routing_decision_duration",
			metric.WithDescription("Seconds from the start of a decision to its record in the store, by outcome."),
			metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
	})
	return instruments
}

// observe counts a stored decision that took since start.
func (r *Router) observe(d Decision, start time.Time) {
	m := r.metrics.get(r.Meter)
	ctx := context.Background()
	if m.decisions != nil {
		m.decisions.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(
			attribute.String("trigger", string(d.Trigger)), attribute.String("outcome", string(d.Outcome)))))
	}
	if m.duration != nil {
		m.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", string(d.Outcome)))))
	}
}
