package codec_test

import (
	"testing"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
)

// sampleAnnouncement returns the announcement a node of a 100-node subnet
// sends in a cluster of 100 such subnets, as `chatter sim` runs it: a seen
// list of 64 nodes of its own /24, and grouping hints for 16 remote /24s of
// 64 nodes each (an entry, then 63 members in NetID order, as
// peerstore.Store.SampleGroups gives them), with its table.
func sampleAnnouncement() codec.Body {
	host := func(subnet, h int) core.NetID {
		return core.NetIDFrom4([4]byte{198, 18, byte(subnet), byte(1 + h)}, 29999)
	}
	a := core.Announcement{LastSeq: 4321}
	for h := 1; h <= 64; h++ {
		a.Seen = append(a.Seen, core.SeenEntry{Node: host(0, h), Seq: core.MulticastSeq(100 + h)})
	}
	for d := 1; d <= 16; d++ {
		g := core.Group{Entry: host(d, 40)}
		for h := range 64 {
			if h != 40 {
				g.Members = append(g.Members, host(d, h))
			}
		}
		a.Groups = append(a.Groups, g)
	}
	return withTable(codec.Body{Kind: codec.KindAnnouncement, Announcement: a})
}

// BenchmarkAnnouncement is what a simulated node's announcement costs
// the codec: sizing it (the engine asks whether it fits a datagram),
// sealing it, and opening it into a reused Body. It reports the frame's
// bytes (B/frame) and the NetIDs it names (netids/frame).
func BenchmarkAnnouncement(b *testing.B) {
	s, o := newPair(b)
	in := sampleAnnouncement()
	frame, err := s.AppendFrame(nil, &in, testNow)
	if err != nil {
		b.Fatal(err)
	}
	if len(frame) > codec.DefaultMaxDatagram {
		b.Fatalf("announcement of %d bytes does not fit a datagram of %d", len(frame), codec.DefaultMaxDatagram)
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(len(frame)), "B/frame")
		b.ReportMetric(float64(in.Table.Len()), "netids/frame")
	}
	b.Run("size", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.MaxFrameLen(&in); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("seal", func(b *testing.B) {
		buf := make([]byte, 0, 2*codec.DefaultMaxDatagram)
		b.ReportAllocs()
		for b.Loop() {
			if buf, err = s.AppendFrame(buf[:0], &in, testNow); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("open", func(b *testing.B) {
		// Each frame opens once (replay protection): seal batches outside
		// the timer, as BenchmarkOpenFrame does.
		const batch = 256
		frames := make([][]byte, batch)
		var out codec.Body
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%batch == 0 {
				b.StopTimer()
				for k := range frames {
					if frames[k], err = s.AppendFrame(frames[k][:0], &in, testNow); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			if _, err := o.Open(frames[i%batch], testNow, &out); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}
