// Package sim runs Chatter's protocol engine and codec over memnet's
// deterministic network, for `chatter sim` and for tests: one seed gives one
// run. Every frame is sealed by the sending node's codec.Sealer and opened
// once by a verifying opener, and receivers step their own core.Engine with
// the decoded message: the real engine and codec, not a model of them.
package sim

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
	"github.com/chatter-go/chatter/peerstore"
	"github.com/chatter-go/chatter/transport/memnet"
)

// Params are a simulation's inputs. Zero fields take the defaults named.
type Params struct {
	Nodes      int           // default 256
	Subnets    int           // multicast domains; default 8
	Payload    int           // payload bytes; default 256
	Latency    time.Duration // one-way link latency; default 1ms
	Bandwidth  float64       // each node's egress, bytes per second; default 125e6 (1 Gbit/s)
	McastLoss  float64       // probability a multicast datagram is lost, per receiver
	TCPLoss    float64       // probability a TCP frame is lost
	Crash      float64       // fraction of nodes down during the measured broadcasts
	Broadcasts int           // measured broadcasts per phase; default 20
	Warmup     int           // warm-up broadcasts before the warm phase; default 40, negative for none
	Seed       uint64        // default 1
	// Strategies to compare; default all, the baselines first.
	Strategies []core.Strategy
	// AckTimeout for failover; default 50 × Latency.
	AckTimeout time.Duration
	// MaxPeers caps each node's peer store. A real node knows every peer,
	// but a simulation of N nodes in one process holds N² entries. Up to
	// sharedIndexMax nodes the stores share one NetID index (about 25
	// bytes an entry) and the default is N: every node knows every peer.
	// Beyond, each store keeps a private index (about 71 bytes an entry)
	// and the default is 5·10⁷/N, at least 256: the nodes then plan with
	// partial knowledge.
	MaxPeers int
	// RepairBuffer is each node's repair buffer, in frames. Default: the
	// engine's (1024) with multicast loss, 16 without. A node asks for
	// repair only when it sees a gap in a sender's multicast sequence, and
	// without multicast loss every live node receives every multicast of
	// its domain, in order (a crashed node stays down): no node ever asks,
	// and the buffer is never read (TestLosslessRepairBufferUnread checks
	// both). The engine's default holds 1024 frames of 176 bytes with
	// pointers: 1.8 GB per world at 10000 nodes, which the garbage
	// collector scans on every cycle.
	RepairBuffer int
	// Parallel is how many worlds (a strategy in one phase) are simulated
	// at once; default GOMAXPROCS. Each holds every node's state, so
	// memory grows with it.
	Parallel int
	// Progress, if set, is called after each measured broadcast, never
	// concurrently.
	Progress func(done, total int)
}

// sharedIndexMax is the largest simulation whose stores share one index.
const sharedIndexMax = 20000

func (p Params) withDefaults() (Params, error) {
	p.Nodes = cmp.Or(p.Nodes, 256)
	p.Subnets = cmp.Or(p.Subnets, 8)
	p.Payload = cmp.Or(p.Payload, 256)
	p.Latency = cmp.Or(p.Latency, time.Millisecond)
	p.Bandwidth = cmp.Or(p.Bandwidth, 125e6)
	p.Broadcasts = cmp.Or(p.Broadcasts, 20)
	p.Warmup = cmp.Or(p.Warmup, 40)
	p.Seed = cmp.Or(p.Seed, 1)
	p.AckTimeout = cmp.Or(p.AckTimeout, 50*p.Latency)
	if p.RepairBuffer == 0 && p.McastLoss == 0 {
		p.RepairBuffer = 16
	}
	if p.Parallel <= 0 {
		p.Parallel = runtime.GOMAXPROCS(0)
	}
	if p.MaxPeers == 0 {
		p.MaxPeers = p.Nodes
		if p.Nodes > sharedIndexMax {
			p.MaxPeers = max(256, 50_000_000/p.Nodes)
		}
	}
	if len(p.Strategies) == 0 {
		p.Strategies = []core.Strategy{core.StrategyUnicast, core.StrategyTCPLog, core.StrategyGossip, core.StrategyClassic, core.StrategyChatter} // baselines first, ours last
	}
	switch {
	case p.Nodes < 2:
		return p, fmt.Errorf("sim: %d nodes, need at least 2", p.Nodes)
	case p.Subnets < 1 || p.Subnets > p.Nodes:
		return p, fmt.Errorf("sim: %d subnets for %d nodes", p.Subnets, p.Nodes)
	case p.Nodes > 130000:
		return p, fmt.Errorf("sim: %d nodes, at most 130000 (198.18.0.0/15)", p.Nodes)
	case p.Crash < 0 || p.Crash >= 1 || p.McastLoss < 0 || p.McastLoss > 1 || p.TCPLoss < 0 || p.TCPLoss >= 1:
		return p, fmt.Errorf("sim: crash in [0,1), mcast-loss in [0,1], tcp-loss in [0,1)")
	case p.Payload < 0 || p.Broadcasts < 0 || p.Latency < 0 || p.Bandwidth < 0:
		return p, fmt.Errorf("sim: negative parameter")
	}
	return p, nil
}

// Result is one strategy's figures in one phase, each a mean over the
// measured broadcasts (docs/benchmarks.md defines them).
type Result struct {
	Strategy         string  `json:"strategy"`
	Phase            string  `json:"phase"`
	DeliveryRatio    float64 `json:"delivery_ratio"`
	RoundsMax        float64 `json:"rounds_max"`
	RoundsP50        float64 `json:"rounds_p50"`
	TimeToLastMs     float64 `json:"time_to_last_ms"`
	OriginSends      float64 `json:"origin_sends"`
	WirePackets      float64 `json:"wire_packets"`
	WireBytes        float64 `json:"wire_bytes"`
	AckPackets       float64 `json:"ack_packets"`
	AnnouncePerNodeS float64 `json:"announce_per_node_s"`
	CopiesPerNode    float64 `json:"copies_per_node"`
	// Curve is the mean fraction of live destinations reached by each
	// millisecond after the broadcast starts, for plots.
	Curve []float64 `json:"-"`
}

// Run simulates every strategy of p, cold then warm, and returns their
// results in that order. Each strategy and phase is a world of its own,
// built from the seed alone, so up to p.Parallel of them run at once and
// the results are those of a run one at a time.
func Run(p Params) ([]Result, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex // serialises Progress
	total := len(p.Strategies) * 2 * p.Broadcasts
	done := 0
	progress := func() {
		mu.Lock()
		defer mu.Unlock()
		done++
		if p.Progress != nil {
			p.Progress(done, total)
		}
	}
	out := make([]Result, 2*len(p.Strategies))
	var stores storePool
	slots := make(chan struct{}, p.Parallel)
	var wg sync.WaitGroup
	for _, k := range launchOrder(p.Strategies) {
		s, phase := p.Strategies[k/2], [2]string{"cold", "warm"}[k%2]
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			// Labelled, so a CPU profile tells the worlds apart.
			pprof.Do(context.Background(), pprof.Labels("world", s.String()+" "+phase), func(context.Context) {
				w := newWorld(p, s, p.Seed, &stores)
				if phase == "warm" {
					w.warmUp()
				}
				out[k] = w.measure(phase, progress)
				stores.put(w.storesInMadeOrder())
			})
		}()
	}
	wg.Wait()
	return out, nil
}

// launchOrder returns the worlds of strategies (2i for strategy i cold,
// 2i+1 warm) in the order Run starts them: the costliest first, so that the
// last to finish are short and the parallel slots stay busy. Warm worlds
// run announcements through the whole warm-up, and the strategies that
// multicast handle a receipt per node of a domain for each announcement and
// multicast frame: those come first. The results do not depend on the order.
func launchOrder(strategies []core.Strategy) []int {
	order := make([]int, 2*len(strategies))
	for k := range order {
		order[k] = k
	}
	cost := func(k int) int {
		c := k % 2 // warm
		switch strategies[k/2] {
		case core.StrategyChatter, core.StrategyClassic:
			c += 2
		}
		return c
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(cost(b), cost(a)) })
	return order
}

// storePool keeps the peer stores of finished worlds for the worlds still to
// be built. A store's entry array spans the population (24 bytes a node: 2.4
// GB for a world of 10000 nodes), and a world that reuses one clears it
// rather than faulting in fresh pages, which the 10000-node run spent a
// tenth of its time on. A reset store answers as a new one does
// (peerstore's TestReset), so the results do not depend on which world had
// it before. Stores go out in the order they came in: a world makes its
// nodes in the order the last one did, and the stores of a subnet's nodes
// stay side by side in memory.
type storePool struct {
	mu    sync.Mutex
	spare []*peerstore.Store // spare[next:] are free
	next  int
}

// get returns a store configured by cfg: a spare one reset, or a new one;
// a nil pool always gives a new one.
func (sp *storePool) get(cfg peerstore.Config) *peerstore.Store {
	if sp == nil {
		return peerstore.New(cfg)
	}
	sp.mu.Lock()
	var s *peerstore.Store
	if sp.next < len(sp.spare) {
		s, sp.spare[sp.next] = sp.spare[sp.next], nil
		sp.next++
	}
	sp.mu.Unlock()
	if s == nil {
		return peerstore.New(cfg)
	}
	s.Reset(cfg)
	return s
}

// put keeps stores, which their world no longer uses, for other worlds.
func (sp *storePool) put(stores []*peerstore.Store) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.spare = append(sp.spare[sp.next:], stores...)
	sp.next = 0
}

// packet is what travels with a frame in memnet's Meta: the decoded
// message (opened once for all its receivers) and the simulator's tags.
type packet struct {
	hdr   codec.Header
	msg   core.Message
	bcast int // measured broadcast index, or -1
	hop   int // hops from the origin; the origin's frames are hop 1
	// body is what an announcement's msg points into, to be used again
	// once the packet's last receiver is done with it (see release); nil
	// for every other kind.
	body *codec.Body
}

// node is one simulated node.
type node struct {
	id      core.NetID
	host    *memnet.Host
	eng     *core.Engine
	sealer  *codec.Sealer
	store   *peerstore.Store
	timerAt time.Time
	up      bool
}

// world is one simulated cluster running one strategy.
type world struct {
	p        Params
	strategy core.Strategy
	net      *memnet.Network
	rnd      *rand.Rand
	nodes    []*node
	everyone []core.NetID // every node's NetID, built by all
	byID     map[core.NetID]*node
	opener   *codec.Opener
	body     codec.Body   // scratch for sizing
	scratch  []core.NetID // scratch for tables
	named    []core.NetID // scratch: the NetIDs a body names
	keys     []uint64     // scratch for sorting NetIDs

	// The table setTable built last (in scratch), of the NetIDs lastNamed.
	lastNamed []core.NetID
	lastTable core.NetIDTable
	hasTable  bool

	// measurement of the current broadcast
	cur int
	ids map[core.BroadcastID]int

	m         *measure
	announces uint64

	bodies []*codec.Body // released announcement bodies, for act to reuse
}

// measure accumulates one broadcast's figures.
type measure struct {
	start       time.Time
	origin      core.NetID
	first       map[core.NetID]firstDelivery
	deliveries  int
	reached     int // nodes in first
	originSends int
	packets     int
	bytes       int
	acks        int
}

type firstDelivery struct {
	at  time.Time
	hop int
}

// addr returns the NetID of host h of subnet s: the subnets are cut from
// 198.18.0.0/15, each in whole /24s when they fit, else back to back; port
// 29999.
func addr(h, s, perSubnet, subnets int) core.NetID {
	blocks := (perSubnet + 253) / 254
	var offset int
	if subnets*blocks <= 512 {
		offset = (s*blocks+h/254)*256 + 1 + h%254
	} else {
		offset = 1 + s*perSubnet + h
	}
	return core.NetIDFrom4([4]byte{198, byte(18 + offset>>16), byte(offset >> 8), byte(offset)}, 29999)
}

func newWorld(p Params, s core.Strategy, seed uint64, stores *storePool) *world {
	w := &world{
		p:        p,
		strategy: s,
		net:      memnet.New(memnet.Config{Seed: seed, Latency: p.Latency, Bandwidth: p.Bandwidth, McastLoss: p.McastLoss, UnicastLoss: p.TCPLoss, SharedFrames: true}),
		rnd:      rand.New(rand.NewPCG(seed, 0x5eed)),
		byID:     make(map[core.NetID]*node, p.Nodes),
		ids:      make(map[core.BroadcastID]int),
		cur:      -1,
	}
	var key crypto.Key
	for i := range key {
		key[i] = byte(seed >> (i % 8 * 8))
	}
	parts := nodeParts{seed: seed, ring: crypto.NewKeyring(1, key), comp: codec.NewCompressor(), stores: stores}
	w.opener = codec.NewOpener(parts.ring, codec.OpenerConfig{MaxFrameSize: 64 << 20, Crypto: crypto.OpenerConfig{
		MaxAge: 365 * 24 * time.Hour, MaxSenders: p.Nodes + 1, MaxCachedKeys: p.Nodes + 1, DeriveRate: 1e12, DeriveBurst: 1 << 30,
	}})
	// One index numbers the NetIDs for every node's store: the
	// population is fixed, and each store then finds an entry in an
	// array rather than a map of its own. The array spans the whole
	// index, 24 bytes per node in every store: beyond sharedIndexMax
	// nodes that is too much, and each store keeps an index of its own.
	if p.Nodes <= sharedIndexMax {
		parts.index = &peerstore.Index{}
	}
	start := w.net.Now()
	parts.perSubnet = (p.Nodes + p.Subnets - 1) / p.Subnets
	if index := parts.index; index != nil {
		// Number the population in address order: each store then holds
		// a subnet's nodes side by side (see peerstore.Index.Number).
		for i, subnet := range p.bySubnet() {
			index.Number(addr(i/p.Subnets, subnet, parts.perSubnet, p.Subnets))
		}
	}
	// Node i is in subnet i % Subnets and has the world's i-th draw for
	// its epoch. The nodes are made subnet by subnet: a multicast is
	// handled by its subnet's nodes in turn, and their hosts, engines and
	// stores then lie side by side in memory, not Subnets apart. Nothing
	// else depends on the order they are made in.
	epochs := make([]uint64, p.Nodes)
	for i := range epochs {
		epochs[i] = w.rnd.Uint64() | 1
	}
	w.nodes = make([]*node, p.Nodes)
	for i, subnet := range p.bySubnet() {
		w.nodes[i] = w.newNode(i, subnet, core.NewEpoch(start, epochs[i]), &parts)
	}
	for _, n := range w.nodes {
		// Spread the nodes' timers over the first interval.
		n.timerAt = start.Add(time.Duration(w.rnd.Int64N(int64(time.Second))))
		w.net.After(n.timerAt.Sub(start), func() { w.tick(n) })
	}
	return w
}

// bySubnet yields the population subnet by subnet: node i, in subnet
// i % Subnets, in address order. A world numbers its NetIDs and makes its
// nodes in this order.
func (p Params) bySubnet() iter.Seq2[int, int] {
	return func(yield func(i, subnet int) bool) {
		for subnet := range p.Subnets {
			for i := subnet; i < p.Nodes; i += p.Subnets {
				if !yield(i, subnet) {
					return
				}
			}
		}
	}
}

// storesInMadeOrder returns the nodes' stores in the order the nodes were
// made, for the next world to make its nodes with.
func (w *world) storesInMadeOrder() []*peerstore.Store {
	stores := make([]*peerstore.Store, 0, len(w.nodes))
	for i := range w.p.bySubnet() {
		stores = append(stores, w.nodes[i].store)
	}
	return stores
}

// nodeParts is what the nodes of one world share as newWorld makes them.
type nodeParts struct {
	seed      uint64 // the world's seed, for the engines' random sources
	perSubnet int
	ring      *crypto.Keyring
	comp      *codec.Compressor
	index     *peerstore.Index // nil: each store numbers its own
	stores    *storePool       // nil: new stores
}

// newNode makes node i of subnet subnet, in epoch, with its engine's random
// source seeded by the world's seed and i, and adds its host to the
// network.
func (w *world) newNode(i, subnet int, epoch core.Epoch, parts *nodeParts) *node {
	p := w.p
	id := addr(i/p.Subnets, subnet, parts.perSubnet, p.Subnets)
	n := &node{id: id, up: true}
	var err error
	if n.sealer, err = codec.NewSealer(parts.ring, id, epoch, codec.WithCompressor(parts.comp)); err != nil {
		panic(err) // the ids and epochs made here are valid
	}
	n.store = parts.stores.get(peerstore.Config{Self: id, MaxPeers: p.MaxPeers, Index: parts.index})
	var peers core.PeerStore = n.store
	if w.strategy == core.StrategyGossip {
		// memberlist keeps its membership apart from its broadcasts:
		// give push gossip the whole membership, at no cost.
		peers = membership{n.store, w}
	}
	cfg := core.EngineConfig{Self: id, Epoch: epoch, Strategy: w.strategy, AckTimeout: p.AckTimeout, RepairBuffer: p.RepairBuffer}
	if n.eng, err = core.NewEngine(cfg, peers, rand.New(rand.NewPCG(parts.seed, uint64(i))), sizer{w, n}); err != nil {
		panic(err)
	}
	n.host = w.net.AddHost(id, fmt.Sprint("s", subnet), func(d memnet.Delivery) { w.receive(n, d) })
	w.byID[id] = n
	return n
}

// membership is a peer store whose Peers is every node of the world.
type membership struct {
	*peerstore.Store
	w *world
}

func (m membership) Peers(time.Time) []core.NetID { return m.w.all() }

// sizer answers the engine's question with the node's own sealer.
type sizer struct {
	w *world
	n *node
}

func (s sizer) MulticastFits(m *core.Message) bool {
	b := &s.w.body
	*b = codec.Body{Kind: m.Kind, Gossip: m.Gossip, Announcement: m.Announcement}
	s.w.setTable(b)
	n, err := s.n.sealer.MaxFrameLen(b)
	return err == nil && n <= codec.DefaultMaxDatagram
}

func (w *world) tick(n *node) {
	now := w.net.Now()
	if now.Before(n.timerAt) {
		return // superseded by an earlier timer
	}
	n.timerAt = time.Time{}
	if !n.up {
		return
	}
	n.eng.Tick(now)
	w.drain(n, nil)
}

// receive steps n's engine with a frame that arrived.
func (w *world) receive(n *node, d memnet.Delivery) {
	pk := d.Meta.(*packet)
	if n.up {
		via := d.Via
		if pk.msg.Kind == core.MsgRepaired {
			via = core.ViaRepair
		}
		n.eng.Receive(d.At, pk.hdr.Sender, pk.hdr.Epoch, via, &pk.msg, pk)
		w.drain(n, pk)
	}
	if d.Last {
		w.release(pk)
	}
}

// announcementBody returns a released announcement body, or a new one.
func (w *world) announcementBody() *codec.Body {
	k := len(w.bodies)
	if k == 0 {
		return new(codec.Body)
	}
	b := w.bodies[k-1]
	w.bodies = w.bodies[:k-1]
	return b
}

// release takes back the body of pk, whose last receiver is done with it,
// for another frame to be opened into. Only an announcement's body is
// taken: an engine keeps nothing of an announcement it handled, nor of the
// packet, which the actions it caused (repair requests) gave to act before
// Receive returned; a gossip's lists and payload live on in relays and
// pending sends. An announcement carries up to 1024 hinted NetIDs, and its
// decoded body some 50 KB: the warm worlds of 10000 nodes open about 10⁴
// announcements a virtual second.
func (w *world) release(pk *packet) {
	if pk.body == nil {
		return
	}
	w.bodies = append(w.bodies, pk.body)
	pk.body, pk.msg = nil, core.Message{}
}

// drain carries out n's actions until its engine is quiet, then sets its
// timer. cause is the packet being handled, if any.
func (w *world) drain(n *node, cause *packet) {
	now := w.net.Now()
	for n.eng.HasReady() {
		for _, a := range n.eng.Ready() {
			w.act(n, now, a)
		}
	}
	if next := n.eng.NextDeadline(); !next.IsZero() && (n.timerAt.IsZero() || next.Before(n.timerAt)) {
		n.timerAt = next
		w.net.After(max(next.Sub(now), 0), func() { w.tick(n) })
	}
}

// act carries out one action of n's engine.
func (w *world) act(n *node, now time.Time, a core.Action) {
	parent, _ := a.Meta.(*packet)
	bcast, hop := w.cur, 1
	if parent != nil {
		bcast, hop = parent.bcast, parent.hop+1
	}
	if a.Type == core.ActionDeliver {
		w.delivered(n, now, a, parent)
		if a.Relay {
			g := &a.Message.Gossip
			n.eng.Relay(now, a.Token, g.PayloadIDs, g.Payload)
		}
		return
	}
	msg := &a.Message
	if msg.Kind.IsGossip() {
		// A gossip belongs to the broadcast its ID was first seen in:
		// failovers run from timers, and repairs answer announcements.
		if b, ok := w.ids[msg.Gossip.ID]; ok {
			bcast = b
		} else if bcast >= 0 {
			w.ids[msg.Gossip.ID] = bcast
		}
	}
	if msg.Kind == core.MsgAck {
		bcast = -1
		for _, id := range msg.Ack.IDs {
			if b, ok := w.ids[id]; ok {
				bcast = b
			}
		}
	}
	if msg.Kind == core.MsgAnnouncement {
		w.announces++
		bcast = -1
	}
	frame := w.seal(n, now, msg)
	pk := &packet{bcast: bcast, hop: hop}
	if a.Type == core.ActionMulticast {
		n.host.Multicast(frame, pk)
	} else {
		n.host.Send(a.To, frame, pk)
	}
	w.count(n, pk, msg, len(frame))
	// Open once, for every receiver: this checks the frame round trip.
	var b *codec.Body
	if msg.Kind == core.MsgAnnouncement {
		b = w.announcementBody()
		pk.body = b
	} else {
		b = new(codec.Body)
	}
	h, err := w.opener.Open(frame, now, b)
	if err != nil {
		panic(fmt.Sprintf("sim: a frame the sealer made does not open: %v", err))
	}
	pk.hdr = h
	pk.msg = core.Message{Kind: b.Kind, Gossip: b.Gossip, Ack: b.Ack, Announcement: b.Announcement, Repair: b.Repair}
}

// settle runs the network until every live destination has the current
// broadcast and then a grace period for late copies (failovers, repairs in
// flight), or until window has passed.
func (w *world) settle(m *measure, live int, window time.Duration) {
	const step = 5 * time.Millisecond
	grace := time.Duration(-1)
	for elapsed := time.Duration(0); elapsed < window; elapsed += step {
		w.net.RunFor(step)
		if grace >= 0 {
			if grace -= step; grace <= 0 {
				return
			}
			continue
		}
		if m.reached >= live-1 {
			grace = 20 * w.p.Latency
		}
	}
}

// setTable gives b the table of the NetIDs it names, built in the world's
// scratch space: valid until the next call, which is enough to size or seal
// b. An announcement is sized, then sealed with the same NetIDs: when b
// names the NetIDs the last call's body named, in the same order, the last
// table is given again rather than built anew.
func (w *world) setTable(b *codec.Body) {
	w.named = b.AppendNetIDs(w.named[:0])
	if !w.hasTable || !slices.Equal(w.named, w.lastNamed) {
		w.named, w.lastNamed = w.lastNamed, w.named
		w.scratch = sortedIDs(w.scratch[:0], w.lastNamed, &w.keys)
		t, err := core.NetIDTableFromSorted(w.scratch)
		if err != nil {
			panic(fmt.Sprintf("sim: a sorted table is refused: %v", err))
		}
		w.lastTable, w.hasTable = t, true
	}
	b.Table = w.lastTable
}

// sortedIDs appends to dst the valid NetIDs of ids, sorted by
// [core.NetID.Compare] and without repeats; keys is scratch for
// [core.SortNetIDs].
func sortedIDs(dst, ids []core.NetID, keys *[]uint64) []core.NetID {
	n := len(dst)
	for _, id := range ids {
		if id.IsValid() {
			dst = append(dst, id)
		}
	}
	*keys = core.SortNetIDs(dst[n:], *keys)
	return dst[:n+len(slices.Compact(dst[n:]))]
}

// seal seals msg as n's next frame.
func (w *world) seal(n *node, now time.Time, msg *core.Message) []byte {
	b := codec.Body{Kind: msg.Kind, Gossip: msg.Gossip, Ack: msg.Ack, Announcement: msg.Announcement, Repair: msg.Repair}
	w.setTable(&b)
	frame, err := n.sealer.AppendFrame(nil, &b, now)
	if err != nil {
		panic(fmt.Sprintf("sim: seal %s: %v", msg.Kind, err))
	}
	return frame
}

func (w *world) count(n *node, pk *packet, msg *core.Message, size int) {
	if w.m == nil || pk.bcast != w.cur || w.cur < 0 {
		return
	}
	switch {
	case msg.Kind.IsGossip():
		w.m.packets++
		w.m.bytes += size
		if n.id == w.m.origin {
			w.m.originSends++
		}
	case msg.Kind == core.MsgAck:
		w.m.acks++
	}
}

func (w *world) delivered(n *node, now time.Time, a core.Action, pk *packet) {
	if w.m == nil || pk == nil || pk.bcast != w.cur || w.cur < 0 || n.id == w.m.origin {
		return
	}
	w.m.deliveries++
	if _, ok := w.m.first[n.id]; !ok {
		w.m.first[n.id] = firstDelivery{at: now, hop: pk.hop}
		w.m.reached++ // n is up: it received
	}
}

// all returns every node's NetID, in one slice the world keeps: the
// engine and its stores only read it.
func (w *world) all() []core.NetID {
	if len(w.everyone) != len(w.nodes) {
		w.everyone = make([]core.NetID, len(w.nodes))
		for i, n := range w.nodes {
			w.everyone[i] = n.id
		}
	}
	return w.everyone
}

// broadcast has origin broadcast a payload to every node.
func (w *world) broadcast(origin *node) {
	now := w.net.Now()
	payload := make([]byte, w.p.Payload)
	for i := range payload {
		payload[i] = byte('a' + (i+w.cur)%26)
	}
	id := origin.eng.Broadcast(now, w.all(), core.TagOf("sim"), core.NetIDTable{}, payload)
	if w.cur >= 0 {
		w.ids[id] = w.cur
	}
	w.drain(origin, nil)
}

// warmUp runs announcements, then Warmup broadcasts from random origins
// 500ms apart, so peer stores, groupings and first-hand reports settle.
func (w *world) warmUp() {
	w.net.RunFor(3 * time.Second)
	for range max(w.p.Warmup, 0) {
		w.broadcast(w.nodes[w.rnd.IntN(len(w.nodes))])
		w.net.RunFor(500 * time.Millisecond)
	}
}

// measure runs the measured broadcasts and returns their mean figures.
func (w *world) measure(phase string, progress func()) Result {
	// Crash a fraction of the nodes, never the origins chosen below.
	origins := make([]*node, w.p.Broadcasts)
	for i := range origins {
		origins[i] = w.nodes[w.rnd.IntN(len(w.nodes))]
	}
	if w.p.Crash > 0 {
		perm := w.rnd.Perm(len(w.nodes))
		down := int(w.p.Crash * float64(len(w.nodes)))
		for _, i := range perm {
			if down == 0 {
				break
			}
			n := w.nodes[i]
			if slices.Contains(origins, n) {
				continue
			}
			n.up = false
			w.net.Crash(n.id)
			down--
		}
	}
	live := 0
	for _, n := range w.nodes {
		if n.up {
			live++
		}
	}
	// Long enough for failovers (AckTimeout each) and for repair of a
	// lost tail frame, which the next announcement reveals (or the one
	// after, when that is lost too).
	window := 5*time.Second + 8*w.p.AckTimeout
	const curveMs = 1000
	r := Result{Strategy: w.strategy.String(), Phase: phase, Curve: make([]float64, curveMs)}
	phaseStart := w.net.Now()
	w.announces = 0
	var hops []int
	for b, origin := range origins {
		w.cur = b
		w.m = &measure{start: w.net.Now(), origin: origin.id, first: make(map[core.NetID]firstDelivery)}
		w.broadcast(origin)
		w.settle(w.m, live, window)
		m := w.m
		reached, last, maxHop := 0, time.Duration(0), 0
		hops = hops[:0]
		for id, f := range m.first {
			if !w.byID[id].up {
				continue
			}
			reached++
			last = max(last, f.at.Sub(m.start))
			maxHop = max(maxHop, f.hop)
			hops = append(hops, f.hop)
			for ms := int(f.at.Sub(m.start) / time.Millisecond); ms < curveMs; ms++ {
				r.Curve[max(ms, 0)]++
			}
		}
		slices.Sort(hops)
		liveDests := live - 1
		r.DeliveryRatio += float64(reached) / float64(max(liveDests, 1))
		r.RoundsMax += float64(maxHop)
		if len(hops) > 0 {
			r.RoundsP50 += float64(hops[len(hops)/2])
		}
		r.TimeToLastMs += float64(last) / float64(time.Millisecond)
		r.OriginSends += float64(m.originSends)
		r.WirePackets += float64(m.packets)
		r.WireBytes += float64(m.bytes)
		r.AckPackets += float64(m.acks)
		if reached > 0 {
			r.CopiesPerNode += float64(m.deliveries) / float64(reached)
		}
		progress()
	}
	w.cur, w.m = -1, nil
	k := float64(max(len(origins), 1))
	for _, f := range []*float64{&r.DeliveryRatio, &r.RoundsMax, &r.RoundsP50, &r.TimeToLastMs, &r.OriginSends, &r.WirePackets, &r.WireBytes, &r.AckPackets, &r.CopiesPerNode} {
		*f /= k
	}
	for i := range r.Curve {
		r.Curve[i] /= k * float64(max(live-1, 1))
	}
	secs := w.net.Now().Sub(phaseStart).Seconds()
	r.AnnouncePerNodeS = float64(w.announces) / float64(live) / secs
	for _, f := range []*float64{&r.DeliveryRatio, &r.RoundsMax, &r.RoundsP50, &r.TimeToLastMs, &r.OriginSends, &r.WirePackets, &r.WireBytes, &r.AckPackets, &r.CopiesPerNode, &r.AnnouncePerNodeS} {
		*f = round(*f)
	}
	return r
}

func round(f float64) float64 { return math.Round(f*1000) / 1000 }
