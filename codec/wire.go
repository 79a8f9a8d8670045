package codec

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// reader is a total decoder over a byte slice: every method checks the bytes
// that remain before it reads, and the first error sticks, so a sequence of
// reads needs one check at the end. Offsets in errors are from the start of
// the slice the reader was made on.
type reader struct {
	b   []byte
	off int
	err error
}

func newReader(b []byte) reader { return reader{b: b} }

// remaining returns the number of unread bytes.
func (r *reader) remaining() int { return len(r.b) - r.off }

// fail records err (the first one only) and returns it.
func (r *reader) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

// failf records an error wrapping sentinel with a message and the offset.
func (r *reader) failf(sentinel error, format string, args ...any) error {
	return r.fail(fmt.Errorf("%w: %s at offset %d", sentinel, fmt.Sprintf(format, args...), r.off))
}

// uvarint reads a minimally encoded unsigned LEB128 varint (at most 10
// bytes), as encoding/binary writes it.
//
// A varint of up to eight bytes is read as one word when eight bytes are
// there: the callers of uvarint are mostly left with the varints of more
// than one byte, which a byte loop reads in about ten instructions a byte.
func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	p := r.b[r.off:]
	if len(p) >= 8 {
		w := binary.LittleEndian.Uint64(p)
		// The high bit of each byte that ends a varint; none for a varint
		// of nine or ten bytes, which the loop below reads.
		if last := ^w & 0x8080808080808080; last != 0 {
			n := bits.TrailingZeros64(last)/8 + 1
			if n > 1 && p[n-1] == 0 {
				r.failVarint(what) // not minimally encoded
				return 0
			}
			// The n low bytes' seven bits each, moved together in three
			// steps.
			x := w & (^uint64(0) >> (64 - 8*uint(n))) & 0x7f7f7f7f7f7f7f7f
			x = x&0x007f007f007f007f | x>>1&0x3f803f803f803f80
			x = x&0x00003fff00003fff | x>>2&0x0fffc0000fffc000
			x = x&0x000000000fffffff | x>>4&0x00fffffff0000000
			r.off += n
			return x
		}
	}
	if v, n := uvarintAt(p); n > 0 {
		r.off += n
		return v
	}
	r.failVarint(what)
	return 0
}

// failVarint fails the read of a varint that uvarintAt refused, with the
// reason.
func (r *reader) failVarint(what string) {
	switch _, n := binary.Uvarint(r.b[r.off:]); {
	case n == 0:
		r.failf(ErrTruncated, "%s varint", what)
	case n < 0:
		r.failf(ErrMalformed, "%s varint overflows 64 bits", what)
	default:
		r.failf(ErrMalformed, "%s varint not minimally encoded", what)
	}
}

// uvarintAt returns the varint that starts p and its length, as uvarint
// reads it, or a length of 0 when p does not start with a well-formed one
// (cut short, over 64 bits or not minimally encoded), for the caller to read
// it with uvarint, which reports how.
func uvarintAt(p []byte) (uint64, int) {
	var v uint64
	for i, c := range p[:min(len(p), binary.MaxVarintLen64)] {
		if c < 0x80 {
			if i > 0 && c == 0 || i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, 0
			}
			return v | uint64(c)<<(7*i&63), i + 1
		}
		v |= uint64(c&0x7f) << (7 * i & 63)
	}
	return 0, 0
}

// varint1 returns the next varint and true when it takes one byte, the
// common case; otherwise it reads nothing and returns false, for the caller
// to call uvarint. Unlike uvarint, it is small enough to inline.
func (r *reader) varint1() (uint64, bool) {
	if r.off < len(r.b) && r.b[r.off] < 0x80 && r.err == nil {
		r.off++
		return uint64(r.b[r.off-1]), true
	}
	return 0, false
}

// count reads a uvarint that counts elements of at least minSize bytes each
// (minSize may be 0 for elements that take bits, see countBits) and checks it
// against max and against what the remaining bytes can hold, so the caller
// may allocate by it.
func (r *reader) count(what string, max uint64, minBytes int) int {
	v, ok := r.varint1()
	if !ok {
		if v = r.uvarint(what); r.err != nil {
			return 0
		}
	}
	if v > max {
		r.failf(ErrListTooLong, "%s count %d exceeds %d", what, v, max)
		return 0
	}
	// v <= max, and every max is far below 2^32: the product cannot
	// overflow, and a multiplication is cheaper than a division.
	if v*uint64(minBytes) > uint64(r.remaining()) {
		r.failf(ErrTruncated, "%s count %d needs at least %d bytes, %d remain", what, v, v*uint64(minBytes), r.remaining())
		return 0
	}
	return int(v)
}

// byte1 reads one byte.
func (r *reader) byte1(what string) byte {
	if off := r.off; off < len(r.b) && r.err == nil {
		r.off++
		return r.b[off]
	}
	r.short(what, -1)
	return 0
}

// bytes returns the next n bytes, aliasing the input.
func (r *reader) bytes(what string, n int) []byte {
	if off := r.off; uint(n) <= uint(len(r.b)-off) && r.err == nil {
		r.off += n
		return r.b[off : off+n : off+n]
	}
	r.short(what, n)
	return nil
}

// short fails a read that byte1 (n < 0) or bytes (of n bytes) could not
// serve, unless an error stuck before: their slow path, out of line so that
// they inline.
func (r *reader) short(what string, n int) {
	switch {
	case r.err != nil:
	case n < 0:
		r.failf(ErrTruncated, "%s", what)
	default:
		r.failf(ErrTruncated, "%s needs %d bytes, %d remain", what, n, r.remaining())
	}
}

// uint32be and uint64be read fixed-size big-endian integers.
func (r *reader) uint32be(what string) uint32 {
	if p := r.bytes(what, 4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (r *reader) uint64be(what string) uint64 {
	if p := r.bytes(what, 8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// rest returns all unread bytes, aliasing the input.
func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	p := r.b[r.off:len(r.b):len(r.b)]
	r.off = len(r.b)
	return p
}

// done fails with ErrMalformed when bytes remain unread, and returns the
// reader's error.
func (r *reader) done(what string) error {
	if r.err == nil && r.remaining() != 0 {
		r.failf(ErrMalformed, "%d trailing bytes after %s", r.remaining(), what)
	}
	return r.err
}

// uvarintLen returns the number of bytes binary.AppendUvarint writes for v.
func uvarintLen(v uint64) int {
	return 1 + (bits.Len64(v|1)-1)/7
}
