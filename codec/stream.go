package codec

import (
	"errors"
	"fmt"
	"io"

	"github.com/chatter-go/chatter/crypto"
	"github.com/chatter-go/chatter/transport"
)

// FrameLen returns the total length of the frame at the start of b, once b
// holds the frame's whole header; the rest of the frame need not be there
// yet. It returns 0 and no error when b is too short to tell. max is the
// largest frame accepted: a frame that claims more fails with
// ErrFrameTooLarge before anything is read past its header.
func FrameLen(b []byte, max int) (int, error) {
	r := newReader(b)
	var (
		kind Kind
		f    crypto.FrameInfo
	)
	sealed := readHeader(&r, max, &kind, &f)
	if r.err != nil {
		if errors.Is(r.err, ErrTruncated) && len(b) < MaxHeaderLen {
			return 0, nil
		}
		return 0, r.err
	}
	return r.off + sealed, nil
}

// Reader splits a byte stream, such as a TCP connection, into frames: a
// [transport.FrameReader] with FrameLen. It copes with partial reads and
// with several frames in one read, and it checks each frame's claimed length
// against the limit before reading it. A Reader is not safe for concurrent
// use.
type Reader struct {
	frames *transport.FrameReader
}

// NewReader returns a Reader of frames of at most maxFrame bytes from r;
// maxFrame <= 0 means DefaultMaxFrameSize.
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameSize
	}
	return &Reader{frames: transport.NewFrameReader(r, FrameLen, maxFrame)}
}

// Next returns the next whole frame. The slice is valid until the next call
// and may be modified by the caller (Opener.Open decrypts in place). At a
// clean end of stream between frames it returns io.EOF; a stream that ends
// inside a frame gives io.ErrUnexpectedEOF. A malformed header or an
// oversize frame gives the codec's sentinel: the stream is then out of step
// and the caller should drop the connection.
func (s *Reader) Next() ([]byte, error) {
	f, err := s.frames.Next()
	var bad *transport.BadStreamError
	if errors.As(err, &bad) {
		return nil, fmt.Errorf("codec: stream: %w", bad.Err)
	}
	return f, err
}
