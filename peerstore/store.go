package peerstore

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/chatter-go/chatter/core"
)

// Defaults of [Config].
const (
	DefaultMaxAge   = 10 * time.Minute
	DefaultMaxPeers = 65536
)

// Config configures a [Store]. The zero value of each field but Self means
// its default.
type Config struct {
	// Self is the local node. It is never returned by Peers, never counts
	// as an entry, and the node first-hand reports are about.
	Self core.NetID
	// MaxAge is how long an entry lives without being heard of (as a
	// sender, a destination, or in a received list): Peers leaves out, and
	// Expire removes, exactly the entries last heard of more than MaxAge
	// before the time they are given. Zero or negative means
	// DefaultMaxAge.
	MaxAge time.Duration
	// MaxPeers caps the number of entries: every call that adds entries
	// beyond it evicts, before it returns, the entries heard of longest ago
	// (among those heard of at the same instant, the first heard of) until
	// exactly MaxPeers are left. Zero or negative means DefaultMaxPeers;
	// more than 2³⁰ means 2³⁰.
	MaxPeers int
	// Index, when not nil, is the [Index] the store numbers NetIDs in,
	// shared with other stores: for processes that hold many nodes
	// (simulations), so that each NetID is hashed once for all the stores,
	// and each store finds an entry by number in an array of its own. A
	// shared index never forgets a NetID: it is meant for a fixed
	// population. When Index is nil the store keeps a private index, which
	// it renumbers as entries come and go, so that churn does not grow it.
	Index *Index
}

// Stats is a snapshot of a Store's size and of what it forgot.
type Stats struct {
	Entries     int    // known nodes, the local node not counted, expired ones not yet removed counted
	Reports     int    // entries holding a first-hand report
	LocalDomain int    // entries believed in the local node's multicast domain
	Groups      int    // label sets of two nodes or more outside the local domain
	Expired     uint64 // entries removed by Expire
	Evicted     uint64 // entries removed to keep within MaxPeers
}

// Store is a [core.PeerStore]. It is safe for concurrent use; one mutex
// guards it and no method blocks on anything else (a shared [Index] has a
// lock of its own, held only to number a new NetID: looking one up takes no
// lock).
//
// Its entries hold no pointer, so the garbage collector does not scan them:
// they live in an array indexed by the [Index]'s number for their NetID,
// and label sets name them by their index in it; times are int64 nanoseconds
// since the store's epoch (the first time it was given).
type Store struct {
	// First, what every Observe reads or writes, so that it takes a few
	// cache lines: a simulation holds thousands of stores, and each line
	// it reads of one is a cache miss.
	mu       sync.Mutex
	learned  bool // whether the current Observe taught anything
	hasEpoch bool
	private  bool   // index is the store's own, renumbered by compact
	seq      uint32 // the last entry.seq given
	self     core.NetID
	index    *Index
	epoch    time.Time // times are kept as nanoseconds since epoch

	// entries holds the entry of the NetID numbered num at num+1, known or
	// not; entries[0] is never used, so 0 means none.
	entries  []entry
	live     int // known entries
	maxPeers int

	// old[first:] are the candidates for eviction, sorted in eviction
	// order (see compare): entries with the time and sequence they had
	// when they went in. A candidate whose entry has been heard of since,
	// or forgotten, is stale and skipped. Every known entry older than
	// bound is a candidate; when there is none, old is empty and bound is
	// noBound. See trim.
	bound candidate
	old   []candidate
	first int

	reps []firstHand // the slab of first-hand reports; reps[0] unused
	seen []int32     // scratch for Observe and Expire, kept to spare an allocation per call

	maxAge time.Duration
	ids    []core.NetID // index.netIDs(), covering the number of every entry

	sets     []labelSet           // the slab of label sets; sets[0] unused, sets[localSet] the local domain
	freeSets []int32              // sets of the slab not in use
	ghosts   map[core.NetID]int32 // sets whose key names a node no longer in them
	groups   int                  // sets of two or more outside the local domain
	list     []int32              // those sets, for SampleGroups
	next     int                  // the set SampleGroups starts from next

	freeReps []int32  // reports of the slab not in use
	keys     []uint64 // scratch for core.SortNetIDs

	reports          int
	expired, evicted uint64
}

var _ core.PeerStore = (*Store)(nil)

// entry is what a store knows of one node, 24 bytes without a pointer; an
// entry not known is all zero. In set and report, 0 means none.
type entry struct {
	last int64 // when it was last heard of, in nanoseconds since the epoch

	// seq orders the entries last heard of at one instant: the store
	// counts the times an entry is new or heard of later than it was, and
	// seq is the count when this one last was. 0 means not known.
	seq uint32

	set    int32 // its label set, 0 when it is alone (its key is its NetID)
	member int32 // its index in the set's members

	// report is its first-hand report, in Store.reps. Few nodes report
	// (those of the local domain): the reports live apart, so that an
	// entry takes 24 bytes rather than the 40 it would take with one.
	report int32
}

// known reports whether e is the entry of a known node.
func (e *entry) known() bool { return e.seq != 0 }

// candidate is an entry that trim may evict, with its last and seq as it
// went in.
type candidate struct {
	last int64
	seq  uint32
	i    int32 // the entry
}

// candidateOf returns entry i as a candidate.
func (s *Store) candidateOf(i int32) candidate {
	e := &s.entries[i]
	return candidate{last: e.last, seq: e.seq, i: i}
}

// noBound is Store.bound's time when there is no candidate: no entry is
// older than candidate{last: noBound}.
const noBound = math.MinInt64

// firstHand is a first-hand report.
type firstHand struct {
	at  int64  // when it arrived, in nanoseconds since the epoch
	lag uint64 // how far it lagged the local multicast sequence then
}

// localSet is the index, in Store.sets, of the local domain.
const localSet = 1

// labelSet is a label set of nodes believed in one multicast domain. Outside
// the local domain a set has at least two members; a node alone has no
// set.
type labelSet struct {
	key     core.NetID
	members []int32 // entries
	ghost   bool    // key names a node that is no longer a member
	pos     int     // index in Store.list
	cursor  int     // where SampleGroups takes members from next
}

// maxMaxPeers bounds MaxPeers: entries are numbered by int32, and one call
// may add entries beyond the cap before it evicts.
const maxMaxPeers = 1 << 30

// New returns an empty Store configured by cfg, with defaults filled in.
func New(cfg Config) *Store {
	s := new(Store)
	s.init(cfg, make([]entry, 1))
	return s
}

// Reset empties s and configures it by cfg, as New(cfg) would, keeping the
// memory of its entry array (cleared) for the entries to come. A process
// that builds one population of stores after another, as a simulation does
// world after world, then reuses that memory instead of faulting in fresh
// pages for every store. No other goroutine may use s during Reset.
func (s *Store) Reset(cfg Config) {
	entries := s.entries[:cap(s.entries)]
	clear(entries) // grow relies on the array being zero past its length
	s.init(cfg, entries[:1])
}

// init sets s up, empty, as New(cfg) describes, with entries (of length
// one, zero to its capacity) as its entry array.
func (s *Store) init(cfg Config, entries []entry) {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	*s = Store{
		self:     cfg.Self,
		maxAge:   cfg.MaxAge,
		maxPeers: min(cfg.MaxPeers, maxMaxPeers),
		index:    cfg.Index,
		entries:  entries,
		bound:    candidate{last: noBound},
		sets:     make([]labelSet, localSet+1),
		ghosts:   make(map[core.NetID]int32),
	}
	if s.index == nil {
		s.index, s.private = new(Index), true
	}
	s.sets[localSet].key = cfg.Self
}

// ObserveDestinations records nodes a broadcast was addressed to: each is
// heard of at now. Invalid NetIDs and the local node are ignored.
func (s *Store) ObserveDestinations(ids []core.NetID, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.nanos(now)
	for _, id := range ids {
		s.touch(id, at)
	}
	s.trim()
}

// Observe records what one received frame teaches: its sender and every
// node its lists name are heard of at o.Now; a seen list entry about the
// local node becomes From's first-hand report; and the frame's facts and
// hints group nodes by multicast domain as the package documentation
// describes. An observation from an invalid NetID or from the local node
// itself is ignored.
func (s *Store) Observe(o core.Observation) bool {
	if !o.From.IsValid() || o.From == s.self {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.learned = false

	now := s.nanos(o.Now)
	from := s.touch(o.From, now)
	fromLocal := o.Via == core.ViaMulticast || s.entries[from].set == localSet

	// Own knowledge: the seen list.
	seen := s.seen[:0]
	for _, se := range o.Seen {
		if se.Node == s.self {
			fromLocal = true
			var lag uint64
			if se.Seq < o.SelfSeq {
				lag = uint64(o.SelfSeq - se.Seq)
			}
			if r := s.entries[from].report; r == 0 {
				s.entries[from].report = s.newReport(firstHand{at: now, lag: lag})
			} else if now >= s.reps[r].at {
				s.reps[r] = firstHand{at: now, lag: lag}
			}
			continue
		}
		x := s.touch(se.Node, now)
		if x == 0 {
			continue
		}
		if s.entries[x].set == localSet {
			fromLocal = true
		}
		seen = append(seen, x)
	}
	if fromLocal {
		s.joinLocal(from)
		for _, x := range seen {
			s.joinLocal(x)
		}
	} else {
		for _, x := range seen {
			s.merge(from, x)
		}
	}
	s.seen = seen[:0]

	for _, id := range o.Others {
		s.touch(id, now)
	}

	// Hints: the distribution list.
	for _, g := range o.Groups {
		first := s.hint(0, s.touch(g.Entry, now))
		for _, id := range g.Members {
			first = s.hint(first, s.touch(id, now))
		}
	}
	s.trim()
	return s.learned
}

// hint applies one node of a received group: a node outside the local
// domain merges with first, the group's first such node, which hint returns.
func (s *Store) hint(first, e int32) int32 {
	if e == 0 || s.entries[e].set == localSet {
		return first
	}
	if first == 0 {
		return e
	}
	s.merge(first, e)
	return first
}

// Peers returns every node heard of within MaxAge of now, without the local
// node, sorted by [core.NetID.Compare]: a new slice, nil when there is none.
// It reads every entry, in the order they lie in memory.
func (s *Store) Peers(now time.Time) []core.NetID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == 0 {
		return nil
	}
	cutoff := s.cutoff(now)
	out := make([]core.NetID, 0, s.live)
	ids := s.ids[:len(s.entries)-1]
	for num := range ids {
		if e := &s.entries[num+1]; e.last >= cutoff && e.known() {
			out = append(out, ids[num])
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, core.NetID.Compare)
	return out
}

// Report returns the latest first-hand report that id receives the local
// node's multicast. A report goes when its node expires. Its time is the
// one Observe was given, as the store keeps it: the same instant
// ([time.Time.Equal]), in the location of the store's first time.
func (s *Store) Report(id core.NetID) (core.Report, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i == 0 || s.entries[i].report == 0 {
		return core.Report{}, false
	}
	r := s.reps[s.entries[i].report]
	return core.Report{At: s.time(r.at), Lag: r.lag}, true
}

// Domain returns the key of id's label set: Config.Self for the local node
// and the nodes believed in its multicast domain; for any other node, the
// key shared by the nodes believed in its domain (its own NetID when it is
// believed alone). ok is false for a node not known.
func (s *Store) Domain(id core.NetID) (key core.NetID, ok bool) {
	if id == s.self && id.IsValid() {
		return s.self, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	switch {
	case i == 0:
		return core.NetID{}, false
	case s.entries[i].set == 0:
		return id, true
	}
	return s.sets[s.entries[i].set].key, true
}

// Expire forgets every entry not heard of within MaxAge of now, with its
// report and its place in its label set, oldest first (among those heard
// of at the same instant, the first heard of first), as evictions go. It
// reads every entry, in the order they lie in memory: it is meant to be
// called now and then (the engine calls it every MessageTTL/4), not for
// every frame.
func (s *Store) Expire(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == 0 {
		return
	}
	cutoff := s.cutoff(now)
	gone := s.seen[:0]
	for i := range s.entries {
		if e := &s.entries[i]; e.known() && e.last < cutoff {
			gone = append(gone, int32(i))
		}
	}
	// In that order, the store's answers do not depend on how its NetIDs
	// are numbered (label sets reorder their members as they leave).
	slices.SortFunc(gone, func(a, b int32) int {
		return compare(s.candidateOf(a), s.candidateOf(b))
	})
	for _, i := range gone {
		s.remove(i)
		s.expired++
	}
	s.seen = gone[:0]
	s.compact()
}

// Len returns the number of entries, those expired but not yet removed by
// Expire included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Stats returns a snapshot of the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Entries:     s.live,
		Reports:     s.reports,
		LocalDomain: len(s.sets[localSet].members),
		Groups:      s.groups,
		Expired:     s.expired,
		Evicted:     s.evicted,
	}
}

// nanos returns t as nanoseconds since the epoch, which the first call
// sets. Unlike Unix nanoseconds, this suits any clock, a simulated one
// included, and keeps comparing monotonic clock readings when t and the
// epoch have them, as time.Time.Sub does; times more than 292 years from
// the epoch saturate.
func (s *Store) nanos(t time.Time) int64 {
	if !s.hasEpoch {
		s.epoch, s.hasEpoch = t, true
	}
	return int64(t.Sub(s.epoch))
}

// time returns nanoseconds since the epoch as a time.Time.
func (s *Store) time(ns int64) time.Time {
	return s.epoch.Add(time.Duration(ns))
}

// cutoff returns the time, in nanoseconds since the epoch, before which an
// entry was heard of more than MaxAge before now.
func (s *Store) cutoff(now time.Time) int64 {
	return s.nanos(now.Add(-s.maxAge))
}

// find returns id's entry, 0 when it has none. It never numbers id.
func (s *Store) find(id core.NetID) int32 {
	num, ok := s.index.lookup(id)
	if !ok || int(num) >= len(s.entries)-1 || !s.entries[num+1].known() {
		return 0
	}
	return int32(num) + 1
}

// id returns the NetID of entry i.
func (s *Store) id(i int32) core.NetID {
	return s.ids[i-1]
}

// touch records that id was heard of at now and returns its entry, or 0 for
// an invalid NetID or the local node. It never removes an entry, so entries
// returned earlier in one call stay valid (though a new number may move the
// array: hold indices, not pointers, across a touch); trim restores the cap.
//
// Hearing of a known node again costs a lookup in the index and a write
// of the entry's time, one cache line: nothing orders the entries by time
// (see trim and Expire).
func (s *Store) touch(id core.NetID, now int64) int32 {
	if !id.IsValid() || id == s.self {
		return 0
	}
	num := s.index.number(id)
	i := int32(num) + 1
	if int(i) >= len(s.entries) {
		s.grow(i)
	}
	e := &s.entries[i]
	if e.known() {
		if now > e.last {
			e.last, e.seq = now, s.nextSeq()
			if now <= s.bound.last {
				s.candidate(i)
			}
		}
		return i
	}
	if g, ok := s.ghosts[id]; ok {
		// id names a set it left: give that set a key of its own.
		delete(s.ghosts, id)
		set := &s.sets[g]
		set.ghost = false
		set.key = s.id(set.members[0])
		for _, m := range set.members[1:] {
			if k := s.id(m); k.Compare(set.key) < 0 {
				set.key = k
			}
		}
	}
	*e = entry{last: now, seq: s.nextSeq()}
	s.live++
	if now <= s.bound.last {
		s.candidate(i)
	}
	s.learned = true
	return i
}

// grow makes the entries, and the NetIDs by number, cover entry i: a
// number handed out since the last look. With a shared index, the entries
// cover every number given so far at once (as far as the NetIDs by number
// do: other stores may be numbering more meanwhile): a simulation numbers
// its whole population up front (Index.Number), and each of its stores then
// sizes its array once instead of doubling it through the population.
func (s *Store) grow(i int32) {
	n := int(i) + 1
	if !s.private {
		n = max(n, s.index.Len()+1)
	}
	if n-1 > len(s.ids) {
		s.ids = s.index.netIDs()
	}
	// Entry k has the number k-1: no entry beyond the NetIDs it names.
	n = max(int(i)+1, min(n, len(s.ids)+1))
	// Past the length, the array is zero: see compact.
	s.entries = slices.Grow(s.entries, n-len(s.entries))[:n]
}

// newReport keeps r in a free report of the slab, growing it when none is,
// and returns its index.
func (s *Store) newReport(r firstHand) int32 {
	s.reports++
	if n := len(s.freeReps); n > 0 {
		i := s.freeReps[n-1]
		s.freeReps = s.freeReps[:n-1]
		s.reps[i] = r
		return i
	}
	if s.reps == nil {
		s.reps = make([]firstHand, 1, 16)
	}
	s.reps = append(s.reps, r)
	return int32(len(s.reps) - 1)
}

// nextSeq returns the next entry.seq: one more than the last, never 0.
func (s *Store) nextSeq() uint32 {
	s.seq++
	if s.seq == 0 {
		s.seq = 1
	}
	return s.seq
}

// compare orders entries for eviction and expiry, as they were when a and
// b were taken: -1 when a goes first, 1 when b does, 0 when they are one
// entry at one time. The entry heard of longest ago goes first; among
// entries heard of at one instant, the one heard of first, as seq tells
// (the difference of two seqs taken less than 2³¹ hearings apart orders
// them, across the wrap from 2³² − 1 to 1). That order follows from the
// calls a store is given, whatever its NetIDs' numbers, so two stores fed
// alike forget alike.
func compare(a, b candidate) int {
	switch {
	case a.last < b.last:
		return -1
	case a.last > b.last:
		return 1
	}
	return int(int32(a.seq - b.seq))
}

// older reports whether a goes before b in eviction order: compare(a, b) <
// 0 without compare's switch, for selectOld's heap, which calls it for every
// entry older than its youngest (through compare, ObserveChurn took 19 %
// longer).
func older(a, b candidate) bool {
	return a.last < b.last || a.last == b.last && int32(a.seq-b.seq) < 0
}

// youngDown restores the max-heap property of h, youngest first, below j.
func youngDown(h []candidate, j int) {
	for {
		first, l := j, 2*j+1
		if l < len(h) && older(h[first], h[l]) {
			first = l
		}
		if r := l + 1; r < len(h) && older(h[first], h[r]) {
			first = r
		}
		if first == j {
			return
		}
		h[j], h[first] = h[first], h[j]
		j = first
	}
}

// candidate makes entry i, just heard of no later than the bound, a
// candidate for eviction if it is older than the bound. That takes a clock
// that steps back or frames that arrive out of order: times mostly come in
// order, and the candidates are the oldest entries.
func (s *Store) candidate(i int32) {
	c := s.candidateOf(i)
	if s.bound.i == 0 || !older(c, s.bound) {
		return
	}
	if len(s.old)-s.first >= 2*s.batch() {
		// Too many stale candidates: start afresh when one is needed.
		s.dropOld()
		return
	}
	// In its place: O(batch()) for an entry older than the bound, which
	// takes a clock stepped back or frames out of order.
	k, _ := slices.BinarySearchFunc(s.old[s.first:], c, compare)
	s.old = slices.Insert(s.old, s.first+k, c)
}

// dropOld forgets every candidate.
func (s *Store) dropOld() {
	s.old, s.first = s.old[:0], 0
	s.bound = candidate{last: noBound}
}

// batch is how many candidates selectOld picks at a time: enough to make
// its read of every entry cost O(1) per eviction, amortised (about 16 reads
// of an entry each), and few enough to take little room.
func (s *Store) batch() int {
	return max(16, s.maxPeers/16)
}

// trim evicts the entries heard of longest ago (among those heard of at the
// same instant, the one heard of first) until at most maxPeers are left.
//
// Entries are not kept in time order, which would cost several cache
// misses whenever a node is heard of again. Eviction takes its victims
// from the candidates instead: when none is left, selectOld reads every
// entry and picks the batch() oldest at once, sorted, the youngest of them
// as the bound. Then every known entry older than the bound is a
// candidate: entries only ever get younger as they are heard of, and touch
// makes a candidate of an entry that is new or heard of again and still
// older than the bound (clocks stepped back, frames out of order). A
// candidate that was heard of or forgotten since it went in is stale: its
// entry is younger than the bound, or a candidate again with its new time,
// or gone. So the oldest candidate that is not stale is the oldest entry.
// Each selection reads the entries once and yields batch() candidates,
// each evicted or made stale by hearing of its node again: O(1) reads of
// an entry, and O(log batch()) comparisons to sort, amortised per eviction
// or per touch.
func (s *Store) trim() {
	for s.live > s.maxPeers {
		if s.first == len(s.old) {
			s.selectOld()
		}
		c := s.old[s.first]
		if s.first++; s.first == len(s.old) {
			s.dropOld()
		}
		if e := &s.entries[c.i]; e.seq == c.seq && e.last == c.last && e.known() {
			s.remove(c.i)
			s.evicted++
		}
	}
	s.compact()
}

// selectOld makes the batch() oldest entries the candidates, and the bound
// the youngest of them, sorted. It takes the first batch() entries it
// reads, then keeps the oldest in a max-heap, made only once an entry older
// than the youngest taken comes: often none does, for entries tend to lie
// in memory in the order they were first heard of, and the oldest then
// come first, already sorted.
func (s *Store) selectOld() {
	k := min(s.batch(), s.live)
	old := s.old[:0]
	i := 0
	for ; len(old) < k; i++ {
		if s.entries[i].known() {
			old = append(old, s.candidateOf(int32(i)))
		}
	}
	youngest := old[0]
	for _, c := range old[1:] {
		if older(youngest, c) {
			youngest = c
		}
	}
	heaped := false
	for ; i < len(s.entries); i++ {
		if !s.entries[i].known() {
			continue
		}
		c := s.candidateOf(int32(i))
		if !older(c, youngest) {
			continue
		}
		if !heaped {
			for j := len(old)/2 - 1; j >= 0; j-- {
				youngDown(old, j)
			}
			heaped = true
		}
		old[0] = c
		youngDown(old, 0)
		youngest = old[0]
	}
	s.bound = youngest
	if heaped || !slices.IsSortedFunc(old, compare) {
		slices.SortFunc(old, compare)
	}
	s.old, s.first = old, 0
}

// remove forgets entry i.
func (s *Store) remove(i int32) {
	s.leave(i)
	e := &s.entries[i]
	if e.report != 0 {
		s.reps[e.report] = firstHand{}
		s.freeReps = append(s.freeReps, e.report)
		s.reports--
	}
	*e = entry{}
	s.live--
}

// minCompact is the size below which a private index is never compacted:
// for a small store, renumbering would cost more than the numbers it frees.
const minCompact = 64

// compact renumbers a private index when more than half of its numbers name
// no entry, so that churn does not grow it, or the entries, without bound.
// It works in place: the index keeps the known entries' NetIDs, in the same
// order, numbered from 0, the entries move with their numbers, and the
// index's table keeps the room it had, which churn would fill again. It
// costs O(numbers), after at least half as many new numbers or removals
// since the last time: O(1) amortised.
func (s *Store) compact() {
	if !s.private {
		return
	}
	numbers := len(s.entries) - 1 // a private index numbers only the store's NetIDs, each touched
	if numbers <= minCompact || numbers <= 2*s.live {
		return
	}
	x := s.index
	x.mu.Lock() // no other store knows x: for form's sake
	defer x.mu.Unlock()
	t := x.t.Load()
	kept := 0
	for num := range numbers {
		e := s.entries[num+1]
		if !e.known() {
			continue
		}
		// kept <= num: what the loop reads later is not yet overwritten.
		t.ids[kept] = t.ids[num]
		s.entries[kept+1] = e
		if e.set != 0 {
			s.sets[e.set].members[e.member] = int32(kept + 1)
		}
		kept++
	}
	clear(t.ids[kept:numbers])
	clear(s.entries[kept+1:]) // grow relies on it
	s.entries = s.entries[:kept+1]
	x.n = kept
	// The table keeps the room it had, which churn would fill again. It
	// is rewritten in place: no lookup reads a private index but the
	// store's own, under s.mu.
	clear(t.tab)
	for num := range kept {
		t.put(uint32(num))
	}
	s.dropOld() // the candidates name entries by their old numbers
}

// leave takes entry i out of its label set, if it has one.
func (s *Store) leave(i int32) {
	e := &s.entries[i]
	g := e.set
	if g == 0 {
		return
	}
	set := &s.sets[g]
	last := len(set.members) - 1
	moved := set.members[last]
	set.members[e.member] = moved
	s.entries[moved].member = e.member
	set.members = set.members[:last]
	e.set, e.member = 0, 0
	if g == localSet {
		return
	}
	if len(set.members) == 1 {
		// A node alone has no set: dissolve it.
		rest := &s.entries[set.members[0]]
		rest.set, rest.member = 0, 0
		if set.ghost {
			delete(s.ghosts, set.key)
		}
		s.groups--
		s.unlist(g)
		s.release(g)
		return
	}
	if id := s.id(i); set.key == id {
		set.ghost = true
		s.ghosts[id] = g
	}
}

// joinLocal moves entry i, alone, into the local domain.
func (s *Store) joinLocal(i int32) {
	if s.entries[i].set == localSet {
		return
	}
	s.learned = true
	s.leave(i)
	s.add(localSet, i)
}

// add puts entry i, which has no set, into set g.
func (s *Store) add(g, i int32) {
	set := &s.sets[g]
	e := &s.entries[i]
	e.set, e.member = g, int32(len(set.members))
	set.members = append(set.members, i)
	if g != localSet {
		s.setKey(g, s.id(i))
	}
}

// setKey gives set g, outside the local domain, the key k when k is smaller
// than its own; k names a member of g or a node whose key a merged set
// carried (a ghost when it is not a member).
func (s *Store) setKey(g int32, k core.NetID) {
	set := &s.sets[g]
	if k.Compare(set.key) >= 0 {
		return
	}
	if set.ghost {
		delete(s.ghosts, set.key)
	}
	set.key = k
	i := s.find(k)
	set.ghost = i == 0 || s.entries[i].set != g
	if set.ghost {
		s.ghosts[k] = g
	}
}

// merge unites the sets of entries a and b, both outside the local domain:
// the members of the smaller set move, and the smaller key stays.
func (s *Store) merge(a, b int32) {
	ga, gb := s.entries[a].set, s.entries[b].set
	switch {
	case a == b || ga == localSet || gb == localSet:
		return
	case ga == 0 && gb == 0:
		s.learned = true
		g := s.newSet(s.id(a))
		s.add(g, a)
		s.add(g, b)
	case ga == 0:
		s.learned = true
		s.add(gb, a)
	case gb == 0:
		s.learned = true
		s.add(ga, b)
	case ga == gb:
		return
	default:
		s.learned = true
		big, small := ga, gb
		if len(s.sets[small].members) > len(s.sets[big].members) {
			big, small = small, big
		}
		bs, ss := &s.sets[big], &s.sets[small]
		for _, m := range ss.members {
			s.entries[m].set, s.entries[m].member = big, int32(len(bs.members))
			bs.members = append(bs.members, m)
		}
		key := ss.key
		if ss.ghost {
			delete(s.ghosts, key)
		}
		s.groups--
		s.unlist(small)
		s.release(small)
		s.setKey(big, key)
	}
}

// newSet returns a new, empty set outside the local domain with the key k,
// listed for SampleGroups. The caller adds its members.
func (s *Store) newSet(k core.NetID) int32 {
	var g int32
	if n := len(s.freeSets); n > 0 {
		g = s.freeSets[n-1]
		s.freeSets = s.freeSets[:n-1]
	} else {
		s.sets = append(s.sets, labelSet{})
		g = int32(len(s.sets) - 1)
	}
	set := &s.sets[g]
	set.key, set.pos = k, len(s.list)
	s.list = append(s.list, g)
	s.groups++
	return g
}

// release returns set g, emptied and unlisted, to the slab. Its members'
// array stays, for the next set to fill.
func (s *Store) release(g int32) {
	set := &s.sets[g]
	*set = labelSet{members: set.members[:0]}
	s.freeSets = append(s.freeSets, g)
}

// unlist removes set g from s.list.
func (s *Store) unlist(g int32) {
	pos := s.sets[g].pos
	last := len(s.list) - 1
	moved := s.list[last]
	s.list[pos] = moved
	s.sets[moved].pos = pos
	s.list = s.list[:last]
}

// SampleGroups returns up to max of the multicast domains the store knows
// outside the local one, each as a group of up to members nodes, rotating
// through the domains and through each domain's nodes from call to call;
// a group's entry is the first node of its turn, its members follow in
// NetID order. A node announces them, so its neighbours learn remote
// domains without broadcasting themselves.
func (s *Store) SampleGroups(max, members int) []core.Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(max, len(s.list))
	if n <= 0 || members <= 0 {
		return nil
	}
	total := 0
	for j := range n {
		total += min(members, len(s.sets[s.list[(s.next+j)%len(s.list)]].members))
	}
	out := make([]core.Group, 0, n)
	all := make([]core.NetID, total) // one allocation for every group's nodes
	for range n {
		s.next %= len(s.list)
		set := &s.sets[s.list[s.next]]
		s.next++
		k := min(members, len(set.members))
		ids := all[:k:k]
		all = all[k:]
		for i := range ids {
			if set.cursor >= len(set.members) { // rarely: a division per node costs more than the rest
				set.cursor %= len(set.members)
			}
			ids[i] = s.id(set.members[set.cursor])
			set.cursor++
		}
		// The members in NetID order: an encoder then finds them in its
		// sorted table in one pass, not by a search each.
		s.keys = core.SortNetIDs(ids[1:], s.keys)
		out = append(out, core.Group{Entry: ids[0], Members: ids[1:]})
	}
	return out
}
