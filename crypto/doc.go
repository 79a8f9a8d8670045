// Package crypto seals and opens Chatter frames: AES-256-GCM under a key
// per sender, a keyring for rotation without downtime, and replay
// protection per sender. The codec package calls it; the wire format is in
// docs/wire-format.md and the threat model in docs/security.md.
//
// # Group keys
//
// Every member of a cluster holds the same group keys, 32 bytes each, in a
// [Keyring]: each key under a one-byte [KeyID] that frame headers carry, so
// a receiver picks the key without trial decryption. One key is the primary:
// it seals. All the keys open. [KeyFromSecret] turns a configured secret into
// a key by the original Chatter's rule (cut to 32 bytes, or padded with
// "01234567890123456789012345678901") and warns when the rule applies or the
// result is one of the [WellKnownSecrets], which anyone can use to read and
// forge.
//
// # Sender keys and nonces
//
// No frame is sealed with a group key itself. Each node seals with its own
// sender key, derived by [DeriveSenderKey]:
//
//	HKDF-SHA256(secret = group key, salt = empty,
//	            info = "chatter v1 sender key" || sender NetID || epoch, length = 32)
//
// The epoch changes at every start of a node (start time and 64 random
// bits), so a restarted node has a new key. The nonce is [Nonce] of the
// frame counter, which the node increments for every frame it seals in an
// epoch. No (key, nonce) pair is ever used twice, and no nonce is random.
// The associated data is the whole frame header.
//
// A [Sealer] gives the local node its AEAD under the current primary key,
// derived once per key. An [Opener] derives each remote sender's AEAD and
// caches it, bounded, after the first frame that opens with it.
//
// # Acceptance and replay
//
// [Opener.Open] checks a frame, cheapest check first:
//
//  1. its timestamp is at most MaxAge old (default 2 minutes) and at most
//     MaxSkew ahead (default 30 seconds), and its epoch does not start more
//     than MaxSkew ahead ([ErrStale], [ErrFuture]);
//  2. its epoch is not older than the newest epoch authenticated from the
//     sender ([ErrOldEpoch]), and in that epoch its counter was not accepted
//     and is not older than the replay window of [WindowSize] (8192)
//     counters below the highest accepted ([ErrReplay]); counter 0 is never
//     valid ([ErrReplay]);
//  3. its key id is in the keyring ([ErrUnknownKey]);
//  4. the sender's AEAD is cached, or the derivation rate limit grants a
//     derivation ([ErrRateLimited]);
//  5. it authenticates ([ErrAuth]).
//
// Nothing is kept for a frame that fails: only an authenticated frame
// caches its AEAD, creates or moves its sender's state (a newer epoch
// replaces the window) and marks its counter. The check of step 2 is made
// again under a lock at that point, so of concurrent copies of one frame
// exactly one is accepted. Sender state is bounded by MaxSenders (the least
// recently accepted sender is forgotten first) and the AEAD cache by
// MaxCachedKeys. The clock is the now argument; the package never reads the
// time itself.
//
// # Key rotation
//
// To replace key 1 by key 2 on a running cluster: Add(2, key2) on every
// node (all now open both); then Use(2) on every node (each seals with key 2;
// frames under key 1 still open); then, once no frame under key 1 can still
// be in flight (MaxAge after the last node switched), Remove(1) everywhere.
// The primary key cannot be removed ([ErrPrimaryKey]), and an id can only be
// given another key after its old key was removed ([ErrKeyExists]).
package crypto
