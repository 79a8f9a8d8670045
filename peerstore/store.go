package peerstore

import (
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
	// sender, a destination, or in a received list). Zero or negative
	// means DefaultMaxAge.
	MaxAge time.Duration
	// MaxPeers caps the number of entries. Beyond it, the entry heard of
	// longest ago is evicted. Zero or negative means DefaultMaxPeers.
	MaxPeers int
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
// guards it and no method blocks on anything else.
type Store struct {
	mu       sync.Mutex
	self     core.NetID
	maxAge   time.Duration
	maxPeers int

	entries    map[core.NetID]*entry
	head, tail *entry // every entry, ordered by last heard, oldest first

	local  group                 // the local domain: key self; self is not a member
	ghosts map[core.NetID]*group // sets whose key names a node no longer in them
	groups int                   // sets of two or more outside the local domain
	list   []*group              // those sets, for SampleGroups
	next   int                   // the set SampleGroups starts from next

	reports          int
	expired, evicted uint64

	seen    []*entry // scratch for Observe, kept to spare an allocation per frame
	learned bool     // whether the current Observe taught anything
}

var _ core.PeerStore = (*Store)(nil)

// entry is one known node.
type entry struct {
	id         core.NetID
	last       time.Time // when it was last heard of
	prev, next *entry    // neighbours in last-heard order

	report    core.Report
	hasReport bool

	grp  *group // its label set, nil when it is alone (its key is its id)
	gidx int    // its index in grp.members
}

// group is a label set of nodes believed in one multicast domain. Outside
// the local domain a group has at least two members; a node alone has no
// group.
type group struct {
	key     core.NetID
	members []*entry
	ghost   bool // key names a node that is no longer a member
	pos     int  // index in Store.list
	cursor  int  // where SampleGroups takes members from next
}

// New returns an empty Store configured by cfg, with defaults filled in.
func New(cfg Config) *Store {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	return &Store{
		self:     cfg.Self,
		maxAge:   cfg.MaxAge,
		maxPeers: cfg.MaxPeers,
		entries:  make(map[core.NetID]*entry),
		local:    group{key: cfg.Self},
		ghosts:   make(map[core.NetID]*group),
	}
}

// ObserveDestinations records nodes a broadcast was addressed to: each is
// heard of at now. Invalid NetIDs and the local node are ignored.
func (s *Store) ObserveDestinations(ids []core.NetID, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.touch(id, now)
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

	now := o.Now
	from := s.touch(o.From, now)
	fromLocal := o.Via == core.ViaMulticast || from.grp == &s.local

	// Own knowledge: the seen list.
	seen := s.seen[:0]
	for _, se := range o.Seen {
		if se.Node == s.self {
			fromLocal = true
			var lag uint64
			if se.Seq < o.SelfSeq {
				lag = uint64(o.SelfSeq - se.Seq)
			}
			if !from.hasReport {
				from.hasReport = true
				s.reports++
				from.report = core.Report{At: now, Lag: lag}
			} else if !now.Before(from.report.At) {
				from.report = core.Report{At: now, Lag: lag}
			}
			continue
		}
		x := s.touch(se.Node, now)
		if x == nil {
			continue
		}
		if x.grp == &s.local {
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
	clear(seen)
	s.seen = seen[:0]

	for _, id := range o.Others {
		s.touch(id, now)
	}

	// Hints: the distribution list.
	for _, g := range o.Groups {
		first := s.hint(nil, s.touch(g.Entry, now))
		for _, id := range g.Members {
			first = s.hint(first, s.touch(id, now))
		}
	}
	s.trim()
	return s.learned
}

// hint applies one node of a received group: a node outside the local
// domain merges with first, the group's first such node, which hint returns.
func (s *Store) hint(first, e *entry) *entry {
	if e == nil || e.grp == &s.local {
		return first
	}
	if first == nil {
		return e
	}
	s.merge(first, e)
	return first
}

// Peers returns every node heard of within MaxAge of now, without the local
// node, sorted by [core.NetID.Compare]: a new slice, nil when there is none.
func (s *Store) Peers(now time.Time) []core.NetID {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]core.NetID, 0, len(s.entries))
	for e := s.tail; e != nil && !s.old(e, now); e = e.prev {
		out = append(out, e.id)
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, core.NetID.Compare)
	return out
}

// Report returns the latest first-hand report that id receives the local
// node's multicast. A report goes when its node expires.
func (s *Store) Report(id core.NetID) (core.Report, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[id]
	if e == nil || !e.hasReport {
		return core.Report{}, false
	}
	return e.report, true
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
	e := s.entries[id]
	switch {
	case e == nil:
		return core.NetID{}, false
	case e.grp == nil:
		return e.id, true
	}
	return e.grp.key, true
}

// Expire forgets every entry not heard of within MaxAge of now, with its
// report and its place in its label set.
func (s *Store) Expire(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.head != nil && s.old(s.head, now) {
		s.remove(s.head)
		s.expired++
	}
}

// Len returns the number of entries, those expired but not yet removed by
// Expire included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Stats returns a snapshot of the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Entries:     len(s.entries),
		Reports:     s.reports,
		LocalDomain: len(s.local.members),
		Groups:      s.groups,
		Expired:     s.expired,
		Evicted:     s.evicted,
	}
}

// old reports whether e was last heard of more than MaxAge before now.
func (s *Store) old(e *entry, now time.Time) bool {
	return now.Sub(e.last) > s.maxAge
}

// touch records that id was heard of at now and returns its entry, or nil
// for an invalid NetID or the local node. It never removes an entry, so
// entries returned earlier in one call stay valid; trim restores the cap.
func (s *Store) touch(id core.NetID, now time.Time) *entry {
	if !id.IsValid() || id == s.self {
		return nil
	}
	e := s.entries[id]
	if e == nil {
		e = &entry{id: id, last: now}
		if g := s.ghosts[id]; g != nil {
			// id names a set it left: give that set a key of its own.
			delete(s.ghosts, id)
			g.ghost = false
			g.key = g.members[0].id
			for _, m := range g.members[1:] {
				if m.id.Compare(g.key) < 0 {
					g.key = m.id
				}
			}
		}
		s.entries[id] = e
		s.insert(e)
		s.learned = true
		return e
	}
	if now.After(e.last) {
		e.last = now
		s.unlink(e)
		s.insert(e)
	}
	return e
}

// maxWalk bounds how far insert looks back for an entry's place.
const maxWalk = 16

// insert links e into the list after the last entry heard of no later than
// it: O(1) when times arrive in order, at most maxWalk steps otherwise. When
// more than maxWalk entries were heard of later than e (a clock stepped
// back), e is recorded as heard of when the maxWalk-th latest was: a little
// later than it was, so a stepped clock costs precision, never a walk of
// the whole list.
func (s *Store) insert(e *entry) {
	p := s.tail
	for steps := 0; p != nil && p.last.After(e.last); steps++ {
		if steps == maxWalk {
			e.last = p.last
			break
		}
		p = p.prev
	}
	e.prev = p
	if p == nil {
		e.next = s.head
		s.head = e
	} else {
		e.next = p.next
		p.next = e
	}
	if e.next == nil {
		s.tail = e
	} else {
		e.next.prev = e
	}
}

// unlink takes e out of the list.
func (s *Store) unlink(e *entry) {
	if e.prev == nil {
		s.head = e.next
	} else {
		e.prev.next = e.next
	}
	if e.next == nil {
		s.tail = e.prev
	} else {
		e.next.prev = e.prev
	}
	e.prev, e.next = nil, nil
}

// trim evicts the entries heard of longest ago until at most maxPeers are
// left.
func (s *Store) trim() {
	for len(s.entries) > s.maxPeers {
		s.remove(s.head)
		s.evicted++
	}
}

// remove forgets e.
func (s *Store) remove(e *entry) {
	s.unlink(e)
	s.leave(e)
	if e.hasReport {
		s.reports--
	}
	delete(s.entries, e.id)
}

// leave takes e out of its label set, if it has one.
func (s *Store) leave(e *entry) {
	g := e.grp
	if g == nil {
		return
	}
	last := len(g.members) - 1
	moved := g.members[last]
	g.members[e.gidx] = moved
	moved.gidx = e.gidx
	g.members[last] = nil
	g.members = g.members[:last]
	e.grp, e.gidx = nil, 0
	if g == &s.local {
		return
	}
	if len(g.members) == 1 {
		// A node alone has no set: dissolve it.
		rest := g.members[0]
		rest.grp, rest.gidx = nil, 0
		g.members = nil
		if g.ghost {
			delete(s.ghosts, g.key)
		}
		s.groups--
		s.unlist(g)
		return
	}
	if g.key == e.id {
		g.ghost = true
		s.ghosts[g.key] = g
	}
}

// joinLocal moves e, alone, into the local domain.
func (s *Store) joinLocal(e *entry) {
	if e.grp == &s.local {
		return
	}
	s.learned = true
	s.leave(e)
	s.add(&s.local, e)
}

// add puts e, which has no set, into g.
func (s *Store) add(g *group, e *entry) {
	e.grp, e.gidx = g, len(g.members)
	g.members = append(g.members, e)
	if g != &s.local {
		s.setKey(g, e.id)
	}
}

// setKey gives g, a set outside the local domain, the key k when k is
// smaller than its own; k names a member of g or a node whose key a merged
// set carried (a ghost when it is not a member).
func (s *Store) setKey(g *group, k core.NetID) {
	if k.Compare(g.key) >= 0 {
		return
	}
	if g.ghost {
		delete(s.ghosts, g.key)
	}
	g.key = k
	e := s.entries[k]
	g.ghost = e == nil || e.grp != g
	if g.ghost {
		s.ghosts[k] = g
	}
}

// merge unites the sets of a and b, both outside the local domain: the
// members of the smaller set move, and the smaller key stays.
func (s *Store) merge(a, b *entry) {
	ga, gb := a.grp, b.grp
	switch {
	case a == b || ga == &s.local || gb == &s.local:
		return
	case ga == nil && gb == nil:
		s.learned = true
		g := &group{key: a.id}
		a.grp, a.gidx = g, 0
		g.members = []*entry{a}
		s.groups++
		g.pos = len(s.list)
		s.list = append(s.list, g)
		s.add(g, b)
	case ga == nil:
		s.learned = true
		s.add(gb, a)
	case gb == nil:
		s.learned = true
		s.add(ga, b)
	case ga == gb:
		return
	default:
		s.learned = true
		big, small := ga, gb
		if len(small.members) > len(big.members) {
			big, small = small, big
		}
		for _, m := range small.members {
			m.grp, m.gidx = big, len(big.members)
			big.members = append(big.members, m)
		}
		small.members = nil
		s.groups--
		s.unlist(small)
		if small.ghost {
			delete(s.ghosts, small.key)
		}
		s.setKey(big, small.key)
	}
}

// unlist removes g from s.list.
func (s *Store) unlist(g *group) {
	last := len(s.list) - 1
	moved := s.list[last]
	s.list[g.pos] = moved
	moved.pos = g.pos
	s.list[last] = nil
	s.list = s.list[:last]
}

// SampleGroups returns up to max of the multicast domains the store knows
// outside the local one, each as a group of up to members nodes, rotating
// through the domains and through each domain's nodes from call to call. A
// node announces them, so its neighbours learn remote domains without
// broadcasting themselves.
func (s *Store) SampleGroups(max, members int) []core.Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(max, len(s.list))
	if n <= 0 || members <= 0 {
		return nil
	}
	out := make([]core.Group, 0, n)
	for range n {
		s.next %= len(s.list)
		g := s.list[s.next]
		s.next++
		k := min(members, len(g.members))
		ids := make([]core.NetID, k)
		for i := range ids {
			g.cursor %= len(g.members)
			ids[i] = g.members[g.cursor].id
			g.cursor++
		}
		out = append(out, core.Group{Entry: ids[0], Members: ids[1:]})
	}
	return out
}
