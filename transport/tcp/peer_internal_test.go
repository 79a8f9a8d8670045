package tcp

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
)

func TestBackoffDoubles(t *testing.T) {
	p := newPeer(core.MustParseNetID("127.0.0.1:9"), 1)
	now := time.Unix(1_764_000_000, 0)
	cause := errors.New("refused")
	var got []time.Duration
	for range 6 {
		got = append(got, p.fail(cause, now, 100*time.Millisecond, 700*time.Millisecond))
	}
	want := []time.Duration{100, 200, 400, 700, 700, 700}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backoffs (-want +got):\n%s", diff)
	}
	_, err := p.check(now.Add(699 * time.Millisecond))
	if !errors.Is(err, core.ErrUnreachable) || !errors.Is(err, cause) {
		t.Errorf("check within the backoff = %v, want core.ErrUnreachable and the cause", err)
	}
	if _, err := p.check(now.Add(700 * time.Millisecond)); err != nil {
		t.Errorf("check after the backoff = %v", err)
	}
	p.succeed()
	if got := p.fail(cause, now, 100*time.Millisecond, 700*time.Millisecond); got != 100*time.Millisecond {
		t.Errorf("backoff after a success = %v, want it back at 100ms", got)
	}
}

// TestPeerRetires: an idle peer is forgotten, with its goroutine.
func TestPeerRetires(t *testing.T) {
	frameLen := func(b []byte, max int) (int, error) {
		if len(b) < 4 {
			return 0, nil
		}
		return int(binary.BigEndian.Uint32(b)), nil
	}
	cfg := Config{Listen: "127.0.0.1:0", FrameLen: frameLen, IdleTimeout: 50 * time.Millisecond}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cfg.IdleTimeout = -1
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Send(ctx, b.Self(), []byte{0, 0, 0, 5, 'x'}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	open := func() (peers, conns int) {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.peers), len(a.conns)
	}
	if p, c := open(); p != 1 || c != 1 {
		t.Fatalf("%d peers and %d connections after a send, want 1 and 1", p, c)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p, c := open()
		if p == 0 && c == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d peers and %d connections 5s after the last send", p, c)
		}
	}
}
