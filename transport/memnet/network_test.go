package memnet_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/memnet"
)

// hostID returns the NetID of test host i: 10.x.y.z:7000.
func hostID(i int) core.NetID {
	return core.NetIDFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, 7000)
}

// got is a delivery as the tests compare it.
type got struct {
	At       time.Duration
	From, To string
	Via      string
	Frame    string
}

// recorder collects deliveries, with times since the network's start.
type recorder struct {
	start time.Time
	got   []got
}

func newRecorder(n *memnet.Network) *recorder { return &recorder{start: n.Now()} }

func (r *recorder) handler(d memnet.Delivery) {
	r.got = append(r.got, got{
		At:    d.At.Sub(r.start),
		From:  d.From.String(),
		To:    d.To.String(),
		Via:   d.Via.String(),
		Frame: string(d.Frame),
	})
}

// tracer collects a trace as strings.
type tracer struct{ lines []string }

func (tr *tracer) add(e memnet.TraceEvent) { tr.lines = append(tr.lines, e.String()) }

func TestDefaults(t *testing.T) {
	n := memnet.New(memnet.Config{})
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); !n.Now().Equal(want) {
		t.Errorf("Now() = %v, want %v", n.Now(), want)
	}
	start := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	if got := memnet.New(memnet.Config{Start: start}).Now(); !got.Equal(start) {
		t.Errorf("Now() with Start = %v, want %v", got, start)
	}
	if n.Step() {
		t.Error("Step() on an empty network = true")
	}
	n.RunUntil(start)
	if !n.Now().Equal(start) {
		t.Errorf("after RunUntil(%v), Now() = %v", start, n.Now())
	}
	n.RunUntil(start.Add(-time.Hour))
	if !n.Now().Equal(start) {
		t.Errorf("RunUntil moved the clock back to %v", n.Now())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []memnet.Config{
		{Latency: -1},
		{Bandwidth: -1},
		{Bandwidth: math.NaN()},
		{McastLoss: 1.5},
		{UnicastLoss: -0.1},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v: Validate() = nil, want an error", c)
		}
	}
	if err := (memnet.Config{Latency: time.Second, Bandwidth: 1e6, McastLoss: 1, UnicastLoss: 0}).Validate(); err != nil {
		t.Errorf("Validate() of a good config = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("New with an invalid config did not panic")
		}
	}()
	memnet.New(memnet.Config{McastLoss: 2})
}

// action is one step of a timing scenario: at At, host From sends Size bytes
// to To (or multicasts, To < 0).
type action struct {
	At       time.Duration
	From, To int
	Size     int
}

func TestLatencyAndBandwidth(t *testing.T) {
	type link struct {
		from, to int
		d        time.Duration
	}
	ms := time.Millisecond
	tests := []struct {
		name    string
		cfg     memnet.Config
		links   []link
		actions []action
		want    []time.Duration // arrival times, in delivery order
	}{
		{
			name:    "instant",
			actions: []action{{From: 0, To: 1, Size: 100}},
			want:    []time.Duration{0},
		},
		{
			name:    "latency only",
			cfg:     memnet.Config{Latency: 10 * ms},
			actions: []action{{From: 0, To: 1, Size: 100}, {At: 3 * ms, From: 0, To: 1, Size: 100}},
			want:    []time.Duration{10 * ms, 13 * ms},
		},
		{
			name: "bandwidth serialises a host's sends",
			cfg:  memnet.Config{Latency: 10 * ms, Bandwidth: 1e6}, // 1 byte per µs
			actions: []action{
				{From: 0, To: 1, Size: 1000},
				{From: 0, To: 2, Size: 500},
				{From: 0, To: 1, Size: 2000},
				{From: 1, To: 0, Size: 1000}, // another host's egress is free
			},
			want: []time.Duration{11 * ms, 11 * ms, 11500 * time.Microsecond, 13500 * time.Microsecond},
		},
		{
			name: "an idle egress starts from now",
			cfg:  memnet.Config{Bandwidth: 1e6},
			actions: []action{
				{From: 0, To: 1, Size: 1000},
				{At: 10 * ms, From: 0, To: 1, Size: 1000},
				{At: 10 * ms, From: 0, To: 1, Size: 1},
			},
			want: []time.Duration{1 * ms, 11 * ms, 11*ms + time.Microsecond},
		},
		{
			name: "a multicast is serialised once",
			cfg:  memnet.Config{Latency: 5 * ms, Bandwidth: 1e6},
			actions: []action{
				{From: 0, To: -1, Size: 1000},
				{From: 0, To: 1, Size: 1000},
			},
			want: []time.Duration{6 * ms, 6 * ms, 7 * ms},
		},
		{
			name:  "per-link latency, one direction",
			cfg:   memnet.Config{Latency: 10 * ms},
			links: []link{{0, 1, 3 * ms}},
			actions: []action{
				{From: 0, To: 2, Size: 10},
				{From: 0, To: 1, Size: 10},
				{From: 1, To: 0, Size: 10},
			},
			want: []time.Duration{3 * ms, 10 * ms, 10 * ms},
		},
		{
			name: "fractional serialisation rounds to the nanosecond",
			cfg:  memnet.Config{Bandwidth: 3e9}, // 3 bytes per ns
			actions: []action{
				{From: 0, To: 1, Size: 1}, // 0.33 ns -> 0
				{From: 0, To: 1, Size: 2}, // 0.67 ns -> 1
				{From: 0, To: 1, Size: 3},
			},
			want: []time.Duration{0, 1, 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := memnet.New(tc.cfg)
			start := n.Now()
			var arrivals []time.Duration
			h := func(d memnet.Delivery) { arrivals = append(arrivals, d.At.Sub(start)) }
			hosts := []*memnet.Host{
				n.AddHost(hostID(0), "s", h),
				n.AddHost(hostID(1), "s", h),
				n.AddHost(hostID(2), "s", h),
			}
			for _, l := range tc.links {
				n.SetLinkLatency(hostID(l.from), hostID(l.to), l.d)
			}
			for _, a := range tc.actions {
				n.RunUntil(start.Add(a.At))
				if a.To < 0 {
					hosts[a.From].Multicast(make([]byte, a.Size), nil)
				} else {
					hosts[a.From].Send(hostID(a.To), make([]byte, a.Size), nil)
				}
			}
			n.RunUntilIdle(0)
			if diff := cmp.Diff(tc.want, arrivals); diff != "" {
				t.Errorf("arrival times (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMulticastReachesItsSubnetOnly(t *testing.T) {
	n := memnet.New(memnet.Config{Latency: time.Millisecond})
	r := newRecorder(n)
	hosts := make([]*memnet.Host, 6)
	for i := range hosts {
		sub := "a"
		if i >= 3 {
			sub = "b"
		}
		hosts[i] = n.AddHost(hostID(i), sub, r.handler)
	}
	hosts[0].Multicast([]byte("one"), nil)
	n.RunUntilIdle(0)
	n.Crash(hostID(2))
	hosts[0].Multicast([]byte("two"), nil)
	hosts[4].Multicast([]byte("three"), nil)
	n.RunUntilIdle(0)
	ms := time.Millisecond
	want := []got{
		{At: ms, From: "10.0.0.0:7000", To: "10.0.0.1:7000", Via: "mcast", Frame: "one"},
		{At: ms, From: "10.0.0.0:7000", To: "10.0.0.2:7000", Via: "mcast", Frame: "one"},
		{At: 2 * ms, From: "10.0.0.0:7000", To: "10.0.0.1:7000", Via: "mcast", Frame: "two"},
		{At: 2 * ms, From: "10.0.0.4:7000", To: "10.0.0.3:7000", Via: "mcast", Frame: "three"},
		{At: 2 * ms, From: "10.0.0.4:7000", To: "10.0.0.5:7000", Via: "mcast", Frame: "three"},
	}
	if diff := cmp.Diff(want, r.got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if got, want := hosts[0].Subnet(), "a"; got != want {
		t.Errorf("Subnet() = %q, want %q", got, want)
	}
}

func TestFramesArePrivate(t *testing.T) {
	n := memnet.New(memnet.Config{})
	var frames []string
	h := func(d memnet.Delivery) {
		frames = append(frames, string(d.Frame))
		copy(d.Frame, "MINE") // the handler owns its copy
	}
	a := n.AddHost(hostID(0), "s", nil)
	for i := 1; i <= 3; i++ {
		n.AddHost(hostID(i), "s", h)
	}
	buf := []byte("orig")
	a.Multicast(buf, nil)
	a.Send(hostID(1), buf, nil)
	copy(buf, "XXXX") // the sender may reuse its buffer at once
	n.RunUntilIdle(0)
	if diff := cmp.Diff([]string{"orig", "orig", "orig", "orig"}, frames); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

func TestLossRates(t *testing.T) {
	tests := []struct {
		name        string
		cfg         memnet.Config
		mcast       bool
		trials      int
		want, slack float64 // expected loss fraction, allowed deviation
	}{
		{"multicast 25%", memnet.Config{Seed: 1, McastLoss: 0.25}, true, 20000, 0.25, 0.015},
		{"unicast 10%", memnet.Config{Seed: 2, UnicastLoss: 0.1}, false, 20000, 0.10, 0.01},
		{"multicast loss spares unicast", memnet.Config{Seed: 3, McastLoss: 0.5}, false, 2000, 0, 0},
		{"unicast loss spares multicast", memnet.Config{Seed: 4, UnicastLoss: 0.5}, true, 2000, 0, 0},
		{"multicast 100%", memnet.Config{Seed: 5, McastLoss: 1}, true, 2000, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := memnet.New(tc.cfg)
			const receivers = 100
			src := n.AddHost(hostID(0), "s", nil)
			for i := 1; i <= receivers; i++ {
				n.AddHost(hostID(i), "s", nil)
			}
			for i := range tc.trials {
				if tc.mcast {
					if i%receivers == 0 {
						src.Multicast([]byte("x"), nil)
					}
				} else {
					src.Send(hostID(1+i%receivers), []byte("x"), nil)
				}
			}
			n.RunUntilIdle(0)
			st := n.Stats()
			v := st.Unicast
			if tc.mcast {
				v = st.Multicast
			}
			if v.Delivered+v.Lost != uint64(tc.trials) {
				t.Fatalf("delivered %d + lost %d != %d trials", v.Delivered, v.Lost, tc.trials)
			}
			frac := float64(v.Lost) / float64(tc.trials)
			if math.Abs(frac-tc.want) > tc.slack {
				t.Errorf("lost %d of %d = %.4f, want %.4f ± %.4f", v.Lost, tc.trials, frac, tc.want, tc.slack)
			}
		})
	}
}

func TestCrashAndRestart(t *testing.T) {
	n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond})
	var tr tracer
	n.SetTrace(tr.add)
	var delivered []string
	h := func(d memnet.Delivery) { delivered = append(delivered, string(d.Frame)) }
	a := n.AddHost(hostID(1), "s", h)
	b := n.AddHost(hostID(2), "s", h)
	c := n.AddHost(hostID(3), "s", h)
	start := n.Now()
	at := func(d time.Duration) { n.RunUntil(start.Add(d)) }

	a.Send(b.ID(), []byte("in flight"), nil) // arrives at 10ms
	at(5 * time.Millisecond)
	n.Crash(b.ID())
	n.Crash(b.ID()) // no-op
	if b.Up() {
		t.Error("b.Up() after Crash")
	}
	a.Send(b.ID(), []byte("to the crashed"), nil) // lost at arrival
	b.Send(a.ID(), []byte("from the crashed"), nil)
	b.Multicast([]byte("mcast from the crashed"), nil)
	a.Multicast([]byte("mcast"), nil) // reaches c only
	at(7 * time.Millisecond)
	n.Restart(b.ID()) // too late for the frames already in flight
	c.Send(b.ID(), []byte("after restart"), nil)
	n.RunUntilIdle(0)

	want := []string{
		"+0s send tcp 10.0.0.1:7000>10.0.0.2:7000 len=9",
		"+5ms send tcp 10.0.0.1:7000>10.0.0.2:7000 len=14",
		"+5ms drop tcp 10.0.0.2:7000>10.0.0.1:7000 len=16 sender-down",
		"+5ms drop mcast 10.0.0.2:7000>subnet:s len=22 sender-down",
		"+5ms send mcast 10.0.0.1:7000>subnet:s len=5",
		"+7ms send tcp 10.0.0.3:7000>10.0.0.2:7000 len=13",
		"+10ms drop tcp 10.0.0.1:7000>10.0.0.2:7000 len=9 target-down",
		"+15ms drop tcp 10.0.0.1:7000>10.0.0.2:7000 len=14 target-down",
		"+15ms deliver mcast 10.0.0.1:7000>10.0.0.3:7000 len=5",
		"+17ms deliver tcp 10.0.0.3:7000>10.0.0.2:7000 len=13",
	}
	if diff := cmp.Diff(want, tr.lines); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"mcast", "after restart"}, delivered); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	wantStats := memnet.Stats{
		Unicast:   memnet.ViaStats{Packets: 3, Bytes: 9 + 14 + 13, Delivered: 1, Dropped: 3},
		Multicast: memnet.ViaStats{Packets: 1, Bytes: 5, Delivered: 1, Dropped: 1},
	}
	if diff := cmp.Diff(wantStats, n.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(memnet.HostStats{Sent: 3, SentBytes: 9 + 14 + 5}, a.Stats()); diff != "" {
		t.Errorf("a.Stats (-want +got):\n%s", diff)
	}
}

func TestPartitionAndHeal(t *testing.T) {
	n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond})
	var tr tracer
	n.SetTrace(tr.add)
	a1 := n.AddHost(hostID(1), "a", nil)
	n.AddHost(hostID(2), "a", nil)
	b1 := n.AddHost(hostID(3), "b", nil)
	n.AddHost(hostID(4), "c", nil)
	start := n.Now()

	a1.Send(b1.ID(), []byte("cut in flight"), nil)
	n.RunUntil(start.Add(5 * time.Millisecond))
	n.Partition("a", "b")
	a1.Send(b1.ID(), []byte("across"), nil)
	b1.Send(a1.ID(), []byte("back"), nil)
	a1.Send(hostID(4), []byte("to c"), nil)
	a1.Send(hostID(2), []byte("inside"), nil)
	a1.Multicast([]byte("m"), nil)
	n.RunUntilIdle(0)
	n.Heal()
	a1.Send(b1.ID(), []byte("healed"), nil)
	n.RunUntilIdle(0)

	want := []string{
		"+0s send tcp 10.0.0.1:7000>10.0.0.3:7000 len=13",
		"+5ms drop tcp 10.0.0.1:7000>10.0.0.3:7000 len=6 partition",
		"+5ms drop tcp 10.0.0.3:7000>10.0.0.1:7000 len=4 partition",
		"+5ms send tcp 10.0.0.1:7000>10.0.0.4:7000 len=4",
		"+5ms send tcp 10.0.0.1:7000>10.0.0.2:7000 len=6",
		"+5ms send mcast 10.0.0.1:7000>subnet:a len=1",
		"+10ms drop tcp 10.0.0.1:7000>10.0.0.3:7000 len=13 partition",
		"+15ms deliver tcp 10.0.0.1:7000>10.0.0.4:7000 len=4",
		"+15ms deliver tcp 10.0.0.1:7000>10.0.0.2:7000 len=6",
		"+15ms deliver mcast 10.0.0.1:7000>10.0.0.2:7000 len=1",
		"+15ms send tcp 10.0.0.1:7000>10.0.0.3:7000 len=6",
		"+25ms deliver tcp 10.0.0.1:7000>10.0.0.3:7000 len=6",
	}
	if diff := cmp.Diff(want, tr.lines); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
}

func TestTimersInterleaveWithDeliveries(t *testing.T) {
	n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond})
	start := n.Now()
	var log []string
	note := func(s string) { log = append(log, fmt.Sprintf("%v %s", n.Now().Sub(start), s)) }
	a := n.AddHost(hostID(1), "s", nil)
	n.AddHost(hostID(2), "s", func(d memnet.Delivery) {
		note("deliver " + string(d.Frame))
		n.After(0, func() { note("T3 set by the handler") })
	})
	n.After(10*time.Millisecond, func() { note("T1") })
	a.Send(hostID(2), []byte("x"), nil)
	n.After(10*time.Millisecond, func() { note("T2") })
	n.After(5*time.Millisecond, func() {
		note("T0")
		n.After(5*time.Millisecond, func() { note("T4 set by T0") })
	})
	n.After(-time.Second, func() { note("negative is now") })
	if got := n.Pending(); got != 5 {
		t.Errorf("Pending() = %d, want 5", got)
	}
	if ran := n.RunUntilIdle(3); ran != 3 {
		t.Errorf("RunUntilIdle(3) = %d", ran)
	}
	n.RunUntilIdle(0)
	want := []string{
		"0s negative is now",
		"5ms T0",
		"10ms T1",
		"10ms deliver x",
		"10ms T2",
		"10ms T4 set by T0",
		"10ms T3 set by the handler",
	}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if got := n.Stats().Timers; got != 6 {
		t.Errorf("Stats().Timers = %d, want 6", got)
	}
}

func TestRunUntilStopsAtTheDeadline(t *testing.T) {
	n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond})
	a := n.AddHost(hostID(1), "s", nil)
	n.AddHost(hostID(2), "s", nil)
	a.Send(hostID(2), []byte("x"), nil)
	n.RunFor(9 * time.Millisecond)
	if n.Stats().Unicast.Delivered != 0 || n.Pending() != 1 {
		t.Fatalf("RunFor(9ms) ran an event due at 10ms")
	}
	n.RunFor(time.Millisecond)
	if n.Stats().Unicast.Delivered != 1 {
		t.Fatalf("RunFor up to 10ms did not run the event due at 10ms")
	}
}

func TestAddHostPanics(t *testing.T) {
	n := memnet.New(memnet.Config{})
	n.AddHost(hostID(1), "s", nil)
	for name, id := range map[string]core.NetID{"duplicate": hostID(1), "invalid": {}} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("AddHost did not panic")
				}
			}()
			n.AddHost(id, "s", nil)
		})
	}
}

// scenario runs a small lossy network where every delivery is forwarded a
// few hops, and returns its trace.
func scenario(seed uint64) []string {
	n := memnet.New(memnet.Config{
		Seed: seed, Latency: time.Millisecond, Bandwidth: 1e5,
		McastLoss: 0.2, UnicastLoss: 0.1,
	})
	var tr tracer
	n.SetTrace(tr.add)
	const hosts = 30
	hs := make([]*memnet.Host, hosts)
	for i := range hosts {
		hs[i] = n.AddHost(hostID(i), fmt.Sprintf("sub%d", i%3), func(d memnet.Delivery) {
			hops := d.Meta.(int)
			if hops >= 3 {
				return
			}
			hs[i].Send(hostID((i*7+hops+1)%hosts), d.Frame, hops+1)
		})
	}
	n.SetLinkLatency(hostID(0), hostID(7), 5*time.Millisecond)
	n.Partition("sub1", "sub2")
	n.After(3*time.Millisecond, func() { n.Crash(hostID(4)) })
	n.After(6*time.Millisecond, func() { n.Heal() })
	for i := range hosts {
		hs[i].Multicast(fmt.Appendf(nil, "hello from %d", i), 0)
	}
	n.RunUntilIdle(100000)
	return tr.lines
}

func TestTraceIsDeterministic(t *testing.T) {
	first, second := scenario(1), scenario(1)
	if len(first) < 100 {
		t.Fatalf("the scenario traced only %d events", len(first))
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("two runs with seed 1 differ (-first +second):\n%s", diff)
	}
	if cmp.Equal(first, scenario(2)) {
		t.Errorf("runs with seeds 1 and 2 gave the same trace")
	}
}
