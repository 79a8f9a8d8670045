package crypto

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
)

func TestWindow(t *testing.T) {
	type op struct {
		c    core.FrameCounter
		want verdict // mark when fresh
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"zero", []op{{0, zero}, {1, fresh}, {0, zero}}},
		{"in order", []op{{1, fresh}, {2, fresh}, {3, fresh}, {2, seen}, {3, seen}}},
		{"first counter high", []op{{1000, fresh}, {1, fresh}, {999, fresh}, {1000, seen}, {1, seen}}},
		{"out of order", []op{{5, fresh}, {3, fresh}, {4, fresh}, {3, seen}, {1, fresh}, {2, fresh}, {6, fresh}, {4, seen}}},
		{"window edge", []op{
			{10000, fresh},
			{10000 - WindowSize, tooOld},
			{10000 - WindowSize + 1, fresh},
			{10000 - WindowSize + 1, seen},
			{10000 - 1, fresh},
		}},
		{"slide clears exactly", []op{
			{1, fresh}, {64, fresh}, {65, fresh}, {WindowSize, fresh},
			// WindowSize+1 reuses counter 1's bit: 1 is now below the window.
			{WindowSize + 1, fresh}, {1, tooOld}, {2, fresh}, {64, seen}, {65, seen},
			{WindowSize + 64, fresh}, {64, tooOld}, {65, seen},
		}},
		{"jump past the window", []op{{1, fresh}, {2, fresh}, {3 * WindowSize, fresh}, {2 * WindowSize, tooOld}, {2*WindowSize + 1, fresh}, {3*WindowSize - 1, fresh}}},
		{"largest counter", []op{{^core.FrameCounter(0), fresh}, {^core.FrameCounter(0), seen}, {^core.FrameCounter(0) - WindowSize + 1, fresh}, {^core.FrameCounter(0) - WindowSize, tooOld}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			for i, o := range tt.ops {
				if got := w.check(o.c); got != o.want {
					t.Fatalf("op %d: check(%d) = %d, want %d", i, o.c, got, o.want)
				}
				if o.want == fresh {
					w.mark(o.c)
				}
			}
		})
	}
}

// TestWindowModel compares the window with a plain set of accepted counters
// over random sequences that move forward, jump and go back.
func TestWindowModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var w window
		accepted := map[core.FrameCounter]bool{}
		var top core.FrameCounter
		var got, want []verdict
		for range 3000 {
			var c core.FrameCounter
			switch r := rng.IntN(10); {
			case r < 5: // near the top
				c = top + core.FrameCounter(rng.IntN(130)) - 64
			case r < 7: // anywhere in or just below the window
				c = top - core.FrameCounter(rng.IntN(WindowSize+200))
			case r < 9: // a jump forward
				c = top + core.FrameCounter(rng.IntN(3*WindowSize))
			default:
				c = core.FrameCounter(rng.IntN(int(top) + 1))
			}
			if c > top+1<<40 { // wrapped below zero
				c = 0
			}
			var v verdict
			switch {
			case c == 0:
				v = zero
			case c > top:
				v = fresh
			case top-c >= WindowSize:
				v = tooOld
			case accepted[c]:
				v = seen
			default:
				v = fresh
			}
			want = append(want, v)
			got = append(got, w.check(c))
			if v == fresh {
				w.mark(c)
				accepted[c] = true
				top = max(top, c)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round %d: verdicts (-model +window):\n%s", round, diff)
		}
	}
}

func TestTokenBucket(t *testing.T) {
	b := newTokenBucket(10, 3)
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		at   float64 // seconds after t0
		want bool
	}{
		{0, true}, {0, true}, {0, true}, {0, false}, // the burst
		{0.05, false}, // half a token
		{0.1, true},   // one token
		{0.1, false},
		{-5, false},                                     // a clock going back refills nothing
		{10, true}, {10, true}, {10, true}, {10, false}, // capped at the burst
	}
	for i, s := range steps {
		at := t0.Add(time.Duration(s.at * float64(time.Second)))
		if got := b.take(at); got != s.want {
			t.Fatalf("step %d: take at +%vs = %v, want %v", i, s.at, got, s.want)
		}
	}
}
