//go:build !linux

package udpmcast

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// batchSize is how many datagrams one read returns at most: one, as
// x/net reads a single message outside Linux.
const batchSize = 1

// listenGroup returns a UDP socket for group's port, shared with the host's
// other sockets on it. Asked to bind a multicast address, package net binds
// the wildcard address with the platform's sharing options (SO_REUSEADDR,
// and SO_REUSEPORT on the BSDs and macOS); the reading loop then drops what
// is not for group, by the destination each datagram carries.
func listenGroup(group netip.AddrPort, _ *net.Interface) (*net.UDPConn, error) {
	var lc net.ListenConfig
	c, err := lc.ListenPacket(context.Background(), network(group), group.String())
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UDPConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("a %T, not a UDP socket", c)
	}
	return uc, nil
}
