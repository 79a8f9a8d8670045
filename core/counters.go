package core

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"time"
)

// Epoch identifies one run of a node: the time it started, in microseconds
// since the Unix epoch, and 64 random bits drawn at start. A restarted node has
// a new epoch, so its per-sender key and nonce sequence never repeat, even
// when it restarts within a microsecond or after its clock stepped back.
type Epoch struct {
	StartMicros uint64 // start time, microseconds since 1970-01-01 UTC
	Random      uint64 // drawn from a cryptographic source at start
}

// NewEpoch returns the epoch of a node started at start with the given
// random bits.
func NewEpoch(start time.Time, random uint64) Epoch {
	return Epoch{StartMicros: uint64(start.UnixMicro()), Random: random}
}

// IsZero reports whether e is the zero Epoch, which no node uses.
func (e Epoch) IsZero() bool { return e == Epoch{} }

// Start returns the start time e records.
func (e Epoch) Start() time.Time { return time.UnixMicro(int64(e.StartMicros)) }

// Compare orders epochs by start time, then by the random bits. A receiver
// accepts frames of the newest epoch it has authenticated for a sender.
func (e Epoch) Compare(other Epoch) int {
	if c := cmp.Compare(e.StartMicros, other.StartMicros); c != 0 {
		return c
	}
	return cmp.Compare(e.Random, other.Random)
}

// String formats e as "start-micros/random-hex".
func (e Epoch) String() string { return fmt.Sprintf("%d/%016x", e.StartMicros, e.Random) }

// FrameCounter numbers every frame a node seals in one epoch, from 1. It is
// the AEAD nonce and the position in the receiver's replay window.
type FrameCounter uint64

// MulticastSeq numbers every frame a node multicasts in one epoch, from 1,
// without gaps, so receivers can detect losses and ask for repair.
type MulticastSeq uint64

// MessageNumber numbers the messages a node originates. It starts from the
// node's start time in microseconds, so it keeps growing across restarts.
type MessageNumber uint64

// BroadcastID is a message's identity across hops: the origin's NetID and
// the message number the origin gave it.
type BroadcastID struct {
	Origin NetID
	Number MessageNumber
}

// IsValid reports whether b has a valid origin.
func (b BroadcastID) IsValid() bool { return b.Origin.IsValid() }

// String formats b as "origin#number".
func (b BroadcastID) String() string { return fmt.Sprintf("%s#%d", b.Origin, b.Number) }

// EpochLen is the length of an Epoch's binary form.
const EpochLen = 16

// AppendBinary appends e's binary form to dst: the start microseconds, then
// the random bits, each as a big-endian uint64. It implements
// [encoding.BinaryAppender] and never fails.
func (e Epoch) AppendBinary(dst []byte) ([]byte, error) {
	dst = binary.BigEndian.AppendUint64(dst, e.StartMicros)
	return binary.BigEndian.AppendUint64(dst, e.Random), nil
}
