package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

// counting is an Authenticator over a map of bearer secrets that counts
// the lookups it makes; down makes it fail as an unreachable store does.
type counting struct {
	mu         sync.Mutex
	principals map[string]*iamv1.Principal
	down       bool
	lookups    atomic.Int64
	audits     atomic.Int64
	// during runs inside a lookup, after the answer is read.
	during func()
}

func (c *counting) Authenticate(_ context.Context, cred Credential) (*iamv1.Principal, error) {
	c.lookups.Add(1)
	c.mu.Lock()
	p, ok := c.principals[cred.Secret]
	down, during := c.down, c.during
	c.mu.Unlock()
	if during != nil {
		during()
	}
	switch {
	case down:
		return nil, errors.New("identity store unreachable")
	case !ok || cred.Kind != iamv1.CredentialKind_CREDENTIAL_KIND_BEARER:
		return nil, fmt.Errorf("unknown key: %w", ErrUnauthenticated)
	}
	return p, nil
}

func (c *counting) Audit(context.Context, *iamv1.AuditEvent) { c.audits.Add(1) }

func (c *counting) revoke(secret string) {
	c.mu.Lock()
	delete(c.principals, secret)
	c.mu.Unlock()
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func bearerOf(secret string) Credential {
	return Credential{Kind: iamv1.CredentialKind_CREDENTIAL_KIND_BEARER, Secret: secret}
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)}
	next := &counting{principals: map[string]*iamv1.Principal{
		"kd_long":  {Id: "apikey:long", Tenant: "acme"},
		"kd_short": {Id: "apikey:short", Tenant: "acme", ExpireTime: timestamppb.New(clock.now.Add(10 * time.Second))},
		"kd_gone":  {Id: "apikey:gone", Tenant: "acme", ExpireTime: timestamppb.New(clock.now.Add(-time.Second))},
	}}
	c := NewCache(next, time.Minute)
	c.now = clock.Now

	auth := func(secret string) (*iamv1.Principal, error) { return c.Authenticate(ctx, bearerOf(secret)) }
	expect := func(what string, lookups int64) {
		t.Helper()
		if got := next.lookups.Load(); got != lookups {
			t.Errorf("%s: %d lookups, want %d", what, got, lookups)
		}
	}

	for range 3 {
		if p, err := auth("kd_long"); err != nil || p.GetId() != "apikey:long" {
			t.Fatalf("kd_long: %v, %v", p, err)
		}
	}
	expect("a principal is kept", 1)
	for range 3 {
		if _, err := auth("kd_unknown"); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("kd_unknown: %v; want ErrUnauthenticated", err)
		}
	}
	expect("a refusal is kept", 2)
	if _, err := c.Authenticate(ctx, Credential{Kind: iamv1.CredentialKind_CREDENTIAL_KIND_SESSION, Secret: "kd_long"}); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("same secret as a session: %v; want ErrUnauthenticated (the kind is part of the key)", err)
	}
	expect("the kind is part of the key", 3)

	// An entry lasts until the credential expires, if that is sooner.
	_, _ = auth("kd_short")
	_, _ = auth("kd_short")
	expect("kd_short kept", 4)
	clock.Add(10 * time.Second)
	_, _ = auth("kd_short")
	expect("kd_short past its expiry", 5)
	// An expired principal is not kept at all.
	_, _ = auth("kd_gone")
	_, _ = auth("kd_gone")
	expect("an expired principal", 7)

	// Entries end with the TTL.
	clock.Add(50 * time.Second)
	_, _ = auth("kd_long")
	expect("past the TTL", 8)

	// Errors other than refusals are not kept.
	next.mu.Lock()
	next.down = true
	next.mu.Unlock()
	for range 2 {
		if _, err := auth("kd_other"); err == nil || errors.Is(err, ErrUnauthenticated) {
			t.Errorf("store down: %v; want its error", err)
		}
	}
	expect("store down", 10)
	next.mu.Lock()
	next.down = false
	next.mu.Unlock()

	// Flush forgets everything: a revoked key stops working at once.
	next.revoke("kd_long")
	if _, err := auth("kd_long"); err != nil {
		t.Errorf("before Flush: %v; want the kept principal", err)
	}
	c.Flush()
	if c.Len() != 0 {
		t.Errorf("after Flush: %d entries", c.Len())
	}
	if _, err := auth("kd_long"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked, after Flush: %v; want ErrUnauthenticated", err)
	}

	// Audit passes through.
	c.Audit(ctx, &iamv1.AuditEvent{})
	if next.audits.Load() != 1 {
		t.Errorf("audits: %d, want 1", next.audits.Load())
	}
}

// TestCacheFlushDuringLookup: an answer read before a revocation and
// returned after its Flush must not be kept.
func TestCacheFlushDuringLookup(t *testing.T) {
	next := &counting{principals: map[string]*iamv1.Principal{"kd_key": {Id: "apikey:key"}}}
	c := NewCache(next, time.Hour)
	next.during = func() {
		next.during = nil // read under next.mu by the next lookup only
		next.revoke("kd_key")
		c.Flush()
	}
	if _, err := c.Authenticate(context.Background(), bearerOf("kd_key")); err != nil {
		t.Fatalf("first lookup: %v", err)
	}
	if _, err := c.Authenticate(context.Background(), bearerOf("kd_key")); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("after the revocation: %v; want ErrUnauthenticated", err)
	}
}

func TestCacheBound(t *testing.T) {
	next := &counting{principals: map[string]*iamv1.Principal{}}
	for i := range 1000 {
		next.principals[fmt.Sprint("kd_", i)] = &iamv1.Principal{Id: fmt.Sprint(i)}
	}
	c := NewCache(next, time.Hour)
	c.perShard = 10
	for i := range 1000 {
		if p, err := c.Authenticate(context.Background(), bearerOf(fmt.Sprint("kd_", i))); err != nil || p.GetId() != fmt.Sprint(i) {
			t.Fatalf("kd_%d: %v, %v", i, p, err)
		}
	}
	if n := c.Len(); n > 10*cacheShards || n < 5*cacheShards {
		t.Errorf("%d entries; want at most %d, and most of them", n, 10*cacheShards)
	}
}

func TestCacheKeepsNoSecret(t *testing.T) {
	next := &counting{principals: map[string]*iamv1.Principal{"kd_secret_value": {Id: "apikey:x"}}}
	c := NewCache(next, time.Hour)
	_, _ = c.Authenticate(context.Background(), bearerOf("kd_secret_value"))
	for i := range c.shards {
		for k, e := range c.shards[i].entries {
			if strings.Contains(fmt.Sprintf("%v %v", k, e), "kd_secret_value") || strings.Contains(string(k.digest[:]), "kd_secret_value") {
				t.Errorf("entry %v holds the secret", k)
			}
		}
	}
}

func TestCacheConcurrent(t *testing.T) {
	next := &counting{principals: map[string]*iamv1.Principal{"kd_a": {Id: "a"}, "kd_b": {Id: "b"}}}
	c := NewCache(next, time.Hour)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				secret := []string{"kd_a", "kd_b", "kd_c"}[(g+i)%3]
				p, err := c.Authenticate(context.Background(), bearerOf(secret))
				if secret == "kd_c" != (err != nil) || (err == nil && "kd_"+p.GetId() != secret) {
					t.Errorf("%s: %v, %v", secret, p, err)
				}
				if i%50 == 0 {
					c.Flush()
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkCacheHit(b *testing.B) {
	// An OpenID Connect token's length.
	secret := "eyJ" + strings.Repeat("x", 800)
	next := &counting{principals: map[string]*iamv1.Principal{secret: {Id: "oidc:x"}}}
	c := NewCache(next, time.Hour)
	ctx := context.Background()
	cred := bearerOf(secret)
	if _, err := c.Authenticate(ctx, cred); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Authenticate(ctx, cred); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
