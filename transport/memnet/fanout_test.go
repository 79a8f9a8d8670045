package memnet_test

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/transport/memnet"
)

// run is what a scenario did: its trace, each delivery with its frame, the
// Pending count after every Step, and the longest the event queue grew.
type run struct {
	Trace      []string
	Deliveries []string
	Pending    []int
	steps      int
	maxQueue   int
}

// churn runs a lossy network of four subnets whose handlers, while a
// multicast is being delivered, crash and restart hosts (later receivers
// of the same multicast among them), multicast and unicast, set timers due
// at once, override a link's latency, and once run a Step of their own.
func churn(cfg memnet.Config, fanout bool) run {
	n := memnet.New(cfg)
	memnet.SetFanout(n, fanout)
	var r run
	n.SetTrace(func(e memnet.TraceEvent) { r.Trace = append(r.Trace, e.String()) })
	const hosts, subnets = 40, 4
	hs := make([]*memnet.Host, hosts)
	nested := false
	for i := range hosts {
		hs[i] = n.AddHost(hostID(i), fmt.Sprint("sub", i%subnets), func(d memnet.Delivery) {
			r.Deliveries = append(r.Deliveries, fmt.Sprintf("%v %s<%s %q", d.At.Sub(time.Time{}), d.To, d.From, d.Frame))
			hops := d.Meta.(int)
			if hops >= 3 {
				return
			}
			switch (i*7 + hops) % 9 {
			case 0: // crash a later member of this subnet: perhaps a later receiver of d
				n.Crash(hostID((i + subnets) % hosts))
			case 1: // crash and restart one: if it was to receive d, it must not
				n.Crash(hostID((i + 2*subnets) % hosts))
				n.Restart(hostID((i + 2*subnets) % hosts))
			case 2:
				n.Crash(hostID(i))
			case 3:
				n.Restart(hostID((i + 3*subnets) % hosts))
			case 4: // a timer due now runs after the rest of d's receivers
				n.After(0, func() { hs[(i+1)%hosts].Multicast(fmt.Appendf(nil, "timer %d", i), hops+1) })
			case 5:
				n.SetLinkLatency(hostID(i), hostID((i+subnets)%hosts), 3*time.Millisecond)
			case 6:
				if !nested {
					nested = true
					n.Step()
					nested = false
				}
			}
			if (i+hops)%3 == 0 {
				hs[i].Multicast(fmt.Appendf(nil, "from %d hop %d", i, hops+1), hops+1)
			} else {
				hs[i].Send(hostID((i*13+hops)%hosts), d.Frame, hops+1)
			}
		})
	}
	n.SetLinkLatency(hostID(1), hostID(5), 2*time.Millisecond)
	n.After(5*time.Millisecond, func() {
		for i := range hosts {
			n.Restart(hostID(i))
		}
	})
	for i := range hosts {
		hs[i].Multicast(fmt.Appendf(nil, "hello from %d", i), 0)
	}
	for r.steps < 100000 && n.Step() {
		r.steps++
		r.Pending = append(r.Pending, n.Pending())
		r.maxQueue = max(r.maxQueue, memnet.QueueLen(n))
	}
	return r
}

// TestFanoutMatchesOneEventPerReceiver runs the churn scenario with each
// multicast as one event and as one event per receiver, and checks that
// both give the same trace, deliveries and Pending counts.
func TestFanoutMatchesOneEventPerReceiver(t *testing.T) {
	for _, cfg := range []memnet.Config{
		{Seed: 1, Latency: time.Millisecond},
		{Seed: 2, Latency: time.Millisecond, Bandwidth: 1e5, McastLoss: 0.2, UnicastLoss: 0.1},
		{Seed: 3, Bandwidth: 1e6, McastLoss: 0.5},
		{Seed: 4, Latency: time.Millisecond, McastLoss: 0.1, SharedFrames: true},
	} {
		t.Run(fmt.Sprintf("seed=%d", cfg.Seed), func(t *testing.T) {
			fan, each := churn(cfg, true), churn(cfg, false)
			if diff := cmp.Diff(each, fan, cmp.AllowUnexported(run{}), cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".maxQueue"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("one event per receiver vs fan-out (-each +fan):\n%s", diff)
			}
			if fan.steps < 1000 || fan.steps >= 100000 {
				t.Errorf("the scenario ran %d steps", fan.steps)
			}
			if fan.maxQueue >= each.maxQueue {
				t.Errorf("the queue grew to %d events with fan-out, %d without: fan-out unused?", fan.maxQueue, each.maxQueue)
			}
			var drops int
			for _, l := range fan.Trace {
				if len(l) > 12 && l[len(l)-12:] == " target-down" {
					drops++
				}
			}
			if drops == 0 {
				t.Error("no frame was dropped for a crashed target")
			}
		})
	}
}

// TestFanoutDuringDelivery checks what a receiver's handler does to the
// rest of a multicast: three receivers B, C, D of A's multicast, in that
// order, all due at once; B's handler acts, then C and D are served.
func TestFanoutDuringDelivery(t *testing.T) {
	a, b, c, d := hostID(1), hostID(2), hostID(3), hostID(4)
	const (
		send   = "+0s send mcast 10.0.0.1:7000>subnet:s len=1"
		toB    = "+1ms deliver mcast 10.0.0.1:7000>10.0.0.2:7000 len=1"
		toC    = "+1ms deliver mcast 10.0.0.1:7000>10.0.0.3:7000 len=1"
		toD    = "+1ms deliver mcast 10.0.0.1:7000>10.0.0.4:7000 len=1"
		dropC  = "+1ms drop mcast 10.0.0.1:7000>10.0.0.3:7000 len=1 target-down"
		dropD  = "+1ms drop mcast 10.0.0.1:7000>10.0.0.4:7000 len=1 target-down"
		timer  = "+1ms timer"
		sendB  = "+1ms send mcast 10.0.0.2:7000>subnet:s len=1"
		bToA   = "+2ms deliver mcast 10.0.0.2:7000>10.0.0.1:7000 len=1"
		bToC   = "+2ms deliver mcast 10.0.0.2:7000>10.0.0.3:7000 len=1"
		bToD   = "+2ms deliver mcast 10.0.0.2:7000>10.0.0.4:7000 len=1"
		uniBtC = "+1ms send tcp 10.0.0.2:7000>10.0.0.3:7000 len=1"
		uniToC = "+2ms deliver tcp 10.0.0.2:7000>10.0.0.3:7000 len=1"
	)
	for _, tc := range []struct {
		name string
		act  func(n *memnet.Network, b *memnet.Host) // B's handler, on A's frame
		want []string
	}{
		{"nothing", func(*memnet.Network, *memnet.Host) {}, []string{send, toB, toC, toD}},
		{"crash C", func(n *memnet.Network, _ *memnet.Host) { n.Crash(c) }, []string{send, toB, dropC, toD}},
		{"crash and restart C", func(n *memnet.Network, _ *memnet.Host) { n.Crash(c); n.Restart(c) },
			[]string{send, toB, dropC, toD}},
		{"crash C and D", func(n *memnet.Network, _ *memnet.Host) { n.Crash(d); n.Crash(c) },
			[]string{send, toB, dropC, dropD}},
		{"crash the sender", func(n *memnet.Network, _ *memnet.Host) { n.Crash(a) }, []string{send, toB, toC, toD}},
		{"crash B itself", func(n *memnet.Network, _ *memnet.Host) { n.Crash(b) }, []string{send, toB, toC, toD}},
		{"timer due now", func(n *memnet.Network, _ *memnet.Host) { n.After(0, func() {}) },
			[]string{send, toB, toC, toD, timer}},
		{"multicast", func(_ *memnet.Network, h *memnet.Host) { h.Multicast([]byte("b"), nil) },
			[]string{send, toB, sendB, toC, toD, bToA, bToC, bToD}},
		{"unicast", func(_ *memnet.Network, h *memnet.Host) { h.Send(c, []byte("b"), nil) },
			[]string{send, toB, uniBtC, toC, toD, uniToC}},
		{"step", func(n *memnet.Network, _ *memnet.Host) { n.Step() }, []string{send, toB, toC, toD}},
	} {
		for _, fanout := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fanout=%v", tc.name, fanout), func(t *testing.T) {
				n := memnet.New(memnet.Config{Latency: time.Millisecond})
				memnet.SetFanout(n, fanout)
				var tr tracer
				n.SetTrace(tr.add)
				from := n.AddHost(a, "s", nil)
				var hb *memnet.Host
				first := true
				hb = n.AddHost(b, "s", func(memnet.Delivery) {
					if first {
						first = false
						tc.act(n, hb)
					}
				})
				n.AddHost(c, "s", nil)
				n.AddHost(d, "s", nil)
				from.Multicast([]byte("a"), nil)
				if got := n.Pending(); got != 3 {
					t.Errorf("Pending() after the multicast = %d, want 3", got)
				}
				n.RunUntilIdle(0)
				if diff := cmp.Diff(tc.want, tr.lines); diff != "" {
					t.Errorf("trace (-want +got):\n%s", diff)
				}
				if got := n.Pending(); got != 0 {
					t.Errorf("Pending() when idle = %d", got)
				}
			})
		}
	}
}

// TestStepDeliversOnce checks that a multicast's receivers take one Step
// each, and that Pending counts them down.
func TestStepDeliversOnce(t *testing.T) {
	n := memnet.New(memnet.Config{Latency: time.Millisecond})
	rec := newRecorder(n)
	a := n.AddHost(hostID(0), "s", nil)
	for i := 1; i <= 4; i++ {
		n.AddHost(hostID(i), "s", rec.handler)
	}
	a.Multicast([]byte("x"), nil)
	n.After(time.Millisecond, func() {})
	var pending []int
	for n.Step() {
		pending = append(pending, n.Pending())
	}
	if diff := cmp.Diff([]int{4, 3, 2, 1, 0}, pending); diff != "" {
		t.Errorf("Pending() after each Step (-want +got):\n%s", diff)
	}
	if len(rec.got) != 4 {
		t.Errorf("%d deliveries, want 4", len(rec.got))
	}
}

// TestSharedFrames checks who owns Delivery.Frame, with and without
// Config.SharedFrames, for multicasts sent as one event and as one event
// per receiver, and for unicast.
func TestSharedFrames(t *testing.T) {
	for _, tc := range []struct {
		name       string
		shared     bool
		linkDelay  bool // a link of its own to one receiver: one event per receiver
		unicast    bool
		wantShared bool // all receivers got the same bytes
	}{
		{name: "private multicast", wantShared: false},
		{name: "private multicast, mixed latencies", linkDelay: true, wantShared: false},
		{name: "shared multicast", shared: true, wantShared: true},
		{name: "shared multicast, mixed latencies", shared: true, linkDelay: true, wantShared: true},
		{name: "private unicast", unicast: true},
		{name: "shared unicast", shared: true, unicast: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := memnet.New(memnet.Config{Latency: time.Millisecond, SharedFrames: tc.shared})
			var frames []string
			var data []*byte
			h := func(d memnet.Delivery) {
				frames = append(frames, string(d.Frame))
				data = append(data, unsafe.SliceData(d.Frame))
			}
			a := n.AddHost(hostID(0), "s", nil)
			for i := 1; i <= 3; i++ {
				n.AddHost(hostID(i), "s", h)
			}
			if tc.linkDelay {
				n.SetLinkLatency(hostID(0), hostID(2), 2*time.Millisecond)
			}
			buf := []byte("orig")
			want := []string{"orig", "orig", "orig"}
			if tc.unicast {
				a.Send(hostID(1), buf, nil)
				want = want[:1]
			} else {
				a.Multicast(buf, nil)
			}
			copy(buf, "XXXX") // the sender may reuse its buffer at once
			n.RunUntilIdle(0)
			if diff := cmp.Diff(want, frames); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
			distinct := make(map[*byte]bool)
			for _, p := range data {
				if p == unsafe.SliceData(buf) {
					t.Error("a delivery aliases the sender's buffer")
				}
				distinct[p] = true
			}
			switch {
			case tc.wantShared && len(distinct) != 1:
				t.Errorf("the receivers got %d copies, want one shared", len(distinct))
			case !tc.wantShared && len(distinct) != len(data):
				t.Errorf("the receivers got %d copies of %d deliveries, want private ones", len(distinct), len(data))
			}
		})
	}
}

// TestLastDelivery checks Delivery.Last: set on a frame's last delivery
// alone, whether its receivers are served by one event or one each, and on
// no delivery when the last receiver is down by then.
func TestLastDelivery(t *testing.T) {
	for _, tc := range []struct {
		name      string
		unicast   bool
		linkDelay bool // host 2 later than the others: one event per receiver
		crash     int  // a host crashed after the send, 0 for none
		want      []string
	}{
		{name: "unicast", unicast: true, want: []string{"10.0.0.1:7000 last"}},
		{name: "multicast", want: []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000 last"}},
		{name: "multicast, mixed latencies", linkDelay: true, want: []string{"10.0.0.1:7000", "10.0.0.3:7000", "10.0.0.2:7000 last"}},
		{name: "multicast, the last receiver down", crash: 3, want: []string{"10.0.0.1:7000", "10.0.0.2:7000"}},
		{name: "multicast, a receiver down", crash: 2, want: []string{"10.0.0.1:7000", "10.0.0.3:7000 last"}},
		{name: "unicast, the receiver down", unicast: true, crash: 1, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := memnet.New(memnet.Config{Latency: time.Millisecond, SharedFrames: true})
			var got []string
			h := func(d memnet.Delivery) {
				s := d.To.String()
				if d.Last {
					s += " last"
				}
				got = append(got, s)
			}
			a := n.AddHost(hostID(0), "s", nil)
			for i := 1; i <= 3; i++ {
				n.AddHost(hostID(i), "s", h)
			}
			if tc.linkDelay {
				n.SetLinkLatency(hostID(0), hostID(2), 2*time.Millisecond)
			}
			if tc.unicast {
				a.Send(hostID(1), []byte("f"), nil)
			} else {
				a.Multicast([]byte("f"), nil)
			}
			if tc.crash != 0 {
				n.Crash(hostID(tc.crash))
			}
			n.RunUntilIdle(0)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
		})
	}
}
