package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestSetupSampling checks which spans the providers record: without an
// exporter only those continuing a sampled remote parent, unless
// OTEL_TRACES_SAMPLER says otherwise; every span has IDs either way, and
// the traceparent passed on keeps the parent's sampling decision.
func TestSetupSampling(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name     string
		env      map[string]string
		incoming string // traceparent of the request, if any
		record   bool
	}{
		{"no exporter, root span", nil, "", false},
		{"no exporter, sampled parent", nil, parent, true},
		{"no exporter, unsampled parent", nil, parent[:len(parent)-2] + "00", false},
		{"no exporter, sampler set", map[string]string{"OTEL_TRACES_SAMPLER": "always_on"}, "", true},
		{"exporter, root span", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, "", true},
		{"exporter, ratio sampler", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"} {
				t.Setenv(k, tt.env[k])
			}
			prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
			t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
			p, err := Setup(context.Background(), "test", "v0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// Nothing listens at the exporter's endpoint: do not wait
				// to flush the span there.
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				_ = p.Shutdown(ctx)
			})

			ctx := otel.GetTextMapPropagator().Extract(context.Background(), propagation.MapCarrier{"traceparent": tt.incoming})
			_, span := p.Tracer.Tracer("test").Start(ctx, "handle")
			defer span.End()
			if got := span.IsRecording(); got != tt.record {
				t.Errorf("recording = %v, want %v", got, tt.record)
			}
			sc := span.SpanContext()
			if !sc.TraceID().IsValid() || !sc.SpanID().IsValid() {
				t.Errorf("span context %v has no IDs; logs need them", sc)
			}
			if tt.incoming != "" && sc.TraceID() != trace.SpanContextFromContext(ctx).TraceID() {
				t.Errorf("trace ID %s, want the parent's", sc.TraceID())
			}
			if sc.IsSampled() != tt.record {
				t.Errorf("sampled flag %v passed on, want %v", sc.IsSampled(), tt.record)
			}
		})
	}
}
