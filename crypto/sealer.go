package crypto

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/chatter-go/chatter/core"
)

// Sealer gives the local node the AEAD it seals its frames with: its own
// sender key, derived from the keyring's primary key, its NetID and its
// epoch. There is one Sealer per local node. It is safe for concurrent use.
//
// The Sealer does not number frames: the caller seals each frame under
// Nonce(counter) with a counter it never reuses in the epoch. A nonce in a
// local array escapes to the heap when passed to the AEAD interface; a
// caller that must not allocate keeps it in a reused buffer.
type Sealer struct {
	ring   *Keyring
	sender core.NetID
	epoch  core.Epoch
	cur    atomic.Pointer[sealerKey]
}

// sealerKey is the AEAD derived from one primary key, immutable.
type sealerKey struct {
	id    KeyID
	entry *keyEntry // the keyring's entry it was derived from
	key   Key       // the group key it was derived from
	aead  cipher.AEAD
}

// NewSealer returns the Sealer of the node sender in epoch, sealing with the
// primary key of r. It fails for an invalid sender (an error matching
// [core.ErrInvalidNetID]) and for the zero epoch, which would give the node
// the same key and nonces after every restart.
func NewSealer(r *Keyring, sender core.NetID, epoch core.Epoch) (*Sealer, error) {
	if epoch.IsZero() {
		return nil, errors.New("crypto: sealer needs a non-zero epoch")
	}
	if !sender.IsValid() {
		return nil, fmt.Errorf("crypto: sealer: %w: zero NetID", core.ErrInvalidNetID)
	}
	s := &Sealer{ring: r, sender: sender, epoch: epoch}
	s.Key() // derive now
	return s, nil
}

// Key returns the id of the keyring's current primary key and this sender's
// AES-256-GCM AEAD under it. The AEAD is derived the first time a key is
// primary and reused while it stays primary: a cached call does not
// allocate. After a rotation (Use, or a new key under the same id) the next
// call derives again.
func (s *Sealer) Key() (KeyID, cipher.AEAD) {
	snap := s.ring.load()
	e := snap.keys[snap.primary]
	// The entry's pointer names a key and its serial at once; a new entry
	// with the same key (removed and added again) still needs no new AEAD.
	if c := s.cur.Load(); c != nil && c.id == snap.primary && (c.entry == e || c.key == e.key) {
		return c.id, c.aead
	}
	aead, err := deriveAEAD(e.key, s.sender, s.epoch)
	if err != nil {
		panic(err) // NewSealer checked the sender
	}
	s.cur.Store(&sealerKey{id: snap.primary, entry: e, key: e.key, aead: aead})
	return snap.primary, aead
}
