package peerstore_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/peerstore"
)

// step is one call to a store, drawn at random by randomSteps.
type step struct {
	now  time.Time
	kind int // 0: Expire, 1: ObserveDestinations, 2: Observe
	ids  []core.NetID
	obs  core.Observation
}

// randomSteps returns count steps about nodes n(1)..n(pool), self included
// now and then, with a clock that mostly goes forward and sometimes steps
// back: enough to create, merge, dissolve and expire sets and to evict.
func randomSteps(seed uint64, count, pool int) []step {
	rng := rand.New(rand.NewPCG(seed, 2))
	node := func() core.NetID { return n(1 + rng.IntN(pool)) }
	now := t0
	out := make([]step, count)
	for k := range out {
		now = now.Add(time.Duration(rng.IntN(4000)-500) * time.Millisecond)
		if rng.IntN(200) == 0 {
			now = now.Add(-time.Minute)
		}
		st := step{now: now}
		switch r := rng.IntN(10); {
		case r == 0:
			st.kind = 0
		case r == 1:
			st.kind = 1
			st.ids = []core.NetID{node(), node(), node()}
		default:
			st.kind = 2
			o := core.Observation{From: node(), Via: core.ViaTCP, Now: now, SelfSeq: core.MulticastSeq(rng.IntN(100))}
			if rng.IntN(4) == 0 {
				o.Via = core.ViaMulticast
			}
			for range rng.IntN(5) {
				o.Seen = append(o.Seen, core.SeenEntry{Node: node(), Seq: core.MulticastSeq(rng.IntN(100))})
			}
			if rng.IntN(8) == 0 {
				o.Seen = append(o.Seen, core.SeenEntry{Node: self, Seq: core.MulticastSeq(rng.IntN(100))})
			}
			for range rng.IntN(3) {
				o.Others = append(o.Others, node())
			}
			for range rng.IntN(3) {
				g := core.Group{Entry: node()}
				for range rng.IntN(4) {
					g.Members = append(g.Members, node())
				}
				o.Groups = append(o.Groups, g)
			}
			st.obs = o
		}
		out[k] = st
	}
	return out
}

// apply makes the call st describes and returns what Observe answered.
func (st step) apply(s *peerstore.Store) bool {
	switch st.kind {
	case 0:
		s.Expire(st.now)
	case 1:
		s.ObserveDestinations(st.ids, st.now)
	default:
		return s.Observe(st.obs)
	}
	return false
}

// answers is everything a store tells about nodes n(1)..n(pool) at now.
type answers struct {
	Peers   []core.NetID
	Stats   peerstore.Stats
	Domains map[core.NetID]core.NetID
	Reports map[core.NetID]core.Report
}

func answersOf(s *peerstore.Store, now time.Time, pool int) answers {
	a := answers{
		Peers:   s.Peers(now),
		Stats:   s.Stats(),
		Domains: map[core.NetID]core.NetID{},
		Reports: map[core.NetID]core.Report{},
	}
	for i := 1; i <= pool; i++ {
		if k, ok := s.Domain(n(i)); ok {
			a.Domains[n(i)] = k
		}
		if r, ok := s.Report(n(i)); ok {
			a.Reports[n(i)] = r
		}
	}
	return a
}

// TestSharedIndexSameAnswers drives a store with a private index and one
// sharing an index with a third store, fed other observations, through the
// same random steps, and checks that they answer alike after each: the
// numbering a store works with never shows. The pool is large enough for
// the private index to be compacted many times.
func TestSharedIndexSameAnswers(t *testing.T) {
	const pool = 300
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			cfg := peerstore.Config{Self: self, MaxAge: 20 * time.Second, MaxPeers: 40}
			private := peerstore.New(cfg)
			cfg.Index = new(peerstore.Index)
			if seed%2 == 1 {
				// Numbered up front, in an order of its own, as the
				// simulator numbers its population.
				for i := pool - 1; i >= 0; i -= 2 {
					cfg.Index.Number(n(i))
				}
			}
			shared := peerstore.New(cfg)
			other := peerstore.New(peerstore.Config{Self: n(1), MaxPeers: 100, Index: cfg.Index})
			noise := randomSteps(seed+1000, 3000, pool)
			for k, st := range randomSteps(seed, 3000, pool) {
				noise[k].apply(other) // numbers NetIDs in another order
				if got, want := st.apply(shared), st.apply(private); got != want {
					t.Fatalf("step %d: Observe = %v with a shared index, %v with a private one", k, got, want)
				}
				if k%5 != 0 {
					continue // comparing every answer takes time
				}
				want, got := answersOf(private, st.now, pool), answersOf(shared, st.now, pool)
				if diff := cmp.Diff(want, got, opts); diff != "" {
					t.Fatalf("step %d: answers (-private +shared):\n%s", k, diff)
				}
				if k%10 == 0 {
					want, got := private.SampleGroups(3, 3), shared.SampleGroups(3, 3)
					if diff := cmp.Diff(want, got, opts); diff != "" {
						t.Fatalf("step %d: SampleGroups (-private +shared):\n%s", k, diff)
					}
				}
			}
		})
	}
}

// TestSharedIndexConcurrent feeds eight stores sharing one index from eight
// goroutines (run it with -race), then checks that each answers as a store
// with a private index fed the same steps alone.
func TestSharedIndexConcurrent(t *testing.T) {
	const pool, stores = 200, 8
	idx := new(peerstore.Index)
	shared := make([]*peerstore.Store, stores)
	var wg sync.WaitGroup
	for w := range shared {
		shared[w] = peerstore.New(peerstore.Config{Self: self, MaxAge: 20 * time.Second, MaxPeers: 60, Index: idx})
		wg.Go(func() {
			for _, st := range randomSteps(uint64(w), 1000, pool) {
				st.apply(shared[w])
				idx.Len()
			}
		})
	}
	wg.Wait()
	if got := idx.Len(); got != pool-1 {
		t.Errorf("shared index of %d NetIDs, want the %d of the pool but self", got, pool-1)
	}
	for w, s := range shared {
		alone := peerstore.New(peerstore.Config{Self: self, MaxAge: 20 * time.Second, MaxPeers: 60})
		steps := randomSteps(uint64(w), 1000, pool)
		for _, st := range steps {
			st.apply(alone)
		}
		now := steps[len(steps)-1].now
		if diff := cmp.Diff(answersOf(alone, now, pool), answersOf(s, now, pool), opts); diff != "" {
			t.Errorf("store %d (-alone +shared):\n%s", w, diff)
		}
	}
}

// TestSharedIndexGrownByOthers checks a store whose index other stores have
// numbered many NetIDs since it last looked: it finds and names the nodes
// it learns of with those numbers. (The store's array once covered every
// number given while its view of the NetIDs by number did not: naming such
// a node read past that view.)
func TestSharedIndexGrownByOthers(t *testing.T) {
	x := new(peerstore.Index)
	a := peerstore.New(peerstore.Config{Self: self, Index: x})
	b := peerstore.New(peerstore.Config{Self: self, Index: x})
	now := time.Unix(1000, 0)
	a.ObserveDestinations([]core.NetID{n(1), n(2), n(3)}, now) // numbers 0 to 2
	var many []core.NetID
	for i := 4; i < 300; i++ {
		many = append(many, n(i))
	}
	b.ObserveDestinations(many, now) // numbers 3 to 298
	a.ObserveDestinations([]core.NetID{n(4), n(250)}, now)
	want := []core.NetID{n(1), n(2), n(3), n(4), n(250)}
	if diff := cmp.Diff(want, a.Peers(now), opts); diff != "" {
		t.Errorf("Peers (-want +got):\n%s", diff)
	}
}
