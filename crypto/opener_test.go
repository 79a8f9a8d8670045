package crypto_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

// wantErr fails t unless err matches want (nil meaning no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

func TestOpenRoundTrip(t *testing.T) {
	ring := crypto.NewKeyring(1, testKey(1))
	a := newPeer(t, "198.18.0.1:29999", ring, 0, 1)
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
	for i, payload := range [][]byte{nil, {}, []byte("hello"), bytes.Repeat([]byte{0xa5}, 5000)} {
		f := a.seal(payload, t0())
		dst := []byte("prefix")
		got, err := o.Open(dst, &f.info, f.ad, f.sealed, t0())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if diff := cmp.Diff(append([]byte("prefix"), payload...), got); diff != "" {
			t.Errorf("frame %d: opened (-want +got):\n%s", i, diff)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	now := t0()
	tests := []struct {
		name string
		// frame returns the frame to open, after opening whatever it
		// needs first at o.
		frame func(t *testing.T, a *peer, o *crypto.Opener) frame
		want  error
	}{
		{
			name:  "fresh",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame { return a.seal([]byte("x"), now) },
		},
		{
			name: "wrong key",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				b := newPeer(t, a.id.String(), crypto.NewKeyring(1, testKey(9)), 0, a.epoch.Random)
				b.epoch = a.epoch
				return b.seal([]byte("x"), now)
			},
			want: crypto.ErrAuth,
		},
		{
			name: "unknown key id",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				if err := a.ring.Add(7, testKey(1)); err != nil {
					t.Fatal(err)
				}
				if err := a.ring.Use(7); err != nil {
					t.Fatal(err)
				}
				return a.seal([]byte("x"), now)
			},
			want: crypto.ErrUnknownKey,
		},
		{
			name: "another sender's frame under this sender's name",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				b := newPeer(t, "198.18.0.2:29999", a.ring, 0, a.epoch.Random)
				f := b.seal([]byte("x"), now)
				f.info.Sender = a.id
				return f
			},
			want: crypto.ErrAuth,
		},
		{
			name: "sealed part shorter than the tag",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				f := a.seal(nil, now)
				f.sealed = f.sealed[:crypto.TagSize-1]
				return f
			},
			want: crypto.ErrAuth,
		},
		{
			name: "invalid sender",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				f := a.seal(nil, now)
				f.info.Sender = core.NetID{}
				return f
			},
			want: crypto.ErrAuth,
		},
		{
			name: "stale",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				return a.seal(nil, now.Add(-crypto.DefaultMaxAge-time.Microsecond))
			},
			want: crypto.ErrStale,
		},
		{
			name: "as old as MaxAge",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				return a.seal(nil, now.Add(-crypto.DefaultMaxAge))
			},
		},
		{
			name: "future",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				return a.seal(nil, now.Add(crypto.DefaultMaxSkew+time.Microsecond))
			},
			want: crypto.ErrFuture,
		},
		{
			name: "as far ahead as MaxSkew",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				return a.seal(nil, now.Add(crypto.DefaultMaxSkew))
			},
		},
		{
			name: "epoch starting after now plus MaxSkew",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				a.restart(t, time.Hour+crypto.DefaultMaxSkew+time.Second, 5)
				f := a.seal(nil, now)
				return f
			},
			want: crypto.ErrFuture,
		},
		{
			name: "epoch start beyond int64 microseconds",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				f := a.seal(nil, now)
				f.info.Epoch.StartMicros = 1 << 63
				return f
			},
			want: crypto.ErrFuture,
		},
		{
			name: "counter 0",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				return a.sealAt(0, nil, now)
			},
			want: crypto.ErrReplay,
		},
		{
			name: "replay",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				f := a.seal([]byte("x"), now)
				_, err := open(o, f, now)
				wantErr(t, "first open", err, nil)
				return f
			},
			want: crypto.ErrReplay,
		},
		{
			name: "older than the window",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				old := a.sealAt(1000, nil, now)
				_, err := open(o, a.sealAt(1000+crypto.WindowSize, nil, now), now)
				wantErr(t, "newest", err, nil)
				return old
			},
			want: crypto.ErrReplay,
		},
		{
			name: "oldest in the window",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				old := a.sealAt(1001, nil, now)
				_, err := open(o, a.sealAt(1000+crypto.WindowSize, nil, now), now)
				wantErr(t, "newest", err, nil)
				return old
			},
		},
		{
			name: "older epoch after a newer one",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				old := a.seal(nil, now)
				a.restart(t, time.Minute, 2)
				_, err := open(o, a.seal(nil, now), now)
				wantErr(t, "newer epoch", err, nil)
				return old
			},
			want: crypto.ErrOldEpoch,
		},
		{
			name: "same start, smaller random is older",
			frame: func(t *testing.T, a *peer, o *crypto.Opener) frame {
				a.restart(t, 0, a.epoch.Random+1)
				_, err := open(o, a.seal(nil, now), now)
				wantErr(t, "newer epoch", err, nil)
				a.restart(t, 0, a.epoch.Random-1)
				return a.seal(nil, now)
			},
			want: crypto.ErrOldEpoch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 100)
			o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
			f := tt.frame(t, a, o)
			got, err := open(o, f, now)
			wantErr(t, "Open", err, tt.want)
			if err != nil {
				if got != nil {
					t.Errorf("Open returned %q with its error", got)
				}
				if msg := err.Error(); tt.want != crypto.ErrAuth && !bytes.Contains([]byte(msg), []byte(f.info.Sender.String())) {
					t.Errorf("error %q does not name the sender", msg)
				}
				return
			}
			if diff := cmp.Diff(f.payload, got, cmp.Comparer(bytes.Equal)); diff != "" {
				t.Errorf("opened (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOpenFailureKeepsNoState checks that frames that fail do not move the
// replay state: the genuine frame still opens after each of them.
func TestOpenFailureKeepsNoState(t *testing.T) {
	now := t0()
	a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
	if _, err := open(o, a.seal(nil, now), now); err != nil {
		t.Fatal(err)
	}
	f := a.seal([]byte("genuine"), now)
	// A forged frame of a newer epoch and a far counter must not move the
	// epoch or the window.
	forged := f
	forged.info.Epoch.StartMicros++
	forged.info.Counter += 2 * crypto.WindowSize
	_, err := open(o, forged, now)
	wantErr(t, "forged newer epoch", err, crypto.ErrAuth)
	forged = f
	forged.info.Counter += 2 * crypto.WindowSize
	_, err = open(o, forged, now)
	wantErr(t, "forged far counter", err, crypto.ErrAuth)
	got, err := open(o, f, now)
	wantErr(t, "genuine", err, nil)
	if diff := cmp.Diff("genuine", string(got)); diff != "" {
		t.Errorf("opened (-want +got):\n%s", diff)
	}
}

// TestOpenTamper flips every bit of the header and of the sealed part.
func TestOpenTamper(t *testing.T) {
	now := t0()
	a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
	// Cache the sender's key, so the tampered frames do not use up the
	// derivation budget.
	if _, err := open(o, a.seal(nil, now), now); err != nil {
		t.Fatal(err)
	}
	f := a.seal([]byte("a payload of some length"), now)
	for _, part := range []string{"ad", "sealed"} {
		buf := f.ad
		if part == "sealed" {
			buf = f.sealed
		}
		for i := range buf {
			for bit := range 8 {
				g := frame{info: f.info, ad: bytes.Clone(f.ad), sealed: bytes.Clone(f.sealed)}
				if part == "ad" {
					g.ad[i] ^= 1 << bit
				} else {
					g.sealed[i] ^= 1 << bit
				}
				if _, err := open(o, g, now); !errors.Is(err, crypto.ErrAuth) {
					t.Fatalf("%s byte %d bit %d flipped: error = %v, want %v", part, i, bit, err, crypto.ErrAuth)
				}
			}
		}
	}
	// Dropping or adding a header byte fails too.
	for _, ad := range [][]byte{f.ad[:len(f.ad)-1], append(bytes.Clone(f.ad), 0), nil} {
		if _, err := o.Open(nil, &f.info, ad, f.sealed, now); !errors.Is(err, crypto.ErrAuth) {
			t.Fatalf("header of %d bytes: error = %v, want %v", len(ad), err, crypto.ErrAuth)
		}
	}
	if _, err := open(o, f, now); err != nil {
		t.Fatalf("the untouched frame: %v", err)
	}
}

// TestOpenTruncated opens every prefix of a sealed part.
func TestOpenTruncated(t *testing.T) {
	now := t0()
	a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
	if _, err := open(o, a.seal(nil, now), now); err != nil {
		t.Fatal(err)
	}
	f := a.seal([]byte("a payload of some length"), now)
	for n := range len(f.sealed) {
		g := f
		g.sealed = f.sealed[:n]
		if _, err := open(o, g, now); !errors.Is(err, crypto.ErrAuth) {
			t.Fatalf("sealed cut to %d of %d bytes: error = %v, want %v", n, len(f.sealed), err, crypto.ErrAuth)
		}
	}
	if _, err := open(o, f, now); err != nil {
		t.Fatalf("the whole frame: %v", err)
	}
}

func TestOpenOutOfOrder(t *testing.T) {
	now := t0()
	a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
	var frames []frame
	for i := range 300 {
		frames = append(frames, a.seal(fmt.Appendf(nil, "frame %d", i), now))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(frames), func(i, j int) { frames[i], frames[j] = frames[j], frames[i] })
	for _, f := range frames {
		got, err := open(o, f, now)
		wantErr(t, fmt.Sprintf("counter %d", f.info.Counter), err, nil)
		if diff := cmp.Diff(string(f.payload), string(got)); diff != "" {
			t.Fatalf("counter %d (-want +got):\n%s", f.info.Counter, diff)
		}
	}
	for _, f := range frames {
		_, err := open(o, f, now)
		wantErr(t, fmt.Sprintf("counter %d again", f.info.Counter), err, crypto.ErrReplay)
	}
}

func TestOpenNewerEpochResetsWindow(t *testing.T) {
	now := t0()
	a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
	before := a.sealAt(50000, nil, now)
	stillInOld := a.sealAt(49999, nil, now)
	_, err := open(o, before, now)
	wantErr(t, "old epoch, counter 50000", err, nil)

	a.restart(t, 30*time.Minute, 2) // the sender restarted: counters start again at 1
	first := a.seal([]byte("one"), now)
	second := a.seal([]byte("two"), now)
	_, err = open(o, second, now)
	wantErr(t, "new epoch, counter 2", err, nil)
	_, err = open(o, first, now)
	wantErr(t, "new epoch, counter 1 (in the new window)", err, nil)
	_, err = open(o, first, now)
	wantErr(t, "new epoch, counter 1 again", err, crypto.ErrReplay)
	_, err = open(o, stillInOld, now)
	wantErr(t, "old epoch, counter 49999", err, crypto.ErrOldEpoch)
}

// TestOpenConcurrentSameFrame opens each frame from 8 goroutines at once:
// exactly one may succeed. Run with -race.
func TestOpenConcurrentSameFrame(t *testing.T) {
	now := t0()
	a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	b := newPeer(t, "198.18.0.2:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
	const workers = 8
	for round := range 50 {
		// Round 0 has no cached key and no sender state; later ones do.
		// Every tenth round b moves to a new epoch.
		if round%10 == 9 {
			b.restart(t, time.Duration(round)*time.Second, uint64(round))
		}
		fs := []frame{a.seal([]byte("a"), now), b.seal([]byte("b"), now)}
		for _, f := range fs {
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				errs   = make([]error, workers)
				opened = make([][]byte, workers)
			)
			for w := range workers {
				wg.Go(func() {
					<-start
					opened[w], errs[w] = o.Open(make([]byte, 0, 64), &f.info, f.ad, f.sealed, now)
				})
			}
			close(start)
			wg.Wait()
			ok := 0
			for w, err := range errs {
				switch {
				case err == nil:
					ok++
					if string(opened[w]) != string(f.payload) {
						t.Errorf("round %d: opened %q, want %q", round, opened[w], f.payload)
					}
				case !errors.Is(err, crypto.ErrReplay):
					t.Errorf("round %d worker %d: error = %v, want nil or %v", round, w, err, crypto.ErrReplay)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d sender %s: %d opens succeeded, want exactly 1", round, f.info.Sender, ok)
			}
		}
	}
}

// TestKeyRotation follows the rotation procedure between two nodes that
// share key 1: add key 2 everywhere, use it everywhere, remove key 1.
func TestKeyRotation(t *testing.T) {
	now := t0()
	k1, k2 := testKey(1), testKey(2)
	ringA, ringB := crypto.NewKeyring(1, k1), crypto.NewKeyring(1, k1)
	a := newPeer(t, "198.18.0.1:29999", ringA, 0, 1)
	b := newPeer(t, "198.18.0.2:29999", ringB, 0, 2)
	atA := crypto.NewOpener(ringA, crypto.OpenerConfig{})
	atB := crypto.NewOpener(ringB, crypto.OpenerConfig{})

	f := a.seal([]byte("under key 1"), now)
	lateKey1 := a.seal([]byte("under key 1, late"), now)
	if f.info.KeyID != 1 {
		t.Fatalf("frame sealed under key id %d, want 1", f.info.KeyID)
	}
	_, err := open(atB, f, now)
	wantErr(t, "A to B under key 1", err, nil)

	// Step 1: add key 2 everywhere.
	for _, r := range []*crypto.Keyring{ringA, ringB} {
		if err := r.Add(2, k2); err != nil {
			t.Fatal(err)
		}
	}
	// Step 2: use key 2, A first; B still seals with key 1 and both open.
	if err := ringA.Use(2); err != nil {
		t.Fatal(err)
	}
	f = a.seal([]byte("under key 2"), now)
	if f.info.KeyID != 2 {
		t.Fatalf("after Use(2) A seals under key id %d, want 2", f.info.KeyID)
	}
	got, err := open(atB, f, now)
	wantErr(t, "A to B under key 2", err, nil)
	if diff := cmp.Diff("under key 2", string(got)); diff != "" {
		t.Errorf("opened (-want +got):\n%s", diff)
	}
	fb := b.seal([]byte("B under key 1"), now)
	if fb.info.KeyID != 1 {
		t.Fatalf("B seals under key id %d, want 1", fb.info.KeyID)
	}
	_, err = open(atA, fb, now)
	wantErr(t, "B to A under key 1", err, nil)

	// Step 3: B cannot remove its primary; once it uses key 2 it can.
	wantErr(t, "B removes its primary", ringB.Remove(1), crypto.ErrPrimaryKey)
	if err := ringB.Use(2); err != nil {
		t.Fatal(err)
	}
	if err := ringB.Remove(1); err != nil {
		t.Fatal(err)
	}
	fb = b.seal([]byte("B under key 2"), now)
	_, err = open(atA, fb, now)
	wantErr(t, "B to A under key 2", err, nil)

	// A frame still sealed under key 1 is refused at B.
	_, err = open(atB, lateKey1, now)
	wantErr(t, "A to B under the removed key 1", err, crypto.ErrUnknownKey)

	// An id reused for another key is a different key: frames sealed
	// under the old one do not open with the new one.
	if err := ringB.Add(1, testKey(3)); err != nil {
		t.Fatal(err)
	}
	_, err = open(atB, lateKey1, now)
	wantErr(t, "key 1 replaced at B", err, crypto.ErrAuth)
}

func TestSealerFollowsPrimary(t *testing.T) {
	ring := crypto.NewKeyring(1, testKey(1))
	a := newPeer(t, "198.18.0.1:29999", ring, 0, 1)
	id1, aead1 := a.sealer.Key()
	if id, aead := a.sealer.Key(); id != id1 || aead != aead1 {
		t.Errorf("second Key() = %d, %p; want the cached %d, %p", id, aead, id1, aead1)
	}
	if err := ring.Add(2, testKey(2)); err != nil {
		t.Fatal(err)
	}
	if id, aead := a.sealer.Key(); id != 1 || aead != aead1 {
		t.Errorf("after Add, Key() = %d, %p; want the cached 1, %p", id, aead, aead1)
	}
	if err := ring.Use(2); err != nil {
		t.Fatal(err)
	}
	id2, aead2 := a.sealer.Key()
	if id2 != 2 || aead2 == aead1 {
		t.Errorf("after Use(2), Key() = %d, %p; want 2 and a new AEAD", id2, aead2)
	}
	// Back to key 1, removed and added again under the same id with
	// another value: the sealer derives again.
	if err := ring.Use(1); err != nil {
		t.Fatal(err)
	}
	if id, _ := a.sealer.Key(); id != 1 {
		t.Errorf("after Use(1), Key() id = %d", id)
	}
	if err := ring.Use(2); err != nil {
		t.Fatal(err)
	}
	if err := ring.Remove(1); err != nil {
		t.Fatal(err)
	}
	if err := ring.Add(1, testKey(3)); err != nil {
		t.Fatal(err)
	}
	if err := ring.Use(1); err != nil {
		t.Fatal(err)
	}
	f := a.seal([]byte("x"), t0())
	_, err := open(crypto.NewOpener(crypto.NewKeyring(1, testKey(3)), crypto.OpenerConfig{}), f, t0())
	wantErr(t, "sealed under the new key 1, opened with it", err, nil)
	_, err = open(crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{}), f, t0())
	wantErr(t, "sealed under the new key 1, opened with the old one", err, crypto.ErrAuth)
}

func TestNewSealerErrors(t *testing.T) {
	ring := crypto.NewKeyring(1, testKey(1))
	epoch := core.NewEpoch(t0(), 1)
	if _, err := crypto.NewSealer(ring, core.NetID{}, epoch); !errors.Is(err, core.ErrInvalidNetID) {
		t.Errorf("zero NetID: error = %v, want %v", err, core.ErrInvalidNetID)
	}
	if _, err := crypto.NewSealer(ring, core.MustParseNetID("198.18.0.1:1"), core.Epoch{}); err == nil {
		t.Errorf("zero epoch: no error")
	}
}

// TestFloodFromUnknownSenders sends garbage from many random senders: it
// must not grow the key cache or the sender table, and once the burst is
// spent it is refused before any derivation, while a known sender's frames
// still open.
func TestFloodFromUnknownSenders(t *testing.T) {
	now := t0()
	const burst = 20
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{DeriveRate: 10, DeriveBurst: burst})
	a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	if _, err := open(o, a.seal(nil, now), now); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	garbage := func(at time.Time) frame {
		var addr [4]byte
		for i := range addr {
			addr[i] = byte(rng.Uint32())
		}
		addr[0] = 198
		id, err := core.NetIDFrom(netip.AddrFrom4(addr), uint16(1+rng.IntN(65535)))
		if err != nil {
			t.Fatal(err)
		}
		info := crypto.FrameInfo{
			KeyID:   1,
			Sender:  id,
			Epoch:   core.NewEpoch(at.Add(-time.Duration(rng.IntN(1000))*time.Second), rng.Uint64()),
			Counter: core.FrameCounter(1 + rng.Uint64N(1<<40)),
			Time:    at,
		}
		sealed := make([]byte, crypto.TagSize+rng.IntN(200))
		for i := range sealed {
			sealed[i] = byte(rng.Uint32())
		}
		return frame{info: info, ad: header(info), sealed: sealed}
	}
	count := func(n int, at time.Time) map[string]int {
		got := map[string]int{}
		for range n {
			_, err := open(o, garbage(at), at)
			switch {
			case errors.Is(err, crypto.ErrAuth):
				got["auth"]++
			case errors.Is(err, crypto.ErrRateLimited):
				got["rate limited"]++
			default:
				got[fmt.Sprint(err)]++
			}
		}
		return got
	}
	// The known sender's first frame took one token.
	if diff := cmp.Diff(map[string]int{"auth": burst - 1, "rate limited": 1000}, count(burst-1+1000, now)); diff != "" {
		t.Errorf("garbage at a fixed time (-want +got):\n%s", diff)
	}
	if senders, aeads := crypto.OpenerSizes(o); senders != 1 || aeads != 1 {
		t.Errorf("after the flood: %d senders, %d keys; want 1 and 1 (the known sender)", senders, aeads)
	}
	// The known sender is not affected: its key is cached.
	got, err := open(o, a.seal([]byte("still here"), now), now)
	wantErr(t, "known sender during the flood", err, nil)
	if string(got) != "still here" {
		t.Errorf("opened %q", got)
	}
	// Half a second later at 10 per second: 5 more derivations.
	later := now.Add(500 * time.Millisecond)
	if diff := cmp.Diff(map[string]int{"auth": 5, "rate limited": 100}, count(105, later)); diff != "" {
		t.Errorf("garbage half a second later (-want +got):\n%s", diff)
	}
	// Long after, the bucket holds at most the burst.
	if diff := cmp.Diff(map[string]int{"auth": burst, "rate limited": 100}, count(burst+100, now.Add(time.Hour))); diff != "" {
		t.Errorf("garbage an hour later (-want +got):\n%s", diff)
	}
	if senders, aeads := crypto.OpenerSizes(o); senders != 1 || aeads != 1 {
		t.Errorf("at the end: %d senders, %d keys; want 1 and 1", senders, aeads)
	}
}

// TestOpenMaxSenders checks that the least recently accepted sender is the
// one forgotten when the table is full.
func TestOpenMaxSenders(t *testing.T) {
	now := t0()
	ring := crypto.NewKeyring(1, testKey(1))
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{MaxSenders: 2, MaxCachedKeys: 2})
	a := newPeer(t, "198.18.0.1:29999", ring, 0, 1)
	b := newPeer(t, "198.18.0.2:29999", ring, 0, 1)
	c := newPeer(t, "198.18.0.3:29999", ring, 0, 1)
	a1, b1, a2, c1 := a.seal(nil, now), b.seal(nil, now), a.seal(nil, now), c.seal(nil, now)
	for _, f := range []frame{a1, b1, a2, c1} { // b is now the least recently accepted
		_, err := open(o, f, now)
		wantErr(t, f.info.Sender.String(), err, nil)
	}
	if senders, aeads := crypto.OpenerSizes(o); senders != 2 || aeads != 2 {
		t.Errorf("%d senders, %d keys; want 2 and 2", senders, aeads)
	}
	_, err := open(o, a1, now)
	wantErr(t, "a's first frame again", err, crypto.ErrReplay)
	_, err = open(o, c1, now)
	wantErr(t, "c's first frame again", err, crypto.ErrReplay)
	// b was forgotten: its frame within MaxAge is accepted again. This is
	// the documented cost of the cap.
	_, err = open(o, b1, now)
	wantErr(t, "b's frame after b was evicted", err, nil)
	if senders, aeads := crypto.OpenerSizes(o); senders != 2 || aeads != 2 {
		t.Errorf("%d senders, %d keys; want 2 and 2", senders, aeads)
	}
}

func TestOpenAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	now := t0()
	a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{})
	frames := make([]frame, 200)
	for i := range frames {
		frames[i] = a.seal(bytes.Repeat([]byte{byte(i)}, 100), now)
	}
	if _, err := open(o, frames[0], now); err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 0, 256)
	next := 1
	allocs := testing.AllocsPerRun(100, func() {
		f := frames[next]
		next++
		if _, err := o.Open(dst, &f.info, f.ad, f.sealed, now); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Open on the cached path: %v allocations, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() { a.sealer.Key() })
	if allocs != 0 {
		t.Errorf("Sealer.Key when cached: %v allocations, want 0", allocs)
	}
}

func TestOpenerConfigDefaults(t *testing.T) {
	now := t0()
	// Negative values take the defaults: a frame two minutes old opens, a
	// frame 30 s ahead opens, one beyond does not.
	o := crypto.NewOpener(crypto.NewKeyring(1, testKey(1)), crypto.OpenerConfig{
		MaxAge: -1, MaxSkew: -1, MaxSenders: -1, MaxCachedKeys: -1, DeriveRate: -1, DeriveBurst: -1,
	})
	a := newPeer(t, "198.18.0.1:29999", crypto.NewKeyring(1, testKey(1)), 0, 1)
	for _, tc := range []struct {
		at   time.Time
		want error
	}{
		{now.Add(-2 * time.Minute), nil},
		{now.Add(30 * time.Second), nil},
		{now.Add(-2*time.Minute - time.Microsecond), crypto.ErrStale},
		{now.Add(30*time.Second + time.Microsecond), crypto.ErrFuture},
	} {
		_, err := open(o, a.seal(nil, tc.at), now)
		wantErr(t, fmt.Sprintf("frame at %v", tc.at.Sub(now)), err, tc.want)
	}
}

// TestOpenConcurrentChurn opens the frames of several senders from several
// goroutines with tables small enough to evict all the time, while keys are
// added and removed. Every frame must open once. Run with -race.
func TestOpenConcurrentChurn(t *testing.T) {
	now := t0()
	ring := crypto.NewKeyring(1, testKey(1))
	o := crypto.NewOpener(ring, crypto.OpenerConfig{MaxSenders: 2, MaxCachedKeys: 2, DeriveBurst: 1 << 20})
	const senders, frames = 4, 300
	var wg sync.WaitGroup
	for s := range senders {
		p := newPeer(t, fmt.Sprintf("198.18.1.%d:29999", s+1), crypto.NewKeyring(1, testKey(1)), 0, uint64(s))
		fs := make([]frame, frames)
		for i := range fs {
			fs[i] = p.seal([]byte{byte(s), byte(i)}, now)
		}
		wg.Go(func() {
			for _, f := range fs {
				got, err := open(o, f, now)
				if err != nil {
					t.Errorf("sender %d counter %d: %v", s, f.info.Counter, err)
					return
				}
				if !bytes.Equal(got, f.payload) {
					t.Errorf("sender %d counter %d: opened %x, want %x", s, f.info.Counter, got, f.payload)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			id := crypto.KeyID(2 + i%10)
			_ = ring.Add(id, testKey(byte(id)))
			_ = ring.Remove(id)
		}
	})
	wg.Wait()
	if s, k := crypto.OpenerSizes(o); s > 2 || k > 2 {
		t.Errorf("%d senders, %d keys; want at most 2 each", s, k)
	}
}
