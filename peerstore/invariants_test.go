package peerstore

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
)

// check verifies the store's internal invariants and returns the first one
// broken.
func (s *Store) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()

	// The list holds every entry once, ordered by last heard.
	n := 0
	var prev *entry
	for e := s.head; e != nil; e = e.next {
		n++
		if n > len(s.entries) {
			return fmt.Errorf("list longer than the map (%d)", len(s.entries))
		}
		if e.prev != prev {
			return fmt.Errorf("%s: prev link broken", e.id)
		}
		if prev != nil && prev.last.After(e.last) {
			return fmt.Errorf("%s (%v) after %s (%v): list out of order", e.id, e.last, prev.id, prev.last)
		}
		if s.entries[e.id] != e {
			return fmt.Errorf("%s: in the list, not in the map", e.id)
		}
		if e.id == s.self || !e.id.IsValid() {
			return fmt.Errorf("entry for %s", e.id)
		}
		prev = e
	}
	if prev != s.tail || n != len(s.entries) {
		return fmt.Errorf("list of %d entries, tail %v, map of %d", n, prev == s.tail, len(s.entries))
	}
	if len(s.entries) > s.maxPeers {
		return fmt.Errorf("%d entries over the cap %d", len(s.entries), s.maxPeers)
	}

	// Sets: members point back; keys are distinct among live sets.
	reports, groups := 0, 0
	keys := map[core.NetID]string{s.self: "local domain"}
	sets := map[*group]bool{}
	for id, e := range s.entries {
		if e.hasReport {
			reports++
		}
		g := e.grp
		if g == nil {
			if other, dup := keys[id]; dup {
				return fmt.Errorf("%s alone shares its key with %s", id, other)
			}
			keys[id] = "alone " + id.String()
			continue
		}
		if e.gidx >= len(g.members) || g.members[e.gidx] != e {
			return fmt.Errorf("%s: set index %d broken", id, e.gidx)
		}
		if g == &s.local || sets[g] {
			continue
		}
		sets[g] = true
		groups++
		if len(g.members) < 2 {
			return fmt.Errorf("set %s of %d members", g.key, len(g.members))
		}
		if other, dup := keys[g.key]; dup {
			return fmt.Errorf("set %s shares its key with %s", g.key, other)
		}
		keys[g.key] = "set " + g.key.String()
		member := false
		for _, m := range g.members {
			if m.grp != g {
				return fmt.Errorf("set %s: member %s points elsewhere", g.key, m.id)
			}
			if m.id.Compare(g.key) < 0 {
				return fmt.Errorf("set %s: member %s is smaller than the key", g.key, m.id)
			}
			member = member || m.id == g.key
		}
		if member == g.ghost {
			return fmt.Errorf("set %s: ghost %v, key a member %v", g.key, g.ghost, member)
		}
		if g.ghost && s.ghosts[g.key] != g {
			return fmt.Errorf("set %s: ghost not in the ghost map", g.key)
		}
		if g.ghost {
			if k := s.entries[g.key]; k != nil && k.grp != &s.local {
				return fmt.Errorf("set %s: ghost key names a live node outside the local domain", g.key)
			}
		}
	}
	for _, m := range s.local.members {
		if m.grp != &s.local || s.entries[m.id] != m {
			return fmt.Errorf("local member %s broken", m.id)
		}
	}
	for k, g := range s.ghosts {
		if !sets[g] || !g.ghost || g.key != k {
			return fmt.Errorf("ghost map entry %s stale", k)
		}
	}
	if reports != s.reports || groups != s.groups {
		return fmt.Errorf("counted %d reports and %d sets, store says %d and %d", reports, groups, s.reports, s.groups)
	}
	return nil
}

// TestClockSteppedBack checks that an entry heard of before more than
// maxWalk later entries is placed after them, heard of at the time of the
// maxWalk-th latest.
func TestClockSteppedBack(t *testing.T) {
	self := core.NetIDFrom4([4]byte{10, 0, 0, 255}, 29999)
	s := New(Config{Self: self, MaxAge: time.Minute})
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 40 {
		s.ObserveDestinations([]core.NetID{core.NetIDFrom4([4]byte{10, 0, 0, byte(1 + i)}, 29999)}, t0.Add(time.Duration(i)*time.Second))
	}
	late := core.NetIDFrom4([4]byte{10, 0, 1, 1}, 29999)
	s.ObserveDestinations([]core.NetID{late}, t0) // 39 s back
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	// 40 entries at 0..39 s; the 16th latest was heard of at 23 s.
	if got, want := s.entries[late].last, t0.Add(23*time.Second); !got.Equal(want) {
		t.Errorf("recorded at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	// A small step back is exact.
	near := core.NetIDFrom4([4]byte{10, 0, 1, 2}, 29999)
	s.ObserveDestinations([]core.NetID{near}, t0.Add(30*time.Second))
	if got, want := s.entries[near].last, t0.Add(30*time.Second); !got.Equal(want) {
		t.Errorf("recorded at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
}

// TestInvariantsRandom drives a small store with seeded random observations,
// expiries and evictions, and checks its invariants after every step.
func TestInvariantsRandom(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			node := func() core.NetID {
				return core.NetIDFrom4([4]byte{10, 0, 0, byte(1 + rng.IntN(40))}, 29999)
			}
			self := core.NetIDFrom4([4]byte{10, 0, 0, 7}, 29999)
			s := New(Config{Self: self, MaxAge: 20 * time.Second, MaxPeers: 25})
			now := time.Unix(1_700_000_000, 0)
			for step := range 3000 {
				// Mostly forward, sometimes a little back.
				now = now.Add(time.Duration(rng.IntN(4000)-500) * time.Millisecond)
				if rng.IntN(200) == 0 {
					now = now.Add(-time.Minute) // a clock stepped back
				}
				switch rng.IntN(10) {
				case 0:
					s.Expire(now)
				case 1:
					s.ObserveDestinations([]core.NetID{node(), node()}, now)
				default:
					o := core.Observation{From: node(), Via: core.ViaTCP, Now: now, SelfSeq: core.MulticastSeq(rng.IntN(100))}
					if rng.IntN(4) == 0 {
						o.Via = core.ViaMulticast
					}
					for range rng.IntN(4) {
						o.Seen = append(o.Seen, core.SeenEntry{Node: node(), Seq: core.MulticastSeq(rng.IntN(100))})
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
					s.Observe(o)
				}
				if err := s.check(); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			}
		})
	}
}
