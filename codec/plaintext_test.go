package codec

import (
	"bytes"
	"testing"
)

// TestPlaintextPrefix checks plaintext's reading of the flags and the raw
// length without a reader against the reader, for every first three bytes
// of an uncompressed plaintext and every length up to four bytes past them.
func TestPlaintextPrefix(t *testing.T) {
	o := &Opener{maxFrame: DefaultMaxFrameSize}
	ref := func(pt []byte) ([]byte, error) {
		r := newReader(pt)
		flags := r.byte1("flags")
		raw := r.uvarint("raw length")
		if r.err != nil {
			return nil, r.err
		}
		data := r.rest()
		switch {
		case flags != 0:
			return nil, ErrMalformed
		case uint64(len(data)) != raw:
			return nil, ErrRawLength
		}
		return data, nil
	}
	var b Body
	pt := make([]byte, 0, 8)
	for b1 := range 256 {
		for b2 := range 256 {
			for n := 0; n <= 7; n++ {
				pt = append(pt[:0], 0, byte(b1), byte(b2), 1, 2, 3, 4, 5)[:n]
				want, wantErr := ref(pt)
				got, err := o.plaintext(pt, &b)
				if (err == nil) != (wantErr == nil) || reasonOf(err) != reasonOf(wantErr) || !bytes.Equal(got, want) {
					t.Fatalf("% x: got %x, %v; want %x, %v", pt, got, err, want, wantErr)
				}
			}
		}
	}
}
