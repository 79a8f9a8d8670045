package codec_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

// A vector is one frame of docs/wire-format.md: its inputs and its bytes.
// Every vector seals with key id 1 and the group key 00 01 02 ... 1f, as
// frame number counter of its sender's epoch, at time at.
type vector struct {
	name    string
	sender  string
	epoch   core.Epoch
	counter core.FrameCounter
	at      time.Time
	body    codec.Body
	hex     string
}

func vectors() []vector {
	a := core.MustParseNetID("198.18.0.1:29999")
	b := core.MustParseNetID("198.18.0.2:29999")
	c := core.MustParseNetID("198.18.1.7:29999")
	d := core.MustParseNetID("198.18.1.9:29999")
	v6 := core.MustParseNetID("[2001:db8::1]:29999")
	epoch := core.Epoch{StartMicros: 1_764_072_000_000_000, Random: 0x0123456789abcdef}
	at := time.UnixMicro(1_764_072_000_250_000) // 250 ms into the epoch
	return []vector{
		{
			name: "ack", sender: "198.18.0.2:29999", epoch: epoch, counter: 1, at: at,
			body: withTable(codec.Body{Kind: codec.KindAck, Ack: core.Ack{IDs: []core.BroadcastID{{Origin: a, Number: 1_764_072_000_000_001}}, Seen: []core.SeenEntry{{Node: b, Seq: 3}}}}),
			hex:  "434801030104c6120002752f0006446a04eb10000123456789abcdef0190a10f30892b2091f68b414b16d4b49094a4550d4108821fb87f58e4c7375ac4030f3cbe38906fe081274be358adad47aa9c5eba",
		},
		{
			name: "gossip", sender: "198.18.0.1:29999", epoch: epoch, counter: 3, at: at,
			body: withTable(codec.Body{Kind: codec.KindGossip, Gossip: core.Gossip{
				ID:           core.BroadcastID{Origin: a, Number: 1_764_072_000_000_001},
				Seen:         []core.SeenEntry{{Node: b, Seq: 41}},
				Others:       []core.NetID{c},
				Distribution: []core.Group{{Entry: c, Members: []core.NetID{d}}},
				Tag:          core.TagOf("hello"),
				PayloadIDs:   core.NewNetIDTable(b, d),
				Payload:      []byte("hello, hello, hello, hello, world"),
			}}),
			hex: "434801010104c6120001752f0006446a04eb10000123456789abcdef0390a10f5affcfe30b5fcea46d9ab572b374cc5199f8c3f2c35ecec9c3fa01e6576201777540c02e79ea0f8d2edfd4df0faf4a93ec4207fcc624e89afd0e061bc944ada95e1efc27c66be93cb13aacd7ddf78bd80e62493c39ae42afbd96b6",
		},
		{
			name: "multicast gossip", sender: "[2001:db8::1]:29999", epoch: epoch, counter: 2, at: at,
			body: withTable(codec.Body{Kind: codec.KindMulticastGossip, Gossip: core.Gossip{
				ID:           core.BroadcastID{Origin: v6, Number: 7},
				MulticastSeq: 1,
				Tag:          core.TagOf("hello"),
				Payload:      []byte("hi"),
			}}),
			hex: "43480102010620010db8000000000000000000000001752f0006446a04eb10000123456789abcdef0290a10f343e0f77b49e0f66a11e48cc2010cae01687791ada888e3404f84b9b4a265b9d9ebfd04b3b72c8238d3c07782325582435ab535937",
		},
		{
			name: "repair request", sender: "198.18.1.9:29999", epoch: epoch, counter: 1, at: at,
			body: withTable(codec.Body{Kind: codec.KindRepairRequest, Repair: core.RepairRequest{
				Epoch:  epoch,
				Ranges: []core.SeqRange{{First: 5, Last: 5}, {First: 9, Last: 12}},
			}}),
			hex: "434801050104c6120109752f0006446a04eb10000123456789abcdef0190a10f2bf486affd459455c3ca7bfdf0e6ed0430da94db565bb8734cd2f17fcf68a15ff1fe7687ae60871452d222f3",
		},
	}
}

// sealVector seals v's body as frame v.counter of its sender.
func sealVector(t *testing.T, v vector) []byte {
	t.Helper()
	s, err := codec.NewSealer(crypto.NewKeyring(1, testKey()), core.MustParseNetID(v.sender), v.epoch)
	if err != nil {
		t.Fatal(err)
	}
	var frame []byte
	for range v.counter {
		if frame, err = s.AppendFrame(nil, &v.body, v.at); err != nil {
			t.Fatal(err)
		}
	}
	return frame
}

// TestVectors checks the frames of docs/wire-format.md byte for byte, and
// that each opens to its content.
func TestVectors(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			got := sealVector(t, v)
			if want := strings.Join(strings.Fields(v.hex), ""); hex.EncodeToString(got) != want {
				t.Errorf("sealed frame differs from the vector\n got: %x\nwant: %s", got, want)
			}
			o := codec.NewOpener(crypto.NewKeyring(1, testKey()), codec.OpenerConfig{})
			frame, _ := hex.DecodeString(strings.Join(strings.Fields(v.hex), ""))
			var b codec.Body
			h, err := o.Open(frame, v.at, &b)
			if err != nil {
				t.Fatalf("vector does not open: %v", err)
			}
			wantH := codec.Header{Kind: v.body.Kind, KeyID: 1, Sender: core.MustParseNetID(v.sender), Epoch: v.epoch, Counter: v.counter, Time: v.at}
			if diff := cmp.Diff(wantH, h, bodyOpts); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(normalise(v.body), b, bodyOpts); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

var printVectors = flag.Bool("print-vectors", false, "print the test vectors as the Markdown of docs/wire-format.md")

// TestPrintVectors prints, with -print-vectors, each vector with the
// intermediate values an implementer needs: derived key, nonce, plaintext
// and body.
func TestPrintVectors(t *testing.T) {
	if !*printVectors {
		t.Skip("run with -print-vectors to print docs/wire-format.md's vectors")
	}
	var out strings.Builder
	for i, v := range vectors() {
		frame := sealVector(t, v)
		sender := core.MustParseNetID(v.sender)
		sk, _ := crypto.DeriveSenderKey(testKey(), sender, v.epoch)
		nonce := crypto.Nonce(v.counter)
		body, _, err := codec.AppendBody(nil, &v.body)
		if err != nil {
			t.Fatal(err)
		}
		// Open a copy to show the plaintext.
		o := codec.NewOpener(crypto.NewKeyring(1, testKey()), codec.OpenerConfig{})
		var b codec.Body
		if _, err := o.Open(append([]byte(nil), frame...), v.at, &b); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "### Vector %d: %s\n\n", i+1, v.name)
		fmt.Fprintf(&out, "- kind %d (%s), key id 1, sender `%s`, epoch start %d, epoch random `%016x`\n", v.body.Kind, v.body.Kind, v.sender, v.epoch.StartMicros, v.epoch.Random)
		fmt.Fprintf(&out, "- counter %d, sealed at %d µs since 1970 (offset %d µs)\n", v.counter, v.at.UnixMicro(), uint64(v.at.UnixMicro())-v.epoch.StartMicros)
		fmt.Fprintf(&out, "- sender key `%x`\n- nonce `%x`\n", sk, nonce)
		fmt.Fprintf(&out, "- plaintext `%x`\n", plaintextOf(t, sk, nonce, frame))
		fmt.Fprintf(&out, "- body (%d bytes) `%x`\n", len(body), body)
		fmt.Fprintf(&out, "- content: %s\n\n", describe(&v.body))
		fmt.Fprintf(&out, "```\n%s\n```\n\n", wrapHex(frame))
	}
	fmt.Print(out.String())
}

func describe(b *codec.Body) string {
	switch {
	case b.Kind.IsGossip():
		g := b.Gossip
		return fmt.Sprintf("origin %s number %d, multicast sequence %d, seen %v, others %v, distribution %v, tag %#08x, payload %q",
			g.ID.Origin, g.ID.Number, g.MulticastSeq, g.Seen, g.Others, g.Distribution, uint32(g.Tag), g.Payload)
	case b.Kind == codec.KindAck:
		return fmt.Sprintf("acknowledges %v, seen %v", b.Ack.IDs, b.Ack.Seen)
	case b.Kind == codec.KindRepairRequest:
		return fmt.Sprintf("epoch %s, ranges %v", b.Repair.Epoch, b.Repair.Ranges)
	}
	return fmt.Sprintf("%+v", *b)
}

func wrapHex(b []byte) string {
	h := hex.EncodeToString(b)
	var lines []string
	for len(h) > 64 {
		lines = append(lines, h[:64])
		h = h[64:]
	}
	return strings.Join(append(lines, h), "\n")
}

// plaintextOf finds the header's end by trying every split, and returns the
// opened plaintext.
func plaintextOf(t *testing.T, sk crypto.Key, nonce [12]byte, frame []byte) []byte {
	block, _ := aes.NewCipher(sk[:])
	aead, _ := cipher.NewGCM(block)
	for hl := 1; hl < len(frame); hl++ {
		if pt, err := aead.Open(nil, nonce[:], frame[hl:], frame[:hl]); err == nil {
			return pt
		}
	}
	t.Fatal("frame does not open under the sender key")
	return nil
}
