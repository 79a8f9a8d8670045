// Package peerstore keeps what a node learns about its peers from traffic,
// bounded by age and by count. [Store] implements [core.PeerStore]: the
// engine feeds it the destinations it broadcasts to and an
// [core.Observation] for every frame it receives, and asks it for the peers
// it knows, for first-hand reports and for grouping hints.
//
// The package imports package core and the standard library only. It starts
// no goroutine and never reads the clock: every time comes in as an
// argument.
//
// # What is learnt
//
// A node becomes known, or is heard of again, when a broadcast is addressed
// to it, when it sends a frame, and when a received frame names it in its
// seen list, its others or its distribution list. [Store.Peers] returns every
// known node heard of within [Config.MaxAge], never the local node.
// [Store.Expire] forgets the others, exactly those, oldest first. Beyond
// [Config.MaxPeers] entries, the call that added them evicts the nodes heard
// of longest ago before it returns, down to exactly MaxPeers. Expiry and
// eviction both go by the time a node was last heard of and, among nodes
// heard of at the same instant, by the order they were heard of then, first
// first: how a store numbers its NetIDs never shows in what it forgets.
//
// A seen list entry (X, n) in a frame from F says "F receives X's multicast
// up to sequence n". When X is the local node it is a first-hand report:
// [Store.Report] returns the latest one for F, with the time it arrived and
// how far n lagged the local multicast sequence then.
//
// # Two kinds of knowledge
//
// [Store.Domain] returns a key shared by the nodes believed to be in one
// multicast domain. Two kinds of facts group nodes:
//
//   - own knowledge: a frame from F that arrived by multicast (F's multicast
//     reaches us), a first-hand report from F (F receives ours), and the
//     entries of F's seen list (F receives each listed node's multicast);
//   - hints: each group of a received distribution list (its entry and its
//     members are believed to share a domain).
//
// Nodes are kept in label sets. The local node's domain is one of them, with
// the key Config.Self; every other set has as its key the smallest NetID
// that entered it (a node alone is its own key). The exact rules:
//
//  1. A frame from F that arrived by multicast, or whose seen list names the
//     local node or a node of the local domain, puts F into the local domain.
//  2. When F is in the local domain, every node of F's seen list joins the
//     local domain. A node joins it alone: the set it leaves keeps its other
//     members, for no fact ties them to the local domain.
//  3. Otherwise the sets of F and of every node of F's seen list merge.
//  4. For each received group, the sets of its nodes outside the local domain
//     merge; its nodes in the local domain stay where they are and pull no one
//     in. So a hint never moves a node into or out of the local domain.
//  5. A node leaves its set when it expires or is evicted; a set left with one
//     node dissolves.
//
// Facts from one frame are applied in that order, own knowledge first, so
// their result does not depend on the order of the lists. Merging two sets
// moves the members of the smaller one (union by size) and keeps the
// smaller key. A key is a label, not a member: it may name a node that has
// since expired or joined the local domain while the set lives on. If an
// expired node whose NetID keys a set returns, that set takes the smallest
// NetID of its members as its new key, so two sets never share a key and a
// set's key is never the key of another node. Keeping stale keys instead of
// recomputing them makes every change cost O(1), or the size of the
// smaller set for a merge.
//
// # Layout
//
// A simulation holds thousands of stores of thousands of entries each, so
// the store is laid out for the garbage collector and the caches. Entries
// hold no pointer, so the collector never scans them: they live in an array
// and label sets name their members by their int32 index in it; label sets
// live in a slab of their own, their members as slices of indices; times are
// int64 nanoseconds since the store's epoch, the first time it is given,
// which suits any clock and keeps comparing monotonic readings. An entry
// takes 24 bytes; first-hand reports, which only the nodes of the local
// domain send, live in a slab of their own.
//
// An entry is found through an [Index], which numbers NetIDs densely and
// keeps the NetID of each number: the store hashes a NetID once, in the
// index, without taking a lock, then finds the entry at that number in its
// array. Stores may share one index ([Config.Index]), which is what a
// process holding many nodes wants: each NetID is hashed and kept once for
// all of them. A shared index never forgets a NetID, so it suits a fixed
// population; each store's array then spans every number up to the highest
// it has met, 24 bytes each, known to the store or not ([Store.Reset]
// empties a store for a new population and keeps that array's memory). A
// store with no Config.Index has a private index, which it compacts in
// place when more than half of its numbers no longer name an entry: churn
// leaves its size bounded by about twice the number of entries, at an
// amortised cost of O(1) per entry.
//
// Hearing of a known node again, by far the most frequent change in a busy
// store, writes the time, and a count that orders the entries heard of at
// one instant, in its entry and nothing else: one cache line beside the
// index's. Nothing keeps the entries in time order. Expire and Peers read
// the whole array, in memory order, which suits calls made now and then.
// Eviction keeps a short sorted list of candidates, the oldest entries,
// picked by one read of the array when none is left: every entry older than
// the youngest candidate picked is a candidate, an entry that is heard of
// again is skipped when its turn comes, and one that is new or heard of
// again at a time older than that (a clock stepped back, frames out of
// order) goes in at its place. Each read of the array yields candidates for
// MaxPeers/16 evictions (16 at least): an eviction costs about 16 reads of
// an entry and its share of sorting the candidates, O(log MaxPeers),
// amortised.
package peerstore
