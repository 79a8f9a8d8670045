package codec

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chatter-go/chatter/core"
)

// benchCluster is the workload of BenchmarkNetIDTable: 16 random /24
// subnets with 64 random distinct hosts each, all on port 29999, and a
// distribution list of 16 groups, one per subnet, each an entry node and 31
// members of its subnet.
type benchCluster struct {
	table  core.NetIDTable
	groups []benchGroup
}

type benchGroup struct {
	entry   int   // table index of the entry node
	members []int // table indexes of the members, ascending
}

func newBenchCluster(tb testing.TB, subnets, hostsPerSubnet, groupSize int) benchCluster {
	rng := rand.New(rand.NewPCG(29999, 1024))
	var ids []core.NetID
	var prefixes [][3]byte
	for len(prefixes) < subnets {
		p := rng.Uint32()
		pfx := [3]byte{byte(p >> 16), byte(p >> 8), byte(p)}
		if pfx[0] != 0 && !slices.Contains(prefixes, pfx) {
			prefixes = append(prefixes, pfx)
		}
	}
	for _, pfx := range prefixes {
		hs := rng.Perm(256)[:hostsPerSubnet]
		ids = append(ids, hosts(tb, pfx, 29999, hs...)...)
	}
	c := benchCluster{table: core.NewNetIDTable(ids...)}
	if c.table.Len() != subnets*hostsPerSubnet {
		tb.Fatalf("%d entries", c.table.Len())
	}
	if groupSize == 0 {
		return c
	}
	for _, pfx := range prefixes {
		// The table indexes of this subnet's hosts, then 32 of them.
		var idx []int
		for i := range c.table.Len() {
			a := c.table.At(i).Addr().As4()
			if [3]byte(a[:3]) == pfx {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		members := slices.Clone(idx[1:groupSize])
		slices.Sort(members)
		c.groups = append(c.groups, benchGroup{entry: idx[0], members: members})
	}
	return c
}

// size returns the bytes of the table and of the distribution list (group
// count, then each group's entry index and member list).
func (c benchCluster) size() (table, distribution int) {
	distribution = uvarintLen(uint64(len(c.groups)))
	for _, g := range c.groups {
		distribution += uvarintLen(uint64(g.entry)) + idxLen(g.members)
	}
	return NetIDTableLen(c.table), distribution
}

// TestBenchClusterSize pins the target of BenchmarkNetIDTable: at most one
// byte per NetID for the table and the distribution list together.
func TestBenchClusterSize(t *testing.T) {
	c := newBenchCluster(t, 16, 64, 32)
	table, dist := c.size()
	perID := float64(table+dist) / float64(c.table.Len())
	t.Logf("table %d B + distribution list %d B for %d NetIDs: %.3f B/netid", table, dist, c.table.Len(), perID)
	if perID > 1.0 {
		t.Errorf("%.3f B/netid, want at most 1.0", perID)
	}
	// The sizes are those of the encodings.
	enc := AppendNetIDTable(nil, c.table)
	enc = binary.AppendUvarint(enc, uint64(len(c.groups)))
	for _, g := range c.groups {
		enc = binary.AppendUvarint(enc, uint64(g.entry))
		enc = appendIdx(enc, g.members)
	}
	if len(enc) != table+dist {
		t.Errorf("encoded %d bytes, sizes say %d", len(enc), table+dist)
	}
}

func BenchmarkNetIDTable(b *testing.B) {
	c := newBenchCluster(b, 16, 64, 32)
	table, dist := c.size()
	dst := make([]byte, 0, table)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendNetIDTable(dst[:0], c.table)
		if _, err := DecodeNetIDTable(dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(table+dist)/float64(c.table.Len()), "B/netid")
}

func BenchmarkNetIDTable64(b *testing.B) {
	c := newBenchCluster(b, 4, 16, 0)
	benchTable(b, c.table)
}

func BenchmarkNetIDTable1024(b *testing.B) {
	c := newBenchCluster(b, 16, 64, 0)
	benchTable(b, c.table)
}

func benchTable(b *testing.B, t core.NetIDTable) {
	enc := AppendNetIDTable(nil, t)
	b.Run("encode", func(b *testing.B) {
		dst := make([]byte, 0, len(enc))
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			dst = AppendNetIDTable(dst[:0], t)
		}
	})
	b.Run("len", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = NetIDTableLen(t)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := DecodeNetIDTable(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-scratch", func(b *testing.B) {
		scratch := make([]core.NetID, 0, t.Len())
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			r := newReader(enc)
			if r.table(scratch); r.err != nil {
				b.Fatal(r.err)
			}
		}
	})
}

func BenchmarkList(b *testing.B) {
	c := newBenchCluster(b, 16, 64, 32)
	var enc []byte
	for _, g := range c.groups {
		enc = appendIdx(enc, g.members)
	}
	b.Run("encode", func(b *testing.B) {
		dst := make([]byte, 0, len(enc))
		spans := make([][]span, len(c.groups))
		for i, g := range c.groups {
			spans[i] = spansOf(nil, g.members)
		}
		b.ReportAllocs()
		for b.Loop() {
			dst = dst[:0]
			for _, sp := range spans {
				dst = appendList(dst, sp)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		sp := make([]span, 0, 64)
		b.ReportAllocs()
		for b.Loop() {
			r := newReader(enc)
			for range c.groups {
				sp, _ = r.spans("members", c.table.Len(), c.table.Len(), sp)
			}
			if err := r.done("lists"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
