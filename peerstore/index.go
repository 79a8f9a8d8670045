package peerstore

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"

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
// concurrent use.
type Index struct {
	mu   sync.RWMutex
	tab  []uint32     // open addressing: 1 + the number of the NetID hashed to a slot, 0 for none; a power of two long, at most half full
	seed uint64       // keys the hash, drawn when tab is first made
	ids  []core.NetID // by number; only appended to, but see Store.compact
}

// Len returns the number of NetIDs the index has numbered.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids)
}

// lookup returns id's number, if it has one.
func (x *Index) lookup(id core.NetID) (uint32, bool) {
	x.mu.RLock()
	num, ok := x.find(id)
	x.mu.RUnlock()
	return num, ok
}

// number returns id's number, giving it the next one if it has none.
func (x *Index) number(id core.NetID) uint32 {
	if num, ok := x.lookup(id); ok {
		return num
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if num, ok := x.find(id); ok {
		return num // numbered by another store between the two locks
	}
	return x.add(id)
}

// find returns id's number, if it has one. The caller holds a lock.
//
// The index is a hash table of its own rather than a map: every frame a
// node receives looks up each NetID it names, and a simulation does that
// for thousands of nodes, so the look-up is kept to a few integer
// operations, a load of the table and a comparison of three words.
func (x *Index) find(id core.NetID) (uint32, bool) {
	if len(x.tab) == 0 {
		return 0, false
	}
	mask := uint64(len(x.tab) - 1)
	for i := x.hash(id) & mask; ; i = (i + 1) & mask {
		n := x.tab[i]
		if n == 0 {
			return 0, false
		}
		if x.ids[n-1] == id {
			return n - 1, true
		}
	}
}

// hash returns id's hash under the index's seed: a mix of its address and
// port (splitmix64's finaliser), so NetIDs that differ in one bit spread
// over the table, and a sender who does not know the seed cannot make
// NetIDs collide.
func (x *Index) hash(id core.NetID) uint64 {
	var v uint64
	if a, ok := id.As4(); ok {
		v = uint64(a[0])<<40 | uint64(a[1])<<32 | uint64(a[2])<<24 | uint64(a[3])<<16 | uint64(id.Port())
	} else {
		b := id.Addr().As16()
		hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
		v = mix(hi^x.seed)*0x9e3779b97f4a7c15 ^ lo ^ uint64(id.Port())<<48 ^ 1<<63
	}
	return mix(v ^ x.seed)
}

// mix is splitmix64's finaliser: a bijection that spreads every bit of v
// over the result.
func mix(v uint64) uint64 {
	v = (v ^ v>>30) * 0xbf58476d1ce4e5b9
	v = (v ^ v>>27) * 0x94d049bb133111eb
	return v ^ v>>31
}

// add gives id, which has no number, the next one. The caller holds the
// write lock, or is the only one to know x.
func (x *Index) add(id core.NetID) uint32 {
	if len(x.ids) >= math.MaxUint32 {
		// 2³² NetIDs would take over 200 GiB: a process runs out of
		// memory long before.
		panic("peerstore: Index full")
	}
	num := uint32(len(x.ids))
	x.ids = append(x.ids, id)
	if 2*len(x.ids) > len(x.tab) {
		x.rehash(max(64, 2*len(x.tab)))
	} else {
		x.put(num)
	}
	return num
}

// rehash makes the table size slots long, a power of two, and puts every
// number in it.
func (x *Index) rehash(size int) {
	if x.tab == nil {
		x.seed = rand.Uint64()
	}
	if len(x.tab) == size {
		clear(x.tab)
	} else {
		x.tab = make([]uint32, size)
	}
	for num := range x.ids {
		x.put(uint32(num))
	}
}

// put puts number num, which is not in the table, in the first free slot
// from its NetID's hash on.
func (x *Index) put(num uint32) {
	mask := uint64(len(x.tab) - 1)
	i := x.hash(x.ids[num]) & mask
	for x.tab[i] != 0 {
		i = (i + 1) & mask
	}
	x.tab[i] = num + 1
}

// netIDs returns the NetIDs by number. The slice may be read without the
// lock for every number handed out before the call: ids is only appended
// to, so what an earlier slice covers is never written again (a growing
// append copies to a new array and leaves the old one as it was). The one
// exception is Store.compact, which rewrites a private index that no other
// store reads.
func (x *Index) netIDs() []core.NetID {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ids
}
