package codec

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pierrec/lz4/v4"

	"github.com/chatter-go/chatter/crypto"
)

// OpenerConfig sets the limits of an Opener. The zero value takes every
// default.
type OpenerConfig struct {
	// MaxFrameSize bounds a frame and its decompressed body. Default
	// DefaultMaxFrameSize.
	MaxFrameSize int
	// Crypto sets the replay, age and rate limits; see crypto.OpenerConfig.
	Crypto crypto.OpenerConfig
}

// Opener opens the frames a node receives: it checks the header, the age
// and replay rules and the tag, decompresses and decodes the body, and
// counts every frame it refuses by reason. It is safe for concurrent use.
type Opener struct {
	keys     *crypto.Opener
	maxFrame int
	drops    [numReasons]atomic.Uint64
	opened   atomic.Uint64
}

// NewOpener returns an opener that accepts frames sealed under ring's keys.
func NewOpener(ring *crypto.Keyring, cfg OpenerConfig) *Opener {
	if cfg.MaxFrameSize <= 0 {
		cfg.MaxFrameSize = DefaultMaxFrameSize
	}
	return &Opener{keys: crypto.NewOpener(ring, cfg.Crypto), maxFrame: cfg.MaxFrameSize}
}

// Open authenticates and decodes frame, which must be exactly one frame,
// into b, and returns its header. now is the receiver's clock, for the age
// rules. Open decrypts in place: it overwrites frame, and b's payload and
// table alias frame and b's own buffers until b is reused. An error matches
// one of this package's or the crypto package's sentinels, and the frame is
// counted under that reason.
func (o *Opener) Open(frame []byte, now time.Time, b *Body) (h Header, err error) {
	// The header is read into info, which the crypto layer takes, and
	// copied to h once the frame is opened or refused: copying it between
	// reading and opening would load what was just stored.
	var info crypto.FrameInfo
	err = o.open(frame, now, b, &h.Kind, &info)
	h.KeyID, h.Sender, h.Epoch, h.Counter, h.Time = info.KeyID, info.Sender, info.Epoch, info.Counter, info.Time
	if err != nil {
		o.drops[reasonOf(err)].Add(1)
		return h, err
	}
	o.opened.Add(1)
	return h, nil
}

// open is Open, filling *kind and *info with as much of the header as was
// read.
func (o *Opener) open(frame []byte, now time.Time, b *Body, kind *Kind, info *crypto.FrameInfo) error {
	if len(frame) > o.maxFrame {
		return fmt.Errorf("%w: frame of %d bytes, limit %d", ErrFrameTooLarge, len(frame), o.maxFrame)
	}
	r := newReader(frame)
	sealedLen := readHeader(&r, o.maxFrame, kind, info)
	adEnd := r.off
	sealed := r.bytes("sealed", sealedLen)
	if err := r.done("frame"); err != nil {
		return err
	}
	pt, err := o.keys.Open(sealed[:0], info, frame[:adEnd], sealed, now)
	if err != nil {
		return err
	}
	body, err := o.plaintext(pt, b)
	if err != nil {
		return err
	}
	if err := decodeBody(*kind, body, b); err != nil {
		return fmt.Errorf("%w (in %s from %s)", err, *kind, info.Sender)
	}
	return nil
}

// plaintext checks the plaintext's flags and lengths and returns the body,
// decompressed into b's buffer when it was compressed.
func (o *Opener) plaintext(pt []byte, b *Body) ([]byte, error) {
	// The flags and a raw length of one or two bytes, the common case,
	// are read without a reader; anything else goes through one.
	var (
		flags byte
		raw   uint64
		data  []byte
	)
	if len(pt) >= 3 && pt[1] < 0x80 {
		flags, raw, data = pt[0], uint64(pt[1]), pt[2:]
	} else if len(pt) >= 3 && pt[2] < 0x80 && pt[2] != 0 {
		flags, raw, data = pt[0], uint64(pt[1]&0x7f)|uint64(pt[2])<<7, pt[3:]
	} else {
		r := newReader(pt)
		flags = r.byte1("flags")
		raw = r.uvarint("raw length")
		if r.err != nil {
			return nil, r.err
		}
		data = r.rest()
	}
	if flags&^flagLZ4 != 0 {
		return nil, fmt.Errorf("%w: reserved flags %#02x", ErrMalformed, flags)
	}
	if raw > uint64(o.maxFrame) {
		return nil, fmt.Errorf("%w: raw length %d, limit %d", ErrFrameTooLarge, raw, o.maxFrame)
	}
	if flags&flagLZ4 == 0 {
		if uint64(len(data)) != raw {
			return nil, fmt.Errorf("%w: %d stored bytes, raw length %d", ErrRawLength, len(data), raw)
		}
		return data, nil
	}
	// An encoder never compresses an empty body, and an LZ4 sequence
	// expands at most 255 times: claims outside that are refused before a
	// buffer is sized by them.
	if raw == 0 {
		return nil, fmt.Errorf("%w: compressed empty body", ErrRawLength)
	}
	if raw > 255*uint64(len(data))+16 {
		return nil, fmt.Errorf("%w: raw length %d from a %d-byte block", ErrRawLength, raw, len(data))
	}
	if uint64(cap(b.raw)) < raw {
		b.raw = make([]byte, raw)
	}
	out := b.raw[:raw]
	n, err := uncompress(data, out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCompression, err)
	}
	if uint64(n) != raw {
		return nil, fmt.Errorf("%w: block holds %d bytes, raw length %d", ErrRawLength, n, raw)
	}
	return out, nil
}

// Reason is why a frame was refused, for counting.
type Reason uint8

// Reasons, one per sentinel error.
const (
	ReasonOther Reason = iota
	ReasonTruncated
	ReasonMalformed
	ReasonBadMagic
	ReasonVersion
	ReasonTooLarge
	ReasonCompression
	ReasonRawLength
	ReasonTableRef
	ReasonListTooLong
	ReasonTableOrder
	ReasonUnknownKey
	ReasonAuth
	ReasonReplay
	ReasonOldEpoch
	ReasonStale
	ReasonFuture
	ReasonRateLimited
	numReasons
)

var reasons = [numReasons]struct {
	name string
	err  error
}{
	ReasonOther:       {"other", nil},
	ReasonTruncated:   {"truncated", ErrTruncated},
	ReasonMalformed:   {"malformed", ErrMalformed},
	ReasonBadMagic:    {"bad_magic", ErrBadMagic},
	ReasonVersion:     {"version", ErrVersion},
	ReasonTooLarge:    {"too_large", ErrFrameTooLarge},
	ReasonCompression: {"compression", ErrCompression},
	ReasonRawLength:   {"raw_length", ErrRawLength},
	ReasonTableRef:    {"table_ref", ErrTableRef},
	ReasonListTooLong: {"list_too_long", ErrListTooLong},
	ReasonTableOrder:  {"table_order", ErrTableOrder},
	ReasonUnknownKey:  {"unknown_key", crypto.ErrUnknownKey},
	ReasonAuth:        {"auth", crypto.ErrAuth},
	ReasonReplay:      {"replay", crypto.ErrReplay},
	ReasonOldEpoch:    {"old_epoch", crypto.ErrOldEpoch},
	ReasonStale:       {"stale", crypto.ErrStale},
	ReasonFuture:      {"future", crypto.ErrFuture},
	ReasonRateLimited: {"rate_limited", crypto.ErrRateLimited},
}

// String returns the reason's name, as Stats and metrics spell it.
func (r Reason) String() string {
	if r < numReasons {
		return reasons[r].name
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// ReasonOf returns the reason an error from Open or a Reader stands for.
func ReasonOf(err error) Reason { return reasonOf(err) }

func reasonOf(err error) Reason {
	for r := Reason(1); r < numReasons; r++ {
		if errors.Is(err, reasons[r].err) {
			return r
		}
	}
	return ReasonOther
}

// OpenerStats is a snapshot of an Opener's counters.
type OpenerStats struct {
	// Opened counts the frames opened and decoded.
	Opened uint64
	// Dropped counts refused frames by reason; reasons never seen are
	// absent.
	Dropped map[Reason]uint64
}

// Stats returns a snapshot of the opener's counters.
func (o *Opener) Stats() OpenerStats {
	s := OpenerStats{Opened: o.opened.Load(), Dropped: make(map[Reason]uint64)}
	for r := range numReasons {
		if n := o.drops[r].Load(); n != 0 {
			s.Dropped[r] = n
		}
	}
	return s
}

// uncompress is lz4.UncompressBlock made total: the decoder is well tested,
// but a panic on hostile input must not cross into the receive path.
func uncompress(src, dst []byte) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("LZ4 decoder panicked: %v", p)
		}
	}()
	return lz4.UncompressBlock(src, dst)
}
