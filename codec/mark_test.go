package codec

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMark checks mark against setting the bits one at a time, for random
// spans over random bitmaps of up to four words: the first bit already set,
// or all of them set.
func TestMark(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 200000 {
		words := 1 + r.IntN(4)
		used := make([]uint64, words)
		for w := range used {
			used[w] = r.Uint64() & r.Uint64() & r.Uint64() // sparse
			if r.IntN(3) == 0 {
				used[w] = 0
			}
		}
		start := r.IntN(64 * words)
		s := span{start, start + 1 + r.IntN(64*words-start)}
		want, wantUsed := -1, slices.Clone(used)
		for i := s.start; i < s.end; i++ {
			if wantUsed[i/64]&(1<<(i%64)) != 0 {
				want = i
				break
			}
			wantUsed[i/64] |= 1 << (i % 64)
		}
		got := mark(used, s)
		if got != want || want < 0 && !slices.Equal(used, wantUsed) {
			t.Fatalf("mark %v: got %d, %x; want %d, %x", s, got, used, want, wantUsed)
		}
	}
}
