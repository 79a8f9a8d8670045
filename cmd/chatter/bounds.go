package main

import "math/bits"

// bounds are the best figures a broadcast to every node can reach (brief,
// section 9), printed beside the simulator's.
type bounds struct {
	// RoundsUnicastOnly is ceil(log2 N): the rounds of a logarithmic
	// broadcast over unicast alone, the informed nodes doubling each round.
	RoundsUnicastOnly int `json:"rounds_unicast_only"`
	// RoundsMulticast is 1 + ceil(log2 S) with S multicast groups: one
	// multicast round plus a logarithmic split over the groups.
	RoundsMulticast int `json:"rounds_multicast"`
	// DataPackets is 2S − 1: one multicast per group and one unicast frame
	// into each group but the origin's.
	DataPackets int `json:"data_packets"`
	// DataPacketsSafetyNet is 3S − 1: as DataPackets, plus one unicast
	// frame to a safety-net member of each multicast.
	DataPacketsSafetyNet int `json:"data_packets_safety_net"`
	// CopiesPerNode is 1.0: every destination receives the message once.
	CopiesPerNode float64 `json:"copies_per_node"`
}

// boundsFor returns the bounds for nodes nodes in subnets multicast groups.
func boundsFor(nodes, subnets int) bounds {
	return bounds{
		RoundsUnicastOnly:    ceilLog2(nodes),
		RoundsMulticast:      1 + ceilLog2(subnets),
		DataPackets:          2*subnets - 1,
		DataPacketsSafetyNet: 3*subnets - 1,
		CopiesPerNode:        1,
	}
}

// ceilLog2 returns ceil(log2 n), 0 for n ≤ 1.
func ceilLog2(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}
