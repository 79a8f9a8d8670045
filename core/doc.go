// Package core holds Chatter's protocol values and, as the work proceeds,
// its pure protocol engine: the types every other package speaks, with no
// I/O, no goroutines, no clock and no global random source.
//
// # Identity and counters
//
// A node is named by a [NetID], the IP address and port of its TCP
// listener. Four counters each have one job:
//
//   - the [Epoch] of a node's run (start microseconds plus 64 random bits)
//     makes every restart a new sender: a new key, a new nonce sequence;
//   - the [FrameCounter] numbers every frame of an epoch: the AEAD nonce and
//     the replay window's position;
//   - the [MulticastSeq] numbers the multicast frames of an epoch without
//     gaps, so receivers detect losses and ask for repair;
//   - the [MessageNumber] numbers the messages a node originates, from its
//     start time, so it grows across restarts. With the origin's NetID it
//     forms the [BroadcastID], a message's identity across hops.
//
// # Messages
//
// A [Gossip] carries a broadcast from hop to hop: the origin's BroadcastID,
// a slice of the sender's seen list, a sample of others, the distribution
// list as [Group]s of an entry node and the members believed to receive its
// multicast, the payload's [TypeTag] and the payload. [Ack],
// [Announcement] and [RepairRequest] are the protocol's other messages.
// Every NetID a frame names is written once, in its [NetIDTable]; lists and
// payloads refer to entries by index.
//
// docs/wire-format.md defines how each of these is written on the wire.
package core
