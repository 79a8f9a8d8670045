package transport

import (
	"fmt"
	"io"
)

// FrameLenFunc tells where a frame ends in a byte stream: given the bytes
// received so far from the start of a frame, it returns the frame's total
// length once b holds its whole header (the rest need not be there yet),
// 0 and no error when b is too short to tell, or an error when b cannot
// start a frame or claims more than max bytes. codec.FrameLen is one.
type FrameLenFunc func(b []byte, max int) (int, error)

// BadStreamError is a stream its FrameLenFunc refused: out of step,
// garbage, or a frame over the limit. The stream cannot be resynchronised:
// drop it.
type BadStreamError struct{ Err error }

// Error returns the refusal, prefixed.
func (e *BadStreamError) Error() string { return fmt.Sprintf("bad stream: %v", e.Err) }

// Unwrap returns the FrameLenFunc's error, so its sentinels match with
// errors.Is.
func (e *BadStreamError) Unwrap() error { return e.Err }

// initialStreamBuffer is a FrameReader's first buffer size; it grows with
// the data that actually arrives, never with what a header claims.
const initialStreamBuffer = 4 << 10

// FrameReader splits a byte stream, such as a TCP connection, into frames
// with a FrameLenFunc. It copes with partial reads and with several frames
// in one read, and it checks each frame's claimed length against the limit
// before it makes room for it: the buffer never exceeds twice the bytes
// received. It is not safe for concurrent use.
type FrameReader struct {
	r          io.Reader
	frameLen   FrameLenFunc
	max        int
	buf        []byte
	start, end int // unconsumed bytes are buf[start:end]
}

// NewFrameReader returns a FrameReader of frames of at most max bytes from
// r, split by frameLen.
func NewFrameReader(r io.Reader, frameLen FrameLenFunc, max int) *FrameReader {
	return &FrameReader{r: r, frameLen: frameLen, max: max}
}

// Next returns the next whole frame. The slice is valid until the next call
// and may be modified by the caller. At a clean end of stream between
// frames it returns io.EOF; a stream that ends inside a frame gives
// io.ErrUnexpectedEOF; a stream the FrameLenFunc refuses, a
// *BadStreamError; a failed read, the reader's error.
func (s *FrameReader) Next() ([]byte, error) {
	for {
		n, err := s.frameLen(s.buf[s.start:s.end], s.max)
		switch {
		case err != nil:
			return nil, &BadStreamError{err}
		case n < 0 || n > s.max:
			return nil, &BadStreamError{fmt.Errorf("frame length %d, limit %d", n, s.max)}
		case n > 0 && s.end-s.start >= n:
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
func (s *FrameReader) fill(need int) error {
	if s.start > 0 && (s.start == s.end || s.end == len(s.buf)) {
		s.end = copy(s.buf, s.buf[s.start:s.end])
		s.start = 0
	}
	if s.end == len(s.buf) {
		// Grow by doubling, up to the frame being read.
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
