package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// ErrTableOrder reports NetID table entries that are not strictly ascending
// in [NetID.Compare] order: unsorted, duplicated or invalid entries.
var ErrTableOrder = errors.New("core: NetID table not strictly ascending")

// NetIDTable is the sorted, duplicate-free set of NetIDs that one frame
// refers to. Every list in a frame (seen list, others, distribution list) and
// any payload that registers NetIDs names a node by its index in the table,
// so each NetID is written once per frame.
//
// The zero NetIDTable is empty and ready to use. A NetIDTable is immutable
// once built and safe to share between goroutines.
type NetIDTable struct {
	ids []NetID
}

// NewNetIDTable returns the table of the valid NetIDs among ids, sorted and
// without duplicates. It does not keep ids.
func NewNetIDTable(ids ...NetID) NetIDTable {
	sorted := make([]NetID, 0, len(ids))
	for _, id := range ids {
		if id.IsValid() {
			sorted = append(sorted, id)
		}
	}
	slices.SortFunc(sorted, NetID.Compare)
	return NetIDTable{ids: slices.Compact(sorted)}
}

// NetIDTableFromSorted returns the table of ids, which must be valid and
// strictly ascending; otherwise it returns an error matching ErrTableOrder.
// The table keeps ids: the caller must not change it afterwards. Decoders
// use it to build a table without sorting again.
func NetIDTableFromSorted(ids []NetID) (NetIDTable, error) {
	// The IPv4 entries, which come first, are checked in a loop without
	// branches but the loop's own: a valid IPv4 NetID's address, family
	// and port read as one number (lo<<24 | fp, at most 56 bits, never 0;
	// the family is the same for all), and the entries ascend when each
	// number is above the one before.
	var prev, above uint64 = 0, 1 // above stays 1 while they ascend
	n4 := 0
	for _, id := range ids {
		if id.fam() != FamilyIPv4 {
			break
		}
		key := id.lo<<24 | id.fp
		_, borrow := bits.Sub64(prev, key, 0) // 1 when prev < key
		above &= borrow
		prev = key
		n4++
	}
	from := n4 // the first entry the loop below checks
	if above == 0 {
		from = 0 // find and describe the first entry out of order
	}
	for i := from; i < len(ids); i++ {
		id := ids[i]
		if !id.IsValid() {
			return NetIDTable{}, fmt.Errorf("%w: entry %d is invalid", ErrTableOrder, i)
		}
		if i > 0 && !ids[i-1].less(id) {
			return NetIDTable{}, fmt.Errorf("%w: entry %d (%s) after %s", ErrTableOrder, i, id, ids[i-1])
		}
	}
	return NetIDTable{ids: ids}, nil
}

// Len returns the number of entries.
func (t NetIDTable) Len() int { return len(t.ids) }

// At returns entry i; it panics when i is out of range, as a slice does.
func (t NetIDTable) At(i int) NetID { return t.ids[i] }

// Index returns the position of id in the table and whether it is there.
func (t NetIDTable) Index(id NetID) (int, bool) {
	return t.search(id, 0, len(t.ids))
}

// search returns the position of id and whether it is there, knowing that
// the entries before lo are below id and those from hi on are not.
func (t NetIDTable) search(id NetID, lo, hi int) (int, bool) {
	// A hand-written search: the comparison inlines, which halves the
	// cost of slices.BinarySearchFunc; encoders call this for every
	// NetID of a frame.
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.ids[m].less(id) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(t.ids) && t.ids[lo] == id
}

// IndexNear is Index with a guess: it checks position guess first, which
// makes a run of consecutive entries cost one comparison each, then looks
// 1, 2, 4... entries away from it, so a NetID near the guess takes a few
// comparisons and a far one about twice a binary search's.
func (t NetIDTable) IndexNear(id NetID, guess int) (int, bool) {
	if guess >= 0 && guess < len(t.ids) && t.ids[guess] == id {
		return guess, true
	}
	return t.indexAround(id, guess)
}

// indexAround is IndexNear after a miss at guess.
func (t NetIDTable) indexAround(id NetID, guess int) (int, bool) {
	ids := t.ids
	if guess < 0 || guess >= len(ids) {
		return t.Index(id)
	}
	if ids[guess].less(id) {
		// Entries before lo are below id; from hi on, not below it.
		lo, hi, step := guess+1, guess+1, 1
		for hi < len(ids) && ids[hi].less(id) {
			lo, hi, step = hi+1, hi+step, 2*step
		}
		return t.search(id, lo, min(hi, len(ids)))
	}
	// From hi on, entries are not below id; up to lo, they are.
	lo, hi, step := guess-1, guess, 1
	for lo >= 0 && !ids[lo].less(id) {
		lo, hi, step = lo-step, lo, 2*step
	}
	return t.search(id, max(lo+1, 0), hi)
}

// Lookup returns entry i and whether i is in range: the total form of At for
// payload decoders that read an index from the wire.
func (t NetIDTable) Lookup(i uint64) (NetID, bool) {
	if i >= uint64(len(t.ids)) {
		return NetID{}, false
	}
	return t.ids[i], true
}

// IDs returns a copy of the entries in table order.
func (t NetIDTable) IDs() []NetID { return slices.Clone(t.ids) }

// Equal reports whether t and u hold the same entries.
func (t NetIDTable) Equal(u NetIDTable) bool { return slices.Equal(t.ids, u.ids) }

// NetIDTableBuilder makes a NetIDTable from NetIDs added in ascending order,
// checking the order as they come, so that a decoder builds its table in
// one pass rather than filling it and checking it again. A run of
// consecutive IPv4 addresses with one port, the common case of a subnet
// numbered in order, is added and checked at once. The zero value is ready
// to use.
type NetIDTableBuilder struct {
	ids []NetID
	err error
}

// Reset empties b, which then appends to scratch[:0]: the table built next
// keeps scratch's storage, so the caller must be done with the table built
// in it before.
func (b *NetIDTableBuilder) Reset(scratch []NetID) { b.ids, b.err = scratch[:0], nil }

// Add adds id, which must be valid and above the last NetID added.
func (b *NetIDTableBuilder) Add(id NetID) {
	if b.err != nil {
		return
	}
	if !id.IsValid() {
		b.err = fmt.Errorf("%w: entry %d is invalid", ErrTableOrder, len(b.ids))
		return
	}
	if n := len(b.ids); n > 0 && !b.ids[n-1].less(id) {
		b.err = fmt.Errorf("%w: entry %d (%s) after %s", ErrTableOrder, n, id, b.ids[n-1])
		return
	}
	b.ids = append(b.ids, id)
}

// AddRun4 adds the NetIDs of the n consecutive IPv4 addresses from a (the
// address as a big-endian number), each with port: what n calls of Add
// would, with one check of the order.
func (b *NetIDTableBuilder) AddRun4(a uint32, n int, port uint16) {
	if b.err != nil || n <= 0 {
		return
	}
	var a4 [4]byte
	binary.BigEndian.PutUint32(a4[:], a)
	first := NetIDFrom4(a4, port) // the zero NetID for 0.0.0.0 or port 0
	if uint64(a)+uint64(n)-1 > 1<<32-1 {
		b.err = fmt.Errorf("%w: %d addresses from %s pass 255.255.255.255", ErrTableOrder, n, first)
		return
	}
	if b.Add(first); b.err != nil {
		return
	}
	// The others ascend from first, and are neither 0.0.0.0 nor port 0.
	start := len(b.ids)
	b.ids = slices.Grow(b.ids, n-1)[:start+n-1]
	run, lo, fp := b.ids[start:], uint64(a)+1, first.fp
	i := 0
	for ; i+4 <= len(run); i += 4 { // four a turn: the loop costs as much as the stores
		q := (*[4]NetID)(run[i : i+4])
		q[0] = NetID{lo: lo, fp: fp}
		q[1] = NetID{lo: lo + 1, fp: fp}
		q[2] = NetID{lo: lo + 2, fp: fp}
		q[3] = NetID{lo: lo + 3, fp: fp}
		lo += 4
	}
	for ; i < len(run); i++ {
		run[i] = NetID{lo: lo, fp: fp}
		lo++
	}
}

// Add4 adds the NetIDs of the IPv4 addresses addrs (each as a big-endian
// number), each with port: what a call of Add for each would, with their
// order checked in one pass over the numbers.
func (b *NetIDTableBuilder) Add4(addrs []uint32, port uint16) {
	if b.err != nil || len(addrs) == 0 {
		return
	}
	ascending := true
	for i := 1; i < len(addrs); i++ {
		ascending = ascending && addrs[i-1] < addrs[i]
	}
	var a4 [4]byte
	binary.BigEndian.PutUint32(a4[:], addrs[0])
	first := NetIDFrom4(a4, port) // the zero NetID for 0.0.0.0 or port 0
	if !ascending {
		for _, a := range addrs { // Add finds and describes the entry out of order
			binary.BigEndian.PutUint32(a4[:], a)
			b.Add(NetIDFrom4(a4, port))
		}
		return
	}
	if b.Add(first); b.err != nil {
		return
	}
	// The others ascend from first, and are neither 0.0.0.0 nor port 0.
	start := len(b.ids)
	b.ids = slices.Grow(b.ids, len(addrs)-1)[:start+len(addrs)-1]
	rest := b.ids[start:]
	for i, a := range addrs[1 : len(rest)+1] {
		rest[i] = NetID{lo: uint64(a), fp: first.fp}
	}
}

// Len returns the number of NetIDs added.
func (b *NetIDTableBuilder) Len() int { return len(b.ids) }

// Table returns the table of the NetIDs added, or the first error, which
// matches ErrTableOrder. The table keeps the builder's storage; b is empty
// afterwards.
func (b *NetIDTableBuilder) Table() (NetIDTable, error) {
	ids, err := b.ids, b.err
	b.ids, b.err = nil, nil
	if err != nil {
		return NetIDTable{}, err
	}
	return NetIDTable{ids: ids}, nil
}
