// Package gateway serves kubedesk over HTTP: the REST API (grpc-gateway,
// dialing the services' gRPC endpoints so their interceptors run),
// /openapi.json, /metrics, /healthz and /readyz.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	slav1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/sla/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/proto/gen/openapi"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Options configure the HTTP handler.
type Options struct {
	Log *slog.Logger
	// Ticket is a connection to the ticket service; nil serves no REST API
	// (a process running only backend targets still serves the probes).
	Ticket *grpc.ClientConn
	// SLA is a connection to the worker's SLA policy service; nil serves
	// no SLA routes.
	SLA *grpc.ClientConn
	// MaxRequestBytes limits request bodies; larger ones get 413.
	MaxRequestBytes int64
	// DefaultTenant is sent upstream when a request names no tenant.
	DefaultTenant string
	// Metrics serves /metrics.
	Metrics http.Handler
	// Ready checks, all of which must pass for /readyz to answer 200.
	Ready []func(context.Context) error
	// Streams is cancelled when shutdown begins, ending long-lived
	// streaming responses so the server can drain.
	Streams context.Context
}

// headers maps the REST headers kubedesk reads to their gRPC metadata keys.
var headers = map[string]string{
	strings.ToLower(tenant.HeaderName): tenant.MetadataKey,
	"idempotency-key":                  "idempotency-key",
	"if-match":                         "if-match",
}

// NewHandler returns the process's HTTP handler.
func NewHandler(ctx context.Context, opts Options) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", opts.readyz)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	if opts.Ticket != nil {
		rest, err := opts.restMux(ctx)
		if err != nil {
			return nil, err
		}
		mux.Handle("/v1/", opts.limitBody(opts.defaultTenant(opts.endStreams(rest))))
		mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(openapi.JSON)
		})
	}
	return otelhttp.NewHandler(mux, "http",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }),
		otelhttp.WithFilter(func(r *http.Request) bool {
			return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" && r.URL.Path != "/metrics"
		}),
	), nil
}

func (o Options) restMux(ctx context.Context) (*runtime.ServeMux, error) {
	mux := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			if md, ok := headers[strings.ToLower(key)]; ok {
				return md, true
			}
			return runtime.DefaultHeaderMatcher(key)
		}),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true},
			// Unknown JSON fields are a client bug worth a 400 naming the
			// field, not something to drop silently.
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithForwardResponseOption(setETag),
	)
	if err := ticketv1.RegisterTicketServiceHandler(ctx, mux, o.Ticket); err != nil {
		return nil, fmt.Errorf("gateway: ticket routes: %w", err)
	}
	if o.SLA != nil {
		if err := slav1.RegisterSLAPolicyServiceHandler(ctx, mux, o.SLA); err != nil {
			return nil, fmt.Errorf("gateway: SLA routes: %w", err)
		}
	}
	return mux, nil
}

// setETag mirrors a returned ticket's etag in the ETag header, so HTTP
// clients can send it back in If-Match.
func setETag(_ context.Context, w http.ResponseWriter, resp proto.Message) error {
	if r, ok := resp.(interface{ GetTicket() *ticketv1.Ticket }); ok && r.GetTicket().GetEtag() != "" {
		w.Header().Set("ETag", `"`+r.GetTicket().GetEtag()+`"`)
	}
	return nil
}

// limitBody refuses bodies over MaxRequestBytes with 413 before any of it
// reaches a service.
func (o Options) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > o.MaxRequestBytes {
			o.tooLarge(w)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, o.MaxRequestBytes)
			body, err := io.ReadAll(r.Body)
			if err != nil {
				o.tooLarge(w)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

func (o Options) tooLarge(w http.ResponseWriter) {
	writeStatus(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument,
		fmt.Sprintf("request body: larger than %d bytes; accepted: at most %d bytes", o.MaxRequestBytes, o.MaxRequestBytes))
}

// defaultTenant names the default tenant upstream when the request names
// none, so the gateway's configuration decides, not each backend's.
func (o Options) defaultTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(tenant.HeaderName) == "" && o.DefaultTenant != "" {
			r.Header.Set(tenant.HeaderName, o.DefaultTenant)
		}
		next.ServeHTTP(w, r)
	})
}

// endStreams ties streaming requests (…:watch) to o.Streams so that they
// end when shutdown begins instead of holding the server open.
func (o Options) endStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.Streams != nil && strings.HasSuffix(r.URL.Path, ":watch") {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			stop := context.AfterFunc(o.Streams, cancel)
			defer stop()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

func (o Options) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for _, check := range o.Ready {
		if err := check(ctx); err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// writeStatus writes a google.rpc.Status JSON body, the same shape the
// REST API uses for every other error.
func writeStatus(w http.ResponseWriter, httpCode int, code codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": int(code), "message": msg, "details": []any{}})
}
