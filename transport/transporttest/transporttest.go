// Package transporttest is the conformance suite of Chatter's transports:
// every adapter of core.Unicast and core.Multicast runs it in one line from
// its own tests.
//
//	func TestUnicast(t *testing.T)   { transporttest.RunUnicast(t, newPair) }
//	func TestMulticast(t *testing.T) { transporttest.RunMulticast(t, newGroup) }
//
// The factories build fresh endpoints for each case, with the case's t;
// the suite closes them at the end of the case (Close is idempotent, so a
// factory may also close them in t.Cleanup). Every case bounds its waits by
// a few seconds, so a broken transport fails rather than hangs.
//
// # What is checked
//
// Unicast: one frame each way; 1000 frames in order; no aliasing of the
// sender's buffer; the largest frame accepted and one byte more refused
// with core.ErrTooLarge (when the endpoint has a MaxFrame() int method);
// a NetID nobody listens on gives core.ErrUnreachable or silent loss;
// Receive returns when its context ends; 8 concurrent senders of 200
// frames each, all delivered in per-sender order; Close idempotent,
// unblocking Receive, with later calls matching net.ErrClosed; no
// goroutine left after Close.
//
// Multicast: a datagram reaches every other member and not its sender;
// receivers do not share buffers with the sender or one another; the
// largest datagram (MaxDatagram) accepted and one byte more refused with
// core.ErrTooLarge; Receive returns when its context ends; Close as for
// unicast; no goroutine left after Close.
//
// The goroutine check counts goroutines, so the test that runs a suite must
// not call t.Parallel.
package transporttest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
)

// Timeouts of the suite.
const (
	// OpTimeout bounds any operation that must succeed.
	OpTimeout = 5 * time.Second
	// Quiet is how long the suite waits to conclude that nothing more
	// arrives.
	Quiet = 200 * time.Millisecond
)

// Pair is two unicast endpoints that can reach each other.
type Pair struct {
	A, B     core.Unicast
	AID, BID core.NetID
	// Unknown is a NetID at which nothing listens, for the unknown-peer
	// case; the zero NetID means 127.0.0.1:1.
	Unknown core.NetID
}

// Group is three or more multicast endpoints in one multicast domain.
type Group struct {
	Members []core.Multicast
}

// receiver is what both ports have in common.
type receiver interface {
	Receive(ctx context.Context) (core.Packet, error)
}

// opCtx returns a context that ends after OpTimeout or with the test.
func opCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), OpTimeout)
	t.Cleanup(cancel)
	return ctx
}

// recv receives one packet or fails the test.
func recv(t *testing.T, r receiver, what string) core.Packet {
	t.Helper()
	p, err := r.Receive(opCtx(t))
	if err != nil {
		t.Fatalf("receive %s: %v", what, err)
	}
	return p
}

// expectQuiet fails the test if r receives anything within Quiet.
func expectQuiet(t *testing.T, r receiver, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Quiet)
	defer cancel()
	p, err := r.Receive(ctx)
	switch {
	case err == nil:
		t.Errorf("%s received an unexpected frame of %d bytes (%q...) by %v", what, len(p.Frame), head(p.Frame), p.Via)
	case !errors.Is(err, context.DeadlineExceeded):
		t.Errorf("%s: Receive = %v, want an error matching context.DeadlineExceeded", what, err)
	}
}

// numbered returns a frame naming a sender and a sequence number, padded
// with a pattern to size bytes (at least 8).
func numbered(sender, seq uint32, size int) []byte {
	b := make([]byte, max(size, 8))
	binary.BigEndian.PutUint32(b, sender)
	binary.BigEndian.PutUint32(b[4:], seq)
	for i := 8; i < len(b); i++ {
		b[i] = byte(i*7 + int(seq))
	}
	return b
}

// parseNumbered returns the sender and sequence number of a numbered frame,
// and whether its padding is intact.
func parseNumbered(b []byte) (sender, seq uint32, ok bool) {
	if len(b) < 8 {
		return 0, 0, false
	}
	sender, seq = binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	return sender, seq, bytes.Equal(b, numbered(sender, seq, len(b)))
}

// head returns the first bytes of b, for messages.
func head(b []byte) []byte { return b[:min(len(b), 16)] }

func checkClosedErr(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("%s after Close = %v, want an error matching net.ErrClosed", what, err)
	}
}

// checkCloseUnblocks starts a Receive on r, closes c, and checks that the
// Receive returns net.ErrClosed promptly, that a second Close returns nil,
// and that a later Receive matches net.ErrClosed.
func checkCloseUnblocks(t *testing.T, r receiver, c interface{ Close() error }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*OpTimeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := r.Receive(ctx)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the Receive block, most of the time
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	select {
	case err := <-errc:
		checkClosedErr(t, "a Receive blocked at Close", err)
	case <-time.After(OpTimeout):
		t.Fatalf("a Receive blocked at Close still blocked %v later", OpTimeout)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	_, err := r.Receive(opCtx(t))
	checkClosedErr(t, "Receive", err)
}

// runCases runs each case as a named subtest.
func runCases[F any](t *testing.T, factory F, cases []testCase[F]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, factory) })
	}
}

type testCase[F any] struct {
	name string
	run  func(t *testing.T, factory F)
}
