package memnet_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/memnet"
	"github.com/chatter-go/chatter/transport/transporttest"
)

func TestLiveUnicast(t *testing.T)   { transporttest.RunUnicast(t, livePair(memnet.LiveConfig{})) }
func TestLiveMulticast(t *testing.T) { transporttest.RunMulticast(t, liveGroup(memnet.LiveConfig{})) }

// The suites again, with latency, and over the one-kind views.
func TestLiveUnicastLatency(t *testing.T) {
	transporttest.RunUnicast(t, livePair(memnet.LiveConfig{Latency: time.Millisecond}))
}

func TestLiveMulticastLatency(t *testing.T) {
	transporttest.RunMulticast(t, liveGroup(memnet.LiveConfig{Latency: time.Millisecond}))
}

func TestLiveUnicastPort(t *testing.T) {
	transporttest.RunUnicast(t, func(t *testing.T) transporttest.Pair {
		p := livePair(memnet.LiveConfig{})(t)
		p.A = p.A.(*memnet.LiveHost).UnicastPort()
		p.B = p.B.(*memnet.LiveHost).UnicastPort()
		return p
	})
}

func TestLiveMulticastPort(t *testing.T) {
	transporttest.RunMulticast(t, func(t *testing.T) transporttest.Group {
		g := liveGroup(memnet.LiveConfig{})(t)
		for i, m := range g.Members {
			g.Members[i] = m.(*memnet.LiveHost).MulticastPort()
		}
		return g
	})
}

func livePair(cfg memnet.LiveConfig) func(t *testing.T) transporttest.Pair {
	return func(t *testing.T) transporttest.Pair {
		l := memnet.NewLive(cfg)
		a, b := hostID(1), hostID(2)
		return transporttest.Pair{A: l.Host(a, "s"), B: l.Host(b, "s"), AID: a, BID: b}
	}
}

func liveGroup(cfg memnet.LiveConfig) func(t *testing.T) transporttest.Group {
	return func(t *testing.T) transporttest.Group {
		l := memnet.NewLive(cfg)
		l.Host(hostID(9), "elsewhere") // another domain hears nothing
		var g transporttest.Group
		for i := range 4 {
			g.Members = append(g.Members, l.Host(hostID(i+1), "s"))
		}
		return g
	}
}

// receiveNothing checks that h receives nothing within a second (of a
// synctest bubble's clock).
func receiveNothing(t *testing.T, h core.Unicast, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if p, err := h.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: Receive = %q, %v; want nothing", what, p.Frame, err)
	}
}

func mustReceive(t *testing.T, h interface {
	Receive(context.Context) (core.Packet, error)
}, what string) core.Packet {
	t.Helper()
	p, err := h.Receive(t.Context())
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return p
}

func TestLiveLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const latency = 50 * time.Millisecond
		l := memnet.NewLive(memnet.LiveConfig{Latency: latency})
		a, b := l.Host(hostID(1), "s"), l.Host(hostID(2), "s")
		start := time.Now()
		for i := range 3 {
			if err := a.Send(t.Context(), b.ID(), []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		for i := range 3 {
			p := mustReceive(t, b, "a delayed frame")
			if want := latency + time.Duration(i)*10*time.Millisecond; time.Since(start) != want || p.Frame[0] != byte(i) {
				t.Errorf("frame %d arrived as %d after %v, want %v", i, p.Frame[0], time.Since(start), want)
			}
		}
		a.Multicast(t.Context(), []byte("m"))
		mark := time.Now()
		if p := mustReceive(t, b, "a delayed datagram"); time.Since(mark) != latency || p.Via != core.ViaMulticast {
			t.Errorf("datagram %q by %v arrived after %v, want %v", p.Frame, p.Via, time.Since(mark), latency)
		}
	})
}

func TestLiveUnicastBlocksOnAFullQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := memnet.NewLive(memnet.LiveConfig{QueueLen: 2})
		a, b := l.Host(hostID(1), "s"), l.Host(hostID(2), "s")
		for i := range 2 {
			if err := a.Send(t.Context(), b.ID(), []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := a.Send(ctx, b.ID(), []byte{2}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send to a full queue = %v, want context.DeadlineExceeded", err)
		}

		// A blocked Send goes through when the receiver makes room.
		errc := make(chan error, 1)
		go func() { errc <- a.Send(t.Context(), b.ID(), []byte{3}) }()
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("Send to a full queue returned %v", err)
		default:
		}
		var got []byte
		for range 3 {
			got = append(got, mustReceive(t, b, "queued frame").Frame...)
		}
		if err := <-errc; err != nil {
			t.Fatalf("blocked Send = %v", err)
		}
		if diff := cmp.Diff([]byte{0, 1, 3}, got); diff != "" {
			t.Errorf("frames (-want +got):\n%s", diff)
		}

		// A blocked Send returns when its own host closes, or the target's.
		for range 2 {
			a.Send(t.Context(), b.ID(), []byte{4})
		}
		go func() { errc <- a.Send(t.Context(), b.ID(), []byte{5}) }()
		synctest.Wait()
		a.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Send blocked when its host closed = %v, want net.ErrClosed", err)
		}
		c := l.Host(hostID(3), "s")
		go func() { errc <- c.Send(t.Context(), b.ID(), []byte{6}) }()
		synctest.Wait()
		b.Close()
		if err := <-errc; !errors.Is(err, core.ErrUnreachable) {
			t.Errorf("Send blocked when its target closed = %v, want core.ErrUnreachable", err)
		}
	})
}

func TestLiveMulticastDropsOnAFullQueue(t *testing.T) {
	l := memnet.NewLive(memnet.LiveConfig{QueueLen: 2})
	a, b, c := l.Host(hostID(1), "s"), l.Host(hostID(2), "s"), l.Host(hostID(3), "s")
	for i := range 3 {
		if err := a.Multicast(t.Context(), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []*memnet.LiveHost{b, c} {
		for i := range 2 {
			if p := mustReceive(t, h, "datagram"); p.Frame[0] != byte(i) {
				t.Errorf("got datagram %d, want %d", p.Frame[0], i)
			}
		}
	}
	want := memnet.ViaStats{Packets: 3, Bytes: 3, Delivered: 4, Dropped: 2}
	if diff := cmp.Diff(want, l.Stats().Multicast); diff != "" {
		t.Errorf("Stats().Multicast (-want +got):\n%s", diff)
	}
}

func TestLiveErrors(t *testing.T) {
	l := memnet.NewLive(memnet.LiveConfig{MaxFrame: 100, MaxDatagram: 50})
	a, b := l.Host(hostID(1), "s"), l.Host(hostID(2), "s")
	ctx := t.Context()
	if err := a.Send(ctx, hostID(99), []byte("x")); !errors.Is(err, core.ErrUnreachable) {
		t.Errorf("Send to a NetID never added = %v, want core.ErrUnreachable", err)
	}
	if err := a.Send(ctx, b.ID(), make([]byte, 101)); !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("Send of 101 bytes = %v, want core.ErrTooLarge", err)
	}
	if err := a.Multicast(ctx, make([]byte, 51)); !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("Multicast of 51 bytes = %v, want core.ErrTooLarge", err)
	}
	if a.MaxFrame() != 100 || a.MaxDatagram() != 50 {
		t.Errorf("MaxFrame, MaxDatagram = %d, %d; want 100, 50", a.MaxFrame(), a.MaxDatagram())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.Send(cancelled, b.ID(), []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v", err)
	}

	b.Close()
	if err := a.Send(ctx, b.ID(), []byte("x")); !errors.Is(err, core.ErrUnreachable) {
		t.Errorf("Send to a closed host = %v, want core.ErrUnreachable", err)
	}
	// The closed host's NetID may come back, as a restarted node's does.
	b2 := l.Host(b.ID(), "s")
	if err := a.Send(ctx, b.ID(), []byte("again")); err != nil {
		t.Fatal(err)
	}
	if p := mustReceive(t, b2, "a frame to the new host"); string(p.Frame) != "again" {
		t.Errorf("got %q", p.Frame)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("adding an open host's NetID again did not panic")
		}
	}()
	l.Host(b.ID(), "s")
}

func TestLivePacket(t *testing.T) {
	l := memnet.NewLive(memnet.LiveConfig{})
	a, b := l.Host(hostID(1), "s"), l.Host(hostID(2), "s")
	a.Send(t.Context(), b.ID(), []byte("u"))
	a.Multicast(t.Context(), []byte("m"))
	a.Send(t.Context(), b.ID(), []byte("v"))
	var got []core.Packet
	for range 3 {
		got = append(got, mustReceive(t, b, "packet"))
	}
	from := hostID(1).AddrPort()
	want := []core.Packet{
		{Frame: []byte("u"), Via: core.ViaTCP, Remote: from},
		{Frame: []byte("m"), Via: core.ViaMulticast, Remote: from},
		{Frame: []byte("v"), Via: core.ViaTCP, Remote: from},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(x, y core.Packet) bool {
		return string(x.Frame) == string(y.Frame) && x.Via == y.Via && x.Remote == y.Remote
	})); diff != "" {
		t.Errorf("packets in arrival order (-want +got):\n%s", diff)
	}
	wantStats := memnet.HostStats{Received: 3, ReceivedBytes: 3}
	if diff := cmp.Diff(wantStats, b.Stats()); diff != "" {
		t.Errorf("b.Stats (-want +got):\n%s", diff)
	}
}

func TestLivePortsSplitTheKinds(t *testing.T) {
	l := memnet.NewLive(memnet.LiveConfig{})
	a, b := l.Host(hostID(1), "s"), l.Host(hostID(2), "s")
	a.Multicast(t.Context(), []byte("m"))
	a.Send(t.Context(), b.ID(), []byte("u"))
	if p := mustReceive(t, b.UnicastPort(), "unicast"); string(p.Frame) != "u" {
		t.Errorf("UnicastPort received %q by %v", p.Frame, p.Via)
	}
	if p := mustReceive(t, b.MulticastPort(), "multicast"); string(p.Frame) != "m" {
		t.Errorf("MulticastPort received %q by %v", p.Frame, p.Via)
	}
}

func TestLiveCrashAndRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := memnet.NewLive(memnet.LiveConfig{})
		a, b := l.Host(hostID(1), "s"), l.Host(hostID(2), "s")
		ctx := t.Context()
		a.Send(ctx, b.ID(), []byte("queued"))
		l.Crash(b.ID())
		l.Crash(hostID(99)) // unknown: ignored
		for _, err := range []error{
			a.Send(ctx, b.ID(), []byte("to the crashed")),
			a.Multicast(ctx, []byte("mcast to the crashed")),
			b.Send(ctx, a.ID(), []byte("from the crashed")),
			b.Multicast(ctx, []byte("mcast from the crashed")),
		} {
			if err != nil {
				t.Errorf("a send involving a crashed host = %v, want silent loss", err)
			}
		}
		receiveNothing(t, b, "the crashed host")
		receiveNothing(t, a, "the peer of the crashed host")
		l.Restart(b.ID())
		a.Send(ctx, b.ID(), []byte("after restart"))
		if p := mustReceive(t, b, "a frame after restart"); string(p.Frame) != "after restart" {
			t.Errorf("got %q, want the frame sent after restart", p.Frame)
		}
		want := memnet.Stats{
			Unicast:   memnet.ViaStats{Packets: 3, Bytes: 6 + 14 + 13, Delivered: 1, Dropped: 3},
			Multicast: memnet.ViaStats{Packets: 1, Bytes: 20, Dropped: 1},
		}
		if diff := cmp.Diff(want, l.Stats()); diff != "" {
			t.Errorf("Stats (-want +got):\n%s", diff)
		}
	})
}

func TestLivePartitionAndHeal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := memnet.NewLive(memnet.LiveConfig{})
		a, b, c := l.Host(hostID(1), "a"), l.Host(hostID(2), "b"), l.Host(hostID(3), "c")
		ctx := t.Context()
		l.Partition("b", "a")
		if err := a.Send(ctx, b.ID(), []byte("cut")); err != nil {
			t.Errorf("Send across a partition = %v, want silent loss", err)
		}
		b.Send(ctx, a.ID(), []byte("cut back"))
		a.Send(ctx, c.ID(), []byte("to c"))
		receiveNothing(t, b, "a host across the partition")
		receiveNothing(t, a, "a host across the partition")
		if p := mustReceive(t, c, "a frame outside the partition"); string(p.Frame) != "to c" {
			t.Errorf("got %q", p.Frame)
		}
		l.Heal()
		a.Send(ctx, b.ID(), []byte("healed"))
		if p := mustReceive(t, b, "a frame after Heal"); string(p.Frame) != "healed" {
			t.Errorf("got %q", p.Frame)
		}
	})
}

func TestLiveLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := memnet.NewLive(memnet.LiveConfig{Seed: 7, McastLoss: 1, UnicastLoss: 1})
		a, b := l.Host(hostID(1), "s"), l.Host(hostID(2), "s")
		for range 10 {
			a.Send(t.Context(), b.ID(), []byte("u"))
			a.Multicast(t.Context(), []byte("m"))
		}
		receiveNothing(t, b, "a host behind a lossy network")
		want := memnet.Stats{
			Unicast:   memnet.ViaStats{Packets: 10, Bytes: 10, Lost: 10},
			Multicast: memnet.ViaStats{Packets: 10, Bytes: 10, Lost: 10},
		}
		if diff := cmp.Diff(want, l.Stats()); diff != "" {
			t.Errorf("Stats (-want +got):\n%s", diff)
		}
	})
}

func TestLiveConfigValidate(t *testing.T) {
	for _, c := range []memnet.LiveConfig{
		{McastLoss: -1}, {UnicastLoss: 2}, {Latency: -1}, {QueueLen: -1}, {MaxFrame: -1}, {MaxDatagram: -1},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v: Validate() = nil, want an error", c)
		}
	}
}
