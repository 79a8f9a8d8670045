package core

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Strategy selects how an engine spreads a broadcast. StrategyChatter is the
// protocol; the others are the baselines `chatter sim` compares it with,
// run by the same engine over the same codec.
type Strategy uint8

// Strategies.
const (
	// StrategyChatter: multicast once, skip nodes with a fresh first-hand
	// report, keep one safety-net node, split the rest logarithmically by
	// multicast group (docs/design.md).
	StrategyChatter Strategy = iota
	// StrategyUnicast: the origin sends to every destination by TCP.
	StrategyUnicast
	// StrategyTCPLog: logarithmic TCP broadcast, every node its own group,
	// no multicast.
	StrategyTCPLog
	// StrategyGossip: push gossip as memberlist does it: every node
	// forwards a message it sees for the first time to Fanout random peers.
	StrategyGossip
	// StrategyClassic: chatter_ex as designed: multicast always, skip nodes
	// that ever reported receiving it, one random node added back, split
	// by group; every TCP receiver repeats the procedure under a new
	// BroadcastID.
	StrategyClassic
)

var strategyNames = [...]string{"chatter", "unicast", "tcp-log", "gossip", "classic"}

// String returns the strategy's name as `chatter sim` spells it.
func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("strategy(%d)", uint8(s))
}

// ParseStrategy returns the strategy named s.
func ParseStrategy(s string) (Strategy, error) {
	for i, n := range strategyNames {
		if n == s {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("core: unknown strategy %q", s)
}

// EngineConfig configures an Engine. Zero fields take the defaults named.
type EngineConfig struct {
	// Self is the local node; Epoch its current epoch. Both required.
	Self  NetID
	Epoch Epoch
	// Strategy is StrategyChatter unless set.
	Strategy Strategy
	// NoMulticast turns multicast off: everything goes by TCP.
	NoMulticast bool
	// AckTimeout is how long a TCP target has to acknowledge a gossip
	// before the next node of its chunk replaces it. Default 1s.
	AckTimeout time.Duration
	// MaxFailover bounds the successive replacements along one chain of
	// failed targets. Each failover drops the failed node and splits the
	// rest of its chunk logarithmically, so the bound is reached only
	// when that many targets in a row fail. Default 16.
	MaxFailover int
	// ReportMaxAge and ReportMaxLag make a first-hand report fresh: it
	// arrived at most ReportMaxAge ago and lagged our multicast sequence
	// by at most ReportMaxLag. Defaults 10s and 32.
	ReportMaxAge time.Duration
	ReportMaxLag uint64
	// AnnounceInterval is the period of announcements, which are skipped
	// while data frames already say the same. Default 1s.
	AnnounceInterval time.Duration
	// TailAnnounce is how long after its last multicast data frame a node
	// announces its sequence, so that receivers who lost that frame ask for
	// it without waiting for the next periodic announcement. Further tail
	// announcements follow at doubling delays (T, 2T, 4T, ... after the
	// first) while they come before the periodic one; a new data frame
	// starts the series again, so a node that multicasts often sends none.
	// Tail announcements carry no grouping hints. Default AnnounceInterval/32;
	// negative for none.
	TailAnnounce time.Duration
	// SeenPerFrame bounds the seen list slice a frame carries. Default 64.
	SeenPerFrame int
	// HintGroups and HintMembers bound the grouping hints an announcement
	// carries: remote domains, and nodes of each; fewer domains when they
	// do not fit a datagram. Defaults 16 and 64: nodes of one /24 take a
	// few bytes each in the compact table, so 16 domains of 64 usually fit.
	HintGroups, HintMembers int
	// RepairBuffer is how many of its multicast frames a node keeps to
	// answer repair requests. Default 1024.
	RepairBuffer int
	// MaxRepairPerRequest bounds the frames one request gets. Default 256.
	MaxRepairPerRequest int
	// Fanout is StrategyGossip's fan-out. Default 3.
	Fanout int
	// MessageTTL is how long message identities are remembered (multicast
	// at most once, gossip's first-time check). Default 2 minutes.
	MessageTTL time.Duration
	// MaxPendingRelays bounds the deliveries awaiting Relay. Default 4096.
	MaxPendingRelays int
}

// ErrEngineConfig reports an invalid EngineConfig.
var ErrEngineConfig = errors.New("core: invalid engine config")

func (c EngineConfig) withDefaults() (EngineConfig, error) {
	if !c.Self.IsValid() {
		return c, fmt.Errorf("%w: no Self", ErrEngineConfig)
	}
	if c.Epoch.IsZero() {
		return c, fmt.Errorf("%w: zero Epoch", ErrEngineConfig)
	}
	if int(c.Strategy) >= len(strategyNames) {
		return c, fmt.Errorf("%w: %s", ErrEngineConfig, c.Strategy)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AckTimeout, time.Second)
	def(&c.ReportMaxAge, 10*time.Second)
	def(&c.AnnounceInterval, time.Second)
	if c.TailAnnounce == 0 {
		c.TailAnnounce = c.AnnounceInterval / 32
	}
	def(&c.MessageTTL, 2*time.Minute)
	defInt(&c.MaxFailover, 16)
	defInt(&c.SeenPerFrame, 64)
	defInt(&c.RepairBuffer, 1024)
	defInt(&c.HintGroups, 16)
	defInt(&c.HintMembers, 64)
	defInt(&c.MaxRepairPerRequest, 256)
	defInt(&c.Fanout, 3)
	defInt(&c.MaxPendingRelays, 4096)
	if c.ReportMaxLag == 0 {
		c.ReportMaxLag = 32
	}
	if c.Strategy == StrategyUnicast || c.Strategy == StrategyTCPLog || c.Strategy == StrategyGossip {
		c.NoMulticast = true
	}
	return c, nil
}

// ActionType says what an Action asks of the caller.
type ActionType uint8

// Action types.
const (
	// ActionMulticast: seal Message and multicast it.
	ActionMulticast ActionType = iota + 1
	// ActionSend: seal Message and send it by TCP to To. If the send
	// fails, report it with Unreachable.
	ActionSend
	// ActionDeliver: dispatch Message.Gossip's payload locally. When Relay
	// is set, the engine waits for Relay(Token, ...) to forward it.
	ActionDeliver
)

// Action is one effect the engine asks its driver to carry out, in order.
type Action struct {
	Type    ActionType
	To      NetID   // ActionSend
	Message Message // what to send, or (ActionDeliver) the gossip to deliver
	// ActionDeliver only:
	From  NetID
	Via   Via
	Relay bool
	Token uint64
	// Meta is the meta value of the input that caused the action, for
	// the driver's own bookkeeping (the simulator counts hops with it).
	Meta any
}

// message is what a node remembers of a message identity.
type message struct {
	at      int64 // when it was last seen, in Unix nanoseconds
	noMcast bool  // this node multicast it or received it by multicast: it must not multicast it
}

// remember records that the message id was seen at now; noMcast forbids
// multicasting it from now on.
func (e *Engine) remember(id BroadcastID, now time.Time, noMcast bool) {
	m := e.messages[id]
	m.at = now.UnixNano()
	m.noMcast = m.noMcast || noMcast
	e.messages[id] = m
}

// pending is a TCP gossip awaiting its acknowledgement.
type pending struct {
	to       NetID
	id       BroadcastID
	chunk    []Group
	gossip   Gossip // without distribution list
	deadline time.Time
	tries    int
	meta     any
	done     bool
}

type pendingKey struct {
	to NetID
	id BroadcastID
}

// relay is a delivery awaiting Relay.
type relay struct {
	from   NetID
	gossip Gossip
	meta   any
}

// repairSlot is a multicast frame kept for repair.
type repairSlot struct {
	seq    MulticastSeq
	gossip Gossip
}

// EngineStats counts what an engine did.
type EngineStats struct {
	Broadcasts     uint64 // messages originated
	Multicasts     uint64 // gossip multicast
	Sends          uint64 // gossip sent by TCP (relays and failovers included)
	Failovers      uint64 // targets replaced after a timeout or failure
	GaveUp         uint64 // chunks with no node left to try
	RepairRequests uint64 // repair requests sent
	Repaired       uint64 // frames sent again in answer to requests
	Announcements  uint64
	Acks           uint64 // acknowledgements sent
	Delivered      uint64 // deliveries to the local node
}

// Engine is the protocol as a state machine: inputs are method calls with
// the time they happen at, outputs are the actions Ready returns. It does no
// I/O, starts no goroutine and reads no clock; it is not safe for concurrent
// use (its driver serialises calls, as etcd's RawNode requires).
type Engine struct {
	// First, what every frame received and every drain reads or writes,
	// so that it takes a few cache lines: a simulation steps thousands of
	// engines in turn, and each line it reads of one is a cache miss.
	peers        PeerStore
	mcastSeq     MulticastSeq
	heard        heardSet   // the nodes whose multicast this node receives
	out          []Action   // the actions Ready returns next
	deadline     []*pending // in deadline order (AckTimeout is constant)
	hintsNext    time.Time  // when announced hints are taken next
	nextAnnounce time.Time
	tailAt       time.Time // the next tail announcement; zero for none
	nextPrune    time.Time

	cfg   EngineConfig
	rnd   Rand
	sizer Sizer

	nextNumber MessageNumber
	lastMcast  time.Time
	tailStep   time.Duration // the delay that led to tailAt

	seenCursor int     // the heard slot the next seen slice starts from
	others     []NetID // the last others sample

	// messages are the message identities this node remembers: those it
	// multicast or received by multicast, which it must not multicast
	// (again), and those StrategyGossip forwarded. One map of pointer-free
	// values: it is written for every multicast frame received, and the
	// garbage collector need not scan it.
	messages map[BroadcastID]message

	repair []repairSlot // ring, index seq % len

	pending map[pendingKey]*pending

	acks     map[NetID][]BroadcastID
	ackOrder []NetID

	relays    map[uint64]relay
	nextToken uint64

	hintEvery  time.Duration // how often announced hints are taken, on average
	hintGroups int           // how many groups this node's announcements ask the store for
	hintTries  int           // announcements that fit since hintGroups last changed

	stats EngineStats
}

// NewEngine returns an engine for cfg, learning into peers, drawing from
// rnd, and asking sizer whether a multicast fits a datagram.
func NewEngine(cfg EngineConfig, peers PeerStore, rnd Rand, sizer Sizer) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if peers == nil || rnd == nil || sizer == nil {
		return nil, fmt.Errorf("%w: peers, rnd and sizer are required", ErrEngineConfig)
	}
	return &Engine{
		cfg:        cfg,
		peers:      peers,
		rnd:        rnd,
		sizer:      sizer,
		nextNumber: MessageNumber(cfg.Epoch.StartMicros),
		heard:      heardSet{seed: cfg.Epoch.Random},
		messages:   make(map[BroadcastID]message),
		repair:     make([]repairSlot, cfg.RepairBuffer),
		pending:    make(map[pendingKey]*pending),
		acks:       make(map[NetID][]BroadcastID),
		relays:     make(map[uint64]relay),
		hintEvery:  cfg.AnnounceInterval / hintSteps,
		hintGroups: cfg.HintGroups,
	}, nil
}

// Self returns the local node.
func (e *Engine) Self() NetID { return e.cfg.Self }

// Stats returns what the engine has done so far.
func (e *Engine) Stats() EngineStats { return e.stats }

// MulticastSeq returns the engine's last multicast sequence.
func (e *Engine) MulticastSeq() MulticastSeq { return e.mcastSeq }

// Ready returns the actions produced since the last call, in order, and
// clears them. Pending acknowledgements are flushed here, one Ack per
// sender.
func (e *Engine) Ready() []Action {
	for _, to := range e.ackOrder {
		ids := e.acks[to]
		delete(e.acks, to)
		e.stats.Acks++
		e.out = append(e.out, Action{Type: ActionSend, To: to, Message: Message{Kind: MsgAck, Ack: Ack{IDs: ids, Seen: e.seenSlice()}}})
	}
	e.ackOrder = e.ackOrder[:0]
	out := e.out
	e.out = nil
	return out
}

// HasReady reports whether Ready would return actions.
func (e *Engine) HasReady() bool { return len(e.out) > 0 || len(e.ackOrder) > 0 }

// Broadcast originates a message to dests with the given payload and returns
// its BroadcastID.
func (e *Engine) Broadcast(now time.Time, dests []NetID, tag TypeTag, ids NetIDTable, payload []byte) BroadcastID {
	e.nextNumber++
	id := BroadcastID{Origin: e.cfg.Self, Number: e.nextNumber}
	e.stats.Broadcasts++
	d := e.destinations(dests)
	e.peers.ObserveDestinations(d, now)
	g := Gossip{ID: id, Tag: tag, PayloadIDs: ids, Payload: payload}
	e.spread(now, g, d, nil, true, nil)
	return id
}

// destinations returns dests without the local node and duplicates, in
// order.
func (e *Engine) destinations(dests []NetID) []NetID {
	out := make([]NetID, 0, len(dests))
	seen := make(map[NetID]bool, len(dests))
	for _, id := range dests {
		if id.IsValid() && id != e.cfg.Self && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// spread plans and emits one hop of g: the origin's first hop (origin true,
// dests flat) or a relay's (groups received). meta tags the actions.
func (e *Engine) spread(now time.Time, g Gossip, dests []NetID, groups []Group, origin bool, meta any) {
	switch e.cfg.Strategy {
	case StrategyUnicast:
		for _, to := range dests {
			e.send(now, g, Singletons([]NetID{to}), meta)
		}
	case StrategyTCPLog:
		if origin {
			groups = Singletons(dests)
		}
		e.splitAndSend(now, g, groups, meta)
	case StrategyGossip:
		e.gossipForward(now, g, dests, meta)
	case StrategyClassic:
		if !origin {
			dests = e.destinations(Flatten(groups))
		}
		e.classic(now, g, dests, meta)
	default:
		e.chatter(now, g, dests, groups, origin, meta)
	}
}

// chatter is one hop of the protocol: the origin's (dests flat) or a
// relay's (the groups it received).
func (e *Engine) chatter(now time.Time, g Gossip, dests []NetID, groups []Group, origin bool, meta any) {
	var own []NetID // nodes of this node's own multicast domain, known first hand
	if origin {
		for _, id := range dests {
			if e.inOwnDomain(id) {
				own = append(own, id)
			}
		}
	} else {
		// Own knowledge beats the received grouping: nodes this one knows
		// to share its domain come out of the groups they were put in.
		groups, own = e.regroup(groups)
	}
	// The origin always multicasts (it is also how discovery happens); a
	// relay only into a group it enters that has members, and never a
	// message it multicast already or received by multicast. The frame is
	// built and sized once: it also says whether multicast works at all.
	send := (origin || len(own) > 0) && !e.messages[g.ID].noMcast
	mg, fits := Gossip{}, false
	if !e.cfg.NoMulticast {
		mg, fits = e.multicastFrame(now, g, send)
	}
	// Without multicast (off, or a frame too large for a datagram) every
	// node is reached by TCP; as entries, nodes could not multicast the
	// frame either, so each is a group of its own.
	if !fits {
		if origin {
			e.splitAndSend(now, g, Singletons(dests), meta)
		} else {
			e.splitAndSend(now, g, append(Singletons(Flatten(groups)), Singletons(own)...), meta)
		}
		return
	}
	if !send {
		// Its own domain's nodes are then reached by TCP, alone: as
		// entries they would multicast into this domain again.
		e.splitAndSend(now, g, groups, meta)
		for _, id := range own {
			e.send(now, g, Singletons([]NetID{id}), meta)
		}
		return
	}
	// Skip the nodes with a fresh first-hand report, but for one of them,
	// drawn at random and put back as a safety net: UDP is unreliable. It
	// is planned with the groups, as a lone node (PlaceLone sends it where
	// a lone node shortens the plan). Members of this node's domain without
	// a fresh report are sent alone: as entries they would multicast into
	// this domain again.
	//
	// The order is the critical path's: the chunks go out first, for they
	// lead to further hops; then the multicast, which is a last hop for
	// the whole domain; then the lone sends, a last hop for one node each.
	// (The seed multicast first: every relay then delayed the rest of the
	// tree by a datagram's serialisation.)
	if origin {
		rest := make([]NetID, 0, len(dests)-len(own))
		for _, id := range dests {
			if !e.inOwnDomain(id) {
				rest = append(rest, id)
			}
		}
		groups = GroupBy(e.rnd, rest, func(id NetID) (NetID, bool) { return e.peers.Domain(id) })
	}
	var fresh, stale []NetID
	for _, id := range own {
		if e.fresh(id, now) {
			fresh = append(fresh, id)
		} else {
			stale = append(stale, id)
		}
	}
	Shuffle(e.rnd, groups)
	if len(fresh) > 0 {
		// First, so it gets the deepest leaf: a safety net is always
		// sent an empty list, whatever else is lone.
		groups = slices.Insert(groups, 0, Group{Entry: fresh[e.rnd.IntN(len(fresh))]})
	}
	PlaceLone(groups)
	for _, s := range SplitLog(groups) {
		e.send(now, g, s.Chunk, meta)
	}
	e.emitMulticast(now, mg, meta)
	for _, id := range stale {
		e.send(now, g, Singletons([]NetID{id}), meta)
	}
}

// regroup moves out of groups the nodes this node knows to be in its own
// multicast domain, and returns the remaining groups and those nodes. A
// group whose entry moved out is entered by its first remaining member.
func (e *Engine) regroup(groups []Group) ([]Group, []NetID) {
	var own []NetID
	out := make([]Group, 0, len(groups))
	for _, grp := range groups {
		if grp.Entry == e.cfg.Self {
			own = append(own, grp.Members...)
			continue
		}
		var nodes []NetID
		for _, id := range append([]NetID{grp.Entry}, grp.Members...) {
			if id == e.cfg.Self {
				continue
			}
			if e.inOwnDomain(id) {
				own = append(own, id)
			} else {
				nodes = append(nodes, id)
			}
		}
		if len(nodes) > 0 {
			out = append(out, Group{Entry: nodes[0], Members: nodes[1:]})
		}
	}
	return out, own
}

// inOwnDomain reports whether this node knows, first hand, that id shares
// its multicast domain: it receives id's multicast, or id reported
// receiving its own.
func (e *Engine) inOwnDomain(id NetID) bool {
	if e.cfg.NoMulticast {
		return false
	}
	if e.heard.find(id) != nil {
		return true
	}
	_, ok := e.peers.Report(id)
	return ok
}

// fresh reports whether id has a fresh first-hand report of receiving this
// node's multicast.
func (e *Engine) fresh(id NetID, now time.Time) bool {
	r, ok := e.peers.Report(id)
	return ok && now.Sub(r.At) <= e.cfg.ReportMaxAge && r.Lag <= e.cfg.ReportMaxLag
}

// multicastFrame returns g as this node would multicast it next, and
// whether that fits a datagram. advance moves the seen list's and others'
// rotation on, as sending does; a mere question leaves them, and sizes the
// frame with the last others sample.
func (e *Engine) multicastFrame(now time.Time, g Gossip, advance bool) (Gossip, bool) {
	mg := g
	mg.Distribution = nil
	mg.MulticastSeq = e.mcastSeq + 1
	seenCursor := e.seenCursor
	mg.Seen = e.seenSlice()
	if advance {
		mg.Others = e.othersSample()
	} else {
		mg.Others = e.others
		e.seenCursor = seenCursor
	}
	return mg, e.sizer.MulticastFits(&Message{Kind: MsgMulticastGossip, Gossip: mg})
}

// multicast multicasts g once, if this node may and it fits; it reports
// whether it did.
func (e *Engine) multicast(now time.Time, g Gossip, want bool, meta any) bool {
	if !want || e.cfg.NoMulticast || e.messages[g.ID].noMcast {
		return false
	}
	mg, fits := e.multicastFrame(now, g, true)
	if !fits {
		return false
	}
	e.emitMulticast(now, mg, meta)
	return true
}

// emitMulticast multicasts mg, built by multicastFrame, and keeps it for
// repair.
func (e *Engine) emitMulticast(now time.Time, mg Gossip, meta any) {
	e.mcastSeq++
	e.lastMcast = now
	if e.cfg.TailAnnounce > 0 {
		e.tailStep = e.cfg.TailAnnounce
		e.tailAt = now.Add(e.tailStep)
	}
	e.remember(mg.ID, now, true)
	e.repair[int(uint64(mg.MulticastSeq)%uint64(len(e.repair)))] = repairSlot{seq: mg.MulticastSeq, gossip: mg}
	e.stats.Multicasts++
	e.out = append(e.out, Action{Type: ActionMulticast, Message: Message{Kind: MsgMulticastGossip, Gossip: mg}, Meta: meta})
}

// splitAndSend shuffles groups and sends them logarithmically.
func (e *Engine) splitAndSend(now time.Time, g Gossip, groups []Group, meta any) {
	Shuffle(e.rnd, groups)
	for _, s := range SplitLog(groups) {
		e.send(now, g, s.Chunk, meta)
	}
}

// send hands chunk to the entry of its first group and waits for the
// acknowledgement.
func (e *Engine) send(now time.Time, g Gossip, chunk []Group, meta any) {
	s := SendFor(chunk)
	p := &pending{to: s.To, id: g.ID, chunk: s.Chunk, gossip: g, deadline: now.Add(e.cfg.AckTimeout), meta: meta}
	key := pendingKey{s.To, g.ID}
	if old, ok := e.pending[key]; ok {
		old.done = true // superseded: the newer send carries the newer list
	}
	e.pending[key] = p
	e.deadline = append(e.deadline, p)
	e.emitSend(now, p, s.List)
}

func (e *Engine) emitSend(now time.Time, p *pending, list []Group) {
	msg := p.gossip
	msg.Distribution = list
	msg.MulticastSeq = 0
	msg.Seen = e.seenSlice()
	msg.Others = e.othersSample()
	e.stats.Sends++
	e.out = append(e.out, Action{Type: ActionSend, To: p.to, Message: Message{Kind: MsgGossip, Gossip: msg}, Meta: p.meta})
}

// failover replaces p's target by the next node of its chunk.
func (e *Engine) failover(now time.Time, p *pending) {
	p.done = true
	delete(e.pending, pendingKey{p.to, p.id})
	if p.tries >= e.cfg.MaxFailover {
		e.stats.GaveUp++
		return
	}
	chunk, ok := NextInChunk(p.chunk)
	if !ok {
		e.stats.GaveUp++
		return
	}
	e.stats.Failovers++
	// The next node of the chunk takes the failed target's place, with
	// the first half of what is left; the rest is split as at the first
	// hop. A chunk full of dead nodes then costs log2 timeouts, not one
	// per node, and no live node behind them is lost.
	for _, s := range SplitLog(chunk) {
		np := &pending{to: s.To, id: p.id, chunk: s.Chunk, gossip: p.gossip, deadline: now.Add(e.cfg.AckTimeout), tries: p.tries + 1, meta: p.meta}
		if old, ok := e.pending[pendingKey{s.To, p.id}]; ok {
			old.done = true
		}
		e.pending[pendingKey{s.To, p.id}] = np
		e.deadline = append(e.deadline, np)
		e.emitSend(now, np, s.List)
	}
}

// dropSettled drops the acknowledged sends at the head of the deadline
// queue. Acknowledgements mostly come in the order the sends went out: an
// origin that sent to thousands of nodes would otherwise walk past every
// send acknowledged so far in each NextDeadline, until its Tick came.
func (e *Engine) dropSettled() {
	i := 0
	for i < len(e.deadline) && e.deadline[i].done {
		e.deadline[i] = nil // let the settled send go
		i++
	}
	e.deadline = e.deadline[i:]
}

// Unreachable reports that a send to to failed: every message awaiting its
// acknowledgement fails over to the next node of its chunk.
func (e *Engine) Unreachable(now time.Time, to NetID) {
	for _, p := range e.deadline {
		if !p.done && p.to == to {
			e.failover(now, p)
		}
	}
}

// gossipForward is StrategyGossip: forward to Fanout random peers, once.
func (e *Engine) gossipForward(now time.Time, g Gossip, dests []NetID, meta any) {
	e.remember(g.ID, now, false)
	pool := dests
	if len(pool) == 0 {
		pool = e.peers.Peers(now)
	}
	// Draw without replacement, never the origin or this node, by a
	// Fisher-Yates shuffle that records only the positions it swaps: the
	// pool (every peer) is read, never copied.
	moved := make(map[int]int, e.cfg.Fanout+2)
	at := func(i int) int {
		if j, ok := moved[i]; ok {
			return j
		}
		return i
	}
	for n, sent := len(pool), 0; n > 0 && sent < e.cfg.Fanout; n-- {
		i := e.rnd.IntN(n)
		id := pool[at(i)]
		moved[i] = at(n - 1)
		if id == g.ID.Origin || id == e.cfg.Self {
			continue
		}
		e.send(now, g, Singletons([]NetID{id}), meta)
		sent++
	}
}

// classic is chatter_ex's procedure: multicast always, skip every node that
// ever reported receiving this node's multicast, add back one random node
// of the list, group, shuffle, split.
func (e *Engine) classic(now time.Time, g Gossip, dests []NetID, meta any) {
	e.multicast(now, g, true, meta)
	var rest []NetID
	for _, id := range dests {
		if _, reported := e.peers.Report(id); !reported {
			rest = append(rest, id)
		}
	}
	if len(dests) > 0 {
		back := dests[e.rnd.IntN(len(dests))]
		if !slices.Contains(rest, back) {
			rest = append(rest, back)
		}
	}
	groups := GroupBy(e.rnd, rest, func(id NetID) (NetID, bool) { return e.peers.Domain(id) })
	e.splitAndSend(now, g, groups, meta)
}

// Receive handles a message that arrived from the node from (the frame's
// authenticated sender, in its epoch) by via. meta is passed on to the
// actions it causes.
func (e *Engine) Receive(now time.Time, from NetID, epoch Epoch, via Via, m *Message, meta any) {
	if from == e.cfg.Self {
		return
	}
	switch m.Kind {
	case MsgGossip, MsgMulticastGossip, MsgRepaired:
		e.receiveGossip(now, from, epoch, via, m.Kind, &m.Gossip, meta)
	case MsgAck:
		e.peers.Observe(Observation{From: from, Via: via, Now: now, Seen: m.Ack.Seen, SelfSeq: e.mcastSeq})
		for _, id := range m.Ack.IDs {
			if p, ok := e.pending[pendingKey{from, id}]; ok {
				p.done = true
				delete(e.pending, pendingKey{from, id})
			}
		}
		e.dropSettled()
	case MsgAnnouncement:
		// Every node of a domain announces hints: take a few a second
		// while they teach, fewer and fewer once they stop teaching, so
		// a settled node spends almost nothing on them.
		var hints []Group
		if !now.Before(e.hintsNext) {
			hints = m.Announcement.Groups
		}
		learned := e.peers.Observe(Observation{From: from, Via: via, Now: now, Seen: e.aboutSelf(via, m.Announcement.Seen), Groups: hints, SelfSeq: e.mcastSeq})
		if len(hints) > 0 {
			if learned {
				e.hintEvery = e.cfg.AnnounceInterval / hintSteps
			} else {
				e.hintEvery = min(2*e.hintEvery, hintBackoff*e.cfg.AnnounceInterval)
			}
			// The next intake is drawn around hintEvery from now. A fixed
			// period would lock onto the announcement timers: a node
			// would take every hint from the one neighbour whose
			// announcements follow its own intake, and never learn what
			// that neighbour does not know.
			e.hintsNext = now.Add(jitter(e.rnd, e.hintEvery))
		}
		e.heardSeq(from, epoch, m.Announcement.LastSeq, true, meta)
	case MsgRepairRequest:
		e.peers.Observe(Observation{From: from, Via: via, Now: now, SelfSeq: e.mcastSeq})
		e.answerRepair(from, &m.Repair, meta)
	}
}

func (e *Engine) receiveGossip(now time.Time, from NetID, epoch Epoch, via Via, kind MessageKind, g *Gossip, meta any) {
	e.peers.Observe(Observation{From: from, Via: via, Now: now, Seen: e.aboutSelf(via, g.Seen), Others: g.Others, Groups: g.Distribution, SelfSeq: e.mcastSeq})
	deliver := Action{Type: ActionDeliver, From: from, Via: via, Meta: meta}
	deliver.Message = Message{Kind: kind, Gossip: *g}
	switch kind {
	case MsgMulticastGossip:
		e.heardSeq(from, epoch, g.MulticastSeq, false, meta)
		// A message received by multicast is never multicast again here.
		e.remember(g.ID, now, true)
	case MsgGossip:
		e.ack(from, g.ID)
		if e.cfg.Strategy == StrategyGossip {
			if _, seen := e.messages[g.ID]; seen {
				break // forwarded already
			}
			e.remember(g.ID, now, false)
		}
		if len(e.relays) >= e.cfg.MaxPendingRelays {
			break // deliver, but do not hold more relays
		}
		e.nextToken++
		deliver.Relay = true
		deliver.Token = e.nextToken
		e.relays[e.nextToken] = relay{from: from, gossip: *g, meta: meta}
	}
	e.stats.Delivered++
	e.out = append(e.out, deliver)
}

// aboutSelf returns the seen list to observe. A multicast sender shares
// this node's domain, so its seen list names nodes this node hears itself:
// only the entry about this node (a first-hand report) is news. Skipping
// the rest keeps the cost of announcements flat as domains grow.
func (e *Engine) aboutSelf(via Via, seen []SeenEntry) []SeenEntry {
	if via != ViaMulticast {
		return seen
	}
	for i := range seen {
		if seen[i].Node == e.cfg.Self {
			return seen[i : i+1]
		}
	}
	return nil
}

// ack queues an acknowledgement of id to from; Ready coalesces them.
func (e *Engine) ack(from NetID, id BroadcastID) {
	if _, ok := e.acks[from]; !ok {
		e.ackOrder = append(e.ackOrder, from)
	}
	e.acks[from] = append(e.acks[from], id)
}

// Relay forwards the gossip delivered under token, with the payload as the
// local handler left it (the payload table ids, and payload).
func (e *Engine) Relay(now time.Time, token uint64, ids NetIDTable, payload []byte) {
	r, ok := e.relays[token]
	if !ok {
		return
	}
	delete(e.relays, token)
	g := r.gossip
	groups := slices.Clone(g.Distribution) // the received message may be shared: never shuffle it in place
	g.Distribution, g.Seen, g.Others, g.MulticastSeq = nil, nil, nil, 0
	g.PayloadIDs, g.Payload = ids, payload
	switch e.cfg.Strategy {
	case StrategyClassic:
		// Every relay repeats the procedure as a new origin.
		e.nextNumber++
		g.ID = BroadcastID{Origin: e.cfg.Self, Number: e.nextNumber}
	case StrategyGossip:
		groups = nil
	}
	e.spread(now, g, nil, groups, false, r.meta)
}

// heardSeq records that from's multicast stream reached seq (announce: its
// last sequence), and asks for the frames it missed.
func (e *Engine) heardSeq(from NetID, epoch Epoch, seq MulticastSeq, announce bool, meta any) {
	if e.cfg.NoMulticast || seq == 0 && !announce {
		return // sequences start at 1: a data frame with 0 is not news
	}
	h := e.heard.find(from)
	if h == nil {
		e.heard.add(heard{id: from, epoch: epoch, highest: seq})
		return
	}
	if h.epoch != epoch {
		h.epoch, h.highest = epoch, seq
		return
	}
	first := h.highest + 1
	last := seq
	if !announce {
		last = seq - 1
	}
	if seq > h.highest {
		h.highest = seq
	}
	if last < first {
		return
	}
	// Ask for at most the sender's buffer's worth, most recent first.
	if span := uint64(last - first + 1); span > uint64(e.cfg.RepairBuffer) {
		first = last - MulticastSeq(e.cfg.RepairBuffer) + 1
	}
	e.stats.RepairRequests++
	e.out = append(e.out, Action{Type: ActionSend, To: from, Meta: meta, Message: Message{Kind: MsgRepairRequest,
		Repair: RepairRequest{Epoch: epoch, Ranges: []SeqRange{{First: first, Last: last}}}}})
}

// answerRepair sends again the multicast frames a node asked for, from the
// repair buffer, on TCP to that node only.
func (e *Engine) answerRepair(from NetID, rq *RepairRequest, meta any) {
	if rq.Epoch != e.cfg.Epoch {
		return
	}
	budget := e.cfg.MaxRepairPerRequest
	// Only what the buffer still holds: sequences from 1, at most its
	// length back.
	oldest := MulticastSeq(1)
	if e.mcastSeq > MulticastSeq(len(e.repair)) {
		oldest = e.mcastSeq - MulticastSeq(len(e.repair)) + 1
	}
	for _, r := range rq.Ranges {
		for seq := max(r.First, oldest); seq <= r.Last && seq <= e.mcastSeq && budget > 0; seq++ {
			slot := e.repair[int(uint64(seq)%uint64(len(e.repair)))]
			if slot.seq != seq {
				continue
			}
			budget--
			e.stats.Repaired++
			e.out = append(e.out, Action{Type: ActionSend, To: from, Meta: meta, Message: Message{Kind: MsgRepaired, Gossip: slot.gossip}})
		}
	}
}

// seenSlice returns the next slice of this node's seen list, rotating.
func (e *Engine) seenSlice() []SeenEntry {
	n := min(e.heard.n, e.cfg.SeenPerFrame)
	if n == 0 {
		return nil
	}
	out := make([]SeenEntry, 0, n)
	slots := e.heard.slots
	for len(out) < n {
		e.seenCursor %= len(slots)
		if h := &slots[e.seenCursor]; h.id.IsValid() {
			out = append(out, SeenEntry{Node: h.id, Seq: h.highest})
		}
		e.seenCursor++
	}
	return out
}

// othersSample returns at most MaxOthers known nodes outside this node's
// domain, one per domain, rotating through the domains and through their
// nodes: the store's SampleGroups with one member each. (A walk over a
// sorted snapshot of Peers cost a sort of every peer, and its neighbours
// mostly share a domain.)
func (e *Engine) othersSample() []NetID {
	groups := e.peers.SampleGroups(MaxOthers, 1)
	if len(groups) == 0 {
		return nil
	}
	out := make([]NetID, len(groups))
	for i, g := range groups {
		out[i] = g.Entry
	}
	e.others = out
	return out
}

// Tick advances the engine's timers to now: acknowledgement timeouts (and
// failovers), announcements, and the expiry of remembered state.
func (e *Engine) Tick(now time.Time) {
	for len(e.deadline) > 0 {
		p := e.deadline[0]
		if !p.done && p.deadline.After(now) {
			break
		}
		e.deadline[0] = nil // let the send go once it is settled
		e.deadline = e.deadline[1:]
		if !p.done {
			e.failover(now, p)
		}
	}
	if !e.cfg.NoMulticast && !now.Before(e.nextAnnounce) {
		if e.nextAnnounce.IsZero() || now.Sub(e.lastMcast) >= e.cfg.AnnounceInterval {
			// Announcements are sent from the start: they are how nodes
			// of one domain discover each other with no configuration.
			e.announce(true)
		}
		e.nextAnnounce = now.Add(e.cfg.AnnounceInterval)
	}
	if !e.tailAt.IsZero() && !now.Before(e.tailAt) {
		e.announce(false)
		// The next one at double the delay, unless the periodic
		// announcement comes first.
		e.tailStep *= 2
		e.tailAt = now.Add(e.tailStep)
		if e.tailAt.Sub(e.lastMcast) >= e.cfg.AnnounceInterval {
			e.tailAt = time.Time{}
		}
	}
	if !now.Before(e.nextPrune) {
		cutoff := now.UnixNano() - int64(e.cfg.MessageTTL)
		for id, m := range e.messages {
			if m.at < cutoff {
				delete(e.messages, id)
			}
		}
		e.peers.Expire(now)
		e.nextPrune = now.Add(e.cfg.MessageTTL / 4)
	}
}

// hintSteps sets the pace of hint intake: AnnounceInterval/hintSteps while
// hints teach, twice as slow after each intake that teaches nothing, down to
// one per hintBackoff intervals.
const hintSteps = 4

// hintBackoff bounds, in AnnounceIntervals, the time between hint intakes.
const hintBackoff = 4

// hintRetry is how many announcements fit before one more group is tried.
const hintRetry = 8

// announce multicasts an announcement, with as much of the seen list and,
// when hints is set, of the grouping hints as fits one datagram. Tail
// announcements go without hints: they are sent so that a lost tail frame
// is noticed soon.
func (e *Engine) announce(hints bool) {
	m := Message{Kind: MsgAnnouncement, Announcement: Announcement{LastSeq: e.mcastSeq, Seen: e.seenSlice()}}
	a := &m.Announcement
	if hints {
		a.Groups = e.peers.SampleGroups(e.hintGroups, e.cfg.HintMembers)
	}
	dropped := false
	for !e.sizer.MulticastFits(&m) {
		switch {
		case len(a.Groups) > 0:
			a.Groups = a.Groups[:len(a.Groups)-1]
			dropped = true
		case len(a.Seen) > 0:
			a.Seen = a.Seen[:len(a.Seen)/2]
		default:
			return // not even the sequence fits: multicast is unusable
		}
	}
	// Ask next time for as many groups as fit. The store's rotation moves
	// on by the number asked for, so groups asked for and dropped every
	// time would be skipped every time, at the same places of the
	// rotation: whole domains would never be announced. Now and then one
	// more is tried, for what fits changes with the groups' sizes.
	switch {
	case !hints:
	case dropped:
		e.hintGroups, e.hintTries = max(len(a.Groups), 1), 0
	case e.hintGroups < e.cfg.HintGroups:
		if e.hintTries++; e.hintTries >= hintRetry {
			e.hintGroups, e.hintTries = e.hintGroups+1, 0
		}
	}
	e.stats.Announcements++
	e.out = append(e.out, Action{Type: ActionMulticast, Message: m})
}

// jitter returns a duration drawn uniformly from [d/2, 3d/2).
func jitter(rnd Rand, d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + time.Duration(rnd.IntN(int(d)))
}

// NextDeadline returns when Tick next has work: the earliest of the
// acknowledgement deadlines, the next announcement and the next expiry.
func (e *Engine) NextDeadline() time.Time {
	next := e.nextPrune
	if !e.cfg.NoMulticast && e.nextAnnounce.Before(next) {
		next = e.nextAnnounce
	}
	if !e.tailAt.IsZero() && e.tailAt.Before(next) {
		next = e.tailAt
	}
	for _, p := range e.deadline {
		if !p.done {
			if p.deadline.Before(next) {
				next = p.deadline
			}
			break
		}
	}
	return next
}
