package codec_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/chatter-go/chatter/codec"
)

// sealMany returns n sealed frames of assorted sizes, and their
// concatenation.
func sealMany(t testing.TB, n int) ([][]byte, []byte) {
	t.Helper()
	s, _ := newPair(t)
	var frames [][]byte
	var stream []byte
	for i := range n {
		in := sampleGossip(8+i%40, textPayload(1+i*97%3000))
		f, err := s.AppendFrame(nil, &in, testNow)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
		stream = append(stream, f...)
	}
	return frames, stream
}

func TestReaderSplitsStream(t *testing.T) {
	frames, stream := sealMany(t, 30)
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
			r := codec.NewReader(tc.r(), 0)
			for i, want := range frames {
				got, err := r.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("frame %d differs", i)
				}
			}
			if _, err := r.Next(); err != io.EOF {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
}

func TestReaderFramesOpen(t *testing.T) {
	_, stream := sealMany(t, 5)
	_, o := newPair(t)
	r := codec.NewReader(bytes.NewReader(stream), 0)
	var b codec.Body
	for i := range 5 {
		f, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Open(f, testNow, &b); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

func TestReaderRefuses(t *testing.T) {
	frames, _ := sealMany(t, 2)
	big := frames[1]
	for _, tc := range []struct {
		name  string
		input []byte
		max   int
		want  error
	}{
		{"ends inside a header", frames[0][:10], 0, io.ErrUnexpectedEOF},
		{"ends inside a frame", frames[0][:len(frames[0])-1], 0, io.ErrUnexpectedEOF},
		{"bad magic", append([]byte("XX"), frames[0][2:]...), 0, codec.ErrBadMagic},
		{"newer version", append([]byte{'C', 'H', 9}, frames[0][3:]...), 0, codec.ErrVersion},
		{"frame over the limit", big, len(big) - 1, codec.ErrFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := codec.NewReader(bytes.NewReader(tc.input), tc.max).Next()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Next: %v, want %v", err, tc.want)
			}
		})
	}
}

// countingReader serves a header that claims a frame of max bytes, then a
// trickle, and records the largest buffer it was asked to fill.
type countingReader struct {
	data    []byte
	largest int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.largest = max(c.largest, len(p))
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, nil
}

func TestReaderDoesNotAllocateByClaim(t *testing.T) {
	// A header claiming a 1 MiB frame, followed by 100 bytes.
	frames, _ := sealMany(t, 1)
	f := frames[0]
	claim := append(append([]byte(nil), f[:32]...), 0x80, 0xf0, 0x3f) // 1,046,528
	cr := &countingReader{data: append(claim, make([]byte, 100)...)}
	_, err := codec.NewReader(cr, codec.DefaultMaxFrameSize).Next()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Next: %v, want io.ErrUnexpectedEOF", err)
	}
	if cr.largest > 16<<10 {
		t.Errorf("reader offered a %d-byte buffer for 135 bytes of data", cr.largest)
	}
}

func TestFrameLen(t *testing.T) {
	frames, _ := sealMany(t, 1)
	f := frames[0]
	for n := range len(f) {
		got, err := codec.FrameLen(f[:n], codec.DefaultMaxFrameSize)
		if err != nil {
			t.Fatalf("prefix of %d: %v", n, err)
		}
		if got != 0 && got != len(f) {
			t.Fatalf("prefix of %d: FrameLen %d, frame is %d", n, got, len(f))
		}
	}
}
