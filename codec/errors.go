package codec

import (
	"errors"

	"github.com/chatter-go/chatter/core"
)

// Sentinel errors. Every error a decoder returns matches exactly one of these
// (or one of the crypto package's) with [errors.Is], wrapped with the detail
// of what was wrong and where.
var (
	// ErrTruncated reports input that ends before the element it holds.
	ErrTruncated = errors.New("codec: truncated")
	// ErrMalformed reports input that breaks a rule of the wire format:
	// an overlong varint, trailing bytes, a reserved flag, an invalid
	// value.
	ErrMalformed = errors.New("codec: malformed")
	// ErrBadMagic reports input that does not start with the frame magic.
	ErrBadMagic = errors.New("codec: bad magic")
	// ErrVersion reports a frame of a version this node does not speak.
	ErrVersion = errors.New("codec: unsupported version")
	// ErrFrameTooLarge reports a frame, or a body, larger than the limit.
	ErrFrameTooLarge = errors.New("codec: frame too large")
	// ErrCompression reports an LZ4 block that does not decode.
	ErrCompression = errors.New("codec: bad LZ4 block")
	// ErrRawLength reports a body whose length is not the raw length the
	// frame claims.
	ErrRawLength = errors.New("codec: raw length mismatch")
	// ErrTableRef reports a reference past the end of the NetID table.
	ErrTableRef = errors.New("codec: NetID table reference out of range")
	// ErrListTooLong reports a list with more elements than its bound (the
	// table size, or a per-list limit).
	ErrListTooLong = errors.New("codec: list too long")
	// ErrTableOrder reports NetID table entries that are duplicated or not
	// sorted. It is the core package's error, re-exported.
	ErrTableOrder = core.ErrTableOrder
)
