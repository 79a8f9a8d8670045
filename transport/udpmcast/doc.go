// Package udpmcast is Chatter's UDP multicast transport: a [core.Multicast]
// that sends each frame as one datagram to a multicast group, from one named
// interface, and receives the group's datagrams on that interface. It is
// built on golang.org/x/net/ipv4 and ipv6; the group's address chooses the
// family.
//
//	lo, err := net.InterfaceByName("lo")
//	...
//	t, err := udpmcast.New(udpmcast.Config{
//		Group:     netip.MustParseAddrPort("239.255.0.1:29999"),
//		Interface: lo,
//		Source:    netip.MustParseAddr("127.0.0.1"),
//		TTL:       udpmcast.HostOnlyTTL,
//		Loopback:  true,
//	})
//	...
//	defer t.Close()
//	err = t.Multicast(ctx, frame)
//	p, err := t.Receive(ctx) // p.Frame is yours; p.Via is core.ViaMulticast
//
// # The interface
//
// Config.Interface is required: the transport joins the group on it and
// sends from it, and never lets the system choose (x/net calls a nil
// interface "not recommended"; a host with several interfaces would pick
// one by its routing table). The interface must have the MULTICAST flag;
// Linux's lo may lack it (`ip link set lo multicast on` adds it).
//
// # Sockets, and one group per socket
//
// A transport has two sockets. The listening socket is bound to the group's
// port with SO_REUSEADDR and SO_REUSEPORT, so that several transports, in
// one process or several, can share a host and a port. On Linux a socket
// bound to the wildcard address receives the datagrams of every group that
// any socket of the host joined on its port; so the listening socket is
// bound to the group address itself and has IP_MULTICAST_ALL cleared, and
// two groups on one port, as `chatter demo` uses to emulate subnets, do not
// hear each other. Every datagram also carries its destination and interface
// (FlagDst, FlagInterface), and one not addressed to the group, or that
// arrived on another interface, is dropped and counted (Stats.Foreign).
//
// The sending socket is bound to Source and an ephemeral port, with the
// multicast interface, TTL and loopback set on it. Its address
// ([Transport.LocalAddr]) is how a transport knows its own datagrams when the
// host loops them back: they are dropped and counted (Stats.Own), so Receive
// returns other nodes' datagrams only, even when several nodes share a
// Source address.
//
// # Reads and writes
//
// One goroutine reads the listening socket, in batches of up to 16
// datagrams on Linux (recvmmsg) and one at a time elsewhere, copies each
// datagram into a slice of its own and queues it for Receive. When
// Config.RecvQueue datagrams wait, newer ones are dropped and counted
// (Stats.Dropped), as a full socket buffer would drop them. Each Multicast
// call is one send: a broadcast makes one datagram or two, too few for
// batched writes to pay.
//
// # Limits
//
// MaxDatagram (default [DefaultMaxDatagram], as codec.DefaultMaxDatagram)
// bounds what Multicast sends (a longer frame gives core.ErrTooLarge) and
// what Receive returns (a longer datagram is dropped and counted,
// Stats.TooLarge): the nodes of a group must agree on it. TTL (default
// [DefaultTTL]) bounds how far datagrams travel; [HostOnlyTTL] keeps them on
// the host.
//
// # Close
//
// Close closes both sockets, which leaves the group, and waits for the
// reading goroutine. Receive and Multicast then return an error matching
// net.ErrClosed.
//
// BUG(chatter): Outside Linux the listening socket is bound to the wildcard
// address, so the kernel may hand it other groups' datagrams on its port;
// they are dropped by their destination address, but they cost a read.
//
// BUG(chatter): On Windows, x/net does not implement control messages, so
// New fails: the transport cannot tell its group's datagrams from others.
//
// BUG(chatter): Linux's lo does not loop IPv6 multicast back: an IPv6 group
// needs another interface (the tests use a veth pair in a network namespace
// of their own).
package udpmcast
