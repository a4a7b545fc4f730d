package store

import (
	"testing"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
)

// FuzzNormalizeIdentity: any value of any type is normalised or refused,
// never a panic, and a normalised value is its own normal form.
func FuzzNormalizeIdentity(f *testing.F) {
	for _, s := range []string{"Li.Na@Example.com", "+86 (138) 0000-0000", "oAbC123", "a@b", "+", "\x00", "名字@例子.中国", " "} {
		for t := range 6 {
			f.Add(int32(t), s)
		}
	}
	f.Fuzz(func(t *testing.T, typ int32, value string) {
		n, err := NormalizeIdentity(Identity{Type: channelv1.IdentityType(typ), Value: value})
		if err != nil {
			return
		}
		again, err := NormalizeIdentity(n)
		if err != nil || again != n {
			t.Errorf("NormalizeIdentity(%q) = %q, which normalises to %q, %v", value, n.Value, again.Value, err)
		}
	})
}
