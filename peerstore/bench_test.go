package peerstore_test

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/peerstore"
)

// population returns n NetIDs, 10.x.y.z:29999, in a scrambled order, so that
// consecutive ones do not sit next to each other in any table.
func population(n int) []core.NetID {
	out := make([]core.NetID, n)
	for i := range out {
		j := (i * 7919) % n // 7919 is prime: a permutation when n is not its multiple
		out[i] = core.NetIDFrom4([4]byte{10, 1 + byte(j>>16), byte(j >> 8), byte(j)}, 29999)
	}
	return out
}

// fill returns stores stores, each knowing every node of peers but itself,
// as a simulation's nodes do once they have heard of everyone.
func fill(stores int, peers []core.NetID, cfg peerstore.Config) []*peerstore.Store {
	out := make([]*peerstore.Store, stores)
	for i := range out {
		cfg.Self = peers[i%len(peers)]
		s := peerstore.New(cfg)
		for j := 0; j < len(peers); j += 100 {
			s.ObserveDestinations(peers[j:min(j+100, len(peers))], t0.Add(time.Duration(j)*time.Microsecond))
		}
		out[i] = s
	}
	return out
}

// BenchmarkTouch hears of 32 known peers (one ObserveDestinations) in one of
// 100 stores of 10000 peers, taking the stores in turn as a simulation does:
// the cost of finding and refreshing entries when the stores do not fit in
// the CPU's caches.
func BenchmarkTouch(b *testing.B) {
	b.Run("private", func(b *testing.B) {
		benchTouch(b, peerstore.Config{MaxPeers: 20000})
	})
	b.Run("shared", func(b *testing.B) {
		benchTouch(b, peerstore.Config{MaxPeers: 20000, Index: new(peerstore.Index)})
	})
}

func benchTouch(b *testing.B, cfg peerstore.Config) {
	peers := population(10000)
	stores := fill(100, peers, cfg)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := stores[i%len(stores)]
		j := i % (len(peers) / 32) * 32
		s.ObserveDestinations(peers[j:j+32], t0.Add(time.Second+time.Duration(i)*time.Microsecond))
		i++
	}
}

// BenchmarkHeap fills 100 stores of 10000 peers each and reports the heap
// they take per entry (B/entry), and the time to fill them per entry. The
// shared index is made before the stores, so it counts in the first run
// only, and then little: 10000 NetIDs for a million entries.
func BenchmarkHeap(b *testing.B) {
	b.Run("private", func(b *testing.B) {
		benchHeap(b, peerstore.Config{MaxPeers: 20000})
	})
	b.Run("shared", func(b *testing.B) {
		benchHeap(b, peerstore.Config{MaxPeers: 20000, Index: new(peerstore.Index)})
	})
}

func benchHeap(b *testing.B, cfg peerstore.Config) {
	const stores, size = 100, 10000
	peers := population(size)
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		filled := fill(stores, peers, cfg)
		elapsed := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		entries := 0
		for _, s := range filled {
			entries += s.Len()
		}
		runtime.KeepAlive(filled)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(entries), "B/entry")
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(entries), "ns/entry")
	}
}

// BenchmarkObserveCold observes frames in 1000 stores sharing one index of
// 4000 nodes, 4 million entries in all (some 140 MB: far beyond the CPU's
// caches), as a simulation does: each frame, from a node of one of 100
// domains of 40 nodes, names 32 other nodes of its domain in its seen list,
// and goes to a store drawn at random. Each store first hears of the nodes
// in an order of its own, so a domain's entries lie apart in memory, then
// of each domain. Every node is known and every set formed already, so the
// cost is that of finding and refreshing 33 known entries in a cache-cold
// store; ns/touch is the time per entry.
func BenchmarkObserveCold(b *testing.B) {
	const stores, size, domain, seen = 1000, 4000, 40, 32
	peers := population(size)
	rng := rand.New(rand.NewPCG(1, 2))
	idx := new(peerstore.Index)
	all := make([]*peerstore.Store, stores)
	order := slices.Clone(peers)
	for i := range all {
		s := peerstore.New(peerstore.Config{Self: peers[(i*37)%size], MaxPeers: size, Index: idx})
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		s.ObserveDestinations(order, t0)
		for d := 0; d < size; d += domain {
			o := core.Observation{From: peers[d], Via: core.ViaTCP, Now: t0}
			for _, p := range peers[d+1 : d+domain] {
				o.Seen = append(o.Seen, core.SeenEntry{Node: p, Seq: 1})
			}
			s.Observe(o)
		}
		all[i] = s
	}
	frames := make([]core.Observation, 1024)
	for k := range frames {
		d := rng.IntN(size/domain) * domain
		o := core.Observation{From: peers[d+rng.IntN(domain)], Via: core.ViaTCP}
		for range seen {
			o.Seen = append(o.Seen, core.SeenEntry{Node: peers[d+rng.IntN(domain)], Seq: 1})
		}
		frames[k] = o
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := frames[i%len(frames)]
		o.Now = t0.Add(time.Second + time.Duration(i)*time.Microsecond)
		all[rng.IntN(stores)].Observe(o)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(1+seen)), "ns/touch")
}

// BenchmarkSampleGroups takes an announcement's grouping hints (16 domains
// of 64 nodes) from a store that knows 99 remote domains of 100 nodes, as
// each node of a 10000-node simulation does every second.
func BenchmarkSampleGroups(b *testing.B) {
	s := peerstore.New(peerstore.Config{Self: core.NetIDFrom4([4]byte{10, 0, 0, 1}, 29999)})
	for d := range 99 {
		g := core.Group{Entry: core.NetIDFrom4([4]byte{10, 1, byte(d), 1}, 29999)}
		for h := 2; h <= 100; h++ {
			g.Members = append(g.Members, core.NetIDFrom4([4]byte{10, 1, byte(d), byte(h)}, 29999))
		}
		s.Observe(core.Observation{From: g.Entry, Via: core.ViaTCP, Now: t0, Groups: []core.Group{g}})
	}
	if st := s.Stats(); st.Groups != 99 {
		b.Fatalf("%d groups, want 99", st.Groups)
	}
	b.ReportAllocs()
	for b.Loop() {
		if g := s.SampleGroups(16, 64); len(g) != 16 {
			b.Fatalf("%d groups, want 16", len(g))
		}
	}
}
