package core

import (
	"net/netip"
	"testing"
)

// TestHeardSet checks the heard table against a map through its growth,
// with IPv4 and IPv6 NetIDs that differ only in port, address or family.
func TestHeardSet(t *testing.T) {
	var ids []NetID
	for i := range 300 {
		ids = append(ids,
			NetIDFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}, 29999),
			NetIDFrom4([4]byte{198, 18, 0, 1}, uint16(1000+i)),
		)
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		id, err := NetIDFrom(a, 29999)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, seed := range []uint64{0, 1, 0xdeadbeef} {
		s := heardSet{seed: seed}
		want := map[NetID]MulticastSeq{}
		for i, id := range ids {
			if s.find(id) != nil {
				t.Fatalf("seed %d: %v found before it was added", seed, id)
			}
			s.add(heard{id: id, highest: MulticastSeq(i)})
			want[id] = MulticastSeq(i)
			if 2*s.n > len(s.slots) {
				t.Fatalf("seed %d: %d of %d slots in use", seed, s.n, len(s.slots))
			}
			// Every node added so far is found, with its record, and
			// a node not added is not.
			if i%37 == 0 || i == len(ids)-1 {
				for id, seq := range want {
					if h := s.find(id); h == nil || h.highest != seq {
						t.Fatalf("seed %d, after %d adds: find(%v) = %+v, want seq %d", seed, i+1, id, h, seq)
					}
				}
				if h := s.find(NetIDFrom4([4]byte{203, 0, 113, 1}, 1)); h != nil {
					t.Fatalf("seed %d: a node never added is found: %+v", seed, h)
				}
			}
		}
		if s.n != len(ids) {
			t.Errorf("seed %d: n = %d, want %d", seed, s.n, len(ids))
		}
		// A record found can be updated in place.
		s.find(ids[5]).highest = 1 << 40
		if got := s.find(ids[5]).highest; got != 1<<40 {
			t.Errorf("seed %d: update in place lost: %d", seed, got)
		}
	}
}
