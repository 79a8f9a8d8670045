package core

import "fmt"

// MessageKind says which message a frame holds and how it travels. The
// values are the frame kinds of the wire format.
type MessageKind uint8

// Frame kinds, as docs/wire-format.md numbers them.
const (
	// MsgGossip is gossip sent by TCP, with a distribution list.
	MsgGossip MessageKind = 1
	// MsgMulticastGossip is gossip multicast by UDP: a multicast sequence,
	// no distribution list.
	MsgMulticastGossip MessageKind = 2
	// MsgAck acknowledges gossip received by TCP.
	MsgAck MessageKind = 3
	// MsgAnnouncement is a node's periodic multicast of its last multicast
	// sequence and a slice of its seen list.
	MsgAnnouncement MessageKind = 4
	// MsgRepairRequest asks a node, by TCP, for multicast frames again.
	MsgRepairRequest MessageKind = 5
	// MsgRepaired is a multicast gossip sent again by TCP, in answer to a
	// repair request: dispatched, never relayed.
	MsgRepaired MessageKind = 6
)

var kindNames = [...]string{
	MsgGossip:          "gossip",
	MsgMulticastGossip: "multicast-gossip",
	MsgAck:             "ack",
	MsgAnnouncement:    "announcement",
	MsgRepairRequest:   "repair-request",
	MsgRepaired:        "repaired",
}

// String returns the kind's name as the wire format document spells it.
func (k MessageKind) String() string {
	if k.IsValid() {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IsValid reports whether k is a kind of this version of the format.
func (k MessageKind) IsValid() bool { return k >= MsgGossip && k <= MsgRepaired }

// IsGossip reports whether the body of a frame of kind k is a Gossip.
func (k MessageKind) IsGossip() bool {
	return k == MsgGossip || k == MsgMulticastGossip || k == MsgRepaired
}

// Message is one protocol message with its kind: the value the engine asks
// to send and the codec seals. Only the field that Kind selects is
// meaningful.
type Message struct {
	Kind         MessageKind
	Gossip       Gossip        // MsgGossip, MsgMulticastGossip, MsgRepaired
	Ack          Ack           // MsgAck
	Announcement Announcement  // MsgAnnouncement
	Repair       RepairRequest // MsgRepairRequest
}
