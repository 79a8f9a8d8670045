package crypto

import "errors"

// Sentinel errors. Every error this package returns for a frame matches
// exactly one of them with [errors.Is], wrapped with the detail of what was
// wrong (sender, epoch, counter, key id).
var (
	// ErrNoKey reports an empty secret.
	ErrNoKey = errors.New("crypto: no key")
	// ErrUnknownKey reports a key id that is not in the keyring.
	ErrUnknownKey = errors.New("crypto: unknown key id")
	// ErrAuth reports a frame that does not open: a wrong key, a tampered
	// header or ciphertext, a ciphertext shorter than the tag, an invalid
	// sender NetID.
	ErrAuth = errors.New("crypto: authentication failed")
	// ErrReplay reports a frame counter already accepted from the sender in
	// its current epoch, a counter older than the replay window, or
	// counter 0, which no sender uses.
	ErrReplay = errors.New("crypto: replayed frame")
	// ErrOldEpoch reports a frame of an epoch older than the newest one
	// authenticated for its sender.
	ErrOldEpoch = errors.New("crypto: old epoch")
	// ErrStale reports a frame timestamp older than MaxAge.
	ErrStale = errors.New("crypto: stale frame")
	// ErrFuture reports a frame timestamp, or an epoch start, further than
	// MaxSkew in the future.
	ErrFuture = errors.New("crypto: frame from the future")
	// ErrRateLimited reports a frame whose (sender, epoch, key) has no
	// cached key and whose derivation the rate limit refused.
	ErrRateLimited = errors.New("crypto: key derivation rate limited")
	// ErrPrimaryKey reports an attempt to remove the primary key.
	ErrPrimaryKey = errors.New("crypto: cannot remove the primary key")
	// ErrKeyExists reports an Add of a key id that holds a different key.
	ErrKeyExists = errors.New("crypto: key id holds another key")
)
