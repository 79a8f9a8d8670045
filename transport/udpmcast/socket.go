package udpmcast

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchReader reads datagrams into messages, several per call where the
// platform can (recvmmsg on Linux) and one otherwise. *ipv4.PacketConn and
// *ipv6.PacketConn both satisfy it, with the one message type they share.
type batchReader interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
}

// endpoint is what the reading loop needs of one address family.
type endpoint struct {
	reader batchReader
	// newOOB returns a buffer for a message's control data.
	newOOB func() []byte
	// parseOOB returns a message's destination address and the index of
	// the interface it arrived on (0 if the platform does not say).
	parseOOB func(oob []byte) (dst netip.Addr, ifIndex int, err error)
}

// setup4 joins cfg.Group on cfg.Interface with listen, asks for each
// datagram's destination and interface, and sets send's multicast
// interface, TTL and loopback.
func setup4(listen, send *net.UDPConn, cfg Config) (endpoint, error) {
	ifi, group := cfg.Interface, net.UDPAddrFromAddrPort(cfg.Group)
	lp := ipv4.NewPacketConn(listen)
	if err := lp.JoinGroup(ifi, group); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: join %s on %s: %w", cfg.Group.Addr(), ifi.Name, err)
	}
	const flags = ipv4.FlagDst | ipv4.FlagInterface
	if err := lp.SetControlMessage(flags, true); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: ask for destination and interface: %w", err)
	}
	sp := ipv4.NewPacketConn(send)
	if err := sp.SetMulticastInterface(ifi); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: send from %s: %w", ifi.Name, err)
	}
	if err := sp.SetMulticastTTL(cfg.TTL); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: TTL %d: %w", cfg.TTL, err)
	}
	if err := sp.SetMulticastLoopback(cfg.Loopback); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: loopback %v: %w", cfg.Loopback, err)
	}
	return endpoint{
		reader: lp,
		newOOB: func() []byte { return ipv4.NewControlMessage(flags) },
		parseOOB: func(oob []byte) (netip.Addr, int, error) {
			var cm ipv4.ControlMessage
			if err := cm.Parse(oob); err != nil {
				return netip.Addr{}, 0, err
			}
			dst, _ := netip.AddrFromSlice(cm.Dst)
			return dst.Unmap(), cm.IfIndex, nil
		},
	}, nil
}

// setup6 is setup4 for IPv6, where the TTL is the hop limit.
func setup6(listen, send *net.UDPConn, cfg Config) (endpoint, error) {
	ifi, group := cfg.Interface, net.UDPAddrFromAddrPort(cfg.Group)
	lp := ipv6.NewPacketConn(listen)
	if err := lp.JoinGroup(ifi, group); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: join %s on %s: %w", cfg.Group.Addr(), ifi.Name, err)
	}
	const flags = ipv6.FlagDst | ipv6.FlagInterface
	if err := lp.SetControlMessage(flags, true); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: ask for destination and interface: %w", err)
	}
	sp := ipv6.NewPacketConn(send)
	if err := sp.SetMulticastInterface(ifi); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: send from %s: %w", ifi.Name, err)
	}
	if err := sp.SetMulticastHopLimit(cfg.TTL); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: hop limit %d: %w", cfg.TTL, err)
	}
	if err := sp.SetMulticastLoopback(cfg.Loopback); err != nil {
		return endpoint{}, fmt.Errorf("udpmcast: loopback %v: %w", cfg.Loopback, err)
	}
	return endpoint{
		reader: lp,
		newOOB: func() []byte { return ipv6.NewControlMessage(flags) },
		parseOOB: func(oob []byte) (netip.Addr, int, error) {
			var cm ipv6.ControlMessage
			if err := cm.Parse(oob); err != nil {
				return netip.Addr{}, 0, err
			}
			dst, _ := netip.AddrFromSlice(cm.Dst)
			return dst, cm.IfIndex, nil
		},
	}, nil
}
