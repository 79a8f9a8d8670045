package tcp_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
	"github.com/chatter-go/chatter/transport/tcp"
)

// Every socket of these tests is on the loopback interface, on a port the
// kernel chooses.
const loopback = "127.0.0.1:0"

// waitTimeout bounds every wait of these tests.
const waitTimeout = 5 * time.Second

// lenFrameLen is the tests' own framing, simpler than the codec's: a frame
// is a 4-byte big-endian length of the whole frame, then the payload.
func lenFrameLen(b []byte, max int) (int, error) {
	if len(b) < 4 {
		return 0, nil
	}
	n := binary.BigEndian.Uint32(b)
	switch {
	case n < 4:
		return 0, fmt.Errorf("frame length %d shorter than its prefix", n)
	case n > uint32(max):
		return 0, fmt.Errorf("frame of %d bytes, limit %d", n, max)
	}
	return int(n), nil
}

// lenFrame returns payload framed for lenFrameLen.
func lenFrame(payload []byte) []byte {
	f := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(payload)), uint32(4+len(payload)))
	return append(f, payload...)
}

// newTransport opens a transport on the loopback interface, closed at the
// end of the test. Listen defaults to 127.0.0.1 on a kernel-chosen port,
// FrameLen to lenFrameLen.
func newTransport(t testing.TB, cfg tcp.Config) *tcp.Transport {
	t.Helper()
	if cfg.Listen == "" && !cfg.Self.IsValid() {
		cfg.Listen = loopback
	}
	if cfg.FrameLen == nil {
		cfg.FrameLen = lenFrameLen
	}
	tr, err := tcp.New(cfg)
	if err != nil {
		t.Fatalf("tcp.New: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// downNetID returns the NetID of a loopback port that was just listened on
// and closed: nothing listens there.
func downNetID(t testing.TB) core.NetID {
	t.Helper()
	ln, err := net.Listen("tcp", loopback)
	if err != nil {
		t.Fatal(err)
	}
	id := netIDOf(t, ln.Addr())
	ln.Close()
	return id
}

func netIDOf(t testing.TB, a net.Addr) core.NetID {
	t.Helper()
	id, err := core.ParseNetID(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// ctxFor returns a context that ends after d or with the test.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 20*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %v for %s", waitTimeout, what)
		}
		time.Sleep(delay)
	}
}

// expectClosed reads from c until the other end closes it, failing the
// test if it stays open for waitTimeout.
func expectClosed(t testing.TB, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		var ne net.Error
		switch {
		case err == nil:
			continue
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("%s: still open after %v", what, waitTimeout)
		}
		return
	}
}

// expectOpen checks that c is not closed by the other end within d.
func expectOpen(t testing.TB, c net.Conn, d time.Duration, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: read = %v, want a timeout (the connection open and silent)", what, err)
	}
}

// sealer seals real Chatter frames, for the tests of the transport on the
// codec's framing.
type sealer struct {
	s    *codec.Sealer
	o    *codec.Opener
	from core.NetID
	now  time.Time
}

func newSealer(t testing.TB) *sealer {
	t.Helper()
	var key crypto.Key
	for i := range key {
		key[i] = byte(i)
	}
	from := core.MustParseNetID("127.0.0.1:29999")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s, err := codec.NewSealer(crypto.NewKeyring(1, key), from, core.NewEpoch(now, 0x5eed))
	if err != nil {
		t.Fatal(err)
	}
	return &sealer{s: s, o: codec.NewOpener(crypto.NewKeyring(1, key), codec.OpenerConfig{}), from: from, now: now}
}

// frame seals a gossip with payload.
func (s *sealer) frame(t testing.TB, payload []byte) []byte {
	t.Helper()
	b := codec.Body{Kind: codec.KindGossip, Gossip: core.Gossip{
		ID:      core.BroadcastID{Origin: s.from, Number: 1},
		Tag:     core.TagOf("test"),
		Payload: payload,
	}}
	b.Table = core.NewNetIDTable(b.AppendNetIDs(nil)...)
	f, err := s.s.AppendFrame(nil, &b, s.now)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// open opens a sealed frame and returns its payload.
func (s *sealer) open(t testing.TB, f []byte) []byte {
	t.Helper()
	var b codec.Body
	if _, err := s.o.Open(f, s.now, &b); err != nil {
		t.Fatalf("open a received frame: %v", err)
	}
	return b.Gossip.Payload
}

// stalledPeer listens on the loopback interface and accepts connections
// that it never reads. It returns its NetID and a function that closes
// the listener and the connections and waits for its goroutine; that also
// runs at the end of the test.
func stalledPeer(t testing.TB) (core.NetID, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", loopback)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ln.Close()
			<-done
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
	}
	t.Cleanup(stop)
	return netIDOf(t, ln.Addr()), stop
}
