package codec_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

// bodyOpts compares decoded bodies: NetIDs and tables by value, scratch
// ignored, nil and empty slices alike.
var bodyOpts = cmp.Options{
	cmp.Comparer(func(a, b core.NetID) bool { return a == b }),
	cmpopts.IgnoreUnexported(codec.Body{}),
	cmpopts.EquateEmpty(),
}

// testKey is the group key of the tests: bytes 0x00..0x1f.
func testKey() crypto.Key {
	var k crypto.Key
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

var (
	testSender = core.MustParseNetID("198.18.0.1:29999")
	testEpoch  = core.Epoch{StartMicros: 1_764_000_000_000_000, Random: 0x0123456789abcdef}
	// testNow is one second into testEpoch.
	testNow = time.UnixMicro(int64(testEpoch.StartMicros) + 1_000_000)
)

// nodes returns n NetIDs in 198.18.x.y, spread over /24s of 50 hosts.
func nodes(n int) []core.NetID {
	ids := make([]core.NetID, n)
	for i := range ids {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i / 50), byte(10 + i%50)})
		ids[i] = core.MustParseNetID(netip.AddrPortFrom(a, 29999).String())
	}
	return ids
}

// newPair returns a sealer for testSender and an opener, sharing the test
// key under key id 1.
func newPair(t testing.TB) (*codec.Sealer, *codec.Opener) {
	t.Helper()
	ring := crypto.NewKeyring(1, testKey())
	s, err := codec.NewSealer(ring, testSender, testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	return s, codec.NewOpener(crypto.NewKeyring(1, testKey()), codec.OpenerConfig{})
}

// withTable returns b with its table built from the NetIDs it names plus
// extra.
func withTable(b codec.Body, extra ...core.NetID) codec.Body {
	b.Table = core.NewNetIDTable(append(b.AppendNetIDs(nil), extra...)...)
	return b
}

// sampleGossip returns a TCP gossip over a table of n nodes: the origin,
// a seen list, four others and the rest as a distribution list in groups
// of ten, with payload.
func sampleGossip(n int, payload []byte) codec.Body {
	ids := nodes(n)
	g := core.Gossip{
		ID:         core.BroadcastID{Origin: ids[0], Number: 1_764_000_000_000_042},
		Seen:       []core.SeenEntry{{Node: ids[1], Seq: 17}, {Node: ids[2], Seq: 300}},
		Others:     ids[3:7],
		Tag:        core.TagOf("hello"),
		PayloadIDs: core.NewNetIDTable(ids[1], ids[n-1]),
		Payload:    payload,
	}
	rest := ids[7:]
	for len(rest) > 0 {
		k := min(10, len(rest))
		g.Distribution = append(g.Distribution, core.Group{Entry: rest[0], Members: rest[1:k]})
		rest = rest[k:]
	}
	return withTable(codec.Body{Kind: codec.KindGossip, Gossip: g})
}

// textPayload returns n bytes of compressible, text-like payload.
func textPayload(n int) []byte {
	p := make([]byte, 0, n+64)
	for i := 0; len(p) < n; i++ {
		p = fmt.Appendf(p, `{"key":"service/%d","version":%d,"state":"ok"}`, i%7, 1000+i)
	}
	return p[:n]
}

// rawHeader is a header to seal arbitrary plaintext under, for tests that
// build bad bodies or bad plaintexts.
type rawHeader struct {
	kind    codec.Kind
	keyID   crypto.KeyID
	sender  core.NetID
	epoch   core.Epoch
	counter uint64
	offset  uint64
}

func defaultRaw(kind codec.Kind, counter uint64) rawHeader {
	return rawHeader{kind: kind, keyID: 1, sender: testSender, epoch: testEpoch, counter: counter, offset: 1_000_000}
}

// sealRaw seals plaintext under h with group key k, independently of the
// Sealer: it is the wire format written from docs/wire-format.md.
func sealRaw(t testing.TB, k crypto.Key, h rawHeader, plaintext []byte) []byte {
	t.Helper()
	hdr := []byte{'C', 'H', 1, byte(h.kind), byte(h.keyID)}
	hdr, _ = h.sender.AppendBinary(hdr)
	hdr, _ = h.epoch.AppendBinary(hdr)
	hdr = binary.AppendUvarint(hdr, h.counter)
	hdr = binary.AppendUvarint(hdr, h.offset)
	hdr = binary.AppendUvarint(hdr, uint64(len(plaintext)+16))
	sk, err := crypto.DeriveSenderKey(k, h.sender, h.epoch)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(sk[:])
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	var nonce [12]byte
	binary.BigEndian.PutUint64(nonce[4:], h.counter)
	return aead.Seal(hdr, nonce[:], plaintext, hdr)
}

// stored returns the plaintext of body stored uncompressed.
func stored(body []byte) []byte {
	p := binary.AppendUvarint([]byte{0}, uint64(len(body)))
	return append(p, body...)
}
