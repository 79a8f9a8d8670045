package memnet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/chatter-go/chatter/core"
)

// Config configures a deterministic [Network]. The zero Config is a valid,
// lossless network with no latency and unlimited bandwidth.
type Config struct {
	// Seed seeds the network's only random source: one seed, one trace.
	Seed uint64
	// Latency is the one-way latency of every link; default 0.
	// Network.SetLinkLatency overrides it per link.
	Latency time.Duration
	// Bandwidth is each host's egress in bytes per second; 0 means
	// unlimited. A host serialises its sends: a frame departs at
	// max(now, the end of the host's previous send) + len/Bandwidth,
	// rounded to the nanosecond, and arrives one link latency later. A
	// multicast is serialised once.
	Bandwidth float64
	// McastLoss is the probability that a multicast datagram is lost,
	// drawn independently per receiver.
	McastLoss float64
	// UnicastLoss is the probability that a unicast frame is silently lost
	// (a connection that dies with data in flight).
	UnicastLoss float64
	// Start is virtual time zero; default 2026-01-01T00:00:00Z.
	Start time.Time
	// SharedFrames makes the deliveries of a frame share the network's
	// copy of it, read-only, rather than each getting a private copy
	// (Delivery.Frame). It is for simulators that neither keep nor modify
	// the frames delivered to them (the simulator reads Delivery.Meta),
	// and saves a copy and an allocation per receiver of a multicast.
	// With it, a handler must not modify Delivery.Frame: the other
	// receivers of the frame see the same bytes. The network still copies
	// a frame when it is sent, so a sender may reuse its buffer at once.
	SharedFrames bool
}

// Validate reports whether c is usable: no negative latency or bandwidth,
// and loss probabilities in [0, 1].
func (c Config) Validate() error {
	var errs []error
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("memnet: negative Latency %v", c.Latency))
	}
	if !(c.Bandwidth >= 0) { // also refuses NaN
		errs = append(errs, fmt.Errorf("memnet: invalid Bandwidth %v", c.Bandwidth))
	}
	errs = append(errs, checkProb("McastLoss", c.McastLoss), checkProb("UnicastLoss", c.UnicastLoss))
	return errors.Join(errs...)
}

func checkProb(name string, p float64) error {
	if !(p >= 0 && p <= 1) {
		return fmt.Errorf("memnet: %s %v outside [0, 1]", name, p)
	}
	return nil
}

// defaultStart returns the default virtual time zero.
func defaultStart() time.Time { return time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC) }

// pcgStream is the second PCG seed word; Config.Seed is the first.
const pcgStream = 0x9e3779b97f4a7c15

// Network is a deterministic in-memory network on a virtual clock. It is not
// safe for concurrent use: build it, send, and run it from one goroutine;
// handlers and timers run on that goroutine, inside Step, and may send and
// set timers themselves.
type Network struct {
	cfg   Config
	start time.Time
	now   int64 // virtual nanoseconds since start
	seq   uint64
	rng   *rand.Rand

	events    eventQueue
	fanExtra  int       // deliveries a queued fanout has yet to make, beyond one each
	fanFree   []*fanout // served fanouts, for reuse
	noFanout  bool      // tests: one event per receiver of every multicast
	hosts     map[core.NetID]*Host
	subnets   []subnet
	subnetIdx map[string]uint32
	cuts      map[[2]uint32]struct{}          // partitioned subnet pairs, lower index first
	links     map[[2]core.NetID]time.Duration // per-link latency overrides, from then to

	stats Stats
	trace func(TraceEvent)
}

// subnet is a multicast domain: its members in the order they were added,
// so a multicast visits them in an order no map decides.
type subnet struct {
	name    string
	members []*Host
}

// New returns an empty network configured by cfg. It panics if cfg is
// invalid (see Config.Validate); callers that take a Config from users
// validate it first.
func New(cfg Config) *Network {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	start := cfg.Start
	if start.IsZero() {
		start = defaultStart()
	}
	return &Network{
		cfg:       cfg,
		start:     start,
		rng:       rand.New(rand.NewPCG(cfg.Seed, pcgStream)),
		hosts:     make(map[core.NetID]*Host),
		subnetIdx: make(map[string]uint32),
	}
}

// Now returns the virtual time.
func (n *Network) Now() time.Time { return n.start.Add(time.Duration(n.now)) }

// Handler receives a host's deliveries. It is called by Step (and so by
// RunUntil and RunUntilIdle) on the network's goroutine, and may send, set
// timers, crash hosts and so on.
type Handler func(d Delivery)

// Delivery is one frame arriving at a host.
type Delivery struct {
	// At is the virtual time of arrival.
	At time.Time
	// From is the sender and To the receiving host.
	From, To core.NetID
	// Via is core.ViaTCP for a unicast frame, core.ViaMulticast for a
	// multicast datagram.
	Via core.Via
	// Frame is a private copy of the frame, which the handler owns; or,
	// with Config.SharedFrames, the network's copy, shared with the
	// frame's other receivers, which the handler must not modify.
	Frame []byte
	// Meta is the value passed with the send, never on the wire: the
	// simulator tracks hops with it.
	Meta any
	// Last is set on the frame's last delivery: once the handler returns,
	// the network holds no reference to the frame or to Meta, and a
	// caller that pools what it sends with frames may take Meta back. A
	// frame lost, or dropped at its last receiver, has no delivery marked
	// Last.
	Last bool
}

// Host is one node of a Network, up from when it is added.
type Host struct {
	n       *Network
	handler Handler
	id      core.NetID
	busy    int64 // when the host's egress is free, virtual nanoseconds
	stats   HostStats
	subnet  uint32
	inc     uint32 // incarnation: changes at every crash and restart
	up      bool
}

// AddHost adds an up host with NetID id to the multicast domain named
// subnet, delivering to h (which may be nil, to discard deliveries, and set
// later with Host.SetHandler). It panics if id is invalid or already
// added.
func (n *Network) AddHost(id core.NetID, subnet string, h Handler) *Host {
	if !id.IsValid() {
		panic("memnet: AddHost with an invalid NetID")
	}
	if _, ok := n.hosts[id]; ok {
		panic(fmt.Sprintf("memnet: host %s added twice", id))
	}
	s := n.subnetOf(subnet)
	host := &Host{n: n, handler: h, id: id, subnet: s, up: true}
	n.hosts[id] = host
	n.subnets[s].members = append(n.subnets[s].members, host)
	return host
}

// subnetOf returns the index of the subnet named name, adding it if new.
func (n *Network) subnetOf(name string) uint32 {
	if i, ok := n.subnetIdx[name]; ok {
		return i
	}
	i := uint32(len(n.subnets))
	n.subnets = append(n.subnets, subnet{name: name})
	n.subnetIdx[name] = i
	return i
}

// Host returns the host with NetID id.
func (n *Network) Host(id core.NetID) (*Host, bool) {
	h, ok := n.hosts[id]
	return h, ok
}

// ID returns the host's NetID.
func (h *Host) ID() core.NetID { return h.id }

// Subnet returns the name of the host's multicast domain.
func (h *Host) Subnet() string { return h.n.subnets[h.subnet].name }

// Up reports whether the host is up (not crashed).
func (h *Host) Up() bool { return h.up }

// SetHandler replaces the host's handler.
func (h *Host) SetHandler(fn Handler) { h.handler = fn }

// Stats returns the host's counters.
func (h *Host) Stats() HostStats { return h.stats }

// Send sends frame to the host to by unicast, with meta for the receiver's
// Delivery. It copies frame. The frame is silently lost if the sender is
// crashed, the target unknown, crashed or partitioned away, or to
// Config.UnicastLoss; every such frame is counted and traced.
func (h *Host) Send(to core.NetID, frame []byte, meta any) {
	n := h.n
	if !h.up {
		n.stats.Unicast.Dropped++
		n.emit(TraceDrop, core.ViaTCP, h.id, to, "", len(frame), ReasonSenderDown, meta)
		return
	}
	t := n.hosts[to]
	if t == nil {
		n.stats.Unicast.Dropped++
		n.emit(TraceDrop, core.ViaTCP, h.id, to, "", len(frame), ReasonUnknown, meta)
		return
	}
	if n.partitioned(h.subnet, t.subnet) {
		n.stats.Unicast.Dropped++
		n.emit(TraceDrop, core.ViaTCP, h.id, to, "", len(frame), ReasonPartition, meta)
		return
	}
	depart := h.transmit(len(frame))
	n.stats.Unicast.Packets++
	n.stats.Unicast.Bytes += uint64(len(frame))
	n.emit(TraceSend, core.ViaTCP, h.id, to, "", len(frame), ReasonNone, meta)
	if n.cfg.UnicastLoss > 0 && n.rng.Float64() < n.cfg.UnicastLoss {
		n.stats.Unicast.Lost++
		n.emit(TraceLost, core.ViaTCP, h.id, to, "", len(frame), ReasonLoss, meta)
		return
	}
	n.schedule(depart+n.latency(h, t), event{
		from: h, to: t,
		buf:  &frameBuf{b: clone(frame), refs: 1},
		meta: meta,
		inc:  t.inc,
		via:  core.ViaTCP,
	})
}

// Multicast sends frame as one datagram to every other up host of the
// sender's subnet, each losing it with probability Config.McastLoss. It
// copies frame. A crashed sender's datagram is dropped and counted. When
// the receivers spared by the loss draw all have the same arrival time, the
// datagram is queued as one event that serves them in turn (see the
// package doc); otherwise as one event per receiver.
func (h *Host) Multicast(frame []byte, meta any) {
	n := h.n
	if !h.up {
		n.stats.Multicast.Dropped++
		n.emit(TraceDrop, core.ViaMulticast, h.id, core.NetID{}, n.subnets[h.subnet].name, len(frame), ReasonSenderDown, meta)
		return
	}
	depart := h.transmit(len(frame))
	n.stats.Multicast.Packets++
	n.stats.Multicast.Bytes += uint64(len(frame))
	sub := &n.subnets[h.subnet]
	n.emit(TraceMulticast, core.ViaMulticast, h.id, core.NetID{}, sub.name, len(frame), ReasonNone, meta)
	// Draw the losses, in member order, and gather the receivers they
	// spare; note whether all of those have one arrival time.
	f := n.newFanout()
	var at int64
	same := !n.noFanout
	for _, m := range sub.members {
		if m == h || !m.up {
			continue
		}
		if n.cfg.McastLoss > 0 && n.rng.Float64() < n.cfg.McastLoss {
			n.stats.Multicast.Lost++
			n.emit(TraceLost, core.ViaMulticast, h.id, m.id, "", len(frame), ReasonLoss, meta)
			continue
		}
		a := depart + n.latency(h, m)
		if len(f.rcv) == 0 {
			at = a
		} else if a != at {
			same = false
		}
		f.rcv = append(f.rcv, receiver{h: m, inc: m.inc})
	}
	switch {
	case len(f.rcv) == 0:
		n.fanFree = append(n.fanFree, f)
	case same:
		// One event for every receiver. It takes the one sequence
		// number the first receiver's event would have had, and the
		// others' would have followed it: nothing else is scheduled
		// between them, so the deliveries run as they would have.
		f.from, f.b, f.meta = h, clone(frame), meta
		n.fanExtra += len(f.rcv) - 1
		n.schedule(at, event{fan: f})
	default:
		// One event per receiver, as their arrival times differ.
		buf := &frameBuf{b: clone(frame), refs: len(f.rcv)}
		for _, r := range f.rcv {
			n.schedule(depart+n.latency(h, r.h), event{
				from: h, to: r.h,
				buf:  buf,
				meta: meta,
				inc:  r.inc,
				via:  core.ViaMulticast,
			})
		}
		n.recycle(f)
	}
}

// newFanout returns an empty fanout, reusing a served one if it can.
func (n *Network) newFanout() *fanout {
	if k := len(n.fanFree); k > 0 {
		f := n.fanFree[k-1]
		n.fanFree = n.fanFree[:k-1]
		return f
	}
	return &fanout{}
}

// recycle clears f and keeps it for reuse.
func (n *Network) recycle(f *fanout) {
	clear(f.rcv) // let go of the hosts
	*f = fanout{rcv: f.rcv[:0]}
	n.fanFree = append(n.fanFree, f)
}

// transmit serialises size bytes on the host's egress and returns when they
// have left it.
func (h *Host) transmit(size int) int64 {
	h.stats.Sent++
	h.stats.SentBytes += uint64(size)
	bw := h.n.cfg.Bandwidth
	if bw == 0 {
		return h.n.now
	}
	depart := max(h.n.now, h.busy) + int64(math.Round(float64(size)*float64(time.Second)/bw))
	h.busy = depart
	return depart
}

// latency returns the one-way latency from one host to another.
func (n *Network) latency(from, to *Host) int64 {
	if n.links != nil {
		if d, ok := n.links[[2]core.NetID{from.id, to.id}]; ok {
			return int64(d)
		}
	}
	return int64(n.cfg.Latency)
}

// SetLinkLatency sets the one-way latency from one host to another,
// overriding Config.Latency for that direction. The hosts need not be added
// yet.
func (n *Network) SetLinkLatency(from, to core.NetID, d time.Duration) {
	if d < 0 {
		d = 0
	}
	if n.links == nil {
		n.links = make(map[[2]core.NetID]time.Duration)
	}
	n.links[[2]core.NetID{from, to}] = d
}

// After sets a timer: fn runs on the network's goroutine, inside Step, when
// the virtual clock reaches Now()+d (at once, on the next Step, for d <= 0).
// Timers and deliveries due at the same instant run in the order they were
// scheduled. The simulator drives engine deadlines with it.
func (n *Network) After(d time.Duration, fn func()) {
	if fn == nil {
		panic("memnet: After with a nil func")
	}
	n.schedule(n.now+max(int64(d), 0), event{fn: fn})
}

// schedule queues e to run at virtual time at, after the events already
// queued for that time.
func (n *Network) schedule(at int64, e event) {
	n.events.push(at, n.seq, e)
	n.seq++
}

// Pending returns the number of events (deliveries and timers) waiting. A
// multicast counts one delivery per receiver that has yet to be served.
func (n *Network) Pending() int { return n.events.len() + n.fanExtra }

// Step runs the next event, a delivery or a timer, moving the clock to its
// time. It returns false, doing nothing, when no event is waiting. A
// multicast delivers to one receiver per Step.
func (n *Network) Step() bool {
	if n.events.len() == 0 {
		return false
	}
	at, top := n.events.top()
	n.now = at
	if f := top.fan; f != nil {
		// Serve the fanout's next receiver; the fanout stays first in
		// the queue until its last receiver is served, as anything
		// scheduled meanwhile comes after it. Everything is settled
		// before the handler runs, which may send, or Step.
		r := f.rcv[f.next]
		f.next++
		from, b, meta := f.from, f.b, f.meta
		last := f.next == len(f.rcv)
		if last {
			n.events.pop()
			n.recycle(f)
		} else {
			n.fanExtra--
		}
		n.deliver(from, r.h, r.inc, core.ViaMulticast, b, last, meta)
		return true
	}
	e := n.events.pop()
	if e.fn != nil {
		n.stats.Timers++
		n.emit(TraceTimer, 0, core.NetID{}, core.NetID{}, "", 0, ReasonNone, nil)
		e.fn()
		return true
	}
	b, last := e.buf.claim()
	n.deliver(e.from, e.to, e.inc, e.via, b, last, e.meta)
	return true
}

// deliver hands frame b, sent by from when t's incarnation was inc, to t,
// or drops it if t crashed since or (for unicast) is partitioned away from
// the sender. own says b is the last claim on the network's copy, which the
// delivery may then take; otherwise it gets a copy, unless
// Config.SharedFrames.
func (n *Network) deliver(from, t *Host, inc uint32, via core.Via, b []byte, own bool, meta any) {
	vs := &n.stats.Unicast
	if via == core.ViaMulticast {
		vs = &n.stats.Multicast
	}
	size := len(b)
	reason := ReasonNone
	switch {
	case !t.up || t.inc != inc:
		reason = ReasonTargetDown
	case via == core.ViaTCP && n.partitioned(from.subnet, t.subnet):
		reason = ReasonPartition
	}
	if reason != ReasonNone {
		vs.Dropped++
		n.emit(TraceDrop, via, from.id, t.id, "", size, reason, meta)
		return
	}
	vs.Delivered++
	t.stats.Received++
	t.stats.ReceivedBytes += uint64(size)
	n.emit(TraceDeliver, via, from.id, t.id, "", size, ReasonNone, meta)
	if t.handler != nil {
		frame := b
		if !own && !n.cfg.SharedFrames {
			frame = clone(b)
		}
		t.handler(Delivery{At: n.Now(), From: from.id, To: t.id, Via: via, Frame: frame, Meta: meta, Last: own})
	}
}

// RunUntil runs the events due at or before t, then sets the clock to t (it
// never moves the clock back).
func (n *Network) RunUntil(t time.Time) {
	end := int64(t.Sub(n.start))
	for n.events.len() > 0 && n.events.peek() <= end {
		n.Step()
	}
	n.now = max(n.now, end)
}

// RunFor is RunUntil(Now().Add(d)).
func (n *Network) RunFor(d time.Duration) { n.RunUntil(n.Now().Add(d)) }

// RunUntilIdle runs events until none is waiting or limit events have run
// (limit <= 0: no limit), and returns the number it ran. A network whose
// timers rearm themselves is never idle: give it a limit.
func (n *Network) RunUntilIdle(limit int) int {
	ran := 0
	for (limit <= 0 || ran < limit) && n.Step() {
		ran++
	}
	return ran
}

// Crash crashes the host with NetID id: until Restart it receives nothing
// and its sends are dropped, and the frames in flight to it are lost, even
// if it restarts before they arrive. Frames it sent before crashing are
// already on the wire and still arrive. Crashing an unknown or crashed host
// does nothing.
func (n *Network) Crash(id core.NetID) {
	if h := n.hosts[id]; h != nil && h.up {
		h.up = false
		h.inc++
	}
}

// Restart brings a crashed host back up. Restarting an unknown or up host
// does nothing.
func (n *Network) Restart(id core.NetID) {
	if h := n.hosts[id]; h != nil && !h.up {
		h.up = true
		h.inc++
	}
}

// Partition cuts unicast between the subnets named a and b, in both
// directions: frames sent across the cut, or in flight when it is made, are
// dropped. Multicast stays within a subnet and is not affected (Partition(a,
// a) cuts unicast inside a). The subnets need not have hosts yet.
func (n *Network) Partition(a, b string) {
	if n.cuts == nil {
		n.cuts = make(map[[2]uint32]struct{})
	}
	n.cuts[cutKey(n.subnetOf(a), n.subnetOf(b))] = struct{}{}
}

// Heal removes every partition.
func (n *Network) Heal() { n.cuts = nil }

func (n *Network) partitioned(a, b uint32) bool {
	if len(n.cuts) == 0 {
		return false
	}
	_, cut := n.cuts[cutKey(a, b)]
	return cut
}

func cutKey(a, b uint32) [2]uint32 {
	if a > b {
		a, b = b, a
	}
	return [2]uint32{a, b}
}

// Stats returns a snapshot of the network's counters.
func (n *Network) Stats() Stats { return n.stats }

// SetTrace sets a function that receives every send, delivery, loss, drop and
// timer, in the order they happen (nil turns tracing off). It is called on
// the network's goroutine, before the handler of a delivery. fn only
// records: it must not send, set timers or otherwise change the network
// (a timer set while a multicast is being sent would, for one thing, run
// after all the multicast's receivers rather than among them).
func (n *Network) SetTrace(fn func(TraceEvent)) { n.trace = fn }

func (n *Network) emit(k TraceKind, via core.Via, from, to core.NetID, sub string, size int, r Reason, meta any) {
	if n.trace == nil {
		return
	}
	n.trace(TraceEvent{
		At:      n.Now(),
		Elapsed: time.Duration(n.now),
		Kind:    k,
		Via:     via,
		From:    from,
		To:      to,
		Subnet:  sub,
		Len:     size,
		Reason:  r,
		Meta:    meta,
	})
}
