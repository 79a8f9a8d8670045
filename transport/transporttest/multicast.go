package transporttest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
)

// RunMulticast runs the multicast conformance cases, each as a subtest with
// a fresh Group from newGroup. The suite closes every member at the end of
// each case.
func RunMulticast(t *testing.T, newGroup func(t *testing.T) Group) {
	t.Helper()
	runCases(t, newGroup, []testCase[func(*testing.T) Group]{
		{"ReachesOthersNotSelf", multicastReachesOthers},
		{"NoAliasing", multicastNoAliasing},
		{"MaxDatagram", multicastMaxDatagram},
		{"ReceiveContext", multicastReceiveContext},
		{"Close", multicastClose},
		{"NoGoroutineLeak", multicastNoLeak},
	})
}

func openGroup(t *testing.T, newGroup func(*testing.T) Group) Group {
	t.Helper()
	g := newGroup(t)
	if len(g.Members) < 3 {
		t.Fatalf("newGroup returned %d members, want at least 3", len(g.Members))
	}
	t.Cleanup(func() {
		for _, m := range g.Members {
			m.Close()
		}
	})
	return g
}

func multicast(t *testing.T, m core.Multicast, frame []byte) {
	t.Helper()
	if err := m.Multicast(opCtx(t), frame); err != nil {
		t.Fatalf("Multicast %d bytes: %v", len(frame), err)
	}
}

func multicastReachesOthers(t *testing.T, newGroup func(*testing.T) Group) {
	g := openGroup(t, newGroup)
	n := len(g.Members)
	for i, m := range g.Members {
		multicast(t, m, numbered(uint32(i), 1, 40))
	}
	for j, m := range g.Members {
		got := make(map[uint32]bool)
		for range n - 1 {
			p := recv(t, m, "a datagram")
			s, seq, ok := parseNumbered(p.Frame)
			switch {
			case !ok || int(s) >= n || seq != 1:
				t.Fatalf("member %d received a corrupt datagram: %d bytes %q...", j, len(p.Frame), head(p.Frame))
			case int(s) == j:
				t.Fatalf("member %d received its own datagram", j)
			case got[s]:
				t.Fatalf("member %d received member %d's datagram twice", j, s)
			}
			got[s] = true
			if p.Via != core.ViaMulticast {
				t.Errorf("member %d: Via = %v, want %v", j, p.Via, core.ViaMulticast)
			}
		}
		expectQuiet(t, m, "a member that received every other member's datagram")
	}
}

func multicastNoAliasing(t *testing.T, newGroup func(*testing.T) Group) {
	g := openGroup(t, newGroup)
	buf := []byte("original datagram")
	multicast(t, g.Members[0], buf)
	copy(buf, "XXXXXXXXXXXXXXXXX")
	first := recv(t, g.Members[1], "the datagram at member 1")
	copy(first.Frame, "YYYYYYYYYYYYYYYYY") // the receiver owns its frame
	second := recv(t, g.Members[2], "the datagram at member 2")
	if string(second.Frame) != "original datagram" {
		t.Errorf("member 2 received %q, want %q: the transport shares buffers", second.Frame, "original datagram")
	}
}

func multicastMaxDatagram(t *testing.T, newGroup func(*testing.T) Group) {
	g := openGroup(t, newGroup)
	limit := g.Members[0].MaxDatagram()
	if limit < 8 {
		t.Fatalf("MaxDatagram() = %d", limit)
	}
	big := numbered(0, 9, limit)
	multicast(t, g.Members[0], big)
	got := recv(t, g.Members[1], "the largest datagram")
	if !bytes.Equal(got.Frame, big) {
		t.Errorf("the largest datagram (%d bytes) arrived as %d bytes, altered", limit, len(got.Frame))
	}
	err := g.Members[0].Multicast(opCtx(t), numbered(0, 10, limit+1))
	if !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("Multicast of MaxDatagram()+1 = %d bytes = %v, want an error matching core.ErrTooLarge", limit+1, err)
	}
	expectQuiet(t, g.Members[1], "a member after a refused datagram")
}

func multicastReceiveContext(t *testing.T, newGroup func(*testing.T) Group) {
	g := openGroup(t, newGroup)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := g.Members[0].Receive(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Receive with nothing to receive = %v, want an error matching context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > OpTimeout {
		t.Errorf("Receive returned %v after its context ended", d)
	}
}

func multicastClose(t *testing.T, newGroup func(*testing.T) Group) {
	g := openGroup(t, newGroup)
	m := g.Members[0]
	checkCloseUnblocks(t, m, m)
	checkClosedErr(t, "Multicast", m.Multicast(opCtx(t), []byte("late")))
	// The others carry on without it.
	multicast(t, g.Members[1], []byte("after a member closed"))
	p := recv(t, g.Members[2], "a datagram after a member closed")
	if string(p.Frame) != "after a member closed" {
		t.Errorf("received %q, want %q", p.Frame, "after a member closed")
	}
}

func multicastNoLeak(t *testing.T, newGroup func(*testing.T) Group) {
	check := LeakCheck(t)
	g := openGroup(t, newGroup)
	multicast(t, g.Members[0], []byte("x"))
	recv(t, g.Members[1], "x")
	for i, m := range g.Members {
		if err := m.Close(); err != nil {
			t.Errorf("member %d: Close = %v", i, err)
		}
	}
	check()
}
