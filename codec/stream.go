package codec

import (
	"errors"
	"fmt"
	"io"
)

// FrameLen returns the total length of the frame at the start of b, once b
// holds the frame's whole header; the rest of the frame need not be there
// yet. It returns 0 and no error when b is too short to tell. max is the
// largest frame accepted: a frame that claims more fails with
// ErrFrameTooLarge before anything is read past its header.
func FrameLen(b []byte, max int) (int, error) {
	r := newReader(b)
	_, sealed := readHeader(&r, max)
	if r.err != nil {
		if errors.Is(r.err, ErrTruncated) && len(b) < MaxHeaderLen {
			return 0, nil
		}
		return 0, r.err
	}
	return r.off + sealed, nil
}

// initialStreamBuffer is a Reader's first buffer size; it grows with the
// data that actually arrives, never with what a header claims.
const initialStreamBuffer = 4 << 10

// Reader splits a byte stream, such as a TCP connection, into frames. It
// copes with partial reads and with several frames in one read, and it
// checks each frame's claimed length against the limit before reading it.
// A Reader is not safe for concurrent use.
type Reader struct {
	r          io.Reader
	max        int
	buf        []byte
	start, end int // unconsumed bytes are buf[start:end]
}

// NewReader returns a Reader of frames of at most maxFrame bytes from r;
// maxFrame <= 0 means DefaultMaxFrameSize.
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameSize
	}
	return &Reader{r: r, max: maxFrame}
}

// Next returns the next whole frame. The slice is valid until the next call
// and may be modified by the caller (Opener.Open decrypts in place). At a
// clean end of stream between frames it returns io.EOF; a stream that ends
// inside a frame gives io.ErrUnexpectedEOF. A malformed header or an
// oversize frame gives the codec's sentinel: the stream is then out of step
// and the caller should drop the connection.
func (s *Reader) Next() ([]byte, error) {
	for {
		n, err := FrameLen(s.buf[s.start:s.end], s.max)
		if err != nil {
			return nil, fmt.Errorf("codec: stream: %w", err)
		}
		if n > 0 && s.end-s.start >= n {
			frame := s.buf[s.start : s.start+n : s.start+n]
			s.start += n
			return frame, nil
		}
		if err := s.fill(n); err != nil {
			return nil, err
		}
	}
}

// fill reads more bytes, making room first. need is the length of the frame
// being read, or 0 when its header is still incomplete.
func (s *Reader) fill(need int) error {
	if s.start > 0 && (s.start == s.end || s.end == len(s.buf)) {
		s.end = copy(s.buf, s.buf[s.start:s.end])
		s.start = 0
	}
	if s.end == len(s.buf) {
		// Grow by doubling: the buffer never exceeds twice the bytes
		// received, whatever length a header claims.
		size := max(2*len(s.buf), initialStreamBuffer)
		if need > 0 {
			size = min(size, need)
		}
		size = max(size, s.end+1)
		buf := make([]byte, size)
		copy(buf, s.buf[:s.end])
		s.buf = buf
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	switch {
	case n > 0:
		return nil
	case err == io.EOF && s.start == s.end:
		return io.EOF
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	case err != nil:
		return err
	default:
		return nil // a zero-byte read without error: try again
	}
}
