package memnet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatter-go/chatter/core"
)

// Defaults of LiveConfig.
const (
	DefaultQueueLen    = 1024
	DefaultMaxFrame    = 1 << 20
	DefaultMaxDatagram = 1452 // a 1500-byte MTU less IPv6 and UDP headers
)

// LiveConfig configures a concurrent [Live] network. Zero fields take their
// defaults.
type LiveConfig struct {
	// Seed seeds the loss draws. Goroutines interleave as they will, so a
	// seed does not make a Live run reproducible; it keeps a lossy test
	// from depending on a global random source.
	Seed uint64
	// McastLoss is the probability that a multicast datagram is lost, drawn
	// per receiver; UnicastLoss, that a unicast frame is silently lost.
	McastLoss, UnicastLoss float64
	// Latency delays every frame: Receive returns it no sooner than
	// Latency after it was sent. Default 0.
	Latency time.Duration
	// QueueLen bounds each host's receive queues, one for unicast and one
	// for multicast; default DefaultQueueLen. Unicast Send blocks while
	// the target's queue is full; a multicast datagram to a full queue is
	// dropped and counted.
	QueueLen int
	// MaxFrame is the longest unicast frame; default DefaultMaxFrame.
	MaxFrame int
	// MaxDatagram is the longest multicast frame; default
	// DefaultMaxDatagram.
	MaxDatagram int
}

// Validate reports whether c is usable: loss probabilities in [0, 1] and no
// negative field.
func (c LiveConfig) Validate() error {
	var errs []error
	errs = append(errs, checkProb("McastLoss", c.McastLoss), checkProb("UnicastLoss", c.UnicastLoss))
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("memnet: negative Latency %v", c.Latency))
	}
	if c.QueueLen < 0 || c.MaxFrame < 0 || c.MaxDatagram < 0 {
		errs = append(errs, fmt.Errorf("memnet: negative QueueLen %d, MaxFrame %d or MaxDatagram %d",
			c.QueueLen, c.MaxFrame, c.MaxDatagram))
	}
	return errors.Join(errs...)
}

func (c LiveConfig) withDefaults() LiveConfig {
	c.QueueLen = cmp.Or(c.QueueLen, DefaultQueueLen)
	c.MaxFrame = cmp.Or(c.MaxFrame, DefaultMaxFrame)
	c.MaxDatagram = cmp.Or(c.MaxDatagram, DefaultMaxDatagram)
	return c
}

// Live is an in-memory network for real goroutines on the wall clock: the
// transport of tests that run whole nodes, under the race detector. It is
// safe for concurrent use. It starts no goroutine.
type Live struct {
	cfg LiveConfig

	mu      sync.Mutex // guards what follows; taken before any host's mu
	rng     *rand.Rand
	hosts   map[core.NetID]*LiveHost // closed hosts stay until replaced
	subnets map[string][]*LiveHost   // open hosts, in the order added
	cuts    map[[2]string]struct{}

	uni, mcast viaCounters
}

type viaCounters struct {
	packets, bytes, delivered, lost, dropped atomic.Uint64
}

func (v *viaCounters) snapshot() ViaStats {
	return ViaStats{
		Packets:   v.packets.Load(),
		Bytes:     v.bytes.Load(),
		Delivered: v.delivered.Load(),
		Lost:      v.lost.Load(),
		Dropped:   v.dropped.Load(),
	}
}

// NewLive returns an empty concurrent network. It panics if cfg is invalid
// (see LiveConfig.Validate).
func NewLive(cfg LiveConfig) *Live {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Live{
		cfg:     cfg.withDefaults(),
		rng:     rand.New(rand.NewPCG(cfg.Seed, pcgStream)),
		hosts:   make(map[core.NetID]*LiveHost),
		subnets: make(map[string][]*LiveHost),
	}
}

// Host adds an up host with NetID id to the multicast domain named subnet.
// A closed host's NetID may be added again (a node restarting on the same
// address); the new host replaces it. Host panics if id is invalid or
// belongs to an open host.
func (l *Live) Host(id core.NetID, subnet string) *LiveHost {
	if !id.IsValid() {
		panic("memnet: Host with an invalid NetID")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if old := l.hosts[id]; old != nil && !old.closed.Load() {
		panic(fmt.Sprintf("memnet: host %s added twice", id))
	}
	h := &LiveHost{
		l:      l,
		id:     id,
		subnet: subnet,
		remote: id.AddrPort(),
		done:   make(chan struct{}),
	}
	l.hosts[id] = h
	l.subnets[subnet] = append(l.subnets[subnet], h)
	return h
}

// Crash crashes the host with NetID id: until Restart it receives nothing,
// its sends are dropped (and succeed, as a crashed peer's would seem to),
// and the frames queued for it are lost. Unknown ids are ignored.
func (l *Live) Crash(id core.NetID) {
	if h := l.lookup(id); h != nil {
		h.crash()
	}
}

// Restart brings a crashed host back up. Unknown ids are ignored.
func (l *Live) Restart(id core.NetID) {
	if h := l.lookup(id); h != nil {
		h.mu.Lock()
		h.down.Store(false)
		h.mu.Unlock()
	}
}

func (l *Live) lookup(id core.NetID) *LiveHost {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hosts[id]
}

// Partition cuts unicast between the subnets named a and b, both ways:
// frames sent across the cut are silently lost. Frames already queued are
// not recalled.
func (l *Live) Partition(a, b string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cuts == nil {
		l.cuts = make(map[[2]string]struct{})
	}
	if a > b {
		a, b = b, a
	}
	l.cuts[[2]string{a, b}] = struct{}{}
}

// Heal removes every partition.
func (l *Live) Heal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cuts = nil
}

// partitioned reports whether unicast between subnets a and b is cut; l.mu
// is held.
func (l *Live) partitioned(a, b string) bool {
	if len(l.cuts) == 0 {
		return false
	}
	if a > b {
		a, b = b, a
	}
	_, cut := l.cuts[[2]string{a, b}]
	return cut
}

// chance draws true with probability p; l.mu is held.
func (l *Live) chance(p float64) bool { return p > 0 && l.rng.Float64() < p }

// Stats returns a snapshot of the network's counters.
func (l *Live) Stats() Stats {
	return Stats{Unicast: l.uni.snapshot(), Multicast: l.mcast.snapshot()}
}

// LiveHost is one node's endpoint on a Live network. It implements
// core.Unicast (Send) and core.Multicast (Multicast) with one Receive that
// returns frames of both kinds, told apart by Packet.Via; UnicastPort and
// MulticastPort give views whose Receive returns one kind only. It is safe
// for concurrent use.
type LiveHost struct {
	l      *Live
	id     core.NetID
	subnet string
	remote netip.AddrPort
	done   chan struct{} // closed by Close

	closed atomic.Bool // written with mu held
	down   atomic.Bool // written with mu held

	mu      sync.Mutex // guards what follows
	uni     fifo
	mcast   fifo
	seq     uint64        // arrival sequence, across both queues
	arrived chan struct{} // closed when a frame arrives or the host changes state, if anyone waits
	freed   chan struct{} // closed when a unicast slot frees or the host changes state, if anyone waits

	sent, sentBytes, received, receivedBytes atomic.Uint64
}

var (
	_ core.Unicast   = (*LiveHost)(nil)
	_ core.Multicast = (*LiveHost)(nil)
)

// ID returns the host's NetID.
func (h *LiveHost) ID() core.NetID { return h.id }

// Subnet returns the name of the host's multicast domain.
func (h *LiveHost) Subnet() string { return h.subnet }

// MaxFrame returns the longest frame Send accepts.
func (h *LiveHost) MaxFrame() int { return h.l.cfg.MaxFrame }

// MaxDatagram returns the longest frame Multicast accepts.
func (h *LiveHost) MaxDatagram() int { return h.l.cfg.MaxDatagram }

// Stats returns the host's counters.
func (h *LiveHost) Stats() HostStats {
	return HostStats{
		Sent:          h.sent.Load(),
		SentBytes:     h.sentBytes.Load(),
		Received:      h.received.Load(),
		ReceivedBytes: h.receivedBytes.Load(),
	}
}

func (h *LiveHost) errClosed() error {
	return fmt.Errorf("memnet: host %s closed: %w", h.id, net.ErrClosed)
}

// Send delivers a copy of frame to the host to, after the frames this host
// sent to it before. It blocks while to's unicast queue is full, until
// there is room, ctx ends (ctx's error), or this host is closed. A frame to
// a crashed or partitioned host, or lost to LiveConfig.UnicastLoss, is
// silently lost: Send returns nil. Send returns an error matching
// core.ErrUnreachable for a NetID never added or a closed host,
// core.ErrTooLarge for a frame over MaxFrame, and net.ErrClosed once this
// host is closed.
func (h *LiveHost) Send(ctx context.Context, to core.NetID, frame []byte) error {
	if h.closed.Load() {
		return h.errClosed()
	}
	if len(frame) > h.l.cfg.MaxFrame {
		return fmt.Errorf("memnet: frame of %d bytes over MaxFrame %d: %w", len(frame), h.l.cfg.MaxFrame, core.ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l := h.l
	l.mu.Lock()
	t := l.hosts[to]
	var reason Reason
	switch {
	case t == nil:
		reason = ReasonUnknown
	case h.down.Load():
		reason = ReasonSenderDown
	case l.partitioned(h.subnet, t.subnet):
		reason = ReasonPartition
	case l.chance(l.cfg.UnicastLoss):
		reason = ReasonLoss
	}
	l.mu.Unlock()
	switch reason {
	case ReasonNone:
	case ReasonUnknown:
		l.uni.dropped.Add(1)
		return fmt.Errorf("memnet: no host %s: %w", to, core.ErrUnreachable)
	case ReasonLoss:
		h.count(&l.uni, len(frame))
		l.uni.lost.Add(1)
		return nil
	default:
		l.uni.dropped.Add(1)
		return nil
	}
	return t.enqueue(ctx, h, frame)
}

// count counts a transmitted frame.
func (h *LiveHost) count(v *viaCounters, size int) {
	v.packets.Add(1)
	v.bytes.Add(uint64(size))
	h.sent.Add(1)
	h.sentBytes.Add(uint64(size))
}

// enqueue puts a copy of frame from the sender from on h's unicast queue,
// waiting for room.
func (h *LiveHost) enqueue(ctx context.Context, from *LiveHost, frame []byte) error {
	e := entry{frame: clone(frame), from: from.remote}
	for {
		h.mu.Lock()
		switch {
		case h.closed.Load():
			h.mu.Unlock()
			h.l.uni.dropped.Add(1)
			return fmt.Errorf("memnet: host %s closed: %w", h.id, core.ErrUnreachable)
		case h.down.Load():
			h.mu.Unlock()
			from.count(&h.l.uni, len(frame)) // sent into the void, as in Network
			h.l.uni.dropped.Add(1)
			return nil
		case h.uni.len() < h.l.cfg.QueueLen:
			h.put(&h.uni, e)
			h.mu.Unlock()
			from.count(&h.l.uni, len(frame))
			return nil
		}
		if h.freed == nil {
			h.freed = make(chan struct{})
		}
		freed := h.freed
		h.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		case <-from.done:
			return from.errClosed()
		}
	}
}

// put appends e to q, stamping its arrival; h.mu is held.
func (h *LiveHost) put(q *fifo, e entry) {
	e.seq = h.seq
	h.seq++
	if d := h.l.cfg.Latency; d > 0 {
		e.ready = time.Now().Add(d)
	}
	q.push(e)
	if h.arrived != nil {
		close(h.arrived)
		h.arrived = nil
	}
}

// Multicast sends a copy of frame to every other up host of this host's
// subnet, each losing it with probability LiveConfig.McastLoss; a receiver
// whose multicast queue is full drops it (counted). It never blocks. It
// returns an error matching core.ErrTooLarge for a frame over MaxDatagram,
// and net.ErrClosed once the host is closed. A crashed host's datagram is
// dropped and Multicast returns nil.
func (h *LiveHost) Multicast(_ context.Context, frame []byte) error {
	if h.closed.Load() {
		return h.errClosed()
	}
	l := h.l
	if len(frame) > l.cfg.MaxDatagram {
		return fmt.Errorf("memnet: datagram of %d bytes over MaxDatagram %d: %w", len(frame), l.cfg.MaxDatagram, core.ErrTooLarge)
	}
	if h.down.Load() {
		l.mcast.dropped.Add(1)
		return nil
	}
	h.count(&l.mcast, len(frame))
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.subnets[h.subnet] {
		if m == h || m.down.Load() {
			continue
		}
		if l.chance(l.cfg.McastLoss) {
			l.mcast.lost.Add(1)
			continue
		}
		m.offer(entry{frame: clone(frame), from: h.remote})
	}
	return nil
}

// offer puts e on h's multicast queue if there is room; h.l.mu is held.
func (h *LiveHost) offer(e entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed.Load() || h.down.Load() || h.mcast.len() >= h.l.cfg.QueueLen {
		h.l.mcast.dropped.Add(1)
		return
	}
	h.put(&h.mcast, e)
}

// Receive returns the next frame for this host, unicast or multicast (told
// apart by Packet.Via), blocking until one is due, ctx ends (ctx's error),
// or the host is closed (an error matching net.ErrClosed). Frames from one
// sender arrive in the order they were sent. The caller owns
// Packet.Frame.
func (h *LiveHost) Receive(ctx context.Context) (core.Packet, error) {
	return h.receive(ctx, true, true)
}

func (h *LiveHost) receive(ctx context.Context, uni, mcast bool) (core.Packet, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		h.mu.Lock()
		if h.closed.Load() {
			h.mu.Unlock()
			return core.Packet{}, h.errClosed()
		}
		q, via := h.head(uni, mcast)
		wait := time.Duration(-1)
		if q != nil {
			ready := q.front().ready
			if !ready.IsZero() {
				wait = time.Until(ready)
			}
			if wait <= 0 {
				p := h.take(q, via)
				h.mu.Unlock()
				return p, nil
			}
		}
		if h.arrived == nil {
			h.arrived = make(chan struct{})
		}
		arrived := h.arrived
		h.mu.Unlock()
		var due <-chan time.Time
		if wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			due = timer.C
		}
		select {
		case <-arrived:
		case <-due:
		case <-ctx.Done():
			return core.Packet{}, ctx.Err()
		}
	}
}

// head returns the queue, among those selected, whose first frame arrived
// first, and its transport; nil if they are empty. h.mu is held.
func (h *LiveHost) head(uni, mcast bool) (*fifo, core.Via) {
	u := uni && h.uni.len() > 0
	m := mcast && h.mcast.len() > 0
	switch {
	case u && m:
		if h.uni.front().seq < h.mcast.front().seq {
			return &h.uni, core.ViaTCP
		}
		return &h.mcast, core.ViaMulticast
	case u:
		return &h.uni, core.ViaTCP
	case m:
		return &h.mcast, core.ViaMulticast
	}
	return nil, 0
}

// take removes the first frame of q and returns it as a Packet; h.mu is
// held.
func (h *LiveHost) take(q *fifo, via core.Via) core.Packet {
	e := q.pop()
	v := &h.l.mcast
	if via == core.ViaTCP {
		v = &h.l.uni
		if h.freed != nil {
			close(h.freed)
			h.freed = nil
		}
	}
	v.delivered.Add(1)
	h.received.Add(1)
	h.receivedBytes.Add(uint64(len(e.frame)))
	return core.Packet{Frame: e.frame, Via: via, Remote: e.from}
}

// crash marks the host down and drops what is queued for it.
func (h *LiveHost) crash() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.Load() {
		return
	}
	h.down.Store(true)
	h.dropQueued()
}

// dropQueued empties both queues, counting the frames dropped, and wakes
// every waiter; h.mu is held.
func (h *LiveHost) dropQueued() {
	h.l.uni.dropped.Add(uint64(h.uni.clear()))
	h.l.mcast.dropped.Add(uint64(h.mcast.clear()))
	if h.arrived != nil {
		close(h.arrived)
		h.arrived = nil
	}
	if h.freed != nil {
		close(h.freed)
		h.freed = nil
	}
}

// Close closes the host: Receive and blocked Sends return, later calls
// return an error matching net.ErrClosed, frames queued for it are dropped,
// and Sends to it return an error matching core.ErrUnreachable. The host
// starts no goroutine, so Close has none to wait for. Close is idempotent
// and returns nil.
func (h *LiveHost) Close() error {
	h.mu.Lock()
	if h.closed.Load() {
		h.mu.Unlock()
		return nil
	}
	h.closed.Store(true)
	h.dropQueued()
	close(h.done)
	h.mu.Unlock()

	l := h.l
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subnets[h.subnet] = slices.DeleteFunc(l.subnets[h.subnet], func(m *LiveHost) bool { return m == h })
	if len(l.subnets[h.subnet]) == 0 {
		delete(l.subnets, h.subnet)
	}
	return nil
}

// UnicastPort returns a view of h as a core.Unicast whose Receive returns
// unicast frames only, for a node that runs one receive loop per
// transport. Closing the view closes h.
func (h *LiveHost) UnicastPort() core.Unicast { return unicastPort{h} }

// MulticastPort returns a view of h as a core.Multicast whose Receive
// returns multicast datagrams only. Closing the view closes h.
func (h *LiveHost) MulticastPort() core.Multicast { return multicastPort{h} }

type unicastPort struct{ h *LiveHost }

func (p unicastPort) Send(ctx context.Context, to core.NetID, frame []byte) error {
	return p.h.Send(ctx, to, frame)
}
func (p unicastPort) Receive(ctx context.Context) (core.Packet, error) {
	return p.h.receive(ctx, true, false)
}
func (p unicastPort) Close() error  { return p.h.Close() }
func (p unicastPort) MaxFrame() int { return p.h.MaxFrame() }

type multicastPort struct{ h *LiveHost }

func (p multicastPort) Multicast(ctx context.Context, frame []byte) error {
	return p.h.Multicast(ctx, frame)
}
func (p multicastPort) Receive(ctx context.Context) (core.Packet, error) {
	return p.h.receive(ctx, false, true)
}
func (p multicastPort) MaxDatagram() int { return p.h.MaxDatagram() }
func (p multicastPort) Close() error     { return p.h.Close() }

// entry is a queued frame.
type entry struct {
	frame []byte
	from  netip.AddrPort
	ready time.Time // when Receive may return it; zero without latency
	seq   uint64    // arrival order across the host's queues
}

// fifo is a queue of entries.
type fifo struct {
	items []entry
	head  int
}

func (q *fifo) len() int { return len(q.items) - q.head }

func (q *fifo) front() *entry { return &q.items[q.head] }

func (q *fifo) push(e entry) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head >= 64 && q.head*2 >= len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, e)
}

func (q *fifo) pop() entry {
	e := q.items[q.head]
	q.items[q.head] = entry{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return e
}

// clear empties q and returns how many entries it held.
func (q *fifo) clear() int {
	n := q.len()
	clear(q.items)
	q.items, q.head = nil, 0
	return n
}
