package udpmcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/chatter-go/chatter/core"
)

// Defaults of Config.
const (
	// DefaultTTL is the default time to live of a datagram: enough for a
	// few routers that forward multicast, not the Internet.
	DefaultTTL = 4
	// DefaultMaxDatagram is the default longest frame: a 1500-byte MTU less
	// 40 bytes of IPv6 header and 8 of UDP header. It equals
	// codec.DefaultMaxDatagram (an adapter does not import another).
	DefaultMaxDatagram = 1500 - 40 - 8
	// DefaultRecvQueue is the default number of received datagrams waiting
	// for Receive.
	DefaultRecvQueue = 4096
)

// HostOnlyTTL, as Config.TTL, sends datagrams with a time to live of 0:
// they are delivered to this host's sockets (with Config.Loopback) and
// never leave it. (A zero Config.TTL means DefaultTTL.)
const HostOnlyTTL = -1

// Limits of a UDP payload: 65535 bytes less the IP and UDP headers.
const (
	maxPayload4 = 65535 - 20 - 8
	maxPayload6 = 65535 - 8
)

// Config configures a Transport. Zero fields take their defaults, except
// Group and Interface, which are required.
type Config struct {
	// Group is the multicast group address and port, such as
	// 239.255.0.1:29999. An IPv6 group (ff15::1:1) uses IPv6 throughout.
	Group netip.AddrPort
	// Interface is the interface to join the group on and to send from.
	// It is required and must have the MULTICAST flag, except the loopback
	// interface for an IPv4 group: the system's choice (a nil interface,
	// which x/net calls "not recommended") is refused. New copies it.
	Interface *net.Interface
	// Source is this node's address, of the group's family: the sending
	// socket binds Source:0 (an ephemeral port), so Source must be an
	// address of Interface, or a loopback address when Interface is the
	// loopback. The zero Addr means the first address of Interface in the
	// group's family.
	Source netip.Addr
	// TTL is the datagrams' time to live (IPv6: hop limit): how many
	// routers they may cross. Zero means DefaultTTL; HostOnlyTTL gives a
	// TTL of 0, which keeps them on this host. At most 255.
	TTL int
	// Loopback delivers the datagrams to the other sockets of this host
	// that joined the group: needed when several nodes share a host. The
	// transport's own datagrams are ignored either way.
	Loopback bool
	// MaxDatagram is the longest frame Multicast sends, and the longest
	// datagram Receive returns (a longer one is dropped and counted as
	// TooLarge): the nodes of a group must agree on it. Default
	// DefaultMaxDatagram; at most 65507 (IPv4) or 65527 (IPv6) bytes.
	MaxDatagram int
	// RecvQueue is how many received datagrams wait for Receive; when it
	// is full, newer datagrams are dropped and counted. Default
	// DefaultRecvQueue.
	RecvQueue int
	// Logger receives the transport's rare events (joining, read errors);
	// nil discards them.
	Logger *slog.Logger
}

// Validate reports whether c is usable: a multicast group with a port, a
// multicast interface, a Source of the group's family, and fields in range.
func (c Config) Validate() error {
	var errs []error
	g := c.Group.Addr()
	switch {
	case !c.Group.IsValid():
		errs = append(errs, errors.New("udpmcast: no Group"))
	case !g.Unmap().IsMulticast():
		errs = append(errs, fmt.Errorf("udpmcast: Group %s is not a multicast address", c.Group))
	case c.Group.Port() == 0:
		errs = append(errs, fmt.Errorf("udpmcast: Group %s has no port", c.Group))
	}
	switch ifi := c.Interface; {
	case ifi == nil:
		errs = append(errs, errors.New("udpmcast: no Interface: name the interface to join the group on"))
	case ifi.Index <= 0:
		errs = append(errs, fmt.Errorf("udpmcast: Interface %q has no index", ifi.Name))
	case ifi.Flags&net.FlagMulticast == 0 && (ifi.Flags&net.FlagLoopback == 0 || !g.Unmap().Is4()):
		// Linux delivers IPv4 multicast on the loopback interface whether
		// or not it carries the flag (it usually does not): that is where
		// a host's own nodes meet.
		errs = append(errs, fmt.Errorf("udpmcast: Interface %s has no MULTICAST flag", ifi.Name))
	}
	switch s := c.Source.Unmap(); {
	case !s.IsValid():
	case s.IsUnspecified() || s.IsMulticast():
		errs = append(errs, fmt.Errorf("udpmcast: Source %s is not a unicast address", s))
	case c.Group.IsValid() && s.Is4() != g.Unmap().Is4():
		errs = append(errs, fmt.Errorf("udpmcast: Source %s and Group %s are of different families", s, c.Group))
	}
	if c.TTL < HostOnlyTTL || c.TTL > 255 {
		errs = append(errs, fmt.Errorf("udpmcast: TTL %d out of range [%d, 255]", c.TTL, HostOnlyTTL))
	}
	limit := maxPayload6
	if g.Unmap().Is4() {
		limit = maxPayload4
	}
	if c.MaxDatagram < 0 || c.MaxDatagram > limit {
		errs = append(errs, fmt.Errorf("udpmcast: MaxDatagram %d out of range [0, %d]", c.MaxDatagram, limit))
	}
	if c.RecvQueue < 0 {
		errs = append(errs, fmt.Errorf("udpmcast: negative RecvQueue %d", c.RecvQueue))
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy of c with its defaults filled in, its
// addresses unmapped and the group's zone (Interface says it) dropped; c is
// valid.
func (c Config) withDefaults() Config {
	c.Group = netip.AddrPortFrom(c.Group.Addr().Unmap().WithZone(""), c.Group.Port())
	c.Source = c.Source.Unmap()
	ifi := *c.Interface
	c.Interface = &ifi
	switch c.TTL {
	case 0:
		c.TTL = DefaultTTL
	case HostOnlyTTL:
		c.TTL = 0
	}
	if c.MaxDatagram == 0 {
		c.MaxDatagram = DefaultMaxDatagram
	}
	if c.RecvQueue == 0 {
		c.RecvQueue = DefaultRecvQueue
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Stats are a Transport's counters.
type Stats struct {
	// Sent counts the datagrams sent.
	Sent uint64
	// Received counts the datagrams queued for Receive.
	Received uint64
	// Dropped counts the datagrams dropped because the receive queue was
	// full.
	Dropped uint64
	// Own counts the transport's own datagrams, looped back and ignored.
	Own uint64
	// Foreign counts the datagrams ignored because they arrived for
	// another group or on another interface (the kernel filters most of
	// them out on Linux).
	Foreign uint64
	// TooLarge counts the datagrams ignored because they were longer than
	// MaxDatagram.
	TooLarge uint64
}

// Transport is a UDP multicast transport: it sends frames to one group from
// one interface and receives the group's datagrams on that interface. It
// implements core.Multicast and is safe for concurrent use. It runs one
// goroutine, which reads the socket until Close.
type Transport struct {
	cfg    Config
	log    *slog.Logger
	group  *net.UDPAddr
	listen *net.UDPConn   // bound to the group's port: receives
	send   *net.UDPConn   // bound to Source:0: sends
	self   netip.AddrPort // send's local address: datagrams from it are ours
	ep     endpoint
	queue  chan core.Packet
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup

	closeMu sync.Mutex
	closed  bool

	sent, received, dropped, own, foreign, tooLarge atomic.Uint64
}

var _ core.Multicast = (*Transport)(nil)

// New joins cfg.Group on cfg.Interface and starts receiving. It returns an
// error if cfg is invalid (see Config.Validate) or a socket cannot be made
// or configured: the errors of JoinGroup, SetMulticastInterface,
// SetMulticastTTL and SetMulticastLoopback are returned, not ignored.
//
// The listening socket is shared with the other sockets of the host bound
// to the group's port (SO_REUSEADDR, SO_REUSEPORT); on Linux it is bound to
// the group address and has IP_MULTICAST_ALL cleared, so it receives its
// own group only, and it reads datagrams in batches. Datagrams whose
// destination is not the group, or which arrived on another interface, are
// dropped (Stats.Foreign).
func New(cfg Config) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	t := &Transport{
		cfg:   cfg,
		log:   cfg.Logger.With("group", cfg.Group, "interface", cfg.Interface.Name),
		group: net.UDPAddrFromAddrPort(cfg.Group),
		queue: make(chan core.Packet, cfg.RecvQueue),
		done:  make(chan struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			t.closeSockets()
		}
	}()
	var err error
	if t.listen, err = listenGroup(cfg.Group, cfg.Interface); err != nil {
		return nil, fmt.Errorf("udpmcast: listen on %s: %w", cfg.Group, err)
	}
	src, err := sourceAddr(cfg)
	if err != nil {
		return nil, err
	}
	if t.send, err = net.ListenUDP(network(cfg.Group), net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0))); err != nil {
		return nil, fmt.Errorf("udpmcast: sending socket on %s: %w", src, err)
	}
	t.self = normalize(t.send.LocalAddr().(*net.UDPAddr).AddrPort())
	if cfg.Group.Addr().Is4() {
		t.ep, err = setup4(t.listen, t.send, cfg)
	} else {
		t.ep, err = setup6(t.listen, t.send, cfg)
	}
	if err != nil {
		return nil, err
	}
	ok = true
	t.log.Debug("udpmcast: joined", "source", t.self, "ttl", cfg.TTL, "loopback", cfg.Loopback)
	t.wg.Go(t.readLoop)
	return t, nil
}

// network returns "udp4" or "udp6" for the group's family.
func network(group netip.AddrPort) string {
	if group.Addr().Is4() {
		return "udp4"
	}
	return "udp6"
}

// sourceAddr returns the address the sending socket binds: cfg.Source, or
// the first address of cfg.Interface in the group's family (a link-local
// IPv6 address with the interface as its zone).
func sourceAddr(cfg Config) (netip.Addr, error) {
	if cfg.Source.IsValid() {
		if cfg.Source.Is6() && cfg.Source.IsLinkLocalUnicast() && cfg.Source.Zone() == "" {
			return cfg.Source.WithZone(cfg.Interface.Name), nil
		}
		return cfg.Source, nil
	}
	addrs, err := cfg.Interface.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("udpmcast: addresses of %s: %w", cfg.Interface.Name, err)
	}
	var linkLocal netip.Addr
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok || ip.Unmap().Is4() != cfg.Group.Addr().Is4() {
			continue
		}
		ip = ip.Unmap()
		if ip.IsLinkLocalUnicast() && ip.Is6() {
			if !linkLocal.IsValid() {
				linkLocal = ip.WithZone(cfg.Interface.Name)
			}
			continue
		}
		return ip, nil
	}
	if linkLocal.IsValid() {
		return linkLocal, nil
	}
	return netip.Addr{}, fmt.Errorf("udpmcast: interface %s has no %s address: set Config.Source",
		cfg.Interface.Name, network(cfg.Group))
}

// normalize unmaps an address and drops its zone, for comparisons.
func normalize(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// MaxDatagram returns the longest frame Multicast accepts.
func (t *Transport) MaxDatagram() int { return t.cfg.MaxDatagram }

// LocalAddr returns the address the transport's datagrams come from: its
// sending socket's, Source (without a zone) and an ephemeral port. Other
// transports see it as core.Packet.Remote.
func (t *Transport) LocalAddr() netip.AddrPort { return t.self }

// Stats returns a snapshot of the transport's counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Sent:     t.sent.Load(),
		Received: t.received.Load(),
		Dropped:  t.dropped.Load(),
		Own:      t.own.Load(),
		Foreign:  t.foreign.Load(),
		TooLarge: t.tooLarge.Load(),
	}
}

func (t *Transport) errClosed() error {
	return fmt.Errorf("udpmcast: transport on %s closed: %w", t.cfg.Group, net.ErrClosed)
}

func (t *Transport) isClosed() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// Multicast sends frame to the group as one datagram, from the sending
// socket. The kernel copies frame before Multicast returns. A UDP send does
// not wait for the network, so ctx is only checked before sending. It
// returns an error matching core.ErrTooLarge for a frame longer than
// MaxDatagram, net.ErrClosed once the transport is closed, and the socket's
// error if the send fails. Each call is one system call: batching writes
// would gain little for the one or two datagrams a broadcast makes.
func (t *Transport) Multicast(ctx context.Context, frame []byte) error {
	if t.isClosed() {
		return t.errClosed()
	}
	if len(frame) > t.cfg.MaxDatagram {
		return fmt.Errorf("udpmcast: datagram of %d bytes over MaxDatagram %d: %w", len(frame), t.cfg.MaxDatagram, core.ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := t.send.WriteToUDP(frame, t.group); err != nil {
		if t.isClosed() {
			return t.errClosed()
		}
		return fmt.Errorf("udpmcast: send to %s: %w", t.cfg.Group, err)
	}
	t.sent.Add(1)
	return nil
}

// Receive returns the next datagram from another node, blocking until one
// arrives, ctx ends (ctx's error), or the transport is closed (an error
// matching net.ErrClosed). The caller owns Packet.Frame; Packet.Remote is
// the sender's address and port. The transport's own datagrams are never
// returned.
func (t *Transport) Receive(ctx context.Context) (core.Packet, error) {
	if t.isClosed() {
		return core.Packet{}, t.errClosed()
	}
	select {
	case p := <-t.queue:
		return p, nil
	case <-ctx.Done():
		return core.Packet{}, ctx.Err()
	case <-t.done:
		return core.Packet{}, t.errClosed()
	}
}

// Close leaves the group, closes the sockets, unblocks Receive and waits
// for the reading goroutine. Datagrams not yet received are dropped. Later
// calls of Multicast and Receive return an error matching net.ErrClosed.
// Close is idempotent: calls after the first return nil.
func (t *Transport) Close() error {
	t.closeMu.Lock()
	defer t.closeMu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	close(t.done)
	err := t.closeSockets()
	t.wg.Wait()
	return err
}

// closeSockets closes the sockets that are open; closing the listening
// socket leaves the group and ends the reading goroutine's read.
func (t *Transport) closeSockets() error {
	var errs []error
	if t.listen != nil {
		errs = append(errs, t.listen.Close())
	}
	if t.send != nil {
		errs = append(errs, t.send.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("udpmcast: close: %w", err)
	}
	return nil
}

// Read error backoff: a failing socket is retried, not spun on.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// readLoop reads batches of datagrams until Close and queues those from
// other nodes.
func (t *Transport) readLoop() {
	ms := make([]ipv4.Message, batchSize)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, t.cfg.MaxDatagram+1)} // one more byte shows a datagram too long
		ms[i].OOB = t.ep.newOOB()
	}
	backoff := minBackoff
	for {
		n, err := t.ep.reader.ReadBatch(ms, 0)
		if err != nil {
			if t.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Warn("udpmcast: read", "err", err, "retry", backoff)
			select {
			case <-t.done:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		for i := range ms[:n] {
			t.handle(&ms[i])
		}
	}
}

// handle filters one received datagram and queues a copy of it.
func (t *Transport) handle(m *ipv4.Message) {
	if m.N > t.cfg.MaxDatagram {
		t.tooLarge.Add(1)
		return
	}
	dst, ifIndex, err := t.ep.parseOOB(m.OOB[:m.NN])
	if err != nil || dst != t.cfg.Group.Addr() || (ifIndex != 0 && ifIndex != t.cfg.Interface.Index) {
		t.foreign.Add(1)
		return
	}
	ua, ok := m.Addr.(*net.UDPAddr)
	if !ok {
		t.foreign.Add(1)
		return
	}
	from := ua.AddrPort()
	if normalize(from) == t.self {
		t.own.Add(1)
		return
	}
	frame := make([]byte, m.N) // the caller's to keep: the buffer is read into again
	copy(frame, m.Buffers[0])
	p := core.Packet{
		Frame:  frame,
		Via:    core.ViaMulticast,
		Remote: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()),
	}
	select {
	case t.queue <- p:
		t.received.Add(1)
	default:
		t.dropped.Add(1)
	}
}
