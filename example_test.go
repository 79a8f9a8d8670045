package chatter_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/chatter-go/chatter"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/memnet"
)

// Greeting is an application message with no NetIDs in it.
type Greeting struct{ Text string }

func greetingHandler(onArrival func(Greeting, chatter.Delivery)) chatter.Handler[Greeting] {
	return chatter.Handler[Greeting]{
		Name:   "greeting",
		Encode: func(dst []byte, m Greeting, _ core.NetIDTable) ([]byte, error) { return append(dst, m.Text...), nil },
		Decode: func(p []byte, _ core.NetIDTable) (Greeting, error) { return Greeting{Text: string(p)}, nil },
		Dispatch: func(_ context.Context, m Greeting, d chatter.Delivery) (Greeting, error) {
			onArrival(m, d)
			return m, nil
		},
	}
}

// Run a small cluster in one process on the in-memory network, two
// "subnets" of three nodes, and broadcast a greeting to every node.
func Example_inMemoryCluster() {
	network := memnet.NewLive(memnet.LiveConfig{Seed: 1})
	var mu sync.Mutex
	received := map[string]string{}
	var nodes []*chatter.Node
	for i := range 6 {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i / 3), byte(1 + i%3)}), 29999)
		id, _ := core.NetIDFromAddrPort(addr)
		host := network.Host(id, fmt.Sprint("subnet-", i/3))
		node, err := chatter.New(chatter.Config{Addr: addr, Key: []byte("example secret, 32 bytes long!!!")},
			chatter.WithTransports(host.UnicastPort(), host.MulticastPort()))
		if err != nil {
			panic(err)
		}
		defer node.Close()
		self := id.String()
		err = chatter.Register(node, greetingHandler(func(m Greeting, _ chatter.Delivery) {
			mu.Lock()
			received[self] = m.Text
			mu.Unlock()
		}))
		if err != nil {
			panic(err)
		}
		nodes = append(nodes, node)
	}
	var all []chatter.NetID
	for _, n := range nodes {
		all = append(all, n.LocalID())
	}
	if _, err := chatter.Broadcast(context.Background(), nodes[0], all, Greeting{Text: "hello"}); err != nil {
		panic(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(received)
		mu.Unlock()
		if n == len(nodes)-1 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var lines []string
	for node, text := range received {
		lines = append(lines, node+" got "+text)
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// 198.18.0.2:29999 got hello
	// 198.18.0.3:29999 got hello
	// 198.18.1.1:29999 got hello
	// 198.18.1.2:29999 got hello
	// 198.18.1.3:29999 got hello
}
