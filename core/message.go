package core

// SeenEntry is one line of a node's seen list: it has received Node's
// multicast frames up to sequence Seq in Node's current epoch.
type SeenEntry struct {
	Node NetID
	Seq  MulticastSeq
}

// Group is one element of a distribution list: an entry node, which the
// sender reaches by TCP, and the members believed to receive the entry's
// multicast. Members does not contain Entry. Members are a hint: a receiver
// that knows better plans with its own knowledge.
type Group struct {
	Entry   NetID
	Members []NetID
}

// Gossip is the message a broadcast carries from hop to hop. The sender is not
// part of it: the frame header names the sender, authenticated.
type Gossip struct {
	// ID is the origin's BroadcastID: the message's identity across hops.
	ID BroadcastID
	// MulticastSeq is the sender's multicast sequence when the gossip is
	// multicast (or repaired); it is zero for gossip sent by TCP.
	MulticastSeq MulticastSeq
	// Seen is a bounded slice of the sender's seen list.
	Seen []SeenEntry
	// Others is a sample of at most MaxOthers NetIDs from distinct groups,
	// spreading knowledge of remote areas.
	Others []NetID
	// Distribution is the list of groups the receiver must pass the
	// message on to. It is empty for multicast and repaired gossip.
	Distribution []Group
	// Tag is the payload's type tag.
	Tag TypeTag
	// PayloadIDs is the payload table: the NetIDs the payload refers to,
	// which it names by their index in this table. Keeping them apart
	// from the frame's table lets a relay forward a payload it cannot
	// decode byte for byte.
	PayloadIDs NetIDTable
	// Payload is the encoded user message.
	Payload []byte
}

// MaxOthers bounds Gossip.Others.
const MaxOthers = 4

// AppendNetIDs appends every NetID that g names (origin, seen list, others
// and distribution list) to dst and returns the extended slice. A frame's
// NetID table holds at least these.
func (g *Gossip) AppendNetIDs(dst []NetID) []NetID {
	dst = append(dst, g.ID.Origin)
	for _, s := range g.Seen {
		dst = append(dst, s.Node)
	}
	dst = append(dst, g.Others...)
	for _, grp := range g.Distribution {
		dst = append(dst, grp.Entry)
		dst = append(dst, grp.Members...)
	}
	return append(dst, g.PayloadIDs.ids...)
}

// Ack acknowledges, to the node that sent them by TCP, the gossip messages
// with these BroadcastIDs. Acknowledgements are coalesced: one Ack may cover
// several messages. It carries a slice of the acknowledging node's seen
// list, so a sender learns the multicast domain of each node it reaches
// after one broadcast.
type Ack struct {
	IDs  []BroadcastID
	Seen []SeenEntry
}

// AppendNetIDs appends the origins and seen nodes that a names to dst.
func (a *Ack) AppendNetIDs(dst []NetID) []NetID {
	for _, id := range a.IDs {
		dst = append(dst, id.Origin)
	}
	for _, s := range a.Seen {
		dst = append(dst, s.Node)
	}
	return dst
}

// Announcement is multicast by each node at a low rate: its last multicast
// sequence, so receivers detect tail losses; a slice of its seen list, so
// first-hand reports stay fresh without data traffic; and a few grouping
// hints (remote multicast domains as the sender knows them, rotating), so
// the nodes of a domain learn the others' grouping without broadcasting.
type Announcement struct {
	LastSeq MulticastSeq
	Seen    []SeenEntry
	Groups  []Group
}

// AppendNetIDs appends the nodes of a's seen list and hints to dst.
func (a *Announcement) AppendNetIDs(dst []NetID) []NetID {
	for _, s := range a.Seen {
		dst = append(dst, s.Node)
	}
	for _, g := range a.Groups {
		dst = append(dst, g.Entry)
		dst = append(dst, g.Members...)
	}
	return dst
}

// SeqRange is the inclusive range of multicast sequences First..Last.
type SeqRange struct {
	First, Last MulticastSeq
}

// Len returns the number of sequences in r, or 0 when Last < First.
func (r SeqRange) Len() uint64 {
	if r.Last < r.First {
		return 0
	}
	return uint64(r.Last-r.First) + 1
}

// RepairRequest asks a node, over TCP, for the multicast frames of its epoch
// Epoch in the given ranges. The node answers with repaired frames on the
// same connection, for the sequences it still holds.
type RepairRequest struct {
	Epoch  Epoch
	Ranges []SeqRange
}
