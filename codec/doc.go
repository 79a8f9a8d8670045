// Package codec owns Chatter's frame: it encodes messages with their NetID
// table, compresses them with LZ4, seals them with the crypto package, and
// does the reverse on receipt. docs/wire-format.md defines every byte.
//
// # Sealing
//
// A node has one [Sealer], which numbers its frames with the node's frame
// counter:
//
//	s, err := codec.NewSealer(ring, self, epoch)
//	b := codec.Body{Kind: codec.KindGossip, Gossip: g}
//	b.Table = core.NewNetIDTable(b.AppendNetIDs(nil)...)
//	frame, err := s.AppendFrame(buf[:0], &b, now)
//
// [Sealer.MaxFrameLen] tells, before sealing, whether a body fits a datagram.
//
// # Opening
//
// A node has one [Opener], safe for concurrent use. It refuses a frame that
// is malformed, too large, too old, replayed, sealed under an unknown key or
// not authentic, counts it by [Reason], and returns an error matching one of
// this package's sentinels or the crypto package's:
//
//	var b codec.Body
//	h, err := o.Open(frame, now, &b)
//
// Open decrypts in place, and the Body is reused across calls: copy what
// must outlive the next Open.
//
// # Streams
//
// On a stream, frames are back to back; a [Reader] splits them, with partial
// reads and several frames per read, and checks each claimed length before
// reading it. [FrameLen] is the same check for callers with their own buffer.
//
// # Bad input
//
// Every decoder here is total: any byte sequence gives a frame or an error,
// never a panic, and nothing is allocated by a claimed length before the
// length is checked against the limits and against the bytes present.
package codec
