package chatter_test

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/chatter-go/chatter"
	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
	"github.com/chatter-go/chatter/internal/mocks"
)

// TestBroadcastActions drives a node whose transports are gomock mocks and
// asserts what one cold broadcast to four nodes puts on them: one multicast
// of the gossip, and TCP sends that hand every destination to exactly one
// target, split logarithmically (2 + 1 + 1 singleton groups: 3 sends).
func TestBroadcastActions(t *testing.T) {
	ctrl := gomock.NewController(t)
	uni := mocks.NewMockUnicast(ctrl)
	mc := mocks.NewMockMulticast(ctrl)
	secret := []byte("a test key that is 32 bytes long")

	var mu sync.Mutex
	var multicasts, sends [][]byte
	var targets []core.NetID
	block := func(ctx context.Context) (core.Packet, error) { <-ctx.Done(); return core.Packet{}, ctx.Err() }
	uni.EXPECT().Receive(gomock.Any()).DoAndReturn(block).AnyTimes()
	mc.EXPECT().Receive(gomock.Any()).DoAndReturn(block).AnyTimes()
	mc.EXPECT().MaxDatagram().Return(codec.DefaultMaxDatagram).AnyTimes()
	mc.EXPECT().Multicast(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, f []byte) error {
		mu.Lock()
		defer mu.Unlock()
		multicasts = append(multicasts, slices.Clone(f))
		return nil
	}).AnyTimes()
	uni.EXPECT().Send(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, to core.NetID, f []byte) error {
		mu.Lock()
		defer mu.Unlock()
		sends = append(sends, slices.Clone(f))
		targets = append(targets, to)
		return nil
	}).AnyTimes()
	uni.EXPECT().Close().Return(nil)
	mc.EXPECT().Close().Return(nil)

	node, err := chatter.New(chatter.Config{Addr: netip.MustParseAddrPort("198.18.0.1:29999"), Key: secret, Seed: 3},
		chatter.WithTransports(uni, mc))
	if err != nil {
		t.Fatal(err)
	}
	if err := chatter.Register(node, noteHandler(node.LocalID(), func(Note, chatter.Delivery) {}, false)); err != nil {
		t.Fatal(err)
	}
	var dests []core.NetID
	for _, s := range []string{"198.18.1.1:29999", "198.18.1.2:29999", "198.18.2.1:29999", "198.18.2.2:29999"} {
		dests = append(dests, core.MustParseNetID(s))
	}
	id, err := chatter.Broadcast(context.Background(), node, dests, Note{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the senders drain their queues
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}

	key, _ := crypto.KeyFromSecret(secret, nil)
	opener := codec.NewOpener(crypto.NewKeyring(chatter.DefaultKeyID, key), codec.OpenerConfig{})
	open := func(f []byte) codec.Body {
		var b codec.Body
		if _, err := opener.Open(f, time.Now(), &b); err != nil {
			t.Fatalf("a frame the node sent does not open: %v", err)
		}
		return b
	}
	gossipMulticasts := 0
	for _, f := range multicasts {
		if b := open(f); b.Kind == codec.KindMulticastGossip && b.Gossip.ID == id {
			gossipMulticasts++
		}
	}
	if gossipMulticasts != 1 {
		t.Errorf("%d multicasts of the gossip, want 1", gossipMulticasts)
	}
	covered := map[core.NetID]int{}
	for i, f := range sends {
		b := open(f)
		if b.Kind != codec.KindGossip || b.Gossip.ID != id {
			continue
		}
		covered[targets[i]]++
		for _, id := range core.Flatten(b.Gossip.Distribution) {
			if id != targets[i] {
				covered[id]++
			}
		}
	}
	if len(sends) != 3 {
		t.Errorf("%d TCP sends, want 3 (chunks of 2, 1 and 1 groups)", len(sends))
	}
	for _, d := range dests {
		if covered[d] != 1 {
			t.Errorf("%s handed to %d targets, want exactly 1", d, covered[d])
		}
	}
}
