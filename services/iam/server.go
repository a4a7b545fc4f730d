package iam

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/text"
)

// Metadata keys of a caller's user agent.
const (
	userAgentMetadata = "user-agent"             // a gRPC client's
	gatewayUAMetadata = "grpcgateway-user-agent" // a browser's, via the gateway
)

// TokenVerifier checks bearer tokens that are not API keys: OpenID
// Connect JWTs. It returns an error wrapping auth.ErrUnauthenticated for a
// token it refuses.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (*iamv1.Principal, error)
}

// Options are the Server's collaborators.
type Options struct {
	// Log receives store failures and janitor reports; nil discards.
	Log *slog.Logger
	// Tokens verifies OIDC bearer tokens; nil refuses every bearer token
	// that is not an API key.
	Tokens TokenVerifier
	// Now is the clock; nil is the wall clock. Tests inject one.
	Now func() time.Time
}

// Server implements kubedesk.iam.v1's IdentityService over a Store;
// Register also serves the internal AuthService from it.
type Server struct {
	iamv1.UnimplementedIdentityServiceServer

	store  Store
	cfg    Config
	log    *slog.Logger
	tokens TokenVerifier
	now    func() time.Time

	// dummyHash is verified against when the email is unknown, so that
	// an unknown account costs what a wrong password does.
	dummyHash string

	signIn *failures
	cache  *auth.Cache
	touch  *touches

	// hashing holds a token for each password hash running; hashWait is
	// how long one waits for a free slot.
	hashing  chan struct{}
	hashWait time.Duration
	// janitorEvery and batch drive RunJanitor; tests shorten them.
	janitorEvery time.Duration
	batch        int
}

// NewServer returns the identity service. cfg is expected to have passed
// Validate; zero fields take their defaults.
func NewServer(st Store, cfg Config, opts Options) *Server {
	def := DefaultConfig()
	if cfg.SessionIdleTimeout <= 0 {
		cfg.SessionIdleTimeout = def.SessionIdleTimeout
	}
	if cfg.SessionAbsoluteTimeout <= 0 {
		cfg.SessionAbsoluteTimeout = def.SessionAbsoluteTimeout
	}
	if cfg.CacheTTL < 0 {
		cfg.CacheTTL = 0
	}
	if cfg.AuditRetention <= 0 {
		cfg.AuditRetention = def.AuditRetention
	}
	if cfg.SignIn.MaxFailures <= 0 {
		cfg.SignIn.MaxFailures = def.SignIn.MaxFailures
	}
	if cfg.SignIn.Window <= 0 {
		cfg.SignIn.Window = def.SignIn.Window
	}
	if cfg.Argon2 == (Argon2Config{}) {
		cfg.Argon2 = def.Argon2
	}
	if cfg.MinPasswordLength <= 0 {
		cfg.MinPasswordLength = def.MinPasswordLength
	}
	if cfg.SignInCodeTTL <= 0 {
		cfg.SignInCodeTTL = def.SignInCodeTTL
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now
	s := &Server{
		store:        st,
		cfg:          cfg,
		log:          opts.Log,
		tokens:       opts.Tokens,
		now:          func() time.Time { return now().UTC().Truncate(time.Microsecond) },
		signIn:       newFailures(cfg.SignIn.MaxFailures, time.Duration(cfg.SignIn.Window)),
		touch:        &touches{keys: map[string]time.Time{}, sessions: map[string]time.Time{}},
		hashing:      make(chan struct{}, cmp.Or(cfg.MaxConcurrentHashes, runtime.GOMAXPROCS(0))),
		hashWait:     5 * time.Second,
		janitorEvery: time.Minute,
		batch:        500,
	}
	// A hash of a random password: nothing verifies against it, and it
	// costs what a real one of the current parameters does.
	h, err := HashPassword(newToken(), cfg.Argon2)
	if err != nil {
		panic(fmt.Sprintf("iam: hashing the dummy password: %v", err)) // crypto/rand failed
	}
	s.dummyHash = h
	s.cache = auth.NewCache(localAuthenticator{s: s}, time.Duration(cfg.CacheTTL)).WithClock(s.now)
	return s
}

// Register adds IdentityService and the internal AuthService to a gRPC
// server.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	iamv1.RegisterIdentityServiceServer(g, s)
	iamv1.RegisterAuthServiceServer(g, authServer{s: s})
}

// storeError turns a store error into the status a caller sees; what
// names the record ("user \"u1\"").
func (s *Server) storeError(ctx context.Context, err error, what string) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return status.Errorf(codes.NotFound, "%s not found", what)
	case errors.Is(err, ErrStale):
		return status.Errorf(codes.Aborted, "etag: %s has changed since it was read; read it again and retry", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	s.log.ErrorContext(ctx, "iam store failed", "err", err)
	return status.Error(codes.Internal, "the identity store failed; the request was not applied")
}

// callTenant is the tenant a call acts in: the one the interceptor
// resolved (a platform-admin key may name another), else the caller's own.
func callTenant(ctx context.Context) string {
	if t := tenant.From(ctx); t != "" {
		return t
	}
	return auth.From(ctx).GetTenant()
}

// caller returns the principal of an authenticated RPC.
func caller(ctx context.Context) (*iamv1.Principal, error) {
	p := auth.From(ctx)
	if p == nil {
		return nil, status.Error(codes.Unauthenticated, "this method needs a credential: a session cookie or Authorization: Bearer <API key>")
	}
	return p, nil
}

// actorOf is the stored form of p.
func actorOf(p *iamv1.Principal) Actor {
	if p == nil {
		return Actor{}
	}
	return Actor{ID: p.GetId(), Kind: p.GetKind(), DisplayName: p.GetDisplayName()}
}

func userAgent(ctx context.Context) string {
	ua := auth.IncomingValue(ctx, gatewayUAMetadata)
	if ua == "" {
		ua = auth.IncomingValue(ctx, userAgentMetadata)
	}
	return text.Truncate(ua, 512)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// audit records a security event of the call; a failure is logged.
func (s *Server) audit(ctx context.Context, tenantID string, typ iamv1.AuditEventType, actor Actor, subject, detail string) {
	e := AuditEvent{
		Tenant:   tenantID,
		Type:     typ,
		Actor:    actor,
		Subject:  text.Truncate(subject, 300),
		ClientIP: auth.ClientIP(ctx),
		Detail:   text.Truncate(detail, 1000),
	}
	s.appendAudit(ctx, e)
}

func (s *Server) appendAudit(ctx context.Context, e AuditEvent) {
	e.ID = newID()
	// An event reported by another process keeps the time it happened,
	// unless that is in the future.
	if now := s.now(); e.CreateTime.IsZero() || e.CreateTime.After(now) {
		e.CreateTime = now
	}
	if e.TraceID == "" {
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			e.TraceID = sc.TraceID().String()
		}
	}
	// The event is recorded even when the caller has gone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit event lost", "err", err, "type", e.Type.String(), "tenant", e.Tenant, "subject", e.Subject)
	}
}

// Audit records an event another part of this process saw (the access
// interceptor's cross-tenant denials); it never fails the caller.
func (s *Server) Audit(ctx context.Context, e *iamv1.AuditEvent) {
	ev := auditFromProto(e)
	if ev.Tenant == "" {
		ev.Tenant = callTenant(ctx)
	}
	if ev.ClientIP == "" {
		ev.ClientIP = auth.ClientIP(ctx)
	}
	s.appendAudit(ctx, ev)
}

// failures counts wrong passwords per account in fixed windows that
// start at an account's first failure. Kept in memory: each replica
// counts its own.
//
// An attempt is counted when it begins, before the slow hash, and
// forgotten when the password was right: otherwise a burst of parallel
// guesses would all pass the check before the first of them failed.
type failures struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	byKey map[string]*failureWindow
	swept time.Time
}

type failureWindow struct {
	start     time.Time
	count     int
	throttled bool // a throttled attempt was audited in this window
}

func newFailures(limit int, window time.Duration) *failures {
	return &failures{max: limit, window: window, byKey: map[string]*failureWindow{}}
}

// begin counts an attempt for key at now, unless key is throttled: then
// it reports how long still, and whether this is the window's first
// refusal.
func (f *failures) begin(key string, now time.Time) (wait time.Duration, first bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep(now)
	w, ok := f.byKey[key]
	if !ok || !now.Before(w.start.Add(f.window)) {
		w = &failureWindow{start: now}
		f.byKey[key] = w
	}
	if w.count >= f.max {
		first = !w.throttled
		w.throttled = true
		return w.start.Add(f.window).Sub(now), first
	}
	w.count++
	return 0, false
}

// succeeded forgets key's attempts: the password was right.
func (f *failures) succeeded(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.byKey, key)
}

// undo takes back an attempt that was not decided (the store failed).
func (f *failures) undo(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w, ok := f.byKey[key]; ok && w.count > 0 {
		w.count--
	}
}

// sweep drops, at most once a minute, the windows that have passed.
func (f *failures) sweep(now time.Time) {
	if now.Sub(f.swept) < time.Minute {
		return
	}
	f.swept = now
	for k, w := range f.byKey {
		if !now.Before(w.start.Add(f.window)) {
			delete(f.byKey, k)
		}
	}
}
