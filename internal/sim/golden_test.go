package sim

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/memnet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenParams is the world of the golden trace: 12 nodes in 3 subnets, two
// warm-up broadcasts, seed 7. Bandwidth is so high that serialisation
// rounds to 0 ns, so the trace's times are hops × latency and do not move
// when the codec's frame sizes change.
func goldenParams() Params {
	return Params{Nodes: 12, Subnets: 3, Broadcasts: 1, Warmup: 2, Seed: 7, Bandwidth: 1e15}
}

// traceRecord is one traced event of the measured broadcast. Its packet's
// message is filled in after the send returns, so it is rendered once the
// run is over.
type traceRecord struct {
	ev memnet.TraceEvent
	pk *packet
}

// traceBroadcast builds p's world running the chatter strategy, warms it up,
// and returns the rendered trace of one measured broadcast: a header naming
// the nodes, one line per send, delivery, loss and drop of the broadcast's
// frames (acks and repairs included, announcements not), and a summary.
func traceBroadcast(t *testing.T, p Params) []string {
	t.Helper()
	p.Strategies = []core.Strategy{core.StrategyChatter}
	p, err := p.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(p, core.StrategyChatter, p.Seed, nil)
	w.warmUp()
	origin := w.nodes[w.rnd.IntN(len(w.nodes))]

	var recs []traceRecord
	w.net.SetTrace(func(ev memnet.TraceEvent) {
		if pk, ok := ev.Meta.(*packet); ok && pk.bcast == 0 {
			recs = append(recs, traceRecord{ev, pk})
		}
	})
	w.cur = 0
	w.m = &measure{start: w.net.Now(), origin: origin.id, first: make(map[core.NetID]firstDelivery)}
	m := w.m
	w.broadcast(origin)
	// As long as measure waits: failovers, and repair of a lost tail
	// frame, which the sender's next announcement reveals.
	w.net.RunFor(5*time.Second + 8*p.AckTimeout)
	w.net.SetTrace(nil)
	w.cur, w.m = -1, nil

	names := make(map[core.NetID]string, len(w.nodes))
	for i, n := range w.nodes {
		names[n.id] = fmt.Sprintf("n%d", i)
	}
	lines := []string{fmt.Sprintf("# %d nodes, %d subnets, seed %d, mcast-loss %v; origin %s (%s)",
		p.Nodes, p.Subnets, p.Seed, p.McastLoss, names[origin.id], origin.host.Subnet())}
	for s := range p.Subnets {
		var members []string
		for i, n := range w.nodes {
			if i%p.Subnets == s {
				members = append(members, names[n.id])
			}
		}
		lines = append(lines, fmt.Sprintf("# s%d: %s", s, strings.Join(members, " ")))
	}
	gossipSends := 0
	for _, r := range recs {
		lines = append(lines, Describe(r.ev, r.pk, m.start, names))
		if (r.ev.Kind == memnet.TraceSend || r.ev.Kind == memnet.TraceMulticast) && r.pk.msg.Kind.IsGossip() {
			gossipSends++
		}
	}
	maxHop := 0
	for _, f := range m.first {
		maxHop = max(maxHop, f.hop)
	}
	lines = append(lines, fmt.Sprintf("# reached %d of %d, rounds %d, data packets %d (origin %d), acks %d, deliveries %d",
		len(m.first), p.Nodes-1, maxHop, m.packets, m.originSends, m.acks, m.deliveries))
	if gossipSends != m.packets {
		t.Errorf("the trace holds %d gossip sends, the measurement counted %d packets", gossipSends, m.packets)
	}
	return lines
}

// Describe renders one traced event of a broadcast on one line: time since
// the broadcast started, what happened, the transport, the message kind,
// sender > receiver (or subnet), and the message's own details: a gossip's
// hop (the origin's frames are hop 1), its multicast sequence or its
// distribution list (each group as entry+members); an ack's count of IDs; a
// repair request's ranges. Acks and repair requests carry no hop: the
// engine emits them without the cause's meta.
func Describe(ev memnet.TraceEvent, pk *packet, start time.Time, names map[core.NetID]string) string {
	name := func(id core.NetID) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "+%-6v %-7s %-5s %-16s %s>", ev.At.Sub(start), ev.Kind, ev.Via, pk.msg.Kind, name(ev.From))
	if ev.To.IsValid() {
		b.WriteString(name(ev.To))
	} else {
		b.WriteString(ev.Subnet)
	}
	switch msg := &pk.msg; {
	case msg.Kind.IsGossip():
		fmt.Fprintf(&b, " hop=%d", pk.hop)
		if msg.Gossip.MulticastSeq != 0 {
			fmt.Fprintf(&b, " seq=%d", msg.Gossip.MulticastSeq)
		}
		if msg.Kind == core.MsgGossip {
			sizes := make([]string, len(msg.Gossip.Distribution))
			for i, g := range msg.Gossip.Distribution {
				sizes[i] = fmt.Sprintf("%s+%d", name(g.Entry), len(g.Members))
			}
			fmt.Fprintf(&b, " list=[%s]", strings.Join(sizes, " "))
		}
	case msg.Kind == core.MsgAck:
		fmt.Fprintf(&b, " ids=%d", len(msg.Ack.IDs))
	case msg.Kind == core.MsgRepairRequest:
		for _, r := range msg.Repair.Ranges {
			fmt.Fprintf(&b, " %d..%d", r.First, r.Last)
		}
	}
	if ev.Kind == memnet.TraceDrop || ev.Kind == memnet.TraceLost {
		fmt.Fprintf(&b, " (%s)", ev.Reason)
	}
	return b.String()
}

func TestGoldenBroadcast(t *testing.T) {
	got := strings.Join(traceBroadcast(t, goldenParams()), "\n") + "\n"
	path := filepath.Join("testdata", "golden_broadcast.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with go test ./internal/sim -run Golden -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("trace of the golden broadcast (-%s +got); if the change is meant, regenerate with go test ./internal/sim -run Golden -update and review the diff:\n%s", path, diff)
	}
}

func TestDeterministic(t *testing.T) {
	// The worlds run one at a time, then 4 at once: same results.
	p := Params{Nodes: 24, Subnets: 4, Broadcasts: 2, Warmup: 2, Seed: 3, McastLoss: 0.1, Crash: 0.1, Parallel: 1}
	first, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	p.Parallel = 4
	second, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2*5 {
		t.Errorf("%d results, want 5 strategies × 2 phases", len(first))
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("one seed, two runs (-first +second):\n%s", diff)
	}

	// The trace, too, is a function of the parameters; another seed with
	// multicast loss gives another trace.
	golden := traceBroadcast(t, goldenParams())
	if diff := cmp.Diff(golden, traceBroadcast(t, goldenParams())); diff != "" {
		t.Errorf("one seed, two traces (-first +second):\n%s", diff)
	}
	lossy := goldenParams()
	lossy.Seed, lossy.McastLoss = 8, 0.2
	other := traceBroadcast(t, lossy)
	t.Logf("seed 8, multicast loss 0.2:\n%s", strings.Join(other, "\n"))
	if cmp.Equal(golden[1:], other[1:]) {
		t.Errorf("seed 8 with multicast loss 0.2 gave the trace of seed 7:\n%s", strings.Join(other, "\n"))
	}
	// Repair brings the message to the nodes that lost the multicast.
	if last := other[len(other)-1]; !strings.HasPrefix(last, "# reached 11 of 11,") {
		t.Errorf("lossy broadcast: %s, want all 11 reached", last)
	}
	if diff := cmp.Diff(other, traceBroadcast(t, lossy)); diff != "" {
		t.Errorf("one lossy seed, two traces (-first +second):\n%s", diff)
	}
}
