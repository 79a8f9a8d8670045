package crypto

import "github.com/chatter-go/chatter/core"

// WindowSize is the number of frame counters the replay window spans per
// sender and epoch: a counter up to WindowSize-1 below the highest accepted
// one is still accepted once; an older one is refused.
const WindowSize = 8192

const windowWords = WindowSize / 64

// window is an RFC 6479 style sliding replay window: a ring of WindowSize
// bits, bit c%WindowSize recording whether counter c was accepted, for the
// WindowSize counters ending at top. Unlike RFC 6479, which clears whole
// words and so keeps one word of slack, it clears exactly the bits it slides
// over, so the window is exactly WindowSize counters.
type window struct {
	top  core.FrameCounter // highest accepted counter, 0 before the first
	bits [windowWords]uint64
}

// verdict is the outcome of window.check.
type verdict uint8

const (
	fresh  verdict = iota // never accepted, within or ahead of the window
	seen                  // already accepted
	tooOld                // below the window
	zero                  // counter 0, never valid
)

// check tells whether c may be accepted, without changing w.
func (w *window) check(c core.FrameCounter) verdict {
	switch {
	case c == 0:
		return zero
	case c > w.top:
		return fresh
	case w.top-c >= WindowSize:
		return tooOld
	case w.bits[c/64%windowWords]&(1<<(c%64)) != 0:
		return seen
	}
	return fresh
}

// mark records c as accepted, sliding the window when c is ahead of it. The
// caller checked c first.
func (w *window) mark(c core.FrameCounter) {
	if c > w.top {
		w.slide(c)
	}
	w.bits[c/64%windowWords] |= 1 << (c % 64)
}

// slide moves top to c > top, clearing the bits of counters top+1..c.
func (w *window) slide(c core.FrameCounter) {
	n := uint64(c - w.top) // bits to clear
	if n >= WindowSize {
		w.bits = [windowWords]uint64{}
		w.top = c
		return
	}
	for p := w.top + 1; n > 0; {
		off := uint64(p % 64)
		k := min(64-off, n)
		mask := ^uint64(0)
		if k < 64 {
			mask = (1<<k - 1) << off
		}
		w.bits[p/64%windowWords] &^= mask
		p += core.FrameCounter(k)
		n -= k
	}
	w.top = c
}

// reset empties w, for a new epoch.
func (w *window) reset() { *w = window{} }
