package memnet

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// TestEventQueueOrder pushes and pops events in random interleavings and
// checks that they come out in (at, seq) order, as sorting them would give.
func TestEventQueueOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events int
		times  int64 // distinct times: few make many ties
		popPct int   // chance that a step pops rather than pushes
	}{
		{"empty", 0, 1, 0},
		{"one", 1, 1, 0},
		{"all ties", 500, 1, 30},
		{"few times", 2000, 7, 40},
		{"spread", 5000, 1 << 40, 45},
		{"push then pop", 3000, 100, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.events)))
			var q eventQueue
			type key struct {
				At  int64
				Seq uint64
			}
			var pending, popped, want []key
			seq := uint64(0)
			check := func() {
				k := q.peek()
				at, top := q.top()
				topInc := top.inc // top points into the slot pop clears
				e := q.pop()
				if at != k || e.inc != topInc {
					t.Fatalf("top() = %d, inc %d; peek() = %d; pop() gave inc %d", at, topInc, k, e.inc)
				}
				// The event carries its seq in inc, for the check.
				popped = append(popped, key{at, uint64(e.inc)})
				i := slices.IndexFunc(pending, func(p key) bool { return p.Seq == uint64(e.inc) })
				min := slices.MinFunc(pending, func(a, b key) int {
					return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Seq, b.Seq))
				})
				want = append(want, min)
				pending = slices.Delete(pending, i, i+1)
			}
			for range tc.events {
				if q.len() > 0 && rng.IntN(100) < tc.popPct {
					check()
				}
				at := rng.Int64N(tc.times)
				q.push(at, seq, event{inc: uint32(seq)})
				pending = append(pending, key{at, seq})
				seq++
			}
			for q.len() > 0 {
				check()
			}
			if diff := gocmp.Diff(want, popped); diff != "" {
				t.Errorf("pop order (-want +got):\n%s", diff)
			}
			if len(popped) != tc.events {
				t.Errorf("popped %d events, want %d", len(popped), tc.events)
			}
			if len(q.slab) > tc.events || len(q.free) != len(q.slab) {
				t.Errorf("slab of %d slots, %d free, after %d events", len(q.slab), len(q.free), tc.events)
			}
			for i, e := range q.slab {
				if e.from != nil || e.to != nil || e.buf != nil || e.fan != nil || e.meta != nil || e.fn != nil || e.inc != 0 {
					t.Errorf("slot %d not cleared: %+v", i, e)
				}
			}
		})
	}
}
