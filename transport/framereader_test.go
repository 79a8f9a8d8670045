package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// lenFrameLen frames with a 4-byte big-endian length of the whole frame.
func lenFrameLen(b []byte, max int) (int, error) {
	if len(b) < 4 {
		return 0, nil
	}
	n := int(binary.BigEndian.Uint32(b))
	if n < 4 || n > max {
		return 0, fmt.Errorf("frame length %d, limit %d", n, max)
	}
	return n, nil
}

func TestFrameReaderSplits(t *testing.T) {
	var frames [][]byte
	var stream []byte
	for i := range 40 {
		f := binary.BigEndian.AppendUint32(nil, uint32(4+i*i*5))
		f = append(f, bytes.Repeat([]byte{byte(i)}, i*i*5)...)
		frames = append(frames, f)
		stream = append(stream, f...)
	}
	for _, tc := range []struct {
		name string
		r    func() io.Reader
	}{
		{"one read", func() io.Reader { return bytes.NewReader(stream) }},
		{"one byte per read", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewFrameReader(tc.r(), lenFrameLen, 1<<20)
			for i, want := range frames {
				got, err := r.Next()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("frame %d: %d bytes, %v", i, len(got), err)
				}
			}
			if _, err := r.Next(); err != io.EOF {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
}

func TestFrameReaderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input []byte
		bad   bool
		want  error
	}{
		{"ends inside a frame", []byte{0, 0, 0, 9, 1, 2}, false, io.ErrUnexpectedEOF},
		{"ends inside a header", []byte{0, 0}, false, io.ErrUnexpectedEOF},
		{"a claim over the limit", []byte{0, 1, 0, 0, 1}, true, nil},
		{"garbage", []byte("GET / HTTP/1.1"), true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFrameReader(bytes.NewReader(tc.input), lenFrameLen, 1024).Next()
			var bad *BadStreamError
			if errors.As(err, &bad) != tc.bad || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Next = %v, want bad stream %v, error %v", err, tc.bad, tc.want)
			}
		})
	}
}

// TestFrameReaderDoesNotAllocateByClaim: a header claiming 1 MiB followed
// by a trickle does not make the reader allocate 1 MiB.
func TestFrameReaderDoesNotAllocateByClaim(t *testing.T) {
	stream := binary.BigEndian.AppendUint32(nil, 1<<20)
	stream = append(stream, make([]byte, 100)...)
	r := NewFrameReader(bytes.NewReader(stream), lenFrameLen, 1<<20)
	if _, err := r.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("Next = %v, want io.ErrUnexpectedEOF", err)
	}
	if len(r.buf) > initialStreamBuffer {
		t.Errorf("buffer of %d bytes for %d received", len(r.buf), len(stream))
	}
}
