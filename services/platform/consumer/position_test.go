package consumer

import "testing"

func TestPosition(t *testing.T) {
	for _, tc := range []struct {
		name  string
		done  []int // indexes of c0..c4 handled, in this order
		want  string
		after string // bookmark sent at the end
	}{
		{name: "nothing handled keeps the start", done: nil, want: "start"},
		{name: "in order", done: []int{0, 1, 2, 3, 4}, want: "c4"},
		{name: "a gap holds the cursor", done: []int{0, 2, 3}, want: "c0"},
		{name: "the gap filled moves past it", done: []int{2, 3, 0, 1}, want: "c3"},
		{name: "bookmark while pending is ignored", done: []int{0}, want: "c0", after: "c4"},
		{name: "bookmark when all done", done: []int{4, 3, 2, 1, 0}, want: "c9", after: "c9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPosition("start")
			var seqs []uint64
			for _, c := range []string{"c0", "c1", "c2", "c3", "c4"} {
				seqs = append(seqs, p.add(c))
			}
			for _, i := range tc.done {
				p.done(seqs[i])
			}
			if tc.after != "" {
				p.bookmark(tc.after)
			}
			if got := p.cursor(); got != tc.want {
				t.Errorf("cursor = %q, want %q", got, tc.want)
			}
		})
	}
}
