package core_test

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/mock/gomock"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/internal/mocks"
)

// nid returns the test node i (i >= 1): 10.x.y.z:7000 with x.y.z = i.
func nid(i int) core.NetID {
	return core.NetIDFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, 7000)
}

// nids returns nid(i) for each i.
func nids(is ...int) []core.NetID {
	out := make([]core.NetID, len(is))
	for k, i := range is {
		out[k] = nid(i)
	}
	return out
}

// grp returns the group entered by nid(entry) with members nid(members...).
func grp(entry int, members ...int) core.Group {
	g := core.Group{Entry: nid(entry)}
	if len(members) > 0 {
		g.Members = nids(members...)
	}
	return g
}

// planOpts compares plans: NetIDs by value, nil and empty slices alike.
var planOpts = cmp.Options{
	cmp.Comparer(func(a, b core.NetID) bool { return a == b }),
	cmpopts.EquateEmpty(),
}

// seeded returns a reproducible random source for seed.
func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xc4a77e2)) }

// --- SplitLog, SendFor -----------------------------------------------------

func TestSplitLogSizes(t *testing.T) {
	// Chunk sizes for 1..9 groups: ceil(n/2), then ceil(half) of the rest.
	want := map[int][]int{
		1: {1},
		2: {1, 1},
		3: {2, 1},
		4: {2, 1, 1},
		5: {3, 1, 1},
		6: {3, 2, 1},
		7: {4, 2, 1},
		8: {4, 2, 1, 1},
		9: {5, 2, 1, 1},
	}
	for n := 1; n <= 9; n++ {
		groups := make([]core.Group, n)
		for i := range groups {
			groups[i] = grp(i + 1)
		}
		var got []int
		for _, s := range core.SplitLog(groups) {
			got = append(got, len(s.Chunk))
		}
		if diff := cmp.Diff(want[n], got); diff != "" {
			t.Errorf("SplitLog(%d groups) chunk sizes (-want +got):\n%s", n, diff)
		}
	}
	if got := core.SplitLog(nil); len(got) != 0 {
		t.Errorf("SplitLog(nil) = %v, want no send", got)
	}
}

func TestSplitLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups []core.Group
		want   []core.Send
	}{
		{
			name:   "one singleton",
			groups: []core.Group{grp(1)},
			want:   []core.Send{{To: nid(1), List: nil, Chunk: []core.Group{grp(1)}}},
		},
		{
			name:   "one group with members: the target gets its own group",
			groups: []core.Group{grp(1, 2, 3)},
			want:   []core.Send{{To: nid(1), List: []core.Group{grp(1, 2, 3)}, Chunk: []core.Group{grp(1, 2, 3)}}},
		},
		{
			name:   "two singletons",
			groups: []core.Group{grp(1), grp(2)},
			want: []core.Send{
				{To: nid(1), Chunk: []core.Group{grp(1)}},
				{To: nid(2), Chunk: []core.Group{grp(2)}},
			},
		},
		{
			name:   "three mixed",
			groups: []core.Group{grp(1), grp(2, 3), grp(4, 5)},
			want: []core.Send{
				{To: nid(1), List: []core.Group{grp(2, 3)}, Chunk: []core.Group{grp(1), grp(2, 3)}},
				{To: nid(4), List: []core.Group{grp(4, 5)}, Chunk: []core.Group{grp(4, 5)}},
			},
		},
		{
			name:   "six singletons",
			groups: []core.Group{grp(1), grp(2), grp(3), grp(4), grp(5), grp(6)},
			want: []core.Send{
				{To: nid(1), List: []core.Group{grp(2), grp(3)}, Chunk: []core.Group{grp(1), grp(2), grp(3)}},
				{To: nid(4), List: []core.Group{grp(5)}, Chunk: []core.Group{grp(4), grp(5)}},
				{To: nid(6), Chunk: []core.Group{grp(6)}},
			},
		},
		{
			name: "nine groups",
			groups: []core.Group{grp(1, 11), grp(2), grp(3, 31, 32), grp(4), grp(5),
				grp(6, 61), grp(7), grp(8, 81), grp(9)},
			want: []core.Send{
				{To: nid(1), List: []core.Group{grp(1, 11), grp(2), grp(3, 31, 32), grp(4), grp(5)},
					Chunk: []core.Group{grp(1, 11), grp(2), grp(3, 31, 32), grp(4), grp(5)}},
				{To: nid(6), List: []core.Group{grp(6, 61), grp(7)}, Chunk: []core.Group{grp(6, 61), grp(7)}},
				{To: nid(8), List: []core.Group{grp(8, 81)}, Chunk: []core.Group{grp(8, 81)}},
				{To: nid(9), Chunk: []core.Group{grp(9)}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.groups)
			got := core.SplitLog(in)
			if diff := cmp.Diff(tc.want, got, planOpts); diff != "" {
				t.Errorf("SplitLog (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.groups, in, planOpts); diff != "" {
				t.Errorf("SplitLog changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestSendFor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chunk []core.Group
		want  core.Send
	}{
		{"singleton alone", []core.Group{grp(1)}, core.Send{To: nid(1), Chunk: []core.Group{grp(1)}}},
		{"own group with members first", []core.Group{grp(1, 2), grp(3)},
			core.Send{To: nid(1), List: []core.Group{grp(1, 2), grp(3)}, Chunk: []core.Group{grp(1, 2), grp(3)}}},
		{"memberless first group left out of the list", []core.Group{grp(1), grp(2, 3), grp(4)},
			core.Send{To: nid(1), List: []core.Group{grp(2, 3), grp(4)}, Chunk: []core.Group{grp(1), grp(2, 3), grp(4)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, core.SendFor(tc.chunk), planOpts); diff != "" {
				t.Errorf("SendFor (-want +got):\n%s", diff)
			}
		})
	}
}

// --- NextInChunk -------------------------------------------------------------

func TestNextInChunk(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunk  []core.Group
		want   []core.Group
		wantOK bool
	}{
		{"member promoted", []core.Group{grp(1, 2, 3), grp(4)}, []core.Group{grp(2, 3), grp(4)}, true},
		{"last member promoted", []core.Group{grp(1, 2)}, []core.Group{grp(2)}, true},
		{"next group takes over", []core.Group{grp(1), grp(4, 5), grp(6)}, []core.Group{grp(4, 5), grp(6)}, true},
		{"nothing left", []core.Group{grp(1)}, nil, false},
		{"empty chunk", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := cloneGroups(tc.chunk)
			got, ok := core.NextInChunk(tc.chunk)
			if ok != tc.wantOK {
				t.Errorf("NextInChunk ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got, planOpts); diff != "" {
				t.Errorf("NextInChunk (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.chunk, planOpts); diff != "" {
				t.Errorf("NextInChunk changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

func cloneGroups(gs []core.Group) []core.Group {
	if gs == nil {
		return nil
	}
	out := make([]core.Group, len(gs))
	for i, g := range gs {
		out[i] = core.Group{Entry: g.Entry, Members: slices.Clone(g.Members)}
	}
	return out
}

// --- GroupBy -----------------------------------------------------------------

// domainKeys is a key function over a fixed map: nodes not in it have no
// known domain.
func domainKeys(m map[core.NetID]core.NetID) func(core.NetID) (core.NetID, bool) {
	return func(id core.NetID) (core.NetID, bool) {
		k, ok := m[id]
		return k, ok
	}
}

// groupByInput: 1,3,5,7 in domain A; 2,6 in B; 4 unknown; 8 alone in C;
// 9 unknown.
func groupByInput() ([]core.NetID, func(core.NetID) (core.NetID, bool)) {
	a, b, c := nid(101), nid(102), nid(103)
	keys := map[core.NetID]core.NetID{
		nid(1): a, nid(3): a, nid(5): a, nid(7): a,
		nid(2): b, nid(6): b,
		nid(8): c,
	}
	return nids(1, 2, 3, 4, 5, 6, 7, 8, 9), domainKeys(keys)
}

func TestGroupByDraws(t *testing.T) {
	// The entry of each group with members is drawn with one IntN over
	// all its nodes, in group order: j < len(members) swaps the first
	// node with member j, j == len(members) keeps it.
	ctrl := gomock.NewController(t)
	r := mocks.NewMockRand(ctrl)
	gomock.InOrder(
		r.EXPECT().IntN(4).Return(2), // A: {1; 3 5 7} → entry 7, 1 takes its place
		r.EXPECT().IntN(2).Return(1), // B: {2; 6} keeps 2
	)
	ids, key := groupByInput()
	got := core.GroupBy(r, ids, key)
	want := []core.Group{grp(7, 3, 5, 1), grp(2, 6), grp(4), grp(8), grp(9)}
	if diff := cmp.Diff(want, got, planOpts); diff != "" {
		t.Errorf("GroupBy (-want +got):\n%s", diff)
	}
}

func TestGroupBySeeded(t *testing.T) {
	ids, key := groupByInput()
	// Pinned for seed 1, whose draws are IntN(4) = 1 (A's entry is
	// member 1, node 5) and IntN(2) = 0 (B's entry is node 6). A change
	// here changes every seeded run.
	want := []core.Group{grp(5, 3, 1, 7), grp(6, 2), grp(4), grp(8), grp(9)}
	got := core.GroupBy(seeded(1), ids, key)
	if diff := cmp.Diff(want, got, planOpts); diff != "" {
		t.Errorf("GroupBy seed 1 (-want +got):\n%s", diff)
	}
	// The same seed gives the same groups.
	if diff := cmp.Diff(got, core.GroupBy(seeded(1), ids, key), planOpts); diff != "" {
		t.Errorf("GroupBy is not deterministic (-first +second):\n%s", diff)
	}
}

func TestGroupByProperties(t *testing.T) {
	for seed := range uint64(500) {
		r := seeded(seed)
		n := 1 + r.IntN(60)
		ids := make([]core.NetID, n)
		keys := make(map[core.NetID]core.NetID)
		for i := range ids {
			ids[i] = nid(i + 1)
			if d := r.IntN(6); d > 0 { // 0: unknown domain
				keys[ids[i]] = nid(1000 + d)
			}
		}
		r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		groups := core.GroupBy(r, ids, domainKeys(keys))

		// Oracle: order of first appearance of each key, unknown alone.
		var wantKeys []string
		seenKey := map[core.NetID]bool{}
		for _, id := range ids {
			k, ok := keys[id]
			switch {
			case !ok:
				wantKeys = append(wantKeys, "alone:"+id.String())
			case !seenKey[k]:
				seenKey[k] = true
				wantKeys = append(wantKeys, k.String())
			}
		}
		var gotKeys []string
		for _, g := range groups {
			k, ok := keys[g.Entry]
			if !ok {
				gotKeys = append(gotKeys, "alone:"+g.Entry.String())
				if len(g.Members) > 0 {
					t.Fatalf("seed %d: node %s of no known domain has members %v", seed, g.Entry, g.Members)
				}
				continue
			}
			gotKeys = append(gotKeys, k.String())
			for _, m := range g.Members {
				if mk, ok := keys[m]; !ok || mk != k {
					t.Fatalf("seed %d: group %s mixes domains", seed, g.Entry)
				}
			}
		}
		if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
			t.Fatalf("seed %d: group order (-want +got):\n%s", seed, diff)
		}
		got := core.Flatten(groups)
		slices.SortFunc(got, core.NetID.Compare)
		want := slices.Clone(ids)
		slices.SortFunc(want, core.NetID.Compare)
		if diff := cmp.Diff(want, got, planOpts); diff != "" {
			t.Fatalf("seed %d: GroupBy lost or added nodes (-want +got):\n%s", seed, diff)
		}
	}
}

func TestGroupByEntryUniform(t *testing.T) {
	// Every node of a group is its entry about equally often.
	ids := nids(1, 2, 3, 4)
	key := func(core.NetID) (core.NetID, bool) { return nid(100), true }
	count := map[core.NetID]int{}
	const runs = 4000
	r := seeded(1)
	for range runs {
		count[core.GroupBy(r, ids, key)[0].Entry]++
	}
	for _, id := range ids {
		if c := count[id]; c < runs/4*8/10 || c > runs/4*12/10 {
			t.Errorf("%s was the entry %d times of %d, want about %d", id, c, runs, runs/4)
		}
	}
}

// --- Shuffle, Singletons, Flatten -------------------------------------------

func TestShuffle(t *testing.T) {
	in := nids(1, 2, 3, 4, 5, 6, 7, 8)

	a := slices.Clone(in)
	core.Shuffle(seeded(42), a)
	b := slices.Clone(in)
	core.Shuffle(seeded(42), b)
	if diff := cmp.Diff(a, b, planOpts); diff != "" {
		t.Errorf("Shuffle with one seed gave two orders (-first +second):\n%s", diff)
	}
	// Pinned for seed 42.
	if diff := cmp.Diff(nids(2, 7, 6, 5, 1, 8, 3, 4), a, planOpts); diff != "" {
		t.Errorf("Shuffle seed 42 (-want +got):\n%s", diff)
	}
	sorted := slices.Clone(a)
	slices.SortFunc(sorted, core.NetID.Compare)
	if diff := cmp.Diff(in, sorted, planOpts); diff != "" {
		t.Errorf("Shuffle is not a permutation (-want +got):\n%s", diff)
	}

	// Fisher–Yates draws IntN(i+1) for i = n-1 down to 1.
	ctrl := gomock.NewController(t)
	r := mocks.NewMockRand(ctrl)
	gomock.InOrder(r.EXPECT().IntN(4).Return(0), r.EXPECT().IntN(3).Return(0), r.EXPECT().IntN(2).Return(0))
	c := nids(1, 2, 3, 4)
	core.Shuffle(r, c)
	if diff := cmp.Diff(nids(2, 3, 4, 1), c, planOpts); diff != "" {
		t.Errorf("Shuffle with draws 0,0,0 (-want +got):\n%s", diff)
	}

	core.Shuffle(r, []core.NetID{nid(1)}) // no draw for one element
	core.Shuffle[core.NetID](r, nil)
}

func TestShuffleUniform(t *testing.T) {
	// Each of the 6 orders of 3 elements comes out about equally often.
	count := map[string]int{}
	const runs = 6000
	r := seeded(3)
	for range runs {
		s := []int{1, 2, 3}
		core.Shuffle(r, s)
		count[fmt.Sprint(s)]++
	}
	if len(count) != 6 {
		t.Fatalf("Shuffle gave %d distinct orders of 3, want 6: %v", len(count), count)
	}
	for k, c := range count {
		if c < 800 || c > 1200 {
			t.Errorf("order %s came out %d times of %d, want about 1000", k, c, runs)
		}
	}
}

func TestSingletons(t *testing.T) {
	if diff := cmp.Diff([]core.Group{grp(1), grp(2), grp(3)}, core.Singletons(nids(1, 2, 3)), planOpts); diff != "" {
		t.Errorf("Singletons (-want +got):\n%s", diff)
	}
	if got := core.Singletons(nil); len(got) != 0 {
		t.Errorf("Singletons(nil) = %v", got)
	}
}

func TestFlatten(t *testing.T) {
	for _, tc := range []struct {
		in   []core.Group
		want []core.NetID
	}{
		{nil, nil},
		{[]core.Group{grp(1)}, nids(1)},
		{[]core.Group{grp(1, 2, 3), grp(4), grp(5, 6)}, nids(1, 2, 3, 4, 5, 6)},
	} {
		if diff := cmp.Diff(tc.want, core.Flatten(tc.in), planOpts); diff != "" {
			t.Errorf("Flatten(%v) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// --- properties over seeded random plans -------------------------------------

// randomGroups returns up to maxGroups groups of up to maxMembers members,
// every node distinct, numbered from base.
func randomGroups(r *rand.Rand, base, maxGroups, maxMembers int) []core.Group {
	n := 1 + r.IntN(maxGroups)
	groups := make([]core.Group, n)
	next := base
	for i := range groups {
		groups[i].Entry = nid(next)
		next++
		for range r.IntN(maxMembers + 1) {
			groups[i].Members = append(groups[i].Members, nid(next))
			next++
		}
	}
	return groups
}

// naiveSplit is the oracle for SplitLog: chunk sizes from floating point,
// lists built node by node.
func naiveSplit(groups []core.Group) []core.Send {
	var sends []core.Send
	for start := 0; start < len(groups); {
		size := int(math.Ceil(float64(len(groups)-start) / 2))
		chunk := groups[start : start+size]
		start += size
		s := core.Send{To: chunk[0].Entry, Chunk: chunk}
		for i, g := range chunk {
			if i == 0 && len(g.Members) == 0 {
				continue // the target needs no group of its own
			}
			s.List = append(s.List, g)
		}
		sends = append(sends, s)
	}
	return sends
}

// equalGroups is cmp.Equal(a, b, planOpts), fast enough for many seeds.
func equalGroups(a, b []core.Group) bool {
	return slices.EqualFunc(a, b, func(x, y core.Group) bool {
		return x.Entry == y.Entry && slices.Equal(x.Members, y.Members)
	})
}

// equalSends is cmp.Equal(a, b, planOpts), fast enough for many seeds.
func equalSends(a, b []core.Send) bool {
	return slices.EqualFunc(a, b, func(x, y core.Send) bool {
		return x.To == y.To && equalGroups(x.List, y.List) && equalGroups(x.Chunk, y.Chunk)
	})
}

// ceilLog2 returns ceil(log2 n) for n >= 1.
func ceilLog2(n int) int { return bits.Len(uint(n - 1)) }

// hops walks a plan as the network would: each target re-splits the groups
// of its list other than its own, and its own group's members are reached
// by its multicast one hop later. It returns the hop at which each node is
// first reached, and counts how many times each is reached.
func hops(groups []core.Group, reached map[core.NetID]int, times map[core.NetID]int) {
	var walk func(groups []core.Group, hop int)
	walk = func(groups []core.Group, hop int) {
		for _, s := range core.SplitLog(groups) {
			reached[s.To] = max(reached[s.To], hop)
			times[s.To]++
			var rest []core.Group
			for _, g := range s.List {
				if g.Entry == s.To {
					for _, m := range g.Members { // by the target's multicast
						reached[m] = max(reached[m], hop+1)
						times[m]++
					}
					continue
				}
				rest = append(rest, g)
			}
			walk(rest, hop+1)
		}
	}
	walk(groups, 1)
}

func TestPlanProperties(t *testing.T) {
	const seeds = 2000
	for seed := range uint64(seeds) {
		r := seeded(seed)
		groups := randomGroups(r, 1, 64, 20)
		input := cloneGroups(groups)
		all := core.Flatten(groups)

		sends := core.SplitLog(groups)

		if want := naiveSplit(input); !equalSends(want, sends) {
			t.Fatalf("seed %d: SplitLog differs from the naive oracle (-oracle +got):\n%s", seed, cmp.Diff(want, sends, planOpts))
		}

		// Every destination is covered exactly once across the chunks,
		// and each send's target and list name exactly its chunk.
		covered := map[core.NetID]int{}
		rest := len(groups)
		prev := math.MaxInt
		for i, s := range sends {
			for _, id := range core.Flatten(s.Chunk) {
				covered[id]++
			}
			if want := (rest + 1) / 2; len(s.Chunk) != want {
				t.Fatalf("seed %d: send %d has %d groups of %d left, want %d", seed, i, len(s.Chunk), rest, want)
			}
			if len(s.Chunk) > prev {
				t.Fatalf("seed %d: chunk %d grows: %d after %d", seed, i, len(s.Chunk), prev)
			}
			prev = len(s.Chunk)
			rest -= len(s.Chunk)
			named := append([]core.NetID{s.To}, core.Flatten(s.List)...)
			named = slices.Compact(named) // the target heads its own group
			if want := core.Flatten(s.Chunk); !slices.Equal(want, named) {
				t.Fatalf("seed %d: send %d names other nodes than its chunk (-chunk +named):\n%s", seed, i, cmp.Diff(want, named, planOpts))
			}
		}
		for _, id := range all {
			if covered[id] != 1 {
				t.Fatalf("seed %d: %s covered %d times, want 1", seed, id, covered[id])
			}
		}
		if len(covered) != len(all) {
			t.Fatalf("seed %d: chunks cover %d nodes, the groups hold %d", seed, len(covered), len(all))
		}

		// Depth: every node reached once, entries within floor(log2(G+1))
		// hops, members one hop later. Counting the origin's own domain
		// (reached by its multicast at hop 1), that is S = G+1 multicast
		// groups and 1 + ceil(log2 S) hops.
		reached, times := map[core.NetID]int{}, map[core.NetID]int{}
		hops(input, reached, times)
		depth, entryDepth := 0, 0
		entries := map[core.NetID]bool{}
		for _, g := range input {
			entries[g.Entry] = true
		}
		for _, id := range all {
			if times[id] != 1 {
				t.Fatalf("seed %d: %s reached %d times in the recursive plan, want 1", seed, id, times[id])
			}
			depth = max(depth, reached[id])
			if entries[id] {
				entryDepth = max(entryDepth, reached[id])
			}
		}
		g := len(input)
		if want := bits.Len(uint(g+1)) - 1; entryDepth != want {
			t.Fatalf("seed %d: %d groups: entries reached in %d hops, want floor(log2(G+1)) = %d", seed, g, entryDepth, want)
		}
		if bound := 1 + ceilLog2(g+1); depth > bound {
			t.Fatalf("seed %d: %d groups: depth %d > 1 + ceil(log2(G+1)) = %d", seed, g, depth, bound)
		}
		if bound := 1 + ceilLog2(g); g >= 2 && depth > bound {
			t.Fatalf("seed %d: %d groups: depth %d > 1 + ceil(log2 G) = %d", seed, g, depth, bound)
		}

		// No chunk lost when targets fail: replacing the target again
		// and again visits every node of the chunk exactly once, in
		// order, and each replacement's send names what is left.
		for i, s := range sends {
			var visited []core.NetID
			chunk := s.Chunk
			for ok := true; ok; chunk, ok = core.NextInChunk(chunk) {
				next := core.SendFor(chunk)
				visited = append(visited, next.To)
				if seed >= 200 {
					continue // quadratic: checked on the first seeds only
				}
				left := slices.Compact(append([]core.NetID{next.To}, core.Flatten(next.List)...))
				if want := core.Flatten(chunk); !slices.Equal(want, left) {
					t.Fatalf("seed %d: send %d after %d failovers names other nodes than its chunk (-chunk +named):\n%s",
						seed, i, len(visited)-1, cmp.Diff(want, left, planOpts))
				}
			}
			if want := core.Flatten(s.Chunk); !slices.Equal(want, visited) {
				t.Fatalf("seed %d: failovers of send %d (-chunk +visited):\n%s", seed, i, cmp.Diff(want, visited, planOpts))
			}
		}
		if !equalGroups(input, groups) {
			t.Fatalf("seed %d: planning changed the groups (-before +after):\n%s", seed, cmp.Diff(input, groups, planOpts))
		}
	}
}

func TestPlanDepthOneGroup(t *testing.T) {
	// The bound counts the origin's own domain among the groups: one
	// remote group with members takes two hops (its entry by TCP, its
	// members by the entry's multicast), which is 1 + ceil(log2 2).
	reached, times := map[core.NetID]int{}, map[core.NetID]int{}
	hops([]core.Group{grp(1, 2, 3)}, reached, times)
	want := map[core.NetID]int{nid(1): 1, nid(2): 2, nid(3): 2}
	if diff := cmp.Diff(want, reached, planOpts); diff != "" {
		t.Errorf("hops (-want +got):\n%s", diff)
	}
}

// --- PlaceLone ----------------------------------------------------------------

func TestPlaceLone(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want []core.Group
	}{
		{"nothing", nil, nil},
		{"no lone group: unchanged", []core.Group{grp(1, 2), grp(3, 4)}, []core.Group{grp(1, 2), grp(3, 4)}},
		// Three slots: 0 heads a chunk of two, 1 is its leaf at hop 2,
		// 2 a leaf at hop 1.
		{"lone into the deepest leaf", []core.Group{grp(9), grp(1, 2), grp(3, 4)}, []core.Group{grp(1, 2), grp(9), grp(3, 4)}},
		{"two lone: deepest, then last", []core.Group{grp(8), grp(9), grp(1, 2)}, []core.Group{grp(1, 2), grp(8), grp(9)}},
		// Six slots: leaves 4, 2, 1 at hop 2 (last first) and 5 at hop
		// 1; then the heads 3 and 0.
		{"all lone: a permutation", []core.Group{grp(1), grp(2), grp(3), grp(4), grp(5), grp(6)},
			[]core.Group{grp(6), grp(3), grp(2), grp(5), grp(1), grp(4)}},
		// Fifteen domains and a safety net: the one slot at hop 4
		// (index 3) takes the safety net.
		{"fifteen groups and a safety net", append([]core.Group{grp(99)}, bigGroups(15)...),
			slices.Concat(bigGroups(15)[:3], []core.Group{grp(99)}, bigGroups(15)[3:])},
	} {
		got := slices.Clone(tc.in)
		core.PlaceLone(got)
		if diff := cmp.Diff(tc.want, got, planOpts); diff != "" {
			t.Errorf("%s: PlaceLone (-want +got):\n%s", tc.name, diff)
		}
	}
}

// bigGroups returns n groups of three nodes, entries 100, 200, ...
func bigGroups(n int) []core.Group {
	groups := make([]core.Group, n)
	for i := range groups {
		e := 100 * (i + 1)
		groups[i] = grp(e, e+1, e+2)
	}
	return groups
}

// lastHop walks a plan as the network would, each target re-planning what
// it is handed (re-placed with PlaceLone when place is set), and returns
// the hop of the last delivery: an entry's arrival, or its multicast one
// hop later when its group has members.
func lastHop(groups []core.Group, place bool) int {
	last := 0
	var walk func(groups []core.Group, hop int)
	walk = func(groups []core.Group, hop int) {
		groups = slices.Clone(groups)
		if place {
			core.PlaceLone(groups)
		}
		for _, s := range core.SplitLog(groups) {
			last = max(last, hop)
			if len(s.Chunk[0].Members) > 0 {
				last = max(last, hop+1)
			}
			walk(s.Chunk[1:], hop+1)
		}
	}
	walk(groups, 1)
	return last
}

func TestPlaceLoneProperties(t *testing.T) {
	gained := 0
	for seed := range uint64(3000) {
		r := seeded(seed)
		groups := randomGroups(r, 1, 70, 3)
		// A few groups lose their members: safety nets, nodes of no
		// known domain.
		for i := range groups {
			if r.IntN(4) == 0 {
				groups[i].Members = nil
			}
		}
		core.Shuffle(r, groups)
		placed := slices.Clone(groups)
		core.PlaceLone(placed)

		// A permutation that keeps the order of the groups with members.
		byEntry := func(a, b core.Group) int { return a.Entry.Compare(b.Entry) }
		if !equalGroups(slices.SortedFunc(slices.Values(groups), byEntry), slices.SortedFunc(slices.Values(placed), byEntry)) {
			t.Fatalf("seed %d: PlaceLone is not a permutation:\n%v\n%v", seed, groups, placed)
		}
		withMembers := func(gs []core.Group) []core.Group {
			return slices.DeleteFunc(slices.Clone(gs), func(g core.Group) bool { return len(g.Members) == 0 })
		}
		if !equalGroups(withMembers(groups), withMembers(placed)) {
			t.Fatalf("seed %d: the groups with members changed order:\n%v\n%v", seed, groups, placed)
		}
		// Never deeper than the plan without placing, and never beyond
		// the bound of 1 + ceil(log2 S), S counting the sender's domain.
		plain, deep := lastHop(groups, false), lastHop(groups, true)
		if deep > plain {
			t.Fatalf("seed %d: placed plan ends at hop %d, unplaced at %d:\n%v", seed, deep, plain, groups)
		}
		if bound := 1 + ceilLog2(len(groups)+1); deep > bound {
			t.Fatalf("seed %d: %d groups end at hop %d > %d", seed, len(groups), deep, bound)
		}
		if deep < plain {
			gained++
		}
		// The first lone group (a safety net) is never the head of a
		// chunk of more than one group: its target is sent no list.
		if lone := firstLone(groups); lone.IsValid() {
			for _, s := range core.SplitLog(placed) {
				if s.To == lone && len(s.Chunk) > 1 {
					t.Fatalf("seed %d: the first lone group %s heads a chunk of %d", seed, lone, len(s.Chunk))
				}
			}
		}
	}
	if gained == 0 {
		t.Error("placing lone groups never shortened a plan")
	}
	t.Logf("placing shortened %d of 3000 plans by a hop", gained)
}

// firstLone returns the entry of the first group without members.
func firstLone(groups []core.Group) core.NetID {
	for _, g := range groups {
		if len(g.Members) == 0 {
			return g.Entry
		}
	}
	return core.NetID{}
}

func TestPlaceLoneSafetyNetSavesAHop(t *testing.T) {
	// The warm case of 1024 nodes in 16 subnets: 15 remote domains and the
	// origin's safety net. Unplaced, the one slot at hop 4 holds a domain
	// and its multicast ends the broadcast at hop 5; placed, it holds the
	// safety net and every domain is reached by hop 4.
	groups := append([]core.Group{grp(99)}, bigGroups(15)...)
	if got := lastHop(groups, false); got != 5 {
		t.Errorf("unplaced: last hop %d, want 5", got)
	}
	if got := lastHop(groups, true); got != 4 {
		t.Errorf("placed: last hop %d, want 4", got)
	}
}
