// Package memnet will be Chatter's in-memory network: subnets as multicast
// domains, latency, bandwidth, loss, partitions and crashes, with a
// deterministic mode in which a seed gives one trace.
package memnet
