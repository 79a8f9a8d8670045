package core

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Via says how a frame reached a node.
type Via uint8

// The ways a frame arrives.
const (
	// ViaMulticast is a UDP multicast datagram (or an announcement).
	ViaMulticast Via = iota + 1
	// ViaTCP is a frame on a TCP connection: gossip with a distribution
	// list, an acknowledgement or a repair request.
	ViaTCP
	// ViaRepair is a multicast frame sent again by TCP in answer to a
	// repair request: dispatched, never relayed.
	ViaRepair
)

// String returns "mcast", "tcp" or "repair".
func (v Via) String() string {
	switch v {
	case ViaMulticast:
		return "mcast"
	case ViaTCP:
		return "tcp"
	case ViaRepair:
		return "repair"
	}
	return "via?"
}

// Sentinel errors of the ports.
var (
	// ErrUnreachable reports a unicast target that refused, failed or
	// could not be reached. The engine fails over to the next member of
	// the target's chunk.
	ErrUnreachable = errors.New("core: target unreachable")
	// ErrTooLarge reports a frame larger than a transport carries.
	ErrTooLarge = errors.New("core: frame too large for the transport")
)

// Packet is one frame a transport received.
type Packet struct {
	// Frame is the sealed frame. The receiver owns it: the transport does
	// not touch it after handing it over.
	Frame []byte
	// Via says which transport it came by (ViaMulticast or ViaTCP).
	Via Via
	// Remote is the address the frame came from, for logs only: a node's
	// identity is the sender its frame authenticates.
	Remote netip.AddrPort
}

// Unicast is the reliable, ordered point-to-point transport (TCP in
// production, memnet in tests). Implementations are safe for concurrent
// use.
type Unicast interface {
	// Send delivers frame to the node to, after the frames sent to it
	// before. It copies frame before it returns, so the caller may reuse
	// it. It blocks until the frame is handed to the connection or ctx
	// ends. A target that cannot be reached gives an error matching
	// ErrUnreachable; a frame over the transport's limit, ErrTooLarge;
	// a closed transport, net.ErrClosed.
	Send(ctx context.Context, to NetID, frame []byte) error
	// Receive blocks until a frame arrives, ctx ends, or the transport is
	// closed (then it returns an error matching net.ErrClosed). Frames
	// from one sender arrive in the order they were sent.
	Receive(ctx context.Context) (Packet, error)
	// Close stops the transport, unblocks Receive and Send, and waits for
	// the transport's goroutines. It is idempotent.
	Close() error
}

// Multicast is the unreliable one-to-many transport: one datagram reaches
// the nodes of the sender's multicast domain, or some of them, or none.
// Implementations are safe for concurrent use.
type Multicast interface {
	// Multicast sends frame as one datagram to the group. It copies frame
	// before it returns. A frame longer than MaxDatagram gives ErrTooLarge;
	// a closed transport, net.ErrClosed.
	Multicast(ctx context.Context, frame []byte) error
	// Receive blocks until a datagram from another node arrives, ctx ends,
	// or the transport is closed (net.ErrClosed). The node's own
	// datagrams are not returned.
	Receive(ctx context.Context) (Packet, error)
	// MaxDatagram returns the longest frame Multicast accepts.
	MaxDatagram() int
	// Close stops the transport and unblocks Receive. It is idempotent.
	Close() error
}

// Report is a first-hand report that a node receives our multicast: when it
// arrived, and how far the reported sequence lagged our own multicast
// sequence when it arrived.
type Report struct {
	At  time.Time
	Lag uint64
}

// Observation is what one received frame teaches a node about its peers.
type Observation struct {
	// From is the frame's authenticated sender, and Via how it came.
	From NetID
	Via  Via
	Now  time.Time
	// Seen is the sender's seen list (or the slice of it the frame
	// carried): From receives each listed node's multicast.
	Seen []SeenEntry
	// Others are NetIDs the sender passed on.
	Others []NetID
	// Groups is a received distribution list: a grouping hint.
	Groups []Group
	// SelfSeq is the receiver's own multicast sequence when the frame
	// arrived, so a seen entry about the receiver becomes a first-hand
	// report with its lag.
	SelfSeq MulticastSeq
}

// PeerStore is what a node knows of its peers, learned from traffic. The
// engine feeds it observations and asks it for peers, first-hand reports and
// grouping hints. Implementations are safe for concurrent use and bounded;
// no method blocks on I/O. Slices passed in are not kept; slices returned
// belong to the caller.
type PeerStore interface {
	// ObserveDestinations records nodes a broadcast was addressed to.
	ObserveDestinations(ids []NetID, now time.Time)
	// Observe records what one received frame teaches, and reports
	// whether it taught anything new: a node not known before, or a change
	// in what is believed to share a domain.
	Observe(o Observation) bool
	// Peers returns every node recorded and not expired, without the
	// local node. The engine reads the slice and never modifies it.
	Peers(now time.Time) []NetID
	// Report returns the latest first-hand report that id receives the
	// local node's multicast.
	Report(id NetID) (Report, bool)
	// Domain returns a key shared by the nodes believed to be in id's
	// multicast domain, and whether anything is known. It is a hint: it
	// decides how a plan is cut, never whether a node is skipped. Compare
	// keys for equality only: a key may name a node no longer known.
	Domain(id NetID) (NetID, bool)
	// SampleGroups returns up to max known multicast domains other than
	// the local one, each as a group of up to members of its nodes,
	// rotating from call to call: the grouping hints a node announces.
	SampleGroups(max, members int) []Group
	// Expire forgets what is older than the store's limits as of now.
	Expire(now time.Time)
}

// Rand is the engine's source of randomness; *math/rand/v2.Rand satisfies
// it. A seeded source gives a reproducible run.
type Rand interface {
	// IntN returns a number in [0, n); n > 0.
	IntN(n int) int
}

// Sizer tells the engine whether a message fits one datagram once sealed,
// so it knows whether a gossip reaches its domain by multicast and how much
// an announcement can carry.
type Sizer interface {
	MulticastFits(m *Message) bool
}
