package auth

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		rate Rate
		// calls at offsets from t0; want says which are allowed.
		at   []time.Duration
		want []bool
		// lastRetry is the RetryAfter of the last call.
		lastRetry time.Duration
	}{
		{name: "burst then refused", rate: Rate{PerSecond: 1, Burst: 3},
			at: []time.Duration{0, 0, 0, 0}, want: []bool{true, true, true, false}, lastRetry: time.Second},
		{name: "refills at the rate", rate: Rate{PerSecond: 2, Burst: 1},
			at: []time.Duration{0, 0, 500 * time.Millisecond}, want: []bool{true, false, true}},
		{name: "partial refill tells the rest", rate: Rate{PerSecond: 1, Burst: 1},
			at: []time.Duration{0, 250 * time.Millisecond}, want: []bool{true, false}, lastRetry: 750 * time.Millisecond},
		{name: "disabled", rate: Rate{}, at: []time.Duration{0, 0, 0}, want: []bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLimiter(tt.rate)
			var d Decision
			for i, at := range tt.at {
				d = l.Allow("k", t0.Add(at))
				if d.Allowed != tt.want[i] {
					t.Fatalf("call %d at +%v: allowed %v, want %v", i, at, d.Allowed, tt.want[i])
				}
			}
			if d.RetryAfter != tt.lastRetry {
				t.Errorf("RetryAfter = %v, want %v", d.RetryAfter, tt.lastRetry)
			}
		})
	}
}

func TestLimiterKeysAreApart(t *testing.T) {
	now := time.Now()
	l := NewLimiter(Rate{PerSecond: 1, Burst: 1})
	if !l.Allow("a", now).Allowed || l.Allow("a", now).Allowed {
		t.Fatal("a: want one allowed, then refused")
	}
	if !l.Allow("b", now).Allowed {
		t.Fatal("b is refused because of a's bucket")
	}
}

func TestLimiterForgetsFullBuckets(t *testing.T) {
	now := time.Now()
	l := NewLimiter(Rate{PerSecond: 10, Burst: 5})
	for i := range 1000 {
		l.Allow(string(rune('a'+i%26))+string(rune(i)), now)
	}
	l.Allow("x", now.Add(2*time.Minute))
	if n := len(l.buckets); n != 1 {
		t.Errorf("%d buckets after every other one refilled, want 1", n)
	}
}
