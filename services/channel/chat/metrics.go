package chat

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metrics are the chat's on /metrics: the messages the chats number, by
// author, and the streams open in this process, by side. They are made
// with the service, from the meter provider the process set up by then.
type metrics struct {
	messages metric.Int64Counter
	streams  metric.Int64UpDownCounter
}

func newMetrics() *metrics {
	meter := otel.Meter("github.com/kubedesk/kubedesk/services/channel/chat")
	m := &metrics{}
	m.messages, _ = meter.Int64Counter("kubedesk_chat_messages_total",
		metric.WithDescription("Chat messages numbered, by author: visitor, agent, system."))
	m.streams, _ = meter.Int64UpDownCounter("kubedesk_chat_streams",
		metric.WithDescription("Chat streams open in this process, by side: visitor (through a gateway), agent (WatchChat)."))
	return m
}

func (m *metrics) message(ctx context.Context, author string) {
	if m != nil && m.messages != nil {
		m.messages.Add(ctx, 1, metric.WithAttributes(attribute.String("author", author)))
	}
}

// stream counts a stream open until the func it returns is called.
func (m *metrics) stream(ctx context.Context, side string) func() {
	if m == nil || m.streams == nil {
		return func() {}
	}
	attrs := metric.WithAttributes(attribute.String("side", side))
	m.streams.Add(ctx, 1, attrs)
	return func() { m.streams.Add(context.WithoutCancel(ctx), -1, attrs) }
}
