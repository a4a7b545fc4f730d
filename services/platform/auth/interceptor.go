package auth

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Messages a caller sees. The one for a refused credential is the same
// whether it is unknown, revoked or expired, so that an attacker learns
// nothing from it.
const (
	msgNoCredential = "no credential: send Authorization: Bearer <API key or token>, or sign in (POST /v1/sessions)"
	msgMalformed    = "Authorization: not of the form accepted; send \"Bearer <API key or token>\""
	msgInvalid      = "the credential is not valid: unknown, revoked or expired"
	msgNotReady     = "the identity service is not ready; retry shortly"
	msgUnavailable  = "the credential could not be checked: the identity service is unavailable; retry shortly"
)

// Response header metadata of a call refused by a rate limit (this
// interceptor's, or the identity module's sign-in throttle); the gateway
// sends them as HTTP headers.
const (
	RetryAfterKey         = "retry-after"
	RateLimitLimitKey     = "ratelimit-limit"
	RateLimitRemainingKey = "ratelimit-remaining"
	RateLimitResetKey     = "ratelimit-reset"
)

// auditSlots bounds the audit events recorded at once: recording never
// blocks a call, and a flood of denied calls cannot start goroutines
// without end (an event beyond the bound is logged and dropped).
const auditSlots = 64

// InterceptorOptions configure an Interceptor.
type InterceptorOptions struct {
	// Authenticator resolves credentials. It may be nil here and set
	// later with SetAuthenticator; calls that need it fail UNAVAILABLE
	// until then.
	Authenticator Authenticator
	// DefaultTenant is the tenant of a public RPC's call that names none;
	// "" makes naming one mandatory.
	DefaultTenant string
	// PerCredential limits the calls of each principal (kubedesk's own
	// modules, ROLE_SERVICE, are not limited); zero PerSecond: no limit.
	PerCredential Rate
	// Log records refused credentials and dropped audit events; nil
	// discards.
	Log *slog.Logger
	// Now is the clock; nil is the wall clock. Tests set it.
	Now func() time.Time
}

// Interceptor authenticates and authorises every call of a gRPC server:
// it finds the credential, resolves it to a principal, decides the tenant,
// checks the roles the RPC declares (the kubedesk.iam.v1.access method
// option) and the principal's rate limit. The handler's context carries
// the principal (From) and the tenant (tenant.From).
type Interceptor struct {
	authn atomic.Pointer[authenticatorBox]

	defaultTenant string
	rate          Rate
	limiter       *Limiter
	log           *slog.Logger
	now           func() time.Time
	audits        chan struct{}

	// rules holds the declarations of every registered method, read at
	// construction; others holds what a lookup found for a method that
	// was not registered then (normally none), so no call repeats a
	// registry lookup.
	rules  map[string]*rule
	others sync.Map // full method -> ruleOrError
}

type authenticatorBox struct{ a Authenticator }

type ruleOrError struct {
	r   *rule
	err error
}

// NewInterceptor returns an interceptor with the access rules of every
// method compiled into the binary.
func NewInterceptor(opts InterceptorOptions) *Interceptor {
	i := &Interceptor{
		defaultTenant: opts.DefaultTenant,
		rate:          opts.PerCredential,
		limiter:       NewLimiter(opts.PerCredential),
		log:           opts.Log,
		now:           opts.Now,
		audits:        make(chan struct{}, auditSlots),
		rules:         registeredRules(),
	}
	if i.log == nil {
		i.log = slog.New(slog.DiscardHandler)
	}
	if i.now == nil {
		i.now = time.Now
	}
	i.SetAuthenticator(opts.Authenticator)
	return i
}

// SetAuthenticator sets (or replaces) the authenticator; safe to call
// while the server is serving.
func (i *Interceptor) SetAuthenticator(a Authenticator) {
	if a == nil {
		i.authn.Store(nil)
		return
	}
	i.authn.Store(&authenticatorBox{a: a})
}

func (i *Interceptor) authenticator() Authenticator {
	if b := i.authn.Load(); b != nil {
		return b.a
	}
	return nil
}

// Unary returns the interceptor for unary calls.
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if Infrastructure(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := i.admit(ctx, info.FullMethod, grpc.SetHeader)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream returns the interceptor for streaming calls.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if Infrastructure(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, err := i.admit(ss.Context(), info.FullMethod, func(_ context.Context, md metadata.MD) error {
			return ss.SetHeader(md)
		})
		if err != nil {
			return err
		}
		return handler(srv, &stream{ServerStream: ss, ctx: ctx})
	}
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// rule returns the access rule of a method.
func (i *Interceptor) rule(fullMethod string) (*rule, error) {
	if r, ok := i.rules[fullMethod]; ok {
		return r, nil
	}
	if v, ok := i.others.Load(fullMethod); ok {
		e := v.(ruleOrError)
		return e.r, e.err
	}
	r, err := lookupRule(fullMethod)
	i.others.Store(fullMethod, ruleOrError{r: r, err: err})
	return r, err
}

// admit decides a call: it returns the handler's context, or the status
// error to answer with. setHeader sends response header metadata.
func (i *Interceptor) admit(ctx context.Context, method string, setHeader func(context.Context, metadata.MD) error) (context.Context, error) {
	r, err := i.rule(method)
	if err != nil {
		i.log.ErrorContext(ctx, "call refused: the method declares no access rule", "method", method, "error", err)
		return nil, status.Errorf(codes.PermissionDenied, "%s %s; no one may call it", strings.TrimPrefix(method, "/"), errNoRule.Error())
	}
	if r.public {
		id, err := tenant.Named(ctx, i.defaultTenant)
		if err != nil {
			return nil, err
		}
		return tenant.With(ctx, id), nil
	}

	cred, err := credential(ctx)
	if err != nil {
		return nil, err
	}
	authn := i.authenticator()
	if authn == nil {
		return nil, status.Error(codes.Unavailable, msgNotReady)
	}
	p, err := authn.Authenticate(ctx, cred)
	now := i.now()
	switch {
	case errors.Is(err, ErrUnauthenticated), err == nil && p == nil:
		// The reason (unknown, revoked, expired, bad signature) is for
		// the log only; the authenticator's errors never hold the secret.
		i.log.DebugContext(ctx, "credential refused", "method", method, "credential", cred.Kind.String(), "reason", err)
		return nil, status.Error(codes.Unauthenticated, msgInvalid)
	case err != nil:
		i.log.WarnContext(ctx, "credential not checked", "method", method, "credential", cred.Kind.String(), "error", err)
		return nil, status.Error(codes.Unavailable, msgUnavailable)
	}
	if exp := p.GetExpireTime(); exp != nil && !now.Before(exp.AsTime()) {
		i.log.DebugContext(ctx, "credential refused", "method", method, "principal", p.GetId(), "reason", "expired")
		return nil, status.Error(codes.Unauthenticated, msgInvalid)
	}

	// The rate limit counts every call a credential makes, refused ones
	// too, so that a client cannot probe tenants or methods without end.
	if !HasRole(p, iamv1.Role_ROLE_SERVICE) {
		if d := i.limiter.Allow(p.GetId(), now); !d.Allowed {
			return nil, i.limited(ctx, d, setHeader)
		}
	}

	// The credential's tenant, unless the call names another, which it
	// must be allowed to act for.
	if p.GetTenant() == "" && IncomingValue(ctx, tenant.MetadataKey) == "" {
		return nil, status.Errorf(codes.InvalidArgument, "%s: the credential belongs to no tenant; name the tenant to act for in the %s header (gRPC metadata %s)", tenant.HeaderName, tenant.HeaderName, tenant.MetadataKey)
	}
	id, err := tenant.Named(ctx, p.GetTenant())
	if err != nil {
		return nil, err
	}
	if id != p.GetTenant() && !MayActFor(p, id) {
		i.audit(ctx, authn, p, id, method, now)
		return nil, status.Errorf(codes.PermissionDenied, "%s: the credential belongs to tenant %q and may not act for tenant %q", tenant.HeaderName, p.GetTenant(), id)
	}

	if !HasRole(p, r.roles...) {
		return nil, status.Errorf(codes.PermissionDenied, "%s is allowed for the roles %s; the credential has %s",
			strings.TrimPrefix(method, "/"), r.accepted, RoleNames(p.GetRoles()))
	}
	return tenant.With(With(ctx, p), id), nil
}

// credential finds the call's credential: a bearer token, else the
// session the gateway forwards.
func credential(ctx context.Context) (Credential, error) {
	if h := IncomingValue(ctx, AuthorizationKey); h != "" {
		const scheme = "bearer "
		if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
			return Credential{}, status.Error(codes.Unauthenticated, msgMalformed)
		}
		secret := strings.TrimSpace(h[len(scheme):])
		if secret == "" {
			return Credential{}, status.Error(codes.Unauthenticated, msgMalformed)
		}
		return Credential{Kind: iamv1.CredentialKind_CREDENTIAL_KIND_BEARER, Secret: secret}, nil
	}
	if s := IncomingValue(ctx, SessionKey); s != "" {
		return Credential{Kind: iamv1.CredentialKind_CREDENTIAL_KIND_SESSION, Secret: s}, nil
	}
	return Credential{}, status.Error(codes.Unauthenticated, msgNoCredential)
}

// limited sends the rate limit's response headers and returns the error
// of a refused call.
func (i *Interceptor) limited(ctx context.Context, d Decision, setHeader func(context.Context, metadata.MD) error) error {
	md, retry := d.Refusal()
	if err := setHeader(ctx, md); err != nil {
		i.log.DebugContext(ctx, "rate limit headers not sent", "error", err)
	}
	return status.Errorf(codes.ResourceExhausted, "rate limit exceeded: %s requests per second per credential; retry after %ds",
		strconv.FormatFloat(i.rate.PerSecond, 'f', -1, 64), retry)
}

// audit records a cross-tenant denial without delaying the call.
func (i *Interceptor) audit(ctx context.Context, authn Authenticator, p *iamv1.Principal, named, method string, now time.Time) {
	e := &iamv1.AuditEvent{
		Tenant:     p.GetTenant(),
		Type:       iamv1.AuditEventType_AUDIT_EVENT_TYPE_CROSS_TENANT_DENIED,
		Actor:      ActorOf(p),
		Subject:    named,
		ClientIp:   ClientIP(ctx),
		Detail:     "named tenant " + named + " in " + tenant.HeaderName + " calling " + strings.TrimPrefix(method, "/"),
		CreateTime: timestamppb.New(now),
	}
	if e.Tenant == "" {
		e.Tenant = named
	}
	if len(e.ClientIp) > 64 {
		e.ClientIp = e.ClientIp[:64]
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		e.TraceId = sc.TraceID().String()
	}
	i.log.WarnContext(ctx, "cross-tenant call denied", "method", method, "principal", p.GetId(), "tenant", p.GetTenant(), "named", named)
	select {
	case i.audits <- struct{}{}:
	default:
		i.log.ErrorContext(ctx, "audit event dropped: too many being recorded", "type", e.Type.String(), "principal", p.GetId())
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	go func() {
		defer func() { <-i.audits }()
		defer cancel()
		authn.Audit(actx, e)
	}()
}
