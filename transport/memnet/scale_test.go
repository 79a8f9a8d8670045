package memnet_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport/memnet"
)

const (
	scaleHosts   = 100000
	scaleSubnets = 1000
	subnetSize   = scaleHosts / scaleSubnets
)

// bigNetwork adds scaleHosts hosts in scaleSubnets subnets of subnetSize,
// host i in subnet i/subnetSize, all with handler h.
func bigNetwork(cfg memnet.Config, ids []core.NetID, h memnet.Handler) (*memnet.Network, []*memnet.Host) {
	n := memnet.New(cfg)
	hosts := make([]*memnet.Host, len(ids))
	for i, id := range ids {
		hosts[i] = n.AddHost(id, subnetName(i/subnetSize), h)
	}
	return n, hosts
}

func subnetName(s int) string { return fmt.Sprintf("net-%04d", s) }

func scaleIDs() []core.NetID {
	ids := make([]core.NetID, scaleHosts)
	for i := range ids {
		ids[i] = hostID(i)
	}
	return ids
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestScale(t *testing.T) {
	ids := scaleIDs()
	names := make([]string, scaleSubnets) // the subnet names are the caller's strings
	for s := range names {
		names[s] = subnetName(s)
	}
	var delivered, bytes int
	h := func(d memnet.Delivery) { delivered++; bytes += len(d.Frame) }

	begin := time.Now()
	before := heapInUse()
	n := memnet.New(memnet.Config{Seed: 1, Latency: time.Millisecond, Bandwidth: 125e6})
	hosts := make([]*memnet.Host, len(ids))
	for i, id := range ids {
		hosts[i] = n.AddHost(id, names[i/subnetSize], h)
	}
	perHost := float64(heapInUse()-before) / scaleHosts
	built := time.Since(begin)

	frame := make([]byte, 200)
	for s := range scaleSubnets {
		hosts[s*subnetSize].Multicast(frame, s)
	}
	ran := n.RunUntilIdle(0)
	runtime.KeepAlive(hosts)
	t.Logf("%d hosts in %d subnets: %.0f bytes per host, built in %v; %d multicasts, %d events in %v",
		scaleHosts, scaleSubnets, perHost, built, scaleSubnets, ran, time.Since(begin)-built)

	const want = scaleSubnets * (subnetSize - 1)
	if ran != want || delivered != want || bytes != want*len(frame) {
		t.Errorf("ran %d events, delivered %d frames of %d bytes; want %d deliveries of %d bytes",
			ran, delivered, bytes, want, want*len(frame))
	}
	st := n.Stats().Multicast
	if st.Packets != scaleSubnets || st.Delivered != want || st.Lost != 0 || st.Dropped != 0 {
		t.Errorf("Stats().Multicast = %v", st)
	}
	// 200 bytes at 125 MB/s take 1.6µs to leave, then 1ms of latency.
	if got, want := n.Now().Sub(memnet.New(memnet.Config{}).Now()), time.Millisecond+1600*time.Nanosecond; got != want {
		t.Errorf("the last delivery was at %v, want %v", got, want)
	}
	if perHost > 300 {
		t.Errorf("a host costs %.0f bytes, want at most 300", perHost)
	}
}

// BenchmarkMulticast100k measures one multicast to a 100-host subnet of a
// 100000-host network, run to idle: 99 deliveries per op.
func BenchmarkMulticast100k(b *testing.B) {
	ids := scaleIDs()
	delivered := 0
	n, hosts := bigNetwork(memnet.Config{Seed: 1, Latency: time.Millisecond, McastLoss: 0.01}, ids,
		func(d memnet.Delivery) { delivered++ })
	frame := make([]byte, 200)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		hosts[(i%scaleSubnets)*subnetSize+i%subnetSize].Multicast(frame, nil)
		n.RunUntilIdle(0)
		i++
	}
	b.ReportMetric(float64(delivered)/float64(i), "deliveries/op")
}

// BenchmarkUnicast100k measures one unicast frame across a 100000-host
// network, run to idle.
func BenchmarkUnicast100k(b *testing.B) {
	ids := scaleIDs()
	n, hosts := bigNetwork(memnet.Config{Seed: 1, Latency: time.Millisecond}, ids, func(memnet.Delivery) {})
	frame := make([]byte, 200)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		hosts[(i*7919)%scaleHosts].Send(ids[(i*104729)%scaleHosts], frame, nil)
		n.RunUntilIdle(0)
		i++
	}
}
