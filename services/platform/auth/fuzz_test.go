package auth

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// FuzzCredential feeds the Authorization and session values a caller
// controls to the parser: it never panics, refuses only with
// UNAUTHENTICATED and never echoes what it was sent, and a bearer it
// accepts is the value after the scheme, trimmed and non-empty.
func FuzzCredential(f *testing.F) {
	for _, seed := range [][2]string{
		{"Bearer kd_abc", ""}, {"bearer  x ", ""}, {"Basic YWRtaW4=", ""}, {"Bearer ", ""}, {"", "session-token"},
		{"BEARER\tkd_x", ""}, {"Bearer kd_\x00\xff", "s"}, {"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, authorization, session string) {
		md := metadata.MD{}
		if authorization != "" {
			md.Set(AuthorizationKey, authorization)
		}
		if session != "" {
			md.Set(SessionKey, session)
		}
		c, err := credential(metadata.NewIncomingContext(context.Background(), md))
		if err != nil {
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("refused with %v, want UNAUTHENTICATED", err)
			}
			msg := status.Convert(err).Message()
			for _, sent := range []string{authorization, session} {
				if len(sent) > 8 && strings.Contains(msg, sent) {
					t.Fatalf("the refusal %q echoes what was sent", msg)
				}
			}
			return
		}
		if c.Secret == "" {
			t.Fatal("accepted an empty secret")
		}
		if authorization != "" && c.Secret != strings.TrimSpace(c.Secret) {
			t.Fatalf("accepted bearer %q untrimmed", c.Secret)
		}
		if authorization == "" && c.Secret != session {
			t.Fatalf("session %q read as %q", session, c.Secret)
		}
		if authorization != "" && !strings.HasSuffix(strings.TrimSpace(authorization), c.Secret) {
			t.Fatalf("authorization %q read as %q", authorization, c.Secret)
		}
	})
}
