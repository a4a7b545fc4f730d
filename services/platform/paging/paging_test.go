package paging

import "testing"

func TestSize(t *testing.T) {
	for in, want := range map[int32]int{0: 50, -1: 50, 1: 1, 50: 50, 100: 100, 101: 100, 10000: 100} {
		if got := Size(in); got != want {
			t.Errorf("Size(%d) = %d, want %d", in, got, want)
		}
	}
}
