package crypto_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
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

// TestCheckTime checks the opener's time checks against their definition
// (age within MaxAge and MaxSkew, and the epoch's start in microseconds at
// most now+MaxSkew's), for timestamps and epoch starts around each bound,
// to the nanosecond and microsecond, with skews that are not whole
// microseconds.
func TestCheckTime(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	base := time.UnixMicro(1_764_000_000_000_000).Add(123_456_789)
	for _, skew := range []time.Duration{crypto.DefaultMaxSkew, time.Second + 999, 1500} {
		cfg := crypto.OpenerConfig{MaxSkew: skew}
		o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), cfg)
		maxAge := crypto.DefaultMaxAge
		for range 200000 {
			now := base.Add(time.Duration(r.Int64N(int64(10 * time.Second))))
			// A timestamp in microseconds near now-MaxAge, now or now+skew.
			near := []time.Time{now.Add(-maxAge), now, now.Add(skew)}[r.IntN(3)]
			ft := time.UnixMicro(near.UnixMicro() + r.Int64N(5_000_000) - 2_500_000)
			if r.IntN(4) == 0 {
				ft = time.UnixMicro(near.UnixMicro() + r.Int64N(5) - 2)
			}
			// An epoch start near ft or near now+skew.
			start := ft.UnixMicro()
			if r.IntN(2) == 0 {
				start = now.Add(skew).UnixMicro()
			}
			start += r.Int64N(3_000_000) - 2_000_000
			if r.IntN(4) == 0 {
				start = start - start%1_000_000 + r.Int64N(3) - 1 // around a whole second
			}
			f := crypto.FrameInfo{KeyID: 1, Sender: core.MustParseNetID("198.18.0.1:1"), Counter: 1, Time: ft,
				Epoch: core.Epoch{StartMicros: uint64(start), Random: 1}}
			age := now.Sub(ft)
			limit := now.Add(skew).UnixMicro()
			want := age <= maxAge && age >= -skew && limit >= 0 && f.Epoch.StartMicros <= uint64(limit)
			if got := crypto.CheckTime(o, &f, now); (got == nil) != want {
				t.Fatalf("skew %v now %v time %v epoch start %d: got %v, want accepted %v", skew, now, ft, start, got, want)
			}
		}
	}
}
