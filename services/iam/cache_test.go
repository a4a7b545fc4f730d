package iam

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

func TestCredentialCache(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	p := &iamv1.Principal{Id: "k1"}
	tests := []struct {
		name string
		run  func(c *credentialCache) // puts and flushes
		at   time.Duration            // when get is asked, from t0
		hit  bool
		p    *iamv1.Principal // what the hit returns
	}{
		{"kept", func(c *credentialCache) { c.put("a", p, t0, c.generation()) }, time.Second, true, p},
		{"until the TTL", func(c *credentialCache) { c.put("a", p, t0, c.generation()) }, 2 * time.Second, false, nil},
		{"refusal kept", func(c *credentialCache) { c.put("a", nil, t0, c.generation()) }, time.Second, true, nil},
		{"not past the credential's end", func(c *credentialCache) {
			c.put("a", &iamv1.Principal{Id: "k1", ExpireTime: timestamppb.New(t0.Add(time.Second))}, t0, c.generation())
		}, time.Second, false, nil},
		{"flushed", func(c *credentialCache) { c.put("a", p, t0, c.generation()); c.Flush() }, 0, false, nil},
		{"looked up across a flush: not kept", func(c *credentialCache) {
			gen := c.generation()
			c.Flush() // the revocation lands while the lookup runs
			c.put("a", p, t0, gen)
		}, 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCredentialCache(2 * time.Second)
			tt.run(c)
			got, hit := c.get("a", t0.Add(tt.at))
			if hit != tt.hit || got.GetId() != tt.p.GetId() {
				t.Errorf("get = %v, %v; want %v, %v", got, hit, tt.p, tt.hit)
			}
		})
	}
	// The caller's copy is its own.
	c := newCredentialCache(time.Second)
	c.put("a", p, t0, c.generation())
	got, _ := c.get("a", t0)
	got.Id = "changed"
	if again, _ := c.get("a", t0); again.GetId() != "k1" {
		t.Errorf("a caller changed the cached principal to %q", again.GetId())
	}
}
