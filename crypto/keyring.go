package crypto

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// keyEntry is one key of a keyring. It is immutable once published. serial
// is unique within its keyring: a key removed and added again, or another key
// under a reused id, gets a new serial, so caches keyed by (id, serial) never
// confuse them.
type keyEntry struct {
	key    Key
	serial uint64
}

// keySnapshot is an immutable state of a keyring.
type keySnapshot struct {
	primary KeyID
	keys    [256]*keyEntry
}

// Keyring holds the group keys of a node: one primary key that seals, and
// every key (the primary included) accepted to open, each under a KeyID
// carried in the frame header.
//
// A Keyring is safe for concurrent use. Reads load an immutable snapshot
// without locking; writes copy it under a mutex and publish the copy, so a
// reader sees either the old or the new state, never a mix. Create one with
// [NewKeyring]; the zero Keyring is not usable.
type Keyring struct {
	mu     sync.Mutex // serialises writers
	serial uint64     // last serial given, guarded by mu
	snap   atomic.Pointer[keySnapshot]
}

// NewKeyring returns a keyring holding k under id primary, which seals.
func NewKeyring(primary KeyID, k Key) *Keyring {
	r := &Keyring{serial: 1}
	s := &keySnapshot{primary: primary}
	s.keys[primary] = &keyEntry{key: k, serial: r.serial}
	r.snap.Store(s)
	return r
}

// load returns the current snapshot.
func (r *Keyring) load() *keySnapshot { return r.snap.Load() }

// update applies fn to a copy of the current snapshot under the write lock
// and publishes the copy unless fn fails.
func (r *Keyring) update(fn func(s *keySnapshot) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := *r.snap.Load()
	if err := fn(&next); err != nil {
		return err
	}
	r.snap.Store(&next)
	return nil
}

// Add makes k accepted for opening under id. Adding the key id already
// holds is a no-op; a different key under an existing id is ErrKeyExists
// (remove the old one first).
func (r *Keyring) Add(id KeyID, k Key) error {
	if e := r.load().keys[id]; e != nil && e.key == k {
		return nil
	}
	return r.update(func(s *keySnapshot) error {
		if e := s.keys[id]; e != nil {
			if e.key == k {
				return nil
			}
			return fmt.Errorf("%w: key id %d", ErrKeyExists, id)
		}
		r.serial++
		s.keys[id] = &keyEntry{key: k, serial: r.serial}
		return nil
	})
}

// Use makes id the primary key, the one new frames are sealed with. It
// returns ErrUnknownKey when id is not in the keyring.
func (r *Keyring) Use(id KeyID) error {
	return r.update(func(s *keySnapshot) error {
		if s.keys[id] == nil {
			return fmt.Errorf("%w: key id %d", ErrUnknownKey, id)
		}
		s.primary = id
		return nil
	})
}

// Remove stops accepting the key under id. It returns ErrPrimaryKey for the
// primary key (Use another one first) and ErrUnknownKey when id is not in the
// keyring.
func (r *Keyring) Remove(id KeyID) error {
	return r.update(func(s *keySnapshot) error {
		switch {
		case s.keys[id] == nil:
			return fmt.Errorf("%w: key id %d", ErrUnknownKey, id)
		case s.primary == id:
			return fmt.Errorf("%w: key id %d", ErrPrimaryKey, id)
		}
		s.keys[id] = nil
		return nil
	})
}

// Primary returns the id of the key that seals.
func (r *Keyring) Primary() KeyID { return r.load().primary }

// IDs returns the ids of every key in the keyring, in ascending order, in a
// new slice.
func (r *Keyring) IDs() []KeyID {
	s := r.load()
	var ids []KeyID
	for i, e := range s.keys {
		if e != nil {
			ids = append(ids, KeyID(i))
		}
	}
	return ids
}

// Key returns a copy of the key under id, and whether there is one.
func (r *Keyring) Key(id KeyID) (Key, bool) {
	if e := r.load().keys[id]; e != nil {
		return e.key, true
	}
	return Key{}, false
}
