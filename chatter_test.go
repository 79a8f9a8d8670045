package chatter_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/chatter-go/chatter"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/memnet"
)

// Note is the test message: text, and the trail of nodes that relayed it
// (a relay's Dispatch adds itself: merge semantics).
type Note struct {
	Text  string
	Trail []core.NetID
}

func noteHandler(self core.NetID, got func(Note, chatter.Delivery), atMostOnce bool) chatter.Handler[Note] {
	return chatter.Handler[Note]{
		Name:       "note",
		AtMostOnce: atMostOnce,
		NetIDs:     func(m Note) []core.NetID { return m.Trail },
		Encode: func(dst []byte, m Note, ids core.NetIDTable) ([]byte, error) {
			dst = append(dst, byte(len(m.Trail)))
			for _, id := range m.Trail {
				i, ok := ids.Index(id)
				if !ok {
					return nil, errors.New("trail NetID not in the payload table")
				}
				dst = append(dst, byte(i))
			}
			return append(dst, m.Text...), nil
		},
		Decode: func(p []byte, ids core.NetIDTable) (Note, error) {
			if len(p) < 1 || len(p) < 1+int(p[0]) {
				return Note{}, errors.New("short note")
			}
			var m Note
			for _, i := range p[1 : 1+int(p[0])] {
				id, ok := ids.Lookup(uint64(i))
				if !ok {
					return Note{}, errors.New("bad trail index")
				}
				m.Trail = append(m.Trail, id)
			}
			m.Text = string(p[1+int(p[0]):])
			return m, nil
		},
		Dispatch: func(_ context.Context, m Note, d chatter.Delivery) (Note, error) {
			got(m, d)
			if len(m.Trail) < 200 {
				m.Trail = append(m.Trail, self)
			}
			return m, nil
		},
	}
}

type arrival struct {
	node core.NetID
	note Note
	d    chatter.Delivery
}

// cluster is nodes on a memnet.Live network: subnets × perSubnet.
type cluster struct {
	net   *memnet.Live
	nodes []*chatter.Node
	mu    sync.Mutex
	got   []arrival
}

func newCluster(t *testing.T, subnets, perSubnet int, atMostOnce bool) *cluster {
	t.Helper()
	c := &cluster{net: memnet.NewLive(memnet.LiveConfig{Seed: 1})}
	for s := range subnets {
		for h := range perSubnet {
			ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(s), byte(1 + h)}), 29999)
			id, _ := core.NetIDFromAddrPort(ap)
			host := c.net.Host(id, fmt.Sprint("subnet", s))
			n, err := chatter.New(chatter.Config{
				Addr: ap, Key: []byte("a test key that is 32 bytes long"), Seed: uint64(s*perSubnet + h + 1),
				Engine: core.EngineConfig{AckTimeout: 200 * time.Millisecond, AnnounceInterval: 100 * time.Millisecond},
			}, chatter.WithTransports(host.UnicastPort(), host.MulticastPort()))
			if err != nil {
				t.Fatal(err)
			}
			err = chatter.Register(n, noteHandler(id, func(m Note, d chatter.Delivery) {
				c.mu.Lock()
				c.got = append(c.got, arrival{id, m, d})
				c.mu.Unlock()
			}, atMostOnce))
			if err != nil {
				t.Fatal(err)
			}
			c.nodes = append(c.nodes, n)
		}
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			if err := n.Close(); err != nil {
				t.Errorf("close %s: %v", n.LocalID(), err)
			}
		}
	})
	return c
}

func (c *cluster) ids() []core.NetID {
	var ids []core.NetID
	for _, n := range c.nodes {
		ids = append(ids, n.LocalID())
	}
	return ids
}

// waitFor polls until every node but the origin received text, or fails.
func (c *cluster) waitFor(t *testing.T, origin core.NetID, text string) map[core.NetID][]arrival {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		by := make(map[core.NetID][]arrival)
		c.mu.Lock()
		for _, a := range c.got {
			if a.note.Text == text {
				by[a.node] = append(by[a.node], a)
			}
		}
		c.mu.Unlock()
		missing := 0
		for _, n := range c.nodes {
			if n.LocalID() != origin && len(by[n.LocalID()]) == 0 {
				missing++
			}
		}
		if missing == 0 {
			return by
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q reached %d of %d nodes", text, len(c.nodes)-1-missing, len(c.nodes)-1)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestThreeSubnets broadcasts over 3 subnets of 20 nodes: every node gets
// every message, relays add themselves to the trail, and warm broadcasts
// use multicast inside subnets.
func TestThreeSubnets(t *testing.T) {
	c := newCluster(t, 3, 20, false)
	ctx := context.Background()
	origin := c.nodes[0]
	for i := range 6 {
		text := fmt.Sprint("note ", i)
		if _, err := chatter.Broadcast(ctx, origin, c.ids(), Note{Text: text}); err != nil {
			t.Fatal(err)
		}
		by := c.waitFor(t, origin.LocalID(), text)
		if i == 0 {
			relayed := 0
			for _, as := range by {
				for _, a := range as {
					if len(a.note.Trail) > 0 {
						relayed++
					}
				}
			}
			if relayed == 0 {
				t.Error("no arrival carried a trail: relays did not forward their handler's message")
			}
		}
		time.Sleep(300 * time.Millisecond) // announcements refresh reports
	}
	s := origin.Stats()
	if s.Sent["mcast"].Frames == 0 {
		t.Errorf("origin never multicast: %+v", s.Sent)
	}
	var mcastRecv uint64
	for _, n := range c.nodes {
		mcastRecv += n.Stats().Received["mcast"].Frames
	}
	if mcastRecv == 0 {
		t.Error("no node received multicast")
	}
	if got := len(origin.Peers()); got == 0 {
		t.Error("the origin knows no peers")
	}
}

// TestAtMostOnce checks that a handler with AtMostOnce sees each message
// once, though copies arrive by multicast and TCP.
func TestAtMostOnce(t *testing.T) {
	c := newCluster(t, 2, 10, true)
	ctx := context.Background()
	for i := range 3 {
		text := fmt.Sprint("once ", i)
		if _, err := chatter.Broadcast(ctx, c.nodes[3], c.ids(), Note{Text: text}); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, c.nodes[3].LocalID(), text)
		time.Sleep(200 * time.Millisecond) // let copies in flight arrive
		by := c.waitFor(t, c.nodes[3].LocalID(), text)
		for id, as := range by {
			if len(as) != 1 {
				t.Errorf("%s dispatched %q %d times", id, text, len(as))
			}
		}
	}
	var dups uint64
	for _, n := range c.nodes {
		dups += n.Stats().Router.Duplicates
	}
	t.Logf("duplicates suppressed: %d", dups)
}

func TestClosedNode(t *testing.T) {
	c := newCluster(t, 1, 2, false)
	n := c.nodes[0]
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := chatter.Broadcast(context.Background(), n, c.ids(), Note{Text: "late"}); !errors.Is(err, chatter.ErrClosed) {
		t.Errorf("Broadcast after Close: %v, want ErrClosed", err)
	}
	if err := chatter.Register(n, noteHandler(n.LocalID(), func(Note, chatter.Delivery) {}, false)); !errors.Is(err, chatter.ErrClosed) {
		t.Errorf("Register after Close: %v, want ErrClosed", err)
	}
}

func TestConfigErrors(t *testing.T) {
	ap := netip.MustParseAddrPort("127.0.0.1:29999")
	for _, tc := range []struct {
		name string
		cfg  chatter.Config
	}{
		{"no address", chatter.Config{Key: []byte("k")}},
		{"no key", chatter.Config{Addr: ap}},
		{"group not multicast", chatter.Config{Addr: ap, Key: []byte("k"), MulticastGroup: ap}},
		{"bad ttl", chatter.Config{Addr: ap, Key: []byte("k"), TTL: 300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); !errors.Is(err, chatter.ErrConfig) {
				t.Errorf("Validate: %v, want ErrConfig", err)
			}
		})
	}
	if _, err := chatter.New(chatter.Config{Addr: ap, Key: []byte("k"), Interface: "no-such-interface0"}); !errors.Is(err, chatter.ErrConfig) {
		t.Errorf("New with an unknown interface: %v, want ErrConfig", err)
	}
}
