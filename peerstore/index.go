package peerstore

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/chatter-go/chatter/core"
)

// Index numbers NetIDs densely: the first NetID it is asked about gets 0,
// the next 1, and so on, and a NetID keeps its number for the life of the
// index. A [Store] finds its entries through an index: it hashes a NetID
// once, in the index, then finds the entry by number in an array of its own.
//
// Several stores may share one index through [Config.Index]: that is for
// processes that hold many nodes, such as simulations, where each NetID is
// then hashed once for all the stores and kept once. A shared index never
// forgets a NetID, even when no store knows it any more, so it suits a
// fixed population, not one that churns without end. (A store with no
// Config.Index has a private index, which it renumbers as its entries come
// and go, so churn does not grow it.)
//
// The zero Index is empty and ready for use. An Index is safe for
// concurrent use. Looking a NetID up takes no lock, and writes nothing
// shared: a store looks up every NetID of every frame it receives, and the
// atomic writes of a read lock, on a cache line every lookup shares, would
// cost more than the lookup. Only numbering a new NetID locks.
type Index struct {
	mu sync.Mutex             // held to number a NetID, and by Store.compact
	t  atomic.Pointer[itable] // what lookups read; nil while the index is empty
	n  int                    // NetIDs numbered; guarded by mu
}

// itable is what a lookup reads: the hash table and the NetIDs by number.
// A new itable is published when either array is replaced (they grow by
// doubling, so that is rare); a number is added in place, first its NetID
// in ids, then the slot of tab that points to it. A lookup holding an older
// itable may then meet a slot whose number lies beyond its ids: no NetID it
// can compare, so it goes on probing (a NetID numbered before the itable
// was published lies on its probe sequence before any slot that was free
// then, so a lookup never misses one).
type itable struct {
	tab  []atomic.Uint32 // open addressing: 1 + the number of the NetID hashed to a slot, 0 for none; a power of two long, at most half full
	seed uint64          // keys the hash, drawn when tab is first made
	// ids holds the NetIDs by number, its whole capacity in view: the
	// numbers from Index.n on are zero, and written only once the number is
	// given. An element is written once, before any slot names it, so a
	// lookup that reads a number in a slot reads its NetID safely.
	ids []core.NetID
}

// Len returns the number of NetIDs the index has numbered.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.n
}

// Number numbers the NetIDs of ids that have no number yet, in order. A
// store keeps its entries in an array by number, so a simulation that
// numbers its population in address order before its stores learn of it
// gives the nodes of one subnet neighbouring entries in every store: a
// frame naming a domain's nodes then reads a few cache lines of each store
// instead of one a node.
func (x *Index) Number(ids ...core.NetID) {
	for _, id := range ids {
		if id.IsValid() {
			x.number(id)
		}
	}
}

// lookup returns id's number, if it has one. It takes no lock.
//
// The index is a hash table of its own rather than a map: every frame a
// node receives looks up each NetID it names, and a simulation does that
// for thousands of nodes, so the look-up is kept to a few integer
// operations, a load of the table and a comparison of three words.
func (x *Index) lookup(id core.NetID) (uint32, bool) {
	t := x.t.Load()
	if t == nil {
		return 0, false
	}
	mask := uint64(len(t.tab) - 1)
	for i := t.hash(id) & mask; ; i = (i + 1) & mask {
		n := t.tab[i].Load()
		if n == 0 {
			return 0, false
		}
		if int(n-1) < len(t.ids) && t.ids[n-1] == id {
			return n - 1, true
		}
	}
}

// number returns id's number, giving it the next one if it has none.
func (x *Index) number(id core.NetID) uint32 {
	if num, ok := x.lookup(id); ok {
		return num
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if num, ok := x.lookup(id); ok {
		return num // numbered by another store meanwhile
	}
	return x.add(id)
}

// hash returns id's hash under the table's seed: a mix of its address and
// port (splitmix64's finaliser), so NetIDs that differ in one bit spread
// over the table, and a sender who does not know the seed cannot make
// NetIDs collide.
func (t *itable) hash(id core.NetID) uint64 {
	var v uint64
	if a, ok := id.As4(); ok {
		v = uint64(a[0])<<40 | uint64(a[1])<<32 | uint64(a[2])<<24 | uint64(a[3])<<16 | uint64(id.Port())
	} else {
		b := id.Addr().As16()
		hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
		v = mix(hi^t.seed)*0x9e3779b97f4a7c15 ^ lo ^ uint64(id.Port())<<48 ^ 1<<63
	}
	return mix(v ^ t.seed)
}

// mix is splitmix64's finaliser: a bijection that spreads every bit of v
// over the result.
func mix(v uint64) uint64 {
	v = (v ^ v>>30) * 0xbf58476d1ce4e5b9
	v = (v ^ v>>27) * 0x94d049bb133111eb
	return v ^ v>>31
}

// maxNumbers bounds an index: a store keeps its entries by number, in an
// array indexed by int32. 2³¹ NetIDs would take over 48 GiB: a process runs
// out of memory long before.
const maxNumbers = math.MaxInt32 - 1

// add gives id, which has no number, the next one. The caller holds mu.
func (x *Index) add(id core.NetID) uint32 {
	if x.n >= maxNumbers {
		panic("peerstore: Index full")
	}
	num := uint32(x.n)
	t := x.t.Load()
	if t == nil || x.n == len(t.ids) || 2*(x.n+1) > len(t.tab) {
		// An array to replace: publish a new itable.
		nt := &itable{}
		if t != nil {
			*nt = itable{tab: t.tab, seed: t.seed, ids: t.ids}
		} else {
			nt.seed = rand.Uint64()
		}
		if x.n == len(nt.ids) {
			// A new array, grown as append grows one; zero past x.n.
			ids := slices.Grow(nt.ids[:x.n:x.n], 1)
			nt.ids = ids[:cap(ids)]
		}
		nt.ids[num] = id
		x.n++
		if 2*x.n > len(nt.tab) {
			nt.rehash(x.n, max(64, 2*len(nt.tab)))
		} else {
			nt.put(num)
		}
		x.t.Store(nt)
		return num
	}
	t.ids[num] = id
	x.n++
	t.put(num)
	return num
}

// rehash gives t a new, empty table size slots long, a power of two, and
// puts the numbers below n in it.
func (t *itable) rehash(n, size int) {
	t.tab = make([]atomic.Uint32, size)
	for num := range n {
		t.put(uint32(num))
	}
}

// put puts number num, which is not in the table, in the first free slot
// from its NetID's hash on.
func (t *itable) put(num uint32) {
	mask := uint64(len(t.tab) - 1)
	i := t.hash(t.ids[num]) & mask
	for t.tab[i].Load() != 0 {
		i = (i + 1) & mask
	}
	t.tab[i].Store(num + 1)
}

// netIDs returns the NetIDs by number. The slice may be read without a
// lock at every number handed out before the call: a NetID is written
// before its number is handed out, and never again (a growing index copies
// to a new array and leaves the old one as it was). The one exception is
// Store.compact, which rewrites a private index that no other store reads.
func (x *Index) netIDs() []core.NetID {
	t := x.t.Load()
	if t == nil {
		return nil
	}
	return t.ids
}
