package peerstore

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
)

// TestSortNetIDs checks sortNetIDs against slices.SortFunc with
// core.NetID.Compare, for IPv4 lists (sorted as numbers) and lists with
// IPv6 NetIDs among them (sorted the general way), with repeated addresses
// and ports.
func TestSortNetIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var keys []uint64
	for n := range 200 {
		ids := make([]core.NetID, n%70)
		for i := range ids {
			a := [4]byte{198, 18, byte(r.IntN(3)), byte(1 + r.IntN(254))}
			ids[i] = core.NetIDFrom4(a, uint16(1+r.IntN(3)))
			if n%5 == 0 && r.IntN(8) == 0 {
				v6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(256))})
				var err error
				if ids[i], err = core.NetIDFrom(v6, uint16(1+r.IntN(3))); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := slices.Clone(ids)
		slices.SortFunc(want, core.NetID.Compare)
		keys = sortNetIDs(ids, keys)
		if diff := cmp.Diff(want, ids, cmp.Comparer(func(a, b core.NetID) bool { return a == b })); diff != "" {
			t.Fatalf("list %d (-want +got):\n%s", n, diff)
		}
	}
}
