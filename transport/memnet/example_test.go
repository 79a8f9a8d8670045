package memnet_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/memnet"
)

// A deterministic network: two subnets, a multicast, a unicast across them,
// a crash, and the trace they leave.
func ExampleNetwork() {
	n := memnet.New(memnet.Config{Seed: 1, Latency: 2 * time.Millisecond, Bandwidth: 1e6})
	n.SetTrace(func(e memnet.TraceEvent) { fmt.Println(e) })
	a := core.MustParseNetID("10.0.1.1:29999")
	b := core.MustParseNetID("10.0.1.2:29999")
	c := core.MustParseNetID("10.0.2.1:29999")
	ha := n.AddHost(a, "rack-1", nil)
	n.AddHost(b, "rack-1", nil)
	n.AddHost(c, "rack-2", func(d memnet.Delivery) {
		fmt.Printf("c got %q from %s by %v, hop %d\n", d.Frame, d.From, d.Via, d.Meta)
	})

	ha.Multicast([]byte("hello rack"), 1) // 10 bytes at 1 MB/s: 10µs to leave
	ha.Send(c, []byte("hello c"), 1)      // leaves after the multicast
	n.After(time.Millisecond, func() { n.Crash(b) })
	ha.Send(b, []byte("too late"), 1)
	n.RunUntilIdle(0)
	fmt.Println(n.Stats().Unicast)
	// Output:
	// +0s send mcast 10.0.1.1:29999>subnet:rack-1 len=10
	// +0s send tcp 10.0.1.1:29999>10.0.2.1:29999 len=7
	// +0s send tcp 10.0.1.1:29999>10.0.1.2:29999 len=8
	// +1ms timer
	// +2.01ms drop mcast 10.0.1.1:29999>10.0.1.2:29999 len=10 target-down
	// +2.017ms deliver tcp 10.0.1.1:29999>10.0.2.1:29999 len=7
	// c got "hello c" from 10.0.1.1:29999 by tcp, hop 1
	// +2.025ms drop tcp 10.0.1.1:29999>10.0.1.2:29999 len=8 target-down
	// packets=2 bytes=15 delivered=1 lost=0 dropped=1
}

// A concurrent network: hosts are core.Unicast and core.Multicast ports.
func ExampleLive() {
	l := memnet.NewLive(memnet.LiveConfig{})
	a := l.Host(core.MustParseNetID("10.0.1.1:29999"), "rack-1")
	b := l.Host(core.MustParseNetID("10.0.1.2:29999"), "rack-1")
	defer a.Close()
	defer b.Close()

	ctx := context.Background()
	if err := a.Multicast(ctx, []byte("to the rack")); err != nil {
		fmt.Println(err)
	}
	if err := a.Send(ctx, b.ID(), []byte("to b")); err != nil {
		fmt.Println(err)
	}
	for range 2 {
		p, err := b.Receive(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%q by %v from %v\n", p.Frame, p.Via, p.Remote)
	}
	// Output:
	// "to the rack" by mcast from 10.0.1.1:29999
	// "to b" by tcp from 10.0.1.1:29999
}
