package udpmcast

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// batchSize is how many datagrams one read returns at most: recvmmsg reads
// a batch.
const batchSize = 16

// listenGroup returns a UDP socket for group's port, shared with the host's
// other sockets on it (SO_REUSEADDR, SO_REUSEPORT), that receives group's
// datagrams only. A Linux socket bound to the wildcard address receives
// every group joined on its port by any socket of the host, so this one is
// bound to the group address itself, and IP_MULTICAST_ALL (or
// IPV6_MULTICAST_ALL) is cleared so that it also receives only the groups
// it joined. The socket is made by hand because package net binds the
// wildcard address when asked to bind a multicast one (and
// net.ListenConfig.Control runs before that bind, too early to change it).
// ifi is the zone of a link-local group.
func listenGroup(group netip.AddrPort, ifi *net.Interface) (*net.UDPConn, error) {
	family := unix.AF_INET6
	if group.Addr().Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := prepare(fd, family, group, ifi); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "udpmcast "+group.String())
	defer f.Close() // FilePacketConn duplicates the descriptor
	c, err := net.FilePacketConn(f)
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

// sockopt is an integer socket option.
type sockopt struct {
	name       string
	level, opt int
	value      int
	optional   bool // an old kernel may not know it: ENOPROTOOPT is ignored
}

// prepare sets the socket options of fd and binds it to group.
func prepare(fd, family int, group netip.AddrPort, ifi *net.Interface) error {
	opts := []sockopt{
		{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, false},
		{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, false},
	}
	if family == unix.AF_INET {
		opts = append(opts, sockopt{"IP_MULTICAST_ALL", unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0, false})
	} else {
		opts = append(opts,
			sockopt{"IPV6_V6ONLY", unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1, false},
			sockopt{"IPV6_MULTICAST_ALL", unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0, true}) // Linux 4.20
	}
	for _, o := range opts {
		err := unix.SetsockoptInt(fd, o.level, o.opt, o.value)
		if err != nil && !(o.optional && errors.Is(err, unix.ENOPROTOOPT)) {
			return os.NewSyscallError("setsockopt "+o.name, err)
		}
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: int(group.Port()), Addr: group.Addr().As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Port: int(group.Port()), Addr: group.Addr().As16()}
		if group.Addr().IsLinkLocalMulticast() || group.Addr().IsInterfaceLocalMulticast() {
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	}
	return os.NewSyscallError("bind", unix.Bind(fd, sa))
}
