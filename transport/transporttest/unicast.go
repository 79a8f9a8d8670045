package transporttest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
)

// RunUnicast runs the unicast conformance cases, each as a subtest with a
// fresh Pair from newPair. The suite closes both endpoints at the end of
// each case.
func RunUnicast(t *testing.T, newPair func(t *testing.T) Pair) {
	t.Helper()
	runCases(t, newPair, []testCase[func(*testing.T) Pair]{
		{"RoundTrip", unicastRoundTrip},
		{"ManyInOrder", unicastManyInOrder},
		{"NoAliasing", unicastNoAliasing},
		{"MaxFrame", unicastMaxFrame},
		{"UnknownPeer", unicastUnknownPeer},
		{"ReceiveContext", unicastReceiveContext},
		{"ConcurrentSenders", unicastConcurrentSenders},
		{"Close", unicastClose},
		{"NoGoroutineLeak", unicastNoLeak},
	})
}

func openPair(t *testing.T, newPair func(*testing.T) Pair) Pair {
	t.Helper()
	p := newPair(t)
	if p.A == nil || p.B == nil || !p.AID.IsValid() || !p.BID.IsValid() {
		t.Fatalf("newPair returned an incomplete Pair: %+v", p)
	}
	t.Cleanup(func() {
		p.A.Close()
		p.B.Close()
	})
	if !p.Unknown.IsValid() {
		p.Unknown = core.MustParseNetID("127.0.0.1:1")
	}
	return p
}

func send(t *testing.T, u core.Unicast, to core.NetID, frame []byte) {
	t.Helper()
	if err := u.Send(opCtx(t), to, frame); err != nil {
		t.Fatalf("Send %d bytes to %s: %v", len(frame), to, err)
	}
}

// expectFrame receives one frame on r and checks it is want, by TCP.
func expectFrame(t *testing.T, r receiver, what string, want []byte, via core.Via) {
	t.Helper()
	p := recv(t, r, what)
	if !bytes.Equal(p.Frame, want) {
		t.Errorf("%s: got %d bytes %q..., want %d bytes %q...", what, len(p.Frame), head(p.Frame), len(want), head(want))
	}
	if p.Via != via {
		t.Errorf("%s: Via = %v, want %v", what, p.Via, via)
	}
}

func unicastRoundTrip(t *testing.T, newPair func(*testing.T) Pair) {
	p := openPair(t, newPair)
	send(t, p.A, p.BID, []byte("ping"))
	expectFrame(t, p.B, "ping at B", []byte("ping"), core.ViaTCP)
	send(t, p.B, p.AID, []byte("pong"))
	expectFrame(t, p.A, "pong at A", []byte("pong"), core.ViaTCP)
}

func unicastManyInOrder(t *testing.T, newPair func(*testing.T) Pair) {
	const n = 1000
	p := openPair(t, newPair)
	ctx := opCtx(t)
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if err := p.A.Send(ctx, p.BID, numbered(1, uint32(i), 8+i%97)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range n {
		pkt, err := p.B.Receive(ctx)
		if err != nil {
			t.Fatalf("receive frame %d of %d: %v", i, n, err)
		}
		_, seq, ok := parseNumbered(pkt.Frame)
		if !ok || seq != uint32(i) || len(pkt.Frame) != 8+i%97 {
			t.Fatalf("frame %d: got %d bytes, sequence %d, intact %v", i, len(pkt.Frame), seq, ok)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func unicastNoAliasing(t *testing.T, newPair func(*testing.T) Pair) {
	p := openPair(t, newPair)
	buf := []byte("original frame")
	send(t, p.A, p.BID, buf)
	copy(buf, "XXXXXXXXXXXXXX")
	send(t, p.A, p.BID, buf)
	first := recv(t, p.B, "first frame")
	second := recv(t, p.B, "second frame")
	switch {
	case string(first.Frame) == "XXXXXXXXXXXXXX" && string(second.Frame) == "original frame":
		t.Errorf("the two frames arrived in the wrong order")
	case string(first.Frame) != "original frame":
		t.Errorf("first frame = %q, want %q: the transport kept the sender's buffer", first.Frame, "original frame")
	case string(second.Frame) != "XXXXXXXXXXXXXX":
		t.Errorf("second frame = %q, want %q", second.Frame, "XXXXXXXXXXXXXX")
	}
	if len(first.Frame) > 0 && len(second.Frame) > 0 && &first.Frame[0] == &second.Frame[0] {
		t.Errorf("two received frames share a buffer")
	}
}

func unicastMaxFrame(t *testing.T, newPair func(*testing.T) Pair) {
	p := openPair(t, newPair)
	m, ok := p.A.(interface{ MaxFrame() int })
	if !ok {
		t.Skip("the endpoint has no MaxFrame() int method")
	}
	limit := m.MaxFrame()
	if limit < 8 {
		t.Fatalf("MaxFrame() = %d", limit)
	}
	big := numbered(2, 7, limit)
	send(t, p.A, p.BID, big)
	got := recv(t, p.B, "the largest frame")
	if !bytes.Equal(got.Frame, big) {
		t.Errorf("the largest frame (%d bytes) arrived as %d bytes, altered", limit, len(got.Frame))
	}
	err := p.A.Send(opCtx(t), p.BID, numbered(2, 8, limit+1))
	if !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("Send of MaxFrame()+1 = %d bytes = %v, want an error matching core.ErrTooLarge", limit+1, err)
	}
	send(t, p.A, p.BID, []byte("after"))
	expectFrame(t, p.B, "a frame after the refused one", []byte("after"), core.ViaTCP)
}

func unicastUnknownPeer(t *testing.T, newPair func(*testing.T) Pair) {
	p := openPair(t, newPair)
	ctx := opCtx(t)
	err := p.A.Send(ctx, p.Unknown, []byte("nobody"))
	switch {
	case ctx.Err() != nil:
		t.Fatalf("Send to unknown %s blocked until the deadline: %v", p.Unknown, err)
	case err != nil && !errors.Is(err, core.ErrUnreachable):
		t.Errorf("Send to unknown %s = %v, want nil or an error matching core.ErrUnreachable", p.Unknown, err)
	}
	send(t, p.A, p.BID, []byte("marker"))
	expectFrame(t, p.B, "the frame after one to an unknown peer", []byte("marker"), core.ViaTCP)
}

func unicastReceiveContext(t *testing.T, newPair func(*testing.T) Pair) {
	p := openPair(t, newPair)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.B.Receive(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Receive with nothing to receive = %v, want an error matching context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > OpTimeout {
		t.Errorf("Receive returned %v after its context ended", d)
	}
	send(t, p.A, p.BID, []byte("still works"))
	expectFrame(t, p.B, "a frame after a Receive timed out", []byte("still works"), core.ViaTCP)
}

func unicastConcurrentSenders(t *testing.T, newPair func(*testing.T) Pair) {
	const senders, each = 8, 200
	p := openPair(t, newPair)
	ctx, cancel := context.WithCancel(opCtx(t))
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: a failing receiver stops the senders
	defer cancel()
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				err := p.A.Send(ctx, p.BID, numbered(uint32(s), uint32(i), 8+(s*31+i)%64))
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("sender %d, frame %d: %v", s, i, err)
					}
					return
				}
			}
		})
	}
	next := make([]uint32, senders)
	for k := range senders * each {
		pkt, err := p.B.Receive(ctx)
		if err != nil {
			t.Fatalf("receive frame %d of %d: %v", k, senders*each, err)
		}
		s, seq, ok := parseNumbered(pkt.Frame)
		if !ok || s >= senders {
			t.Fatalf("frame %d is corrupt: %d bytes %q...", k, len(pkt.Frame), head(pkt.Frame))
		}
		if seq != next[s] {
			t.Fatalf("sender %d: got frame %d, want %d (per-sender order broken)", s, seq, next[s])
		}
		next[s]++
	}
}

func unicastClose(t *testing.T, newPair func(*testing.T) Pair) {
	p := openPair(t, newPair)
	checkCloseUnblocks(t, p.B, p.B)
	checkClosedErr(t, "Send", p.B.Send(opCtx(t), p.AID, []byte("late")))
	ctx := opCtx(t)
	err := p.A.Send(ctx, p.BID, []byte("to a closed peer"))
	switch {
	case ctx.Err() != nil:
		t.Errorf("Send to a closed peer blocked until the deadline: %v", err)
	case err != nil && !errors.Is(err, core.ErrUnreachable):
		t.Errorf("Send to a closed peer = %v, want nil or an error matching core.ErrUnreachable", err)
	}
}

func unicastNoLeak(t *testing.T, newPair func(*testing.T) Pair) {
	check := LeakCheck(t)
	p := openPair(t, newPair)
	send(t, p.A, p.BID, []byte("a"))
	recv(t, p.B, "a")
	send(t, p.B, p.AID, []byte("b"))
	recv(t, p.A, "b")
	if err := p.A.Close(); err != nil {
		t.Errorf("A.Close = %v", err)
	}
	if err := p.B.Close(); err != nil {
		t.Errorf("B.Close = %v", err)
	}
	check()
}
