package memnet_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatter-go/chatter/transport/memnet"
)

// BenchmarkMulticast100 measures one multicast from one sender to the 100
// other hosts of its subnet, run until idle: 100 deliveries per op.
func BenchmarkMulticast100(b *testing.B) {
	benchMulticast100(b, memnet.Config{Seed: 1, Latency: time.Millisecond, Bandwidth: 125e6})
}

// BenchmarkMulticast100SharedFrames is BenchmarkMulticast100 with
// Config.SharedFrames.
func BenchmarkMulticast100SharedFrames(b *testing.B) {
	benchMulticast100(b, memnet.Config{Seed: 1, Latency: time.Millisecond, Bandwidth: 125e6, SharedFrames: true})
}

func benchMulticast100(b *testing.B, cfg memnet.Config) {
	n := memnet.New(cfg)
	delivered := 0
	h := func(memnet.Delivery) { delivered++ }
	sender := n.AddHost(hostID(0), "s", nil)
	for i := 1; i <= 100; i++ {
		n.AddHost(hostID(i), "s", h)
	}
	frame := make([]byte, 1000)
	b.ReportAllocs()
	ops := 0
	for b.Loop() {
		sender.Multicast(frame, nil)
		n.RunUntilIdle(0)
		ops++
	}
	if delivered != 100*ops {
		b.Fatalf("delivered %d frames in %d ops, want %d", delivered, ops, 100*ops)
	}
}

// BenchmarkMulticastBusy measures a round of 100 multicasts, one from each
// subnet of a 10000-host network with 100 hosts per subnet, sent at
// staggered times and run until idle: 9900 deliveries per op, with the
// deliveries of many multicasts queued at once.
func BenchmarkMulticastBusy(b *testing.B) {
	benchMulticastBusy(b, memnet.Config{Seed: 1, Latency: time.Millisecond, Bandwidth: 125e6, McastLoss: 0.01})
}

// BenchmarkMulticastBusySharedFrames is BenchmarkMulticastBusy with
// Config.SharedFrames, as the simulator runs.
func BenchmarkMulticastBusySharedFrames(b *testing.B) {
	benchMulticastBusy(b, memnet.Config{Seed: 1, Latency: time.Millisecond, Bandwidth: 125e6, McastLoss: 0.01, SharedFrames: true})
}

func benchMulticastBusy(b *testing.B, cfg memnet.Config) {
	const subnets, per = 100, 100
	n := memnet.New(cfg)
	delivered := 0
	h := func(memnet.Delivery) { delivered++ }
	hosts := make([]*memnet.Host, subnets*per)
	for i := range hosts {
		hosts[i] = n.AddHost(hostID(i), fmt.Sprint("s", i%subnets), h)
	}
	frame := make([]byte, 1000)
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		for s := range subnets {
			from := hosts[(round%per)*subnets+s]
			n.After(time.Duration(s*7%subnets)*10*time.Microsecond, func() { from.Multicast(frame, nil) })
		}
		n.RunUntilIdle(0)
		round++
	}
	b.ReportMetric(float64(delivered)/float64(round), "deliveries/op")
}

// BenchmarkTimerQueue10k measures one Step of a network holding 10000
// timers, each of which sets another when it fires.
func BenchmarkTimerQueue10k(b *testing.B) {
	n := memnet.New(memnet.Config{})
	x := uint64(1)
	var fire func()
	fire = func() {
		x = x*6364136223846793005 + 1442695040888963407
		n.After(time.Duration(x>>44), fire) // up to about 1 ms
	}
	for range 10000 {
		fire()
	}
	b.ReportAllocs()
	for b.Loop() {
		n.Step()
	}
}
