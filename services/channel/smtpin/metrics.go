package smtpin

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// MeterName is the OpenTelemetry meter the server reports on.
const MeterName = "kubedesk/channel/smtpin"

// Results of a message, the result label of the metrics and the log line.
const (
	ResultAccepted    = "accepted"     // Deliver returned nil: 250
	ResultRefused     = "refused"      // the Backend answered a 5xx Reply
	ResultFailed      = "failed"       // Deliver failed or answered a 4xx Reply: 451, the sender retries
	ResultTooLarge    = "too_large"    // over maxMessageBytes: 552
	ResultRateLimited = "rate_limited" // over perIP.messages: 451 4.7.1 at MAIL FROM
	ResultAborted     = "aborted"      // the client went away (or timed out) during DATA
)

// metrics are the server's instruments.
type metrics struct {
	messages metric.Int64Counter
	duration metric.Float64Histogram
	refused  metric.Int64Counter
}

func newMetrics(m metric.Meter) (*metrics, error) {
	// The Prometheus exporter appends _total to counters and _seconds
	// (from the unit) to the histogram.
	messages, err := m.Int64Counter("kubedesk_smtp_messages",
		metric.WithDescription("Messages the SMTP server answered, by result."),
		metric.WithUnit("{message}"))
	if err != nil {
		return nil, fmt.Errorf("smtpin: messages counter: %w", err)
	}
	duration, err := m.Float64Histogram("kubedesk_smtp_delivery_duration",
		metric.WithDescription("Seconds from the end of DATA to the reply, by result."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60))
	if err != nil {
		return nil, fmt.Errorf("smtpin: duration histogram: %w", err)
	}
	refused, err := m.Int64Counter("kubedesk_smtp_connections_refused",
		metric.WithDescription("Connections refused at connect by the connection limits, by limit (server or ip)."),
		metric.WithUnit("{connection}"))
	if err != nil {
		return nil, fmt.Errorf("smtpin: connections counter: %w", err)
	}
	return &metrics{messages: messages, duration: duration, refused: refused}, nil
}

// message counts one message; took is from the end of DATA to the reply,
// or negative when there was no DATA to time.
func (m *metrics) message(result string, took time.Duration) {
	set := metric.WithAttributeSet(attribute.NewSet(attribute.String("result", result)))
	ctx := context.Background()
	m.messages.Add(ctx, 1, set)
	if took >= 0 {
		m.duration.Record(ctx, took.Seconds(), set)
	}
}

// connectionRefused counts a connection turned away by limit.
func (m *metrics) connectionRefused(limit string) {
	m.refused.Add(context.Background(), 1, metric.WithAttributeSet(attribute.NewSet(attribute.String("limit", limit))))
}
