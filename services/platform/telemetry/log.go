// Package telemetry sets up kubedesk's observability: JSON logs that carry
// the trace and span of the request, OpenTelemetry traces (exported over
// OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set) and metrics (served to
// Prometheus on /metrics).
package telemetry

import (
	"context"
	"io"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/trace"
)

// NewLogger returns a JSON logger at level whose records carry trace_id and
// span_id when the context holds a span, so a log line leads to its trace.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(traceHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

// ParseLevel reads debug, info, warn or error (validated by config).
func ParseLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}

// traceHandler adds trace_id and span_id at the top level of a record, even
// when the logger has opened groups.
type traceHandler struct {
	slog.Handler
	// Set once a group is open: the handler before the first group and the
	// steps (WithGroup, WithAttrs) that rebuild the current one from it, so
	// the trace attributes can go in before the groups.
	ungrouped slog.Handler
	steps     []func(slog.Handler) slog.Handler
}

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return h.Handler.Handle(ctx, r)
	}
	ids := []slog.Attr{slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String())}
	if h.ungrouped == nil {
		r.AddAttrs(ids...)
		return h.Handler.Handle(ctx, r)
	}
	inner := h.ungrouped.WithAttrs(ids)
	for _, step := range h.steps {
		inner = step(inner)
	}
	return inner.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	next := traceHandler{Handler: h.Handler.WithAttrs(attrs), ungrouped: h.ungrouped, steps: h.steps}
	if h.ungrouped != nil {
		next.steps = append(slices.Clip(h.steps), func(in slog.Handler) slog.Handler { return in.WithAttrs(attrs) })
	}
	return next
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	next := traceHandler{Handler: h.Handler.WithGroup(name), ungrouped: h.ungrouped, steps: h.steps}
	if next.ungrouped == nil {
		next.ungrouped = h.Handler
	}
	next.steps = append(slices.Clip(h.steps), func(in slog.Handler) slog.Handler { return in.WithGroup(name) })
	return next
}
