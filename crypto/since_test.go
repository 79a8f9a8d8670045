package crypto_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chatter-go/chatter/crypto"
)

// TestSince checks since against time.Time.Sub on the wall clock, near and
// far, up to the saturating extremes.
func TestSince(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.UnixMicro(1_764_000_000_000_000)
	offsets := []int64{0, 1, -1, 999_999_999, 1 << 32, -1 << 32, 1<<32 - 1, 1<<41 + 7, math.MaxInt64, math.MinInt64}
	var times []time.Time
	for _, o := range offsets {
		times = append(times, base.Add(time.Duration(o)), time.Unix(o, 0), time.Unix(o/1e9, o%1e9))
	}
	for range 1000 {
		times = append(times, base.Add(time.Duration(r.Int64N(1<<62)-1<<61)), time.Unix(r.Int64()>>r.IntN(64), r.Int64N(1e9)))
	}
	for _, now := range times {
		for _, ft := range times {
			if got, want := crypto.Since(now, ft), now.Sub(ft); got != want {
				t.Fatalf("since(%v, %v) = %v, Sub %v", now, ft, got, want)
			}
		}
	}
}
