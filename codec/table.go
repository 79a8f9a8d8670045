package codec

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/chatter-go/chatter/core"
)

// This file holds the NetID table and the lists that name its entries, as
// the sections "NetID table" and "Lists" of docs/wire-format.md define them.

// MaxTableEntries bounds the number of entries of a NetID table on the wire.
// A decoder rejects a larger table with ErrListTooLong.
const MaxTableEntries = 1 << 17

const (
	maxPrefix     = 1 << 24 // IPv4 /24 prefixes are below this
	shapeBitmap   = 1       // the block shape of a 256-bit host bitmap
	bitmapLen     = 32      // bytes of a host bitmap
	bitmapCost    = 1 + bitmapLen
	maxBlockHosts = 256
	maxPort       = 1<<16 - 1
	maxShared     = 15 // the largest IPv6 shared-prefix length
)

// AppendNetIDTable appends the wire encoding of t to dst and returns the
// extended slice. It does not allocate when dst has room for
// NetIDTableLen(t) more bytes. A table of more than MaxTableEntries entries
// encodes, but decoders reject it.
func AppendNetIDTable(dst []byte, t core.NetIDTable) []byte {
	n4 := countV4(t)
	dst, a4 := appendV4(dst, t, n4)
	dst, a6 := appendV6(dst, t, n4)
	dst = appendMultiplicity(dst, t, a4+a6)
	return appendPorts(dst, t)
}

// NetIDTableLen returns the number of bytes AppendNetIDTable writes for t.
func NetIDTableLen(t core.NetIDTable) int {
	n4 := countV4(t)
	l4, a4 := v4Len(t, n4)
	l6, a6 := v6Len(t, n4)
	return l4 + l6 + multiplicityLen(t, a4+a6) + portsLen(t)
}

// DecodeNetIDTable decodes b, which must hold exactly one NetID table.
// Errors match ErrTruncated, ErrMalformed, ErrListTooLong or ErrTableOrder.
func DecodeNetIDTable(b []byte) (core.NetIDTable, error) {
	r := newReader(b)
	t := r.table(nil)
	if err := r.done("NetID table"); err != nil {
		return core.NetIDTable{}, err
	}
	return t, nil
}

// countV4 returns the number of IPv4 entries of t, which come first.
func countV4(t core.NetIDTable) int {
	lo, hi := 0, t.Len()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.At(m).Is4() {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// putCount stores the uvarint v at dst[pos], where the encoder left one byte
// for it, moving dst[pos+1:] up when v needs more than that byte.
func putCount(dst []byte, pos int, v uint64) []byte {
	if v < 0x80 {
		dst[pos] = byte(v)
		return dst
	}
	n := uvarintLen(v)
	end := len(dst)
	dst = append(dst, make([]byte, n-1)...)
	copy(dst[pos+n:], dst[pos+1:end])
	binary.PutUvarint(dst[pos:], v)
	return dst
}

// IPv4 addresses.

// v4Block is one /24 block of a table's IPv4 addresses.
type v4Block struct {
	prefix uint32
	end    int // the index after the block's last entry
	k      int // distinct hosts
	hosts  [maxBlockHosts]byte
}

// ascending holds every byte value in order: v4Block.scan copies a row of
// hosts from it.
var ascending = func() (a [maxBlockHosts]byte) {
	for i := range a {
		a[i] = byte(i)
	}
	return a
}()

// v4At returns the IPv4 address of entry i, an IPv4 entry, as a number.
func v4At(t core.NetIDTable, i int) uint32 {
	a, _ := t.At(i).As4()
	return binary.BigEndian.Uint32(a[:])
}

// scan fills blk with the block that starts at entry i of t; n4 is the
// number of IPv4 entries.
func (blk *v4Block) scan(t core.NetIDTable, i, n4 int) {
	a := v4At(t, i)
	prefix, last := a>>8, byte(a)
	blk.hosts[0] = last
	k := 1
	row := 0 // hosts in a row before last
	for i++; i < n4; i++ {
		a = v4At(t, i)
		if a>>8 != prefix {
			break
		}
		h := byte(a)
		if h == last {
			continue // the same address with another port
		}
		if h == last+1 {
			row++
		} else {
			row = 0
		}
		last = h
		blk.hosts[k&(maxBlockHosts-1)] = last
		k++
		if row >= 3 {
			// Four hosts in a row: a subnet numbered in order, whose
			// next entries are likely the next hosts. They are
			// found without reading each.
			// Their bytes are a slice of ascending (h+m <= 255).
			m := rowEnd(t, i, n4, a)
			copy(blk.hosts[k&(maxBlockHosts-1):], ascending[int(h)+1:int(h)+1+m])
			k += m
			i += m
			last = h + byte(m)
		}
	}
	blk.prefix, blk.end, blk.k = prefix, i, k
}

// rowEnd returns the largest m for which entries i to i+m of t hold the
// addresses a to a+m of one /24 block, where entry i holds a and n4 is the
// number of IPv4 entries. Entry i+m holds a+m exactly when every entry
// before it does too (addresses ascend, and a second port of one of them
// would leave entry i+m short of a+m), so rowEnd probes 1, 2, 4...
// entries ahead, then halves the interval where the row ends.
func rowEnd(t core.NetIDTable, i, n4 int, a uint32) int {
	limit := min(n4-1-i, 255-int(byte(a))) // the row stays in the table and the block
	lo, step := 0, 1                       // entry i+lo holds a+lo
	for lo+step <= limit && v4At(t, i+lo+step) == a+uint32(lo+step) {
		lo += step
		step *= 2
	}
	hi := min(lo+step, limit+1) // entry i+hi does not hold a+hi, or is past the limit
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if v4At(t, i+m) == a+uint32(m) {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// hostListLen returns the length of the list form of a block of k hosts,
// shape included; the encoder uses it when it is at most bitmapCost.
func hostListLen(k int) int { return uvarintLen(uint64(2*k)) + k }

// appendV4 appends the IPv4 section and returns the number of distinct IPv4
// addresses.
func appendV4(dst []byte, t core.NetIDTable, n4 int) ([]byte, int) {
	pos := len(dst)
	dst = append(dst, 0)
	var blk v4Block
	var prev uint32
	count, addrs := 0, 0
	for i := 0; i < n4; i = blk.end {
		blk.scan(t, i, n4)
		dst = binary.AppendUvarint(dst, uint64(blk.prefix-prev))
		prev = blk.prefix
		hosts := blk.hosts[:blk.k]
		if hostListLen(blk.k) <= bitmapCost {
			dst = binary.AppendUvarint(dst, uint64(2*blk.k))
			var h byte
			for _, x := range hosts {
				dst = append(dst, x-h)
				h = x
			}
		} else {
			dst = append(dst, shapeBitmap)
			dst = appendHostBitmap(dst, hosts)
		}
		count++
		addrs += blk.k
	}
	return putCount(dst, pos, uint64(count)), addrs
}

// appendHostBitmap appends the 256-bit bitmap of hosts, which ascend. It
// sets the bits of each 64-bit word in a register and stores the word once:
// setting them in memory one at a time makes each wait for the store before
// it. Hosts in a row, a subnet numbered in order, are set a word at a time.
func appendHostBitmap(dst []byte, hosts []byte) []byte {
	var words [bitmapLen / 8]uint64
	if n := len(hosts); int(hosts[n-1]-hosts[0]) == n-1 {
		for lo, hi := uint(hosts[0]), uint(hosts[n-1])+1; lo < hi; {
			w := lo / 64
			end := min(hi, (w+1)*64) // the end of the row within word w
			words[w%4] = (^uint64(0) >> (64 - (end - lo))) << (lo % 64)
			lo = end
		}
	} else {
		var word uint64
		w := byte(0) // the index of word in words
		for _, h := range hosts {
			if h/64 != w {
				words[w%4] = word
				word, w = 0, h/64
			}
			word |= 1 << (h % 64)
		}
		words[w%4] = word
	}
	for _, word := range words {
		dst = binary.LittleEndian.AppendUint64(dst, word)
	}
	return dst
}

func v4Len(t core.NetIDTable, n4 int) (n, addrs int) {
	var blk v4Block
	var prev uint32
	count := 0
	for i := 0; i < n4; i = blk.end {
		blk.scan(t, i, n4)
		n += uvarintLen(uint64(blk.prefix-prev)) + min(hostListLen(blk.k), bitmapCost)
		prev = blk.prefix
		count++
		addrs += blk.k
	}
	return n + uvarintLen(uint64(count)), addrs
}

// IPv6 addresses.

// commonPrefix returns the number of leading bytes a and b share.
func commonPrefix(a, b *[16]byte) int {
	if x := binary.BigEndian.Uint64(a[:8]) ^ binary.BigEndian.Uint64(b[:8]); x != 0 {
		return bits.LeadingZeros64(x) / 8
	}
	return 8 + bits.LeadingZeros64(binary.BigEndian.Uint64(a[8:])^binary.BigEndian.Uint64(b[8:]))/8
}

// v6Addrs iterates over the distinct IPv6 addresses of a table.
type v6Addrs struct {
	t     core.NetIDTable
	i     int
	prev  [16]byte
	first bool
}

func newV6Addrs(t core.NetIDTable, n4 int) v6Addrs { return v6Addrs{t: t, i: n4, first: true} }

// next returns the next distinct address and how many leading bytes it
// shares with the previous one (0 for the first); ok is false at the end.
func (it *v6Addrs) next() (a [16]byte, shared int, ok bool) {
	n := it.t.Len()
	if it.i >= n {
		return a, 0, false
	}
	addr := it.t.At(it.i).Addr()
	for it.i++; it.i < n && it.t.At(it.i).Addr() == addr; it.i++ {
	}
	a = addr.As16()
	if !it.first {
		shared = commonPrefix(&it.prev, &a)
	}
	it.prev, it.first = a, false
	return a, shared, true
}

// appendV6 appends the IPv6 section and returns the number of distinct IPv6
// addresses.
func appendV6(dst []byte, t core.NetIDTable, n4 int) ([]byte, int) {
	pos := len(dst)
	dst = append(dst, 0)
	it := newV6Addrs(t, n4)
	count := 0
	for {
		a, shared, ok := it.next()
		if !ok {
			break
		}
		dst = append(dst, byte(shared))
		dst = append(dst, a[shared:]...)
		count++
	}
	return putCount(dst, pos, uint64(count)), count
}

func v6Len(t core.NetIDTable, n4 int) (n, addrs int) {
	it := newV6Addrs(t, n4)
	for {
		_, shared, ok := it.next()
		if !ok {
			break
		}
		n += 1 + 16 - shared
		addrs++
	}
	return n + uvarintLen(uint64(addrs)), addrs
}

// Multiplicity and ports.

// multRuns iterates over the runs of distinct addresses with the same number
// of entries (ports).
type multRuns struct {
	t    core.NetIDTable
	i    int // the first entry not yet in a returned run
	next int // the entry after the address at i, or 0 when not yet scanned
}

// addrEnd returns the index after the entries of the address of entry i.
func addrEnd(t core.NetIDTable, i int) int {
	a := t.At(i).Addr()
	n := t.Len()
	for i++; i < n && t.At(i).Addr() == a; i++ {
	}
	return i
}

// run returns the next run: its length in addresses and the ports each
// address has; length is 0 at the end.
func (it *multRuns) run() (length, ports int) {
	n := it.t.Len()
	for it.i < n {
		if it.next <= it.i {
			it.next = addrEnd(it.t, it.i)
		}
		m := it.next - it.i
		if length > 0 && m != ports {
			break
		}
		length, ports = length+1, m
		it.i = it.next
	}
	return length, ports
}

// appendMultiplicity appends the multiplicity section of t, which has
// addrs distinct addresses.
func appendMultiplicity(dst []byte, t core.NetIDTable, addrs int) []byte {
	if addrs == t.Len() { // one port each, or an empty table
		return appendOneRun(dst, addrs, 1)
	}
	pos := len(dst)
	dst = append(dst, 0)
	it := multRuns{t: t}
	count := 0
	for {
		length, ports := it.run()
		if length == 0 {
			break
		}
		dst = binary.AppendUvarint(dst, uint64(length))
		dst = binary.AppendUvarint(dst, uint64(ports))
		count++
	}
	return putCount(dst, pos, uint64(count))
}

func multiplicityLen(t core.NetIDTable, addrs int) int {
	if addrs == t.Len() {
		return oneRunLen(addrs, 1)
	}
	it := multRuns{t: t}
	n, count := 0, 0
	for {
		length, ports := it.run()
		if length == 0 {
			break
		}
		n += uvarintLen(uint64(length)) + uvarintLen(uint64(ports))
		count++
	}
	return n + uvarintLen(uint64(count))
}

// appendOneRun appends the run-length coding of length equal values v: no
// run when length is 0, else one.
func appendOneRun(dst []byte, length, v int) []byte {
	if length == 0 {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(length))
	return binary.AppendUvarint(dst, uint64(v))
}

func oneRunLen(length, v int) int {
	if length == 0 {
		return 1
	}
	return 1 + uvarintLen(uint64(length)) + uvarintLen(uint64(v))
}

// portRun returns the run of equal ports that starts at entry i: the index
// after it and the port.
func portRun(t core.NetIDTable, i int) (end int, port uint16) {
	port = t.At(i).Port()
	n := t.Len()
	for i++; i < n && t.At(i).Port() == port; i++ {
	}
	return i, port
}

func appendPorts(dst []byte, t core.NetIDTable) []byte {
	pos := len(dst)
	dst = append(dst, 0)
	count := 0
	for i, n := 0, t.Len(); i < n; count++ {
		end, port := portRun(t, i)
		dst = binary.AppendUvarint(dst, uint64(end-i))
		dst = binary.AppendUvarint(dst, uint64(port))
		i = end
	}
	return putCount(dst, pos, uint64(count))
}

func portsLen(t core.NetIDTable) int {
	n, count := 0, 0
	for i, l := 0, t.Len(); i < l; count++ {
		end, port := portRun(t, i)
		n += uvarintLen(uint64(end-i)) + uvarintLen(uint64(port))
		i = end
	}
	return n + uvarintLen(uint64(count))
}

// Decoding.

// table decodes a NetID table. The entries are appended to scratch[:0],
// which the table then keeps: a caller that reuses scratch must be done with
// the previous table. On error it returns the empty table and the error
// sticks in r.err.
//
// The entry count is known only once the multiplicity runs, which follow
// the addresses, are read. So table first reads every section, checking
// every rule of the format and counting, without allocating; then it builds
// the entries into one slice of the exact length, walking the address
// sections again (now known to be well formed) beside the multiplicity and
// port runs. When every address has one port and the IPv4 blocks are a few
// runs of consecutive hosts (a subnet numbered in order), the scan keeps
// those runs and the build adds them without the second walk. The
// addresses ascend by construction (or by the IPv6 check), so the one
// order rule left is that the ports of an address ascend:
// core.NetIDTableBuilder, which checks the order of the entries as they
// are added (a run of consecutive addresses at once), is that check.
func (r *reader) table(scratch []core.NetID) core.NetIDTable {
	t, _ := r.tableReusing(scratch)
	return t
}

// tableReusing is table that also returns the slice the entries went into,
// so a caller can reuse it for the next table once it no longer needs this
// one.
func (r *reader) tableReusing(scratch []core.NetID) (core.NetIDTable, []core.NetID) {
	if r.err != nil {
		return core.NetIDTable{}, scratch
	}
	start := r.off
	var runs v4Runs
	v4, nBlocks, n4 := r.scanV4(&runs)
	v6, n6 := r.scanV6()
	nAddrs := uint64(n4) + uint64(n6)
	if r.err == nil && nAddrs > MaxTableEntries {
		r.failf(ErrListTooLong, "%d distinct addresses exceed %d", nAddrs, MaxTableEntries)
	}
	mult, nEntries := r.scanMultiplicity(nAddrs)
	ports := r.scanPorts(nEntries)
	if r.err != nil {
		return core.NetIDTable{}, scratch
	}

	// The builder appends to ids, which has room for every entry, so the
	// table's entries are ids[:nEntries].
	ids := slices.Grow(scratch[:0], int(nEntries))
	b := tableBuilder{
		mult:  runIter{b: mult},
		ports: ports,
		one:   nEntries == nAddrs,
	}
	b.ids.Reset(ids)
	switch {
	case b.one && runs.n >= 0:
		for _, run := range runs.runs[:runs.n] {
			b.addRun(run.first, run.n)
		}
	case b.one:
		b.addV4One(v4, nBlocks)
	default:
		b.addV4(v4, nBlocks)
	}
	b.addV6(v6, n6)
	t, err := b.ids.Table()
	if err != nil {
		r.fail(fmt.Errorf("NetID table at offset %d: %w", start, err))
		return core.NetIDTable{}, scratch
	}
	return t, ids[:t.Len()]
}

// v4Runs is the IPv4 section of a table as runs of consecutive addresses,
// as scanV4 finds them when each block is one run: the builder then adds
// them a run at a time without reading the section again.
type v4Runs struct {
	n    int // runs held, or -1 when the section is not held
	runs [8]struct {
		first uint32 // the first address, as a big-endian number
		n     int
	}
}

// add adds the run of n addresses from first, or gives up on the section
// when the runs do not fit.
func (rs *v4Runs) add(first uint32, n int) {
	if rs.n < 0 || rs.n == len(rs.runs) {
		rs.n = -1
		return
	}
	rs.runs[rs.n].first, rs.runs[rs.n].n = first, n
	rs.n++
}

// scanV4 reads and checks the IPv4 section and returns its blocks (the
// bytes after the block count), the block count and the address count.
func (r *reader) scanV4(runs *v4Runs) (blocks []byte, nBlocks, nAddrs int) {
	// A block takes at least three bytes.
	nBlocks = r.count("IPv4 block", MaxTableEntries, 3)
	start := r.off
	runs.n = 0
	var prefix uint64
	for i := 0; i < nBlocks && r.err == nil; i++ {
		delta, ok := r.varint1()
		if !ok {
			delta = r.uvarint("IPv4 prefix delta")
		}
		shape, ok := r.varint1()
		if !ok {
			shape = r.uvarint("IPv4 block shape")
		}
		switch {
		case r.err != nil:
		case i > 0 && delta == 0:
			r.failf(ErrMalformed, "IPv4 block %d: prefix delta 0", i)
		case delta >= maxPrefix-prefix:
			r.failf(ErrMalformed, "IPv4 block %d: prefix %d+%d is not below 2^24", i, prefix, delta)
		case shape == shapeBitmap:
			prefix += delta
			bm := r.bytes("IPv4 host bitmap", bitmapLen)
			if bm == nil {
				break
			}
			var w [bitmapLen / 8]uint64
			c := 0
			for j := range w {
				w[j] = binary.LittleEndian.Uint64(bm[8*j:])
				c += bits.OnesCount64(w[j])
			}
			switch {
			case c == 0:
				r.failf(ErrMalformed, "IPv4 block %d: empty host bitmap", i)
			case prefix == 0 && bm[0]&1 != 0:
				r.failf(ErrMalformed, "IPv4 block %d: unspecified address 0.0.0.0", i)
			default:
				// The hosts are one run when the first and the last are
				// c-1 apart.
				lo, hi := 0, len(w)-1
				for w[lo] == 0 {
					lo++
				}
				for w[hi] == 0 {
					hi--
				}
				first := 64*lo + bits.TrailingZeros64(w[lo])
				if last := 64*hi + 63 - bits.LeadingZeros64(w[hi]); last-first+1 == c {
					runs.add(uint32(prefix)<<8|uint32(first), c)
				} else {
					runs.n = -1
				}
			}
			nAddrs += c
		case shape >= 2 && shape <= 2*maxBlockHosts && shape%2 == 0:
			prefix += delta
			hosts := r.bytes("IPv4 host list", int(shape/2))
			if hosts == nil {
				break
			}
			if prefix == 0 && hosts[0] == 0 {
				r.failf(ErrMalformed, "IPv4 block %d: unspecified address 0.0.0.0", i)
			}
			// Each delta is at least 1 and the last host at most 255:
			// checked for the whole list at once, then located.
			sum, zero := byteSum(hosts[1:])
			if zero || uint(hosts[0])+sum > 255 {
				r.failHostList(i, hosts)
			}
			if sum == uint(len(hosts)-1) { // each delta 1: consecutive hosts
				runs.add(uint32(prefix)<<8|uint32(hosts[0]), len(hosts))
			} else {
				runs.n = -1
			}
			nAddrs += len(hosts)
		default:
			r.failf(ErrMalformed, "IPv4 block %d: shape %d", i, shape)
		}
	}
	return r.b[start:r.off], nBlocks, nAddrs
}

// byteSum returns the sum of the bytes of p and whether one of them is 0,
// eight bytes at a time.
func byteSum(p []byte) (sum uint, zero bool) {
	if len(p) < 8 {
		for _, c := range p {
			sum += uint(c)
			zero = zero || c == 0
		}
		return sum, zero
	}
	var zeros uint64
	// The last eight bytes, shifted so that only those the words below do
	// not cover remain; the shifted-in bytes count as non-zero.
	shift := 8 * (8 - uint(len(p)%8)) % 64
	last := binary.LittleEndian.Uint64(p[len(p)-8:])
	if shift != 0 {
		sum, zeros = wordSum(last>>shift, ^(^uint64(0) >> shift))
	}
	for ; len(p) >= 8; p = p[8:] {
		s, z := wordSum(binary.LittleEndian.Uint64(p), 0)
		sum, zeros = sum+s, zeros|z
	}
	return sum, zeros != 0
}

// wordSum returns the sum of the bytes of x, and a non-zero word when one
// of the bytes of x|pad is 0. The bytes are added in pairs into four
// 16-bit lanes (each at most 510), then the lanes into the top one (at
// most 2040) by a multiplication.
func wordSum(x, pad uint64) (sum uint, zeros uint64) {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
		evens = 0x00ff00ff00ff00ff
	)
	y := x | pad
	pairs := x&evens + x>>8&evens
	return uint(pairs * 0x0001000100010001 >> 48), (y - ones) &^ y & highs
}

// failHostList fails with the first bad delta of the host list of block i.
func (r *reader) failHostList(i int, hosts []byte) {
	h := uint(hosts[0])
	for j, d := range hosts[1:] {
		h += uint(d)
		if d == 0 || h > 255 {
			r.failf(ErrMalformed, "IPv4 block %d: host %d: delta %d after host %d", i, j+1, d, h-uint(d))
			return
		}
	}
}

// scanV6 reads and checks the IPv6 section and returns its addresses (the
// bytes after the count) and their count.
func (r *reader) scanV6() (addrs []byte, n int) {
	// An address takes at least two bytes.
	n = r.count("IPv6 address", MaxTableEntries, 2)
	start := r.off
	var prev [16]byte
	for i := 0; i < n && r.err == nil; i++ {
		shared := int(r.byte1("IPv6 shared prefix length"))
		if shared > maxShared || i == 0 && shared != 0 {
			r.failf(ErrMalformed, "IPv6 address %d: shared prefix length %d", i, shared)
			break
		}
		tail := r.bytes("IPv6 address", 16-shared)
		switch {
		case tail == nil:
		case i > 0 && tail[0] == prev[shared]:
			r.failf(ErrMalformed, "IPv6 address %d: shares more than %d leading bytes with the previous one", i, shared)
		case i > 0 && tail[0] < prev[shared]:
			r.fail(fmt.Errorf("%w: IPv6 address %d below the previous one at offset %d", ErrTableOrder, i, r.off))
		default:
			copy(prev[shared:], tail)
			a := netip.AddrFrom16(prev)
			if a.IsUnspecified() || a.Is4In6() {
				r.failf(ErrMalformed, "IPv6 address %d: %s", i, a)
			}
		}
	}
	return r.b[start:r.off], n
}

// scanMultiplicity reads and checks the multiplicity runs over nAddrs
// addresses and returns them (the bytes after the run count) and the
// entry count.
func (r *reader) scanMultiplicity(nAddrs uint64) (runs []byte, nEntries uint64) {
	// A run takes at least two bytes.
	nRuns := r.count("multiplicity run", MaxTableEntries, 2)
	start := r.off
	var covered uint64
	for i := 0; i < nRuns && r.err == nil; i++ {
		length, ok := r.varint1()
		if !ok {
			length = r.uvarint("multiplicity run length")
		}
		ports, ok := r.varint1()
		if !ok {
			ports = r.uvarint("ports per address")
		}
		switch {
		case r.err != nil:
		case length == 0 || length > nAddrs-covered:
			r.failf(ErrMalformed, "multiplicity run %d: length %d with %d of %d addresses left", i, length, nAddrs-covered, nAddrs)
		case ports == 0 || ports > maxPort:
			r.failf(ErrMalformed, "multiplicity run %d: %d ports per address", i, ports)
		default:
			covered += length
			nEntries += length * ports
			if nEntries > MaxTableEntries {
				r.failf(ErrListTooLong, "table of more than %d entries", MaxTableEntries)
			}
		}
	}
	if r.err == nil && covered != nAddrs {
		r.failf(ErrMalformed, "multiplicity runs cover %d of %d addresses", covered, nAddrs)
	}
	return r.b[start:r.off], nEntries
}

// scanPorts reads and checks the port runs over nEntries entries and
// returns an iterator over them, its first run already read (a table of
// one port has no other).
func (r *reader) scanPorts(nEntries uint64) (ports runIter) {
	// A run takes at least two bytes.
	nRuns := r.count("port run", MaxTableEntries, 2)
	start := r.off
	var covered uint64
	for i := 0; i < nRuns && r.err == nil; i++ {
		length, ok := r.varint1()
		if !ok {
			length = r.uvarint("port run length")
		}
		port := r.uvarint("port")
		switch {
		case r.err != nil:
		case length == 0 || length > nEntries-covered:
			r.failf(ErrMalformed, "port run %d: length %d with %d of %d entries left", i, length, nEntries-covered, nEntries)
		case port == 0 || port > maxPort:
			r.failf(ErrMalformed, "port run %d: port %d", i, port)
		default:
			covered += length
			if i == 0 {
				ports = runIter{left: length, value: port}
				start = r.off
			}
		}
	}
	if r.err == nil && covered != nEntries {
		r.failf(ErrMalformed, "port runs cover %d of %d entries", covered, nEntries)
	}
	ports.b = r.b[start:r.off]
	return ports
}

// runIter reads well-formed run-length coded pairs (length, value).
type runIter struct {
	b     []byte
	left  uint64 // entries left in the current run
	value uint64 // the current run's value
}

// next returns the next value.
func (it *runIter) next() uint64 {
	if it.left == 0 {
		it.refill()
	}
	it.left--
	return it.value
}

// refill reads the next run.
func (it *runIter) refill() {
	l, n := binary.Uvarint(it.b)
	v, m := binary.Uvarint(it.b[n:])
	it.b = it.b[n+m:]
	it.left, it.value = l, v
}

// tableBuilder adds the entries of each address in turn to a table builder,
// taking their count from the multiplicity runs and their ports from the
// port runs. Every section it reads was checked; the builder checks the
// order (the ports of an address must ascend) and validity again, as it
// adds them.
type tableBuilder struct {
	ids   core.NetIDTableBuilder
	mult  runIter
	ports runIter
	one   bool // every address has one port: the multiplicity runs are not read
}

// addV4One is addV4 for a table whose addresses have one port each, the
// common case. A block whose hosts make long runs (a subnet numbered in
// order) is added a run at a time; any other, as a sorted array of
// addresses.
func (b *tableBuilder) addV4One(blocks []byte, nBlocks int) {
	p := blocks
	var prefix uint32
	for range nBlocks {
		delta, shape, rest := blockHead(p)
		p = rest
		prefix += uint32(delta)
		base := prefix << 8
		if shape == shapeBitmap {
			bm := p[:bitmapLen]
			p = p[bitmapLen:]
			// The hosts and the runs they make: runs of eight hosts or
			// more on average are added a run at a time.
			k, runs, carry := 0, 0, uint64(0)
			for w := range bitmapLen / 8 {
				x := binary.LittleEndian.Uint64(bm[8*w:])
				k += bits.OnesCount64(x)
				runs += bits.OnesCount64(x &^ (x<<1 | carry)) // the first host of each run
				carry = x >> 63
			}
			if 8*runs > k {
				b.addBitmap(base, bm)
				continue
			}
			for w := range uint32(bitmapLen / 8) {
				x := binary.LittleEndian.Uint64(bm[8*w:])
				for x != 0 {
					lo := uint(bits.TrailingZeros64(x))
					n := uint(bits.TrailingZeros64(^(x >> lo))) // the run's hosts in x
					x &^= (1<<n - 1) << lo
					b.addRun(base|w<<6|uint32(lo), int(n))
				}
			}
			continue
		}
		hosts := p[:shape/2]
		p = p[shape/2:]
		// The hosts are consecutive when the last less the first is one
		// less than their number.
		if span, _ := byteSum(hosts[1:]); span == uint(len(hosts)-1) {
			b.addRun(base+uint32(hosts[0]), len(hosts))
		} else {
			b.addHosts(base, hosts)
		}
	}
}

// addBitmap adds the hosts of a block's bitmap, base being the block's
// first address.
func (b *tableBuilder) addBitmap(base uint32, bm []byte) {
	var addrs [maxBlockHosts]uint32
	k := 0
	for w := range uint32(bitmapLen / 8) {
		for x := binary.LittleEndian.Uint64(bm[8*w:]); x != 0; x &= x - 1 {
			addrs[k&(maxBlockHosts-1)] = base | w<<6 | uint32(bits.TrailingZeros64(x))
			k++
		}
	}
	b.addAddrs(addrs[:k])
}

// addHosts adds the hosts of a block's host list, base being the block's
// first address.
func (b *tableBuilder) addHosts(base uint32, hosts []byte) {
	var addrs [maxBlockHosts]uint32
	a := base
	for i, d := range hosts[:min(len(hosts), maxBlockHosts)] {
		a += uint32(d)
		addrs[i] = a
	}
	b.addAddrs(addrs[:len(hosts)])
}

// addAddrs adds the IPv4 addresses addrs, which ascend, one port each, a
// port run at a time.
func (b *tableBuilder) addAddrs(addrs []uint32) {
	for len(addrs) > 0 {
		if b.ports.left == 0 {
			b.ports.refill()
		}
		k := min(uint64(len(addrs)), b.ports.left)
		b.ports.left -= k
		b.ids.Add4(addrs[:k], uint16(b.ports.value))
		addrs = addrs[k:]
	}
}

// blockHead reads the head of an IPv4 block that was checked already: the
// delta to its /24 prefix and its shape. It returns the block's body after
// them.
func blockHead(p []byte) (delta, shape uint64, body []byte) {
	delta, n := binary.Uvarint(p)
	shape, m := binary.Uvarint(p[n:])
	return delta, shape, p[n+m:]
}

// addRun adds the IPv4 addresses a to a+n-1, one port each, a port run at a
// time.
func (b *tableBuilder) addRun(a uint32, n int) {
	for n > 0 {
		if b.ports.left == 0 {
			b.ports.refill()
		}
		k := min(uint64(n), b.ports.left)
		b.ports.left -= k
		b.ids.AddRun4(a, int(k), uint16(b.ports.value))
		a += uint32(k)
		n -= int(k)
	}
}

// addV4 adds the entries of the IPv4 addresses of blocks.
func (b *tableBuilder) addV4(blocks []byte, nBlocks int) {
	var addrs [maxBlockHosts]uint32 // one block's addresses
	p := blocks
	var prefix uint32
	for range nBlocks {
		delta, shape, rest := blockHead(p)
		p = rest
		prefix += uint32(delta)
		base := prefix << 8
		k := 0
		if shape == shapeBitmap {
			for w := range uint32(bitmapLen / 8) {
				for x := binary.LittleEndian.Uint64(p[8*w:]); x != 0; x &= x - 1 {
					addrs[k&(maxBlockHosts-1)] = base | w<<6 | uint32(bits.TrailingZeros64(x))
					k++
				}
			}
			p = p[bitmapLen:]
		} else {
			a := base
			for _, d := range p[:shape/2] {
				a += uint32(d)
				addrs[k&(maxBlockHosts-1)] = a
				k++
			}
			p = p[shape/2:]
		}
		b.add4(addrs[:k])
	}
}

// add4 adds the entries of the IPv4 addresses addrs. NetIDFrom4 cannot
// refuse them: the scan refused 0.0.0.0 and port 0. (Were it to, the
// builder refuses the zero NetID it returns.)
func (b *tableBuilder) add4(addrs []uint32) {
	for len(addrs) > 0 {
		// A span of addresses with the same number of ports.
		if b.mult.left == 0 {
			b.mult.refill()
		}
		span := addrs[:min(uint64(len(addrs)), b.mult.left)]
		addrs = addrs[len(span):]
		b.mult.left -= uint64(len(span))
		if b.mult.value != 1 {
			for _, a := range span {
				for range b.mult.value {
					b.ids.Add(core.NetIDFrom4(as4(a), uint16(b.ports.next())))
				}
			}
			continue
		}
		b.addAddrs(span)
	}
}

// as4 returns the bytes of IPv4 address a.
func as4(a uint32) (b [4]byte) {
	binary.BigEndian.PutUint32(b[:], a)
	return b
}

// addV6 adds the entries of the n IPv6 addresses of addrs.
func (b *tableBuilder) addV6(addrs []byte, n int) {
	p := addrs
	var a [16]byte
	for range n {
		shared := int(p[0])
		copy(a[shared:], p[1:17-shared])
		p = p[17-shared:]
		addr := netip.AddrFrom16(a)
		ports := uint64(1)
		if !b.one {
			ports = b.mult.next()
		}
		for range ports {
			// As in add4: the scan refused every input NetIDFrom
			// refuses, and the builder the zero NetID.
			id, _ := core.NetIDFrom(addr, uint16(b.ports.next()))
			b.ids.Add(id)
		}
	}
}

// Lists.

// A span is the table entries start to end-1 of a list. Lists are held as
// sequences of spans, ascending, neither empty nor touching: lists are
// mostly runs of consecutive entries (a table is sorted by address, so the
// nodes of a subnet are neighbours), which a span encodes, copies or marks
// at once.
type span struct{ start, end int }

// spansLen returns the number of entries sp names.
func spansLen(sp []span) int {
	n := 0
	for _, s := range sp {
		n += s.end - s.start
	}
	return n
}

// appendSpan appends the entries start to end-1, after the last span of
// dst, to dst: the last span grows when they follow it.
func appendSpan(dst []span, start, end int) []span {
	if n := len(dst); n > 0 && dst[n-1].end == start {
		dst[n-1].end = end
		return dst
	}
	return append(dst, span{start, end})
}

// spansOf appends to dst the spans of idx, which is strictly ascending.
func spansOf(dst []span, idx []int) []span {
	for _, i := range idx {
		dst = appendSpan(dst, i, i+1)
	}
	return dst
}

// listForm returns the number of entries of the list of sp, which is not
// empty, the length of its shorter form, and whether that is the bitmap
// (references win ties).
func listForm(sp []span) (k, n int, bitmap bool) {
	if len(sp) == 1 { // one run, the common case, in closed form
		start := sp[0].start
		k = sp[0].end - start
		bm := uvarintLen(uint64(2*k+1)) + uvarintLen(uint64(start)) + (k+7)/8
		refs := uvarintLen(uint64(2*k)) + uvarintLen(uint64(start)) + k - 1
		if refs <= bm {
			return k, refs, false
		}
		return k, bm, true
	}
	k = spansLen(sp)
	start, bits := sp[0].start, sp[len(sp)-1].end-sp[0].start
	bm := uvarintLen(uint64(2*bits+1)) + uvarintLen(uint64(start)) + (bits+7)/8
	// A reference takes at least one byte: a dense list loses on that
	// bound alone.
	refs := uvarintLen(uint64(2*k)) + k
	if refs > bm {
		return k, bm, true
	}
	// The first reference of a span is its distance from the previous
	// span; the others are 0, one byte each.
	prev := 0 // the end of the previous span
	for _, s := range sp {
		refs += uvarintLen(uint64(s.start-prev)) - 1
		prev = s.end
	}
	if refs <= bm {
		return k, refs, false
	}
	return k, bm, true
}

// appendList appends the list of sp, ascending and not touching spans of
// table entries, in the shorter of its two forms (references when they are
// equally long).
func appendList(dst []byte, sp []span) []byte {
	switch len(sp) {
	case 0:
		return append(dst, 0)
	case 1:
		return appendRun(dst, sp[0].start, sp[0].end-sp[0].start)
	}
	k, _, bitmap := listForm(sp)
	if !bitmap {
		dst = binary.AppendUvarint(dst, uint64(2*k))
		prev := 0
		for _, s := range sp {
			dst = binary.AppendUvarint(dst, uint64(s.start-prev))
			for range s.end - s.start - 1 {
				dst = append(dst, 0) // the next entry
			}
			prev = s.end
		}
		return dst
	}
	start, n := sp[0].start, sp[len(sp)-1].end-sp[0].start
	dst = binary.AppendUvarint(dst, uint64(2*n+1))
	dst = binary.AppendUvarint(dst, uint64(start))
	dst = append(dst, make([]byte, (n+7)/8)...)
	bm := dst[len(dst)-(n+7)/8:]
	for _, s := range sp {
		setBits(bm, s.start-start, s.end-start)
	}
	return dst
}

// appendRun appends the list of the k entries from start, what appendList
// writes for the one span {start, start+k} (or none when k is 0). The
// references are the shorter form, or as short, exactly when k <= 2: both
// forms spend the same on their header (2k and 2k+1 have the same length)
// and start, then k-1 bytes against (k+7)/8.
func appendRun(dst []byte, start, k int) []byte {
	switch {
	case k == 0:
		return append(dst, 0)
	case k <= 2:
		dst = binary.AppendUvarint(dst, uint64(2*k))
		dst = binary.AppendUvarint(dst, uint64(start))
		if k == 2 {
			dst = append(dst, 0) // the next entry
		}
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(2*k+1))
	dst = binary.AppendUvarint(dst, uint64(start))
	for range k / 8 {
		dst = append(dst, 0xff)
	}
	if k%8 != 0 {
		dst = append(dst, 1<<(k%8)-1)
	}
	return dst
}

// setBits sets bits lo to hi-1 of bitmap bm, a byte at a time.
func setBits(bm []byte, lo, hi int) {
	for lo < hi {
		n := min(hi-lo, 8-lo%8) // bits to set in byte lo/8
		bm[lo/8] |= byte(1<<n-1) << (lo % 8)
		lo += n
	}
}

// listLen returns the number of bytes appendList writes for sp.
func listLen(sp []span) int {
	if len(sp) == 0 {
		return 1
	}
	_, n, _ := listForm(sp)
	return n
}

// spans decodes a list over a table of tableLen entries that may hold at
// most max of them, setting dst to its spans, and returns them with the
// list's length. Errors stick in r.err and match ErrTruncated, ErrMalformed,
// ErrListTooLong (more elements than max or than the table) or ErrTableRef
// (an index past the table); what names the list in them.
func (r *reader) spans(what string, tableLen int, max int, dst []span) ([]span, int) {
	dst = dst[:0]
	tableLen, max = clampNonNeg(tableLen), clampNonNeg(max)
	h, ok := r.varint1()
	if !ok {
		if h = r.uvarint(what); r.err != nil {
			return dst, 0
		}
	}
	if h%2 == 0 {
		k := h / 2
		switch {
		case k > uint64(max) || k > uint64(tableLen):
			r.failf(ErrListTooLong, "%s of %d references: table has %d entries, limit %d", what, k, tableLen, max)
			return dst, 0
		case k > uint64(r.remaining()):
			r.failf(ErrTruncated, "%s of %d references: %d bytes remain", what, k, r.remaining())
			return dst, 0
		}
		var next uint64 // the smallest index the next reference may name
		for range k {
			d, ok := r.varint1()
			if !ok {
				if d = r.uvarint(what); r.err != nil {
					return dst[:0], 0
				}
			}
			if d >= uint64(tableLen)-next {
				r.failf(ErrTableRef, "%s: reference to entry %d+%d, table has %d entries", what, next, d, tableLen)
				return dst[:0], 0
			}
			next += d
			dst = appendSpan(dst, int(next), int(next)+1)
			next++
		}
		return dst, int(k)
	}
	n := h / 2 // (h-1)/2 for odd h
	if n == 0 {
		r.failf(ErrMalformed, "%s: empty bitmap", what)
		return dst, 0
	}
	if n > uint64(tableLen) {
		r.failf(ErrListTooLong, "%s: bitmap of %d bits, table has %d entries", what, n, tableLen)
		return dst, 0
	}
	start, ok := r.varint1()
	if !ok {
		if start = r.uvarint(what); r.err != nil {
			return dst, 0
		}
	}
	switch {
	case start > uint64(tableLen)-n:
		r.failf(ErrTableRef, "%s: bitmap over entries %d to %d, table has %d entries", what, start, start+n-1, tableLen)
		return dst, 0
	}
	bm := r.bytes(what, int((n+7)/8))
	if bm == nil {
		return dst, 0
	}
	switch last, top := bm[len(bm)-1], (n-1)%8; {
	case last>>top&1 == 0:
		r.failf(ErrMalformed, "%s: last bit (%d) of bitmap not set", what, n-1)
		return dst, 0
	case last>>top != 1:
		r.failf(ErrMalformed, "%s: bits past bit %d of bitmap set", what, n-1)
		return dst, 0
	}
	// The runs of set bits, 64 bits at a time, counting them.
	c := 0
	for base := int(start); len(bm) > 0; base += 64 {
		var x uint64
		if len(bm) >= 8 {
			x, bm = binary.LittleEndian.Uint64(bm), bm[8:]
		} else {
			for i, b := range bm {
				x |= uint64(b) << (8 * i)
			}
			bm = nil
		}
		c += bits.OnesCount64(x)
		// The k-th first bit of a run in x and the k-th last bit bound
		// the k-th run.
		firsts, lasts := x&^(x<<1), x&^(x>>1)
		for ; firsts != 0; firsts, lasts = firsts&(firsts-1), lasts&(lasts-1) {
			from := base + bits.TrailingZeros64(firsts)
			to := base + bits.TrailingZeros64(lasts) + 1
			dst = appendSpan(dst, from, to)
		}
	}
	if c > max {
		r.failf(ErrListTooLong, "%s of %d entries: limit %d", what, c, max)
		return dst[:0], 0
	}
	return dst, c
}

func clampNonNeg(n int) int { return max(n, 0) }

// oneRun reads the next list when it is the common case of a group's or the
// others' list: one run of entries in the bitmap form, of fewer than 64
// bits, its header and start one byte each. It returns the run and true, by
// the rules of spans; otherwise it reads nothing and returns false, for the
// caller to call spans, which also reports every error.
func (r *reader) oneRun(tableLen, max int) (span, bool) {
	if r.err != nil {
		return span{}, false
	}
	s, size, ok := runAt(r.b[r.off:], tableLen, max)
	if ok {
		r.off += size
	}
	return s, ok
}

// runAt is oneRun over the list that starts p: it returns the run, the
// list's length in bytes and true, or false when the list is not that case
// (or breaks a rule of spans).
func runAt(p []byte, tableLen, max int) (s span, size int, ok bool) {
	if len(p) < 3 {
		return span{}, 0, false
	}
	// The bitmap's bytes, in one load when eight are there (a payload
	// follows the lists, so they usually are); runOf masks what is past
	// the bitmap.
	var x uint64
	if len(p) >= 10 {
		x = binary.LittleEndian.Uint64(p[2:10])
	} else {
		for i, c := range p[2:] {
			x |= uint64(c) << (8 * i)
		}
	}
	from, to, nb, ok := runOf(p[0], p[1], x, uint(tableLen))
	if !ok || uint(len(p)) < 2+nb || to-from > uint(max) {
		return span{}, 0, false
	}
	return span{int(from), int(to)}, int(2 + nb), true
}

// runOf checks that a list whose first two bytes are h and start, and whose
// next eight bytes (as far as they go) are x, is one run in the bitmap
// form, of fewer than 64 bits, within a table of tableLen entries, and
// returns the run (entries from to to-1) and the bitmap's length in bytes.
// The caller checks that the list's bytes are there. It is small enough to
// inline, so that runGroups's loop calls nothing.
func runOf(h, start byte, x uint64, tableLen uint) (from, to, nb uint, ok bool) {
	n := uint(h / 2)
	// h odd (the bitmap form) and both bytes below 0x80 (whole varints).
	if h&0x81|start&0x80 != 1 || uint(start)+n > tableLen {
		return 0, 0, 0, false
	}
	// x is one run of set bits ending at bit n-1, with none set after it,
	// exactly when adding its lowest set bit carries into bit n alone (for
	// n = 0, never). The shifts are masked: their counts are below 64,
	// which the compiler cannot tell.
	nb = (n + 7) / 8
	x &= ^uint64(0) >> ((64 - 8*nb) & 63)
	if x+x&-x != 1<<(n&63) {
		return 0, 0, 0, false
	}
	return uint(start) + uint(bits.TrailingZeros64(x)), uint(start) + n, nb, true
}
