package peerstore

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
)

// check verifies the store's internal invariants and returns the first one
// broken.
func (s *Store) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()

	// The entries cover the numbers the store has seen; a known entry is
	// a valid NetID's, numbered as the index says; the others are zero.
	n := 0
	if len(s.entries)-1 > len(s.ids) {
		return fmt.Errorf("%d entries for %d NetIDs", len(s.entries)-1, len(s.ids))
	}
	for i := 1; i < len(s.entries); i++ {
		e := &s.entries[i]
		if !e.known() {
			if *e != (entry{}) {
				return fmt.Errorf("entry %d not known, not cleared: %+v", i, *e)
			}
			continue
		}
		n++
		id := s.id(int32(i))
		if id == s.self || !id.IsValid() {
			return fmt.Errorf("entry for %s", id)
		}
		if num, ok := s.index.lookup(id); !ok || int(num) != i-1 {
			return fmt.Errorf("%s: entry %d, the index says number %d, %v", id, i, num, ok)
		}
	}
	if s.entries[0] != (entry{}) {
		return fmt.Errorf("entry 0 used: %+v", s.entries[0])
	}
	if n != s.live {
		return fmt.Errorf("%d known entries, %d live", n, s.live)
	}
	if s.live > s.maxPeers {
		return fmt.Errorf("%d entries over the cap %d", s.live, s.maxPeers)
	}
	if s.private && len(s.entries)-1 > max(minCompact, 2*s.live) {
		return fmt.Errorf("private index of %d numbers for %d entries", len(s.entries)-1, s.live)
	}
	if s.private && len(s.entries)-1 != s.index.n {
		return fmt.Errorf("private index of %d numbers, %d entries", s.index.n, len(s.entries)-1)
	}

	// Eviction candidates: sorted; every known entry older than the bound
	// is a candidate with its time; no candidate when there is no bound.
	if s.first >= len(s.old) && (s.first != 0 || len(s.old) != 0) {
		return fmt.Errorf("candidates from %d of %d", s.first, len(s.old))
	}
	if (len(s.old) == 0) != (s.bound == candidate{last: noBound}) {
		return fmt.Errorf("%d candidates, bound %+v", len(s.old), s.bound)
	}
	has := map[candidate]bool{}
	for k, c := range s.old[s.first:] {
		if k > 0 && older(c, s.old[s.first+k-1]) {
			return fmt.Errorf("candidate %d out of order", s.first+k)
		}
		if c.i <= 0 || int(c.i) >= len(s.entries) {
			return fmt.Errorf("candidate %+v out of the entries", c)
		}
		has[c] = true
	}
	for i := 1; i < len(s.entries); i++ {
		if e := &s.entries[i]; e.known() && s.bound.i != 0 {
			if c := s.candidateOf(int32(i)); older(c, s.bound) && !has[c] {
				return fmt.Errorf("%s (%v) older than the bound, not a candidate", s.id(int32(i)), e.last)
			}
		}
	}

	// Sets: members point back; keys are distinct among live sets; the
	// listed sets are those outside the local domain.
	reports := 0
	reportsHeld := map[int32]bool{}
	keys := map[core.NetID]string{s.self: "local domain"}
	sets := map[int32]bool{}
	for k := 1; k < len(s.entries); k++ {
		i := int32(k)
		e := &s.entries[i]
		if !e.known() {
			continue
		}
		id := s.id(i)
		if e.report != 0 {
			reports++
			if int(e.report) >= len(s.reps) || reportsHeld[e.report] {
				return fmt.Errorf("%s: report %d out of the slab or held twice", id, e.report)
			}
			reportsHeld[e.report] = true
		}
		g := e.set
		if g == 0 {
			if other, dup := keys[id]; dup {
				return fmt.Errorf("%s alone shares its key with %s", id, other)
			}
			keys[id] = "alone " + id.String()
			continue
		}
		set := &s.sets[g]
		if int(e.member) >= len(set.members) || set.members[e.member] != i {
			return fmt.Errorf("%s: set index %d broken", id, e.member)
		}
		if g == localSet || sets[g] {
			continue
		}
		sets[g] = true
		if len(set.members) < 2 {
			return fmt.Errorf("set %s of %d members", set.key, len(set.members))
		}
		if other, dup := keys[set.key]; dup {
			return fmt.Errorf("set %s shares its key with %s", set.key, other)
		}
		keys[set.key] = "set " + set.key.String()
		member := false
		for _, m := range set.members {
			if s.entries[m].set != g {
				return fmt.Errorf("set %s: member %s points elsewhere", set.key, s.id(m))
			}
			if s.id(m).Compare(set.key) < 0 {
				return fmt.Errorf("set %s: member %s is smaller than the key", set.key, s.id(m))
			}
			member = member || s.id(m) == set.key
		}
		if member == set.ghost {
			return fmt.Errorf("set %s: ghost %v, key a member %v", set.key, set.ghost, member)
		}
		if set.ghost && s.ghosts[set.key] != g {
			return fmt.Errorf("set %s: ghost not in the ghost map", set.key)
		}
		if set.ghost {
			if k := s.find(set.key); k != 0 && s.entries[k].set != localSet {
				return fmt.Errorf("set %s: ghost key names a live node outside the local domain", set.key)
			}
		}
		if set.pos >= len(s.list) || s.list[set.pos] != g {
			return fmt.Errorf("set %s: not at its place %d in the list", set.key, set.pos)
		}
	}
	if s.sets[localSet].key != s.self {
		return fmt.Errorf("local domain keyed %s", s.sets[localSet].key)
	}
	for _, m := range s.sets[localSet].members {
		if s.entries[m].set != localSet || !s.entries[m].known() {
			return fmt.Errorf("local member %s broken", s.id(m))
		}
	}
	for k, g := range s.ghosts {
		if !sets[g] || !s.sets[g].ghost || s.sets[g].key != k {
			return fmt.Errorf("ghost map entry %s stale", k)
		}
	}
	for _, g := range s.freeSets {
		if sets[g] || len(s.sets[g].members) != 0 {
			return fmt.Errorf("free set %d in use", g)
		}
	}
	if len(s.list) != len(sets) || len(sets)+len(s.freeSets) != len(s.sets)-2 {
		return fmt.Errorf("%d sets in use, %d listed, %d free, in a slab of %d", len(sets), len(s.list), len(s.freeSets), len(s.sets)-2)
	}
	if len(s.reps) > 0 && reports+len(s.freeReps) != len(s.reps)-1 {
		return fmt.Errorf("%d reports held and %d free in a slab of %d", reports, len(s.freeReps), len(s.reps)-1)
	}
	for _, r := range s.freeReps {
		if reportsHeld[r] || s.reps[r] != (firstHand{}) {
			return fmt.Errorf("free report %d held or not cleared", r)
		}
	}
	if reports != s.reports || len(sets) != s.groups {
		return fmt.Errorf("counted %d reports and %d sets, store says %d and %d", reports, len(sets), s.reports, s.groups)
	}
	return nil
}

// lastHeard returns when the store records id as last heard of.
func (s *Store) lastHeard(id core.NetID) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.time(s.entries[s.find(id)].last)
}

// TestClockSteppedBack checks that an entry heard of at a time before many
// later entries keeps that time, exactly, and is the first evicted.
func TestClockSteppedBack(t *testing.T) {
	self := core.NetIDFrom4([4]byte{10, 0, 0, 255}, 29999)
	s := New(Config{Self: self, MaxAge: time.Minute, MaxPeers: 41})
	t0 := time.Unix(1_700_000_000, 0)
	node := func(i int) core.NetID { return core.NetIDFrom4([4]byte{10, 0, 0, byte(1 + i)}, 29999) }
	for i := range 40 {
		s.ObserveDestinations([]core.NetID{node(i)}, t0.Add(time.Duration(i)*time.Second))
	}
	late := core.NetIDFrom4([4]byte{10, 0, 1, 1}, 29999)
	s.ObserveDestinations([]core.NetID{late}, t0.Add(-time.Second)) // 40 s back
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if got, want := s.lastHeard(late), t0.Add(-time.Second); !got.Equal(want) {
		t.Errorf("recorded at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	s.ObserveDestinations([]core.NetID{core.NetIDFrom4([4]byte{10, 0, 1, 2}, 29999)}, t0.Add(40*time.Second))
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if s.find(late) != 0 || s.find(node(0)) == 0 || s.Stats().Evicted != 1 {
		t.Errorf("evicted %d; %s known %v, %s known %v", s.Stats().Evicted, late, s.find(late) != 0, node(0), s.find(node(0)) != 0)
	}
	// The next eviction takes the next oldest, from the candidates picked
	// for the first; a node heard of again at a time older than all of them
	// becomes a candidate, and the next to go.
	s.ObserveDestinations([]core.NetID{core.NetIDFrom4([4]byte{10, 0, 1, 3}, 29999)}, t0.Add(41*time.Second))
	if s.find(node(0)) != 0 || s.Stats().Evicted != 2 {
		t.Errorf("evicted %d; %s known %v", s.Stats().Evicted, node(0), s.find(node(0)) != 0)
	}
	s.ObserveDestinations([]core.NetID{late}, t0.Add(-time.Second))
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if s.find(late) != 0 || s.find(node(1)) == 0 || s.Stats().Evicted != 3 {
		t.Errorf("evicted %d; %s known %v, %s known %v", s.Stats().Evicted, late, s.find(late) != 0, node(1), s.find(node(1)) != 0)
	}
}

// TestInvariantsRandom drives a small store with seeded random observations,
// expiries and evictions, and checks its invariants after every step: among
// 40 nodes, among 250 (its private index is then compacted again and
// again), and among 250 with an index shared with another store.
func TestInvariantsRandom(t *testing.T) {
	for _, c := range []struct {
		pool   int
		shared bool
	}{{40, false}, {250, false}, {250, true}} {
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("%d/shared=%v/%d", c.pool, c.shared, seed), func(t *testing.T) {
				testInvariantsRandom(t, seed, c.pool, c.shared)
			})
		}
	}
}

// testInvariantsRandom is one run of TestInvariantsRandom: nodes drawn from
// the first pool addresses from 10.0.0.1 up.
func testInvariantsRandom(t *testing.T, seed uint64, pool int, shared bool) {
	rng := rand.New(rand.NewPCG(seed, 1))
	self := core.NetIDFrom4([4]byte{10, 0, 0, 7}, 29999)
	cfg := Config{Self: self, MaxAge: 20 * time.Second, MaxPeers: 25}
	if shared {
		cfg.Index = new(Index)
		// Another store has numbered every node already, in reverse.
		for i := pool; i > 0; i-- {
			cfg.Index.number(core.NetIDFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}, 29999))
		}
	}
	node := func() core.NetID {
		i := 1 + rng.IntN(pool)
		return core.NetIDFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}, 29999)
	}
	s := New(cfg)
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
}

// TestPrivateIndexCompacts runs 100000 distinct nodes through a store of at
// most 100 entries and checks that its private index, its slots and its
// slab stay bounded while it answers as it should.
func TestPrivateIndexCompacts(t *testing.T) {
	const maxPeers, batch = 100, 7
	s := New(Config{Self: core.NetIDFrom4([4]byte{10, 0, 0, 1}, 1), MaxAge: time.Hour, MaxPeers: maxPeers})
	now := time.Unix(1_700_000_000, 0)
	node := func(i int) core.NetID {
		return core.NetIDFrom4([4]byte{10, 1 + byte(i>>16), byte(i >> 8), byte(i)}, 29999)
	}
	compactions, numbers := 0, 0
	for i := 0; i < 100000; i += batch {
		now = now.Add(time.Millisecond)
		ids := make([]core.NetID, batch)
		for k := range ids {
			ids[k] = node(i + k)
		}
		// Hear of the first two again, and tie them to the newcomers, so
		// that sets form, survive compactions and dissolve.
		s.Observe(core.Observation{From: node(0), Via: core.ViaTCP, Now: now, Others: []core.NetID{node(1)}})
		s.Observe(core.Observation{From: node(1), Via: core.ViaTCP, Now: now, Seen: []core.SeenEntry{{Node: ids[0], Seq: 1}}, Groups: []core.Group{{Entry: node(0), Members: ids[1:3]}}})
		s.ObserveDestinations(ids, now)
		if n := s.index.Len(); n < numbers {
			compactions++
		}
		numbers = s.index.Len()
		// Compaction comes at the end of a call that leaves more than twice
		// as many numbers as entries; growing may double the entries' array.
		if limit := 2*maxPeers + batch + 3; numbers > limit || len(s.entries) != numbers+1 || cap(s.entries) > 2*limit {
			t.Fatalf("after %d nodes: %d numbers, %d entries (room for %d)", i+batch, numbers, len(s.entries), cap(s.entries))
		}
		if i%1000 == 0 {
			if err := s.check(); err != nil {
				t.Fatalf("after %d nodes: %v", i+batch, err)
			}
		}
	}
	if compactions < 100 {
		t.Errorf("%d compactions", compactions)
	}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	peers := s.Peers(now)
	if len(peers) != maxPeers || !slices.Contains(peers, node(0)) || !slices.Contains(peers, node(1)) {
		t.Errorf("Peers = %v", peers)
	}
	for _, p := range peers {
		if _, ok := s.Domain(p); !ok {
			t.Errorf("Domain(%s) unknown", p)
		}
	}
	if k, _ := s.Domain(node(1)); k != node(0) {
		t.Errorf("Domain(%s) = %s, want %s", node(1), k, node(0))
	}
}

// TestEntryLayout checks what the package documentation says of an entry:
// 24 bytes, and no pointer for the garbage collector to follow.
func TestEntryLayout(t *testing.T) {
	typ := reflect.TypeFor[entry]()
	if typ.Size() != 24 {
		t.Errorf("an entry takes %d bytes, want 24", typ.Size())
	}
	for f := range typ.Fields() {
		switch f.Type.Kind() {
		case reflect.Bool, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		default:
			t.Errorf("entry.%s is a %s: maybe a pointer", f.Name, f.Type)
		}
	}
}
