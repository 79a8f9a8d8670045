package tcp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/tcp"
	"github.com/chatter-go/chatter/transport/transporttest"
)

func TestUnicast(t *testing.T) { transporttest.RunUnicast(t, newPair) }

// newPair returns two transports on the loopback interface. The suite sends
// arbitrary bytes, which are not frames, so each endpoint is enveloped:
// Send frames the bytes with lenFrame and Receive takes the envelope off.
func newPair(t *testing.T) transporttest.Pair {
	a, b := newTransport(t, tcp.Config{}), newTransport(t, tcp.Config{})
	return transporttest.Pair{
		A: enveloped{a}, B: enveloped{b},
		AID: a.Self(), BID: b.Self(),
		Unknown: downNetID(t),
	}
}

// enveloped carries arbitrary bytes over a Transport framed by lenFrameLen.
type enveloped struct{ *tcp.Transport }

func (e enveloped) Send(ctx context.Context, to core.NetID, payload []byte) error {
	return e.Transport.Send(ctx, to, lenFrame(payload))
}

func (e enveloped) Receive(ctx context.Context) (core.Packet, error) {
	p, err := e.Transport.Receive(ctx)
	if err == nil {
		p.Frame = p.Frame[4:]
	}
	return p, err
}

func (e enveloped) MaxFrame() int { return e.Transport.MaxFrame() - 4 }

func TestDefaultMaxFrameIsTheCodecs(t *testing.T) {
	if tcp.DefaultMaxFrame != codec.DefaultMaxFrameSize {
		t.Errorf("DefaultMaxFrame = %d, codec.DefaultMaxFrameSize = %d", tcp.DefaultMaxFrame, codec.DefaultMaxFrameSize)
	}
}

func TestConfigValidate(t *testing.T) {
	self := core.MustParseNetID("127.0.0.1:29999")
	for _, tc := range []struct {
		name string
		cfg  tcp.Config
		ok   bool
	}{
		{"Self", tcp.Config{Self: self, FrameLen: lenFrameLen}, true},
		{"Listen", tcp.Config{Listen: loopback, FrameLen: lenFrameLen}, true},
		{"neither Self nor Listen", tcp.Config{FrameLen: lenFrameLen}, false},
		{"no FrameLen", tcp.Config{Self: self}, false},
		{"negative QueueLen", tcp.Config{Self: self, FrameLen: lenFrameLen, QueueLen: -1}, false},
		{"negative Backoff", tcp.Config{Self: self, FrameLen: lenFrameLen, Backoff: -1}, false},
		{"negative IdleTimeout (never)", tcp.Config{Self: self, FrameLen: lenFrameLen, IdleTimeout: -1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Run("SelfFromListener", func(t *testing.T) {
		tr := newTransport(t, tcp.Config{Listen: loopback})
		if want := netIDOf(t, tr.Addr()); tr.Self() != want || tr.Self().Port() == 0 {
			t.Errorf("Self = %v, want the bound address %v", tr.Self(), want)
		}
	})
	t.Run("ListensOnSelf", func(t *testing.T) {
		self := downNetID(t)
		tr := newTransport(t, tcp.Config{Self: self})
		if got := netIDOf(t, tr.Addr()); got != self {
			t.Errorf("listening on %v, want Self %v", got, self)
		}
	})
	t.Run("SelfAdvertisedApart", func(t *testing.T) {
		self := core.MustParseNetID("192.0.2.7:29999") // advertised, never dialled here
		tr := newTransport(t, tcp.Config{Self: self, Listen: loopback})
		if tr.Self() != self {
			t.Errorf("Self = %v, want %v", tr.Self(), self)
		}
	})
	t.Run("Failures", func(t *testing.T) {
		check := transporttest.LeakCheck(t)
		busy := newTransport(t, tcp.Config{})
		for _, tc := range []struct {
			name string
			cfg  tcp.Config
		}{
			{"invalid", tcp.Config{}},
			{"port in use", tcp.Config{Listen: busy.Addr().String(), FrameLen: lenFrameLen}},
			// Bound, then refused: 0.0.0.0 cannot be a NetID, so the
			// constructor must close the listener it opened.
			{"unspecified address and no Self", tcp.Config{Listen: "0.0.0.0:0", FrameLen: lenFrameLen, ListenFunc: loopbackListen}},
		} {
			tr, err := tcp.New(tc.cfg)
			if err == nil {
				tr.Close()
				t.Errorf("%s: New succeeded", tc.name)
			}
		}
		busy.Close()
		check()
	})
}

// loopbackListen listens on the loopback interface whatever address it is
// given, but reports the address asked for: a listener that claims
// 0.0.0.0 without exposing a port beyond the host.
func loopbackListen(ctx context.Context, network, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, network, loopback)
	if err != nil {
		return nil, err
	}
	return claimedListener{ln, addr}, nil
}

type claimedListener struct {
	net.Listener
	addr string
}

func (l claimedListener) Addr() net.Addr {
	a, _ := net.ResolveTCPAddr("tcp", l.addr)
	return a
}

func TestSendRefuses(t *testing.T) {
	a := newTransport(t, tcp.Config{MaxFrame: 64})
	b := newTransport(t, tcp.Config{})
	for _, tc := range []struct {
		name  string
		to    core.NetID
		frame []byte
		want  error
	}{
		{"too large", b.Self(), lenFrame(make([]byte, 61)), core.ErrTooLarge},
		{"not a frame", b.Self(), []byte{0, 0}, tcp.ErrNotFrame},
		{"short of its length", b.Self(), lenFrame([]byte("abc"))[:5], tcp.ErrNotFrame},
		{"two frames", b.Self(), append(lenFrame([]byte("a")), lenFrame([]byte("b"))...), tcp.ErrNotFrame},
		{"a claim over MaxFrame", b.Self(), []byte{0, 0, 1, 0}, tcp.ErrNotFrame},
		{"invalid NetID", core.NetID{}, lenFrame([]byte("a")), core.ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := a.Send(ctxFor(t, waitTimeout), tc.to, tc.frame); !errors.Is(err, tc.want) {
				t.Errorf("Send = %v, want an error matching %v", err, tc.want)
			}
		})
	}
	// None of them reached the wire.
	if s := a.Stats(); s.Dialed != 0 || s.FramesSent != 0 {
		t.Errorf("after refused sends: %+v", s)
	}
}

// TestNoAliasing checks what the suite cannot through its envelope: the
// transport copies the frame it is given.
func TestNoAliasing(t *testing.T) {
	a, b := newTransport(t, tcp.Config{}), newTransport(t, tcp.Config{})
	ctx := ctxFor(t, waitTimeout)
	buf := lenFrame([]byte("original"))
	if err := a.Send(ctx, b.Self(), buf); err != nil {
		t.Fatal(err)
	}
	copy(buf[4:], "XXXXXXXX")
	if err := a.Send(ctx, b.Self(), buf); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 2 {
		p, err := b.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(p.Frame[4:]))
	}
	if diff := cmp.Diff([]string{"original", "XXXXXXXX"}, got); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
}

// TestCodecFraming runs the transport on Chatter's wire format: sealed
// frames of assorted sizes arrive whole and open.
func TestCodecFraming(t *testing.T) {
	s := newSealer(t)
	a := newTransport(t, tcp.Config{FrameLen: codec.FrameLen})
	b := newTransport(t, tcp.Config{FrameLen: codec.FrameLen})
	ctx := ctxFor(t, waitTimeout)
	var want, got []string
	for i := range 50 {
		payload := fmt.Sprintf("%d:%s", i, bytes.Repeat([]byte{'x'}, i*i*7))
		want = append(want, payload)
		if err := a.Send(ctx, b.Self(), s.frame(t, []byte(payload))); err != nil {
			t.Fatal(err)
		}
	}
	for range want {
		p, err := b.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Via != core.ViaTCP || !p.Remote.Addr().IsLoopback() {
			t.Errorf("Via %v, Remote %v", p.Via, p.Remote)
		}
		got = append(got, string(s.open(t, p.Frame)))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payloads (-sent +received):\n%s", diff)
	}
}

// TestBadStreams sends garbage on raw connections: each is closed and
// counted, and the transport goes on working.
func TestBadStreams(t *testing.T) {
	check := transporttest.LeakCheck(t)
	s := newSealer(t)
	good := s.frame(t, []byte("hello"))
	noise := make([]byte, 300) // incompressible, so the frame stays over 256 bytes
	rand.NewChaCha8([32]byte{1}).Read(noise)
	big := s.frame(t, noise)
	a := newTransport(t, tcp.Config{FrameLen: codec.FrameLen, MaxFrame: 256})
	sender := newTransport(t, tcp.Config{FrameLen: codec.FrameLen})
	for i, tc := range []struct {
		name   string
		stream []byte
	}{
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"zeros", make([]byte, 100)},
		{"bad magic after a good frame", append(bytes.Clone(good), "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)},
		{"newer version", append([]byte{'C', 'H', 9}, good[3:]...)},
		{"frame over MaxFrame", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", a.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.stream); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c, "a connection sending garbage")
			if got := a.Stats().BadStreams; got != uint64(i+1) {
				t.Errorf("BadStreams = %d, want %d", got, i+1)
			}
		})
	}
	// The good frame before the garbage was delivered; then a sender
	// still gets through.
	ctx := ctxFor(t, waitTimeout)
	if err := sender.Send(ctx, a.Self(), s.frame(t, []byte("after"))); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hello", "after"} {
		p, err := a.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(s.open(t, p.Frame)); got != want {
			t.Errorf("received %q, want %q", got, want)
		}
	}
	a.Close()
	sender.Close()
	check()
}

func TestInboundCap(t *testing.T) {
	a := newTransport(t, tcp.Config{MaxInbound: 2})
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", a.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	waitFor(t, "3 connections accepted or rejected", func() bool {
		s := a.Stats()
		return s.Accepted+s.Rejected == 3
	})
	if s := a.Stats(); s.Accepted != 2 || s.Rejected != 1 {
		t.Fatalf("Accepted %d, Rejected %d; want 2 and 1", s.Accepted, s.Rejected)
	}
	// The kernel queues connections in order, so the third was refused.
	expectClosed(t, conns[2], "the connection over the cap")
	for _, c := range conns[:2] {
		expectOpen(t, c, 50*time.Millisecond, "a connection within the cap")
	}
	// Closing one makes room for another, once the transport has seen
	// it close.
	conns[0].Close()
	handled := uint64(3)
	waitFor(t, "room for a new connection", func() bool {
		c, err := net.Dial("tcp", a.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		handled++
		waitFor(t, "the new connection handled", func() bool {
			s := a.Stats()
			return s.Accepted+s.Rejected == handled
		})
		return a.Stats().Accepted == 3
	})
}

// TestPeerAtCap: a peer that closes our connections as soon as they open
// (at its MaxInbound cap) is reported unreachable.
func TestPeerAtCap(t *testing.T) {
	a := newTransport(t, tcp.Config{})
	b := newTransport(t, tcp.Config{MaxInbound: 1})
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "the first connection accepted", func() bool { return b.Stats().Accepted == 1 })
	ctx := ctxFor(t, waitTimeout)
	waitFor(t, "Send to a peer at its cap to fail", func() bool {
		err := a.Send(ctx, b.Self(), lenFrame([]byte("let me in")))
		if err != nil && !errors.Is(err, core.ErrUnreachable) {
			t.Fatalf("Send = %v, want nil or core.ErrUnreachable", err)
		}
		return err != nil
	})
	if s := b.Stats(); s.Rejected == 0 || s.FramesReceived != 0 {
		t.Errorf("the peer at its cap: Rejected %d, FramesReceived %d", s.Rejected, s.FramesReceived)
	}
}

// TestPeerDown sends to a port nobody listens on: the frames are dropped
// and, within the backoff, Send reports the peer unreachable, until a
// re-dial is allowed.
func TestPeerDown(t *testing.T) {
	a := newTransport(t, tcp.Config{Backoff: 200 * time.Millisecond})
	down := downNetID(t)
	ctx := ctxFor(t, waitTimeout)
	frame := lenFrame([]byte("anyone?"))
	var err error
	waitFor(t, "Send to a down peer to fail", func() bool {
		err = a.Send(ctx, down, frame)
		return err != nil
	})
	if !errors.Is(err, core.ErrUnreachable) {
		t.Fatalf("Send to a down peer = %v, want an error matching core.ErrUnreachable", err)
	}
	if err2 := a.Send(ctx, down, frame); !errors.Is(err2, core.ErrUnreachable) {
		t.Errorf("a second Send within the backoff = %v, want core.ErrUnreachable", err2)
	}
	s := a.Stats()
	if s.DialFailures == 0 || s.Dropped == 0 || s.Dialed != 0 {
		t.Errorf("stats %+v: want dial failures and drops, no dial", s)
	}
	// The backoff passes: the next Send is queued again, and dropped when
	// the re-dial fails (which Send may see: it reports a failure that
	// happens between queueing the frame and returning).
	time.Sleep(250 * time.Millisecond)
	if err := a.Send(ctx, down, frame); err != nil && !errors.Is(err, core.ErrUnreachable) {
		t.Errorf("Send after the backoff = %v, want nil or core.ErrUnreachable", err)
	}
	waitFor(t, "the re-dial", func() bool { return a.Stats().DialFailures > s.DialFailures })
}

// TestBlockedSendsFail checks that Sends blocked on a full queue return
// ErrUnreachable when the dial they wait behind fails.
func TestBlockedSendsFail(t *testing.T) {
	release := make(chan struct{})
	dials := make(chan struct{}, 1)
	a := newTransport(t, tcp.Config{
		QueueLen: 1,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			dials <- struct{}{}
			select {
			case <-release:
				return nil, errors.New("refused, eventually")
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	})
	to := downNetID(t)
	ctx := ctxFor(t, waitTimeout)
	frame := lenFrame([]byte("x"))
	send := func() error { return a.Send(ctx, to, frame) }
	if err := send(); err != nil { // taken by the writer, which dials
		t.Fatal(err)
	}
	<-dials
	if err := send(); err != nil { // fills the queue
		t.Fatal(err)
	}
	errc := make(chan error, 3)
	for range 3 {
		go func() { errc <- send() }()
	}
	time.Sleep(20 * time.Millisecond) // let them block, most of the time
	close(release)
	for range 3 {
		if err := <-errc; !errors.Is(err, core.ErrUnreachable) {
			t.Errorf("a Send blocked behind a failing dial = %v, want core.ErrUnreachable", err)
		}
	}
	// The frame held by the dial, and the one queued.
	waitFor(t, "2 frames dropped", func() bool { return a.Stats().Dropped >= 2 })
}

// TestPeerRestart closes a peer and opens another on the same address: the
// sender notices, backs off, and reaches the new one.
func TestPeerRestart(t *testing.T) {
	check := transporttest.LeakCheck(t)
	a := newTransport(t, tcp.Config{Backoff: 20 * time.Millisecond})
	b := newTransport(t, tcp.Config{})
	ctx := ctxFor(t, 2*waitTimeout)
	roundTrip := func(b *tcp.Transport, what string) {
		t.Helper()
		// Until the sender reaches the new peer, frames are lost or
		// refused; each attempt waits a little for delivery.
		for i := 0; ; i++ {
			if i == 200 {
				t.Fatalf("%s: nothing delivered after %d attempts", what, i)
			}
			err := a.Send(ctx, b.Self(), lenFrame(fmt.Appendf(nil, "%s %d", what, i)))
			if err != nil && !errors.Is(err, core.ErrUnreachable) {
				t.Fatalf("%s: Send = %v", what, err)
			}
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			_, err = b.Receive(rctx)
			cancel()
			if err == nil {
				return
			}
		}
	}
	roundTrip(b, "before")
	b.Close()
	// Down: Send fails once the connection's end is seen and the re-dial
	// refused.
	waitFor(t, "Send to the closed peer to fail", func() bool {
		return errors.Is(a.Send(ctx, b.Self(), lenFrame([]byte("down?"))), core.ErrUnreachable)
	})
	b2 := newTransport(t, tcp.Config{Listen: b.Addr().String()})
	roundTrip(b2, "after")
	if s := a.Stats(); s.Dialed < 2 {
		t.Errorf("Dialed = %d, want at least 2", s.Dialed)
	}
	a.Close()
	b2.Close()
	check()
}

// countingConn counts the writes to a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestCoalescing sends 1000 small frames at once: they arrive in order, in
// far fewer writes than frames.
func TestCoalescing(t *testing.T) {
	const n = 1000
	var writes atomic.Int64
	var d net.Dialer
	a := newTransport(t, tcp.Config{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, &writes}, nil
	}})
	b := newTransport(t, tcp.Config{})
	ctx := ctxFor(t, waitTimeout)
	for i := range n {
		if err := a.Send(ctx, b.Self(), lenFrame(fmt.Appendf(nil, "frame %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		p, err := b.Receive(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got, want := string(p.Frame[4:]), fmt.Sprintf("frame %d", i); got != want {
			t.Fatalf("received %q, want %q", got, want)
		}
	}
	waitFor(t, "the writes counted", func() bool { return a.Stats().FramesSent == n })
	s := a.Stats()
	t.Logf("%d frames in %d writes", n, writes.Load())
	if w := writes.Load(); w > n/2 {
		t.Errorf("%d frames took %d writes: not coalesced", n, w)
	}
	if s.Dialed != 1 {
		t.Errorf("Dialed %d, want 1 (one connection, reused)", s.Dialed)
	}
	if r := b.Stats(); r.FramesReceived != n || r.BytesReceived != s.BytesSent {
		t.Errorf("received %d frames, %d bytes; sent %d, %d", r.FramesReceived, r.BytesReceived, s.FramesSent, s.BytesSent)
	}
}

// TestCloseUnblocks closes a transport with a Receive blocked, a Send
// blocked on a full queue behind a dial that hangs, and a Send blocked
// behind a peer that does not read.
func TestCloseUnblocks(t *testing.T) {
	check := transporttest.LeakCheck(t)
	stalledID, stopStalled := stalledPeer(t)
	hanging := downNetID(t)
	var d net.Dialer
	a := newTransport(t, tcp.Config{
		QueueLen:     1,
		DialTimeout:  time.Minute,
		WriteTimeout: time.Minute,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == hanging.AddrPort().String() {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return d.DialContext(ctx, network, addr)
		},
	})
	ctx := ctxFor(t, 2*waitTimeout)
	big := lenFrame(make([]byte, 1<<20-4))
	// Fill the path to the stalled peer: the kernel's buffers, the
	// writer, the queue; then a Send blocks. Bounded: the buffers hold
	// a few MiB.
	for i := 0; ; i++ {
		if i == 256 {
			t.Fatal("256 MiB sent to a peer that does not read")
		}
		sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := a.Send(sctx, stalledID, big)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The hanging dial holds one frame, the queue another.
	for range 2 {
		if err := a.Send(ctx, hanging, lenFrame([]byte("x"))); err != nil {
			t.Fatal(err)
		}
	}
	errc := make(chan error, 3)
	go func() { errc <- a.Send(ctx, stalledID, big) }()
	go func() { errc <- a.Send(ctx, hanging, lenFrame([]byte("y"))) }()
	go func() {
		_, err := a.Receive(ctx)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // let them block, most of the time
	start := time.Now()
	if err := a.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	for range 3 {
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("a call blocked at Close = %v, want net.ErrClosed", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("a call blocked at Close still blocked")
		}
	}
	stopStalled()
	check()
}

// TestWriteTimeout: a peer that stops reading fails its writes after
// WriteTimeout, and Sends to it report it unreachable.
func TestWriteTimeout(t *testing.T) {
	to, _ := stalledPeer(t)
	a := newTransport(t, tcp.Config{QueueLen: 4, WriteTimeout: 100 * time.Millisecond, Backoff: time.Minute})
	ctx := ctxFor(t, 2*waitTimeout)
	big := lenFrame(make([]byte, 1<<20-4))
	var sendErr error
	for i := 0; sendErr == nil; i++ {
		if i == 256 {
			t.Fatal("256 MiB sent to a peer that does not read, without a write timeout")
		}
		sendErr = a.Send(ctx, to, big)
	}
	if !errors.Is(sendErr, core.ErrUnreachable) {
		t.Fatalf("Send to a stalled peer = %v, want core.ErrUnreachable", sendErr)
	}
	var ne net.Error
	if !errors.As(sendErr, &ne) || !ne.Timeout() {
		t.Errorf("Send to a stalled peer = %v, want it to wrap the write timeout", sendErr)
	}
	if s := a.Stats(); s.WriteFailures != 1 || s.Dropped == 0 {
		t.Errorf("WriteFailures %d, Dropped %d; want 1 and some", s.WriteFailures, s.Dropped)
	}
}

// TestIdle: an outgoing connection idle for IdleTimeout is closed, and the
// next Send dials again; an inbound connection silent for IdleTimeout is
// closed.
func TestIdle(t *testing.T) {
	const idle = 100 * time.Millisecond
	check := transporttest.LeakCheck(t)
	a := newTransport(t, tcp.Config{IdleTimeout: idle})
	b := newTransport(t, tcp.Config{IdleTimeout: -1})
	ctx := ctxFor(t, waitTimeout)
	for i := range 2 {
		if err := a.Send(ctx, b.Self(), lenFrame([]byte("x"))); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if got := a.Stats().Dialed; got != uint64(i+1) {
			t.Errorf("Dialed = %d, want %d", got, i+1)
		}
		time.Sleep(3 * idle)
	}
	c, err := net.Dial("tcp", a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	expectClosed(t, c, "a silent inbound connection")
	if d := time.Since(start); d < idle/2 {
		t.Errorf("a silent inbound connection closed after %v, IdleTimeout %v", d, idle)
	}
	a.Close()
	b.Close()
	check()
}

// TestManyPeers: one transport sends to several, each on its own
// connection, concurrently.
func TestManyPeers(t *testing.T) {
	const peers, each = 5, 100
	a := newTransport(t, tcp.Config{})
	var bs []*tcp.Transport
	for range peers {
		bs = append(bs, newTransport(t, tcp.Config{}))
	}
	ctx := ctxFor(t, waitTimeout)
	for i := range each {
		for _, b := range bs {
			if err := a.Send(ctx, b.Self(), lenFrame(fmt.Appendf(nil, "%d", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for j, b := range bs {
		for i := range each {
			p, err := b.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(p.Frame[4:]); got != fmt.Sprint(i) {
				t.Fatalf("peer %d: frame %q, want %d", j, got, i)
			}
		}
	}
	if got := a.Stats().Dialed; got != peers {
		t.Errorf("Dialed = %d, want %d", got, peers)
	}
}
