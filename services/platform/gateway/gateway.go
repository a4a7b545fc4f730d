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
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/proto/gen/openapi"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// Options configure the HTTP handler.
type Options struct {
	Log *slog.Logger
	// Routes are the services whose REST API this handler serves; none
	// serves no REST API (a process running only backend modules still
	// serves the probes and metrics).
	Routes []Route
	// Endpoints are plain HTTP endpoints for outside systems that speak
	// their own protocol rather than the REST API (WeChat's callback).
	Endpoints []Endpoint
	// MaxRequestBytes limits request bodies; larger ones get 413.
	MaxRequestBytes int64
	// Metrics serves /metrics.
	Metrics http.Handler
	// Ready checks, all of which must pass for /readyz to answer 200.
	Ready []Check
	// Streams is cancelled when shutdown begins, ending long-lived
	// streaming responses so the server can drain.
	Streams context.Context
	// SignInRate limits sign-ins per client address; zero: no limit.
	SignInRate auth.Rate
	// TrustForwardedFor takes the client address from X-Forwarded-For
	// (the entry the proxy in front appended); TrustForwardedProto takes
	// whether the client used TLS from X-Forwarded-Proto. Set them only
	// behind a proxy that sets these headers.
	TrustForwardedFor, TrustForwardedProto bool
	// Now is the sign-in limiter's clock; nil: time.Now.
	Now func() time.Time
}

// Check is a readiness check: a part of the process and whether it works.
type Check struct {
	Name  string
	Check func(context.Context) error
}

// Route is one service's REST API: grpc-gateway's generated registration
// and the connection to the service it forwards to.
type Route struct {
	Name     string
	Conn     *grpc.ClientConn
	Register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
}

// Endpoint is a plain HTTP endpoint: a net/http ServeMux pattern such as
// "/channels/wechat/{tenant}" and its handler. It gets none of the REST
// API's request handling (credentials, CSRF check, body limit): the
// handler checks what it is sent itself.
type Endpoint struct {
	Pattern string
	Handler http.Handler
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
	for _, e := range opts.Endpoints {
		mux.Handle(e.Pattern, e.Handler)
	}
	if len(opts.Routes) > 0 {
		rest, err := opts.restMux(ctx)
		if err != nil {
			return nil, err
		}
		mux.Handle("/v1/", opts.limitSignIn(checkCSRF(opts.limitBody(opts.forwardedFor(opts.endStreams(rawBodies(rest)))))))
		mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(openapi.JSON)
		})
	}
	return otelhttp.NewHandler(opts.secureHeaders(mux), "http",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }),
		otelhttp.WithFilter(func(r *http.Request) bool {
			return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" && r.URL.Path != "/metrics"
		}),
	), nil
}

func (o Options) restMux(ctx context.Context) (*runtime.ServeMux, error) {
	mux := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithOutgoingTrailerMatcher(outgoingTrailer),
		runtime.WithMetadata(sessionMetadata),
		runtime.WithErrorHandler(httpError),
		runtime.WithForwardResponseOption(sessionCookie),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler(&runtime.JSONPb{
			MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true},
			// Unknown JSON fields are a client bug worth a 400 naming the
			// field, not something to drop silently.
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		})),
		runtime.WithForwardResponseOption(setETag),
		runtime.WithForwardResponseOption(rawBody),
	)
	for _, r := range o.Routes {
		if err := r.Register(ctx, mux, r.Conn); err != nil {
			return nil, fmt.Errorf("gateway: %s routes: %w", r.Name, err)
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

// forwardedFor makes the client address the services see
// (x-forwarded-for metadata, which grpc-gateway fills from the
// X-Forwarded-For header and the peer) the one clientIP trusts, and
// nothing a client wrote.
func (o Options) forwardedFor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := o.clientIP(r)
		r = r.Clone(r.Context())
		r.Header.Del("X-Forwarded-For")
		r.RemoteAddr = net.JoinHostPort(ip, "0")
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
		if err := check.Check(ctx); err != nil {
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

// Config is the gateway section of the binary's configuration.
type Config struct {
	// MaxRequestBytes limits REST request bodies (413 above it).
	MaxRequestBytes int64 `json:"maxRequestBytes,omitempty"`
	// SignInRate limits sign-ins (POST /v1/sessions) per client address;
	// perSecond 0 turns the limit off.
	SignInRate auth.Rate `json:"signInRate,omitzero"`
	// TrustForwardedFor takes the client address from the last
	// X-Forwarded-For entry instead of the connection's peer: set it
	// when a proxy (an ingress controller) in front of the gateway
	// appends that header, and only then, or any client picks its own
	// address.
	TrustForwardedFor bool `json:"trustForwardedFor,omitempty"`
	// TrustForwardedProto takes whether the client used TLS from
	// X-Forwarded-Proto (the session cookie is then Secure, HSTS sent):
	// set it when a proxy in front terminates TLS and sets that header.
	TrustForwardedProto bool `json:"trustForwardedProto,omitempty"`
}

// DefaultSignInRate lets 20 sign-ins from one address through at once,
// enough for an office behind one NAT address starting its day, then one
// every 5 seconds: 720 an hour from one address, which slows spraying
// common passwords over many accounts; guessing at one account is the
// identity module's per-account limit to stop.
var DefaultSignInRate = auth.Rate{PerSecond: 0.2, Burst: 20}

// DefaultConfig returns the gateway's defaults.
func DefaultConfig() Config {
	return Config{MaxRequestBytes: 1 << 20, SignInRate: DefaultSignInRate}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.MaxRequestBytes < 1024 {
		return fmt.Errorf("gateway.maxRequestBytes: %d is too small; accepted: at least 1024", c.MaxRequestBytes)
	}
	r := c.SignInRate
	switch {
	case math.IsNaN(r.PerSecond) || math.IsInf(r.PerSecond, 0) || r.PerSecond < 0:
		return fmt.Errorf("gateway.signInRate.perSecond: %v; accepted: a number of sign-ins per second, at least 0 (0 turns the limit off)", r.PerSecond)
	case r.PerSecond > 0 && (r.Burst < 1 || r.Burst > 1_000_000):
		return fmt.Errorf("gateway.signInRate.burst: %d; accepted: 1 to 1000000 sign-ins at once", r.Burst)
	}
	return nil
}
