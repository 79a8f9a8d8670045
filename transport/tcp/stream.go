package tcp

import (
	"fmt"
	"io"
	"net"
	"time"
)

// initialStreamBuffer is a frameReader's first buffer size; it grows with
// the data that actually arrives, never with what a header claims.
const initialStreamBuffer = 4 << 10

// badStreamError is a stream that FrameLen refused: out of step, garbage
// or an oversize claim. The connection is dropped and counted.
type badStreamError struct{ err error }

func (e *badStreamError) Error() string { return fmt.Sprintf("tcp: bad stream: %v", e.err) }
func (e *badStreamError) Unwrap() error { return e.err }

// frameReader splits a byte stream into frames with a FrameLenFunc. It is
// codec.Reader's algorithm (which the dependency rule keeps this package
// from importing): it copes with partial reads and with several frames in
// one read, and it checks each frame's claimed length against the limit
// before it allocates for it; the buffer never exceeds twice the bytes
// received. It is not safe for concurrent use.
type frameReader struct {
	r          io.Reader
	frameLen   FrameLenFunc
	max        int
	buf        []byte
	start, end int // unconsumed bytes are buf[start:end]
}

func newFrameReader(r io.Reader, frameLen FrameLenFunc, max int) *frameReader {
	return &frameReader{r: r, frameLen: frameLen, max: max}
}

// next returns the next whole frame, valid until the next call. At a clean
// end of stream between frames it returns io.EOF; a stream that ends inside
// a frame gives io.ErrUnexpectedEOF; a stream FrameLen refuses, a
// *badStreamError.
func (s *frameReader) next() ([]byte, error) {
	for {
		n, err := s.frameLen(s.buf[s.start:s.end], s.max)
		switch {
		case err != nil:
			return nil, &badStreamError{err}
		case n < 0 || n > s.max:
			return nil, &badStreamError{fmt.Errorf("frame length %d, limit %d", n, s.max)}
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
func (s *frameReader) fill(need int) error {
	if s.start > 0 && (s.start == s.end || s.end == len(s.buf)) {
		s.end = copy(s.buf, s.buf[s.start:s.end])
		s.start = 0
	}
	if s.end == len(s.buf) {
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

// idleReader reads from a connection with a read deadline idle ahead of
// each read, so a connection silent for longer fails with a timeout.
type idleReader struct {
	conn net.Conn
	idle time.Duration // <= 0: no deadline
}

func (r idleReader) Read(p []byte) (int, error) {
	if r.idle > 0 {
		if err := r.conn.SetReadDeadline(time.Now().Add(r.idle)); err != nil {
			return 0, err
		}
	}
	return r.conn.Read(p)
}
