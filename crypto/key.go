package crypto

import (
	"fmt"
	"log/slog"
)

// KeyID names a group key in a frame header, so a receiver picks the key
// without trial decryption.
type KeyID uint8

// Key is a 32-byte AES-256 key: a group key, or a sender key derived from one.
type Key [32]byte

// KeySize is the length of a Key.
const KeySize = len(Key{})

// seedPad is what the original Chatter appends to a short secret.
const seedPad = "01234567890123456789012345678901"

// The two keys the original Chatter published.
const (
	wellKnown1 = "01234567890123456789012345678901"
	wellKnown2 = "01234567890123456789012345678912"
)

// WellKnownSecrets returns the two keys that the original Chatter published:
// "01234567890123456789012345678901" and "01234567890123456789012345678912".
// Anyone can read and forge frames sealed with them. The slice is a fresh
// copy on every call.
func WellKnownSecrets() []Key {
	keys := make([]Key, 2)
	copy(keys[0][:], wellKnown1)
	copy(keys[1][:], wellKnown2)
	return keys
}

// IsWellKnown reports whether k is one of [WellKnownSecrets].
func IsWellKnown(k Key) bool {
	s := string(k[:])
	return s == wellKnown1 || s == wellKnown2
}

// KeyFromSecret turns a secret into a group key by the original Chatter's
// rule: a secret of 32 bytes is the key; a longer one is cut to 32 bytes; a
// shorter one has "01234567890123456789012345678901" appended and is then cut
// to 32 bytes. An empty secret is ErrNoKey.
//
// A cut or padded secret, and a resulting key that is one of
// [WellKnownSecrets], are logged at Warn level on log, which may be nil. The
// secret itself is never logged.
func KeyFromSecret(secret []byte, log *slog.Logger) (Key, error) {
	var k Key
	switch n := len(secret); {
	case n == 0:
		return k, fmt.Errorf("%w: empty secret", ErrNoKey)
	case n > KeySize:
		copy(k[:], secret)
		if log != nil {
			log.Warn("chatter: key longer than 32 bytes, cut", "length", n)
		}
	case n < KeySize:
		m := copy(k[:], secret)
		copy(k[m:], seedPad)
		if log != nil {
			log.Warn("chatter: key shorter than 32 bytes, padded with the seed's pattern", "length", n)
		}
	default:
		copy(k[:], secret)
	}
	if IsWellKnown(k) && log != nil {
		log.Warn("chatter: well-known key, anyone can read and forge")
	}
	return k, nil
}
