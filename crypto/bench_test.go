package crypto_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"testing"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

var benchSizes = []int{64, 1024}

// BenchmarkOpen opens frames of a known sender whose key is cached: the
// path every frame of a running cluster takes.
func BenchmarkOpen(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			now := t0()
			a := newPeer(b, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
			o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
			// One window of frames, opened again after the window is
			// reset (outside the timer).
			frames := make([]frame, crypto.WindowSize)
			payload := bytes.Repeat([]byte{0x5a}, size)
			for i := range frames {
				frames[i] = a.seal(payload, now)
			}
			dst := make([]byte, 0, size)
			if _, err := o.Open(dst, &frames[0].info, frames[0].ad, frames[0].sealed, now); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 1
			for b.Loop() {
				if i == len(frames) {
					b.StopTimer()
					crypto.ResetReplay(o, a.id)
					i = 0
					b.StartTimer()
				}
				f := &frames[i]
				if _, err := o.Open(dst, &f.info, f.ad, f.sealed, now); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkSeal seals frames as the codec does: Sealer.Key, then
// aead.Seal into a reused buffer under the next counter's nonce.
func BenchmarkSeal(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			a := newPeer(b, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
			payload := bytes.Repeat([]byte{0x5a}, size)
			ad := header(crypto.FrameInfo{KeyID: 1, Sender: a.id, Epoch: a.epoch, Counter: 1, Time: t0()})
			dst := make([]byte, 0, size+crypto.TagSize)
			// The nonce lives in a reused buffer: a local array passed to
			// the AEAD interface would escape and cost an allocation.
			nonce := new([crypto.NonceSize]byte)
			var c core.FrameCounter
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				c++
				_, aead := a.sealer.Key()
				*nonce = crypto.Nonce(c)
				dst = aead.Seal(dst[:0], nonce[:], payload, ad)
			}
		})
	}
}

// BenchmarkDeriveSenderKey measures what a cache miss costs: HKDF and the
// AES-GCM key schedule. The rate limit bounds how often garbage buys it.
func BenchmarkDeriveSenderKey(b *testing.B) {
	sender := core.MustParseNetID("198.18.0.1:29999")
	epoch := core.NewEpoch(t0(), 1)
	b.ReportAllocs()
	for b.Loop() {
		k, err := crypto.DeriveSenderKey(testKey(1), sender, epoch)
		if err != nil {
			b.Fatal(err)
		}
		block, err := aes.NewCipher(k[:])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cipher.NewGCM(block); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenRateLimited measures what a garbage frame from an unknown
// sender costs once the derivation budget is spent.
func BenchmarkOpenRateLimited(b *testing.B) {
	now := t0()
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{DeriveBurst: 1})
	info := crypto.FrameInfo{KeyID: 1, Sender: core.MustParseNetID("198.18.0.9:1"), Epoch: core.NewEpoch(now, 1), Counter: 1, Time: now}
	sealed := make([]byte, 100)
	o.Open(nil, &info, nil, sealed, now) // spends the one token
	b.ReportAllocs()
	for b.Loop() {
		info.Counter++
		if _, err := o.Open(nil, &info, nil, sealed, now); err == nil {
			b.Fatal("garbage opened")
		}
	}
}
