package etag

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{"v3": 3, `"v3"`: 3, `W/"v12"`: 12, "v0": 0, "x": 0, "": 0, "v-1": 0} {
		got, ok := Parse(in)
		if ok != (want > 0) || (ok && got != want) {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	if Format(7) != "v7" {
		t.Errorf("Format(7) = %q", Format(7))
	}
}
