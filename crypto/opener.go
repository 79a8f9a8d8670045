package crypto

import (
	"crypto/cipher"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/chatter-go/chatter/core"
)

// Defaults of [OpenerConfig].
const (
	DefaultMaxAge        = 2 * time.Minute
	DefaultMaxSkew       = 30 * time.Second
	DefaultMaxSenders    = 4096
	DefaultMaxCachedKeys = 4096
	DefaultDeriveRate    = 1000.0
	DefaultDeriveBurst   = 1000
)

// OpenerConfig bounds what an [Opener] accepts and keeps. A zero or
// negative field (and a NaN or infinite DeriveRate) takes its default.
type OpenerConfig struct {
	// MaxAge is how far in the past a frame's timestamp may be (default
	// 2 minutes). It bounds what a receiver that lost a sender's replay
	// state can be fed again.
	MaxAge time.Duration
	// MaxSkew is how far in the future a frame's timestamp, or its
	// epoch's start, may be (default 30 seconds).
	MaxSkew time.Duration
	// MaxSenders is how many senders' replay state is kept (default
	// 4096); beyond it the least recently accepted sender is forgotten.
	MaxSenders int
	// MaxCachedKeys is how many derived sender AEADs are kept (default
	// 4096); beyond it the least recently used is dropped.
	MaxCachedKeys int
	// DeriveRate is how many key derivations per second frames without a
	// cached key may cause (default 1000).
	DeriveRate float64
	// DeriveBurst is the token bucket's size: how many derivations may
	// happen at once (default 1000).
	DeriveBurst int
}

// withDefaults returns c with every unset or invalid field at its default.
func (c OpenerConfig) withDefaults() OpenerConfig {
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.MaxSkew <= 0 {
		c.MaxSkew = DefaultMaxSkew
	}
	if c.MaxSenders <= 0 {
		c.MaxSenders = DefaultMaxSenders
	}
	if c.MaxCachedKeys <= 0 {
		c.MaxCachedKeys = DefaultMaxCachedKeys
	}
	if !(c.DeriveRate > 0) || math.IsInf(c.DeriveRate, 0) {
		c.DeriveRate = DefaultDeriveRate
	}
	if c.DeriveBurst <= 0 {
		c.DeriveBurst = DefaultDeriveBurst
	}
	return c
}

// FrameInfo is what the header of a frame says, as the codec parsed it.
type FrameInfo struct {
	KeyID   KeyID
	Sender  core.NetID
	Epoch   core.Epoch
	Counter core.FrameCounter
	Time    time.Time // the header timestamp as an absolute time: epoch start + timestamp
}

// Opener opens the frames a node receives: it checks their timestamp,
// refuses replays, finds the sender's key and authenticates. There is one
// Opener per local node; it is safe for concurrent use.
//
// It keeps, bounded, the replay state of each sender it authenticated and
// the AEADs it derived; nothing is kept for a frame that does not
// authenticate.
type Opener struct {
	ring *Keyring
	cfg  OpenerConfig

	mu      sync.Mutex
	senders *lru[core.NetID, senderState] // replay state, by recency of acceptance
	aeads   *lru[cacheKey, cipher.AEAD]   // derived AEADs, by recency of use
	bucket  tokenBucket                   // derivations on a cache miss
	nonces  []*[NonceSize]byte            // free nonce buffers, taken and returned under mu: as many as Opens ever ran at once
}

// senderState is the replay state of one sender.
type senderState struct {
	epoch core.Epoch // newest authenticated epoch
	win   window     // counters accepted in epoch
	// aead is the cache node of the AEAD that last opened this sender's
	// frames: a hint that spares the cache's map lookup on the common
	// path. The cache reuses nodes for other keys, so it is only used
	// after checking its key.
	aead *lruNode[cacheKey, cipher.AEAD]
}

// cacheKey names a derived AEAD. serial tells apart keys that had the same
// id at different times.
type cacheKey struct {
	id     KeyID
	serial uint64
	sender core.NetID
	epoch  core.Epoch
}

// names reports whether k is the key of f's AEAD under the key entry of the
// given serial, compared a field at a time without building that key (the
// compiler compares a struct with padding with a call).
func (k *cacheKey) names(f *FrameInfo, serial uint64) bool {
	return k.serial == serial && k.sender == f.Sender && k.epoch == f.Epoch && k.id == f.KeyID
}

// NewOpener returns an Opener that opens with the keys of r, configured by
// cfg (zero or negative fields take their defaults).
func NewOpener(r *Keyring, cfg OpenerConfig) *Opener {
	cfg = cfg.withDefaults()
	return &Opener{
		ring:    r,
		cfg:     cfg,
		senders: newLRU[core.NetID, senderState](cfg.MaxSenders),
		aeads:   newLRU[cacheKey, cipher.AEAD](cfg.MaxCachedKeys),
		bucket:  newTokenBucket(cfg.DeriveRate, cfg.DeriveBurst),
	}
}

// Open authenticates and decrypts sealed, the sealed part of a frame whose
// header is ad and says f, received at now. It appends the plaintext to dst
// and returns the extended slice; on error it returns nil and dst's spare
// capacity may have been overwritten.
//
// The checks run in this order, the cheap ones first, and the first that
// fails decides the error:
//
//  1. f.Time at most MaxAge before now (ErrStale), at most MaxSkew after it,
//     and the epoch's start at most MaxSkew after now (ErrFuture);
//  2. against the sender's replay state, without changing it: an epoch older
//     than the newest authenticated is ErrOldEpoch; in that epoch, counter
//     0, a counter already accepted or one below the window is ErrReplay; a
//     newer epoch passes;
//  3. f.KeyID in the keyring (ErrUnknownKey);
//  4. a sealed part at least TagSize long (ErrAuth);
//  5. the sender's AEAD from the cache, or else derived if the rate limit
//     gives a token (ErrRateLimited);
//  6. the AEAD opens sealed with ad under Nonce(f.Counter) (ErrAuth).
//
// Only then does Open keep the AEAD and, under a lock, check the replay
// state again and move it: a newer epoch replaces the sender's window, and
// the counter is marked. Of several concurrent Opens of one frame exactly
// one succeeds; the others get ErrReplay.
//
// When the sender is known and its AEAD cached, Open does not allocate
// beyond what appending to dst needs (once as many Opens as ever run at
// once have each had a nonce buffer).
func (o *Opener) Open(dst []byte, f FrameInfo, ad, sealed []byte, now time.Time) ([]byte, error) {
	if !f.Sender.IsValid() {
		return nil, fmt.Errorf("%w: invalid sender NetID", ErrAuth)
	}
	if err := o.checkTime(f, now); err != nil {
		return nil, err
	}

	snap := o.ring.load()
	entry := snap.keys[f.KeyID]

	o.mu.Lock()
	// The most recently accepted sender is checked before the map: a
	// burst of frames from one sender skips the hash.
	sender := o.senders.front()
	if sender == nil || sender.key != f.Sender {
		sender = o.senders.peek(f.Sender) // nil for a new sender
	}
	if err := precheck(f, sender); err != nil {
		o.mu.Unlock()
		return nil, err
	}
	if entry == nil {
		o.mu.Unlock()
		return nil, fmt.Errorf("%w: key id %d, sender %s counter %d", ErrUnknownKey, f.KeyID, f.Sender, f.Counter)
	}
	if len(sealed) < TagSize {
		o.mu.Unlock()
		return nil, fmt.Errorf("%w: sender %s counter %d: sealed part of %d bytes, shorter than the %d-byte tag",
			ErrAuth, f.Sender, f.Counter, len(sealed), TagSize)
	}
	var node *lruNode[cacheKey, cipher.AEAD]
	if sender != nil && sender.val.aead != nil && sender.val.aead.key.names(&f, entry.serial) {
		node = sender.val.aead
	} else {
		node = o.aeads.peek(cacheKey{id: f.KeyID, serial: entry.serial, sender: f.Sender, epoch: f.Epoch})
	}
	var aead cipher.AEAD
	if node != nil {
		o.aeads.touch(node)
		aead = node.val
	} else if !o.bucket.take(now) {
		o.mu.Unlock()
		return nil, fmt.Errorf("%w: sender %s epoch %s key id %d", ErrRateLimited, f.Sender, f.Epoch, f.KeyID)
	}
	// The nonce goes to the AEAD interface, so it lives on the heap: a
	// buffer from the free list, returned under the lock below.
	var nonce *[NonceSize]byte
	if n := len(o.nonces); n > 0 {
		nonce, o.nonces = o.nonces[n-1], o.nonces[:n-1]
	} else {
		nonce = new([NonceSize]byte)
	}
	o.mu.Unlock()

	if aead == nil {
		var err error
		if aead, err = deriveAEAD(entry.key, f.Sender, f.Epoch); err != nil {
			return nil, fmt.Errorf("%w: sender %s: %v", ErrAuth, f.Sender, err)
		}
	}

	*nonce = Nonce(f.Counter)
	out, err := aead.Open(dst, nonce[:], sealed, ad)
	if err != nil {
		o.mu.Lock()
		o.nonces = append(o.nonces, nonce)
		o.mu.Unlock()
		return nil, fmt.Errorf("%w: sender %s epoch %s counter %d key id %d: %v",
			ErrAuth, f.Sender, f.Epoch, f.Counter, f.KeyID, err)
	}

	o.mu.Lock()
	o.nonces = append(o.nonces, nonce)
	// Another Open may have evicted either node while the lock was
	// released; a node that still holds its key is still that key's.
	if node == nil || !node.key.names(&f, entry.serial) {
		ck := cacheKey{id: f.KeyID, serial: entry.serial, sender: f.Sender, epoch: f.Epoch}
		if node = o.aeads.peek(ck); node == nil {
			node = o.aeads.insert(ck)
			node.val = aead
		}
	}
	if sender == nil || sender.key != f.Sender {
		sender = o.senders.peek(f.Sender)
	}
	err = o.commitLocked(f, sender, node)
	o.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkTime checks the frame's timestamp and epoch start against now.
func (o *Opener) checkTime(f FrameInfo, now time.Time) error {
	// Sub saturates, so a timestamp far in the future gives the smallest
	// Duration, which the second test catches.
	switch age := since(now, f.Time); {
	case age > o.cfg.MaxAge:
		return fmt.Errorf("%w: sender %s counter %d sealed %v before now, max age %v",
			ErrStale, f.Sender, f.Counter, age, o.cfg.MaxAge)
	case age < -o.cfg.MaxSkew:
		return fmt.Errorf("%w: sender %s counter %d sealed %v after now, max skew %v",
			ErrFuture, f.Sender, f.Counter, f.Time.Sub(now), o.cfg.MaxSkew)
	}
	// The epoch start bounds how far a sender can move its epoch ahead;
	// compare in microseconds, as unsigned, as the wire carries it.
	limit := now.Add(o.cfg.MaxSkew).UnixMicro()
	if limit < 0 || f.Epoch.StartMicros > uint64(limit) {
		return fmt.Errorf("%w: sender %s epoch %s starts more than %v after now",
			ErrFuture, f.Sender, f.Epoch, o.cfg.MaxSkew)
	}
	return nil
}

// since returns now.Sub(t) on the wall clock (t comes from a frame header
// and has no monotonic reading, so that is what Sub does too). For times
// within 2^32 seconds of each other it computes what Sub does without Sub's
// overflow check, which cannot fail there.
func since(now, t time.Time) time.Duration {
	ns, ts := now.Unix(), t.Unix()
	const sane = 1 << 40 // seconds either side of 1970, some 35,000 years
	if uint64(ns+sane) < 2*sane && uint64(ts+sane) < 2*sane {
		if ds := ns - ts; ds > -1<<32 && ds < 1<<32 {
			return time.Duration(ds)*time.Second + time.Duration(now.Nanosecond()-t.Nanosecond())
		}
	}
	return now.Sub(t)
}

// precheck checks f against its sender's replay state, n (nil for a sender
// without one), without changing it. o.mu is held.
func precheck(f FrameInfo, n *lruNode[core.NetID, senderState]) error {
	if f.Counter == 0 {
		return fmt.Errorf("%w: sender %s epoch %s: counter 0 is never valid", ErrReplay, f.Sender, f.Epoch)
	}
	if n == nil {
		return nil
	}
	switch f.Epoch.Compare(n.val.epoch) {
	case -1:
		return oldEpochError(f, n.val.epoch)
	case 1:
		return nil
	}
	return replayError(f, &n.val.win)
}

// commitLocked records f, which authenticated with the AEAD of node, in its
// sender's replay state n (nil for a sender without one), checking it again
// since another Open may have moved the state. o.mu is held.
func (o *Opener) commitLocked(f FrameInfo, n *lruNode[core.NetID, senderState], node *lruNode[cacheKey, cipher.AEAD]) error {
	switch {
	case n == nil:
		n = o.senders.insert(f.Sender)
		n.val.epoch = f.Epoch
		n.val.win.reset()
	case f.Epoch.Compare(n.val.epoch) < 0:
		return oldEpochError(f, n.val.epoch)
	case f.Epoch.Compare(n.val.epoch) > 0:
		n.val.epoch = f.Epoch
		n.val.win.reset()
	default:
		if err := replayError(f, &n.val.win); err != nil {
			return err
		}
	}
	n.val.win.mark(f.Counter)
	n.val.aead = node
	o.senders.touch(n)
	return nil
}

// replayError returns the ErrReplay error of f against w, or nil when w
// accepts f's counter.
func replayError(f FrameInfo, w *window) error {
	switch w.check(f.Counter) {
	case seen:
		return fmt.Errorf("%w: sender %s epoch %s counter %d already accepted", ErrReplay, f.Sender, f.Epoch, f.Counter)
	case tooOld:
		return fmt.Errorf("%w: sender %s epoch %s counter %d older than the window (newest %d)",
			ErrReplay, f.Sender, f.Epoch, f.Counter, w.top)
	case zero:
		return fmt.Errorf("%w: sender %s epoch %s: counter 0 is never valid", ErrReplay, f.Sender, f.Epoch)
	}
	return nil
}

func oldEpochError(f FrameInfo, newest core.Epoch) error {
	return fmt.Errorf("%w: sender %s epoch %s counter %d, newest authenticated epoch %s",
		ErrOldEpoch, f.Sender, f.Epoch, f.Counter, newest)
}
