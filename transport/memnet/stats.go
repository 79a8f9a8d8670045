package memnet

import (
	"fmt"

	"github.com/chatter-go/chatter/core"
)

// Stats is a snapshot of a network's counters.
type Stats struct {
	// Unicast counts frames sent with Send (delivered with core.ViaTCP).
	Unicast ViaStats
	// Multicast counts datagrams sent with Multicast: a datagram is one
	// packet when sent, and one delivery, loss or drop per receiver.
	Multicast ViaStats
	// Timers counts the timers that fired (deterministic mode only).
	Timers uint64
}

// Via returns the counters of one transport: Unicast for core.ViaTCP,
// Multicast for core.ViaMulticast, and zero for anything else.
func (s Stats) Via(v core.Via) ViaStats {
	switch v {
	case core.ViaTCP:
		return s.Unicast
	case core.ViaMulticast:
		return s.Multicast
	}
	return ViaStats{}
}

// ViaStats counts the traffic of one transport.
type ViaStats struct {
	// Packets and Bytes count what up hosts transmitted, whatever became of
	// it. A multicast datagram counts once.
	Packets, Bytes uint64
	// Delivered counts frames handed to a receiver (a handler in
	// deterministic mode, a Receive call in concurrent mode).
	Delivered uint64
	// Lost counts frames lost to Config.McastLoss or Config.UnicastLoss,
	// per receiver for a multicast.
	Lost uint64
	// Dropped counts frames the network did not deliver for any other
	// reason: a crashed sender (not counted in Packets), an unknown,
	// crashed or closed target, a partition, or a full receive queue.
	Dropped uint64
}

// String returns the counters on one line.
func (v ViaStats) String() string {
	return fmt.Sprintf("packets=%d bytes=%d delivered=%d lost=%d dropped=%d",
		v.Packets, v.Bytes, v.Delivered, v.Lost, v.Dropped)
}

// HostStats counts one host's traffic, both transports together.
type HostStats struct {
	// Sent and SentBytes count the frames the host transmitted (a
	// multicast once).
	Sent, SentBytes uint64
	// Received and ReceivedBytes count the frames delivered to it.
	Received, ReceivedBytes uint64
}

// Reason says why the network did not deliver a frame.
type Reason uint8

// Reasons for a loss or a drop.
const (
	// ReasonNone: the frame was not dropped.
	ReasonNone Reason = iota
	// ReasonLoss: lost to the configured loss rate.
	ReasonLoss
	// ReasonSenderDown: the sender had crashed.
	ReasonSenderDown
	// ReasonUnknown: no host has the target NetID.
	ReasonUnknown
	// ReasonTargetDown: the target had crashed when the frame arrived, or
	// crashed (and perhaps restarted) while it was in flight.
	ReasonTargetDown
	// ReasonPartition: the sender's and the target's subnets are
	// partitioned.
	ReasonPartition
	// ReasonQueueFull: the receiver's multicast queue was full
	// (concurrent mode).
	ReasonQueueFull
	// ReasonClosed: the target was closed, or closed with the frame
	// queued (concurrent mode).
	ReasonClosed
)

// String returns the reason's name as traces print it.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonLoss:
		return "loss"
	case ReasonSenderDown:
		return "sender-down"
	case ReasonUnknown:
		return "unknown-target"
	case ReasonTargetDown:
		return "target-down"
	case ReasonPartition:
		return "partition"
	case ReasonQueueFull:
		return "queue-full"
	case ReasonClosed:
		return "closed"
	}
	return "reason?"
}
