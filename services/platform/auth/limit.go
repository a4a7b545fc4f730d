package auth

import (
	"math"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"
)

// Rate is a token bucket's shape: Burst requests at once, refilled at
// PerSecond. A zero PerSecond disables the limit.
type Rate struct {
	PerSecond float64 `json:"perSecond"`
	Burst     int     `json:"burst"`
}

// Decision is a Limiter's answer for one request, with what the RateLimit
// and Retry-After headers report.
type Decision struct {
	Allowed bool
	// Limit is the bucket's size; Remaining the whole tokens left.
	Limit, Remaining int
	// RetryAfter is how long until one token is back (0 when allowed).
	RetryAfter time.Duration
	// Reset is how long until the bucket is full again.
	Reset time.Duration
}

// Refusal is the response metadata of a call the decision refused, which
// the gateway turns into the Retry-After and RateLimit-* headers, and the
// whole seconds to wait that it names (at least 1).
func (d Decision) Refusal() (md metadata.MD, retry int64) {
	retry = max(int64(math.Ceil(d.RetryAfter.Seconds())), 1)
	return metadata.Pairs(
		RetryAfterKey, strconv.FormatInt(retry, 10),
		RateLimitLimitKey, strconv.Itoa(d.Limit),
		RateLimitRemainingKey, strconv.Itoa(d.Remaining),
		RateLimitResetKey, strconv.FormatInt(max(int64(math.Ceil(d.Reset.Seconds())), 1), 10),
	), retry
}

// Limiter keeps one token bucket per key (a credential, a client IP, an
// account). Buckets that have refilled are dropped, so the map holds only
// keys seen recently.
type Limiter struct {
	rate Rate

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a limiter of the given rate.
func NewLimiter(r Rate) *Limiter {
	return &Limiter{rate: r, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket at now.
func (l *Limiter) Allow(key string, now time.Time) Decision {
	return l.take(key, now, 1)
}

// Peek reports key's bucket at now without taking a token.
func (l *Limiter) Peek(key string, now time.Time) Decision {
	return l.take(key, now, 0)
}

func (l *Limiter) take(key string, now time.Time, n float64) Decision {
	if l == nil || l.rate.PerSecond <= 0 {
		return Decision{Allowed: true}
	}
	burst := float64(max(l.rate.Burst, 1))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, burst)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*l.rate.PerSecond)
	b.at = now
	d := Decision{Limit: int(burst)}
	if b.tokens >= n {
		b.tokens -= n
		d.Allowed = true
	} else {
		d.RetryAfter = l.after(n - b.tokens)
	}
	d.Remaining = int(math.Floor(b.tokens))
	d.Reset = l.after(burst - b.tokens)
	return d
}

// after is how long the bucket takes to gain tokens.
func (l *Limiter) after(tokens float64) time.Duration {
	return time.Duration(math.Ceil(tokens / l.rate.PerSecond * float64(time.Second)))
}

// sweep drops, at most once a minute, the buckets that have refilled:
// they hold nothing a new bucket would not.
func (l *Limiter) sweep(now time.Time, burst float64) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate.PerSecond >= burst {
			delete(l.buckets, k)
		}
	}
}
