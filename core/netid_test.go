package core_test

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
)

func TestParseNetID(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		binary  []byte
		wantErr bool
	}{
		{in: "198.18.0.1:29999", want: "198.18.0.1:29999", binary: []byte{4, 198, 18, 0, 1, 0x75, 0x2f}},
		{in: "[::ffff:198.18.0.1]:1", want: "198.18.0.1:1", binary: []byte{4, 198, 18, 0, 1, 0, 1}},
		{in: "[2001:db8::1]:80", want: "[2001:db8::1]:80", binary: []byte{6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80}},
		{in: "0.0.0.0:1", wantErr: true},
		{in: "[::]:1", wantErr: true},
		{in: "[fe80::1%eth0]:1", wantErr: true},
		{in: "198.18.0.1:0", wantErr: true},
		{in: "198.18.0.1", wantErr: true},
		{in: "", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			id, err := core.ParseNetID(tc.in)
			if tc.wantErr {
				if !errors.Is(err, core.ErrInvalidNetID) {
					t.Fatalf("ParseNetID(%q) = %v, %v; want ErrInvalidNetID", tc.in, id, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := id.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			b, err := id.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.binary, b); diff != "" {
				t.Errorf("AppendBinary (-want +got):\n%s", diff)
			}
			if id.BinaryLen() != len(b) {
				t.Errorf("BinaryLen %d, AppendBinary wrote %d", id.BinaryLen(), len(b))
			}
			again, err := core.NetIDFromAddrPort(id.AddrPort())
			if err != nil || again != id {
				t.Errorf("AddrPort round trip: %v, %v", again, err)
			}
			text, _ := id.MarshalText()
			var back core.NetID
			if err := back.UnmarshalText(text); err != nil || back != id {
				t.Errorf("text round trip: %v, %v", back, err)
			}
		})
	}
}

func TestZeroNetID(t *testing.T) {
	var id core.NetID
	if id.IsValid() || id.String() != "invalid NetID" || id.AddrPort().IsValid() {
		t.Errorf("zero NetID: valid %v, %q, %v", id.IsValid(), id, id.AddrPort())
	}
	if _, err := id.AppendBinary(nil); !errors.Is(err, core.ErrInvalidNetID) {
		t.Errorf("AppendBinary of the zero NetID: %v", err)
	}
	if core.NetIDFrom4([4]byte{}, 1).IsValid() || core.NetIDFrom4([4]byte{1, 2, 3, 4}, 0).IsValid() {
		t.Error("NetIDFrom4 made a valid NetID of 0.0.0.0 or port 0")
	}
}

// TestCompareMatchesNetip checks NetID's order against netip's, the
// reference: address (IPv4 first), then port.
func TestCompareMatchesNetip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func() core.NetID {
		var a netip.Addr
		if r.IntN(3) == 0 {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.IntN(3))
			}
			b[0] = 0x20
			a = netip.AddrFrom16(b)
		} else {
			a = netip.AddrFrom4([4]byte{198, 18, byte(r.IntN(3)), byte(1 + r.IntN(3))})
		}
		id, err := core.NetIDFrom(a, uint16(1+r.IntN(3)))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for range 5000 {
		a, b := random(), random()
		want := a.Addr().Compare(b.Addr())
		if want == 0 {
			want = cmpInt(int(a.Port()), int(b.Port()))
		}
		if got := a.Compare(b); got != want {
			t.Fatalf("%s.Compare(%s) = %d, want %d", a, b, got, want)
		}
		if (a == b) != (want == 0) {
			t.Fatalf("%s == %s is %v, Compare %d", a, b, a == b, want)
		}
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestNetIDTable(t *testing.T) {
	ids := []core.NetID{
		core.MustParseNetID("[2001:db8::1]:1"),
		core.MustParseNetID("198.18.0.2:1"),
		core.MustParseNetID("198.18.0.1:2"),
		core.MustParseNetID("198.18.0.1:1"),
		core.MustParseNetID("198.18.0.2:1"),
		{},
	}
	tbl := core.NewNetIDTable(ids...)
	want := []string{"198.18.0.1:1", "198.18.0.1:2", "198.18.0.2:1", "[2001:db8::1]:1"}
	var got []string
	for _, id := range tbl.IDs() {
		got = append(got, id.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("table (-want +got):\n%s", diff)
	}
	for i, s := range want {
		id := core.MustParseNetID(s)
		if j, ok := tbl.Index(id); !ok || j != i {
			t.Errorf("Index(%s) = %d, %v; want %d", s, j, ok, i)
		}
		for _, guess := range []int{-1, 0, i, i + 1, 99} {
			if j, ok := tbl.IndexNear(id, guess); !ok || j != i {
				t.Errorf("IndexNear(%s, %d) = %d, %v; want %d", s, guess, j, ok, i)
			}
		}
		if got, ok := tbl.Lookup(uint64(i)); !ok || got != id {
			t.Errorf("Lookup(%d) = %s, %v", i, got, ok)
		}
	}
	if _, ok := tbl.Index(core.MustParseNetID("198.18.0.3:1")); ok {
		t.Error("Index found a NetID not in the table")
	}
	if _, ok := tbl.Lookup(4); ok {
		t.Error("Lookup past the end succeeded")
	}
	// IDs returns a copy.
	tbl.IDs()[0] = core.NetID{}
	if !tbl.At(0).IsValid() {
		t.Error("IDs aliases the table")
	}
}

func TestNetIDTableFromSorted(t *testing.T) {
	a, b := core.MustParseNetID("198.18.0.1:1"), core.MustParseNetID("198.18.0.1:2")
	for _, tc := range []struct {
		name string
		ids  []core.NetID
		ok   bool
	}{
		{"empty", nil, true},
		{"ascending", []core.NetID{a, b}, true},
		{"descending", []core.NetID{b, a}, false},
		{"duplicate", []core.NetID{a, a}, false},
		{"invalid", []core.NetID{{}, a}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := core.NetIDTableFromSorted(tc.ids)
			if tc.ok != (err == nil) {
				t.Fatalf("NetIDTableFromSorted: %v", err)
			}
			if err != nil && !errors.Is(err, core.ErrTableOrder) {
				t.Errorf("error %v does not match ErrTableOrder", err)
			}
			if err == nil && !slices.Equal(tbl.IDs(), tc.ids) {
				t.Errorf("table %v, want %v", tbl.IDs(), tc.ids)
			}
		})
	}
}

func TestGossipAppendNetIDs(t *testing.T) {
	n := func(s string) core.NetID { return core.MustParseNetID("198.18.0." + s + ":1") }
	g := core.Gossip{
		ID:           core.BroadcastID{Origin: n("1"), Number: 1},
		Seen:         []core.SeenEntry{{Node: n("2"), Seq: 1}},
		Others:       []core.NetID{n("3")},
		Distribution: []core.Group{{Entry: n("4"), Members: []core.NetID{n("5"), n("6")}}},
	}
	got := g.AppendNetIDs(nil)
	want := []core.NetID{n("1"), n("2"), n("3"), n("4"), n("5"), n("6")}
	if !slices.Equal(got, want) {
		t.Errorf("AppendNetIDs = %v, want %v", got, want)
	}
}

func TestCounters(t *testing.T) {
	e1 := core.Epoch{StartMicros: 10, Random: 5}
	e2 := core.Epoch{StartMicros: 10, Random: 6}
	e3 := core.Epoch{StartMicros: 11, Random: 0}
	if e1.Compare(e2) >= 0 || e2.Compare(e3) >= 0 || e3.Compare(e1) <= 0 || e1.Compare(e1) != 0 {
		t.Error("Epoch.Compare does not order by start, then random")
	}
	b, _ := e2.AppendBinary(nil)
	if want := []byte{0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 6}; !slices.Equal(b, want) {
		t.Errorf("Epoch.AppendBinary = %x, want %x", b, want)
	}
	if (core.SeqRange{First: 3, Last: 5}).Len() != 3 || (core.SeqRange{First: 5, Last: 3}).Len() != 0 {
		t.Error("SeqRange.Len")
	}
	if core.TagOf("hello") != 0x3610a686 {
		t.Errorf("TagOf(hello) = %#x, want the CRC-32 0x3610a686", core.TagOf("hello"))
	}
}

// TestSortNetIDs checks SortNetIDs against slices.SortFunc with
// NetID.Compare, for IPv4 lists (sorted as numbers) and lists with IPv6
// NetIDs among them (sorted the general way), with repeated addresses and
// ports.
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
		keys = core.SortNetIDs(ids, keys)
		if diff := cmp.Diff(want, ids, cmp.Comparer(func(a, b core.NetID) bool { return a == b })); diff != "" {
			t.Fatalf("list %d (-want +got):\n%s", n, diff)
		}
	}
}
