// Package transport will hold what Chatter's transports share: the
// conformance suite every adapter runs and the helpers common to
// transport/tcp, transport/udpmcast and transport/memnet. Transports move
// sealed frames only; they never see plaintext.
package transport
