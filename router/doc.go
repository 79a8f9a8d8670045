// Package router will keep a node's payload handlers, keyed by the 32-bit
// type tag of their name, and dispatch decoded payloads to them with panics
// recovered and at-most-once dispatch on request. It implements a port of
// package core and imports nothing else of Chatter's.
package router
