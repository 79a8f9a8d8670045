package peerstore

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
)

// TestIndexNumbers checks the index's hash table on populations of a few
// shapes: each NetID gets the next number when first asked about, keeps it
// as the table grows, and a NetID never numbered is not found.
func TestIndexNumbers(t *testing.T) {
	v4 := func(i int) core.NetID {
		return core.NetIDFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, 29999)
	}
	v6 := func(i int) core.NetID {
		a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}
		a[7] = byte(i >> 16)
		id, err := core.NetIDFrom(netip.AddrFrom16(a), 29999)
		if err != nil {
			panic(err)
		}
		return id
	}
	port := func(i int) core.NetID { return core.NetIDFrom4([4]byte{10, 0, 0, 1}, uint16(1+i)) }
	for _, tc := range []struct {
		name string
		id   func(i int) core.NetID
		n    int
	}{
		{"IPv4, consecutive addresses", v4, 5000},
		{"IPv6, consecutive addresses", v6, 5000},
		{"one address, many ports", port, 5000},
		{"both families", func(i int) core.NetID {
			if i%2 == 0 {
				return v4(i / 2)
			}
			return v6(i / 2)
		}, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var x Index
			want := make([]uint32, tc.n)
			got := make([]uint32, tc.n)
			for i := range tc.n {
				want[i] = uint32(i)
				got[i] = x.number(tc.id(i))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("numbers given (-want +got):\n%s", diff)
			}
			for i := range tc.n {
				num, ok := x.lookup(tc.id(i))
				if !ok {
					num = 1 << 31
				}
				got[i] = num
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("numbers found (-want +got):\n%s", diff)
			}
			for i := tc.n; i < tc.n+100; i++ {
				if num, ok := x.lookup(tc.id(i)); ok {
					t.Fatalf("lookup(%v) = %d for a NetID never numbered", tc.id(i), num)
				}
			}
			if tab := x.t.Load().tab; x.Len() != tc.n || 2*tc.n > len(tab) {
				t.Errorf("%d NetIDs in a table of %d slots, want %d in at least %d", x.Len(), len(tab), tc.n, 2*tc.n)
			}
		})
	}
}

// TestIndexNumber checks that Number gives the NetIDs it is passed the next
// numbers, in order, skipping those numbered already and invalid ones.
func TestIndexNumber(t *testing.T) {
	id := func(i int) core.NetID { return core.NetIDFrom4([4]byte{198, 18, 0, byte(i)}, 29999) }
	var x Index
	x.number(id(5))
	x.Number(id(1), id(2), core.NetID{}, id(5), id(3), id(2))
	want := map[core.NetID]uint32{id(5): 0, id(1): 1, id(2): 2, id(3): 3}
	for nid, num := range want {
		if got, ok := x.lookup(nid); !ok || got != num {
			t.Errorf("%v: number %d (found %v), want %d", nid, got, ok, num)
		}
	}
	if got := x.Len(); got != len(want) {
		t.Errorf("Len = %d, want %d", got, len(want))
	}
}

// TestSharedIndexSizesOnce checks that a store whose shared index was
// numbered up front sizes its entries once, for the whole population, at
// its first entry.
func TestSharedIndexSizesOnce(t *testing.T) {
	id := func(i int) core.NetID { return core.NetIDFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}, 29999) }
	var x Index
	for i := range 1000 {
		x.Number(id(i))
	}
	s := New(Config{Self: id(0), Index: &x})
	s.ObserveDestinations([]core.NetID{id(1)}, time.Unix(1, 0))
	grown := cap(s.entries)
	if grown < 1001 {
		t.Fatalf("entries cover %d numbers after the first entry, want the index's 1000 and the unused 0", grown)
	}
	for i := 2; i < 1000; i++ {
		s.ObserveDestinations([]core.NetID{id(i)}, time.Unix(1, int64(i)))
	}
	if cap(s.entries) != grown {
		t.Errorf("entries grew again, %d → %d", grown, cap(s.entries))
	}
	if got := len(s.Peers(time.Unix(2, 0))); got != 999 {
		t.Errorf("Peers: %d, want 999", got)
	}
}
