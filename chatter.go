// Package chatter broadcasts small messages to a set of nodes fast, cheaply
// and securely: UDP multicast reaches the nodes on the same network, a TCP
// logarithmic broadcast reaches the rest, and every frame is compressed with
// LZ4 and sealed with AES-256-GCM under a shared group key, with replay
// protection. Nodes learn their network from traffic, with no configuration.
//
// This root package will wire the protocol engine of package core to its
// adapters (codec, crypto, peerstore, router and the transports) and own
// every goroutine. The foundation is in place: the value types (core), the
// wire format (codec, docs/wire-format.md) and the sealing and replay rules
// (crypto, docs/security.md).
package chatter
