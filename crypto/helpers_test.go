package crypto_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

// t0 is the receivers' clock in these tests.
func t0() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

// testKey returns a key whose bytes are all b.
func testKey(b byte) crypto.Key {
	var k crypto.Key
	for i := range k {
		k[i] = b
	}
	return k
}

// peer is a sending node: its NetID, epoch, keyring and sealer, and the
// next frame counter.
type peer struct {
	id     core.NetID
	epoch  core.Epoch
	ring   *crypto.Keyring
	sealer *crypto.Sealer
	last   core.FrameCounter
}

// newPeer returns a peer at addr started an hour before t0 (plus offset)
// with the given epoch random bits, sealing with ring.
func newPeer(t testing.TB, addr string, ring *crypto.Keyring, offset time.Duration, random uint64) *peer {
	t.Helper()
	p := &peer{id: core.MustParseNetID(addr), ring: ring}
	p.epoch = core.NewEpoch(t0().Add(-time.Hour+offset), random)
	s, err := crypto.NewSealer(ring, p.id, p.epoch)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	p.sealer = s
	return p
}

// restart gives p a new epoch, later by d, and restarts its counter.
func (p *peer) restart(t testing.TB, d time.Duration, random uint64) {
	t.Helper()
	p.epoch = core.NewEpoch(p.epoch.Start().Add(d), random)
	s, err := crypto.NewSealer(p.ring, p.id, p.epoch)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	p.sealer, p.last = s, 0
}

// frame is a sealed frame: what its header says, the header bytes (the
// associated data), the sealed part, and the plaintext it was made from.
type frame struct {
	info    crypto.FrameInfo
	ad      []byte
	sealed  []byte
	payload []byte
}

// seal seals payload under the next counter, timestamped at.
func (p *peer) seal(payload []byte, at time.Time) frame {
	p.last++
	return p.sealAt(p.last, payload, at)
}

// sealAt seals payload under counter c, timestamped at.
func (p *peer) sealAt(c core.FrameCounter, payload []byte, at time.Time) frame {
	id, aead := p.sealer.Key()
	info := crypto.FrameInfo{KeyID: id, Sender: p.id, Epoch: p.epoch, Counter: c, Time: at.Truncate(time.Microsecond)}
	ad := header(info)
	n := crypto.Nonce(c)
	return frame{info: info, ad: ad, sealed: aead.Seal(nil, n[:], payload, ad), payload: payload}
}

// header returns header-like associated data for info: the fields in the
// wire format's order (kind 1, no length field).
func header(info crypto.FrameInfo) []byte {
	b := []byte{0x43, 0x48, 1, 1, byte(info.KeyID)}
	b, _ = info.Sender.AppendBinary(b)
	b, _ = info.Epoch.AppendBinary(b)
	b = binary.AppendUvarint(b, uint64(info.Counter))
	return binary.AppendUvarint(b, uint64(info.Time.Sub(info.Epoch.Start())/time.Microsecond))
}

// open opens f at o at time now into a fresh slice.
func open(o *crypto.Opener, f frame, now time.Time) ([]byte, error) {
	return o.Open(nil, &f.info, f.ad, f.sealed, now)
}
