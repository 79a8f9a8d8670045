package udpmcast_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/transporttest"
	"github.com/chatter-go/chatter/transport/udpmcast"
)

func TestMulticast(t *testing.T) { transporttest.RunMulticast(t, newGroup) }

// newGroup opens three members of 239.255.0.1 on lo.
func newGroup(t *testing.T) transporttest.Group {
	var g transporttest.Group
	onLoopback(t, func(lo *net.Interface) error {
		port, err := freePort()
		if err != nil {
			return err
		}
		c := config(lo, group(1, port))
		ts, err := openAll(t, c, c, c)
		for _, tr := range ts {
			g.Members = append(g.Members, tr)
		}
		return err
	})
	return g
}

// TestGroupsShareAPort checks what `chatter demo` depends on: two groups on
// one port, joined on one interface of one host, do not hear each other.
// On Linux a socket bound to the wildcard address would hear both; the
// control socket shows that the test can tell.
func TestGroupsShareAPort(t *testing.T) {
	var a, b []*udpmcast.Transport
	var control *net.UDPConn
	onLoopback(t, func(lo *net.Interface) error {
		port, err := freePort()
		if err != nil {
			return err
		}
		if a, err = openAll(t, config(lo, group(1, port)), config(lo, group(1, port))); err != nil {
			return err
		}
		if b, err = openAll(t, config(lo, group(2, port)), config(lo, group(2, port))); err != nil {
			return err
		}
		// The naive listener: bound to 0.0.0.0:port, joined to group 1.
		control, err = net.ListenMulticastUDP("udp4", lo, net.UDPAddrFromAddrPort(group(1, port)))
		if err == nil {
			t.Cleanup(func() { control.Close() })
		}
		return err
	})

	multicast(t, b[0], "for group 2")
	expect(t, b[1], "group 2's other member", "for group 2")
	expectQuiet(t, a[0], "member 0 of group 1")
	expectQuiet(t, a[1], "member 1 of group 1")

	multicast(t, a[0], "for group 1")
	expect(t, a[1], "group 1's other member", "for group 1")
	expectQuiet(t, b[0], "member 0 of group 2")
	expectQuiet(t, b[1], "member 1 of group 2")

	for i, tr := range append(a, b...) {
		if s := tr.Stats(); s.Foreign != 0 && runtime.GOOS == "linux" {
			t.Errorf("transport %d: Stats().Foreign = %d, want 0: on Linux the kernel keeps other groups out", i, s.Foreign)
		}
	}
	if runtime.GOOS == "linux" {
		control.SetReadDeadline(time.Now().Add(transporttest.OpTimeout))
		buf := make([]byte, 64)
		n, _, err := control.ReadFromUDP(buf)
		if err != nil || string(buf[:n]) != "for group 2" {
			t.Errorf("a wildcard socket joined to group 1 read %q, %v; want group 2's datagram "+
				"(Linux's IP_MULTICAST_ALL): the test cannot tell whether groups are kept apart", buf[:n], err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	var small, big *udpmcast.Transport
	onLoopback(t, func(lo *net.Interface) error {
		port, err := freePort()
		if err != nil {
			return err
		}
		cs, cb := config(lo, group(1, port)), config(lo, group(1, port))
		cs.MaxDatagram, cb.MaxDatagram = 100, 200
		ts, err := openAll(t, cs, cb)
		if err == nil {
			small, big = ts[0], ts[1]
		}
		return err
	})
	if got := small.MaxDatagram(); got != 100 {
		t.Errorf("MaxDatagram() = %d, want 100", got)
	}
	err := small.Multicast(t.Context(), make([]byte, 101))
	if !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("Multicast of 101 bytes with MaxDatagram 100 = %v, want an error matching core.ErrTooLarge", err)
	}
	multicast(t, big, strings.Repeat("b", 150)) // too long for small: dropped there
	multicast(t, big, strings.Repeat("s", 100))
	expect(t, small, "the datagram of MaxDatagram bytes", strings.Repeat("s", 100))
	want := udpmcast.Stats{Received: 1, TooLarge: 1}
	if diff := cmp.Diff(want, small.Stats()); diff != "" {
		t.Errorf("Stats() of the receiver with MaxDatagram 100 (-want +got):\n%s", diff)
	}
}

// TestOwnDatagrams checks that a transport ignores its own datagrams, looped
// back, and that a node hears another on the same Source address.
func TestOwnDatagrams(t *testing.T) {
	var a, b *udpmcast.Transport
	onLoopback(t, func(lo *net.Interface) error {
		port, err := freePort()
		if err != nil {
			return err
		}
		c := config(lo, group(1, port))
		ts, err := openAll(t, c, c)
		if err == nil {
			a, b = ts[0], ts[1]
		}
		return err
	})
	if a.LocalAddr() == b.LocalAddr() || a.LocalAddr().Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("LocalAddr() = %v and %v, want 127.0.0.1 and two ports", a.LocalAddr(), b.LocalAddr())
	}
	multicast(t, a, "from a")
	p := expect(t, b, "a's datagram at b", "from a")
	if p.Remote != a.LocalAddr() || p.Via != core.ViaMulticast {
		t.Errorf("b received from %v by %v, want from %v by %v", p.Remote, p.Via, a.LocalAddr(), core.ViaMulticast)
	}
	expectQuiet(t, a, "the sender")
	for _, c := range []struct {
		name string
		tr   *udpmcast.Transport
		want udpmcast.Stats
	}{
		{"sender", a, udpmcast.Stats{Sent: 1, Own: 1}},
		{"receiver", b, udpmcast.Stats{Received: 1}},
	} {
		if diff := cmp.Diff(c.want, c.tr.Stats()); diff != "" {
			t.Errorf("Stats() of the %s (-want +got):\n%s", c.name, diff)
		}
	}
	if got := a.MaxDatagram(); got != udpmcast.DefaultMaxDatagram {
		t.Errorf("MaxDatagram() = %d, want the default %d", got, udpmcast.DefaultMaxDatagram)
	}
}

func TestQueueFull(t *testing.T) {
	const sent = 5
	var snd, rcv *udpmcast.Transport
	onLoopback(t, func(lo *net.Interface) error {
		port, err := freePort()
		if err != nil {
			return err
		}
		cs, cr := config(lo, group(1, port)), config(lo, group(1, port))
		cr.RecvQueue = 2
		ts, err := openAll(t, cs, cr)
		if err == nil {
			snd, rcv = ts[0], ts[1]
		}
		return err
	})
	for i := range sent {
		multicast(t, snd, string(rune('0'+i)))
	}
	deadline := time.Now().Add(transporttest.OpTimeout)
	for s := rcv.Stats(); s.Received+s.Dropped < sent; s = rcv.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v, Stats() = %+v, want %d datagrams received or dropped", transporttest.OpTimeout, s, sent)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if diff := cmp.Diff(udpmcast.Stats{Received: 2, Dropped: 3}, rcv.Stats()); diff != "" {
		t.Errorf("Stats() with RecvQueue 2 after 5 datagrams (-want +got):\n%s", diff)
	}
	expect(t, rcv, "the first datagram", "0")
	expect(t, rcv, "the second datagram", "1")
	expectQuiet(t, rcv, "a full queue's receiver")
}

func TestCloseUnblocksReceive(t *testing.T) {
	var a *udpmcast.Transport
	onLoopback(t, func(lo *net.Interface) error {
		port, err := freePort()
		if err != nil {
			return err
		}
		ts, err := openAll(t, config(lo, group(1, port)))
		if err == nil {
			a = ts[0]
		}
		return err
	})
	errc := make(chan error, 1)
	go func() {
		_, err := a.Receive(context.Background())
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // let Receive block, most of the time
	if err := a.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Receive blocked at Close = %v, want an error matching net.ErrClosed", err)
		}
	case <-time.After(transporttest.OpTimeout):
		t.Fatalf("Receive still blocked %v after Close", transporttest.OpTimeout)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := a.Multicast(t.Context(), []byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Multicast after Close = %v, want an error matching net.ErrClosed", err)
	}
	if _, err := a.Receive(t.Context()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Receive after Close = %v, want an error matching net.ErrClosed", err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	check := transporttest.LeakCheck(t)
	var ts []*udpmcast.Transport
	onLoopback(t, func(lo *net.Interface) error {
		port, err := freePort()
		if err != nil {
			return err
		}
		c := config(lo, group(1, port))
		ts, err = openAll(t, c, c, c)
		return err
	})
	for i, tr := range ts {
		multicast(t, tr, "hello")
		for j, other := range ts {
			if j != i {
				expect(t, other, "hello", "hello")
			}
		}
	}
	for i, tr := range ts {
		if err := tr.Close(); err != nil {
			t.Errorf("member %d: Close = %v", i, err)
		}
	}
	check()
}

// TestIPv6 runs in a namespace only, on a veth pair made there: Linux's lo
// does not loop IPv6 multicast back. With a hop limit of 0 a datagram is
// delivered to the namespace's own sockets and never transmitted.
func TestIPv6(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		unavailable(t, err)
	}
	var a, b *udpmcast.Transport
	source := netip.MustParseAddr("fd00:c4a7::1")
	err := inNetns(func(*net.Interface) error {
		err := errors.Join(
			ip("link", "add", "mc0", "type", "veth", "peer", "name", "mc1"),
			ip("link", "set", "mc0", "up"),
			ip("link", "set", "mc1", "up"),
			ip("-6", "addr", "add", source.String()+"/64", "dev", "mc0", "nodad"))
		if err != nil {
			return err
		}
		mc0, err := net.InterfaceByName("mc0")
		if err != nil {
			return err
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		c := config(mc0, netip.AddrPortFrom(netip.MustParseAddr("ff14::1:1"), port))
		c.Source = netip.Addr{} // mc0's first address
		ts, err := openAll(t, c, c)
		if err == nil {
			a, b = ts[0], ts[1]
		}
		return err
	})
	switch {
	case errors.Is(err, errNoNetns):
		unavailable(t, err)
	case err != nil:
		t.Fatal(err)
	}
	if got := a.LocalAddr().Addr(); got != source {
		t.Errorf("LocalAddr() = %v, want the interface's address %v", a.LocalAddr(), source)
	}
	multicast(t, a, "over IPv6")
	p := expect(t, b, "a datagram over IPv6", "over IPv6")
	if p.Remote != a.LocalAddr() {
		t.Errorf("Remote = %v, want %v", p.Remote, a.LocalAddr())
	}
	expectQuiet(t, a, "the IPv6 sender")
	if diff := cmp.Diff(udpmcast.Stats{Sent: 1, Own: 1}, a.Stats()); diff != "" {
		t.Errorf("Stats() of the IPv6 sender (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	lo := &net.Interface{Index: 1, Name: "lo", Flags: net.FlagUp | net.FlagLoopback | net.FlagMulticast}
	noMcast := &net.Interface{Index: 2, Name: "eth9", Flags: net.FlagUp}
	g := netip.MustParseAddrPort("239.255.0.1:29999")
	valid := udpmcast.Config{Group: g, Interface: lo}
	with := func(f func(c *udpmcast.Config)) udpmcast.Config {
		c := valid
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  udpmcast.Config
		want string // a part of the error; "" for none
	}{
		{"valid", valid, ""},
		{"IPv6 group", with(func(c *udpmcast.Config) { c.Group = netip.MustParseAddrPort("[ff14::1]:9") }), ""},
		{"IPv4-mapped group and source", with(func(c *udpmcast.Config) {
			c.Group, c.Source = netip.MustParseAddrPort("[::ffff:239.255.0.1]:9"), netip.MustParseAddr("::ffff:127.0.0.1")
		}), ""},
		{"full", with(func(c *udpmcast.Config) {
			c.Source, c.TTL, c.MaxDatagram, c.RecvQueue = netip.MustParseAddr("127.0.0.1"), 255, 65507, 1
		}), ""},
		{"host only", with(func(c *udpmcast.Config) { c.TTL = udpmcast.HostOnlyTTL }), ""},
		{"no group", with(func(c *udpmcast.Config) { c.Group = netip.AddrPort{} }), "no Group"},
		{"unicast group", with(func(c *udpmcast.Config) { c.Group = netip.MustParseAddrPort("127.0.0.1:9") }), "not a multicast address"},
		{"no port", with(func(c *udpmcast.Config) { c.Group = netip.AddrPortFrom(g.Addr(), 0) }), "has no port"},
		{"no interface", with(func(c *udpmcast.Config) { c.Interface = nil }), "no Interface"},
		{"interface without index", with(func(c *udpmcast.Config) { c.Interface = &net.Interface{Name: "x", Flags: net.FlagMulticast} }), "has no index"},
		{"interface without multicast", with(func(c *udpmcast.Config) { c.Interface = noMcast }), "no MULTICAST flag"},
		{"unspecified source", with(func(c *udpmcast.Config) { c.Source = netip.IPv4Unspecified() }), "not a unicast address"},
		{"source of another family", with(func(c *udpmcast.Config) { c.Source = netip.IPv6Loopback() }), "different families"},
		{"TTL too low", with(func(c *udpmcast.Config) { c.TTL = -2 }), "TTL -2"},
		{"TTL too high", with(func(c *udpmcast.Config) { c.TTL = 256 }), "TTL 256"},
		{"datagram too long", with(func(c *udpmcast.Config) { c.MaxDatagram = 65508 }), "MaxDatagram 65508"},
		{"negative queue", with(func(c *udpmcast.Config) { c.RecvQueue = -1 }), "negative RecvQueue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
			if tc.want == "" {
				return
			}
			if tr, err := udpmcast.New(tc.cfg); err == nil {
				tr.Close()
				t.Errorf("New accepted an invalid Config")
			}
		})
	}
}

func multicast(t *testing.T, tr *udpmcast.Transport, frame string) {
	t.Helper()
	if err := tr.Multicast(t.Context(), []byte(frame)); err != nil {
		t.Fatalf("Multicast(%q): %v", frame, err)
	}
}

// expect receives one packet on tr and checks its frame.
func expect(t *testing.T, tr *udpmcast.Transport, what, want string) core.Packet {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.OpTimeout)
	defer cancel()
	p, err := tr.Receive(ctx)
	if err != nil {
		t.Fatalf("receive %s: %v", what, err)
	}
	if !bytes.Equal(p.Frame, []byte(want)) {
		t.Errorf("%s: received %q, want %q", what, p.Frame, want)
	}
	return p
}

// expectQuiet fails t if tr receives anything within transporttest.Quiet.
func expectQuiet(t *testing.T, tr *udpmcast.Transport, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Quiet)
	defer cancel()
	if p, err := tr.Receive(ctx); err == nil {
		t.Errorf("%s received %q from %v, want nothing", what, p.Frame, p.Remote)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: Receive = %v, want an error matching context.DeadlineExceeded", what, err)
	}
}
