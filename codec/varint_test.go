package codec

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestUvarintAt checks uvarintAt and the reader's uvarint against
// encoding/binary's Uvarint with the rule that a varint is minimal: the same
// value and length for every well-formed varint; for every other input, a
// length of 0 and the reader's error by its reason. The inputs are every
// prefix of one and two bytes, then varints of every length, minimal and
// padded, overflowing and cut short.
func TestUvarintAt(t *testing.T) {
	check := func(p []byte) {
		t.Helper()
		want, wn := binary.Uvarint(p)
		var wantErr error
		switch {
		case wn == 0:
			wantErr = ErrTruncated
		case wn < 0, wn > 1 && p[wn-1] == 0:
			wantErr = ErrMalformed
		}
		v, n := uvarintAt(p)
		r := newReader(p)
		rv := r.uvarint("v")
		switch {
		case wantErr != nil && (n != 0 || !errors.Is(r.err, wantErr)):
			t.Fatalf("% x: uvarintAt %d, %d bytes; reader %v; want %v", p, v, n, r.err, wantErr)
		case wantErr == nil && (v != want || n != wn || rv != want || r.off != wn || r.err != nil):
			t.Fatalf("% x: uvarintAt %d, %d bytes; reader %d, %d bytes, %v; want %d, %d bytes", p, v, n, rv, r.off, r.err, want, wn)
		}
	}
	check(nil)
	for b1 := range 256 {
		check([]byte{byte(b1)})
		for b2 := range 256 {
			check([]byte{byte(b1), byte(b2)})
		}
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		v := rnd.Uint64() >> rnd.IntN(64)
		p := binary.AppendUvarint(nil, v)
		switch rnd.IntN(4) {
		case 0: // padded: not minimal
			p[len(p)-1] |= 0x80
			p = append(p, 0)
		case 1: // cut short
			p = p[:rnd.IntN(len(p))]
		case 2: // over 64 bits, or eleven bytes
			p = append(make([]byte, 0, 11), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, byte(rnd.IntN(256)), byte(rnd.IntN(256)))
		}
		check(append(p, byte(rnd.IntN(256)))) // and a byte after it
		check(p)
		// and eight after it, so that uvarint reads a word
		check(binary.LittleEndian.AppendUint64(slices.Clip(p), rnd.Uint64()))
	}
}
