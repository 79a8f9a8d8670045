// Package chatter broadcasts small messages to a set of nodes fast, cheaply
// and securely: UDP multicast reaches the nodes on the same network, a TCP
// logarithmic broadcast reaches the rest, and every frame is compressed with
// LZ4 and sealed with AES-256-GCM under a shared group key, with replay
// protection. Nodes learn their network from traffic, with no
// configuration.
//
// # Use
//
// A Node wires the protocol engine of package core to its adapters: the
// codec, the keyring, the peer store, the handler router and two
// transports. Register a handler per message type, then broadcast:
//
//	node, err := chatter.New(chatter.Config{Addr: addr, Key: key}, chatter.WithTransports(tcp, mcast))
//	err = chatter.Register(node, chatter.Handler[Hello]{Name: "hello", Encode: ..., Decode: ..., Dispatch: ...})
//	err = chatter.Broadcast(ctx, node, node.Peers(), Hello{Text: "world"})
//
// A handler's Dispatch may return a modified message: that is what the node
// forwards (merge semantics). Messages may arrive more than once, by design;
// set Handler.AtMostOnce to dispatch each at most once.
//
// # Goroutines
//
// The node owns every goroutine it starts: one run loop that owns the
// engine, one receive loop per transport, a dispatcher and senders. Close
// stops the transports (the producers) first, then the loops, and waits for
// all of them. A node takes ownership of the transports passed to it and
// closes them.
package chatter

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
	"github.com/chatter-go/chatter/peerstore"
	"github.com/chatter-go/chatter/router"
)

// NetID names a node: the address and port of its TCP listener.
type NetID = core.NetID

// Handler is the typed description of one message type; see router.Handler.
type Handler[T any] = router.Handler[T]

// Delivery is what a handler learns about one arrival.
type Delivery = router.Delivery

// Errors.
var (
	// ErrClosed is returned by a node's methods after Close.
	ErrClosed = errors.New("chatter: node closed")
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("chatter: invalid config")
	// ErrTooLarge reports a message whose frame exceeds the frame size.
	ErrTooLarge = errors.New("chatter: message too large")
	// ErrQueueFull reports a broadcast refused because the node's queue
	// is full; try again later.
	ErrQueueFull = errors.New("chatter: broadcast queue full")
)

// Defaults.
const (
	DefaultPort         = 29999
	DefaultTTL          = 4
	HostOnlyTTL         = -1 // Config.TTL for a TTL of 0
	DefaultQueueLen     = 1024
	DefaultDispatchers  = 4
	DefaultSenders      = 4
	DefaultKeyID        = 1
	defaultGroupAddress = "224.1.1.1"
)

// DefaultMulticastGroup is the multicast group a node joins by default.
var DefaultMulticastGroup = netip.AddrPortFrom(netip.MustParseAddr(defaultGroupAddress), DefaultPort)

// Config configures a Node. Zero fields take the default named; New fills
// them into a copy and never changes the caller's value.
type Config struct {
	// Addr is the node's NetID: the address and port of its TCP listener.
	// Required.
	Addr netip.AddrPort
	// Listen is the address the TCP listener binds, when it differs from
	// the advertised Addr (NAT, containers); default Addr.
	Listen netip.AddrPort
	// MulticastGroup is the group the node multicasts to; default
	// 224.1.1.1:29999.
	MulticastGroup netip.AddrPort
	// Interface names the network interface that multicast uses; default
	// the interface that holds Addr's address. Multicast never goes out
	// of an interface the node was not given or does not sit on.
	Interface string
	// MulticastLoopback delivers the node's multicast to the other
	// sockets of its host: on when several nodes share a host.
	MulticastLoopback bool
	// NoMulticast runs the node on TCP alone, for networks without
	// multicast (most cloud networks): every destination is then reached
	// by the logarithmic TCP broadcast.
	NoMulticast bool
	// TTL is the multicast TTL; default 4. HostOnlyTTL keeps datagrams
	// on this host (a TTL of 0).
	TTL int
	// Key is the group secret, required; see crypto.KeyFromSecret for the
	// rule applied to secrets that are not 32 bytes. KeyID names it on
	// the wire; default 1.
	Key   []byte
	KeyID uint8
	// Logger receives warnings; default a logger that discards.
	Logger *slog.Logger
	// Observer, if set, is called for each delivery and each refused
	// frame, from the node's goroutines: it must return quickly.
	Observer func(Event)
	// Seed seeds the node's random choices; 0 draws one from crypto/rand.
	Seed uint64
	// QueueLen bounds the broadcasts waiting for the run loop; default
	// 1024.
	QueueLen int
	// MaxFrameSize bounds a TCP frame; default codec.DefaultMaxFrameSize.
	MaxFrameSize int
	// Engine tunes the protocol; Self and Epoch are set by New.
	Engine core.EngineConfig
	// Peers tunes the peer store; Self is set by New.
	Peers peerstore.Config
}

// Validate reports whether c can make a node, without filling defaults.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	if _, err := core.NetIDFromAddrPort(c.Addr); err != nil {
		return c, fmt.Errorf("%w: Addr: %w", ErrConfig, err)
	}
	if len(c.Key) == 0 {
		return c, fmt.Errorf("%w: a Key is required", ErrConfig)
	}
	if !c.MulticastGroup.IsValid() {
		c.MulticastGroup = DefaultMulticastGroup
	}
	if !c.MulticastGroup.Addr().IsMulticast() {
		return c, fmt.Errorf("%w: MulticastGroup %s is not a multicast address", ErrConfig, c.MulticastGroup)
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.TTL < HostOnlyTTL || c.TTL > 255 {
		return c, fmt.Errorf("%w: TTL %d", ErrConfig, c.TTL)
	}
	if c.KeyID == 0 {
		c.KeyID = DefaultKeyID
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.QueueLen <= 0 {
		c.QueueLen = DefaultQueueLen
	}
	if c.MaxFrameSize <= 0 {
		c.MaxFrameSize = codec.DefaultMaxFrameSize
	}
	return c, nil
}

// Option configures New.
type Option func(*options)

type options struct {
	unicast   core.Unicast
	multicast core.Multicast
}

// WithTransports makes the node use these transports instead of TCP and
// UDP multicast, for example the hosts of an in-memory memnet.Live network.
// The node owns them and closes them on Close. multicast may be nil: the
// node then runs on TCP alone.
func WithTransports(unicast core.Unicast, multicast core.Multicast) Option {
	return func(o *options) { o.unicast, o.multicast = unicast, multicast }
}

// EventType says what an Event reports.
type EventType uint8

// Event types.
const (
	EventDelivered EventType = iota + 1 // a gossip was delivered to the node
	EventDropped                        // a frame was refused
)

// Event is what the Observer is told.
type Event struct {
	Type   EventType
	ID     core.BroadcastID // EventDelivered
	From   NetID            // EventDelivered
	Via    core.Via
	Reason codec.Reason // EventDropped
	Err    error        // EventDropped
}

// Node is one Chatter node. Its methods are safe for concurrent use.
type Node struct {
	cfg    Config
	self   NetID
	ring   *crypto.Keyring
	sealer *codec.Sealer
	opener *codec.Opener
	store  *peerstore.Store
	router *router.Router
	uni    core.Unicast
	mcast  core.Multicast
	maxDgm int

	// run loop inputs
	inbound   chan inbound
	requests  chan request
	relays    chan relayResult
	failures  chan NetID
	deliver   chan core.Action
	sends     []chan outbound
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	done      chan struct{}

	stats stats
}

type inbound struct {
	h   codec.Header
	msg core.Message
	via core.Via
}

type request struct {
	dests   []NetID
	tag     core.TypeTag
	ids     core.NetIDTable
	payload []byte
	result  chan core.BroadcastID
}

type relayResult struct {
	token   uint64
	ids     core.NetIDTable
	payload []byte
}

type outbound struct {
	to    NetID // zero: multicast
	frame []byte
}

// stats are a node's counters.
type stats struct {
	sentFrames, sentBytes [3]atomic.Uint64 // by core.Via
	recvFrames, recvBytes [3]atomic.Uint64
	sendErrors            atomic.Uint64
	deliveries            atomic.Uint64
	dispatchSkipped       atomic.Uint64
}

// New returns a running node for cfg.
func New(cfg Config, opts ...Option) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	self, _ := core.NetIDFromAddrPort(cfg.Addr)
	if o.unicast == nil {
		if o.unicast, o.multicast, err = realTransports(cfg, self); err != nil {
			return nil, err
		}
	}
	ok := false
	defer func() {
		if !ok { // the node owns the transports, even when New fails
			o.unicast.Close()
			if o.multicast != nil {
				o.multicast.Close()
			}
		}
	}()
	key, err := crypto.KeyFromSecret(cfg.Key, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	seed := cfg.Seed
	var rb [16]byte
	if _, err := crand.Read(rb[:]); err != nil {
		return nil, fmt.Errorf("chatter: random: %w", err)
	}
	if seed == 0 {
		seed = binary.LittleEndian.Uint64(rb[:8])
	}
	epoch := core.NewEpoch(time.Now(), binary.LittleEndian.Uint64(rb[8:])|1)
	n := &Node{
		cfg:      cfg,
		self:     self,
		ring:     crypto.NewKeyring(crypto.KeyID(cfg.KeyID), key),
		uni:      o.unicast,
		mcast:    o.multicast,
		inbound:  make(chan inbound, cfg.QueueLen),
		requests: make(chan request, cfg.QueueLen),
		relays:   make(chan relayResult, cfg.QueueLen),
		failures: make(chan NetID, cfg.QueueLen),
		deliver:  make(chan core.Action, cfg.QueueLen),
		done:     make(chan struct{}),
	}
	n.maxDgm = codec.DefaultMaxDatagram
	if n.mcast != nil {
		n.maxDgm = n.mcast.MaxDatagram()
	}
	if n.sealer, err = codec.NewSealer(n.ring, self, epoch); err != nil {
		return nil, err
	}
	n.opener = codec.NewOpener(n.ring, codec.OpenerConfig{MaxFrameSize: cfg.MaxFrameSize})
	pc := cfg.Peers
	pc.Self = self
	n.store = peerstore.New(pc)
	n.router = router.New(router.Config{})
	ec := cfg.Engine
	ec.Self, ec.Epoch = self, epoch
	if n.mcast == nil {
		ec.NoMulticast = true
	}
	eng, err := core.NewEngine(ec, n.store, rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), sizer{n})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	// Consumers first, producers last; Close stops them in reverse.
	for range DefaultSenders {
		ch := make(chan outbound, cfg.QueueLen)
		n.sends = append(n.sends, ch)
		n.goFunc(func() { n.sendLoop(ch) })
	}
	for range DefaultDispatchers {
		n.goFunc(n.dispatchLoop)
	}
	n.goFunc(func() { n.run(eng) })
	n.goFunc(func() { n.receiveLoop(n.uni.Receive) })
	if n.mcast != nil {
		n.goFunc(func() { n.receiveLoop(n.mcast.Receive) })
	}
	ok = true
	return n, nil
}

func (n *Node) goFunc(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// LocalID returns the node's NetID.
func (n *Node) LocalID() NetID { return n.self }

// Peers returns every node this node knows of and has not expired, without
// itself, in NetID order.
func (n *Node) Peers() []NetID { return n.store.Peers(time.Now()) }

// Keyring returns the node's keyring: add, promote (Use) and remove keys on
// the live node through it.
func (n *Node) Keyring() *crypto.Keyring { return n.ring }

// Register adds a handler for messages of type T to the node.
func Register[T any](n *Node, h Handler[T]) error {
	if n.closed() {
		return ErrClosed
	}
	return router.Register(n.router, h)
}

// Broadcast sends m to dests and returns once the node has taken it on (not
// when it has been delivered): the origin's BroadcastID. It fails with
// ErrClosed after Close, ErrTooLarge when the message cannot be framed,
// ErrQueueFull when the node's queue is full, or ctx's error.
func Broadcast[T any](ctx context.Context, n *Node, dests []NetID, m T) (core.BroadcastID, error) {
	if n.closed() {
		return core.BroadcastID{}, ErrClosed
	}
	tag, ids, payload, err := router.EncodeMessage(n.router, m)
	if err != nil {
		return core.BroadcastID{}, fmt.Errorf("chatter: broadcast: %w", err)
	}
	if len(payload)+ids.Len()*19 > n.cfg.MaxFrameSize/2 {
		return core.BroadcastID{}, fmt.Errorf("%w: %d-byte payload", ErrTooLarge, len(payload))
	}
	rq := request{dests: append([]NetID(nil), dests...), tag: tag, ids: ids, payload: payload, result: make(chan core.BroadcastID, 1)}
	select {
	case n.requests <- rq:
	case <-n.done:
		return core.BroadcastID{}, ErrClosed
	case <-ctx.Done():
		return core.BroadcastID{}, ctx.Err()
	default:
		return core.BroadcastID{}, ErrQueueFull
	}
	select {
	case id := <-rq.result:
		return id, nil
	case <-n.done:
		return core.BroadcastID{}, ErrClosed
	case <-ctx.Done():
		return core.BroadcastID{}, ctx.Err()
	}
}

func (n *Node) closed() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// Close stops the node: transports first (no more input), then its loops;
// it waits for every goroutine. It is idempotent and returns the first
// transport error.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		close(n.done)
		err = n.uni.Close()
		if n.mcast != nil {
			err = errors.Join(err, n.mcast.Close())
		}
		n.cancel()
		n.wg.Wait()
	})
	return err
}

// receiveLoop opens the frames a transport hands over and queues them for
// the run loop.
func (n *Node) receiveLoop(receive func(context.Context) (core.Packet, error)) {
	var body codec.Body
	for {
		p, err := receive(n.ctx)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || n.ctx.Err() != nil {
				return
			}
			n.cfg.Logger.Warn("chatter: receive", "err", err)
			continue
		}
		vi := min(int(p.Via), 2)
		n.stats.recvFrames[vi].Add(1)
		n.stats.recvBytes[vi].Add(uint64(len(p.Frame)))
		h, err := n.opener.Open(p.Frame, time.Now(), &body)
		if err != nil {
			n.observe(Event{Type: EventDropped, Via: p.Via, Reason: codec.ReasonOf(err), Err: err})
			continue
		}
		// Copy what the run loop keeps: the body is reused.
		in := inbound{h: h, via: p.Via, msg: cloneMessage(&body)}
		if in.msg.Kind == core.MsgRepaired {
			in.via = core.ViaRepair
		}
		select {
		case n.inbound <- in:
		case <-n.ctx.Done():
			return
		}
	}
}

// run is the loop that owns the engine.
func (n *Node) run(eng *core.Engine) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		for eng.HasReady() {
			for _, a := range eng.Ready() {
				n.carryOut(eng, now, a)
			}
		}
		d := max(time.Until(eng.NextDeadline()), time.Millisecond)
		timer.Reset(d)
		select {
		case <-n.ctx.Done():
			return
		case in := <-n.inbound:
			eng.Receive(time.Now(), in.h.Sender, in.h.Epoch, in.via, &in.msg, nil)
		case rq := <-n.requests:
			rq.result <- eng.Broadcast(time.Now(), rq.dests, rq.tag, rq.ids, rq.payload)
		case r := <-n.relays:
			eng.Relay(time.Now(), r.token, r.ids, r.payload)
		case to := <-n.failures:
			eng.Unreachable(time.Now(), to)
		case <-timer.C:
			eng.Tick(time.Now())
		}
	}
}

// carryOut seals and queues one action, or hands a delivery to the
// dispatchers. It runs on the run loop, which owns eng: it never waits for
// a queue the run loop itself drains.
func (n *Node) carryOut(eng *core.Engine, now time.Time, a core.Action) {
	if a.Type == core.ActionDeliver {
		n.stats.deliveries.Add(1)
		select {
		case n.deliver <- a:
		default:
			// Dispatchers are behind: forward without dispatching rather
			// than stall the run loop.
			n.stats.dispatchSkipped.Add(1)
			if a.Relay {
				g := &a.Message.Gossip
				eng.Relay(now, a.Token, g.PayloadIDs, g.Payload)
			}
		}
		return
	}
	b := codec.Body{Kind: a.Message.Kind, Gossip: a.Message.Gossip, Ack: a.Message.Ack, Announcement: a.Message.Announcement, Repair: a.Message.Repair}
	b.Table = core.NewNetIDTable(b.AppendNetIDs(nil)...)
	frame, err := n.sealer.AppendFrame(nil, &b, now)
	if err != nil {
		n.cfg.Logger.Warn("chatter: seal", "kind", a.Message.Kind, "err", err)
		return
	}
	out := outbound{to: a.To, frame: frame}
	if a.Type == core.ActionMulticast {
		out.to = NetID{}
	}
	// One sender per target keeps each target's frames in order.
	ch := n.sends[hashNetID(out.to)%uint64(len(n.sends))]
	select {
	case ch <- out:
	default:
		n.stats.sendErrors.Add(1)
		if out.to.IsValid() {
			eng.Unreachable(now, out.to)
		}
	}
}

func hashNetID(id NetID) uint64 {
	b, _ := id.AppendBinary(nil)
	var h uint64 = 14695981039346656037
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// sendLoop writes queued frames to the transports.
func (n *Node) sendLoop(ch chan outbound) {
	for {
		select {
		case <-n.ctx.Done():
			return
		case out := <-ch:
			var err error
			via := core.ViaTCP
			if !out.to.IsValid() {
				via = core.ViaMulticast
				if n.mcast != nil {
					err = n.mcast.Multicast(n.ctx, out.frame)
				}
			} else {
				err = n.uni.Send(n.ctx, out.to, out.frame)
			}
			if err != nil {
				n.stats.sendErrors.Add(1)
				if out.to.IsValid() && !errors.Is(err, net.ErrClosed) {
					select {
					case n.failures <- out.to:
					case <-n.ctx.Done():
						return
					}
				}
				continue
			}
			n.stats.sentFrames[via].Add(1)
			n.stats.sentBytes[via].Add(uint64(len(out.frame)))
		}
	}
}

// dispatchLoop runs handlers off the run loop and hands back what to relay.
func (n *Node) dispatchLoop() {
	for {
		select {
		case <-n.ctx.Done():
			return
		case a := <-n.deliver:
			g := &a.Message.Gossip
			res, err := n.router.Dispatch(n.ctx, g.Tag, g.PayloadIDs, g.Payload, router.Delivery{ID: g.ID, From: a.From, Via: a.Via})
			if err == nil {
				n.observe(Event{Type: EventDelivered, ID: g.ID, From: a.From, Via: a.Via})
			}
			if !a.Relay {
				continue
			}
			select {
			case n.relays <- relayResult{token: a.Token, ids: res.IDs, payload: res.Payload}:
			case <-n.ctx.Done():
				return
			}
		}
	}
}

func (n *Node) observe(e Event) {
	if n.cfg.Observer != nil {
		n.cfg.Observer(e)
	}
}

// sizer answers the engine: does a multicast message fit one datagram?
type sizer struct{ n *Node }

func (s sizer) MulticastFits(m *core.Message) bool {
	b := codec.Body{Kind: m.Kind, Gossip: m.Gossip, Announcement: m.Announcement}
	b.Table = core.NewNetIDTable(b.AppendNetIDs(nil)...)
	l, err := s.n.sealer.MaxFrameLen(&b)
	return err == nil && l <= s.n.maxDgm
}

// cloneMessage copies the message of a reused Body.
func cloneMessage(b *codec.Body) core.Message {
	m := core.Message{Kind: b.Kind, Gossip: b.Gossip, Ack: b.Ack, Announcement: b.Announcement, Repair: b.Repair}
	g := &m.Gossip
	g.Seen = append([]core.SeenEntry(nil), g.Seen...)
	g.Others = append([]NetID(nil), g.Others...)
	g.Distribution = cloneGroups(g.Distribution)
	g.PayloadIDs = core.NewNetIDTable(g.PayloadIDs.IDs()...)
	g.Payload = append([]byte(nil), g.Payload...)
	m.Ack.IDs = append([]core.BroadcastID(nil), m.Ack.IDs...)
	m.Ack.Seen = append([]core.SeenEntry(nil), m.Ack.Seen...)
	m.Announcement.Seen = append([]core.SeenEntry(nil), m.Announcement.Seen...)
	m.Announcement.Groups = cloneGroups(m.Announcement.Groups)
	m.Repair.Ranges = append([]core.SeqRange(nil), m.Repair.Ranges...)
	return m
}

func cloneGroups(groups []core.Group) []core.Group {
	out := make([]core.Group, len(groups))
	for i, grp := range groups {
		out[i] = core.Group{Entry: grp.Entry, Members: append([]NetID(nil), grp.Members...)}
	}
	return out
}

// Stats is a snapshot of a node's counters.
type Stats struct {
	// Sent and Received count frames and bytes by transport ("mcast",
	// "tcp").
	Sent, Received map[string]Traffic
	// SendErrors counts frames a transport refused or that found the
	// node's send queue full.
	SendErrors uint64
	// Deliveries counts gossip delivered to this node, duplicates included;
	// DispatchSkipped those forwarded without dispatch because the
	// handlers were behind.
	Deliveries      uint64
	DispatchSkipped uint64
	// Opened counts frames opened; Dropped counts refused frames by
	// reason.
	Opened  uint64
	Dropped map[string]uint64
	// Router counts dispatches, duplicates and handler failures.
	Router router.Stats
}

// Traffic is a frame and byte count.
type Traffic struct{ Frames, Bytes uint64 }

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats {
	s := Stats{Sent: map[string]Traffic{}, Received: map[string]Traffic{}, Dropped: map[string]uint64{}}
	for _, v := range []core.Via{core.ViaMulticast, core.ViaTCP} {
		s.Sent[v.String()] = Traffic{n.stats.sentFrames[v].Load(), n.stats.sentBytes[v].Load()}
		s.Received[v.String()] = Traffic{n.stats.recvFrames[v].Load(), n.stats.recvBytes[v].Load()}
	}
	s.SendErrors = n.stats.sendErrors.Load()
	s.Deliveries = n.stats.deliveries.Load()
	s.DispatchSkipped = n.stats.dispatchSkipped.Load()
	os := n.opener.Stats()
	s.Opened = os.Opened
	for r, c := range os.Dropped {
		s.Dropped[r.String()] = c
	}
	s.Router = n.router.Stats()
	return s
}
