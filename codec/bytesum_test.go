package codec

import (
	"math/rand/v2"
	"testing"
)

// TestByteSum checks byteSum against a byte loop on random slices of 0 to
// 40 bytes, a quarter of their bytes 0, 1 or 2.
func TestByteSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		p := make([]byte, rng.IntN(41))
		for j := range p {
			if rng.IntN(4) == 0 {
				p[j] = byte(rng.IntN(3))
			} else {
				p[j] = byte(rng.Uint32())
			}
		}
		var want uint
		wantZero := false
		for _, c := range p {
			want += uint(c)
			wantZero = wantZero || c == 0
		}
		if got, zero := byteSum(p); got != want || zero != wantZero {
			t.Fatalf("byteSum(% x) = %d, %v; want %d, %v", p, got, zero, want, wantZero)
		}
	}
}
