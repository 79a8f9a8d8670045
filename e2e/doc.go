// Package e2e holds Chatter's end-to-end tests on real kernel networking.
//
// The tests build a small network out of Linux network namespaces, run real
// `chatter node` processes in it and watch their JSON output:
//
//	            router namespace (ip_forward=1, no multicast routing)
//	     br-a 198.18.1.1/24                      br-b 198.18.2.1/24
//	      │     │     │     │                      │     │     │
//	     a1    a2    a3    a4 (wrong key)         b1    b2    b3
//	198.18.1.11 … 198.18.1.14                198.18.2.11 … 198.18.2.13
//
// Every node sits in its own namespace, joined by a veth pair to its
// subnet's bridge, with a default route through the router. The router
// forwards unicast between the subnets but not multicast, so each subnet is
// a multicast domain of its own although both use the same group
// (239.255.0.1:29999, TTL 1). a1 and b1 are each other's seed (--peer).
//
// TestE2ENetwork shows, in subtests run in order on one topology
// (`make e2e` runs it): discovery with no
// configuration, every node knowing every node after a bounded number of
// broadcast rounds, delivery to every node with multicast inside a subnet
// and TCP across the router, warm broadcasts skipping TCP, failover when a
// node is killed, 20% multicast loss made with nftables, a node with the
// wrong key learning and receiving nothing, and key rotation on live nodes
// with no broadcast lost. The CLI has no key rotation command, so that test
// runs this package's test binary as the node (a small helper with the same
// line handler as `chatter node`, plus control lines that add, promote and
// remove keys), in the same namespaces.
//
// The tests need Linux, root, iproute2 and, for the loss test, nftables.
// They skip otherwise, and fail instead of skipping when CHATTER_E2E=1 (as
// .ci/run sets it). Safety: every address is in 198.18.0.0/15 inside
// namespaces the test creates, every multicast socket names its interface,
// the TTL is 1, every loop is bounded, and the namespaces (named
// ce2e-PID-RAND-…, so runs never collide) are deleted when the test ends,
// passing, failing, panicking or interrupted by SIGINT or SIGTERM, which
// deletes their links and nftables rules with them; the node processes die
// with the test process (PR_SET_PDEATHSIG), and a later run deletes the
// namespaces of a run whose process was killed outright.
package e2e
