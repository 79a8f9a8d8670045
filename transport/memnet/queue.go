package memnet

import "github.com/chatter-go/chatter/core"

// event is what the network runs when an event falls due: a timer (fn !=
// nil), a multicast's fan-out to its receivers (fan != nil), or one frame
// to one host (buf != nil), a unicast or, when a multicast's receivers do
// not all have the same latency, one receiver's copy of a multicast.
type event struct {
	from *Host
	to   *Host
	buf  *frameBuf
	fan  *fanout
	meta any
	fn   func()
	inc  uint32 // the target's incarnation when the frame was sent
	via  core.Via
}

// fanout is a multicast whose receivers all have the same arrival time: one
// event that delivers to each receiver in turn, one per Step, in subnet
// member order. That is the order, and the times, in which one event per
// receiver would have run: they would have had the same time and
// consecutive sequence numbers. Fanouts are recycled by the network once
// their last receiver is served.
type fanout struct {
	from *Host
	b    []byte // the network's copy of the frame; nil once the last receiver is served
	meta any
	rcv  []receiver // the receivers the loss draw spared, in member order
	next int        // the index in rcv of the next receiver to serve
}

// receiver is one receiver of a fanout, with its incarnation at the send.
type receiver struct {
	h   *Host
	inc uint32
}

// frameBuf is the network's copy of a frame sent as events of their own
// (a unicast, or the copies of a multicast whose receivers' latencies
// differ), shared by those events. Each delivery gets a private copy,
// except the last one, which takes the buffer itself (or, with
// Config.SharedFrames, every delivery gets the buffer).
type frameBuf struct {
	b    []byte
	refs int // deliveries still pending
}

// claim gives up one delivery's claim on the frame and returns the frame,
// and whether this was the last claim (the caller may then keep the buffer
// itself).
func (f *frameBuf) claim() (b []byte, last bool) {
	f.refs--
	b = f.b
	if f.refs == 0 {
		f.b = nil
		return b, true
	}
	return b, false
}

// clone returns a copy of b that never aliases it (a non-nil empty slice for
// an empty frame).
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// slotRef is an event's place in the queue: its key, (at, seq), and the slot
// of its event in the queue's slab. Entries are small so that sifting them
// moves little memory.
type slotRef struct {
	at   int64  // virtual nanoseconds since Config.Start
	seq  uint64 // insertion sequence
	slot uint32 // index of the event in eventQueue.slab
}

// before reports whether a runs before b: earlier, or as early and
// scheduled first. Sequence numbers are unique, so the order is total and
// every heap shape pops the same sequence.
func (a slotRef) before(b slotRef) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// eventQueue is a priority queue of events by (at, seq): a 4-ary min-heap
// of entries, whose events live in a slab of reused slots. A 4-ary heap is
// half as deep as a binary one, and its four children sit side by side in
// memory; comparisons are direct, not through an interface.
type eventQueue struct {
	heap []slotRef
	slab []event
	free []uint32 // free slots of slab
}

// len returns the number of events queued.
func (q *eventQueue) len() int { return len(q.heap) }

// push queues e to run at (at, seq).
func (q *eventQueue) push(at int64, seq uint64, e event) {
	var slot uint32
	if k := len(q.free); k > 0 {
		slot = q.free[k-1]
		q.free = q.free[:k-1]
		q.slab[slot] = e
	} else {
		slot = uint32(len(q.slab))
		q.slab = append(q.slab, e)
	}
	x := slotRef{at: at, seq: seq, slot: slot}
	q.heap = append(q.heap, x)
	i := len(q.heap) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !x.before(q.heap[p]) {
			break
		}
		q.heap[i] = q.heap[p]
		i = p
	}
	q.heap[i] = x
}

// top returns the first event's time and the event itself, which stays
// queued; the pointer is valid until the next push. The queue must not be
// empty.
func (q *eventQueue) top() (int64, *event) {
	x := q.heap[0]
	return x.at, &q.slab[x.slot]
}

// peek returns the first event's time; the queue must not be empty.
func (q *eventQueue) peek() int64 { return q.heap[0].at }

// pop removes the first event and returns it; the queue must not be empty.
func (q *eventQueue) pop() event {
	slot := q.heap[0].slot
	e := q.slab[slot]
	q.slab[slot] = event{} // let go of what the event points to
	q.free = append(q.free, slot)

	last := len(q.heap) - 1
	x := q.heap[last]
	q.heap = q.heap[:last]
	if last == 0 {
		return e
	}
	h := q.heap
	i := 0
	for {
		c := 4*i + 1
		if c >= last {
			break
		}
		// The first of i's children, up to four.
		m := c
		for j := c + 1; j < c+4 && j < last; j++ {
			if h[j].before(h[m]) {
				m = j
			}
		}
		if !h[m].before(x) {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = x
	return e
}
