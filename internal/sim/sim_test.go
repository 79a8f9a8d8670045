package sim

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
)

// TestDelivery checks the protocol's promise on a small cluster: every live
// node gets every broadcast, cold and warm, with multicast loss (through
// repair) and with crashed nodes (through failover).
func TestDelivery(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Params
	}{
		{"no loss", Params{}},
		{"multicast loss 0.2", Params{McastLoss: 0.2}},
		{"crash 0.1", Params{Crash: 0.1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			p.Nodes, p.Subnets, p.Broadcasts, p.Warmup = 96, 4, 4, 10
			p.Strategies = []core.Strategy{core.StrategyChatter, core.StrategyTCPLog, core.StrategyUnicast}
			res, err := Run(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.DeliveryRatio != 1 {
					t.Errorf("%s %s: delivery ratio %v, want 1", r.Strategy, r.Phase, r.DeliveryRatio)
				}
			}
		})
	}
}

// TestWarmChatterIsEfficient checks the warm protocol against its bounds on
// a cluster small enough for -race: S = 4 groups.
func TestWarmChatterIsEfficient(t *testing.T) {
	res, err := Run(Params{Nodes: 96, Subnets: 4, Broadcasts: 6, Strategies: []core.Strategy{core.StrategyChatter, core.StrategyTCPLog}})
	if err != nil {
		t.Fatal(err)
	}
	var chatter, tcplog Result
	for _, r := range res {
		if r.Phase != "warm" {
			continue
		}
		if r.Strategy == "chatter" {
			chatter = r
		} else {
			tcplog = r
		}
	}
	const s = 4
	if chatter.WirePackets > 2*(2*s-1) {
		t.Errorf("warm wire packets %v, want at most 2(2S-1) = %d", chatter.WirePackets, 2*(2*s-1))
	}
	if chatter.CopiesPerNode > 1.1 {
		t.Errorf("warm copies per node %v, want at most 1.1", chatter.CopiesPerNode)
	}
	if chatter.WireBytes > 0.3*tcplog.WireBytes {
		t.Errorf("warm wire bytes %v, tcp-log %v", chatter.WireBytes, tcplog.WireBytes)
	}
	t.Logf("chatter %+v", chatter)
}

// TestLosslessRepairBufferUnread checks what repairBuffer relies on: with no
// multicast loss (but crashed nodes and lost TCP frames) no node asks for
// repair, and a run with the engine's default buffer gives the same results.
func TestLosslessRepairBufferUnread(t *testing.T) {
	p := Params{Nodes: 96, Subnets: 4, Broadcasts: 4, Warmup: 10, Crash: 0.1, TCPLoss: 0.05}
	p, err := p.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Strategies {
		w := newWorld(p, s, p.Seed)
		w.warmUp()
		w.measure("warm", func() {})
		for _, n := range w.nodes {
			if r := n.eng.Stats().RepairRequests; r != 0 {
				t.Errorf("%s: node %s asked for repair %d times", s, n.id, r)
			}
		}
	}
	small, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	defer func(old int) { losslessRepairBuffer = old }(losslessRepairBuffer)
	losslessRepairBuffer = 0
	full, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, small); diff != "" {
		t.Errorf("results (-default buffer +lossless buffer):\n%s", diff)
	}
}
