package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/chatter-go/chatter/core"
)

// cmpNetID compares NetIDs with ==; go-cmp prints them with String.
func cmpNetID() cmp.Option { return cmp.Comparer(func(a, b core.NetID) bool { return a == b }) }

// tableOf returns the table of the NetIDs written as "ip:port".
func tableOf(tb testing.TB, ids ...string) core.NetIDTable {
	tb.Helper()
	parsed := make([]core.NetID, len(ids))
	for i, s := range ids {
		id, err := core.ParseNetID(s)
		if err != nil {
			tb.Fatal(err)
		}
		parsed[i] = id
	}
	t := core.NewNetIDTable(parsed...)
	if t.Len() != len(ids) {
		tb.Fatalf("tableOf: %d duplicate NetIDs in %v", len(ids)-t.Len(), ids)
	}
	return t
}

// netID returns the NetID of a 4- or 16-byte address and a port.
func netID(tb testing.TB, a []byte, port uint16) core.NetID {
	tb.Helper()
	addr, ok := netip.AddrFromSlice(a)
	if !ok {
		tb.Fatalf("address of %d bytes", len(a))
	}
	id, err := core.NetIDFrom(addr, port)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// hosts returns the NetIDs prefix.h:port for each h in hs.
func hosts(tb testing.TB, prefix [3]byte, port uint16, hs ...int) []core.NetID {
	ids := make([]core.NetID, len(hs))
	for i, h := range hs {
		ids[i] = netID(tb, []byte{prefix[0], prefix[1], prefix[2], byte(h)}, port)
	}
	return ids
}

// seq returns the ints lo, lo+step, ... below hi.
func seq(lo, hi, step int) []int {
	var s []int
	for i := lo; i < hi; i += step {
		s = append(s, i)
	}
	return s
}

// diffTables returns a go-cmp diff of the entries of want and got.
func diffTables(want, got core.NetIDTable) string {
	if want.Equal(got) {
		return "" // the fast path; go-cmp explains a difference
	}
	d := cmp.Diff(want.IDs(), got.IDs(), cmpNetID(), cmpopts.EquateEmpty())
	if d == "" {
		d = "IDs are equal but Equal reports a difference"
	}
	return d
}

// roundTripTables are the named tables of the round-trip tests.
func roundTripTables(tb testing.TB) []struct {
	name  string
	table core.NetIDTable
} {
	var manyPorts, allDiffPorts, allSamePort, sparse, farApart, v6many, multiRun []core.NetID
	for p := 1; p <= 300; p++ {
		manyPorts = append(manyPorts, netID(tb, []byte{192, 0, 2, 7}, uint16(p*211)))
	}
	for h := 1; h <= 200; h++ {
		allDiffPorts = append(allDiffPorts, netID(tb, []byte{10, 9, 8, byte(h)}, uint16(1000+h*7)))
		allSamePort = append(allSamePort, netID(tb, []byte{10, 9, 8, byte(h)}, 29999))
	}
	for i := range 40 {
		sparse = append(sparse, netID(tb, []byte{byte(1 + i*6), byte(i * 37), byte(i), byte(i * 11)}, 5000))
	}
	for i := range 200 { // 200 /24s far apart: a block count of two bytes
		farApart = append(farApart, hosts(tb, [3]byte{byte(i + 20), byte(i * 97), 3}, 80, 1, 77, 254)...)
	}
	for i := range 150 { // more than 127 IPv6 addresses: a count of two bytes
		a := netip.MustParseAddr("2001:db8::").As16()
		a[7], a[14], a[15] = byte(i%3), byte(i>>4), byte(i*16+1)
		v6many = append(v6many, netID(tb, a[:], uint16(443+i%2)))
	}
	for h := 1; h <= 250; h++ { // alternating multiplicity: many runs
		for p := range 1 + h%2 {
			multiRun = append(multiRun, netID(tb, []byte{172, 16, 0, byte(h)}, uint16(7000+p)))
		}
	}
	return []struct {
		name  string
		table core.NetIDTable
	}{
		{"empty", core.NetIDTable{}},
		{"one IPv4", tableOf(tb, "10.0.0.1:29999")},
		{"one IPv6", tableOf(tb, "[2001:db8::1]:443")},
		{"same address many ports", core.NewNetIDTable(manyPorts...)},
		{"dense /24 (bitmap)", core.NewNetIDTable(hosts(tb, [3]byte{10, 1, 2}, 80, seq(0, 256, 1)...)...)},
		{"33 hosts (bitmap)", core.NewNetIDTable(hosts(tb, [3]byte{10, 1, 2}, 80, seq(0, 99, 3)...)...)},
		{"32 hosts (list)", core.NewNetIDTable(hosts(tb, [3]byte{10, 1, 2}, 80, seq(1, 255, 8)...)...)},
		{"sparse (lists)", core.NewNetIDTable(sparse...)},
		{"several /24s far apart", core.NewNetIDTable(farApart...)},
		{"mixed v4 and v6", tableOf(tb, "192.168.1.10:9000", "[2001:db8::1]:9000", "[2001:db8::2]:9000",
			"[2001:db8:0:1::1]:9001", "[fe80::1]:1", "255.255.255.255:65535", "0.0.0.1:1")},
		{"many v6", core.NewNetIDTable(v6many...)},
		{"loopback", tableOf(tb, "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.2:7001", "127.0.0.3:7001", "[::1]:7001")},
		{"ports all equal", core.NewNetIDTable(allSamePort...)},
		{"ports all different", core.NewNetIDTable(allDiffPorts...)},
		{"many multiplicity runs", core.NewNetIDTable(multiRun...)},
		{"extremes", tableOf(tb, "0.0.0.1:1", "0.0.0.255:65535", "255.255.255.0:1", "255.255.255.255:1",
			"[::2]:1", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")},
	}
}

func TestNetIDTableRoundTrip(t *testing.T) {
	for _, tc := range roundTripTables(t) {
		t.Run(tc.name, func(t *testing.T) {
			enc := AppendNetIDTable(nil, tc.table)
			if n := NetIDTableLen(tc.table); n != len(enc) {
				t.Errorf("NetIDTableLen = %d, encoding has %d bytes", n, len(enc))
			}
			if ref := refEncodeTable(tc.table); !bytes.Equal(enc, ref) {
				t.Errorf("encoding differs from the reference encoder:\n got % x\nwant % x", enc, ref)
			}
			prefix := []byte("prefix")
			if got := AppendNetIDTable(slices.Clip(prefix), tc.table); !bytes.Equal(got[:6], prefix) || !bytes.Equal(got[6:], enc) {
				t.Errorf("AppendNetIDTable after a prefix: % x", got)
			}
			got, err := DecodeNetIDTable(enc)
			if err != nil {
				t.Fatalf("DecodeNetIDTable(% x): %v", enc, err)
			}
			if d := diffTables(tc.table, got); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
			t.Logf("%d entries in %d bytes", tc.table.Len(), len(enc))
		})
	}
}

// TestNetIDTableForm checks the encoder's choice between a host list and a
// host bitmap: the list up to 32 hosts (33 bytes either way), the bitmap
// from 33.
func TestNetIDTableForm(t *testing.T) {
	for k := 1; k <= 256; k++ {
		table := core.NewNetIDTable(hosts(t, [3]byte{10, 0, 0}, 80, seq(256-k, 256, 1)...)...)
		enc := AppendNetIDTable(nil, table)
		_, n := binary.Uvarint(enc[1:]) // after the block count: the prefix
		shape, _ := binary.Uvarint(enc[1+n:])
		want := uint64(2 * k)
		if k > 32 {
			want = 1
		}
		if shape != want {
			t.Errorf("%d hosts: shape %d, want %d", k, shape, want)
		}
	}
}

type tableVector struct {
	name string
	ids  []string
	want []byte
}

// tableVectors returns encodings written by hand from docs/wire-format.md.
func tableVectors() []tableVector {
	return []tableVector{
		{
			name: "empty",
			want: []byte{
				0x00, // IPv4 block count 0
				0x00, // IPv6 address count 0
				0x00, // multiplicity run count 0
				0x00, // port run count 0
			},
		},
		{
			name: "one IPv4 NetID",
			ids:  []string{"10.0.0.1:29999"},
			want: []byte{
				0x01,             // IPv4 block count 1
				0x80, 0x80, 0x28, //   prefix 10.0.0 = 0x0a0000 = 655360
				0x02,       //   shape 2: a list of k = 1 host
				0x01,       //     host 1
				0x00,       // IPv6 address count 0
				0x01,       // multiplicity run count 1
				0x01, 0x01, //   1 address with 1 port
				0x01,                   // port run count 1
				0x01, 0xaf, 0xea, 0x01, //   1 entry with port 29999
			},
		},
		{
			name: "loopback nodes, one with two ports",
			ids:  []string{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.2:7001", "127.0.0.3:7001"},
			want: []byte{
				0x01,                   // IPv4 block count 1
				0x80, 0x80, 0xfc, 0x03, //   prefix 127.0.0 = 0x7f0000
				0x06,             //   shape 6: a list of k = 3 hosts
				0x01, 0x01, 0x01, //     hosts 1, 2 (1+1), 3 (2+1)
				0x00,       // IPv6 address count 0
				0x02,       // multiplicity run count 2
				0x01, 0x02, //   1 address (127.0.0.1) with 2 ports
				0x02, 0x01, //   2 addresses (127.0.0.2, .3) with 1 port
				0x03,             // port run count 3
				0x01, 0xd9, 0x36, //   1 entry with port 7001
				0x01, 0xda, 0x36, //   1 entry with port 7002
				0x02, 0xd9, 0x36, //   2 entries with port 7001
			},
		},
		{
			name: "IPv4 and IPv6",
			ids:  []string{"192.168.1.10:9000", "[2001:db8::1]:9000", "[2001:db8::2]:9000", "[2001:db8:0:1::1]:9001"},
			want: []byte{
				0x01,                   // IPv4 block count 1
				0x81, 0xd0, 0x82, 0x06, //   prefix 192.168.1 = 0xc0a801
				0x02, //   shape 2: a list of k = 1 host
				0x0a, //     host 10
				0x03, // IPv6 address count 3
				0x00, //   shared 0 (first address), then all 16 bytes of 2001:db8::1
				0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
				0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
				0x0f, 0x02, //   shared 15, then the last byte of 2001:db8::2
				0x07,                                           //   shared 7 (2001:0db8:0000:00), then the 9 bytes of
				0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   2001:db8:0:1::1 that follow
				0x01,
				0x01,       // multiplicity run count 1
				0x04, 0x01, //   4 addresses with 1 port each
				0x02,             // port run count 2
				0x03, 0xa8, 0x46, //   3 entries with port 9000
				0x01, 0xa9, 0x46, //   1 entry with port 9001
			},
		},
		{
			name: "dense block: 40 hosts as a bitmap",
			ids: func() []string {
				var s []string
				for h := range 40 {
					s = append(s, fmt.Sprintf("10.1.2.%d:80", h))
				}
				return s
			}(),
			want: slices.Concat(
				[]byte{
					0x01,             // IPv4 block count 1
					0x82, 0x82, 0x28, //   prefix 10.1.2 = 0x0a0102
					0x01,                         //   shape 1: a 256-bit bitmap
					0xff, 0xff, 0xff, 0xff, 0xff, //     hosts 0 to 39
				},
				make([]byte, 27), //     hosts 40 to 255 absent
				[]byte{
					0x00,       // IPv6 address count 0
					0x01,       // multiplicity run count 1
					0x28, 0x01, //   40 addresses with 1 port
					0x01,       // port run count 1
					0x28, 0x50, //   40 entries with port 80
				}),
		},
	}
}

func TestNetIDTableVectors(t *testing.T) {
	for _, v := range tableVectors() {
		t.Run(v.name, func(t *testing.T) {
			table := tableOf(t, v.ids...)
			got := AppendNetIDTable(nil, table)
			if !bytes.Equal(got, v.want) {
				t.Errorf("AppendNetIDTable:\n got % x\nwant % x", got, v.want)
			}
			if n := NetIDTableLen(table); n != len(v.want) {
				t.Errorf("NetIDTableLen = %d, want %d", n, len(v.want))
			}
			dec, err := DecodeNetIDTable(v.want)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffTables(table, dec); d != "" {
				t.Errorf("decode (-want +got):\n%s", d)
			}
		})
	}
}

// v4Table returns the encoding of an IPv4 table given its blocks (each one
// prefix delta, shape and host bytes), the multiplicity runs and the port
// runs, for hand-made bad inputs.
func v4Table(blocks [][]byte, mult, ports []uint64) []byte {
	b := binary.AppendUvarint(nil, uint64(len(blocks)))
	for _, blk := range blocks {
		b = append(b, blk...)
	}
	b = append(b, 0) // no IPv6 addresses
	return append(append(b, runs(mult)...), runs(ports)...)
}

// runs encodes run-length pairs: the run count, then the pairs.
func runs(pairs []uint64) []byte {
	b := binary.AppendUvarint(nil, uint64(len(pairs)/2))
	for _, v := range pairs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

// blk returns a block: uvarint prefix delta, uvarint shape, then bytes.
func blk(delta, shape uint64, rest ...byte) []byte {
	return append(binary.AppendUvarint(binary.AppendUvarint(nil, delta), shape), rest...)
}

// bitmap returns a 32-byte host bitmap with the hosts hs set.
func bitmap(hs ...int) []byte {
	bm := make([]byte, 32)
	for _, h := range hs {
		bm[h/8] |= 1 << (h % 8)
	}
	return bm
}

// v6Section returns the IPv6 section of the addresses, each given as
// shared-prefix length and tail.
func v6Section(addrs ...[]byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(addrs)))
	for _, a := range addrs {
		b = append(b, a...)
	}
	return b
}

func v6(shared byte, s string) []byte {
	a := netip.MustParseAddr(s).As16()
	return append([]byte{shared}, a[shared:]...)
}

func TestDecodeNetIDTableErrors(t *testing.T) {
	const net10 = 10 << 16 // the prefix 10.0.0
	one := []uint64{1, 1}  // one run: one address with one port
	port80 := []uint64{1, 80}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty input", nil, ErrTruncated},
		{"overlong varint", []byte{0x80, 0x00, 0, 0, 0}, ErrMalformed},
		{"varint past 64 bits", bytes.Repeat([]byte{0xff}, 11), ErrMalformed},
		{"block count larger than what remains", []byte{0x05, 0, 0, 0}, ErrTruncated},
		{"block count above MaxTableEntries", binary.AppendUvarint(nil, MaxTableEntries+1), ErrListTooLong},
		{"IPv6 count larger than what remains", []byte{0, 0x03, 0, 0x01, 0x01, 0x01}, ErrTruncated},
		{"multiplicity run count larger than what remains", []byte{0, 0, 0x09, 0x01, 0x01, 0}, ErrTruncated},
		{"port run count larger than what remains", []byte{0, 0, 0, 0x02, 0x01, 0x01}, ErrTruncated},
		{"prefix delta 0", v4Table([][]byte{blk(net10, 2, 1), blk(0, 2, 2)}, []uint64{2, 1}, []uint64{2, 80}), ErrMalformed},
		{"prefix 2^24", v4Table([][]byte{blk(1<<24, 2, 1)}, one, port80), ErrMalformed},
		{"prefix past 2^24 by a delta", v4Table([][]byte{blk(1<<24-1, 2, 1), blk(1, 2, 1)}, []uint64{2, 1}, []uint64{2, 80}), ErrMalformed},
		{"prefix delta past 64 bits", v4Table([][]byte{blk(1<<24-1, 2, 1), blk(1<<64-1, 2, 1)}, []uint64{2, 1}, []uint64{2, 80}), ErrMalformed},
		{"shape 0", v4Table([][]byte{blk(net10, 0, 1)}, one, port80), ErrMalformed},
		{"shape 3", v4Table([][]byte{blk(net10, 3, 1, 1)}, one, port80), ErrMalformed},
		{"shape 514 (257 hosts)", v4Table([][]byte{blk(net10, 514, make([]byte, 257)...)}, one, port80), ErrMalformed},
		{"empty bitmap", v4Table([][]byte{blk(net10, 1, bitmap()...)}, nil, nil), ErrMalformed},
		{"truncated bitmap", append([]byte{1}, blk(net10, 1, 0xff)...), ErrTruncated},
		{"host delta 0", v4Table([][]byte{blk(net10, 4, 1, 0)}, []uint64{2, 1}, []uint64{2, 80}), ErrMalformed},
		{"host past 255", v4Table([][]byte{blk(net10, 4, 200, 56)}, []uint64{2, 1}, []uint64{2, 80}), ErrMalformed},
		{"0.0.0.0 in a list", v4Table([][]byte{blk(0, 2, 0)}, one, port80), ErrMalformed},
		{"0.0.0.0 in a bitmap", v4Table([][]byte{blk(0, 1, bitmap(0, 1)...)}, []uint64{2, 1}, []uint64{2, 80}), ErrMalformed},
		{"IPv6 ::", slices.Concat([]byte{0}, v6Section(v6(0, "::")), runs(one), runs(port80)), ErrMalformed},
		{"IPv4-mapped IPv6", slices.Concat([]byte{0}, v6Section(v6(0, "::ffff:10.0.0.1")), runs(one), runs(port80)), ErrMalformed},
		{"first IPv6 shared 1", slices.Concat([]byte{0}, v6Section(v6(1, "2001:db8::1")), runs(one), runs(port80)), ErrMalformed},
		{"IPv6 shared 16", slices.Concat([]byte{0}, v6Section(v6(0, "2001:db8::1"), []byte{16}), runs([]uint64{2, 1}), runs([]uint64{2, 80})), ErrMalformed},
		{"IPv6 shared below the common prefix", slices.Concat([]byte{0}, v6Section(v6(0, "2001:db8::1"), v6(14, "2001:db8::2")), runs([]uint64{2, 1}), runs([]uint64{2, 80})), ErrMalformed},
		{"IPv6 duplicate address", slices.Concat([]byte{0}, v6Section(v6(0, "2001:db8::1"), v6(15, "2001:db8::1")), runs([]uint64{2, 1}), runs([]uint64{2, 80})), ErrMalformed},
		{"IPv6 addresses descending", slices.Concat([]byte{0}, v6Section(v6(0, "2001:db8::2"), v6(15, "2001:db8::1")), runs([]uint64{2, 1}), runs([]uint64{2, 80})), ErrTableOrder},
		{"port 0", v4Table([][]byte{blk(net10, 2, 1)}, one, []uint64{1, 0}), ErrMalformed},
		{"port 65536", v4Table([][]byte{blk(net10, 2, 1)}, one, []uint64{1, 65536}), ErrMalformed},
		{"multiplicity runs short", v4Table([][]byte{blk(net10, 4, 1, 1)}, []uint64{1, 1}, []uint64{1, 80}), ErrMalformed},
		{"multiplicity runs past the addresses", v4Table([][]byte{blk(net10, 4, 1, 1)}, []uint64{1, 1, 2, 1}, []uint64{3, 80}), ErrMalformed},
		{"multiplicity run length 0", v4Table([][]byte{blk(net10, 2, 1)}, []uint64{0, 1, 1, 1}, port80), ErrMalformed},
		{"0 ports per address", v4Table([][]byte{blk(net10, 2, 1)}, []uint64{1, 0}, nil), ErrMalformed},
		{"65536 ports per address", v4Table([][]byte{blk(net10, 2, 1)}, []uint64{1, 65536}, []uint64{65536, 80}), ErrMalformed},
		{"more than MaxTableEntries entries", v4Table([][]byte{blk(net10, 34, bytes.Repeat([]byte{1}, 17)...)}, []uint64{17, 65535}, nil), ErrListTooLong},
		{"port runs short", v4Table([][]byte{blk(net10, 4, 1, 1)}, []uint64{2, 1}, []uint64{1, 80}), ErrMalformed},
		{"port runs past the entries", v4Table([][]byte{blk(net10, 4, 1, 1)}, []uint64{2, 1}, []uint64{2, 80, 1, 81}), ErrMalformed},
		{"port run length 0", v4Table([][]byte{blk(net10, 2, 1)}, one, []uint64{0, 81, 1, 80}), ErrMalformed},
		{"duplicate entries", v4Table([][]byte{blk(net10, 2, 1)}, []uint64{1, 2}, []uint64{2, 80}), ErrTableOrder},
		{"unsorted entries (ports)", v4Table([][]byte{blk(net10, 2, 1)}, []uint64{1, 2}, []uint64{1, 81, 1, 80}), ErrTableOrder},
		{"trailing bytes", append(v4Table([][]byte{blk(net10, 2, 1)}, one, port80), 0), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeNetIDTable(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeNetIDTable(% x) = %v, %v; want %v", tc.in, got.IDs(), err, tc.want)
			}
			if got.Len() != 0 {
				t.Errorf("table of %d entries returned with the error", got.Len())
			}
			if refErr := refDecodeCheck(tc.in); refErr == nil {
				t.Errorf("the reference decoder accepts % x", tc.in)
			}
			t.Log(err)
		})
	}
}

// TestDecodeNetIDTableTruncated cuts every valid encoding at every offset.
func TestDecodeNetIDTableTruncated(t *testing.T) {
	for _, tc := range roundTripTables(t) {
		enc := AppendNetIDTable(nil, tc.table)
		for i := range len(enc) {
			_, err := DecodeNetIDTable(enc[:i])
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: cut at %d of %d: %v", tc.name, i, len(enc), err)
			}
		}
	}
}

// TestReaderTable checks the reader method the body codec uses: it reads a
// table and leaves the reader after it, reusing scratch.
func TestReaderTable(t *testing.T) {
	want := tableOf(t, "10.0.0.1:1", "10.0.0.2:2", "[2001:db8::1]:3")
	b := append(AppendNetIDTable(nil, want), 0xaa, 0xbb)
	scratch := make([]core.NetID, 0, 8)
	r := newReader(b)
	got := r.table(scratch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if d := diffTables(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if rest := r.rest(); !bytes.Equal(rest, []byte{0xaa, 0xbb}) {
		t.Errorf("after the table: % x", rest)
	}
	if scratch[:1][0] != got.At(0) {
		t.Errorf("the table is not in scratch")
	}
	// A reader with an error does nothing.
	r = newReader(b)
	r.fail(ErrBadMagic)
	if got := r.table(nil); got.Len() != 0 || !errors.Is(r.err, ErrBadMagic) || r.off != 0 {
		t.Errorf("table after an error: %d entries, %v, offset %d", got.Len(), r.err, r.off)
	}
}

// buildHasRace reports whether the test binary was built with -race, which
// changes what allocates (as the standard library's race.Enabled does).
func buildHasRace() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

func TestNetIDTableAllocs(t *testing.T) {
	if buildHasRace() {
		t.Skip("the race detector changes allocations")
	}
	for _, tc := range roundTripTables(t) {
		dst := make([]byte, 0, NetIDTableLen(tc.table))
		if n := testing.AllocsPerRun(100, func() { dst = AppendNetIDTable(dst[:0], tc.table) }); n != 0 {
			t.Errorf("%s: AppendNetIDTable: %v allocations", tc.name, n)
		}
		if n := testing.AllocsPerRun(100, func() { _ = NetIDTableLen(tc.table) }); n != 0 {
			t.Errorf("%s: NetIDTableLen: %v allocations", tc.name, n)
		}
		scratch := make([]core.NetID, 0, tc.table.Len())
		if n := testing.AllocsPerRun(100, func() {
			r := newReader(dst)
			_ = r.table(scratch)
			if r.err != nil {
				panic(r.err)
			}
		}); n != 0 {
			t.Errorf("%s: reader.table with scratch: %v allocations", tc.name, n)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = DecodeNetIDTable(dst) }); n > 1 {
			t.Errorf("%s: DecodeNetIDTable: %v allocations, want at most 1", tc.name, n)
		}
	}
}

// Lists.

// list is spans as indexes: it decodes a list and appends its indexes to
// dst[:0] in ascending order.
func (r *reader) list(what string, tableLen int, max int, dst []int) []int {
	sp, n := r.spans(what, tableLen, max, nil)
	dst = slices.Grow(dst[:0], n)
	for _, s := range sp {
		for i := s.start; i < s.end; i++ {
			dst = append(dst, i)
		}
	}
	return dst
}

// appendIdx is appendList for a list given by its indexes, strictly
// ascending.
func appendIdx(dst []byte, idx []int) []byte { return appendList(dst, spansOf(nil, idx)) }

// idxLen is listLen for a list given by its indexes.
func idxLen(idx []int) int { return listLen(spansOf(nil, idx)) }

func decodeList(b []byte, tableLen, max int) ([]int, error) {
	r := newReader(b)
	idx := r.list("test list", tableLen, max, nil)
	if err := r.done("test list"); err != nil {
		return nil, err
	}
	return idx, nil
}

func TestListRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		idx    []int
		bitmap bool // the encoder picks the bitmap
	}{
		{"empty", nil, false},
		{"one", []int{5}, false},
		{"first", []int{0}, false},
		{"two far apart", []int{0, 1000}, false},
		{"equal lengths: references", []int{0, 7}, false},
		{"dense", []int{2, 3, 7}, true},
		{"range", seq(100, 164, 1), true},
		{"every other", seq(10, 400, 2), true},
		{"every seventh", seq(0, 700, 7), true},
		{"every ninth", seq(0, 900, 9), false},
		{"every 17th", seq(3, 1000, 17), false},
		{"large indexes", []int{1 << 19, 1<<20 - 1}, false},
		{"all of a big table", seq(0, 1<<16, 1), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := appendIdx(nil, tc.idx)
			if n := idxLen(tc.idx); n != len(enc) {
				t.Errorf("listLen = %d, encoding has %d bytes", n, len(enc))
			}
			if ref := refEncodeList(tc.idx); !bytes.Equal(enc, ref) {
				t.Errorf("encoding differs from the reference:\n got % x\nwant % x", enc, ref)
			}
			h, _ := binary.Uvarint(enc)
			if isBitmap := h%2 == 1; isBitmap != tc.bitmap {
				t.Errorf("bitmap form %v, want %v (% x)", isBitmap, tc.bitmap, enc)
			}
			tableLen := 1 << 20
			got, err := decodeList(enc, tableLen, len(tc.idx))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.idx, got, cmp.Comparer(func(a, b []int) bool { return slices.Equal(a, b) })); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
			if len(tc.idx) > 0 {
				if _, err := decodeList(enc, tableLen, len(tc.idx)-1); !errors.Is(err, ErrListTooLong) {
					t.Errorf("with max %d: %v, want ErrListTooLong", len(tc.idx)-1, err)
				}
				last := tc.idx[len(tc.idx)-1]
				if _, err := decodeList(enc, last, tableLen); !errors.Is(err, ErrTableRef) && !errors.Is(err, ErrListTooLong) {
					t.Errorf("over a table of %d: %v, want ErrTableRef", last, err)
				}
			}
		})
	}
}

type listVector struct {
	name string
	idx  []int
	want []byte
}

// listVectors returns lists written by hand from docs/wire-format.md.
func listVectors() []listVector {
	return []listVector{
		{"empty", nil, []byte{
			0x00, // h = 0: no references
		}},
		{"references", []int{0, 100}, []byte{
			0x04, // h = 4: k = 2 references
			0x00, //   first index 0
			0x63, //   100 - 0 - 1 = 99
		}},
		{"equal lengths: references", []int{0, 7}, []byte{
			0x04, // h = 4: k = 2 references (the bitmap 11 00 81 is as long)
			0x00, //   first index 0
			0x06, //   7 - 0 - 1 = 6
		}},
		{"bitmap", []int{2, 3, 7}, []byte{
			0x0d, // h = 13: n = 6 bits
			0x02, //   start 2
			0x23, //   bits 0, 1, 5 (entries 2, 3, 7); bits 6 and 7 past n are 0
		}},
		{"bitmap over two bytes", []int{300, 301, 302, 303, 304, 305, 306, 307, 309}, []byte{
			0x15,       // h = 21: n = 10 bits
			0xac, 0x02, //   start 300
			0xff, //   bits 0 to 7: entries 300 to 307
			0x02, //   bit 9 = n-1: entry 309; bits 10 to 15 past n are 0
		}},
	}
}

func TestListVectors(t *testing.T) {
	for _, v := range listVectors() {
		t.Run(v.name, func(t *testing.T) {
			if got := appendIdx(nil, v.idx); !bytes.Equal(got, v.want) {
				t.Errorf("appendList:\n got % x\nwant % x", got, v.want)
			}
			got, err := decodeList(v.want, 1000, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, v.idx) {
				t.Errorf("decoded %v, want %v", got, v.idx)
			}
		})
	}
}

func TestDecodeListErrors(t *testing.T) {
	tests := []struct {
		name          string
		in            []byte
		tableLen, max int
		want          error
	}{
		{"empty input", nil, 10, 10, ErrTruncated},
		{"overlong header", []byte{0x80, 0x00}, 10, 10, ErrMalformed},
		{"references past the table length", []byte{0x16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10, 100, ErrListTooLong},
		{"references past max", []byte{0x06, 0, 0, 0}, 10, 2, ErrListTooLong},
		{"references past what remains", []byte{0x08, 0, 0}, 10, 10, ErrTruncated},
		{"huge reference count", binary.AppendUvarint(nil, 1<<63), 1 << 20, 1 << 30, ErrListTooLong},
		{"first reference out of range", []byte{0x02, 0x0a}, 10, 10, ErrTableRef},
		{"later reference out of range", []byte{0x04, 0x05, 0x04}, 10, 10, ErrTableRef},
		{"reference far out of range", append([]byte{0x04, 0x05}, binary.AppendUvarint(nil, 1<<64-1)...), 10, 10, ErrTableRef},
		{"truncated reference", []byte{0x04, 0x01, 0x80}, 10, 10, ErrTruncated},
		{"empty bitmap (h = 1)", []byte{0x01, 0x00}, 10, 10, ErrMalformed},
		{"bitmap longer than the table", []byte{0x17, 0x00, 0xff, 0x07}, 10, 10, ErrListTooLong},
		{"bitmap past the table", []byte{0x11, 0x03, 0xff}, 10, 10, ErrTableRef},
		{"bitmap start far past the table", append([]byte{0x03}, binary.AppendUvarint(nil, 1<<64-1)...), 10, 10, ErrTableRef},
		{"bitmap last bit not set", []byte{0x0d, 0x00, 0x1f}, 10, 10, ErrMalformed},
		{"bitmap bit past n set", []byte{0x0d, 0x00, 0x60}, 10, 10, ErrMalformed},
		{"bitmap bit past n set (second byte)", []byte{0x13, 0x00, 0xff, 0x03}, 10, 10, ErrMalformed},
		{"bitmap past max", []byte{0x0d, 0x00, 0x3f}, 10, 5, ErrListTooLong},
		{"bitmap truncated", []byte{0x13, 0x00, 0xff}, 10, 10, ErrTruncated},
		{"bitmap start truncated", []byte{0x13}, 10, 10, ErrTruncated},
		{"list in an empty table", []byte{0x02, 0x00}, 0, 10, ErrListTooLong},
		{"negative bounds", []byte{0x02, 0x00}, -1, -1, ErrListTooLong},
		{"trailing bytes", []byte{0x02, 0x00, 0x00}, 10, 10, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeList(tc.in, tc.tableLen, tc.max)
			if !errors.Is(err, tc.want) {
				t.Fatalf("list(% x, %d, %d) = %v, %v; want %v", tc.in, tc.tableLen, tc.max, got, err, tc.want)
			}
			if _, ok := refDecodeList(tc.in, tc.tableLen, tc.max); ok {
				t.Errorf("the reference decoder accepts % x", tc.in)
			}
			t.Log(err)
		})
	}
}

func TestListAllocs(t *testing.T) {
	if buildHasRace() {
		t.Skip("the race detector changes allocations")
	}
	idx := seq(3, 1000, 3)
	sp := spansOf(nil, idx)
	dst := make([]byte, 0, listLen(sp))
	if n := testing.AllocsPerRun(100, func() { dst = appendList(dst[:0], sp) }); n != 0 {
		t.Errorf("appendList: %v allocations", n)
	}
	out := make([]span, 0, len(idx))
	if n := testing.AllocsPerRun(100, func() {
		r := newReader(dst)
		out, _ = r.spans("test", 1000, 1000, out)
	}); n != 0 {
		t.Errorf("reader.spans with room in dst: %v allocations", n)
	}
}

// Reference codecs: slow and simple, for differential tests.

// naiveEncode is the obvious encoding of a table: the entry count, then
// each NetID in its binary form (7 or 19 bytes).
func naiveEncode(t core.NetIDTable) []byte {
	b := binary.AppendUvarint(nil, uint64(t.Len()))
	for _, id := range t.IDs() {
		var err error
		if b, err = id.AppendBinary(b); err != nil {
			panic(err)
		}
	}
	return b
}

func naiveDecode(b []byte) (core.NetIDTable, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return core.NetIDTable{}, ErrMalformed
	}
	b = b[k:]
	ids := make([]core.NetID, 0, n)
	for range n {
		size := 7
		if len(b) > 0 && b[0] == core.FamilyIPv6 {
			size = 19
		}
		if len(b) < size {
			return core.NetIDTable{}, ErrTruncated
		}
		addr, _ := netip.AddrFromSlice(b[1 : size-2])
		id, err := core.NetIDFrom(addr, binary.BigEndian.Uint16(b[size-2:]))
		if err != nil {
			return core.NetIDTable{}, err
		}
		ids = append(ids, id)
		b = b[size:]
	}
	if len(b) != 0 {
		return core.NetIDTable{}, ErrMalformed
	}
	return core.NetIDTableFromSorted(ids)
}

// refEncodeTable encodes t section by section, as the spec reads.
func refEncodeTable(t core.NetIDTable) []byte {
	type address struct {
		addr  netip.Addr
		ports []uint16
	}
	var addrs []address
	for _, id := range t.IDs() {
		if len(addrs) == 0 || addrs[len(addrs)-1].addr != id.Addr() {
			addrs = append(addrs, address{addr: id.Addr()})
		}
		a := &addrs[len(addrs)-1]
		a.ports = append(a.ports, id.Port())
	}
	// IPv4 blocks.
	type block struct {
		prefix uint32
		hosts  []byte
	}
	var blocks []block
	var v6s []netip.Addr
	for _, a := range addrs {
		if !a.addr.Is4() {
			v6s = append(v6s, a.addr)
			continue
		}
		b4 := a.addr.As4()
		p := uint32(b4[0])<<16 | uint32(b4[1])<<8 | uint32(b4[2])
		if len(blocks) == 0 || blocks[len(blocks)-1].prefix != p {
			blocks = append(blocks, block{prefix: p})
		}
		blocks[len(blocks)-1].hosts = append(blocks[len(blocks)-1].hosts, b4[3])
	}
	out := binary.AppendUvarint(nil, uint64(len(blocks)))
	var prev uint32
	for i, blk := range blocks {
		delta := blk.prefix
		if i > 0 {
			delta = blk.prefix - prev
		}
		prev = blk.prefix
		out = binary.AppendUvarint(out, uint64(delta))
		list := binary.AppendUvarint(nil, uint64(2*len(blk.hosts)))
		for j, h := range blk.hosts {
			if j == 0 {
				list = append(list, h)
			} else {
				list = append(list, h-blk.hosts[j-1])
			}
		}
		bm := append([]byte{1}, bitmap()...)
		for _, h := range blk.hosts {
			bm[1+h/8] |= 1 << (h % 8)
		}
		if len(list) <= len(bm) {
			out = append(out, list...)
		} else {
			out = append(out, bm...)
		}
	}
	// IPv6 addresses.
	out = binary.AppendUvarint(out, uint64(len(v6s)))
	var prev6 [16]byte
	for i, a := range v6s {
		b := a.As16()
		shared := 0
		for i > 0 && b[shared] == prev6[shared] {
			shared++
		}
		out = append(append(out, byte(shared)), b[shared:]...)
		prev6 = b
	}
	// Multiplicity and ports, run-length coded.
	var mult, ports []uint64
	for _, a := range addrs {
		mult = append(mult, uint64(len(a.ports)))
		for _, p := range a.ports {
			ports = append(ports, uint64(p))
		}
	}
	return append(append(out, refRuns(mult)...), refRuns(ports)...)
}

func refRuns(vs []uint64) []byte {
	var pairs []uint64
	for i, v := range vs {
		if i > 0 && v == vs[i-1] {
			pairs[len(pairs)-2]++
		} else {
			pairs = append(pairs, 1, v)
		}
	}
	return runs(pairs)
}

// errRef is the reference decoder's one error.
var errRef = errors.New("reference decoder: rejected")

// refDecodeTable decodes b as the spec reads, with no care for speed or
// allocation: a read past the end panics and is recovered as a rejection.
func refDecodeTable(b []byte) (table core.NetIDTable, err error) {
	defer func() {
		if recover() != nil {
			table, err = core.NetIDTable{}, errRef
		}
	}()
	reject := func(cond bool) {
		if cond {
			panic("reject")
		}
	}
	p := 0
	uv := func() uint64 {
		v, n := binary.Uvarint(b[p:])
		reject(n <= 0 || n > 1 && b[p+n-1] == 0)
		p += n
		return v
	}
	var addrs []netip.Addr
	nBlocks := uv()
	var prefix uint64
	for i := range nBlocks {
		delta := uv()
		reject(i > 0 && delta == 0 || delta >= 1<<24)
		prefix += delta
		reject(prefix >= 1<<24)
		var hs []int
		switch shape := uv(); {
		case shape == 1:
			bm := b[p : p+32]
			p += 32
			for h := range 256 {
				if bm[h/8]>>(h%8)&1 == 1 {
					hs = append(hs, h)
				}
			}
			reject(len(hs) == 0)
		case shape%2 == 0 && shape >= 2 && shape <= 512:
			for j := range int(shape / 2) {
				d := int(b[p])
				p++
				reject(j > 0 && d == 0)
				if j > 0 {
					d += hs[j-1]
				}
				reject(d > 255)
				hs = append(hs, d)
			}
		default:
			reject(true)
		}
		for _, h := range hs {
			addrs = append(addrs, netip.AddrFrom4([4]byte{byte(prefix >> 16), byte(prefix >> 8), byte(prefix), byte(h)}))
		}
	}
	n6 := uv()
	var prev [16]byte
	for i := range n6 {
		shared := int(b[p])
		p++
		reject(shared > 15 || i == 0 && shared != 0)
		var a [16]byte
		copy(a[:], prev[:shared])
		copy(a[shared:], b[p:p+16-shared])
		p += 16 - shared
		if i > 0 {
			common := 0
			for a[common] == prev[common] && common < 15 {
				common++
			}
			reject(common != shared || bytes.Compare(a[:], prev[:]) <= 0)
		}
		addr := netip.AddrFrom16(a)
		reject(addr.Is4In6())
		addrs = append(addrs, addr)
		prev = a
	}
	readRuns := func(total int, max uint64) []uint64 {
		var vs []uint64
		for range uv() {
			length, v := uv(), uv()
			reject(length == 0 || length > uint64(total-len(vs)) || v == 0 || v > max)
			for range length {
				vs = append(vs, v)
			}
		}
		reject(len(vs) != total)
		return vs
	}
	mult := readRuns(len(addrs), 65535)
	entries := 0
	for _, m := range mult {
		entries += int(m)
	}
	reject(entries > MaxTableEntries)
	ports := readRuns(entries, 65535)
	reject(p != len(b))
	var ids []core.NetID
	for i, a := range addrs {
		for range mult[i] {
			id, err := core.NetIDFrom(a, uint16(ports[len(ids)]))
			reject(err != nil)
			ids = append(ids, id)
		}
	}
	for i := 1; i < len(ids); i++ {
		reject(ids[i-1].Compare(ids[i]) >= 0)
	}
	return core.NewNetIDTable(ids...), nil
}

// refDecodeCheck returns the reference decoder's verdict on b.
func refDecodeCheck(b []byte) error {
	_, err := refDecodeTable(b)
	return err
}

// refEncodeList encodes idx in both forms and keeps the shorter.
func refEncodeList(idx []int) []byte {
	refs := binary.AppendUvarint(nil, uint64(2*len(idx)))
	for i, x := range idx {
		if i == 0 {
			refs = binary.AppendUvarint(refs, uint64(x))
		} else {
			refs = binary.AppendUvarint(refs, uint64(x-idx[i-1]-1))
		}
	}
	if len(idx) == 0 {
		return refs
	}
	start, n := idx[0], idx[len(idx)-1]-idx[0]+1
	bm := binary.AppendUvarint(binary.AppendUvarint(nil, uint64(2*n+1)), uint64(start))
	bits := make([]byte, (n+7)/8)
	for _, x := range idx {
		bits[(x-start)/8] |= 1 << ((x - start) % 8)
	}
	bm = append(bm, bits...)
	if len(refs) <= len(bm) {
		return refs
	}
	return bm
}

// refDecodeList decodes a whole list as the spec reads.
func refDecodeList(b []byte, tableLen, max int) (idx []int, ok bool) {
	defer func() {
		if recover() != nil {
			idx, ok = nil, false
		}
	}()
	p := 0
	uv := func() uint64 {
		v, n := binary.Uvarint(b[p:])
		if n <= 0 || n > 1 && b[p+n-1] == 0 {
			panic("varint")
		}
		p += n
		return v
	}
	h := uv()
	if h%2 == 0 {
		for i := range h / 2 {
			if len(idx) >= tableLen || len(idx) >= max {
				return nil, false
			}
			v := uv()
			if v >= uint64(tableLen) {
				return nil, false
			}
			if i > 0 {
				v += uint64(idx[i-1]) + 1
			}
			if v >= uint64(tableLen) {
				return nil, false
			}
			idx = append(idx, int(v))
		}
	} else {
		n := (h - 1) / 2
		if n == 0 || n > uint64(tableLen) {
			return nil, false
		}
		start := uv()
		if start >= uint64(tableLen) {
			return nil, false
		}
		bm := b[p : p+int((n+7)/8)]
		p += len(bm)
		for i := range len(bm) * 8 {
			if bm[i/8]>>(i%8)&1 == 1 {
				if uint64(i) >= n || start+uint64(i) >= uint64(tableLen) {
					return nil, false
				}
				idx = append(idx, int(start)+i)
			}
		}
		if len(idx) == 0 || idx[len(idx)-1] != int(start+n-1) || len(idx) > max {
			return nil, false
		}
	}
	return idx, p == len(b)
}

// Differential test over random tables.

// randomTable returns a table mixing dense and sparse /24s, IPv6 addresses
// and addresses with several ports.
func randomTable(tb testing.TB, rng *rand.Rand) core.NetIDTable {
	var ids []core.NetID
	add := func(a []byte, port uint16) {
		if id, err := core.NetIDFrom(netip.AddrFrom4([4]byte(a)), port); err == nil {
			ids = append(ids, id)
		}
	}
	add6 := func(a [16]byte, port uint16) {
		if id, err := core.NetIDFrom(netip.AddrFrom16(a), port); err == nil && id.Addr().Is6() {
			ids = append(ids, id)
		}
	}
	port := func() uint16 { return uint16(1 + rng.IntN(65535)) }
	commonPort := port()
	for range 1 + rng.IntN(6) {
		switch rng.IntN(6) {
		case 0: // a dense /24
			p := rng.Uint32()
			for range 20 + rng.IntN(240) {
				add([]byte{byte(p >> 16), byte(p >> 8), byte(p), byte(rng.IntN(256))}, commonPort)
			}
		case 1: // sparse addresses anywhere
			for range 1 + rng.IntN(50) {
				p := rng.Uint32()
				add([]byte{byte(p >> 24), byte(p >> 16), byte(p >> 8), byte(p)}, port())
			}
		case 2: // a few hosts in nearby /24s
			p := rng.Uint32() & 0xffffff
			for range 1 + rng.IntN(50) {
				q := p + uint32(rng.IntN(8))
				add([]byte{byte(q >> 16), byte(q >> 8), byte(q), byte(rng.IntN(256))}, commonPort+uint16(rng.IntN(2)))
			}
		case 3: // IPv6 in one /64, or anywhere
			var base [16]byte
			for i := range base {
				base[i] = byte(rng.IntN(256))
			}
			for range 1 + rng.IntN(40) {
				a := base
				for i := 8 + rng.IntN(9); i < 16; i++ {
					a[i] = byte(rng.IntN(256))
				}
				add6(a, commonPort)
			}
		case 4: // addresses with several ports
			p := rng.Uint32()
			for range 1 + rng.IntN(10) {
				h := byte(rng.IntN(256))
				for range 1 + rng.IntN(20) {
					add([]byte{byte(p >> 16), byte(p >> 8), byte(p), h}, uint16(7000+rng.IntN(30)))
				}
			}
		case 5: // small prefixes and extremes
			add([]byte{0, 0, byte(rng.IntN(3)), byte(rng.IntN(256))}, 1)
			add([]byte{255, 255, 255, byte(rng.IntN(256))}, 65535)
			add6([16]byte{15: byte(rng.IntN(256))}, port())
		}
	}
	return core.NewNetIDTable(ids...)
}

func TestNetIDTableDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var entries, compact, naive int
	for i := range 3000 {
		table := randomTable(t, rng)
		enc := AppendNetIDTable(nil, table)
		if n := NetIDTableLen(table); n != len(enc) {
			t.Fatalf("table %d: NetIDTableLen = %d, encoding has %d bytes", i, n, len(enc))
		}
		if ref := refEncodeTable(table); !bytes.Equal(enc, ref) {
			t.Fatalf("table %d: encoding differs from the reference:\n got % x\nwant % x", i, enc, ref)
		}
		got, err := DecodeNetIDTable(enc)
		if err != nil {
			t.Fatalf("table %d: %v", i, err)
		}
		if d := diffTables(table, got); d != "" {
			t.Fatalf("table %d: round trip (-want +got):\n%s", i, d)
		}
		ref, err := refDecodeTable(enc)
		if err != nil {
			t.Fatalf("table %d: reference decoder: %v", i, err)
		}
		if d := diffTables(ref, got); d != "" {
			t.Fatalf("table %d: reference decoder (-ref +got):\n%s", i, d)
		}
		nv := naiveEncode(table)
		nt, err := naiveDecode(nv)
		if err != nil {
			t.Fatalf("table %d: naive decode: %v", i, err)
		}
		if d := diffTables(nt, got); d != "" {
			t.Fatalf("table %d: naive round trip (-naive +got):\n%s", i, d)
		}
		entries, compact, naive = entries+table.Len(), compact+len(enc), naive+len(nv)
	}
	t.Logf("%d entries: %.2f B/NetID in the table format, %.2f B/NetID naive",
		entries, float64(compact)/float64(entries), float64(naive)/float64(entries))
}

func TestListDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		tableLen := 1 + rng.IntN(2000)
		density := 0.01 + rng.Float64()
		var idx []int
		for x := rng.IntN(tableLen); x < tableLen; x += 1 + int(rng.ExpFloat64()/density) {
			idx = append(idx, x)
		}
		enc := appendIdx(nil, idx)
		if ref := refEncodeList(idx); !bytes.Equal(enc, ref) {
			t.Fatalf("list %d %v: % x, reference % x", i, idx, enc, ref)
		}
		if n := idxLen(idx); n != len(enc) {
			t.Fatalf("list %d: listLen = %d, encoding has %d bytes", i, n, len(enc))
		}
		got, err := decodeList(enc, tableLen, len(idx))
		if err != nil || !slices.Equal(got, idx) {
			t.Fatalf("list %d %v: decoded %v, %v", i, idx, got, err)
		}
		if ref, ok := refDecodeList(enc, tableLen, len(idx)); !ok || !slices.Equal(ref, got) {
			t.Fatalf("list %d: reference decoded %v, %v", i, ref, ok)
		}
	}
}

// TestAppendRun checks the one-run list writer against the reference
// encoder.
func TestAppendRun(t *testing.T) {
	for _, start := range []int{0, 1, 5, 127, 128, 1000, 20000} {
		for k := 0; k <= 300; k++ {
			got := appendRun(nil, start, k)
			want := refEncodeList(seq(start, start+k, 1))
			if !bytes.Equal(got, want) {
				t.Fatalf("appendRun(%d, %d) = % x, reference % x", start, k, got, want)
			}
		}
	}
}
