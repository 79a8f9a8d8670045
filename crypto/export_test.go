package crypto

import (
	"time"

	"github.com/chatter-go/chatter/core"
)

// OpenerSizes returns how many senders' replay states and derived AEADs o
// keeps.
func OpenerSizes(o *Opener) (senders, aeads int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.senders.len(), o.aeads.len()
}

// ResetReplay empties the replay window of sender in its current epoch, so
// benchmarks can open the same frames again.
func ResetReplay(o *Opener, sender core.NetID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := o.senders.peek(sender); n != nil {
		n.val.mu.Lock()
		n.val.win.reset()
		n.val.mu.Unlock()
	}
}

// Since is since, for its test.
var Since = since

// CheckTime is o.checkTime, for its test.
func CheckTime(o *Opener, f *FrameInfo, now time.Time) error { return o.checkTime(f, now) }
