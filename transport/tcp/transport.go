package tcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatter-go/chatter/core"
)

// ErrNotFrame reports a Send of bytes that are not exactly one frame by
// Config.FrameLen: sent, they would put the stream out of step and the
// receiver would drop the connection with everything queued behind them.
var ErrNotFrame = errors.New("tcp: not one whole frame")

// Stats is a snapshot of a Transport's counters.
type Stats struct {
	// Dialed counts outgoing connections opened; DialFailures, dials that
	// failed (refused, timed out, or closed by the peer as soon as they
	// were open); WriteFailures, outgoing connections closed by a write
	// error or timeout.
	Dialed, DialFailures, WriteFailures uint64
	// Dropped counts frames accepted by Send but never written: queued
	// for a peer that failed, or lost in a write that failed.
	Dropped uint64
	// Accepted counts inbound connections taken; Rejected, those closed
	// at once because MaxInbound were open; BadStreams, those dropped for
	// a stream FrameLen refused (garbage, out of step, oversize).
	Accepted, Rejected, BadStreams uint64
	// FramesSent and BytesSent count what was written and flushed to
	// connections; FramesReceived and BytesReceived, what was read.
	FramesSent, BytesSent         uint64
	FramesReceived, BytesReceived uint64
}

type counters struct {
	dialed, dialFailures, writeFailures, dropped atomic.Uint64
	accepted, rejected, badStreams               atomic.Uint64
	framesSent, bytesSent                        atomic.Uint64
	framesReceived, bytesReceived                atomic.Uint64
}

// Transport is Chatter's unicast transport over TCP. It implements
// core.Unicast and is safe for concurrent use.
type Transport struct {
	cfg  Config
	self core.NetID
	ln   net.Listener
	log  *slog.Logger
	recv chan core.Packet

	ctx     context.Context // ends at Close
	cancel  context.CancelFunc
	closing atomic.Bool // set at Close
	wg      sync.WaitGroup

	mu      sync.Mutex // guards what follows, and wg.Go: nothing starts once closed
	closed  bool
	peers   map[core.NetID]*peer
	conns   map[net.Conn]struct{} // every open connection, closed at Close
	inbound int

	stats counters
}

var _ core.Unicast = (*Transport)(nil)

// New listens on cfg.Listen (default cfg.Self) and returns the transport,
// accepting connections. It returns an error for an invalid Config or a
// listener that cannot be opened; anything it started is then stopped.
func New(cfg Config) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg:    cfg,
		self:   cfg.Self,
		log:    cfg.Logger,
		recv:   make(chan core.Packet, cfg.RecvQueue),
		ctx:    ctx,
		cancel: cancel,
		peers:  make(map[core.NetID]*peer),
		conns:  make(map[net.Conn]struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			t.Close()
		}
	}()
	ln, err := cfg.ListenFunc(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("tcp: listen on %s: %w", cfg.Listen, err)
	}
	t.ln = ln
	if !t.self.IsValid() {
		ap, err := addrPortOf(ln.Addr())
		if err == nil {
			t.self, err = core.NetIDFromAddrPort(ap)
		}
		if err != nil {
			return nil, fmt.Errorf("tcp: no Self given, and the listener's address %s cannot be one: %w", ln.Addr(), err)
		}
	}
	t.goFunc(t.acceptLoop)
	ok = true
	t.log.Debug("tcp: listening", "self", t.self, "addr", ln.Addr())
	return t, nil
}

// goFunc runs f in a goroutine that Close waits for, unless the transport
// is closed; it reports whether it did. t.mu must not be held.
func (t *Transport) goFunc(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.goLocked(f)
}

// goLocked is goFunc with t.mu held.
func (t *Transport) goLocked(f func()) bool {
	if t.closed {
		return false
	}
	t.wg.Go(f)
	return true
}

// Self returns the transport's NetID: Config.Self, or the address it
// listens on.
func (t *Transport) Self() core.NetID { return t.self }

// Addr returns the address the transport listens on.
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

// MaxFrame returns the longest frame Send accepts.
func (t *Transport) MaxFrame() int { return t.cfg.MaxFrame }

// Stats returns a snapshot of the transport's counters.
func (t *Transport) Stats() Stats {
	s := &t.stats
	return Stats{
		Dialed:         s.dialed.Load(),
		DialFailures:   s.dialFailures.Load(),
		WriteFailures:  s.writeFailures.Load(),
		Dropped:        s.dropped.Load(),
		Accepted:       s.accepted.Load(),
		Rejected:       s.rejected.Load(),
		BadStreams:     s.badStreams.Load(),
		FramesSent:     s.framesSent.Load(),
		BytesSent:      s.bytesSent.Load(),
		FramesReceived: s.framesReceived.Load(),
		BytesReceived:  s.bytesReceived.Load(),
	}
}

func (t *Transport) errClosed() error {
	return fmt.Errorf("tcp: transport %s closed: %w", t.self, net.ErrClosed)
}

// Send queues a copy of frame for the node to, behind the frames sent to it
// before, and returns; the peer's writer dials it on first use and keeps
// the connection. Send blocks only while to's queue (Config.QueueLen) is
// full, until there is room, ctx ends (ctx's error), to fails, or the
// transport closes.
//
// A nil error means the frame was queued, not that it arrived: a frame
// queued for a peer that turns out unreachable is dropped (Stats.Dropped),
// and from then until its backoff passes every Send to it, including those
// blocked on its queue, returns an error matching core.ErrUnreachable
// (and the dial or write error); so does a Send whose frame was queued just
// as the peer failed. Send returns core.ErrTooLarge for a frame
// over MaxFrame, ErrNotFrame for bytes that are not exactly one frame, and
// net.ErrClosed once the transport is closed.
func (t *Transport) Send(ctx context.Context, to core.NetID, frame []byte) error {
	if t.closing.Load() {
		return t.errClosed()
	}
	if len(frame) > t.cfg.MaxFrame {
		return fmt.Errorf("tcp: frame of %d bytes over MaxFrame %d: %w", len(frame), t.cfg.MaxFrame, core.ErrTooLarge)
	}
	switch n, err := t.cfg.FrameLen(frame, t.cfg.MaxFrame); {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrNotFrame, err)
	case n != len(frame):
		return fmt.Errorf("%w: %d bytes, the frame they start has %d", ErrNotFrame, len(frame), n)
	}
	if !to.IsValid() {
		return fmt.Errorf("tcp: send to the invalid NetID: %w", core.ErrUnreachable)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := t.acquire(to)
	if p == nil {
		return t.errClosed()
	}
	defer p.pending.Add(-1)
	failed, err := p.check(time.Now())
	if err != nil {
		return err
	}
	f := bytes.Clone(frame)
	select {
	case p.queue <- f:
		return t.queued(p, failed)
	default:
	}
	select {
	case p.queue <- f:
		return t.queued(p, failed)
	case <-failed:
		return p.failedErr()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.ctx.Done():
		return t.errClosed()
	}
}

// queued is what Send returns once its frame is queued for p: nil, unless
// p failed (perhaps dialling for this very frame) or the transport closed
// meanwhile. The frame then goes the way of the others, dropped in the
// backoff or at Close, so Send reports why.
func (t *Transport) queued(p *peer, failed <-chan struct{}) error {
	select {
	case <-failed:
		return p.failedErr()
	default:
	}
	if t.ctx.Err() != nil {
		return t.errClosed()
	}
	return nil
}

// acquire returns the peer to, made and started if need be, with its
// pending count raised so that its writer does not retire under the
// caller; nil once the transport is closed.
func (t *Transport) acquire(to core.NetID) *peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peers[to]
	if p == nil {
		p = newPeer(to, t.cfg.QueueLen)
		if !t.goLocked(func() { t.runPeer(p) }) {
			return nil
		}
		t.peers[to] = p
	}
	p.pending.Add(1)
	return p
}

// Receive returns the next frame received, blocking until one arrives, ctx
// ends (ctx's error), or the transport is closed (an error matching
// net.ErrClosed). Frames from one connection arrive in order; each sender
// writes to a node on one connection at a time. The caller owns
// Packet.Frame; Packet.Remote is the connection's remote address, not the
// sender's NetID (its port is ephemeral).
func (t *Transport) Receive(ctx context.Context) (core.Packet, error) {
	if t.closing.Load() {
		return core.Packet{}, t.errClosed()
	}
	select {
	case p := <-t.recv:
		return p, nil
	case <-ctx.Done():
		return core.Packet{}, ctx.Err()
	case <-t.ctx.Done():
		return core.Packet{}, t.errClosed()
	}
}

// Close stops the transport: it closes the listener and every connection,
// unblocks Receive and Send, drops the frames still queued either way, and
// waits for every goroutine the transport started. Later calls return
// errors matching net.ErrClosed. Close is idempotent and returns nil.
func (t *Transport) Close() error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		t.closing.Store(true)
		t.cancel()
		if t.ln != nil {
			t.ln.Close()
		}
		for c := range t.conns {
			c.Close()
		}
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}

// track registers an open connection, to be closed at Close, and starts f
// (the connection's reader or watcher); it reports false, and closes conn,
// once the transport is closed. An inbound connection over MaxInbound is
// closed too, and counted.
func (t *Transport) track(conn net.Conn, inbound bool, f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		conn.Close()
		return false
	case inbound && t.inbound >= t.cfg.MaxInbound:
		conn.Close()
		t.stats.rejected.Add(1)
		t.log.Warn("tcp: inbound connection refused over MaxInbound", "remote", conn.RemoteAddr(), "max", t.cfg.MaxInbound)
		return false
	}
	t.conns[conn] = struct{}{}
	if inbound {
		t.inbound++
	}
	t.wg.Go(f)
	return true
}

// untrack closes conn and forgets it.
func (t *Transport) untrack(conn net.Conn, inbound bool) {
	t.mu.Lock()
	if _, ok := t.conns[conn]; ok {
		delete(t.conns, conn)
		if inbound {
			t.inbound--
		}
	}
	t.mu.Unlock()
	conn.Close()
}

// addrPortOf returns a as an address and port, IPv4-mapped addresses
// unmapped.
func addrPortOf(a net.Addr) (netip.AddrPort, error) {
	var ap netip.AddrPort
	if ta, ok := a.(*net.TCPAddr); ok {
		ap = ta.AddrPort()
	} else {
		var err error
		if ap, err = netip.ParseAddrPort(a.String()); err != nil {
			return ap, err
		}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
