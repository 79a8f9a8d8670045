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

// sortedWithOneChange returns a sorted table of up to 30 random NetIDs with,
// three times in four, one change: two entries swapped, one repeated, or one
// made invalid.
func sortedWithOneChange(r *rand.Rand) []core.NetID {
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
	return ids
}

// TestNetIDTableFromSortedRandom checks NetIDTableFromSorted against the
// rule it enforces, on sorted tables with one change: two entries swapped,
// one repeated, or one made invalid; first or last in their family, or not.
func TestNetIDTableFromSortedRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		ids := sortedWithOneChange(r)
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
		checkBuilt(t, tbl, err, ids)
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

// TestNetIDTableBuilder checks the builder against NetIDTableFromSorted on
// the tables of TestNetIDTableFromSortedRandom, adding each IPv4 entry
// alone, or with the entries after it that have its port with Add4, or, for
// a run of consecutive addresses with one port, with AddRun4.
func TestNetIDTableBuilder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var b core.NetIDTableBuilder
	for range 2000 {
		ids := sortedWithOneChange(r)
		_, wantErr := core.NetIDTableFromSorted(slices.Clone(ids))
		b.Reset(make([]core.NetID, 0, r.IntN(4)))
		for i := 0; i < len(ids); {
			a4, ok := ids[i].As4()
			if !ok || r.IntN(3) == 0 {
				b.Add(ids[i])
				i++
				continue
			}
			if r.IntN(2) == 0 {
				// Add4: the IPv4 entries from i that have i's port,
				// in whatever order they are.
				port := ids[i].Port()
				var addrs []uint32
				for ; i < len(ids); i++ {
					a, ok := ids[i].As4()
					if !ok || ids[i].Port() != port {
						break
					}
					addrs = append(addrs, uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3]))
				}
				b.Add4(addrs, port)
				continue
			}
			// The longest run from i: consecutive addresses, one port.
			a := uint32(a4[0])<<24 | uint32(a4[1])<<16 | uint32(a4[2])<<8 | uint32(a4[3])
			n := 1
			for i+n < len(ids) {
				next, ok := ids[i+n].As4()
				if !ok || ids[i+n].Port() != ids[i].Port() ||
					uint32(next[0])<<24|uint32(next[1])<<16|uint32(next[2])<<8|uint32(next[3]) != a+uint32(n) {
					break
				}
				n++
			}
			b.AddRun4(a, n, ids[i].Port())
			i += n
		}
		if b.Len() > len(ids) {
			t.Fatalf("builder holds %d entries of %d", b.Len(), len(ids))
		}
		tbl, err := b.Table()
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("builder of %v: %v; NetIDTableFromSorted: %v", ids, err, wantErr)
		}
		checkBuilt(t, tbl, err, ids)
	}
}

// TestNetIDTableBuilderRun4 checks AddRun4's and Add4's own refusals:
// 0.0.0.0, port 0, a run past 255.255.255.255, and addresses not above what
// came before.
func TestNetIDTableBuilderRun4(t *testing.T) {
	tests := []struct {
		name string
		add  func(b *core.NetIDTableBuilder)
		want []string // the table, or nil for ErrTableOrder
	}{
		{"run", func(b *core.NetIDTableBuilder) { b.AddRun4(0x0a000001, 3, 7) },
			[]string{"10.0.0.1:7", "10.0.0.2:7", "10.0.0.3:7"}},
		{"empty run", func(b *core.NetIDTableBuilder) { b.AddRun4(0x0a000001, 0, 7) }, []string{}},
		{"to the last address", func(b *core.NetIDTableBuilder) { b.AddRun4(0xfffffffe, 2, 7) },
			[]string{"255.255.255.254:7", "255.255.255.255:7"}},
		{"past the last address", func(b *core.NetIDTableBuilder) { b.AddRun4(0xfffffffe, 3, 7) }, nil},
		{"from 0.0.0.0", func(b *core.NetIDTableBuilder) { b.AddRun4(0, 2, 7) }, nil},
		{"port 0", func(b *core.NetIDTableBuilder) { b.AddRun4(0x0a000001, 2, 0) }, nil},
		{"runs in order", func(b *core.NetIDTableBuilder) {
			b.AddRun4(0x0a000001, 2, 7)
			b.AddRun4(0x0a000003, 1, 1)
		}, []string{"10.0.0.1:7", "10.0.0.2:7", "10.0.0.3:1"}},
		{"overlapping runs", func(b *core.NetIDTableBuilder) {
			b.AddRun4(0x0a000001, 2, 7)
			b.AddRun4(0x0a000002, 2, 5) // 10.0.0.2:5 after 10.0.0.2:7
		}, nil},
		{"a second port of the last address", func(b *core.NetIDTableBuilder) {
			b.AddRun4(0x0a000001, 2, 7)
			b.AddRun4(0x0a000002, 2, 8)
		}, []string{"10.0.0.1:7", "10.0.0.2:7", "10.0.0.2:8", "10.0.0.3:8"}},
		{"Add4", func(b *core.NetIDTableBuilder) { b.Add4([]uint32{0x0a000001, 0x0a000005}, 7) },
			[]string{"10.0.0.1:7", "10.0.0.5:7"}},
		{"Add4 from 0.0.0.0", func(b *core.NetIDTableBuilder) { b.Add4([]uint32{0, 0x0a000005}, 7) }, nil},
		{"Add4 port 0", func(b *core.NetIDTableBuilder) { b.Add4([]uint32{0x0a000001}, 0) }, nil},
		{"Add4 descending", func(b *core.NetIDTableBuilder) { b.Add4([]uint32{0x0a000005, 0x0a000001}, 7) }, nil},
		{"Add4 repeated", func(b *core.NetIDTableBuilder) { b.Add4([]uint32{0x0a000005, 0x0a000005}, 7) }, nil},
		{"Add4 below a run", func(b *core.NetIDTableBuilder) {
			b.AddRun4(0x0a000001, 4, 7)
			b.Add4([]uint32{0x0a000003, 0x0a000009}, 7)
		}, nil},
		{"after an IPv6 entry", func(b *core.NetIDTableBuilder) {
			b.Add(core.MustParseNetID("[2001:db8::1]:7"))
			b.AddRun4(0x0a000001, 1, 7)
		}, nil},
	}
	for _, tc := range tests {
		var b core.NetIDTableBuilder
		tc.add(&b)
		tbl, err := b.Table()
		if tc.want == nil {
			if !errors.Is(err, core.ErrTableOrder) {
				t.Errorf("%s: %v, %v; want ErrTableOrder", tc.name, tbl.IDs(), err)
			}
			continue
		}
		var want []core.NetID
		for _, s := range tc.want {
			want = append(want, core.MustParseNetID(s))
		}
		if err != nil || !slices.Equal(tbl.IDs(), want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, tbl.IDs(), err, want)
		}
	}
}

// checkBuilt checks a table built from ids: refused with ErrTableOrder, or
// holding exactly ids.
func checkBuilt(t *testing.T, tbl core.NetIDTable, err error, ids []core.NetID) {
	t.Helper()
	if err != nil && !errors.Is(err, core.ErrTableOrder) {
		t.Fatalf("error %v does not match ErrTableOrder", err)
	}
	if err == nil && !slices.Equal(tbl.IDs(), ids) {
		t.Fatalf("table %v, want %v", tbl.IDs(), ids)
	}
}
