// Package peerstore will keep what a node learns about its peers from
// traffic: destinations it broadcast to, senders, grouping hints from
// received distribution lists, and first-hand reports of who receives its
// multicast, bounded by expiry and a cap (brief section 2). It implements a
// port of package core and imports nothing else of Chatter's.
package peerstore
