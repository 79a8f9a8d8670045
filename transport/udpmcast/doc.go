// Package udpmcast will be Chatter's UDP multicast transport on
// golang.org/x/net/ipv4 and ipv6, joined on an explicitly named interface.
package udpmcast
