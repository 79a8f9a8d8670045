package tcp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"time"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport"
)

// Accept backoff on errors other than the listener closing.
const (
	acceptBackoff    = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// acceptLoop accepts inbound connections until the listener closes, with a
// reader for each. On an accept error (out of file descriptors, say) it
// waits 5 ms, doubling to 1 s while the errors go on.
func (t *Transport) acceptLoop() {
	var delay time.Duration
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			if errors.Is(err, net.ErrClosed) {
				t.log.Error("tcp: listener closed under the transport; no more inbound connections", "err", err)
				return
			}
			delay = max(acceptBackoff, min(2*delay, maxAcceptBackoff))
			t.log.Warn("tcp: accept failed", "err", err, "retry", delay)
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
			case <-t.ctx.Done():
				timer.Stop()
				return
			}
			continue
		}
		delay = 0
		if t.track(conn, true, func() { t.readConn(conn) }) {
			t.stats.accepted.Add(1)
		}
	}
}

// readConn reads frames from an inbound connection and queues them for
// Receive, until the stream ends, fails, is refused by FrameLen, stays idle
// for IdleTimeout, or the transport closes.
func (t *Transport) readConn(conn net.Conn) {
	defer t.untrack(conn, true)
	remote, _ := addrPortOf(conn.RemoteAddr())
	r := transport.NewFrameReader(idleReader{conn: conn, idle: t.cfg.IdleTimeout}, t.cfg.FrameLen, t.cfg.MaxFrame)
	for {
		f, err := r.Next()
		if err != nil {
			var bad *transport.BadStreamError
			switch {
			case errors.As(err, &bad):
				t.stats.badStreams.Add(1)
				t.log.Warn("tcp: bad stream, connection dropped", "remote", remote, "err", err)
			case t.ctx.Err() == nil && err != io.EOF:
				t.log.Debug("tcp: inbound connection ended", "remote", remote, "err", err)
			}
			return
		}
		t.stats.framesReceived.Add(1)
		t.stats.bytesReceived.Add(uint64(len(f)))
		select {
		case t.recv <- core.Packet{Frame: bytes.Clone(f), Via: core.ViaTCP, Remote: remote}:
		case <-t.ctx.Done():
			return
		}
	}
}
