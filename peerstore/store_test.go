package peerstore_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/peerstore"
)

// n returns the NetID 10.0.0.i:29999 (10.0.x.y for larger i), so that n(i)
// sorts before n(j) when i < j.
func n(i int) core.NetID {
	return core.NetIDFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}, 29999)
}

// opts compares NetIDs, whose fields are unexported, with ==.
var opts = cmpopts.EquateComparable(core.NetID{})

// self is the local node of every store in these tests.
var self = n(100)

var t0 = time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)

// at returns t0 plus d seconds.
func at(d int) time.Time { return t0.Add(time.Duration(d) * time.Second) }

func newStore() *peerstore.Store {
	return peerstore.New(peerstore.Config{Self: self, MaxAge: time.Minute})
}

// ids returns n(i) for each i.
func ids(is ...int) []core.NetID {
	out := make([]core.NetID, len(is))
	for k, i := range is {
		out[k] = n(i)
	}
	return out
}

// seen returns a seen list of (n(i), 10) entries.
func seen(is ...int) []core.SeenEntry {
	out := make([]core.SeenEntry, len(is))
	for k, i := range is {
		out[k] = core.SeenEntry{Node: n(i), Seq: 10}
	}
	return out
}

func grp(entry int, members ...int) core.Group {
	return core.Group{Entry: n(entry), Members: ids(members...)}
}

func TestPeers(t *testing.T) {
	tests := []struct {
		name  string
		steps func(s *peerstore.Store)
		now   time.Time
		want  []core.NetID
	}{{
		name:  "empty",
		steps: func(*peerstore.Store) {},
		now:   at(0),
		want:  nil,
	}, {
		name: "destinations, sorted, without self or invalid",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations([]core.NetID{n(9), n(3), self, {}, n(5), n(3)}, at(0))
		},
		now:  at(1),
		want: ids(3, 5, 9),
	}, {
		name: "sender and every list, invalid entries ignored",
		steps: func(s *peerstore.Store) {
			s.Observe(core.Observation{
				From: n(1), Via: core.ViaTCP, Now: at(0),
				Seen:   []core.SeenEntry{{Node: n(2), Seq: 1}, {Node: self, Seq: 3}, {Seq: 4}},
				Others: ids(3),
				Groups: []core.Group{grp(4, 5, 6), {Entry: self, Members: ids(7)}},
			})
		},
		now:  at(0),
		want: ids(1, 2, 3, 4, 5, 6, 7),
	}, {
		name: "an observation from self or an invalid sender teaches nothing",
		steps: func(s *peerstore.Store) {
			s.Observe(core.Observation{From: self, Via: core.ViaMulticast, Now: at(0), Others: ids(1)})
			s.Observe(core.Observation{Via: core.ViaMulticast, Now: at(0), Others: ids(2)})
		},
		now:  at(0),
		want: nil,
	}, {
		name: "older than MaxAge left out before Expire",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(ids(1), at(0))
			s.ObserveDestinations(ids(2), at(30))
			s.ObserveDestinations(ids(3), at(61))
		},
		now:  at(61), // n(1) is 61 s old, n(2) 31 s
		want: ids(2, 3),
	}, {
		name: "exactly MaxAge old is kept",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(ids(1), at(0))
		},
		now:  at(60),
		want: ids(1),
	}, {
		name: "heard of again is refreshed",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(ids(1, 2), at(0))
			s.Observe(core.Observation{From: n(3), Via: core.ViaTCP, Now: at(50), Seen: seen(1)})
		},
		now:  at(90),
		want: ids(1, 3),
	}, {
		name: "an earlier time does not age an entry",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(ids(1), at(50))
			s.ObserveDestinations(ids(1, 2), at(0))
		},
		now:  at(90),
		want: ids(1),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			tt.steps(s)
			if diff := cmp.Diff(tt.want, s.Peers(tt.now), opts); diff != "" {
				t.Errorf("Peers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPeersReturnsNewSlice(t *testing.T) {
	s := newStore()
	s.ObserveDestinations(ids(1, 2), at(0))
	p := s.Peers(at(0))
	p[0] = n(50)
	if diff := cmp.Diff(ids(1, 2), s.Peers(at(0)), opts); diff != "" {
		t.Errorf("Peers after the caller changed a result (-want +got):\n%s", diff)
	}
}

func TestReport(t *testing.T) {
	type result struct {
		Report core.Report
		OK     bool
	}
	obs := func(from int, now time.Time, selfSeq core.MulticastSeq, seen ...core.SeenEntry) core.Observation {
		return core.Observation{From: n(from), Via: core.ViaTCP, Now: now, SelfSeq: selfSeq, Seen: seen}
	}
	tests := []struct {
		name  string
		steps func(s *peerstore.Store)
		id    core.NetID
		want  result
	}{{
		name:  "unknown",
		steps: func(*peerstore.Store) {},
		id:    n(1),
	}, {
		name: "known, no report",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(0), 20, core.SeenEntry{Node: n(2), Seq: 5}))
		},
		id: n(1),
	}, {
		name: "a report about someone else is not first-hand",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(0), 20, core.SeenEntry{Node: n(2), Seq: 5}))
		},
		id: n(2),
	}, {
		name: "lag is our sequence minus the reported one",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(3), 20, core.SeenEntry{Node: self, Seq: 17}))
		},
		id:   n(1),
		want: result{core.Report{At: at(3), Lag: 3}, true},
	}, {
		name: "no lag when up to date",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(3), 20, core.SeenEntry{Node: self, Seq: 20}))
		},
		id:   n(1),
		want: result{core.Report{At: at(3)}, true},
	}, {
		name: "no lag when ahead of our sequence",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(3), 20, core.SeenEntry{Node: self, Seq: 25}))
		},
		id:   n(1),
		want: result{core.Report{At: at(3)}, true},
	}, {
		name: "the latest report is kept",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(3), 20, core.SeenEntry{Node: self, Seq: 10}))
			s.Observe(obs(1, at(5), 30, core.SeenEntry{Node: self, Seq: 29}))
		},
		id:   n(1),
		want: result{core.Report{At: at(5), Lag: 1}, true},
	}, {
		name: "an older report arriving late does not replace a newer one",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(5), 30, core.SeenEntry{Node: self, Seq: 29}))
			s.Observe(obs(1, at(3), 20, core.SeenEntry{Node: self, Seq: 10}))
		},
		id:   n(1),
		want: result{core.Report{At: at(5), Lag: 1}, true},
	}, {
		name: "a frame without a report keeps the last one",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(3), 20, core.SeenEntry{Node: self, Seq: 19}))
			s.Observe(obs(1, at(9), 40, core.SeenEntry{Node: n(2), Seq: 1}))
		},
		id:   n(1),
		want: result{core.Report{At: at(3), Lag: 1}, true},
	}, {
		name: "a report goes when its node expires",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(0), 20, core.SeenEntry{Node: self, Seq: 19}))
			s.Expire(at(61))
		},
		id: n(1),
	}, {
		name: "a report survives while its node is heard of by others",
		steps: func(s *peerstore.Store) {
			s.Observe(obs(1, at(0), 20, core.SeenEntry{Node: self, Seq: 19}))
			s.ObserveDestinations(ids(1), at(40))
			s.Expire(at(61))
		},
		id:   n(1),
		want: result{core.Report{At: at(0), Lag: 1}, true},
	}, {
		name:  "none about self",
		steps: func(*peerstore.Store) {},
		id:    self,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			tt.steps(s)
			var got result
			got.Report, got.OK = s.Report(tt.id)
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("Report(%s) (-want +got):\n%s", tt.id, diff)
			}
		})
	}
}

// domains returns the Domain key of each of n(1)..n(20) that is known.
func domains(s *peerstore.Store) map[core.NetID]core.NetID {
	out := map[core.NetID]core.NetID{}
	for i := 1; i <= 20; i++ {
		if k, ok := s.Domain(n(i)); ok {
			out[n(i)] = k
		}
	}
	return out
}

// keys builds a want map: keys(k, i, j, ...) says n(i), n(j), ... have key k
// (an int for n(k), or self when k is 0). Several calls merge with union.
func keys(k int, members ...int) map[core.NetID]core.NetID {
	key := self
	if k != 0 {
		key = n(k)
	}
	out := map[core.NetID]core.NetID{}
	for _, m := range members {
		out[n(m)] = key
	}
	return out
}

func union(ms ...map[core.NetID]core.NetID) map[core.NetID]core.NetID {
	out := map[core.NetID]core.NetID{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestDomain(t *testing.T) {
	// tcp and mcast build observations from n(from) at at(sec).
	tcp := func(sec, from int, sn []core.SeenEntry, groups ...core.Group) core.Observation {
		return core.Observation{From: n(from), Via: core.ViaTCP, Now: at(sec), SelfSeq: 10, Seen: sn, Groups: groups}
	}
	mcast := func(sec, from int, sn []core.SeenEntry, groups ...core.Group) core.Observation {
		o := tcp(sec, from, sn, groups...)
		o.Via = core.ViaMulticast
		return o
	}
	selfSeen := []core.SeenEntry{{Node: self, Seq: 9}}
	tests := []struct {
		name string
		obs  []core.Observation
		exp  time.Time // when not zero, Expire(exp) after obs
		more []core.Observation
		want map[core.NetID]core.NetID
	}{{
		name: "a node alone is its own key",
		obs:  []core.Observation{tcp(0, 5, nil)},
		want: keys(5, 5),
	}, {
		name: "seen list: sender and listed nodes share the smallest key",
		obs:  []core.Observation{tcp(0, 5, seen(3, 7))},
		want: keys(3, 3, 5, 7),
	}, {
		name: "seen lists chain sets, the smaller key wins",
		obs: []core.Observation{
			tcp(0, 5, seen(6)),
			tcp(0, 8, seen(9)),
			tcp(0, 9, seen(6)),
		},
		want: keys(5, 5, 6, 8, 9),
	}, {
		name: "a received group merges its nodes",
		obs:  []core.Observation{tcp(0, 9, nil, grp(4, 2, 6), grp(12, 11))},
		want: union(keys(9, 9), keys(2, 2, 4, 6), keys(11, 11, 12)),
	}, {
		name: "groups chain with seen lists",
		obs: []core.Observation{
			tcp(0, 9, nil, grp(4, 6)),
			tcp(0, 6, seen(3)),
		},
		want: union(keys(3, 3, 4, 6), keys(9, 9)),
	}, {
		name: "a multicast sender is in the local domain",
		obs:  []core.Observation{mcast(0, 5, nil)},
		want: keys(0, 5),
	}, {
		name: "a first-hand report puts the sender in the local domain",
		obs:  []core.Observation{tcp(0, 5, selfSeen)},
		want: keys(0, 5),
	}, {
		name: "the order of the seen list does not matter",
		obs: []core.Observation{
			tcp(0, 5, append(seen(9), selfSeen...)),
			tcp(0, 6, append(selfSeen, seen(8)...)),
		},
		want: keys(0, 5, 6, 8, 9),
	}, {
		name: "a sender that receives a local node's multicast is local",
		obs: []core.Observation{
			mcast(0, 5, nil),
			tcp(0, 7, seen(5)),
		},
		want: keys(0, 5, 7),
	}, {
		name: "what a local sender receives is local",
		obs: []core.Observation{
			mcast(0, 5, seen(9)),
			tcp(0, 6, selfSeen),
			tcp(0, 6, seen(3)),
		},
		want: keys(0, 3, 5, 6, 9),
	}, {
		name: "a node joins the local domain alone; its old set keeps the key",
		obs: []core.Observation{
			tcp(0, 3, seen(4)),
			tcp(0, 8, nil, grp(3, 9)),
			mcast(0, 3, nil),
		},
		want: union(keys(0, 3), keys(3, 4, 9), keys(8, 8)),
	}, {
		name: "a hint does not move a node into the local domain",
		obs: []core.Observation{
			mcast(0, 5, nil),
			tcp(0, 12, nil, grp(5, 8), grp(9, 5)),
		},
		want: union(keys(0, 5), keys(8, 8), keys(9, 9), keys(12, 12)),
	}, {
		name: "a hint does not move a node out of the local domain",
		obs: []core.Observation{
			mcast(0, 5, nil),
			tcp(0, 12, nil, grp(7, 5, 8), grp(6, 5)),
		},
		want: union(keys(0, 5), keys(7, 7, 8), keys(6, 6), keys(12, 12)),
	}, {
		name: "a hint does not drag a local sender's seen nodes out",
		obs: []core.Observation{
			mcast(0, 5, seen(9)),
			tcp(0, 12, nil, grp(2, 9, 5)),
		},
		want: union(keys(0, 5, 9), keys(2, 2), keys(12, 12)),
	}, {
		name: "own knowledge after a hint takes only the node it is about",
		obs: []core.Observation{
			tcp(0, 12, nil, grp(4, 6)),
			mcast(0, 4, nil),
		},
		want: union(keys(0, 4), keys(6, 6), keys(12, 12)),
	}, {
		name: "a hint from a local sender still groups foreign nodes",
		obs: []core.Observation{
			mcast(0, 5, nil, grp(8, 9)),
		},
		want: union(keys(0, 5), keys(8, 8, 9)),
	}, {
		name: "an expired node leaves its set, which keeps its key",
		obs:  []core.Observation{tcp(0, 5, seen(3, 7)), tcp(50, 5, seen(7))},
		exp:  at(61),
		want: keys(3, 5, 7),
	}, {
		name: "an expired key node coming back is alone, its old set rekeyed",
		obs:  []core.Observation{tcp(0, 5, seen(3, 7)), tcp(50, 5, seen(7))},
		exp:  at(61),
		more: []core.Observation{tcp(62, 3, nil)},
		want: union(keys(3, 3), keys(5, 5, 7)),
	}, {
		name: "a set left with one node dissolves",
		obs:  []core.Observation{tcp(0, 5, seen(3)), tcp(50, 5, nil)},
		exp:  at(61),
		want: keys(5, 5),
	}, {
		name: "an expired node leaves the local domain",
		obs:  []core.Observation{mcast(0, 5, nil), mcast(50, 6, nil)},
		exp:  at(61),
		more: []core.Observation{tcp(62, 5, nil)},
		want: union(keys(5, 5), keys(0, 6)),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			for _, o := range tt.obs {
				s.Observe(o)
			}
			if !tt.exp.IsZero() {
				s.Expire(tt.exp)
			}
			for _, o := range tt.more {
				s.Observe(o)
			}
			if diff := cmp.Diff(tt.want, domains(s), opts); diff != "" {
				t.Errorf("Domain (-want +got):\n%s", diff)
			}
			if k, ok := s.Domain(self); !ok || k != self {
				t.Errorf("Domain(self) = %s, %v; want %s, true", k, ok, self)
			}
		})
	}
}

func TestExpire(t *testing.T) {
	s := newStore()
	s.ObserveDestinations(ids(1, 2), at(0))
	s.Observe(core.Observation{From: n(3), Via: core.ViaTCP, Now: at(20), Seen: []core.SeenEntry{{Node: self, Seq: 1}}})
	s.ObserveDestinations(ids(4), at(40))
	s.ObserveDestinations(ids(2), at(41)) // refreshed

	type snapshot struct {
		Peers []core.NetID
		Len   int
		Stats peerstore.Stats
	}
	snap := func(now time.Time) snapshot {
		return snapshot{s.Peers(now), s.Len(), s.Stats()}
	}
	steps := []struct {
		now  time.Time
		want snapshot
	}{
		{at(60), snapshot{ids(1, 2, 3, 4), 4, peerstore.Stats{Entries: 4, Reports: 1, LocalDomain: 1}}},
		{at(61), snapshot{ids(2, 3, 4), 3, peerstore.Stats{Entries: 3, Reports: 1, LocalDomain: 1, Expired: 1}}},
		{at(81), snapshot{ids(2, 4), 2, peerstore.Stats{Entries: 2, Expired: 2}}},
		{at(81), snapshot{ids(2, 4), 2, peerstore.Stats{Entries: 2, Expired: 2}}},
		{at(200), snapshot{nil, 0, peerstore.Stats{Expired: 4}}},
	}
	for _, st := range steps {
		s.Expire(st.now)
		if diff := cmp.Diff(st.want, snap(st.now), opts); diff != "" {
			t.Errorf("after Expire(%v) (-want +got):\n%s", st.now.Sub(t0), diff)
		}
	}
}

func TestMaxPeers(t *testing.T) {
	tests := []struct {
		name  string
		steps func(s *peerstore.Store)
		want  []core.NetID
		stats peerstore.Stats
	}{{
		name: "the entry heard of longest ago goes",
		steps: func(s *peerstore.Store) {
			for i := 1; i <= 5; i++ {
				s.ObserveDestinations(ids(i), at(i))
			}
		},
		want:  ids(3, 4, 5),
		stats: peerstore.Stats{Entries: 3, Evicted: 2},
	}, {
		name: "hearing of a node again saves it",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(ids(1), at(1))
			s.ObserveDestinations(ids(2), at(2))
			s.ObserveDestinations(ids(3), at(3))
			s.Observe(core.Observation{From: n(9), Via: core.ViaTCP, Now: at(4), Others: ids(1)})
			s.ObserveDestinations(ids(4), at(5))
		},
		want:  ids(1, 4, 9),
		stats: peerstore.Stats{Entries: 3, Evicted: 2},
	}, {
		name: "times out of order still evict the oldest",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(ids(1), at(3))
			s.ObserveDestinations(ids(2), at(1))
			s.ObserveDestinations(ids(3), at(2))
			s.ObserveDestinations(ids(4), at(4))
		},
		want:  ids(1, 3, 4),
		stats: peerstore.Stats{Entries: 3, Evicted: 1},
	}, {
		name: "one observation larger than the cap",
		steps: func(s *peerstore.Store) {
			s.Observe(core.Observation{From: n(9), Via: core.ViaMulticast, Now: at(1), Seen: seen(1, 2, 3, 4, 5)})
		},
		want:  nil, // which three of one instant stay is not specified
		stats: peerstore.Stats{Entries: 3, LocalDomain: 3, Evicted: 3},
	}, {
		name: "self does not count",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(append(ids(1, 2, 3), self), at(1))
		},
		want:  ids(1, 2, 3),
		stats: peerstore.Stats{Entries: 3},
	}, {
		name: "among nodes heard of at one instant the first heard of go first",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(ids(7, 3, 9), at(1))
			s.ObserveDestinations(ids(5, 1), at(1))
		},
		want:  ids(1, 5, 9),
		stats: peerstore.Stats{Entries: 3, Evicted: 2},
	}, {
		name: "one eviction after another, each the oldest",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(ids(1, 2, 3), at(1))
			s.ObserveDestinations(ids(4), at(2)) // evicts 1
			s.ObserveDestinations(ids(2), at(3)) // 2 is no longer the oldest
			s.ObserveDestinations(ids(5), at(4)) // evicts 3
			s.ObserveDestinations(ids(6), at(5)) // evicts 4
		},
		want:  ids(2, 5, 6),
		stats: peerstore.Stats{Entries: 3, Evicted: 3},
	}, {
		name: "a node heard of at an older time between evictions goes next",
		steps: func(s *peerstore.Store) {
			s.ObserveDestinations(ids(1, 2, 3), at(5))
			s.ObserveDestinations(ids(4), at(6)) // evicts 1
			s.ObserveDestinations(ids(8), at(1)) // a clock stepped back: evicts 8
			s.ObserveDestinations(ids(9), at(7)) // evicts 2
		},
		want:  ids(3, 4, 9),
		stats: peerstore.Stats{Entries: 3, Evicted: 3},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := peerstore.New(peerstore.Config{Self: self, MaxPeers: 3})
			tt.steps(s)
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, s.Peers(at(10)), opts); diff != "" {
					t.Errorf("Peers (-want +got):\n%s", diff)
				}
			} else if got := len(s.Peers(at(10))); got != 3 {
				t.Errorf("%d peers, want 3", got)
			}
			if diff := cmp.Diff(tt.stats, s.Stats(), opts); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExpireExact checks that Peers leaves out, and Expire removes, exactly
// the nodes heard of more than MaxAge before the time they are given, to the
// nanosecond.
func TestExpireExact(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		want []core.NetID
	}{
		{"MaxAge after the last node", at(2).Add(time.Minute), ids(1, 2)},
		{"1 ns later", at(2).Add(time.Minute + 1), ids(1)},
		{"MaxAge after the first node, heard of again", at(3).Add(time.Minute), ids(1)},
		{"1 ns after that", at(3).Add(time.Minute + 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			s.ObserveDestinations(ids(1, 2), at(2))
			s.ObserveDestinations(ids(1), at(3))
			s.ObserveDestinations(ids(1), at(1)) // older: changes nothing
			if diff := cmp.Diff(tt.want, s.Peers(tt.now), opts); diff != "" {
				t.Errorf("Peers (-want +got):\n%s", diff)
			}
			s.Expire(tt.now)
			if diff := cmp.Diff(tt.want, s.Peers(at(0)), opts); diff != "" {
				t.Errorf("Peers after Expire (-want +got):\n%s", diff)
			}
			want := peerstore.Stats{Entries: len(tt.want), Expired: uint64(2 - len(tt.want))}
			if diff := cmp.Diff(want, s.Stats(), opts); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

// TestForgetsLikeModel drives stores, with a private index and with a shared
// one, through seeded random calls (batches of destinations larger than the
// slack below the cap, a clock that sometimes steps back, many nodes heard
// of at one instant, expiries) and checks after every call that each knows
// exactly the nodes a plain model keeps: every node at the latest time it
// was heard of; after each call beyond the cap, the oldest evicted (by
// time, then by the order they reached it) down to exactly the cap; on
// Expire, exactly those heard of more than MaxAge ago removed.
func TestForgetsLikeModel(t *testing.T) {
	const pool, maxAge = 300, 20 * time.Second
	for _, maxPeers := range []int{1, 5, 40, 120} {
		for seed := range uint64(3) {
			for _, shared := range []bool{false, true} {
				t.Run(fmt.Sprintf("cap%d/seed%d/shared=%v", maxPeers, seed, shared), func(t *testing.T) {
					testForgetsLikeModel(t, seed, pool, maxPeers, maxAge, shared)
				})
			}
		}
	}
}

func testForgetsLikeModel(t *testing.T, seed uint64, pool, maxPeers int, maxAge time.Duration, shared bool) {
	rng := rand.New(rand.NewPCG(seed, 3))
	cfg := peerstore.Config{Self: self, MaxAge: maxAge, MaxPeers: maxPeers}
	if shared {
		cfg.Index = new(peerstore.Index)
		peerstore.New(peerstore.Config{Self: self, Index: cfg.Index}).ObserveDestinations(ids(pool, pool-1, pool-2), t0)
	}
	s := peerstore.New(cfg)
	type heard struct {
		last time.Time
		seq  int // the order of hearings that made a node new or younger
	}
	model := map[core.NetID]heard{}
	var evicted, expired uint64
	seq := 0
	now := t0
	for step := range 600 {
		switch r := rng.IntN(20); {
		case r == 0:
			now = now.Add(-time.Duration(rng.IntN(30)) * time.Second) // a clock stepped back
		case r < 10:
			now = now.Add(time.Duration(rng.IntN(2000)) * time.Millisecond) // often 0: ties
		}
		if rng.IntN(10) == 0 {
			s.Expire(now)
			for id, h := range model {
				if now.Sub(h.last) > maxAge {
					delete(model, id)
					expired++
				}
			}
		} else {
			batch := make([]core.NetID, 1+rng.IntN(max(2, maxPeers/8)))
			for k := range batch {
				batch[k] = n(1 + rng.IntN(pool))
			}
			s.ObserveDestinations(batch, now)
			for _, id := range batch {
				if id == self {
					continue
				}
				if h, ok := model[id]; !ok || now.After(h.last) {
					seq++
					model[id] = heard{now, seq}
				}
			}
			for len(model) > maxPeers {
				var oldest core.NetID
				for id, h := range model {
					if o := model[oldest]; !oldest.IsValid() || h.last.Before(o.last) || h.last.Equal(o.last) && h.seq < o.seq {
						oldest = id
					}
				}
				delete(model, oldest)
				evicted++
			}
		}
		if s.Len() > maxPeers {
			t.Fatalf("step %d: %d entries over the cap %d", step, s.Len(), maxPeers)
		}
		want := make([]core.NetID, 0, len(model))
		for id := range model {
			want = append(want, id)
		}
		slices.SortFunc(want, core.NetID.Compare)
		var got []core.NetID
		for i := 1; i <= pool; i++ {
			if _, ok := s.Domain(n(i)); ok && n(i) != self {
				got = append(got, n(i))
			}
		}
		if diff := cmp.Diff(want, got, opts, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("step %d: nodes known (-model +store):\n%s", step, diff)
		}
		if st := s.Stats(); st.Evicted != evicted || st.Expired != expired {
			t.Fatalf("step %d: %d evicted, %d expired; the model %d, %d", step, st.Evicted, st.Expired, evicted, expired)
		}
	}
}

func TestDefaults(t *testing.T) {
	s := peerstore.New(peerstore.Config{Self: self})
	s.ObserveDestinations(ids(1), at(0))
	if diff := cmp.Diff(ids(1), s.Peers(at(0).Add(peerstore.DefaultMaxAge)), opts); diff != "" {
		t.Errorf("Peers at the default MaxAge (-want +got):\n%s", diff)
	}
	if got := s.Peers(at(1).Add(peerstore.DefaultMaxAge)); got != nil {
		t.Errorf("Peers after the default MaxAge = %v, want none", got)
	}
	dests := make([]core.NetID, peerstore.DefaultMaxPeers+10)
	for i := range dests {
		dests[i] = core.NetIDFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}, 29999)
	}
	s.ObserveDestinations(dests, at(2))
	if got := s.Len(); got != peerstore.DefaultMaxPeers {
		t.Errorf("Len = %d after %d destinations, want the default cap %d", got, len(dests), peerstore.DefaultMaxPeers)
	}
}

func TestSelfNeverAPeer(t *testing.T) {
	s := newStore()
	s.ObserveDestinations([]core.NetID{self}, at(0))
	s.Observe(core.Observation{
		From: n(1), Via: core.ViaMulticast, Now: at(0), SelfSeq: 4,
		Seen:   []core.SeenEntry{{Node: self, Seq: 4}},
		Others: []core.NetID{self},
		Groups: []core.Group{{Entry: self, Members: ids(2)}, {Entry: n(3), Members: []core.NetID{self}}},
	})
	if diff := cmp.Diff(ids(1, 2, 3), s.Peers(at(0)), opts); diff != "" {
		t.Errorf("Peers (-want +got):\n%s", diff)
	}
	if _, ok := s.Report(self); ok {
		t.Error("a report about self")
	}
}

// TestConcurrent runs every method at once; run it with -race.
func TestConcurrent(t *testing.T) {
	s := peerstore.New(peerstore.Config{Self: self, MaxAge: 5 * time.Second, MaxPeers: 50})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				now := at(i / 10)
				switch (w + i) % 6 {
				case 0:
					s.ObserveDestinations(ids(i%70+1, (i*7)%70+1), now)
				case 1:
					s.Peers(now)
				case 2:
					s.Domain(n(i%70 + 1))
					s.Report(n(i%70 + 1))
				case 3:
					s.Expire(now)
					s.Stats()
				default:
					s.Observe(core.Observation{
						From: n(i%70 + 1), Via: core.Via(1 + i%2), Now: now, SelfSeq: core.MulticastSeq(i),
						Seen:   []core.SeenEntry{{Node: n((i*3)%70 + 1), Seq: 1}, {Node: self, Seq: core.MulticastSeq(i)}},
						Others: ids((i*5)%70 + 1),
						Groups: []core.Group{grp((i*11)%70+1, (i*13)%70+1)},
					})
				}
			}
		}()
	}
	wg.Wait()
	if got := s.Len(); got > 50 {
		t.Errorf("Len = %d over the cap", got)
	}
}

// benchStore returns a store of size nodes in domains of 32, each node with
// a first-hand report, and 32-entry seen lists to observe.
func benchStore(b *testing.B, size int) (*peerstore.Store, []core.Observation) {
	b.Helper()
	s := peerstore.New(peerstore.Config{Self: self, MaxPeers: 2 * size})
	node := func(i int) core.NetID {
		return core.NetIDFrom4([4]byte{10, 1 + byte(i>>16), byte(i >> 8), byte(i)}, 29999)
	}
	var obs []core.Observation
	for d := 0; d < size; d += 32 {
		o := core.Observation{From: node(d + 1), Via: core.ViaTCP, Now: t0, SelfSeq: 100}
		for i := 2; i <= 32; i++ {
			o.Seen = append(o.Seen, core.SeenEntry{Node: node(d + i), Seq: 50})
		}
		o.Seen = append(o.Seen, core.SeenEntry{Node: self, Seq: 99})
		obs = append(obs, o)
		s.Observe(o)
	}
	if s.Len() != size {
		b.Fatalf("store of %d entries, want %d", s.Len(), size)
	}
	return s, obs
}

// BenchmarkObserve observes a frame with a 32-entry seen list (31 peers and
// the local node) from a store of 10000 known nodes.
func BenchmarkObserve(b *testing.B) {
	s, obs := benchStore(b, 10016)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := obs[i%len(obs)]
		o.Now = t0.Add(time.Duration(i) * time.Microsecond)
		s.Observe(o)
		i++
	}
}

// BenchmarkObserveChurn observes frames from a 10000-node store at its cap
// whose 32-entry seen lists name only new nodes, in sets of 32 that a
// distribution-list group chains together: each frame creates 33 entries,
// evicts as many, and merges sets.
func BenchmarkObserveChurn(b *testing.B) {
	s := peerstore.New(peerstore.Config{Self: self, MaxPeers: 10000})
	node := func(i int) core.NetID {
		return core.NetIDFrom4([4]byte{10, 1 + byte(i>>16), byte(i >> 8), byte(i)}, 29999)
	}
	var o core.Observation
	o.Seen = make([]core.SeenEntry, 32)
	o.Groups = make([]core.Group, 1)
	b.ReportAllocs()
	next, tick := 1, 0
	for b.Loop() {
		tick++
		o.From, o.Via, o.Now = node(next), core.ViaTCP, t0.Add(time.Duration(tick)*time.Microsecond)
		for i := range o.Seen {
			o.Seen[i] = core.SeenEntry{Node: node(next + 1 + i), Seq: 5}
		}
		o.Groups[0] = core.Group{Entry: node(next), Members: []core.NetID{node(next - 1)}}
		s.Observe(o)
		next = (next + 33) % (1 << 20)
	}
	if s.Len() > 10000 {
		b.Fatalf("Len %d over the cap", s.Len())
	}
}

// BenchmarkDomain looks up the domain of a known node in a store of 10000.
func BenchmarkDomain(b *testing.B) {
	s, obs := benchStore(b, 10016)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := obs[i%len(obs)]
		if _, ok := s.Domain(o.Seen[i%31].Node); !ok {
			b.Fatal("unknown")
		}
		i++
	}
}

// BenchmarkPeers lists the peers of a store of 10000.
func BenchmarkPeers(b *testing.B) {
	s, _ := benchStore(b, 10016)
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Peers(t0)) != 10016 {
			b.Fatal("short")
		}
	}
}

func ExampleStore() {
	self := core.MustParseNetID("192.0.2.1:29999")
	s := peerstore.New(peerstore.Config{Self: self, MaxAge: time.Minute})
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)

	// A frame from .2 by multicast, whose seen list says it receives our
	// multicast up to 41 (we are at 42) and .3's.
	s.Observe(core.Observation{
		From: core.MustParseNetID("192.0.2.2:29999"), Via: core.ViaMulticast, Now: now,
		Seen: []core.SeenEntry{
			{Node: self, Seq: 41},
			{Node: core.MustParseNetID("192.0.2.3:29999"), Seq: 7},
		},
		SelfSeq: 42,
		// A received distribution list: a hint about a remote domain.
		Groups: []core.Group{{
			Entry:   core.MustParseNetID("198.51.100.9:29999"),
			Members: []core.NetID{core.MustParseNetID("198.51.100.4:29999")},
		}},
	})

	fmt.Println(s.Peers(now))
	r, _ := s.Report(core.MustParseNetID("192.0.2.2:29999"))
	fmt.Println("report lag", r.Lag)
	for _, p := range s.Peers(now) {
		key, _ := s.Domain(p)
		fmt.Println(p, "domain", key)
	}
	// Output:
	// [192.0.2.2:29999 192.0.2.3:29999 198.51.100.4:29999 198.51.100.9:29999]
	// report lag 1
	// 192.0.2.2:29999 domain 192.0.2.1:29999
	// 192.0.2.3:29999 domain 192.0.2.1:29999
	// 198.51.100.4:29999 domain 198.51.100.4:29999
	// 198.51.100.9:29999 domain 198.51.100.4:29999
}
