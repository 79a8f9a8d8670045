package udpmcast_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/chatter-go/chatter/transport/udpmcast"
)

// The tests send multicast on a loopback interface only: lo in a network
// namespace each test makes (Linux, as root), or else the host's loopback
// interface if it has the MULTICAST flag. Groups are administratively
// scoped (239.255.0.0/16, ff14::/16) and datagrams have a TTL of 0.

// onLoopback runs f with a loopback interface that carries multicast, and
// fails t with f's error. Without one, or if multicast does not work on
// it, it skips t, unless CHATTER_E2E=1, when it fails t instead.
func onLoopback(t *testing.T, f func(lo *net.Interface) error) {
	t.Helper()
	if err := probeOnce(); err != nil {
		unavailable(t, err)
	}
	if err := withLoopback(f); err != nil {
		t.Fatal(err)
	}
}

// withLoopback runs f in a namespace of its own, or on the host's loopback
// interface if no namespace can be made.
func withLoopback(f func(lo *net.Interface) error) error {
	err := inNetns(f)
	if !errors.Is(err, errNoNetns) {
		return err
	}
	lo, lerr := hostLoopback()
	if lerr != nil {
		return fmt.Errorf("%w (%v)", lerr, err)
	}
	return f(lo)
}

func unavailable(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CHATTER_E2E") == "1" {
		t.Fatalf("cannot test multicast here, and CHATTER_E2E=1: %v", err)
	}
	t.Skipf("cannot test multicast here (CHATTER_E2E=1 fails instead): %v", err)
}

// errNoLoopback reports that the host's loopback interface cannot be used.
var errNoLoopback = errors.New("no loopback interface with the MULTICAST flag")

// hostLoopback returns the host's loopback interface if it is up and has
// the MULTICAST flag.
func hostLoopback() (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for i := range ifs {
		ifi := &ifs[i]
		if ifi.Flags&net.FlagLoopback != 0 && ifi.Flags&net.FlagUp != 0 {
			if ifi.Flags&net.FlagMulticast == 0 {
				return nil, fmt.Errorf("%w: %s lacks it", errNoLoopback, ifi.Name)
			}
			return ifi, nil
		}
	}
	return nil, errNoLoopback
}

var probeOnce = sync.OnceValue(func() error { return withLoopback(probe) })

// probe checks with plain sockets, not the package under test, that a
// datagram multicast on lo comes back: so a broken environment skips and a
// broken transport fails.
func probe(lo *net.Interface) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	group := &net.UDPAddr{IP: net.IPv4(239, 255, 0, 250), Port: int(port)}
	r, err := net.ListenMulticastUDP("udp4", lo, group)
	if err != nil {
		return fmt.Errorf("probe: join %v on %s: %w", group, lo.Name, err)
	}
	defer r.Close()
	s, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer s.Close()
	p := ipv4.NewPacketConn(s)
	if err := errors.Join(p.SetMulticastInterface(lo), p.SetMulticastTTL(0), p.SetMulticastLoopback(true)); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	if _, err := s.WriteToUDP([]byte("probe"), group); err != nil {
		return fmt.Errorf("probe: send to %v on %s: %w", group, lo.Name, err)
	}
	r.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 16)
	if _, _, err := r.ReadFromUDP(buf); err != nil {
		return fmt.Errorf("probe: a datagram multicast on %s did not come back: %w", lo.Name, err)
	}
	return nil
}

// freePort returns a UDP port free on 127.0.0.1 a moment ago.
func freePort() (uint16, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
}

// group returns 239.255.0.n:port.
func group(n byte, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 255, 0, n}), port)
}

// config returns the configuration of a member of g on lo: from
// 127.0.0.1, TTL 0, loopback on.
func config(lo *net.Interface, g netip.AddrPort) udpmcast.Config {
	return udpmcast.Config{
		Group:     g,
		Interface: lo,
		Source:    netip.AddrFrom4([4]byte{127, 0, 0, 1}),
		TTL:       udpmcast.HostOnlyTTL,
		Loopback:  true,
	}
}

// openAll opens a transport per configuration, all or none, and closes
// them when t ends.
func openAll(t *testing.T, cfgs ...udpmcast.Config) ([]*udpmcast.Transport, error) {
	var ts []*udpmcast.Transport
	for i, c := range cfgs {
		tr, err := udpmcast.New(c)
		if err != nil {
			for _, o := range ts {
				o.Close()
			}
			return nil, fmt.Errorf("New(member %d of %s): %w", i, c.Group, err)
		}
		ts = append(ts, tr)
	}
	t.Cleanup(func() {
		for _, tr := range ts {
			tr.Close()
		}
	})
	return ts, nil
}
