package codec

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pierrec/lz4/v4"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

// Version is the version of the wire format this package speaks.
const Version = 1

// Magic is the first two bytes of every frame.
var magic = [2]byte{'C', 'H'}

// Size limits.
const (
	// DefaultMaxFrameSize is the default limit on a frame's length, and on
	// its decompressed body, when it travels by TCP.
	DefaultMaxFrameSize = 1 << 20
	// DefaultMaxDatagram is the default limit on a frame multicast in one
	// UDP datagram: a 1500-byte MTU less 40 bytes of IPv6 header and 8 of
	// UDP header. A larger frame goes by TCP only.
	DefaultMaxDatagram = 1500 - 40 - 8
	// TagSize is the length of the AES-GCM tag that ends every frame.
	TagSize = 16
	// MaxHeaderLen is the longest header: an IPv6 sender and three
	// ten-byte varints.
	MaxHeaderLen = 2 + 1 + 1 + 1 + 19 + core.EpochLen + 3*10
)

// flags of the plaintext's first byte.
const flagLZ4 = 1 << 0

// Header is the clear part of a frame: who sealed it, when, under which key,
// and which counter. The whole header is authenticated as associated data.
type Header struct {
	Kind    Kind
	KeyID   crypto.KeyID
	Sender  core.NetID
	Epoch   core.Epoch
	Counter core.FrameCounter
	// Time is when the frame was sealed, to the microsecond. On the wire
	// it is an offset from the epoch's start.
	Time time.Time
}

// timestampOffset returns t as microseconds after e's start; a time before
// the start (a clock stepped back) is written as the start.
func timestampOffset(e core.Epoch, t time.Time) uint64 {
	us := t.UnixMicro()
	if us < 0 || uint64(us) < e.StartMicros {
		return 0
	}
	return uint64(us) - e.StartMicros
}

// headerLen returns the exact length of h's encoding with the given sealed
// length, as AppendFrame writes it.
func headerLen(h *Header, sealedLen int) int {
	return 5 + h.Sender.BinaryLen() + core.EpochLen +
		uvarintLen(uint64(h.Counter)) + uvarintLen(timestampOffset(h.Epoch, h.Time)) +
		uvarintLen(uint64(sealedLen))
}

// readHeader reads a header, its kind into *kind and the rest into *f, both
// zero, and returns the sealed length it announces, checked against max
// (the frame's total length limit). Each field is checked as soon as its
// bytes are there, so a header cut short fails with ErrTruncated only when
// the bytes present are well formed. On error, *kind and *f hold the fields
// read before it.
func readHeader(r *reader, max int, kind *Kind, f *crypto.FrameInfo) int {
	if r.err != nil {
		return 0
	}
	// The fixed fields, read from b without a call per field.
	b := r.b[r.off:]
	switch {
	case len(b) < 2:
		r.failf(ErrTruncated, "magic")
		return 0
	case b[0] != magic[0] || b[1] != magic[1]:
		r.failf(ErrBadMagic, "% x", b[:2])
		return 0
	case len(b) < 3:
		r.failf(ErrTruncated, "version")
		return 0
	case b[2] != Version:
		r.failf(ErrVersion, "version %d, this node speaks %d", b[2], Version)
		return 0
	case len(b) < 4:
		r.failf(ErrTruncated, "kind")
		return 0
	case !Kind(b[3]).IsValid():
		r.failf(ErrMalformed, "unknown frame %s", Kind(b[3]))
		return 0
	case len(b) < 6:
		r.failf(ErrTruncated, "key id and sender family")
		return 0
	}
	*kind, f.KeyID = Kind(b[3]), crypto.KeyID(b[4])
	var err error
	switch b[5] {
	case core.FamilyIPv4:
		const fixed = 6 + 4 + 2 + core.EpochLen
		if len(b) < fixed {
			r.failf(ErrTruncated, "sender and epoch need %d bytes, %d remain", fixed-6, len(b)-6)
			return 0
		}
		b = b[:fixed] // one bounds check for the fields below
		if f.Sender, err = senderFrom4([4]byte(b[6:10]), binary.BigEndian.Uint16(b[10:12])); err != nil {
			r.failf(ErrMalformed, "sender: %v", err)
			return 0
		}
	case core.FamilyIPv6:
		const fixed = 6 + 16 + 2 + core.EpochLen
		if len(b) < fixed {
			r.failf(ErrTruncated, "sender and epoch need %d bytes, %d remain", fixed-6, len(b)-6)
			return 0
		}
		b = b[:fixed]
		if f.Sender, err = senderFrom16([16]byte(b[6:22]), binary.BigEndian.Uint16(b[22:24])); err != nil {
			r.failf(ErrMalformed, "sender: %v", err)
			return 0
		}
	default:
		r.failf(ErrMalformed, "sender family %d", b[5])
		return 0
	}
	epoch := b[len(b)-core.EpochLen:]
	f.Epoch.StartMicros = binary.BigEndian.Uint64(epoch[:8])
	f.Epoch.Random = binary.BigEndian.Uint64(epoch[8:16])
	r.off += len(b)

	// The counter, timestamp and sealed length, read from the bytes when
	// they are well formed, else by the reader, which reports how not.
	p := r.b[r.off:]
	counter, n1 := uvarintAt(p)
	offset, n2 := uvarintAt(p[n1:])
	sealed, n3 := uvarintAt(p[n1+n2:])
	if n1 > 0 && n2 > 0 && n3 > 0 {
		f.Counter = core.FrameCounter(counter)
		r.off += n1 + n2 + n3
	} else {
		f.Counter = core.FrameCounter(r.uvarint("counter"))
		offset = r.uvarint("timestamp")
		sealed = r.uvarint("sealed length")
		if r.err != nil {
			return 0
		}
	}
	if f.Counter == 0 {
		r.failf(ErrMalformed, "counter 0")
		return 0
	}
	if offset > 1<<62-f.Epoch.StartMicros || f.Epoch.StartMicros > 1<<62 {
		r.failf(ErrMalformed, "timestamp %d+%d out of range", f.Epoch.StartMicros, offset)
		return 0
	}
	f.Time = time.UnixMicro(int64(f.Epoch.StartMicros + offset))
	if sealed < TagSize {
		r.failf(ErrMalformed, "sealed length %d shorter than the tag", sealed)
		return 0
	}
	if sealed > uint64(max) || r.off+int(sealed) > max {
		r.failf(ErrFrameTooLarge, "frame of %d bytes, limit %d", uint64(r.off)+sealed, max)
		return 0
	}
	return int(sealed)
}

// senderFrom4 returns the sender NetID of a header's IPv4 address and port.
func senderFrom4(addr [4]byte, port uint16) (core.NetID, error) {
	if id := core.NetIDFrom4(addr, port); id.IsValid() {
		return id, nil
	}
	return core.NetID{}, fmt.Errorf("%w: %s port %d", core.ErrInvalidNetID, netip.AddrFrom4(addr), port)
}

// senderFrom16 returns the sender NetID of a header's IPv6 address and
// port.
func senderFrom16(addr [16]byte, port uint16) (core.NetID, error) {
	a := netip.AddrFrom16(addr)
	if a.Is4In6() {
		return core.NetID{}, fmt.Errorf("%s is IPv4-mapped", a)
	}
	return core.NetIDFrom(a, port)
}

// Sealer seals the frames of one local node: it numbers them with the
// node's frame counter, compresses their bodies and seals them with the
// node's key under the keyring's primary key. It is safe for concurrent use;
// sealing is serialised, so frames are numbered in the order they are sealed.
type Sealer struct {
	keys   *crypto.Sealer
	sender core.NetID
	epoch  core.Epoch
	ident  []byte // the header's sender and epoch, which never change

	mu      sync.Mutex
	counter core.FrameCounter // last used
	enc     bodyEncoder
	body    []byte
	nonce   [crypto.NonceSize]byte
	lz      *Compressor     // a shared compressor (WithCompressor), or nil
	ownLZ   *lz4.Compressor // else the sealer's own, made on first use
}

// Compressor is LZ4's compression state (about 136 KiB of hash tables). Each
// Sealer makes its own on first use unless given one with WithCompressor:
// a process that runs many nodes (a simulation) shares one. It is safe for
// concurrent use; sealers that share it take turns. (A sealer's own state
// needs no lock of its own: the sealer's lock guards it.)
type Compressor struct {
	mu sync.Mutex
	lz lz4.Compressor
}

// NewCompressor returns a Compressor to share between sealers.
func NewCompressor() *Compressor { return new(Compressor) }

// compress compresses src into dst and returns the length, or 0 when the
// block would not be shorter than dst.
func (c *Compressor) compress(src, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.lz.CompressBlock(src, dst)
	if err != nil {
		return 0
	}
	return n
}

// SealerOption configures a Sealer.
type SealerOption func(*Sealer)

// WithCompressor makes the sealer use c instead of a compressor of its own.
func WithCompressor(c *Compressor) SealerOption {
	return func(s *Sealer) { s.lz = c }
}

// NewSealer returns the sealer of the node sender in its epoch, sealing
// with ring's primary key. The epoch must be new for every start of the
// node: see core.Epoch.
func NewSealer(ring *crypto.Keyring, sender core.NetID, epoch core.Epoch, opts ...SealerOption) (*Sealer, error) {
	keys, err := crypto.NewSealer(ring, sender, epoch)
	if err != nil {
		return nil, fmt.Errorf("codec: sealer: %w", err)
	}
	s := &Sealer{keys: keys, sender: sender, epoch: epoch}
	s.ident, _ = sender.AppendBinary(nil) // crypto.NewSealer checked the sender
	s.ident, _ = epoch.AppendBinary(s.ident)
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Sender returns the NetID the sealer seals as.
func (s *Sealer) Sender() core.NetID { return s.sender }

// Epoch returns the epoch the sealer seals in.
func (s *Sealer) Epoch() core.Epoch { return s.epoch }

// MaxFrameLen bounds the length of b's sealed frame without sealing it, so
// a caller can tell whether b fits a datagram: it is the length of the frame
// with its body stored uncompressed, counting the timestamp's varint at its
// longest (8 bytes), so a frame that does not compress is at most 7 bytes
// shorter. The body's part is computed exactly. It fails where AppendFrame
// would.
func (s *Sealer) MaxFrameLen(b *Body) (int, error) {
	s.mu.Lock()
	n, err := s.enc.bodyLen(b)
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	h := Header{Kind: b.Kind, Sender: s.sender, Epoch: s.epoch, Counter: s.counter + 1}
	pt := 1 + uvarintLen(uint64(n)) + n
	// The timestamp's varint is at most 8 bytes for any offset below
	// 2^56 microseconds (over two thousand years).
	return headerLen(&h, pt+TagSize) - uvarintLen(0) + 8 + pt + TagSize, nil
}

// AppendFrame seals b as the next frame and appends it to dst. now is the
// time the header carries. It allocates only when dst lacks the capacity.
func (s *Sealer) AppendFrame(dst []byte, b *Body, now time.Time) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.body, err = s.enc.appendBody(s.body[:0], b); err != nil {
		return dst, fmt.Errorf("codec: encode %s: %w", b.Kind, err)
	}
	if s.counter == ^core.FrameCounter(0) {
		return dst, fmt.Errorf("codec: frame counter exhausted for epoch %s", s.epoch)
	}
	s.counter++
	keyID, aead := s.keys.Key()
	ts := timestampOffset(s.epoch, now)

	// Reserve room for the stored form, which bounds the compressed one,
	// so the header, plaintext and tag are written in place, once. The
	// sender and epoch are kept encoded.
	raw := len(s.body)
	storedPT := 1 + uvarintLen(uint64(raw)) + raw
	fixedLen := 5 + len(s.ident) + uvarintLen(uint64(s.counter)) + uvarintLen(ts)
	dst = slices.Grow(dst, fixedLen+uvarintLen(uint64(storedPT+TagSize))+storedPT+TagSize)
	start := len(dst)

	// Compress straight into dst's spare capacity, after the longest
	// header and plaintext prefix; keep the result only when shorter.
	prefix := 1 + uvarintLen(uint64(raw))
	spare := dst[start:cap(dst)]
	flags := byte(0)
	data := s.body
	if raw > 0 {
		scratch := spare[len(spare)-raw:] // room for a block shorter than raw
		scratch = scratch[: raw-1 : raw-1]
		if n := s.compress(s.body, scratch); n > 0 && n < raw-1 {
			flags, data = flagLZ4, scratch[:n]
		}
	}
	pt := prefix + len(data)
	dst = append(dst, magic[0], magic[1], Version, byte(b.Kind), byte(keyID))
	dst = append(dst, s.ident...)
	dst = binary.AppendUvarint(dst, uint64(s.counter))
	dst = binary.AppendUvarint(dst, ts)
	dst = binary.AppendUvarint(dst, uint64(pt+TagSize))
	hdrEnd := len(dst)
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(raw))
	dst = append(dst, data...)        // copy is safe: data lies past where it lands
	s.nonce = crypto.Nonce(s.counter) // a field: a local would escape to the heap
	sealed := aead.Seal(dst[hdrEnd:hdrEnd], s.nonce[:], dst[hdrEnd:], dst[start:hdrEnd])
	return dst[:hdrEnd+len(sealed)], nil
}

// compress compresses src into dst, with the shared compressor or else the
// sealer's own, and returns the length, or 0 when the block would not be
// shorter than dst. s.mu is held.
func (s *Sealer) compress(src, dst []byte) int {
	if s.lz != nil {
		return s.lz.compress(src, dst)
	}
	if s.ownLZ == nil {
		s.ownLZ = new(lz4.Compressor)
	}
	n, err := s.ownLZ.CompressBlock(src, dst)
	if err != nil {
		return 0
	}
	return n
}
