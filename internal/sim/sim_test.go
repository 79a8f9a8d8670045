package sim

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
		w := newWorld(p, s, p.Seed, nil)
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
	p.RepairBuffer = 1024 // the engine's default
	full, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, small); diff != "" {
		t.Errorf("results (-default buffer +lossless buffer):\n%s", diff)
	}
}

// TestSortedIDs checks sortedIDs against sorting through NetID.Compare.
func TestSortedIDs(t *testing.T) {
	v4 := func(a, b byte, port uint16) core.NetID { return core.NetIDFrom4([4]byte{198, 18, a, b}, port) }
	v6, err := core.ParseNetID("[2001:db8::1]:29999")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ids  []core.NetID
	}{
		{"none", nil},
		{"IPv4, repeated and out of order", []core.NetID{v4(1, 2, 29999), v4(0, 9, 29999), v4(1, 2, 29999), v4(1, 1, 30000), v4(1, 1, 29999), v4(255, 255, 1)}},
		{"invalid ones dropped", []core.NetID{{}, v4(3, 3, 29999), {}, v4(0, 1, 29999)}},
		{"IPv6 among them", []core.NetID{v4(1, 2, 29999), v6, v4(0, 1, 29999), v6, {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []core.NetID
			for _, id := range tc.ids {
				if id.IsValid() {
					want = append(want, id)
				}
			}
			slices.SortFunc(want, core.NetID.Compare)
			want = slices.Compact(want)
			var keys []uint64
			got := sortedIDs(nil, tc.ids, &keys)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sortedIDs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLaunchOrder checks that Run starts every world once, the warm worlds
// of the strategies that multicast first.
func TestLaunchOrder(t *testing.T) {
	for _, tc := range []struct {
		name       string
		strategies []core.Strategy
		want       []int
	}{
		{"all", []core.Strategy{core.StrategyUnicast, core.StrategyTCPLog, core.StrategyGossip, core.StrategyClassic, core.StrategyChatter},
			[]int{7, 9, 6, 8, 1, 3, 5, 0, 2, 4}},
		{"chatter", []core.Strategy{core.StrategyChatter}, []int{1, 0}},
		{"tcp only", []core.Strategy{core.StrategyTCPLog, core.StrategyUnicast}, []int{1, 3, 0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, launchOrder(tc.strategies)); diff != "" {
				t.Errorf("launchOrder (-want +got):\n%s", diff)
			}
		})
	}
}
