package codec_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

// Seal a gossip frame as one node and open it as another that shares the
// group key.
func Example_sealAndOpen() {
	key, err := crypto.KeyFromSecret([]byte("correct horse battery staple 42!"), nil)
	if err != nil {
		panic(err)
	}
	alice := core.MustParseNetID("127.0.0.1:29999")
	carol := core.MustParseNetID("127.0.0.3:29999")
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	epoch := core.NewEpoch(start, 0x5eed) // random bits from crypto/rand in real use

	sealer, err := codec.NewSealer(crypto.NewKeyring(1, key), alice, epoch)
	if err != nil {
		panic(err)
	}
	out := codec.Body{Kind: codec.KindGossip, Gossip: core.Gossip{
		ID:           core.BroadcastID{Origin: alice, Number: 1},
		Distribution: []core.Group{{Entry: carol}},
		Tag:          core.TagOf("hello"),
		Payload:      []byte("hello, world"),
	}}
	out.Table = core.NewNetIDTable(out.AppendNetIDs(nil)...)
	frame, err := sealer.AppendFrame(nil, &out, start.Add(time.Millisecond))
	if err != nil {
		panic(err)
	}

	opener := codec.NewOpener(crypto.NewKeyring(1, key), codec.OpenerConfig{})
	var in codec.Body
	h, err := opener.Open(frame, start.Add(2*time.Millisecond), &in)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s from %s, frame %d, %d bytes\n", h.Kind, h.Sender, h.Counter, len(frame))
	fmt.Printf("message %s: %q, pass on to %s\n", in.Gossip.ID, in.Gossip.Payload, in.Gossip.Distribution[0].Entry)

	// The same frame again is a replay.
	_, err = opener.Open(frame, start.Add(3*time.Millisecond), &in)
	fmt.Println(errors.Is(err, crypto.ErrReplay))
	// Output:
	// gossip from 127.0.0.1:29999, frame 1, 91 bytes
	// message 127.0.0.1:29999#1: "hello, world", pass on to 127.0.0.3:29999
	// true
}
