package tcp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatter-go/chatter/core"
)

// Write batching.
const (
	// writeBuffer is the size of a connection's bufio.Writer.
	writeBuffer = 64 << 10
	// batchBytes ends a batch of coalesced writes, under one write
	// deadline, even while frames keep coming.
	batchBytes = 256 << 10
)

// peer is an outgoing destination: its queue of frames, and its failure
// state. One writer goroutine (runPeer) owns its connection.
type peer struct {
	id    core.NetID
	queue chan []byte
	// pending counts the Sends holding the peer. It is raised with t.mu
	// held, so the writer, which retires with t.mu held, cannot retire
	// under a Send about to queue.
	pending atomic.Int32

	mu      sync.Mutex // guards what follows
	retryAt time.Time  // until then the peer is unreachable; zero when it has not failed
	lastErr error      // why it last failed
	backoff time.Duration
	failed  chan struct{} // closed, and replaced, when the peer fails
}

func newPeer(id core.NetID, queueLen int) *peer {
	return &peer{id: id, queue: make(chan []byte, queueLen), failed: make(chan struct{})}
}

// check returns an error matching core.ErrUnreachable while the peer is in
// its backoff; otherwise the channel closed at its next failure.
func (p *peer) check(now time.Time) (<-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Before(p.retryAt) {
		return nil, fmt.Errorf("tcp: %s unreachable for %v more: %w: %w",
			p.id, p.retryAt.Sub(now).Round(time.Millisecond), core.ErrUnreachable, p.lastErr)
	}
	return p.failed, nil
}

// failedErr returns the error of p's last failure, matching
// core.ErrUnreachable.
func (p *peer) failedErr() error {
	_, err := p.check(time.Now())
	if err == nil { // the backoff passed already
		err = fmt.Errorf("tcp: %s failed: %w", p.id, core.ErrUnreachable)
	}
	return err
}

// backingOff reports whether the peer may not be dialled yet.
func (p *peer) backingOff(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return now.Before(p.retryAt)
}

// fail marks the peer unreachable for its next backoff, which doubles from
// base up to limit, and wakes the Sends blocked on it.
func (p *peer) fail(err error, now time.Time, base, limit time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.backoff == 0 {
		p.backoff = base
	} else {
		p.backoff = min(2*p.backoff, limit)
	}
	p.retryAt = now.Add(p.backoff)
	p.lastErr = err
	close(p.failed)
	p.failed = make(chan struct{})
	return p.backoff
}

// succeed resets the backoff once a connection has proven itself: written
// to successfully, at least MaxBackoff after it opened. (A peer that
// accepts and at once closes, as one at its connection cap does, takes
// writes too, until the close arrives.)
func (p *peer) succeed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backoff = 0
	p.retryAt = time.Time{}
	p.lastErr = nil
}

// outConn is an outgoing connection and its buffered writer. dead is closed
// when a read on the connection returns: the peer closed it (it never
// writes on it), or we did.
type outConn struct {
	conn   net.Conn
	w      *bufio.Writer
	dead   chan struct{}
	opened time.Time
	proven bool // written to successfully, MaxBackoff or more after it opened
}

// errClosedAtOnce is the failure of a peer that closes our connection as
// soon as it is open: a node at its MaxInbound cap does.
var errClosedAtOnce = errors.New("tcp: connection closed by the peer as soon as it was open")

// runPeer is p's writer: it dials p on the first frame, writes the frames
// queued for it, coalescing them into one flush while more are waiting,
// and keeps the connection until it fails, the peer closes it, or it has
// been idle for IdleTimeout; then, if no Send holds p, it retires p.
func (t *Transport) runPeer(p *peer) {
	var c *outConn
	defer func() {
		if c != nil {
			t.untrack(c.conn, false)
		}
	}()
	var idleC <-chan time.Time
	var idle *time.Timer
	if t.cfg.IdleTimeout > 0 {
		idle = time.NewTimer(t.cfg.IdleTimeout)
		defer idle.Stop()
		idleC = idle.C
	}
	for t.ctx.Err() == nil {
		var dead <-chan struct{}
		if c != nil {
			dead = c.dead
		}
		select {
		case f := <-p.queue:
			if c == nil {
				if p.backingOff(time.Now()) {
					t.stats.dropped.Add(1)
					continue
				}
				var err error
				if c, err = t.dial(p); err != nil {
					t.stats.dropped.Add(1)
					t.fail(p, "dial", err)
					continue
				}
			}
			if n, err := t.writeBatch(c, f, p.queue); err != nil {
				t.untrack(c.conn, false)
				c = nil
				t.stats.writeFailures.Add(1)
				t.stats.dropped.Add(uint64(n))
				t.fail(p, "write", err)
				continue
			}
			if !c.proven && time.Since(c.opened) >= MaxBackoff {
				c.proven = true
				p.succeed()
			}
			if idle != nil {
				idle.Reset(t.cfg.IdleTimeout)
			}
		case <-dead:
			// The peer closed the connection (an idle timeout, a restart):
			// the next frame dials again. A peer that closes it at once
			// (within MaxBackoff) refuses us, and counts as failed.
			t.untrack(c.conn, false)
			if time.Since(c.opened) < MaxBackoff {
				t.stats.dialFailures.Add(1)
				t.fail(p, "connect", errClosedAtOnce)
			} else {
				t.log.Debug("tcp: connection closed by peer", "peer", p.id)
			}
			c = nil
		case <-idleC:
			if t.retire(p) {
				return
			}
			idle.Reset(t.cfg.IdleTimeout)
		case <-t.ctx.Done():
			return
		}
	}
}

// retire forgets p if it is idle: no Send holds it, nothing is queued, and
// its backoff (which a new peer would forget) has passed.
func (t *Transport) retire(p *peer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.pending.Load() > 0 || len(p.queue) > 0 || p.backingOff(time.Now()) {
		return false
	}
	delete(t.peers, p.id)
	return true
}

// fail marks p failed and drops what is queued for it.
func (t *Transport) fail(p *peer, op string, err error) {
	if t.ctx.Err() != nil {
		return // closing: nobody will ask
	}
	backoff := p.fail(err, time.Now(), t.cfg.Backoff, max(MaxBackoff, t.cfg.Backoff))
	var n uint64
	for drained := false; !drained; {
		select {
		case <-p.queue:
			n++
		default:
			drained = true
		}
	}
	t.stats.dropped.Add(n)
	t.log.Debug("tcp: peer failed", "peer", p.id, "op", op, "err", err, "backoff", backoff, "dropped", n)
}

// dial opens a connection to p and starts its watcher.
func (t *Transport) dial(p *peer) (*outConn, error) {
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.DialTimeout)
	defer cancel()
	conn, err := t.cfg.Dial(ctx, "tcp", p.id.AddrPort().String())
	if err != nil {
		if t.ctx.Err() == nil {
			t.stats.dialFailures.Add(1)
		}
		return nil, err
	}
	c := &outConn{conn: conn, w: bufio.NewWriterSize(conn, writeBuffer), dead: make(chan struct{}), opened: time.Now()}
	if !t.track(conn, false, func() { watch(c) }) {
		return nil, t.errClosed()
	}
	t.stats.dialed.Add(1)
	t.log.Debug("tcp: dialled", "peer", p.id, "local", conn.LocalAddr())
	return c, nil
}

// watch reads from an outgoing connection, on which the peer never writes,
// until the read fails: the peer closed the connection, or we did.
func watch(c *outConn) {
	defer close(c.dead)
	var b [1]byte
	c.conn.Read(b[:])
}

// writeBatch writes f and the frames queued behind it, while there are some
// and the batch is under batchBytes, then flushes, all under one write
// deadline. It returns the frames written, or lost on error.
func (t *Transport) writeBatch(c *outConn, f []byte, q <-chan []byte) (int, error) {
	if err := c.conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout)); err != nil {
		return 1, err
	}
	frames, size := 0, 0
	for more := true; more; {
		frames++
		size += len(f)
		if _, err := c.w.Write(f); err != nil {
			return frames, err
		}
		more = false
		if size < batchBytes {
			select {
			case f = <-q:
				more = true
			default:
			}
		}
	}
	if err := c.w.Flush(); err != nil {
		return frames, err
	}
	t.stats.framesSent.Add(uint64(frames))
	t.stats.bytesSent.Add(uint64(size))
	return frames, nil
}
