package channel

import (
	"strings"
	"testing"
)

// FuzzContactFilter: any filter text is parsed or refused, never a panic,
// and a refusal names the filter.
func FuzzContactFilter(f *testing.F) {
	for _, s := range []string{
		"", "email = a@b.example", "identity = wechat:oAbC", `name : "王 \"小\" 明"`, "tier = vip AND merged = true",
		"name:王", "organization = 0190 AND", `name = "`, "identity = :", "merged = (true OR false)", "AND AND",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := contactQuery(s); err != nil && !strings.HasPrefix(err.Error(), "filter:") {
			t.Errorf("contact filter %q: error %q does not name the filter", s, err)
		}
		if _, err := orgQuery(s); err != nil && !strings.HasPrefix(err.Error(), "filter:") {
			t.Errorf("organization filter %q: error %q does not name the filter", s, err)
		}
	})
}
