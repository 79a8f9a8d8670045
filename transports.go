package chatter

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/tcp"
	"github.com/chatter-go/chatter/transport/udpmcast"
)

// realTransports makes the node's TCP and UDP multicast transports from
// cfg: TCP listening on cfg.Listen (or Addr), multicast joined on
// cfg.Interface (or the interface that holds Addr's address). With
// NoMulticast the multicast transport is nil: the node runs on TCP alone.
func realTransports(cfg Config, self core.NetID) (core.Unicast, core.Multicast, error) {
	// Resolve the interface first: a bad name then costs no socket.
	var ifi *net.Interface
	if !cfg.NoMulticast {
		var err error
		if ifi, err = multicastInterface(cfg.Interface, cfg.Addr.Addr()); err != nil {
			return nil, nil, err
		}
	}
	listen := cfg.Listen
	if !listen.IsValid() {
		listen = cfg.Addr
	}
	uni, err := tcp.New(tcp.Config{Self: self, Listen: listen.String(), MaxFrame: cfg.MaxFrameSize, FrameLen: codec.FrameLen, Logger: cfg.Logger})
	if err != nil {
		return nil, nil, fmt.Errorf("chatter: TCP transport: %w", err)
	}
	if cfg.NoMulticast {
		return uni, nil, nil
	}
	ttl := cfg.TTL
	if ttl == HostOnlyTTL {
		ttl = udpmcast.HostOnlyTTL
	}
	mc, err := udpmcast.New(udpmcast.Config{
		Group:     cfg.MulticastGroup,
		Interface: ifi,
		Source:    cfg.Addr.Addr(),
		TTL:       ttl,
		Loopback:  cfg.MulticastLoopback,
		Logger:    cfg.Logger,
	})
	if err != nil {
		uni.Close()
		return nil, nil, fmt.Errorf("chatter: multicast transport on %s: %w", ifi.Name, err)
	}
	return uni, mc, nil
}

// multicastInterface returns the interface named name, or, with no name,
// the interface that holds addr.
func multicastInterface(name string, addr netip.Addr) (*net.Interface, error) {
	if name != "" {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("%w: interface %q: %w", ErrConfig, name, err)
		}
		return ifi, nil
	}
	ifis, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("chatter: interfaces: %w", err)
	}
	for i := range ifis {
		addrs, err := ifis[i].Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if p, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(p.IP); ok && ip.Unmap() == addr.Unmap() {
					return &ifis[i], nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%w: no interface holds %s; name one with Interface", ErrConfig, addr)
}
