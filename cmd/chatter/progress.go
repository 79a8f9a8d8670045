package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// defaultProgressAfter is how long a run goes before it shows progress.
const defaultProgressAfter = time.Second

// progressLine shows `sim: 37/200 broadcasts` on one terminal line, once
// the run has gone on for a while, and clears it at the end. Its methods may
// be called from the simulator's goroutine and the command's.
type progressLine struct {
	w     io.Writer
	after time.Duration
	start time.Time
	now   func() time.Time

	mu      sync.Mutex
	width   int // of the line shown, 0 if none
	stopped bool
}

func newProgressLine(w io.Writer, after time.Duration, now func() time.Time) *progressLine {
	return &progressLine{w: w, after: after, start: now(), now: now}
}

// update shows done of total broadcasts, if the run has been long enough.
func (p *progressLine) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.now().Sub(p.start) < p.after {
		return
	}
	line := fmt.Sprintf("sim: %d/%d broadcasts", done, total)
	pad := max(p.width-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
}

// stop clears the line, if one is shown, and ends updates.
func (p *progressLine) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
	p.stopped = true
}
