// Package tcp is Chatter's unicast transport over TCP: a [core.Unicast]
// that carries sealed frames between nodes, with one persistent connection
// per peer, coalesced writes, deadlines, reconnection with backoff, and
// caps on frame size and inbound connections. It moves frames; it never
// opens them.
//
//	tr, err := tcp.New(tcp.Config{
//		Self:     self,           // the NetID peers dial, e.g. 198.18.0.1:29999
//		FrameLen: codec.FrameLen, // how a stream splits into frames
//	})
//	...
//	err = tr.Send(ctx, peer, frame) // queued for peer's connection
//	pkt, err := tr.Receive(ctx)     // a frame from any inbound connection
//	tr.Close()
//
// # Framing
//
// Frames travel on the stream back to back, as they are: Chatter's frames
// carry their own length in their header. [Config.FrameLen] tells the
// transport where each ends; pass codec.FrameLen. (The dependency rule,
// "adapters import core, not each other", keeps this package from
// importing codec, so the facade wires the two.) The reader checks each
// frame's claimed length against [Config.MaxFrame] before it reads, or
// allocates for, the frame; its buffer never exceeds twice what actually
// arrived. A stream FrameLen refuses (garbage, a newer version, an oversize
// claim) cannot be resynchronised: its connection is closed and counted in
// [Stats.BadStreams]. Send checks with FrameLen that it is given exactly
// one frame ([ErrNotFrame] otherwise), so a local bug cannot put a stream
// out of step.
//
// # Sending
//
// The first Send to a NetID creates the peer: a bounded queue
// ([Config.QueueLen] frames) and a writer goroutine that dials the peer
// and keeps the connection. Send copies the frame into the queue and
// returns; it blocks only while the queue is full. The writer writes the
// frames waiting in the queue into a bufio.Writer and flushes when the
// queue is empty (or 256 KiB into a batch), so under load many frames go
// in one write; each batch has [Config.WriteTimeout] to complete. Frames to
// one peer are written in the order they were queued, on one connection at
// a time.
//
// A peer fails when its dial fails (refused, timed out, or the connection
// closed by the peer as soon as it is open, as a node at its MaxInbound
// cap does) or a write fails (an error, the write deadline). Its
// connection is closed, the frames queued for it are dropped
// ([Stats.Dropped]), and for the backoff that follows, every Send to it,
// including the Sends blocked on its full queue, returns an error matching
// [core.ErrUnreachable], so the engine can hand the peer's work to another
// node at once. The backoff starts at [Config.Backoff] and doubles with
// each failure in a row, up to [MaxBackoff]; a connection that takes
// writes for MaxBackoff resets it. After the backoff the next Send is
// queued and the writer dials again.
//
// A nil error from Send means the frame was queued, not delivered: a
// frame can be lost with a connection that breaks after it was written,
// as with any TCP sender that does not wait for answers.
//
// The writer also reads its connection, on which a peer never writes:
// when the peer closes it (a restart, its idle timeout) the writer drops
// the connection at once, and the next frame dials again, rather than
// writing into a dead connection. An outgoing connection with nothing sent
// for [Config.IdleTimeout] is closed, and the peer, if nothing is queued
// or being sent, forgotten along with its goroutine.
//
// # Receiving
//
// An accept loop takes inbound connections, up to [Config.MaxInbound] open
// at once; one beyond the cap is closed at once ([Stats.Rejected]). On an
// accept error it waits 5 ms, doubling to 1 s while errors go on. Each
// inbound connection has a reader goroutine, which hands each frame to
// Receive as a [core.Packet] it owns, with Via [core.ViaTCP] and the
// connection's remote address. Up to [Config.RecvQueue] frames wait for
// Receive; beyond that the readers stop reading, and TCP slows the senders
// down. A connection silent for IdleTimeout is closed.
//
// # Addresses
//
// [Config.Self] is the NetID the node advertises; [Config.Listen] the
// address it binds, by default Self. They differ behind NAT or in a
// container. With Listen "127.0.0.1:0" and no Self, the transport takes
// its NetID from the bound address ([Transport.Self]): how tests get a
// kernel-chosen port. [Config.Dial] and [Config.ListenFunc] replace the
// byte pipe, for tests that place sockets in a network namespace, or wrap
// connections.
//
// # Shutdown
//
// Close closes the listener and every connection, cancels the transport's
// context, and waits for every goroutine it started: the accept loop, the
// readers, the writers and their connection watchers. Blocked Sends and
// Receives return errors matching net.ErrClosed, as do later calls; frames
// still queued either way are dropped.
//
// The transport passes the conformance suite of package
// transport/transporttest.
package tcp
