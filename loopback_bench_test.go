package chatter_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatter-go/chatter"
	"github.com/chatter-go/chatter/core"
)

// loopbackCluster is n real nodes in this process on 127.0.0.x, with TCP
// and UDP multicast on lo (TTL 0: nothing leaves the host).
type loopbackCluster struct {
	nodes []*chatter.Node
	ids   []chatter.NetID
	mu    sync.Mutex
	done  map[string]chan struct{}
	count map[string]int
}

func newLoopbackCluster(b *testing.B, n int, strategy core.Strategy) *loopbackCluster {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	c := &loopbackCluster{done: map[string]chan struct{}{}, count: map[string]int{}}
	for i := range n {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(1 + i)}), port)
		node, err := chatter.New(chatter.Config{
			Addr: addr, Key: []byte("loopback benchmark secret, 32 by"),
			MulticastGroup: netip.AddrPortFrom(netip.MustParseAddr("239.255.79.1"), port),
			Interface:      "lo", TTL: chatter.HostOnlyTTL, MulticastLoopback: true,
			NoMulticast: strategy != core.StrategyChatter,
			Engine:      core.EngineConfig{Strategy: strategy, AnnounceInterval: 200 * time.Millisecond},
		})
		if err != nil {
			b.Skipf("loopback node: %v", err)
		}
		b.Cleanup(func() { node.Close() })
		err = chatter.Register(node, greetingHandler(func(m Greeting, _ chatter.Delivery) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.count[m.Text]++
			if c.count[m.Text] == n-1 {
				if ch, ok := c.done[m.Text]; ok {
					close(ch)
				}
			}
		}))
		if err != nil {
			b.Fatal(err)
		}
		c.nodes = append(c.nodes, node)
		c.ids = append(c.ids, node.LocalID())
	}
	return c
}

// broadcast sends one 256-byte greeting from the first node and waits until
// every other node has it; it returns the time to the last delivery.
func (c *loopbackCluster) broadcast(b *testing.B, i int) time.Duration {
	text := fmt.Sprintf("%05d %0250d", i, 0)
	ch := make(chan struct{})
	c.mu.Lock()
	c.done[text] = ch
	c.mu.Unlock()
	start := time.Now()
	if _, err := chatter.Broadcast(context.Background(), c.nodes[0], c.ids, Greeting{Text: text}); err != nil {
		b.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		b.Fatalf("broadcast %d did not reach every node", i)
	}
	return time.Since(start)
}

// BenchmarkLoopback16 broadcasts 256-byte messages among 16 real nodes on
// loopback, one at a time, each confirmed delivered to all 15 others: the
// rate of confirmed broadcasts and the median and p99 time to the last
// delivery, for Chatter and for the baseline of the origin writing the same
// frames to every node over TCP itself (StrategyUnicast).
func BenchmarkLoopback16(b *testing.B) {
	for _, s := range []core.Strategy{core.StrategyUnicast, core.StrategyChatter} {
		b.Run(s.String(), func(b *testing.B) {
			c := newLoopbackCluster(b, 16, s)
			time.Sleep(500 * time.Millisecond) // announcements: nodes meet
			for i := range 20 {                // warm-up: reports and groupings settle
				c.broadcast(b, -1-i)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				lat = append(lat, c.broadcast(b, i))
			}
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "bcast/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
