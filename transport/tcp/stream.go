package tcp

import (
	"net"
	"time"
)

// idleReader reads from a connection with a read deadline idle ahead of
// each read, so a connection silent for longer fails with a timeout.
type idleReader struct {
	conn net.Conn
	idle time.Duration // <= 0: no deadline
}

func (r idleReader) Read(p []byte) (int, error) {
	if r.idle > 0 {
		if err := r.conn.SetReadDeadline(time.Now().Add(r.idle)); err != nil {
			return 0, err
		}
	}
	return r.conn.Read(p)
}
