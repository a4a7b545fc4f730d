package iam

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/auth/oidc"
	"github.com/kubedesk/kubedesk/services/platform/config"
)

// Config is the iam section of the binary's configuration.
type Config struct {
	// SessionIdleTimeout ends a session not used for this long.
	SessionIdleTimeout config.Duration `json:"sessionIdleTimeout,omitempty"`
	// SessionAbsoluteTimeout ends every session this long after sign-in,
	// used or not.
	SessionAbsoluteTimeout config.Duration `json:"sessionAbsoluteTimeout,omitempty"`
	// CacheTTL is how long a verified credential is trusted before it is
	// looked up again. It bounds how late another replica notices that a
	// key or session was revoked or a user deactivated; the replica that
	// made the change notices at once. 0 disables the cache.
	CacheTTL config.Duration `json:"cacheTTL,omitempty"`
	// AuditRetention is how long audit events are kept.
	AuditRetention config.Duration `json:"auditRetention,omitempty"`
	// SignIn throttles password guessing.
	SignIn SignInConfig `json:"signIn"`
	// Argon2 is the cost of hashing a new password. Stored hashes keep
	// the cost they were made with, so changing it leaves them valid.
	Argon2 Argon2Config `json:"argon2"`
	// SignInCodeTTL is how long a customer's one-time sign-in code works
	// (1m to 1h; 0 is the default, 10m).
	SignInCodeTTL config.Duration `json:"signInCodeTTL,omitempty"`
	// MinPasswordLength is the fewest characters a password may have.
	MinPasswordLength int `json:"minPasswordLength,omitempty"`
	// MaxConcurrentHashes bounds the password hashes a process computes
	// at once (each holds argon2.memoryKiB of memory); more wait, up to a
	// few seconds, then get RESOURCE_EXHAUSTED. 0 is one per CPU.
	MaxConcurrentHashes int `json:"maxConcurrentHashes,omitempty"`
	// RateLimit is every credential's token bucket, in each process that
	// serves gRPC (a split deployment's replicas count apart). Calls over
	// it get RESOURCE_EXHAUSTED (REST: 429 with Retry-After); kubedesk's
	// own modules are not limited. perSecond 0 turns it off.
	RateLimit auth.Rate `json:"rateLimit"`
	// OIDC accepts JWT bearer tokens of an OpenID Connect issuer; no
	// issuerURL accepts none.
	OIDC oidc.Config `json:"oidc,omitzero"`
	// BootstrapAdminKey is an admin API key of the default tenant that
	// the process registers on start if its store lacks it: the operator
	// generates one per tenant into a Secret (KUBEDESK_BOOTSTRAP_ADMIN_KEY).
	// Without it, the first start of an empty store writes one to
	// <dataDir>/admin.key instead.
	BootstrapAdminKey string `json:"bootstrapAdminKey,omitempty"`
}

// SignInConfig throttles sign-in per account: after MaxFailures wrong
// passwords within Window, sign-in for the account answers
// RESOURCE_EXHAUSTED until the window has passed, whatever the password.
// The count is kept in each replica's memory.
type SignInConfig struct {
	MaxFailures int             `json:"maxFailures,omitempty"`
	Window      config.Duration `json:"window,omitempty"`
}

// Argon2Config holds the argon2id parameters of new password hashes.
type Argon2Config struct {
	// MemoryKiB is the memory one hash uses, in KiB.
	MemoryKiB uint32 `json:"memoryKiB,omitempty"`
	// Iterations is the number of passes over the memory.
	Iterations uint32 `json:"iterations,omitempty"`
	// Threads is the parallelism (lanes) of one hash.
	Threads uint8 `json:"threads,omitempty"`
}

// DefaultConfig returns the iam defaults.
func DefaultConfig() Config {
	return Config{
		SessionIdleTimeout:     config.Duration(8 * time.Hour),
		SessionAbsoluteTimeout: config.Duration(7 * 24 * time.Hour),
		CacheTTL:               config.Duration(2 * time.Second),
		AuditRetention:         config.Duration(90 * 24 * time.Hour),
		SignIn:                 SignInConfig{MaxFailures: 10, Window: config.Duration(15 * time.Minute)},
		Argon2:                 DefaultArgon2,
		MinPasswordLength:      12,
		SignInCodeTTL:          config.Duration(10 * time.Minute),
		RateLimit:              auth.Rate{PerSecond: 100, Burst: 200},
	}
}

// DefaultArgon2 is RFC 9106's 64 MiB with two passes and two lanes: about
// 107 ms of CPU per hash, 55-110 ms of wall time on an idle 2-core machine
// (BenchmarkHashPassword has the figures).
var DefaultArgon2 = Argon2Config{MemoryKiB: 64 * 1024, Iterations: 2, Threads: 2}

// Validate names every bad field of the iam section.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("iam."+field+": "+format, args...))
	}
	d := func(v config.Duration) string { return time.Duration(v).String() }
	if c.SessionAbsoluteTimeout <= 0 {
		bad("sessionAbsoluteTimeout", "%s is not positive; accepted: e.g. 168h", d(c.SessionAbsoluteTimeout))
	}
	if c.SessionIdleTimeout <= 0 || (c.SessionAbsoluteTimeout > 0 && c.SessionIdleTimeout > c.SessionAbsoluteTimeout) {
		bad("sessionIdleTimeout", "%s is out of range; accepted: positive and at most sessionAbsoluteTimeout (%s), e.g. 8h", d(c.SessionIdleTimeout), d(c.SessionAbsoluteTimeout))
	}
	if c.CacheTTL < 0 || c.CacheTTL > config.Duration(time.Minute) {
		bad("cacheTTL", "%s is out of range; accepted: 0 (no cache) to 1m, e.g. 2s", d(c.CacheTTL))
	}
	if c.AuditRetention < config.Duration(24*time.Hour) {
		bad("auditRetention", "%s is too short; accepted: 24h or more, e.g. 2160h (90 days)", d(c.AuditRetention))
	}
	if c.SignIn.MaxFailures < 1 {
		bad("signIn.maxFailures", "%d is not positive; accepted: 1 or more, e.g. 10", c.SignIn.MaxFailures)
	}
	if c.SignIn.Window <= 0 {
		bad("signIn.window", "%s is not positive; accepted: e.g. 15m", d(c.SignIn.Window))
	}
	a := c.Argon2
	if a.Threads < 1 {
		bad("argon2.threads", "%d is not positive; accepted: 1 to 255, e.g. 2", a.Threads)
	}
	if a.Iterations < 1 || a.Iterations > 100 {
		bad("argon2.iterations", "%d is out of range; accepted: 1 to 100, e.g. 2", a.Iterations)
	}
	if minMem := 8 * uint32(max(a.Threads, 1)); a.MemoryKiB < minMem || a.MemoryKiB > 4<<20 {
		bad("argon2.memoryKiB", "%d is out of range; accepted: %d (8 per thread) to 4194304 (4 GiB), e.g. 65536", a.MemoryKiB, minMem)
	}
	if c.SignInCodeTTL != 0 && (c.SignInCodeTTL < config.Duration(time.Minute) || c.SignInCodeTTL > config.Duration(time.Hour)) {
		bad("signInCodeTTL", "%s is out of range; accepted: 1m to 1h, e.g. 10m (0: the default, 10m)", d(c.SignInCodeTTL))
	}
	if c.MinPasswordLength < 12 || c.MinPasswordLength > 1024 {
		bad("minPasswordLength", "%d is out of range; accepted: 12 to 1024", c.MinPasswordLength)
	}
	if c.MaxConcurrentHashes < 0 || c.MaxConcurrentHashes > 1024 {
		bad("maxConcurrentHashes", "%d is out of range; accepted: 0 (one per CPU) to 1024", c.MaxConcurrentHashes)
	}
	if c.RateLimit.PerSecond < 0 || (c.RateLimit.PerSecond > 0 && c.RateLimit.Burst < 1) {
		bad("rateLimit", "perSecond %g, burst %d; accepted: perSecond 0 (no limit), or perSecond > 0 with burst >= 1, e.g. {perSecond: 100, burst: 200}", c.RateLimit.PerSecond, c.RateLimit.Burst)
	}
	if c.OIDC.IssuerURL != "" {
		if err := c.OIDC.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if k := c.BootstrapAdminKey; k != "" && (!strings.HasPrefix(k, auth.APIKeyPrefix) || len(k) < len(auth.APIKeyPrefix)+43) {
		// The key itself is never echoed.
		bad("bootstrapAdminKey", "is not an API key; accepted: %q followed by at least 43 characters (256 random bits, base64url)", auth.APIKeyPrefix)
	}
	return errors.Join(errs...)
}
