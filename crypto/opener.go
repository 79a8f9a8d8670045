package crypto

import (
	"crypto/cipher"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
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
//
// Each sender's state has a lock of its own. A frame from the sender whose
// frame was accepted last, under the AEAD that sender last used, takes the
// fast path: it checks, opens and marks its counter under that sender's
// lock alone, once. Other frames take the Opener's lock to find the sender
// and the AEAD, and again to keep them.
type Opener struct {
	ring *Keyring
	cfg  OpenerConfig

	// last is the sender of the frame accepted last (the front of
	// senders), or nil: its frames take the fast path. It is stored
	// under mu.
	last atomic.Pointer[sender]

	mu      sync.Mutex
	senders *lru[core.NetID, *sender]   // replay state, by recency of acceptance
	aeads   *lru[cacheKey, cipher.AEAD] // derived AEADs, by recency of use
	bucket  tokenBucket                 // derivations on a cache miss
	nonces  []*[NonceSize]byte          // free nonce buffers of the slow path, taken and returned under mu: as many as slow Opens ever ran at once
}

// sender is the replay state of one sender. id never changes; the other
// fields are guarded by mu. The Opener's lock, when both are taken, comes
// first.
type sender struct {
	id core.NetID
	mu sync.Mutex
	// gone is set when the state was evicted from the Opener's senders:
	// a fast path that found it through last then takes the slow path.
	gone  bool
	epoch core.Epoch // newest authenticated epoch
	win   window     // counters accepted in epoch
	// aead, when not nil, is the AEAD of key, which opened this sender's
	// last accepted frame and is in the Opener's cache: evicting it from
	// the cache clears it here. The fast path opens with it.
	aead cipher.AEAD
	key  cacheKey
	// nonce is the fast path's nonce buffer, used under mu (the AEAD
	// interface makes a local nonce escape to the heap).
	nonce [NonceSize]byte
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
		senders: newLRU[core.NetID, *sender](cfg.MaxSenders),
		aeads:   newLRU[cacheKey, cipher.AEAD](cfg.MaxCachedKeys),
		bucket:  newTokenBucket(cfg.DeriveRate, cfg.DeriveBurst),
	}
}

// Open authenticates and decrypts sealed, the sealed part of a frame whose
// header is ad and says *f, received at now. It appends the plaintext to
// dst and returns the extended slice; on error it returns nil and dst's
// spare capacity may have been overwritten. It does not keep f.
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
// Only then does Open keep the AEAD and, under the sender's lock, check the
// replay state again and move it: a newer epoch replaces the sender's
// window, and the counter is marked. (On the fast path, see [Opener], the
// sender's lock is held from step 2 to the mark.) Of several concurrent
// Opens of one frame exactly one succeeds; the others get ErrReplay.
//
// When the sender is known and its AEAD cached, Open does not allocate
// beyond what appending to dst needs (once as many Opens as ever run at
// once on the slow path have each had a nonce buffer).
func (o *Opener) Open(dst []byte, f *FrameInfo, ad, sealed []byte, now time.Time) ([]byte, error) {
	if !f.Sender.IsValid() {
		return nil, fmt.Errorf("%w: invalid sender NetID", ErrAuth)
	}
	if err := o.checkTime(f, now); err != nil {
		return nil, err
	}
	entry := o.ring.load().keys[f.KeyID]
	if s := o.last.Load(); s != nil && s.id == f.Sender && entry != nil && len(sealed) >= TagSize {
		s.mu.Lock()
		if !s.gone && s.aead != nil && s.key.names(f, entry.serial) {
			return o.openFast(dst, f, s, ad, sealed)
		}
		s.mu.Unlock()
	}
	return o.openSlow(dst, f, entry, ad, sealed, now)
}

// openFast opens f with s's AEAD, which names f's key, and accepts it:
// steps 2 and 6 of Open and the mark, under s.mu, which is held and which
// it releases.
func (o *Opener) openFast(dst []byte, f *FrameInfo, s *sender, ad, sealed []byte) ([]byte, error) {
	if err := precheck(f, s); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.nonce = Nonce(f.Counter)
	out, err := s.aead.Open(dst, s.nonce[:], sealed, ad)
	if err != nil {
		s.mu.Unlock()
		return nil, authError(f, err)
	}
	// precheck passed under the same lock: a newer epoch (which the
	// AEAD, cached for s's newest, does not name) replaces the window.
	if f.Epoch != s.epoch {
		s.epoch = f.Epoch
		s.win.reset()
	}
	s.win.mark(f.Counter)
	s.mu.Unlock()
	if o.last.Load() != s {
		// A slow Open accepted another sender meanwhile: make s the most
		// recent again, as it was accepted after.
		o.mu.Lock()
		if n := o.senders.peek(f.Sender); n != nil && n.val == s {
			o.touchLocked(n)
		}
		o.mu.Unlock()
	}
	return out, nil
}

// openSlow is Open for a frame that does not take the fast path. entry is
// f.KeyID's key, or nil.
func (o *Opener) openSlow(dst []byte, f *FrameInfo, entry *keyEntry, ad, sealed []byte, now time.Time) ([]byte, error) {
	o.mu.Lock()
	var s *sender
	if n := o.senders.peek(f.Sender); n != nil { // nil for a new sender
		s = n.val
	}
	var (
		aead cipher.AEAD
		node *lruNode[cacheKey, cipher.AEAD]
	)
	if s != nil {
		s.mu.Lock()
		err := precheck(f, s)
		s.mu.Unlock()
		if err != nil {
			o.mu.Unlock()
			return nil, err
		}
	} else if f.Counter == 0 {
		o.mu.Unlock()
		return nil, counterZeroError(f)
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
	ck := cacheKey{id: f.KeyID, serial: entry.serial, sender: f.Sender, epoch: f.Epoch}
	if node = o.aeads.peek(ck); node != nil {
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
			o.mu.Lock()
			o.nonces = append(o.nonces, nonce)
			o.mu.Unlock()
			return nil, fmt.Errorf("%w: sender %s: %v", ErrAuth, f.Sender, err)
		}
	}

	*nonce = Nonce(f.Counter)
	out, err := aead.Open(dst, nonce[:], sealed, ad)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nonces = append(o.nonces, nonce)
	if err != nil {
		return nil, authError(f, err)
	}
	if err := o.acceptLocked(f, ck, aead); err != nil {
		return nil, err
	}
	return out, nil
}

// acceptLocked records f, which authenticated with aead, the AEAD of ck:
// it caches aead and, checking the sender's replay state again since
// another Open may have moved it, marks f's counter. o.mu is held.
func (o *Opener) acceptLocked(f *FrameInfo, ck cacheKey, aead cipher.AEAD) error {
	n := o.senders.peek(f.Sender)
	if n != nil {
		s := n.val
		s.mu.Lock()
		err := commit(f, s)
		s.mu.Unlock()
		if err != nil {
			return err
		}
	} else {
		n = o.senders.insert(f.Sender)
		if old := n.val; old != nil { // evicted: its fast path must not run
			old.mu.Lock()
			old.gone, old.aead = true, nil
			old.mu.Unlock()
		}
		n.val = &sender{id: f.Sender, epoch: f.Epoch}
		n.val.win.mark(f.Counter)
	}
	// Another Open may have cached ck meanwhile, or evicted it.
	if node := o.aeads.peek(ck); node != nil {
		aead = node.val
		o.aeads.touch(node)
	} else {
		if old := o.aeads.oldest(); old != nil { // to be evicted: no sender may open with it any more
			o.forgetAEADLocked(old.key)
		}
		o.aeads.insert(ck).val = aead
	}
	s := n.val
	s.mu.Lock()
	// A concurrent Open of a newer epoch may have moved s past ck's epoch.
	if s.epoch == ck.epoch {
		s.aead, s.key = aead, ck
	}
	s.mu.Unlock()
	o.senders.touch(n)
	o.last.Store(s)
	return nil
}

// forgetAEADLocked clears the AEAD of k, leaving the cache, from the
// sender state that holds it, if any, so that every AEAD a sender holds is
// in the cache. o.mu is held.
func (o *Opener) forgetAEADLocked(k cacheKey) {
	n := o.senders.peek(k.sender)
	if n == nil {
		return
	}
	s := n.val
	s.mu.Lock()
	if s.aead != nil && s.key == k {
		s.aead = nil
	}
	s.mu.Unlock()
}

// touchLocked makes n, the node of s, the most recent sender, with its
// AEAD the most recently used. o.mu is held.
func (o *Opener) touchLocked(n *lruNode[core.NetID, *sender]) {
	s := n.val
	s.mu.Lock()
	ck, ok := s.key, s.aead != nil
	s.mu.Unlock()
	if ok {
		if node := o.aeads.peek(ck); node != nil {
			o.aeads.touch(node)
		}
	}
	o.senders.touch(n)
	o.last.Store(s)
}

// checkTime checks the frame's timestamp and epoch start against now.
func (o *Opener) checkTime(f *FrameInfo, now time.Time) error {
	// Sub saturates, so a timestamp far in the future gives the smallest
	// Duration, which the second test catches. The epoch start bounds how
	// far a sender can move its epoch ahead; it is compared in
	// microseconds, as unsigned, as the wire carries it.
	age := since(now, f.Time)
	if age <= o.cfg.MaxAge && age >= -o.cfg.MaxSkew {
		// f.Time is at most MaxSkew after now, so an epoch that starts
		// by f.Time's whole second does too: the common case, decided
		// without another conversion of now.
		if ts := f.Time.Unix(); ts >= 0 && ts < 1<<40 && f.Epoch.StartMicros <= uint64(ts)*1e6 {
			return nil
		}
		if limit := now.Add(o.cfg.MaxSkew).UnixMicro(); limit >= 0 && f.Epoch.StartMicros <= uint64(limit) {
			return nil
		}
	}
	return o.timeError(f, now, age)
}

// timeError returns the error of a frame that checkTime refuses, whose age
// is age.
func (o *Opener) timeError(f *FrameInfo, now time.Time, age time.Duration) error {
	switch {
	case age > o.cfg.MaxAge:
		return fmt.Errorf("%w: sender %s counter %d sealed %v before now, max age %v",
			ErrStale, f.Sender, f.Counter, age, o.cfg.MaxAge)
	case age < -o.cfg.MaxSkew:
		return fmt.Errorf("%w: sender %s counter %d sealed %v after now, max skew %v",
			ErrFuture, f.Sender, f.Counter, f.Time.Sub(now), o.cfg.MaxSkew)
	}
	return fmt.Errorf("%w: sender %s epoch %s starts more than %v after now",
		ErrFuture, f.Sender, f.Epoch, o.cfg.MaxSkew)
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

// precheck checks f against its sender's replay state s without changing
// it. s.mu is held.
func precheck(f *FrameInfo, s *sender) error {
	if f.Counter == 0 {
		return counterZeroError(f)
	}
	if f.Epoch == s.epoch { // the common case, without Compare's branches
		return replayError(f, &s.win)
	}
	switch f.Epoch.Compare(s.epoch) {
	case -1:
		return oldEpochError(f, s.epoch)
	case 1:
		return nil
	}
	return replayError(f, &s.win)
}

// commit records f, which authenticated, in its sender's replay state s,
// checking it again since another Open may have moved the state. s.mu is
// held.
func commit(f *FrameInfo, s *sender) error {
	switch c := f.Epoch.Compare(s.epoch); {
	case c < 0:
		return oldEpochError(f, s.epoch)
	case c > 0:
		s.epoch = f.Epoch
		s.win.reset()
	default:
		if err := replayError(f, &s.win); err != nil {
			return err
		}
	}
	s.win.mark(f.Counter)
	return nil
}

// replayError returns the ErrReplay error of f against w, or nil when w
// accepts f's counter.
func replayError(f *FrameInfo, w *window) error {
	switch w.check(f.Counter) {
	case seen:
		return fmt.Errorf("%w: sender %s epoch %s counter %d already accepted", ErrReplay, f.Sender, f.Epoch, f.Counter)
	case tooOld:
		return fmt.Errorf("%w: sender %s epoch %s counter %d older than the window (newest %d)",
			ErrReplay, f.Sender, f.Epoch, f.Counter, w.top)
	case zero:
		return counterZeroError(f)
	}
	return nil
}

func counterZeroError(f *FrameInfo) error {
	return fmt.Errorf("%w: sender %s epoch %s: counter 0 is never valid", ErrReplay, f.Sender, f.Epoch)
}

func oldEpochError(f *FrameInfo, newest core.Epoch) error {
	return fmt.Errorf("%w: sender %s epoch %s counter %d, newest authenticated epoch %s",
		ErrOldEpoch, f.Sender, f.Epoch, f.Counter, newest)
}

func authError(f *FrameInfo, err error) error {
	return fmt.Errorf("%w: sender %s epoch %s counter %d key id %d: %v",
		ErrAuth, f.Sender, f.Epoch, f.Counter, f.KeyID, err)
}
