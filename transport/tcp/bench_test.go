package tcp_test

import (
	"math/rand/v2"
	"testing"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/transport/tcp"
)

// BenchmarkOneWay sends 256-byte frames one way between two transports on
// the loopback interface, a receiver draining them as they come: ns/op is
// per frame, MB/s counts frame bytes. "codec" frames are real sealed
// frames split by codec.FrameLen; "len4" frames carry a 4-byte length.
//
//	go test -run '^$' -bench OneWay -benchtime 2000000x ./transport/tcp
func BenchmarkOneWay(b *testing.B) {
	const size = 256
	b.Run("codec", func(b *testing.B) {
		s := newSealer(b)
		noise := make([]byte, size)
		rand.NewChaCha8([32]byte{2}).Read(noise)
		var frame []byte
		for n := size; n > 0 && len(frame) != size; n-- {
			frame = s.frame(b, noise[:n])
		}
		if len(frame) != size {
			b.Fatalf("no payload seals to %d bytes", size)
		}
		oneWay(b, codec.FrameLen, frame)
	})
	b.Run("len4", func(b *testing.B) {
		oneWay(b, nil, lenFrame(make([]byte, size-4)))
	})
}

func oneWay(b *testing.B, frameLen tcp.FrameLenFunc, frame []byte) {
	src := newTransport(b, tcp.Config{FrameLen: frameLen})
	dst := newTransport(b, tcp.Config{FrameLen: frameLen})
	ctx := ctxFor(b, waitTimeout*100)
	// Open the connection first.
	if err := src.Send(ctx, dst.Self(), frame); err != nil {
		b.Fatal(err)
	}
	if _, err := dst.Receive(ctx); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	errc := make(chan error, 1)
	go func() {
		for range b.N {
			if err := src.Send(ctx, dst.Self(), frame); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := range b.N {
		p, err := dst.Receive(ctx)
		if err != nil {
			b.Fatalf("frame %d of %d: %v", i, b.N, err)
		}
		if len(p.Frame) != len(frame) {
			b.Fatalf("frame %d of %d bytes, want %d", i, len(p.Frame), len(frame))
		}
	}
	b.StopTimer()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
