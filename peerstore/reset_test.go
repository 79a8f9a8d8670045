package peerstore_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/peerstore"
)

// TestReset checks that a store Reset after use answers a workload exactly
// as a new store does: every answer of every call, in a transcript.
func TestReset(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("shared=%v/seed%d", shared, seed), func(t *testing.T) {
				cfg := func() peerstore.Config {
					c := peerstore.Config{Self: self, MaxAge: 30 * time.Second, MaxPeers: 150}
					if shared {
						c.Index = new(peerstore.Index)
					}
					return c
				}
				fresh := peerstore.New(cfg())
				want := storeWorkload(fresh, seed)

				used := peerstore.New(peerstore.Config{Self: n(7), MaxPeers: 400, Index: cfg().Index})
				storeWorkload(used, seed+100) // fills it with other nodes, groups and reports
				used.Reset(cfg())
				if diff := cmp.Diff(want, storeWorkload(used, seed)); diff != "" {
					t.Errorf("a reset store answers otherwise than a new one (-new +reset):\n%s", diff)
				}
			})
		}
	}
}

// storeWorkload runs a seeded mix of observations, expiries and queries on
// s and returns what every query answered.
func storeWorkload(s *peerstore.Store, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 11))
	node := func() core.NetID { return n(1 + rng.IntN(300)) }
	list := func(k int) []core.NetID {
		out := make([]core.NetID, rng.IntN(k+1))
		for i := range out {
			out[i] = node()
		}
		return out
	}
	var out []string
	now := t0
	for range 400 {
		now = now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
		switch rng.IntN(8) {
		case 0:
			s.ObserveDestinations(list(20), now)
		case 1:
			s.Expire(now)
		default:
			o := core.Observation{From: node(), Via: core.Via(rng.IntN(2)), Now: now, SelfSeq: core.MulticastSeq(rng.IntN(20))}
			for range rng.IntN(6) {
				se := core.SeenEntry{Node: node(), Seq: core.MulticastSeq(rng.IntN(20))}
				if rng.IntN(4) == 0 {
					se.Node = self
				}
				o.Seen = append(o.Seen, se)
			}
			o.Others = list(4)
			for range rng.IntN(4) {
				o.Groups = append(o.Groups, core.Group{Entry: node(), Members: list(12)})
			}
			out = append(out, fmt.Sprint("learned ", s.Observe(o)))
		}
		out = append(out, fmt.Sprint(s.Peers(now)), fmt.Sprintf("%+v", s.Stats()), fmt.Sprint(s.SampleGroups(3, 5)))
		id := node()
		r, ok := s.Report(id)
		key, inDomain := s.Domain(id)
		out = append(out, fmt.Sprint(id, r, ok, key, inDomain))
	}
	return out
}
