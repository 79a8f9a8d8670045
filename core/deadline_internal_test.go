package core

import (
	"math/rand/v2"
	"testing"
	"time"
)

// emptyStore is a PeerStore that knows no one.
type emptyStore struct{}

func (emptyStore) ObserveDestinations([]NetID, time.Time) {}
func (emptyStore) Observe(Observation) bool               { return false }
func (emptyStore) Peers(time.Time) []NetID                { return nil }
func (emptyStore) Report(NetID) (Report, bool)            { return Report{}, false }
func (emptyStore) Domain(NetID) (NetID, bool)             { return NetID{}, false }
func (emptyStore) SampleGroups(int, int) []Group          { return nil }
func (emptyStore) Expire(time.Time)                       {}

// fitsAll is a Sizer for which everything fits a datagram.
type fitsAll struct{}

func (fitsAll) MulticastFits(*Message) bool { return true }

// newUnicastEngine returns an engine of the unicast strategy that knows no
// one, with a one-second acknowledgement timeout and maxFailover (0 for the
// default), ticked once at start.
func newUnicastEngine(t *testing.T, start time.Time, maxFailover int) *Engine {
	t.Helper()
	self := NetIDFrom4([4]byte{198, 18, 0, 1}, 29999)
	cfg := EngineConfig{Self: self, Epoch: NewEpoch(start, 1), Strategy: StrategyUnicast, AckTimeout: time.Second, MaxFailover: maxFailover}
	e, err := NewEngine(cfg, emptyStore{}, rand.New(rand.NewPCG(1, 2)), fitsAll{})
	if err != nil {
		t.Fatal(err)
	}
	e.Tick(start)
	return e
}

// TestAckedSendsLeaveTheQueue checks that the deadline queue holds the
// sends still waiting, not every send acknowledged since the last Tick: an
// origin unicasting to a thousand nodes and acknowledged in order keeps a
// queue as long as what is unacknowledged, and NextDeadline names the
// oldest waiting send.
func TestAckedSendsLeaveTheQueue(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	e := newUnicastEngine(t, start, 0)
	const n = 1000
	dests := make([]NetID, n)
	for i := range dests {
		dests[i] = NetIDFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}, 29999)
	}
	// One send a millisecond, so each has a deadline of its own.
	var ids []BroadcastID
	for i, d := range dests {
		ids = append(ids, e.Broadcast(start.Add(time.Duration(i)*time.Millisecond), []NetID{d}, TagOf("t"), NetIDTable{}, nil))
		e.Ready()
	}
	ack := func(i int) {
		m := Message{Kind: MsgAck, Ack: Ack{IDs: []BroadcastID{ids[i]}}}
		e.Receive(start.Add(n*time.Millisecond), dests[i], NewEpoch(start, 3), ViaTCP, &m, nil)
	}
	// Out of order: the second is acknowledged, the first still waits.
	ack(1)
	if got := len(e.deadline); got != n {
		t.Errorf("after acknowledging the second send, %d in the queue, want %d (the first still waits)", got, n)
	}
	for i := range n - 1 {
		if i != 1 {
			ack(i)
		}
		waiting := max(i+1, 2) // the oldest send still waiting
		if got, want := len(e.deadline), n-waiting; got != want {
			t.Fatalf("after the sends up to %d acknowledged, %d in the queue, want %d", i, got, want)
		}
		if got, want := e.NextDeadline(), start.Add(time.Duration(waiting)*time.Millisecond+time.Second); !got.Equal(want) {
			t.Fatalf("after the sends up to %d acknowledged, NextDeadline = %v, want %v", i, got, want)
		}
	}
}

// TestTickLetsSettledSendsGo checks that the sends Tick takes off the
// deadline queue, failed over or acknowledged, leave its array too, so the
// collector can free them (and the gossip each holds) before the queue's
// array is next reallocated.
func TestTickLetsSettledSendsGo(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	e := newUnicastEngine(t, start, 1)
	dests := []NetID{NetIDFrom4([4]byte{198, 19, 0, 1}, 29999), NetIDFrom4([4]byte{198, 19, 0, 2}, 29999)}
	for i, d := range dests {
		e.Broadcast(start.Add(time.Duration(i)*time.Millisecond), []NetID{d}, TagOf("t"), NetIDTable{}, nil)
		e.Ready()
	}
	queue := e.deadline // the array the sends sit in
	if len(queue) != 2 {
		t.Fatalf("%d sends in the queue, want 2", len(queue))
	}
	e.Tick(start.Add(time.Hour)) // both time out, with nothing to fail over to
	if len(e.deadline) != 0 {
		t.Errorf("%d sends still queued after their deadlines", len(e.deadline))
	}
	for i, p := range queue {
		if p != nil {
			t.Errorf("slot %d of the queue's array still holds the send to %s", i, p.to)
		}
	}
}
