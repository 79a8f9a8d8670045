// Command chatter runs and measures Chatter, a broadcast protocol that
// multicasts within each subnet and gossips over TCP between subnets.
//
// Usage:
//
//	chatter <command> [flags]
//
// The commands are:
//
//	sim    compare broadcast strategies in a deterministic simulation
//	help   print the commands, or with a command's name its flags
//
// With no command chatter prints the usage on stderr and exits 2; `chatter
// help` prints it on stdout and exits 0. Every command exits 0 on success,
// 1 when it fails, 2 on a bad flag or argument (with a one-line error on
// stderr) and 130 when interrupted.
//
// # chatter sim
//
// Sim runs the real protocol engine and codec over a simulated network of
// nodes in subnets (internal/sim on transport/memnet: one latency per hop,
// each node's egress serialised at the bandwidth given, losses and crashes
// drawn from the seed), and compares the broadcast strategies: unicast (the
// origin sends to every node by TCP), tcp-log (logarithmic TCP broadcast),
// gossip (memberlist-style push to 3 random peers), classic (chatter_ex as
// designed) and chatter. Each strategy runs cold (empty peer stores) and
// warm (after the warm-up broadcasts); every figure is a mean over the
// measured broadcasts, as docs/benchmarks.md defines it. One seed gives one
// run.
//
// Flags:
//
//	--nodes N          nodes in the cluster, 2 to 130000 (256)
//	--subnets S        multicast domains the nodes are spread over, 1 to N (8)
//	--payload BYTES    payload bytes per broadcast, at least 1 (256)
//	--latency D        one-way link latency, a Go duration (1ms)
//	--bandwidth RATE   each node's egress: bytes per second, or a number with
//	                   a unit in bits (1Gbit, 100Mbit, 10Mbps) or bytes
//	                   (125MB, 64KiB); SI prefixes are decimal, Ki/Mi/Gi
//	                   binary (1Gbit)
//	--mcast-loss P     probability a multicast datagram is lost, per
//	                   receiver, 0 to 1 (0)
//	--tcp-loss P       probability a TCP frame is lost, at least 0 and below 1 (0)
//	--crash F          fraction of nodes down during the measured
//	                   broadcasts, at least 0 and below 1; origins never
//	                   crash (0)
//	--broadcasts K     measured broadcasts per strategy and phase (20)
//	--warmup K         warm-up broadcasts before the warm phase (40)
//	--seed N           random seed, at least 1 (1)
//	--strategy LIST    all, or a comma list of chatter, unicast, tcp-log,
//	                   gossip, classic (all: the baselines, then chatter)
//	--json             print one JSON object instead of the table
//	--plot FILE.svg    also write an SVG plot of delivery over time
//	--parallel N       strategy-phase worlds simulated at once; 0 for one
//	                   per CPU (0). Memory grows with it; results do not
//	--cpuprofile FILE  write a CPU profile of the run (go tool pprof)
//	--memprofile FILE  write a heap profile at the end of the run
//
// By default sim prints a table: a line with the parameters, then one row
// per strategy and phase with the columns delivery (ratio of live
// destinations reached), rounds max and rounds p50 (hops), time-to-last ms,
// origin sends, wire packets and wire bytes (data frames, a multicast
// counted once), ack packets, announce/node/s and copies/node; then the
// bounds beside them, as two rows and a note: ceil(log2 N) rounds for a
// logarithmic broadcast over unicast only, 1 + ceil(log2 S) rounds with S
// multicast groups, 2S − 1 data packets (3S − 1 with one safety-net member
// per multicast) and 1.0 copies per node.
//
// With --json sim prints exactly one JSON object:
//
//	{
//	  "params": {"nodes", "subnets", "payload_bytes", "latency_ms",
//	             "bandwidth_bytes_per_s", "mcast_loss", "tcp_loss", "crash",
//	             "broadcasts", "warmup", "seed", "strategies": [names]},
//	  "bounds": {"rounds_unicast_only", "rounds_multicast", "data_packets",
//	             "data_packets_safety_net", "copies_per_node"},
//	  "results": [{"strategy", "phase": "cold" or "warm", "delivery_ratio",
//	               "rounds_max", "rounds_p50", "time_to_last_ms",
//	               "origin_sends", "wire_packets", "wire_bytes",
//	               "ack_packets", "announce_per_node_s",
//	               "copies_per_node"}, ...]
//	}
//
// With --plot FILE.svg sim also writes a self-contained SVG (800 × 480)
// of the warm phase: for each strategy, the mean fraction of live
// destinations reached by the end of each millisecond after the broadcast
// starts (the simulator records the first 200 ms), the x axis ending a
// little after the last curve settles. The file is written only when the
// run succeeds; its directory is checked before the run.
//
// When stderr is a terminal and the run takes more than a second, sim shows
// its progress there as `sim: 37/200 broadcasts` on one line, and clears it
// at the end.
package main
