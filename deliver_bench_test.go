package chatter_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatter-go/chatter"
	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
	"github.com/chatter-go/chatter/transport/memnet"
)

// BenchmarkDeliver measures what one delivered frame costs a node: receive,
// open, decode, the engine, and dispatch to a handler, for 256-byte
// multicast gossip frames fed through an in-memory transport, at most 512
// ahead of the handler (beyond the node's queues it sheds dispatches, by
// design, and counts them as Stats.DispatchSkipped). Its
// open-ratio metric is that cost over codec's Open of the same frame alone,
// measured in the same run.
func BenchmarkDeliver(b *testing.B) {
	secret := []byte("deliver benchmark secret, 32 byt")
	net := memnet.NewLive(memnet.LiveConfig{Seed: 1, QueueLen: 4096})
	nodeAddr := netip.MustParseAddrPort("198.18.0.1:29999")
	nodeID, _ := core.NetIDFromAddrPort(nodeAddr)
	host := net.Host(nodeID, "s")
	var dispatched atomic.Int64
	node, err := chatter.New(chatter.Config{Addr: nodeAddr, Key: secret, QueueLen: 4096},
		chatter.WithTransports(host.UnicastPort(), host.MulticastPort()))
	if err != nil {
		b.Fatal(err)
	}
	defer node.Close()
	if err := chatter.Register(node, greetingHandler(func(Greeting, chatter.Delivery) { dispatched.Add(1) })); err != nil {
		b.Fatal(err)
	}

	senderID := core.MustParseNetID("198.18.0.2:29999")
	sender := net.Host(senderID, "s").UnicastPort()
	key, _ := crypto.KeyFromSecret(secret, nil)
	ring := crypto.NewKeyring(chatter.DefaultKeyID, key)
	sealer, err := codec.NewSealer(ring, senderID, core.NewEpoch(time.Now(), 7))
	if err != nil {
		b.Fatal(err)
	}
	text := make([]byte, 256)
	for i := range text {
		text[i] = 'a' + byte(i%26)
	}
	frame := func(i int) []byte {
		body := codec.Body{Kind: codec.KindMulticastGossip, Gossip: core.Gossip{
			ID: core.BroadcastID{Origin: senderID, Number: core.MessageNumber(i + 1)}, MulticastSeq: core.MulticastSeq(i + 1),
			Tag: core.TagOf("greeting"), Payload: text,
		}}
		body.Table = core.NewNetIDTable(body.AppendNetIDs(nil)...)
		f, err := sealer.AppendFrame(nil, &body, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	frames := make([][]byte, b.N)
	for i := range frames {
		frames[i] = frame(i)
	}

	// The same frames' Open alone, in this run, for the ratio: a second
	// sealer's copies, opened by a bare codec.Opener.
	openNs := func() float64 {
		s, err := codec.NewSealer(ring, senderID, core.NewEpoch(time.Now(), 9))
		if err != nil {
			b.Fatal(err)
		}
		o := codec.NewOpener(ring, codec.OpenerConfig{})
		var body codec.Body
		const n = 20000
		fs := make([][]byte, n)
		for i := range fs {
			in := codec.Body{Kind: codec.KindMulticastGossip, Gossip: core.Gossip{ID: core.BroadcastID{Origin: senderID, Number: 1}, MulticastSeq: core.MulticastSeq(i + 1), Tag: 1, Payload: text}}
			in.Table = core.NewNetIDTable(in.AppendNetIDs(nil)...)
			fs[i], _ = s.AppendFrame(nil, &in, time.Now())
		}
		start := time.Now()
		for _, f := range fs {
			if _, err := o.Open(f, time.Now(), &body); err != nil {
				b.Fatal(err)
			}
		}
		return float64(time.Since(start).Nanoseconds()) / n
	}()

	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i, f := range frames {
		// Keep at most 512 frames ahead of the handler: the cost of a
		// frame, not of an overload the node sheds by design.
		for int64(i)-dispatched.Load() > 512 {
			time.Sleep(20 * time.Microsecond)
		}
		if err := sender.Send(ctx, nodeID, f); err != nil {
			b.Fatal(i, err)
		}
	}
	for deadline := time.Now().Add(time.Minute); dispatched.Load() < int64(b.N); {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d frames dispatched", dispatched.Load(), b.N)
		}
		time.Sleep(50 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	perFrame := float64(elapsed.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perFrame, "ns/frame")
	b.ReportMetric(perFrame/openNs, "open-ratio")
	b.ReportMetric(openNs, "open-ns")
}
