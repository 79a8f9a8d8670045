package peerstore

import (
	"math"
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
	nums map[core.NetID]uint32
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
	num, ok := x.nums[id]
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
	if num, ok := x.nums[id]; ok {
		return num // numbered by another store between the two locks
	}
	return x.add(id)
}

// add gives id, which has no number, the next one. The caller holds the
// write lock, or is the only one to know x.
func (x *Index) add(id core.NetID) uint32 {
	if len(x.ids) > math.MaxUint32 {
		// 2³² NetIDs would take over 200 GiB: a process runs out of
		// memory long before.
		panic("peerstore: Index full")
	}
	if x.nums == nil {
		x.nums = make(map[core.NetID]uint32)
	}
	num := uint32(len(x.ids))
	x.nums[id] = num
	x.ids = append(x.ids, id)
	return num
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
