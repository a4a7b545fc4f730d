package gateway

import (
	"context"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/etag"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// headers maps the REST headers kubedesk reads to their gRPC metadata keys.
var headers = map[string]string{
	strings.ToLower(tenant.HeaderName): tenant.MetadataKey,
	"idempotency-key":                  "idempotency-key",
	"if-match":                         etag.IfMatchMetadata,
}

// incomingHeader picks the request headers the services see: those in
// headers, and the standard HTTP headers under grpcgateway-, but no
// credential twice: Authorization goes on as authorization (grpc-gateway
// adds that itself, whatever this says), not also as
// grpcgateway-authorization; Cookie not at all (its one credential goes
// as auth.SessionKey, see sessionMetadata; the rest is the browser's
// business). Grpc-Metadata-* headers, which grpc-gateway would pass on as
// any metadata a client names, are refused: a client could otherwise send
// its own x-forwarded-for, kubedesk-session or tenant metadata past the
// checks here.
func incomingHeader(key string) (string, bool) {
	if md, ok := headers[strings.ToLower(key)]; ok {
		return md, true
	}
	switch key = textproto.CanonicalMIMEHeaderKey(key); {
	case key == "Cookie", key == "Authorization", strings.HasPrefix(key, runtime.MetadataHeaderPrefix):
		return "", false
	}
	return runtime.DefaultHeaderMatcher(key)
}

// responseHeaders are the services' header metadata a client gets, as the
// HTTP headers of RFC 9110 and the IETF RateLimit fields. grpc-gateway
// would pass every key on as Grpc-Metadata-<key>, the session token
// among them; nothing else goes. (x-content-type-options, which the
// ticket service sends with an attachment's bytes, needs no mapping:
// secureHeaders sets X-Content-Type-Options: nosniff on every answer.)
var responseHeaders = map[string]string{
	"content-disposition":      "Content-Disposition", // an attachment's bytes: inline or a download
	auth.RetryAfterKey:         "Retry-After",
	auth.RateLimitLimitKey:     "RateLimit-Limit",
	auth.RateLimitRemainingKey: "RateLimit-Remaining",
	auth.RateLimitResetKey:     "RateLimit-Reset",
}

func outgoingHeader(key string) (string, bool) {
	h, ok := responseHeaders[strings.ToLower(key)]
	return h, ok
}

// outgoingTrailer passes no trailer metadata on: no client needs any, and
// what a service sends there is not vetted for clients.
func outgoingTrailer(string) (string, bool) { return "", false }

// secureHeaders sets the headers every response carries, whatever
// answers: the REST API, its errors, the probes, /metrics, /openapi.json.
//
//   - X-Content-Type-Options: nosniff, so a browser never runs JSON as
//     a script or page;
//   - Content-Security-Policy: frame-ancestors 'none' and
//     X-Frame-Options: DENY (for browsers without CSP), so no other site
//     frames an answer (clickjacking); the web desk sets its own policy;
//   - Referrer-Policy: no-referrer rather than strict-origin-when-cross-
//     origin: kubedesk's URLs carry ticket IDs, search terms and survey
//     invitation tokens, and no link followed from a page it serves
//     needs to tell where it came from;
//   - Cache-Control: no-store on /v1/: answers are one caller's data,
//     which no shared or browser cache should keep;
//   - Strict-Transport-Security over TLS only (browsers ignore it over
//     plain HTTP), for a year, without includeSubDomains: the gateway
//     does not know what else runs under its parent domain.
func (o Options) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			h.Set("Cache-Control", "no-store")
		}
		secure := o.isSecure(r)
		if secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, request{secure: secure}))
		next.ServeHTTP(w, r)
	})
}
