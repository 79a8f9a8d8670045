package core_test

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/chatter-go/chatter/core"
)

// randomIDs returns n random NetIDs from a small space, IPv4 and IPv6, so
// that tables have neighbours, shared addresses and duplicates.
func randomIDs(r *rand.Rand, n int) []core.NetID {
	ids := make([]core.NetID, n)
	for i := range ids {
		var a netip.Addr
		if r.IntN(4) == 0 {
			var b [16]byte
			b[0], b[1], b[15] = 0x20, 0x01, byte(1+r.IntN(4))
			a = netip.AddrFrom16(b)
		} else {
			a = netip.AddrFrom4([4]byte{198, 18, byte(r.IntN(3)), byte(1 + r.IntN(40))})
		}
		id, err := core.NetIDFrom(a, uint16(1+r.IntN(3)))
		if err != nil {
			panic(err)
		}
		ids[i] = id
	}
	return ids
}

// TestNetIDTableIndex checks Index and IndexNear, from every guess, against
// a linear search, for NetIDs in and out of random tables.
func TestNetIDTableIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		tbl := core.NewNetIDTable(randomIDs(r, r.IntN(40))...)
		ids := tbl.IDs()
		for _, id := range randomIDs(r, 20) {
			want := len(ids) // the position of the first entry not below id
			for i, x := range ids {
				if x.Compare(id) >= 0 {
					want = i
					break
				}
			}
			wantOK := want < len(ids) && ids[want] == id
			if got, ok := tbl.Index(id); got != want || ok != wantOK {
				t.Fatalf("%v.Index(%s) = %d, %v; want %d, %v", ids, id, got, ok, want, wantOK)
			}
			for guess := -2; guess <= len(ids)+1; guess++ {
				got, ok := tbl.IndexNear(id, guess)
				if ok != wantOK || ok && got != want {
					t.Fatalf("%v.IndexNear(%s, %d) = %d, %v; want %d, %v", ids, id, guess, got, ok, want, wantOK)
				}
			}
		}
	}
}

// TestNetIDTableFromSortedRandom checks NetIDTableFromSorted against the
// rule it enforces, on sorted tables with one change: two entries swapped,
// one repeated, or one made invalid; first or last in their family, or not.
func TestNetIDTableFromSortedRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		ids := core.NewNetIDTable(randomIDs(r, r.IntN(30))...).IDs()
		if len(ids) > 0 {
			i, j := r.IntN(len(ids)), r.IntN(len(ids))
			switch r.IntN(4) {
			case 0:
				ids[i], ids[j] = ids[j], ids[i]
			case 1:
				ids[i] = ids[j]
			case 2:
				ids[i] = core.NetID{}
			}
		}
		want := true
		for i, id := range ids {
			if !id.IsValid() || i > 0 && ids[i-1].Compare(id) >= 0 {
				want = false
			}
		}
		tbl, err := core.NetIDTableFromSorted(ids)
		if (err == nil) != want {
			t.Fatalf("NetIDTableFromSorted(%v): %v, want ok %v", ids, err, want)
		}
		if err != nil && !errors.Is(err, core.ErrTableOrder) {
			t.Fatalf("error %v does not match ErrTableOrder", err)
		}
		if err == nil && !slices.Equal(tbl.IDs(), ids) {
			t.Fatalf("table %v, want %v", tbl.IDs(), ids)
		}
	}
}

func TestNetIDAs4(t *testing.T) {
	for _, tc := range []struct {
		id   core.NetID
		want [4]byte
		ok   bool
	}{
		{core.MustParseNetID("198.18.0.1:29999"), [4]byte{198, 18, 0, 1}, true},
		{core.MustParseNetID("[::ffff:10.0.0.255]:1"), [4]byte{10, 0, 0, 255}, true},
		{core.MustParseNetID("255.255.255.255:65535"), [4]byte{255, 255, 255, 255}, true},
		{core.MustParseNetID("[2001:db8::1]:80"), [4]byte{}, false},
		{core.NetID{}, [4]byte{}, false},
	} {
		a, ok := tc.id.As4()
		if a != tc.want || ok != tc.ok {
			t.Errorf("%s.As4() = %v, %v; want %v, %v", tc.id, a, ok, tc.want, tc.ok)
		}
		if ok && tc.id.Addr() != netip.AddrFrom4(a) {
			t.Errorf("%s.As4() = %v, Addr() = %s", tc.id, a, tc.id.Addr())
		}
	}
}
