package main

import (
	"context"
	crand "crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/chatter-go/chatter"
	"github.com/chatter-go/chatter/core"
)

// demoNode is one node of the demo and what it received.
type demoNode struct {
	node   *chatter.Node
	subnet int
}

// arrivalLog records who received which broadcast by which transport.
type arrivalLog struct {
	mu  sync.Mutex
	got map[string]map[core.NetID][]string // text → node → vias
}

func (l *arrivalLog) add(text string, node core.NetID, via string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.got[text] == nil {
		l.got[text] = map[core.NetID][]string{}
	}
	l.got[text][node] = append(l.got[text][node], via)
}

func (l *arrivalLog) of(text string) map[core.NetID][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[core.NetID][]string{}
	for k, v := range l.got[text] {
		out[k] = slices.Clone(v)
	}
	return out
}

// runDemo runs real nodes in this process on loopback addresses, multicast
// on lo only, "subnets" emulated by distinct multicast groups, and shows who
// received each broadcast by which transport, with the wire figures.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatter demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	subnets := fs.Int("subnets", 3, "emulated subnets (one multicast group each)")
	perSubnet := fs.Int("nodes", 3, "nodes per subnet")
	port := fs.Int("port", 29999, "TCP and multicast port (each node has its own 127.0.0.x address)")
	rounds := fs.Int("broadcasts", 3, "broadcasts to send, a second apart")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case *subnets < 1 || *subnets > 9 || *perSubnet < 1 || *perSubnet > 9:
		fmt.Fprintln(stderr, "chatter demo: --subnets and --nodes take 1..9")
		return 2
	case *port < 1 || *port > 65535 || *rounds < 1 || *rounds > 100:
		fmt.Fprintln(stderr, "chatter demo: --port takes 1..65535, --broadcasts 1..100")
		return 2
	}
	// A fresh random key: every node is in this process.
	key := make([]byte, 32)
	crand.Read(key)

	log := &arrivalLog{got: map[string]map[core.NetID][]string{}}
	var nodes []demoNode
	defer func() {
		for _, n := range nodes {
			n.node.Close()
		}
	}()
	for s := range *subnets {
		for h := range *perSubnet {
			addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(10*(s+1) + h + 1)}), uint16(*port))
			group := netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 255, 77, byte(s + 1)}), uint16(*port))
			node, err := chatter.New(chatter.Config{
				Addr: addr, MulticastGroup: group, Interface: "lo", TTL: chatter.HostOnlyTTL, MulticastLoopback: true, Key: key,
				Engine: core.EngineConfig{AckTimeout: 250 * time.Millisecond, AnnounceInterval: 250 * time.Millisecond},
			})
			if err != nil {
				fmt.Fprintf(stderr, "chatter demo: node %s: %v\n", addr, err)
				return 1
			}
			self := node.LocalID()
			if err := chatter.Register(node, lineHandler(func(m Line, d chatter.Delivery) {
				log.add(m.Text, self, viaName(d.Via))
			})); err != nil {
				fmt.Fprintf(stderr, "chatter demo: %v\n", err)
				return 1
			}
			nodes = append(nodes, demoNode{node: node, subnet: s})
		}
	}
	var all []chatter.NetID
	for _, n := range nodes {
		all = append(all, n.node.LocalID())
	}
	fmt.Fprintf(stdout, "chatter demo: %d nodes on lo in %d subnets (multicast groups 239.255.77.1..%d, port %d, TTL 0)\n",
		len(nodes), *subnets, *subnets, *port)
	fmt.Fprintln(stdout, "discovery: nodes announce themselves by multicast; nothing is configured")
	if !sleepCtx(ctx, time.Second) {
		return 130
	}
	for i, n := range nodes {
		if i%*perSubnet == 0 {
			fmt.Fprintf(stdout, "  %s (subnet %d) knows %d peers\n", n.node.LocalID(), n.subnet+1, len(n.node.Peers()))
		}
	}
	origin := nodes[0].node
	for r := range *rounds {
		before := wire(nodes)
		text := fmt.Sprintf("broadcast %d", r+1)
		start := time.Now()
		if _, err := chatter.Broadcast(ctx, origin, all, Line{Text: text}); err != nil {
			fmt.Fprintf(stderr, "chatter demo: %v\n", err)
			return 1
		}
		got := waitArrivals(ctx, log, text, len(nodes)-1, 5*time.Second)
		took := time.Since(start)
		sleepCtx(ctx, 300*time.Millisecond) // late copies, acks
		after := wire(nodes)
		fmt.Fprintf(stdout, "\n%s from %s: %d of %d nodes in %v\n", text, origin.LocalID(), len(got), len(nodes)-1, took.Round(time.Millisecond))
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  node\tsubnet\treceived by")
		for _, n := range nodes[1:] {
			vias := log.of(text)[n.node.LocalID()]
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", n.node.LocalID(), n.subnet+1, strings.Join(vias, ", "))
		}
		tw.Flush()
		fmt.Fprintf(stdout, "  wire: %d multicast datagrams (%d bytes, announcements included), %d TCP frames (%d bytes, acks included)\n",
			after.mcast-before.mcast, after.mcastBytes-before.mcastBytes, after.tcp-before.tcp, after.tcpBytes-before.tcpBytes)
		if r+1 < *rounds && !sleepCtx(ctx, time.Second) {
			return 130
		}
	}
	return 0
}

type wireCount struct{ mcast, mcastBytes, tcp, tcpBytes uint64 }

func wire(nodes []demoNode) wireCount {
	var w wireCount
	for _, n := range nodes {
		s := n.node.Stats()
		w.mcast += s.Sent["mcast"].Frames
		w.mcastBytes += s.Sent["mcast"].Bytes
		w.tcp += s.Sent["tcp"].Frames
		w.tcpBytes += s.Sent["tcp"].Bytes
	}
	return w
}

func waitArrivals(ctx context.Context, log *arrivalLog, text string, want int, limit time.Duration) map[core.NetID][]string {
	deadline := time.Now().Add(limit)
	for {
		got := log.of(text)
		if len(got) >= want || time.Now().After(deadline) || ctx.Err() != nil {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
