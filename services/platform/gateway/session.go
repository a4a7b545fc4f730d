package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// SessionCookie is the cookie that carries a browser's session token. It
// is HttpOnly: no script reads it, and the gateway hands it to the
// services as auth.SessionKey metadata.
const SessionCookie = "kd_session"

// CSRFHeader carries the session's CSRF token (auth.CSRFToken) on every
// write a browser makes with the session cookie.
const CSRFHeader = "X-CSRF-Token"

// signInPath is CreateSession's route: the one write a browser makes
// before it has a session, so it needs no CSRF token.
const signInPath = "/v1/sessions"

// The Bearer challenge of a 401 (RFC 6750 section 3).
const (
	challenge        = `Bearer realm="kubedesk"`
	challengeInvalid = `Bearer realm="kubedesk", error="invalid_token"`
)

// request is what the outermost handler learnt about a request, for the
// grpc-gateway callbacks (forward-response options, the error handler),
// which see only its context.
type request struct {
	// secure: the client reached the gateway over TLS.
	secure bool
}

type requestKey struct{}

func requestOf(ctx context.Context) request {
	r, _ := ctx.Value(requestKey{}).(request)
	return r
}

// isSecure reports whether the client's connection is TLS: the gateway's
// own, or the proxy's in front of it when trusted to say so.
func (o Options) isSecure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return o.TrustForwardedProto && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// clientIP is the client's address: the connection's peer, or with
// TrustForwardedFor the last X-Forwarded-For entry, which the proxy in
// front of the gateway appended (the entries before it are the client's
// say, which anyone can forge).
func (o Options) clientIP(r *http.Request) string {
	if o.TrustForwardedFor {
		if vs := r.Header.Values("X-Forwarded-For"); len(vs) > 0 {
			parts := strings.Split(vs[len(vs)-1], ",")
			if ip := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sessionToken is the session cookie's value; "" without one.
func sessionToken(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// sessionMetadata hands the session cookie to the services as
// auth.SessionKey. A request that also sends Authorization is
// authenticated by that alone: its cookie is not forwarded, so a cookie
// never authenticates a write that skipped the CSRF check.
func sessionMetadata(_ context.Context, r *http.Request) metadata.MD {
	tok := sessionToken(r)
	if tok == "" || r.Header.Get("Authorization") != "" {
		return nil
	}
	return metadata.Pairs(auth.SessionKey, tok)
}

// checkCSRF refuses a write made with the session cookie that does not
// send the session's CSRF token. A page on another site can make the
// browser send the cookie (SameSite=Lax still sends it on top-level
// navigations, and a sibling subdomain counts as same-site), but cannot
// read the token. Safe methods change nothing; sign-in has no session yet
// (it is refused from another site's pages instead, see crossSite);
// a request with Authorization is not authenticated by the cookie.
func checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := sessionToken(r)
		switch {
		case r.Method == http.MethodPost && r.URL.Path == signInPath:
			// Sign-in needs no token (there is no session yet), but a page
			// of another site must not sign the browser in to an account
			// of its choosing (login CSRF): browsers say where a request
			// comes from.
			if from, cross := crossSite(r); cross {
				writeStatus(w, http.StatusForbidden, codes.PermissionDenied,
					"Origin: a sign-in sent from another site ("+from+") is refused; accepted: a sign-in from this site's own pages, or from a client that sends no Origin")
				return
			}
		case tok == "", r.Header.Get("Authorization") != "":
		case r.Method == http.MethodGet, r.Method == http.MethodHead, r.Method == http.MethodOptions:
		case !auth.CheckCSRF(tok, r.Header.Get(CSRFHeader)):
			writeStatus(w, http.StatusForbidden, codes.PermissionDenied,
				CSRFHeader+": missing or does not match the session; accepted: the csrf_token returned by POST /v1/sessions or GET /v1/me")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossSite reports whether a browser sent r from a page of another site:
// Sec-Fetch-Site says so, or Origin names another host (or is "null", a
// sandboxed or opaque origin). It returns where the request came from.
func crossSite(r *http.Request) (string, bool) {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
		return "Sec-Fetch-Site: cross-site", true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return "", false
	}
	u, err := url.Parse(origin)
	if origin == "null" || err != nil || u.Host == "" {
		return strconv.Quote(origin), true
	}
	return u.Host, !strings.EqualFold(u.Host, r.Host)
}

// sessionCookie turns the services' session header metadata into the
// cookie: auth.SessionTokenKey (sign-in) sets it, auth.SessionEndedKey
// (sign-out) clears it. Neither key ever reaches the client as a header
// (outgoingHeader drops them).
func sessionCookie(ctx context.Context, w http.ResponseWriter, resp proto.Message) error {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return nil
	}
	if toks := md.HeaderMD.Get(auth.SessionTokenKey); len(toks) > 0 && toks[0] != "" {
		c := &http.Cookie{
			Name:     SessionCookie,
			Value:    toks[0],
			Path:     "/",
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
			Secure:   requestOf(ctx).secure,
		}
		if s, ok := resp.(interface{ GetSession() *iamv1.Session }); ok && s.GetSession().GetExpireTime() != nil {
			c.Expires = s.GetSession().GetExpireTime().AsTime()
		}
		if err := c.Valid(); err != nil {
			// A token the cookie syntax cannot carry is the identity
			// module's bug; the client must not get a broken session.
			return status.Errorf(codes.Internal, "the session token cannot be sent as a cookie: %v", err)
		}
		http.SetCookie(w, c)
		return nil
	}
	if len(md.HeaderMD.Get(auth.SessionEndedKey)) > 0 {
		clearSession(ctx, w)
	}
	return nil
}

// clearSession tells the browser to drop the session cookie.
func clearSession(ctx context.Context, w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1, // sent as Max-Age=0
		Expires:  time.Unix(0, 0),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   requestOf(ctx).secure,
	})
}

// httpError is grpc-gateway's error handler with what kubedesk adds: a
// Bearer challenge on 401 (grpc-gateway's puts the error message in
// WWW-Authenticate), and the session cookie cleared when the service says
// the session ended.
func httpError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok && len(md.HeaderMD.Get(auth.SessionEndedKey)) > 0 {
		clearSession(ctx, w)
	}
	cause := err
	var hs *runtime.HTTPStatusError
	if errors.As(err, &hs) {
		cause = hs.Err
	}
	if status.Code(cause) == codes.Unauthenticated {
		v := challenge
		if r.Header.Get("Authorization") != "" || sessionToken(r) != "" {
			v = challengeInvalid
		}
		w = &challengeWriter{ResponseWriter: w, challenge: v}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// challengeWriter sets WWW-Authenticate as the status is written, after
// grpc-gateway's handler has set its own.
type challengeWriter struct {
	http.ResponseWriter
	challenge string
}

func (c *challengeWriter) WriteHeader(code int) {
	c.Header().Set("WWW-Authenticate", c.challenge)
	c.ResponseWriter.WriteHeader(code)
}

func (c *challengeWriter) Write(b []byte) (int, error) {
	c.Header().Set("WWW-Authenticate", c.challenge)
	return c.ResponseWriter.Write(b)
}
