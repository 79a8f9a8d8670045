package memnet

import (
	"strconv"
	"strings"
	"time"

	"github.com/chatter-go/chatter/core"
)

// TraceKind says what a [TraceEvent] records.
type TraceKind uint8

// The kinds of trace events.
const (
	// TraceSend: a unicast frame left its sender.
	TraceSend TraceKind = iota + 1
	// TraceMulticast: a multicast datagram left its sender (To is zero,
	// Subnet names the domain).
	TraceMulticast
	// TraceDeliver: a frame was handed to its receiver's handler.
	TraceDeliver
	// TraceLost: a frame was lost to the configured loss rate (for a
	// multicast, one event per receiver that lost it).
	TraceLost
	// TraceDrop: the network did not deliver a frame; Reason says why.
	TraceDrop
	// TraceTimer: a timer set with Network.After fired.
	TraceTimer
)

// String returns the kind's name as traces print it.
func (k TraceKind) String() string {
	switch k {
	case TraceSend:
		return "send"
	case TraceMulticast:
		return "send" // the transport, printed next, tells it from TraceSend
	case TraceDeliver:
		return "deliver"
	case TraceLost:
		return "lost"
	case TraceDrop:
		return "drop"
	case TraceTimer:
		return "timer"
	}
	return "kind?"
}

// TraceEvent is one thing that happened on a deterministic [Network]: a send,
// a delivery, a loss, a drop or a timer. Its String form is stable, for
// golden traces.
type TraceEvent struct {
	// At is the virtual time of the event, and Elapsed the same as a
	// duration since Config.Start.
	At      time.Time
	Elapsed time.Duration
	Kind    TraceKind
	// Via is core.ViaTCP for unicast and core.ViaMulticast for multicast
	// (zero for a timer).
	Via core.Via
	// From is the sender and To the receiver (zero for a multicast send and
	// a timer).
	From, To core.NetID
	// Subnet is the sender's subnet, for a multicast send (or a dropped
	// one).
	Subnet string
	// Len is the frame's length in bytes.
	Len int
	// Reason says why a frame was lost or dropped.
	Reason Reason
	// Meta is the value passed with the send; String does not print it.
	Meta any
}

// String returns the event on one line, for example
//
//	+10ms deliver tcp 10.0.0.1:7000>10.0.0.2:7000 len=5
//	+0s send mcast 10.0.0.1:7000>subnet:a len=5
//	+0s drop tcp 10.0.0.1:7000>10.0.0.9:7000 len=5 unknown-target
func (e TraceEvent) String() string {
	var b strings.Builder
	b.WriteByte('+')
	b.WriteString(e.Elapsed.String())
	b.WriteByte(' ')
	b.WriteString(e.Kind.String())
	if e.Kind == TraceTimer {
		return b.String()
	}
	b.WriteByte(' ')
	b.WriteString(e.Via.String())
	b.WriteByte(' ')
	b.WriteString(e.From.String())
	b.WriteByte('>')
	if e.To.IsValid() {
		b.WriteString(e.To.String())
	} else {
		b.WriteString("subnet:")
		b.WriteString(e.Subnet)
	}
	b.WriteString(" len=")
	b.WriteString(strconv.Itoa(e.Len))
	if e.Kind == TraceDrop {
		b.WriteByte(' ')
		b.WriteString(e.Reason.String())
	}
	return b.String()
}
