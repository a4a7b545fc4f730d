package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

// DefaultCacheSize bounds the entries a Cache holds.
const DefaultCacheSize = 50_000

// cacheShards spreads the entries over locks, so that concurrent calls
// seldom wait on one another.
const cacheShards = 16

// Cache is an Authenticator that remembers what another one answered, so
// that most calls need no lookup: the principal of a credential, and
// ErrUnauthenticated for one that is not valid, each until the cache's TTL
// or the credential's expiry, whichever is first. Other errors (the store
// is down) are not kept. Entries are keyed by the credential's kind and
// the SHA-256 of its secret; the secret itself is never kept.
//
// The principals it returns are shared between calls: treat them as
// read-only. Flush it when a credential is revoked.
type Cache struct {
	next Authenticator
	ttl  time.Duration
	now  func() time.Time
	// perShard bounds each shard's entries.
	perShard int
	// generation counts Flushes: an answer fetched across a Flush is not
	// kept, as it may be the one the flush was for.
	generation atomic.Uint64
	shards     [cacheShards]cacheShard
}

type cacheShard struct {
	mu      sync.RWMutex
	entries map[cacheKey]cacheEntry
}

type cacheKey struct {
	kind   iamv1.CredentialKind
	digest [sha256.Size]byte
}

type cacheEntry struct {
	p       *iamv1.Principal
	err     error
	expires time.Time
}

// NewCache returns a cache in front of next that keeps answers for ttl at
// most, and DefaultCacheSize of them.
func NewCache(next Authenticator, ttl time.Duration) *Cache {
	c := &Cache{next: next, ttl: ttl, now: time.Now, perShard: DefaultCacheSize / cacheShards}
	for i := range c.shards {
		c.shards[i].entries = map[cacheKey]cacheEntry{}
	}
	return c
}

// WithClock makes the cache measure its TTL and a credential's expiry
// with now (the identity module's clock, which its tests control) instead
// of the wall clock. Call it before the cache is used.
func (c *Cache) WithClock(now func() time.Time) *Cache {
	c.now = now
	return c
}

// Authenticate answers from the cache, or asks the next authenticator and
// keeps its answer.
func (c *Cache) Authenticate(ctx context.Context, cred Credential) (*iamv1.Principal, error) {
	k := cacheKey{kind: cred.Kind, digest: digest(cred.Secret)}
	s := &c.shards[k.digest[0]%cacheShards]
	now := c.now()
	s.mu.RLock()
	e, ok := s.entries[k]
	s.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.p, e.err
	}

	gen := c.generation.Load()
	p, err := c.next.Authenticate(ctx, cred)
	if err != nil && !errors.Is(err, ErrUnauthenticated) {
		return p, err
	}
	expires := now.Add(c.ttl)
	if err == nil {
		if p == nil {
			return p, err
		}
		if x := p.GetExpireTime(); x != nil && x.AsTime().Before(expires) {
			expires = x.AsTime()
		}
	}
	if !now.Before(expires) {
		return p, err
	}
	s.mu.Lock()
	if c.generation.Load() == gen {
		if _, ok := s.entries[k]; !ok && len(s.entries) >= c.perShard {
			s.evict(now)
		}
		s.entries[k] = cacheEntry{p: p, err: err, expires: expires}
	}
	s.mu.Unlock()
	return p, err
}

// digest is the SHA-256 of a secret. It reads the string's bytes in place
// (sha256 only reads them) instead of copying them into a []byte: a JWT is
// a kilobyte, and this runs on every call.
func digest(secret string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(secret), len(secret)))
}

// evict makes room in a full shard: it drops the expired entries and,
// until an eighth of the shard is free, others, in the order map
// iteration yields them (Go randomises it). Freeing an eighth at once
// keeps the cost of a miss small on average.
func (s *cacheShard) evict(now time.Time) {
	n := len(s.entries)
	for k, e := range s.entries {
		if !now.Before(e.expires) {
			delete(s.entries, k)
		}
	}
	for k := range s.entries {
		if n-len(s.entries) >= max(n/8, 1) {
			return
		}
		delete(s.entries, k)
	}
}

// Flush forgets every answer; the identity module calls it when it revokes
// a credential or changes a principal, so the change holds at once.
func (c *Cache) Flush() {
	c.generation.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.entries)
		s.mu.Unlock()
	}
}

// Len is the number of answers kept.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.entries)
		s.mu.RUnlock()
	}
	return n
}

// Audit passes the event on.
func (c *Cache) Audit(ctx context.Context, e *iamv1.AuditEvent) {
	c.next.Audit(ctx, e)
}
