// Package memnet is Chatter's in-memory network: subnets as multicast
// domains, per-link latency, per-host egress bandwidth, multicast and
// unicast loss apart, partitions, crashes and restarts, and counters. It
// sends no real traffic.
//
// It has two modes.
//
// # Deterministic mode
//
// A [Network] runs on one goroutine and a virtual clock. Hosts are added
// with [Network.AddHost], each in a named subnet (its multicast domain) and
// with a [Handler] that receives its deliveries. Sends and timers
// ([Network.After]) become events in a queue ordered by (virtual time,
// insertion sequence); [Network.Step], [Network.RunUntil] and
// [Network.RunUntilIdle] run them, calling handlers on the caller's
// goroutine. Every random choice (loss) comes from one PCG source seeded by
// [Config.Seed], and nothing depends on map iteration order, so one seed and
// one scenario give one trace ([Network.SetTrace]). This is what the
// simulator (`chatter sim`) and golden-trace tests run on.
//
// The time model: each host serialises its sends at [Config.Bandwidth]
// bytes per second (a multicast once), so a frame departs at
// max(now, the end of the host's previous send) + len/Bandwidth and arrives
// one link latency later. Losses are drawn when a frame is sent; a frame
// whose target crashed while it was in flight, or whose link was
// partitioned, is dropped when it arrives. A crashed host is silent: it
// receives nothing, its sends are dropped, and a sender learns nothing from
// the network (the protocol's acknowledgement timeouts are how it notices).
//
//	n := memnet.New(memnet.Config{Seed: 1, Latency: time.Millisecond})
//	a := n.AddHost(idA, "rack-1", handleA)
//	n.AddHost(idB, "rack-1", handleB)
//	a.Multicast(frame, nil)
//	n.RunUntilIdle(0)
//
// The network scales to hundreds of thousands of hosts: a host costs about
// 150 bytes, a multicast O(size of its subnet) and an event O(log(events
// queued)); nothing is O(hosts) per event. Counters are kept per transport
// ([Network.Stats]) and per host ([Host.Stats]) rather than as a map of every
// host.
//
// The queue is a 4-ary heap of small (time, sequence) entries whose events
// sit in a slab of reused slots. A multicast whose receivers all have the
// same arrival time (no [Network.SetLinkLatency] override from its sender
// to a receiver with another latency) is queued as one event, which
// delivers to one receiver per Step, in subnet member order, checking each
// receiver when its turn comes: it runs exactly as one event per receiver
// would, deliveries, drops, traces and Pending counts alike, including
// when a handler crashes or restarts a later receiver, sends or steps the
// network itself. Losses are still drawn per receiver when the datagram is
// sent. Each delivery gets a private copy of the frame, unless
// [Config.SharedFrames] is set: then the receivers of a frame share the
// network's copy, read-only, which saves a copy and an allocation per
// receiver for a simulator that neither keeps nor modifies frames (the
// simulator reads [Delivery.Meta], never [Delivery.Frame]). A frame's last
// delivery is marked ([Delivery.Last]): after it the network holds nothing
// of the frame, and a simulator may reuse what it attached as Meta.
//
// # Concurrent mode
//
// A [Live] network is safe for concurrent use and runs on the wall clock.
// Its hosts ([LiveHost]) implement [core.Unicast] and [core.Multicast], so
// the facade and its users' tests can run real nodes over it, under the race
// detector. One Receive returns frames of both kinds, told apart by
// core.Packet.Via; [LiveHost.UnicastPort] and [LiveHost.MulticastPort] are
// views that receive one kind each, for a node with a receive loop per port.
// A LiveHost starts no goroutine: latency is applied by Receive,
// which holds a queued frame back until it is due, and Close has nothing to
// wait for. A LiveHost passes the conformance suite of package
// transport/transporttest.
//
// # Counters
//
// Both modes count per transport ([Stats]): frames and bytes sent,
// deliveries, losses (to the configured loss rates) and drops (a crashed,
// closed, unknown or partitioned peer, or a full queue), and per host
// ([HostStats]).
package memnet
