package tcp_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
	"github.com/chatter-go/chatter/transport/tcp"
)

// Two nodes on the loopback interface, each on a port the kernel chooses:
// one sends a sealed frame, the other receives and opens it.
func Example_sendAFrame() {
	alice, err := tcp.New(tcp.Config{Listen: "127.0.0.1:0", FrameLen: codec.FrameLen})
	if err != nil {
		panic(err)
	}
	defer alice.Close()
	bob, err := tcp.New(tcp.Config{Listen: "127.0.0.1:0", FrameLen: codec.FrameLen})
	if err != nil {
		panic(err)
	}
	defer bob.Close()

	key, err := crypto.KeyFromSecret([]byte("correct horse battery staple 42!"), nil)
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	sealer, err := codec.NewSealer(crypto.NewKeyring(1, key), alice.Self(), core.NewEpoch(now, 0x5eed))
	if err != nil {
		panic(err)
	}
	out := codec.Body{Kind: codec.KindGossip, Gossip: core.Gossip{
		ID:      core.BroadcastID{Origin: alice.Self(), Number: 1},
		Tag:     core.TagOf("hello"),
		Payload: []byte("hello, bob"),
	}}
	out.Table = core.NewNetIDTable(out.AppendNetIDs(nil)...)
	frame, err := sealer.AppendFrame(nil, &out, now)
	if err != nil {
		panic(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := alice.Send(ctx, bob.Self(), frame); err != nil {
		panic(err)
	}
	pkt, err := bob.Receive(ctx)
	if err != nil {
		panic(err)
	}
	var in codec.Body
	opener := codec.NewOpener(crypto.NewKeyring(1, key), codec.OpenerConfig{})
	h, err := opener.Open(pkt.Frame, now, &in)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s by %s from alice: %v, %q\n", h.Kind, pkt.Via, h.Sender == alice.Self(), in.Gossip.Payload)
	// Output:
	// gossip by tcp from alice: true, "hello, bob"
}
