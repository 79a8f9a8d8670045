package codec

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
)

// A group as a test writes it: its entry and its members' table indexes,
// in the bitmap form of one run (the common case, which runGroups reads) or
// as references (which the reader reads).
type testGroup struct {
	entry   int
	members []int // ascending
	refs    bool
}

// gossipWithGroups returns the body bytes of a TCP gossip over tbl whose
// distribution list is groups, written as given, even when it breaks a rule,
// followed by an eight-byte payload.
func gossipWithGroups(tbl core.NetIDTable, groups []testGroup) []byte {
	p := AppendNetIDTable(nil, tbl)
	p = append(p, 0, 1, 0, 0) // origin 0, message 1, no seen list, no others
	p = binary.AppendUvarint(p, uint64(len(groups)))
	for _, g := range groups {
		p = binary.AppendUvarint(p, uint64(g.entry))
		switch {
		case len(g.members) == 0:
			p = append(p, 0)
		case g.refs:
			p = binary.AppendUvarint(p, uint64(2*len(g.members)))
			next := 0
			for _, m := range g.members {
				p = binary.AppendUvarint(p, uint64(m-next))
				next = m + 1
			}
		default: // a run from the first member to the last
			from, n := g.members[0], len(g.members)
			p = binary.AppendUvarint(p, uint64(2*n+1))
			p = binary.AppendUvarint(p, uint64(from))
			bm := make([]byte, (n+7)/8)
			setBits(bm, 0, n)
			p = append(p, bm...)
		}
	}
	p = append(p, 0)          // no payload NetIDs
	p = append(p, 0, 0, 0, 7) // type tag
	return append(p, "payload!"...)
}

// groupsTable returns the 80 NetIDs the distribution tests name, in order,
// and their table: two words of decodeDistribution's marks.
func groupsTable() ([]core.NetID, core.NetIDTable) {
	ids := make([]core.NetID, 80)
	for i := range ids {
		ids[i] = core.NetIDFrom4([4]byte{198, 18, 0, byte(10 + i)}, 29999)
	}
	return ids, core.NewNetIDTable(ids...)
}

// TestDecodeDistributionTwice checks the rule that no node appears twice in
// a distribution list, as an entry or a member, in either list form, and
// that the error names the node.
func TestDecodeDistributionTwice(t *testing.T) {
	ids, tbl := groupsTable()
	for _, tc := range []struct {
		name   string
		groups []testGroup
		twice  int // the node the error names, or -1 for a valid list
	}{
		{"runs", []testGroup{{1, seq(2, 11, 1), false}, {11, seq(12, 20, 1), false}}, -1},
		{"references", []testGroup{{1, []int{3, 5}, true}, {2, []int{4, 6}, true}}, -1},
		{"both forms", []testGroup{{1, seq(2, 11, 1), false}, {11, []int{12, 14}, true}, {13, seq(15, 20, 1), false}}, -1},
		{"run across a word", []testGroup{{1, seq(60, 70, 1), false}, {2, []int{70}, false}}, -1},
		{"empty members", []testGroup{{1, nil, false}, {2, seq(3, 9, 1), false}}, -1},
		{"run after a later run", []testGroup{{1, seq(30, 40, 1), false}, {2, seq(10, 20, 1), false}, {3, seq(20, 30, 1), false}}, -1},
		{"entry below an earlier run", []testGroup{{1, seq(30, 40, 1), false}, {20, seq(10, 20, 1), false}}, -1},
		{"entry twice", []testGroup{{1, seq(2, 11, 1), false}, {1, seq(12, 20, 1), false}}, 1},
		{"entry of an earlier member", []testGroup{{1, seq(2, 11, 1), false}, {5, seq(12, 20, 1), false}}, 5},
		{"member of an earlier run", []testGroup{{1, seq(2, 11, 1), false}, {11, seq(10, 14, 1), false}}, 10},
		{"member its own entry", []testGroup{{3, seq(2, 11, 1), false}}, 3},
		{"member of an earlier entry", []testGroup{{1, seq(2, 11, 1), false}, {20, seq(1, 1+1, 1), false}}, 1},
		{"run across a word, twice", []testGroup{{70, seq(60, 70, 1), false}, {1, seq(65, 72, 1), false}}, 65},
		{"reference of an earlier run", []testGroup{{1, seq(2, 11, 1), false}, {11, []int{4}, true}}, 4},
		{"run of an earlier reference", []testGroup{{1, []int{30, 40}, true}, {2, seq(38, 42, 1), false}}, 40},
		{"entry after references", []testGroup{{1, []int{30, 40}, true}, {40, seq(3, 9, 1), false}}, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Body
			err := decodeBody(KindGossip, gossipWithGroups(tbl, tc.groups), &b)
			if tc.twice < 0 {
				if err != nil {
					t.Fatal(err)
				}
				var want []core.Group
				for _, g := range tc.groups {
					var members []core.NetID
					for _, m := range g.members {
						members = append(members, ids[m])
					}
					want = append(want, core.Group{Entry: ids[g.entry], Members: members})
				}
				if diff := cmp.Diff(want, b.Gossip.Distribution, cmp.Comparer(func(a, b core.NetID) bool { return a == b })); diff != "" {
					t.Errorf("distribution (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), ids[tc.twice].String()+" twice") {
				t.Fatalf("decode: %v, want %v named twice", err, ids[tc.twice])
			}
			if len(b.Gossip.Distribution) != 0 {
				t.Errorf("a refused list left %d groups", len(b.Gossip.Distribution))
			}
		})
	}
}

// TestDecodeDistributionBounds checks that a group naming an entry past the
// table, or a run of members that passes its end, is refused with
// ErrTableRef, in the form runGroups reads and in the reader's.
func TestDecodeDistributionBounds(t *testing.T) {
	_, tbl := groupsTable()
	for _, tc := range []struct {
		name   string
		groups []testGroup
	}{
		{"entry past the table", []testGroup{{1, seq(2, 11, 1), false}, {80, seq(12, 20, 1), false}}},
		{"run past the table", []testGroup{{1, seq(2, 11, 1), false}, {11, seq(75, 85, 1), false}}},
		{"run from the last entry on", []testGroup{{1, seq(79, 81, 1), false}}},
		{"reference past the table", []testGroup{{1, seq(2, 11, 1), false}, {11, []int{12, 80}, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Body
			err := decodeBody(KindGossip, gossipWithGroups(tbl, tc.groups), &b)
			if !errors.Is(err, ErrTableRef) {
				t.Fatalf("decode: %v, want %v", err, ErrTableRef)
			}
			if len(b.Gossip.Distribution) != 0 {
				t.Errorf("a refused list left %d groups", len(b.Gossip.Distribution))
			}
		})
	}
}
