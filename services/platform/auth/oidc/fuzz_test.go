package oidc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/auth/oidc/oidctest"
)

// FuzzVerify hands the verifier what a caller controls, the bearer token:
// whatever it is, Verify does not panic, and anything but a token the
// issuer signed is refused as unauthenticated, never accepted.
func FuzzVerify(f *testing.F) {
	key := oidctest.NewRSAKey(f, "k1")
	is := oidctest.Start(f, key)
	v := newVerifier(f, is)
	good := oidctest.Sign(f, key, claims(is, time.Now().Add(time.Hour), nil))
	for _, seed := range []string{good, good + "x", "a.b.c", "eyJ.eyJ.", "", "....", "kd_abc", good[:len(good)/2]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Verify(context.Background(), raw)
		if raw == good {
			if err != nil {
				t.Fatalf("the issuer's token refused: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("a token the issuer did not sign accepted as %v", p)
		}
		if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("refused with %v, want ErrUnauthenticated", err)
		}
	})
}
