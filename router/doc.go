// Package router keeps a node's payload handlers and dispatches received
// payloads to them.
//
// The package imports package core and the standard library only. It starts
// no goroutine and never reads the clock.
//
// # Handlers and tags
//
// A [Handler] for a Go type T names the type, encodes and decodes it, and
// dispatches a received message. The name's CRC-32 ([core.TagOf]) is the
// payload's type tag on the wire, so two names whose tags collide cannot both
// be registered on one router ([ErrDuplicateTag]); nor can one Go type be
// registered twice ([ErrDuplicateType]), because [EncodeMessage] finds the
// handler by the Go type of the message it is given. Handlers cannot be
// removed.
//
// # The payload table
//
// A gossip carries its payload as bytes and, apart, the payload table: the
// sorted set ([core.NetIDTable]) of the NetIDs the payload refers to. The
// payload names a node by its index in that table. Handler.NetIDs lists the
// NetIDs of a message, the router builds the table from them, and
// Handler.Encode and Handler.Decode translate between NetIDs and indexes
// (with [core.NetIDTable.Index] and [core.NetIDTable.Lookup]). A node that
// has no handler for a tag, or cannot decode a payload, forwards the bytes
// and the table as it received them.
//
// # Dispatch
//
// [Router.Dispatch] decodes a payload, calls the handler, and re-encodes the
// message the handler returns: a handler may add what it knows as the
// message travels (merge semantics), and the node forwards the result. On
// every failure (an unknown tag, a payload that does not decode, a handler
// error, a panic in any handler function, a duplicate under at-most-once
// dispatch) Dispatch returns the payload and table as received, to be
// forwarded unchanged, counts the failure in [Stats], and never panics.
//
// A handler with AtMostOnce set is called at most once per origin
// BroadcastID: the router remembers the last [Config].DedupSize (type tag,
// BroadcastID) pairs dispatched to such handlers, forgetting the oldest
// first. The memory is bounded by count, not by age: the router has no
// clock. A message that does not decode
// does not use up its ID, so a later good copy is still dispatched.
//
// Dispatch runs the handler on the caller's goroutine. A slow handler
// therefore holds up its caller: the node's facade calls Dispatch off its
// receive path, and passes a ctx that carries its deadline for the handler,
// which handlers should honour. The router is safe for concurrent use;
// handlers of concurrent Dispatch calls run concurrently.
package router
