package memnet

import (
	"container/heap"

	"github.com/chatter-go/chatter/core"
)

// event is a delivery (buf != nil) or a timer (fn != nil) due at a virtual
// time. Events run in (at, seq) order: seq is the insertion sequence, so two
// events due at the same instant run in the order they were scheduled.
type event struct {
	at   int64  // virtual nanoseconds since Config.Start
	seq  uint64 // insertion sequence
	from *Host
	to   *Host
	buf  *frameBuf
	meta any
	fn   func()
	inc  uint32 // the target's incarnation when the frame was sent
	via  core.Via
}

// frameBuf is the network's copy of a sent frame, shared by the deliveries
// of a multicast. Each delivery gets a private copy, except the last one,
// which takes the buffer itself.
type frameBuf struct {
	b    []byte
	refs int // deliveries still pending
}

// take returns a private copy of the frame for one delivery.
func (f *frameBuf) take() []byte {
	f.refs--
	if f.refs == 0 {
		b := f.b
		f.b = nil
		return b
	}
	return clone(f.b)
}

// release gives up one delivery's claim without taking the frame.
func (f *frameBuf) release() {
	f.refs--
	if f.refs == 0 {
		f.b = nil
	}
}

// clone returns a copy of b that never aliases it (a non-nil empty slice for
// an empty frame).
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// eventQueue is a binary heap of events by (at, seq), kept with
// container/heap. push and pop go through heap.Fix rather than heap.Push
// and heap.Pop, which would box every 80-byte event into an interface (an
// allocation per event); Push and Pop exist to satisfy heap.Interface.
type eventQueue []event

func (q eventQueue) Len() int { return len(q) }

func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

func (q *eventQueue) Push(x any) { *q = append(*q, x.(event)) }

func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*q = old[:len(old)-1]
	return e
}

// push adds e to the queue.
func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	heap.Fix(q, len(*q)-1)
}

// pop removes and returns the first event; the queue must not be empty.
func (q *eventQueue) pop() event {
	old := *q
	e := old[0]
	last := len(old) - 1
	old[0] = old[last]
	old[last] = event{}
	*q = old[:last]
	if last > 0 {
		heap.Fix(q, 0)
	}
	return e
}

// peek returns the first event's time; the queue must not be empty.
func (q eventQueue) peek() int64 { return q[0].at }
