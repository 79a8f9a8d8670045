// Package tcp will be Chatter's TCP transport: a listener on the node's
// NetID, one persistent connection per peer with reconnect and backoff,
// coalesced writes, deadlines, frame size and connection caps.
package tcp
