package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

func TestLimitBody(t *testing.T) {
	o := Options{MaxRequestBytes: 1024}
	var seen int
	h := o.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = len(b)
	}))
	tests := []struct {
		name    string
		body    string
		chunked bool // no Content-Length: the limit must hold while reading
		code    int
	}{
		{"small", strings.Repeat("a", 100), false, 200},
		{"at the limit", strings.Repeat("a", 1024), false, 200},
		{"over, declared", strings.Repeat("a", 1025), false, 413},
		{"over, chunked", strings.Repeat("a", 5000), true, 413},
		{"small, chunked", "技术支持", true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = -1
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length from NewRequest
			}
			r := httptest.NewRequest(http.MethodPost, "/v1/tickets", body)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d", w.Code, tt.code)
			}
			if tt.code == 413 {
				var st struct {
					Code    int
					Message string
				}
				if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Code != 3 || !strings.Contains(st.Message, "1024") {
					t.Errorf("body %s is not a google.rpc.Status naming the limit", w.Body.Bytes())
				}
				if seen != -1 {
					t.Errorf("an oversized body reached the API")
				}
			} else if seen != len(tt.body) {
				t.Errorf("handler read %d bytes, want %d", seen, len(tt.body))
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	down := errors.New("ticket store: connection refused")
	tests := []struct {
		name   string
		checks []Check
		code   int
		body   string
	}{
		{"no checks", nil, 200, "ok"},
		{"all pass", []Check{{"store", func(context.Context) error { return nil }}}, 200, "ok"},
		{"one fails", []Check{{"store", func(context.Context) error { return nil }}, {"ticket", func(context.Context) error { return down }}}, 503, down.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHandler(t.Context(), Options{Ready: tt.checks})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("readyz = %d %q, want %d containing %q", w.Code, w.Body.String(), tt.code, tt.body)
			}
		})
	}
}

// identity is an IdentityService on a real gRPC listener, as the identity
// module answers the gateway: CreateSession hands the token over in
// header metadata, DeleteSession of "current" says the session ended, and
// GetMe answers what the test sets. It records the metadata of each call.
type identity struct {
	iamv1.UnimplementedIdentityServiceServer

	mu sync.Mutex
	md []metadata.MD
	// getMe answers GetMe; nil: an empty principal.
	getMe func(ctx context.Context) (*iamv1.GetMeResponse, error)
}

// testToken is the session token CreateSession hands out.
const testToken = "kds3ss10n_t0ken-AbC"

var sessionExpiry = time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)

func (s *identity) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.md = append(s.md, md)
	s.mu.Unlock()
}

// last is the metadata of the last call.
func (s *identity) last() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.md) == 0 {
		return nil
	}
	return s.md[len(s.md)-1]
}

func (s *identity) CreateSession(ctx context.Context, _ *iamv1.CreateSessionRequest) (*iamv1.CreateSessionResponse, error) {
	s.record(ctx)
	if err := grpc.SetHeader(ctx, metadata.Pairs(auth.SessionTokenKey, testToken)); err != nil {
		return nil, err
	}
	return &iamv1.CreateSessionResponse{Session: &iamv1.Session{
		Id: "s1", ExpireTime: timestamppb.New(sessionExpiry), CsrfToken: auth.CSRFToken(testToken),
	}}, nil
}

func (s *identity) DeleteSession(ctx context.Context, req *iamv1.DeleteSessionRequest) (*iamv1.DeleteSessionResponse, error) {
	s.record(ctx)
	if req.GetId() == "current" {
		if err := grpc.SetHeader(ctx, metadata.Pairs(auth.SessionEndedKey, "true")); err != nil {
			return nil, err
		}
	}
	return &iamv1.DeleteSessionResponse{}, nil
}

func (s *identity) GetMe(ctx context.Context, _ *iamv1.GetMeRequest) (*iamv1.GetMeResponse, error) {
	s.record(ctx)
	if s.getMe != nil {
		return s.getMe(ctx)
	}
	return &iamv1.GetMeResponse{Principal: &iamv1.Principal{Id: "u1"}}, nil
}

// authGateway serves the REST API of srv, which listens on a loopback
// port, through the gateway's handler.
func authGateway(t *testing.T, srv *identity, opts Options) http.Handler {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	iamv1.RegisterIdentityServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if opts.MaxRequestBytes == 0 {
		opts.MaxRequestBytes = 1 << 20
	}
	opts.Routes = []Route{{Name: "iam", Conn: conn, Register: iamv1.RegisterIdentityServiceHandler}}
	h, err := NewHandler(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// call serves one request: method and target (an https:// target sets
// r.TLS), headers as "Name: value" lines.
func call(h http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for _, kv := range header {
		k, v, _ := strings.Cut(kv, ": ")
		r.Header.Add(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const signIn = `{"email":"li.wei@example.com","password":"correct horse"}`

// TestSignInCookie: sign-in sets the session cookie with the attributes
// the connection calls for, and its token shows nowhere else.
func TestSignInCookie(t *testing.T) {
	tests := []struct {
		name   string
		target string
		header []string
		trust  bool
		secure bool
	}{
		{name: "plain HTTP", target: "http://kubedesk.example/v1/sessions"},
		{name: "TLS", target: "https://kubedesk.example/v1/sessions", secure: true},
		{name: "TLS at a trusted proxy", target: "http://kubedesk.example/v1/sessions", header: []string{"X-Forwarded-Proto: https"}, trust: true, secure: true},
		{name: "X-Forwarded-Proto not trusted", target: "http://kubedesk.example/v1/sessions", header: []string{"X-Forwarded-Proto: https"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := authGateway(t, &identity{}, Options{TrustForwardedProto: tt.trust})
			w := call(h, http.MethodPost, tt.target, signIn, tt.header...)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			cookies := w.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("Set-Cookie %q, want one cookie", w.Header().Values("Set-Cookie"))
			}
			c := cookies[0]
			if c.Name != "kd_session" || c.Value != testToken || c.Path != "/" || !c.HttpOnly ||
				c.SameSite != http.SameSiteLaxMode || c.Secure != tt.secure || !c.Expires.Equal(sessionExpiry) {
				t.Errorf("cookie %q, want kd_session=<token>; Path=/; Expires=%s; HttpOnly; SameSite=Lax; Secure %v",
					w.Header().Get("Set-Cookie"), sessionExpiry.Format(http.TimeFormat), tt.secure)
			}
			if hsts := w.Header().Get("Strict-Transport-Security"); (hsts != "") != tt.secure {
				t.Errorf("Strict-Transport-Security %q over TLS %v", hsts, tt.secure)
			}
			if strings.Contains(w.Body.String(), testToken) {
				t.Errorf("the body holds the session token: %s", w.Body)
			}
			for k, vs := range w.Header() {
				if k == "Set-Cookie" {
					continue
				}
				for _, v := range vs {
					if strings.Contains(v, testToken) || strings.Contains(strings.ToLower(k), "kubedesk-session") {
						t.Errorf("header %s: %s carries the session", k, v)
					}
				}
			}
			var s struct {
				ID        string `json:"id"`
				CSRFToken string `json:"csrfToken"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil || s.ID != "s1" || s.CSRFToken != auth.CSRFToken(testToken) {
				t.Errorf("body %s, want the Session with its csrfToken (%v)", w.Body, err)
			}
		})
	}
}

// TestSessionMetadata: the cookie reaches the services as kubedesk-session
// metadata and the Cookie header does not; Authorization goes on as it
// came, and wins over a cookie; no client-written metadata gets through.
func TestSessionMetadata(t *testing.T) {
	tests := []struct {
		name    string
		header  []string
		session []string
		authz   []string
	}{
		{name: "cookie", header: []string{"Cookie: theme=dark; kd_session=" + testToken},
			session: []string{testToken}},
		{name: "bearer", header: []string{"Authorization: Bearer kd_abc"},
			authz: []string{"Bearer kd_abc"}},
		{name: "bearer and cookie", header: []string{"Authorization: Bearer kd_abc", "Cookie: kd_session=" + testToken},
			authz: []string{"Bearer kd_abc"}},
		{name: "metadata a client writes", header: []string{"Grpc-Metadata-Kubedesk-Session: forged", "Grpc-Metadata-X-Forwarded-For: 10.9.9.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &identity{}
			h := authGateway(t, srv, Options{})
			if w := call(h, http.MethodGet, "/v1/me", "", tt.header...); w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			md := srv.last()
			if diff := cmp.Diff(tt.session, md.Get(auth.SessionKey)); diff != "" {
				t.Errorf("kubedesk-session metadata (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.authz, md.Get(auth.AuthorizationKey)); diff != "" {
				t.Errorf("authorization metadata (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"192.0.2.1"}, md.Get(auth.ClientIPKey)); diff != "" {
				t.Errorf("x-forwarded-for metadata (-want +got):\n%s", diff)
			}
			for k, vs := range md {
				if strings.Contains(k, "cookie") || k == "grpcgateway-authorization" {
					t.Errorf("metadata %s: %q forwards a credential again", k, vs)
				}
			}
		})
	}
}

// TestCSRF: writes made with the session cookie need the session's CSRF
// token; reads, sign-in and bearer-authenticated writes do not.
func TestCSRF(t *testing.T) {
	cookie := "Cookie: kd_session=" + testToken
	tests := []struct {
		name   string
		method string
		target string
		body   string
		header []string
		code   int
	}{
		{"sign-in from another site", http.MethodPost, "/v1/sessions", signIn, []string{"Origin: https://evil.example"}, 403},
		{"sign-in from a sandboxed page", http.MethodPost, "/v1/sessions", signIn, []string{"Origin: null"}, 403},
		{"sign-in cross-site by fetch metadata", http.MethodPost, "/v1/sessions", signIn, []string{"Sec-Fetch-Site: cross-site"}, 403},
		{"sign-in from this site", http.MethodPost, "/v1/sessions", signIn, []string{"Origin: https://example.com", "Sec-Fetch-Site: same-origin"}, 200},
		{"missing", http.MethodDelete, "/v1/sessions/current", "", []string{cookie}, 403},
		{"wrong", http.MethodDelete, "/v1/sessions/current", "", []string{cookie, "X-CSRF-Token: " + auth.CSRFToken("another session")}, 403},
		{"right", http.MethodDelete, "/v1/sessions/current", "", []string{cookie, "X-CSRF-Token: " + auth.CSRFToken(testToken)}, 200},
		{"read", http.MethodGet, "/v1/me", "", []string{cookie}, 200},
		{"sign-in over an old session", http.MethodPost, "/v1/sessions", signIn, []string{cookie}, 200},
		{"bearer", http.MethodDelete, "/v1/sessions/s1", "", []string{cookie, "Authorization: Bearer kd_abc"}, 200},
		{"no cookie", http.MethodDelete, "/v1/sessions/s1", "", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &identity{}
			h := authGateway(t, srv, Options{})
			w := call(h, tt.method, tt.target, tt.body, tt.header...)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if tt.code != 403 {
				return
			}
			var st struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			want := "X-CSRF-Token: missing or does not match the session; accepted: the csrf_token returned by POST /v1/sessions or GET /v1/me"
			if tt.target == "/v1/sessions" {
				want = "Origin: a sign-in sent from another site"
			}
			if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Code != 7 || !strings.HasPrefix(st.Message, want) {
				t.Errorf("body %s, want a google.rpc.Status PERMISSION_DENIED starting %q", w.Body, want)
			}
			if srv.last() != nil {
				t.Error("a refused write reached the service")
			}
		})
	}
}

// TestSignOut: ending one's own session clears the cookie.
func TestSignOut(t *testing.T) {
	h := authGateway(t, &identity{}, Options{})
	w := call(h, http.MethodDelete, "https://kubedesk.example/v1/sessions/current", "",
		"Cookie: kd_session="+testToken, "X-CSRF-Token: "+auth.CSRFToken(testToken))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	set := w.Header().Values("Set-Cookie")
	if len(set) != 1 || !strings.HasPrefix(set[0], "kd_session=;") || !strings.Contains(set[0], "Max-Age=0") ||
		!strings.Contains(set[0], "Path=/") || !strings.Contains(set[0], "Secure") {
		t.Errorf("Set-Cookie %q, want kd_session cleared (Max-Age=0, Path=/, Secure)", set)
	}
	if v := w.Header().Values("Grpc-Metadata-Kubedesk-Session-Ended"); len(v) > 0 {
		t.Errorf("the session-ended metadata reached the client: %q", v)
	}
	// Another session than one's own: the cookie stays.
	w = call(h, http.MethodDelete, "/v1/sessions/s2", "", "Authorization: Bearer kd_abc")
	if set := w.Header().Values("Set-Cookie"); w.Code != http.StatusOK || len(set) > 0 {
		t.Errorf("deleting another session: status %d, Set-Cookie %q; want 200 and no cookie", w.Code, set)
	}
}

// TestErrorHeaders: a 401 carries a Bearer challenge, invalid_token when a
// credential was sent; a 429 carries the service's rate-limit headers;
// no other header metadata reaches the client.
func TestErrorHeaders(t *testing.T) {
	exhausted := func(ctx context.Context) (*iamv1.GetMeResponse, error) {
		_ = grpc.SetHeader(ctx, metadata.Pairs(
			"retry-after", "7", "ratelimit-limit", "100", "ratelimit-remaining", "0", "ratelimit-reset", "7",
			"x-internal-shard", "db-3"))
		return nil, status.Error(codes.ResourceExhausted, "API key kd_abc…: over 100 requests a minute")
	}
	unauthenticated := func(context.Context) (*iamv1.GetMeResponse, error) {
		return nil, status.Error(codes.Unauthenticated, "the credential is not valid")
	}
	tests := []struct {
		name   string
		getMe  func(context.Context) (*iamv1.GetMeResponse, error)
		header []string
		code   int
		want   map[string]string
	}{
		{name: "no credential", getMe: unauthenticated, code: 401,
			want: map[string]string{"WWW-Authenticate": `Bearer realm="kubedesk"`}},
		{name: "refused API key", getMe: unauthenticated, header: []string{"Authorization: Bearer kd_gone"}, code: 401,
			want: map[string]string{"WWW-Authenticate": `Bearer realm="kubedesk", error="invalid_token"`}},
		{name: "refused session", getMe: unauthenticated, header: []string{"Cookie: kd_session=expired"}, code: 401,
			want: map[string]string{"WWW-Authenticate": `Bearer realm="kubedesk", error="invalid_token"`}},
		{name: "rate limited", getMe: exhausted, header: []string{"Authorization: Bearer kd_abc"}, code: 429,
			want: map[string]string{"Retry-After": "7", "RateLimit-Limit": "100", "RateLimit-Remaining": "0", "RateLimit-Reset": "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := authGateway(t, &identity{getMe: tt.getMe}, Options{})
			w := call(h, http.MethodGet, "/v1/me", "", tt.header...)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			for k, v := range tt.want {
				if got := w.Header().Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			for k := range w.Header() {
				if strings.HasPrefix(k, "Grpc-") {
					t.Errorf("header %s: service metadata reached the client", k)
				}
			}
			checkSecurityHeaders(t, w, true)
		})
	}
}

// TestSignInLimit: sign-ins are limited per client address, which is the
// connection's peer unless a proxy in front is trusted to name it.
func TestSignInLimit(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		trust bool
		// from are the X-Forwarded-For values of the sign-ins, want their
		// statuses.
		from []string
		want []int
	}{
		{name: "per address", trust: true,
			from: []string{"203.0.113.7", "203.0.113.7", "203.0.113.7", "198.51.100.2"}, want: []int{200, 200, 429, 200}},
		{name: "the proxy's entry counts", trust: true,
			from: []string{"10.0.0.1, 203.0.113.7", "10.0.0.2, 203.0.113.7", "10.0.0.3, 203.0.113.7"}, want: []int{200, 200, 429}},
		{name: "an IPv6 client counts by its /64", trust: true,
			from: []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2:abcd::3", "2001:db8:1:3::1"}, want: []int{200, 200, 429, 200}},
		{name: "X-Forwarded-For not trusted",
			from: []string{"203.0.113.7", "198.51.100.2", "192.0.2.99"}, want: []int{200, 200, 429}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &identity{}
			h := authGateway(t, srv, Options{
				SignInRate: auth.Rate{PerSecond: 0.1, Burst: 2}, TrustForwardedFor: tt.trust,
				Now: func() time.Time { return now },
			})
			for i, from := range tt.from {
				w := call(h, http.MethodPost, "/v1/sessions", signIn, "X-Forwarded-For: "+from)
				if w.Code != tt.want[i] {
					t.Fatalf("sign-in %d from %s: status %d, want %d: %s", i, from, w.Code, tt.want[i], w.Body)
				}
				if w.Code != 429 {
					continue
				}
				want := map[string]string{"Retry-After": "10", "RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "20"}
				for k, v := range want {
					if got := w.Header().Get(k); got != v {
						t.Errorf("%s: %q, want %q", k, got, v)
					}
				}
				var st struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Code != 8 || !strings.Contains(st.Message, "gateway.signInRate") {
					t.Errorf("body %s, want a google.rpc.Status RESOURCE_EXHAUSTED naming gateway.signInRate", w.Body)
				}
				checkSecurityHeaders(t, w, true)
			}
			// The service sees the address the limit counted, not what the
			// client wrote.
			want := "192.0.2.1"
			if tt.trust {
				parts := strings.Split(tt.from[0], ", ")
				want = parts[len(parts)-1]
			}
			if got := srv.md[0].Get(auth.ClientIPKey); len(got) != 1 || got[0] != want {
				t.Errorf("x-forwarded-for metadata %q, want [%s]", got, want)
			}
		})
	}
	// Other routes are not counted.
	h := authGateway(t, &identity{}, Options{SignInRate: auth.Rate{PerSecond: 0.1, Burst: 1}, Now: func() time.Time { return now }})
	for range 3 {
		if w := call(h, http.MethodGet, "/v1/me", ""); w.Code != 200 {
			t.Fatalf("GET /v1/me: status %d under a sign-in limit", w.Code)
		}
	}
}

// TestSecurityHeaders: every response carries them, whatever answers.
func TestSecurityHeaders(t *testing.T) {
	h := authGateway(t, &identity{}, Options{MaxRequestBytes: 1024})
	tests := []struct {
		name, method, target, body string
		code                       int
		api                        bool
	}{
		{"REST", http.MethodGet, "/v1/me", "", 200, true},
		{"REST error", http.MethodGet, "/v1/users/u9", "", 501, true},
		{"no such route", http.MethodGet, "/v1/nothing", "", 404, true},
		{"body too large", http.MethodPost, "/v1/sessions", strings.Repeat("x", 2000), 413, true},
		{"healthz", http.MethodGet, "/healthz", "", 200, false},
		{"readyz", http.MethodGet, "/readyz", "", 200, false},
		{"openapi", http.MethodGet, "/openapi.json", "", 200, false},
		{"TLS", http.MethodGet, "https://kubedesk.example/healthz", "", 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call(h, tt.method, tt.target, tt.body)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			checkSecurityHeaders(t, w, tt.api)
			hsts := w.Header().Get("Strict-Transport-Security")
			if tls := strings.HasPrefix(tt.target, "https:"); tls != (hsts != "") {
				t.Errorf("Strict-Transport-Security %q; want one over TLS only", hsts)
			}
		})
	}
}

func checkSecurityHeaders(t *testing.T, w *httptest.ResponseRecorder, api bool) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	}
	if api {
		want["Cache-Control"] = "no-store"
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"limit off", func(c *Config) { c.SignInRate = auth.Rate{} }, ""},
		{"negative rate", func(c *Config) { c.SignInRate.PerSecond = -1 },
			"gateway.signInRate.perSecond: -1; accepted: a number of sign-ins per second, at least 0 (0 turns the limit off)"},
		{"no burst", func(c *Config) { c.SignInRate.Burst = 0 },
			"gateway.signInRate.burst: 0; accepted: 1 to 1000000 sign-ins at once"},
		{"small body limit", func(c *Config) { c.MaxRequestBytes = 10 },
			"gateway.maxRequestBytes: 10 is too small; accepted: at least 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}
