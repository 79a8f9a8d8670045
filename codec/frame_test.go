package codec_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

func roundTripBodies() map[string]codec.Body {
	ids := nodes(12)
	v6 := core.MustParseNetID("[2001:db8::7]:4000")
	return map[string]codec.Body{
		"gossip":           sampleGossip(64, textPayload(256)),
		"gossip no lists":  withTable(codec.Body{Kind: codec.KindGossip, Gossip: core.Gossip{ID: core.BroadcastID{Origin: ids[0], Number: 1}, Tag: 7}}),
		"gossip ipv6":      withTable(codec.Body{Kind: codec.KindGossip, Gossip: core.Gossip{ID: core.BroadcastID{Origin: v6, Number: 9}, Others: []core.NetID{ids[1]}, Distribution: []core.Group{{Entry: ids[2]}, {Entry: core.MustParseNetID("[2001:db8::8]:4000"), Members: ids[3:5]}}, Payload: []byte("x")}}),
		"gossip large":     sampleGossip(600, textPayload(20000)),
		"gossip unordered": withTable(codec.Body{Kind: codec.KindGossip, Gossip: core.Gossip{ID: core.BroadcastID{Origin: ids[0], Number: 3}, Seen: []core.SeenEntry{{Node: ids[7], Seq: 2}, {Node: ids[6], Seq: 1}}, Others: []core.NetID{ids[8], ids[5], ids[6]}, Distribution: []core.Group{{Entry: ids[1], Members: []core.NetID{ids[4], ids[2], ids[3], ids[9]}}, {Entry: ids[11], Members: []core.NetID{ids[10], ids[7]}}}, Payload: []byte("x")}}),
		"multicast gossip": withTable(codec.Body{Kind: codec.KindMulticastGossip, Gossip: core.Gossip{ID: core.BroadcastID{Origin: ids[0], Number: 5}, MulticastSeq: 12, Seen: []core.SeenEntry{{Node: ids[4], Seq: 1}}, Others: ids[5:9], Tag: 3, PayloadIDs: core.NewNetIDTable(ids[9:12]...), Payload: []byte("hello")}}),
		"repaired":         withTable(codec.Body{Kind: codec.KindRepaired, Gossip: core.Gossip{ID: core.BroadcastID{Origin: ids[0], Number: 5}, MulticastSeq: 1 << 40, Payload: bytes.Repeat([]byte("ab"), 300)}}),
		"ack":              withTable(codec.Body{Kind: codec.KindAck, Ack: core.Ack{IDs: []core.BroadcastID{{Origin: ids[0], Number: 1}, {Origin: ids[1], Number: 2}, {Origin: ids[0], Number: 3}}, Seen: []core.SeenEntry{{Node: ids[5], Seq: 9}}}}),
		"empty ack":        withTable(codec.Body{Kind: codec.KindAck}),
		"announcement":     withTable(codec.Body{Kind: codec.KindAnnouncement, Announcement: core.Announcement{LastSeq: 99, Seen: []core.SeenEntry{{Node: ids[3], Seq: 4}, {Node: ids[1], Seq: 70000}}, Groups: []core.Group{{Entry: ids[6], Members: ids[7:9]}, {Entry: ids[10]}}}}),
		"repair request":   withTable(codec.Body{Kind: codec.KindRepairRequest, Repair: core.RepairRequest{Epoch: testEpoch, Ranges: []core.SeqRange{{First: 1, Last: 1}, {First: 10, Last: 20}}}}),
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	for name, in := range roundTripBodies() {
		t.Run(name, func(t *testing.T) {
			s, o := newPair(t)
			max, err := s.MaxFrameLen(&in)
			if err != nil {
				t.Fatalf("MaxFrameLen: %v", err)
			}
			frame, err := s.AppendFrame(nil, &in, testNow)
			if err != nil {
				t.Fatalf("AppendFrame: %v", err)
			}
			if len(frame) > max {
				t.Errorf("frame of %d bytes, MaxFrameLen said at most %d", len(frame), max)
			}
			var out codec.Body
			h, err := o.Open(frame, testNow, &out)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			want := codec.Header{Kind: in.Kind, KeyID: 1, Sender: testSender, Epoch: testEpoch, Counter: 1, Time: testNow}
			if diff := cmp.Diff(want, h, bodyOpts); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(normalise(in), out, bodyOpts); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// normalise returns b as a decoder returns it: lists in table order.
func normalise(b codec.Body) codec.Body {
	sortIDs := func(ids []core.NetID) []core.NetID {
		return core.NewNetIDTable(ids...).IDs()
	}
	g := b.Gossip
	g.Others = sortIDs(g.Others)
	g.Seen = sortSeen(g.Seen)
	var groups []core.Group
	for _, grp := range g.Distribution {
		groups = append(groups, core.Group{Entry: grp.Entry, Members: sortIDs(grp.Members)})
	}
	g.Distribution = groups
	b.Gossip = g
	b.Announcement.Seen = sortSeen(b.Announcement.Seen)
	return b
}

func sortSeen(seen []core.SeenEntry) []core.SeenEntry {
	out := append([]core.SeenEntry(nil), seen...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Node.Compare(out[i].Node) < 0 {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// slack is how far MaxFrameLen may exceed a stored frame: the timestamp's
// varint is bounded at 8 bytes and is at least 1.
const slack = 7

func TestCompressionChoice(t *testing.T) {
	s, o := newPair(t)
	for _, tc := range []struct {
		name       string
		payload    []byte
		compressed bool
	}{
		{"text compresses", textPayload(2000), true},
		{"random is stored", randomBytes(2000), false},
		{"tiny is stored", []byte("x"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleGossip(8, tc.payload)
			max, _ := s.MaxFrameLen(&in)
			frame, err := s.AppendFrame(nil, &in, testNow)
			if err != nil {
				t.Fatal(err)
			}
			// MaxFrameLen bounds the stored form within slack bytes.
			if got := len(frame) < max-slack; got != tc.compressed {
				t.Errorf("frame %d bytes, stored bound %d: compressed = %v, want %v", len(frame), max, got, tc.compressed)
			}
			var out codec.Body
			if _, err := o.Open(frame, testNow, &out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Gossip.Payload, tc.payload) {
				t.Error("payload differs after the round trip")
			}
		})
	}
}

func randomBytes(n int) []byte {
	p := make([]byte, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x)
	}
	return p
}

func TestEncodeErrors(t *testing.T) {
	ids := nodes(10)
	gossip := func(g core.Gossip) codec.Body { return codec.Body{Kind: codec.KindGossip, Gossip: g} }
	origin := core.BroadcastID{Origin: ids[0], Number: 1}
	for _, tc := range []struct {
		name string
		body codec.Body
		want error
	}{
		{"unknown kind", codec.Body{Kind: 9}, codec.ErrMalformed},
		{"origin not in table", gossip(core.Gossip{ID: origin}), codec.ErrTableRef},
		{"too many others", withTable(gossip(core.Gossip{ID: origin, Others: ids[1:6]})), codec.ErrListTooLong},
		{"other twice", withTable(gossip(core.Gossip{ID: origin, Others: []core.NetID{ids[1], ids[1]}})), codec.ErrMalformed},
		{"seen twice", withTable(gossip(core.Gossip{ID: origin, Seen: []core.SeenEntry{{Node: ids[1], Seq: 1}, {Node: ids[1], Seq: 2}}})), codec.ErrMalformed},
		{"member twice", withTable(gossip(core.Gossip{ID: origin, Distribution: []core.Group{{Entry: ids[1], Members: []core.NetID{ids[2], ids[3], ids[2]}}}})), codec.ErrMalformed},
		{"member twice, out of order", withTable(gossip(core.Gossip{ID: origin, Distribution: []core.Group{{Entry: ids[1], Members: []core.NetID{ids[5], ids[3], ids[4], ids[5]}}}})), codec.ErrMalformed},
		{"entry is a member", withTable(gossip(core.Gossip{ID: origin, Distribution: []core.Group{{Entry: ids[1], Members: ids[1:3]}}})), codec.ErrMalformed},
		{"multicast without sequence", withTable(codec.Body{Kind: codec.KindMulticastGossip, Gossip: core.Gossip{ID: origin}}), codec.ErrMalformed},
		{"multicast with distribution", withTable(codec.Body{Kind: codec.KindMulticastGossip, Gossip: core.Gossip{ID: origin, MulticastSeq: 1, Distribution: []core.Group{{Entry: ids[1]}}}}), codec.ErrMalformed},
		{"repair range backwards", codec.Body{Kind: codec.KindRepairRequest, Repair: core.RepairRequest{Ranges: []core.SeqRange{{First: 5, Last: 4}}}}, codec.ErrMalformed},
		{"repair range from 0", codec.Body{Kind: codec.KindRepairRequest, Repair: core.RepairRequest{Ranges: []core.SeqRange{{First: 0, Last: 4}}}}, codec.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newPair(t)
			if _, err := s.AppendFrame(nil, &tc.body, testNow); !errors.Is(err, tc.want) {
				t.Errorf("AppendFrame: %v, want %v", err, tc.want)
			}
			if tc.want != codec.ErrMalformed || tc.name == "unknown kind" {
				if _, err := s.MaxFrameLen(&tc.body); !errors.Is(err, tc.want) {
					t.Errorf("MaxFrameLen: %v, want %v", err, tc.want)
				}
			}
		})
	}
}

// TestOpenRefuses names every way a frame is refused, and checks that the
// opener counts each under its reason.
func TestOpenRefuses(t *testing.T) {
	key := testKey()
	ids := nodes(4)
	goodFrame := func() []byte {
		b := withTable(codec.Body{Kind: codec.KindAck, Ack: core.Ack{IDs: []core.BroadcastID{{Origin: ids[0], Number: 1}}}})
		s, _ := newPair(t)
		f, err := s.AppendFrame(nil, &b, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	emptyTable := []byte{0, 0, 0, 0}
	// A table of one NetID, 198.18.0.10:29999.
	oneTable := codec.AppendNetIDTable(nil, core.NewNetIDTable(ids[0]))
	ack := func(table []byte, rest ...byte) []byte { return append(append([]byte(nil), table...), rest...) }

	for _, tc := range []struct {
		name   string
		frame  func() []byte
		want   error
		reason codec.Reason
	}{
		{"empty", func() []byte { return nil }, codec.ErrTruncated, codec.ReasonTruncated},
		{"wrong magic", func() []byte { f := goodFrame(); f[0] = 'X'; return f }, codec.ErrBadMagic, codec.ReasonBadMagic},
		{"newer version", func() []byte { f := goodFrame(); f[2] = 2; return f }, codec.ErrVersion, codec.ReasonVersion},
		{"unknown kind", func() []byte { f := goodFrame(); f[3] = 0; return f }, codec.ErrMalformed, codec.ReasonMalformed},
		{"unknown key id", func() []byte {
			h := defaultRaw(codec.KindAck, 1)
			h.keyID = 9
			return sealRaw(t, key, h, stored(ack(emptyTable, 0)))
		}, crypto.ErrUnknownKey, codec.ReasonUnknownKey},
		{"wrong key", func() []byte {
			var other crypto.Key
			return sealRaw(t, other, defaultRaw(codec.KindAck, 1), stored(ack(emptyTable, 0)))
		}, crypto.ErrAuth, codec.ReasonAuth},
		{"length overflow", func() []byte {
			f := goodFrame()
			// Replace the sealed length by an 11-byte varint.
			return append(f[:32:32], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
		}, codec.ErrMalformed, codec.ReasonMalformed},
		{"oversize frame", func() []byte { return make([]byte, codec.DefaultMaxFrameSize+1) }, codec.ErrFrameTooLarge, codec.ReasonTooLarge},
		{"oversize claim", func() []byte {
			h := sealRaw(t, key, defaultRaw(codec.KindAck, 1), stored(ack(emptyTable, 0)))
			return append(h[:32:32], 0x80, 0x80, 0x80, 0x01) // 2 MiB
		}, codec.ErrFrameTooLarge, codec.ReasonTooLarge},
		{"too old", func() []byte {
			h := defaultRaw(codec.KindAck, 1)
			h.epoch.StartMicros -= uint64(10 * time.Minute / time.Microsecond)
			return sealRaw(t, key, h, stored(ack(emptyTable, 0)))
		}, crypto.ErrStale, codec.ReasonStale},
		{"from the future", func() []byte {
			h := defaultRaw(codec.KindAck, 1)
			h.offset += uint64(time.Hour / time.Microsecond)
			return sealRaw(t, key, h, stored(ack(emptyTable, 0)))
		}, crypto.ErrFuture, codec.ReasonFuture},
		{"reserved flag", func() []byte {
			p := stored(ack(emptyTable, 0))
			p[0] = 0x80
			return sealRaw(t, key, defaultRaw(codec.KindAck, 1), p)
		}, codec.ErrMalformed, codec.ReasonMalformed},
		{"bad lz4 block", func() []byte {
			return sealRaw(t, key, defaultRaw(codec.KindAck, 1), []byte{1, 40, 0xf0, 0xff, 0xff, 0xff})
		}, codec.ErrCompression, codec.ReasonCompression},
		{"raw length mismatch stored", func() []byte {
			return sealRaw(t, key, defaultRaw(codec.KindAck, 1), append([]byte{0, 9}, ack(emptyTable, 0)...))
		}, codec.ErrRawLength, codec.ReasonRawLength},
		{"raw length mismatch lz4", func() []byte {
			// A valid block of 5 literals "AAAAA", claimed as 6 bytes.
			return sealRaw(t, key, defaultRaw(codec.KindAck, 1), []byte{1, 6, 0x50, 'A', 'A', 'A', 'A', 'A'})
		}, codec.ErrRawLength, codec.ReasonRawLength},
		{"compressed empty body", func() []byte {
			// Found by FuzzPlaintext: LZ4 flag with raw length 0.
			return sealRaw(t, key, defaultRaw(codec.KindAck, 1), []byte{1, 0, '0', '0'})
		}, codec.ErrRawLength, codec.ReasonRawLength},
		{"raw length beyond lz4 ratio", func() []byte {
			return sealRaw(t, key, defaultRaw(codec.KindAck, 1), []byte{1, 0x80, 0x80, 0x20, 0x50, 'A'})
		}, codec.ErrRawLength, codec.ReasonRawLength},
		{"table reference out of range", func() []byte {
			return sealRaw(t, key, defaultRaw(codec.KindAck, 1), stored(ack(oneTable, 1, 1, 5)))
		}, codec.ErrTableRef, codec.ReasonTableRef},
		{"list count larger than the table", func() []byte {
			// An announcement whose seen list claims 3 references.
			return sealRaw(t, key, defaultRaw(codec.KindAnnouncement, 1), stored(ack(oneTable, 1, 6, 0, 0, 0, 1, 1, 1)))
		}, codec.ErrListTooLong, codec.ReasonListTooLong},
		{"duplicate table entries", func() []byte {
			// 198.18.0.10 with port 29999 twice: one address, two
			// ports, one run of two equal ports.
			tbl := []byte{0x01, 0x80, 0xa4, 0x98, 0x06, 0x02, 0x0a, 0x00, 0x01, 0x01, 0x02, 0x01, 0x02, 0xaf, 0xea, 0x01}
			return sealRaw(t, key, defaultRaw(codec.KindAck, 1), stored(ack(tbl, 0)))
		}, nil, 0},
		{"trailing bytes in body", func() []byte {
			return sealRaw(t, key, defaultRaw(codec.KindAck, 1), stored(ack(emptyTable, 0, 0, 0)))
		}, codec.ErrMalformed, codec.ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := tc.frame()
			_, o := newPair(t)
			var b codec.Body
			_, err := o.Open(frame, testNow, &b)
			if tc.want == nil {
				// Cases whose exact sentinel depends on the table
				// codec: any refusal, counted.
				if err == nil {
					t.Fatal("Open accepted the frame")
				}
				t.Logf("refused: %v", err)
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			if got := o.Stats().Dropped[tc.reason]; got != 1 {
				t.Errorf("Stats().Dropped[%s] = %d, want 1 (%v)", tc.reason, got, o.Stats().Dropped)
			}
		})
	}
}

func TestOpenTruncatedEveryOffset(t *testing.T) {
	s, o := newPair(t)
	in := sampleGossip(64, textPayload(256))
	frame, err := s.AppendFrame(nil, &in, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(frame) {
		var b codec.Body
		cut := append([]byte(nil), frame[:n]...)
		if _, err := o.Open(cut, testNow, &b); err == nil {
			t.Fatalf("frame cut to %d of %d bytes opened", n, len(frame))
		} else if !errors.Is(err, codec.ErrTruncated) && !errors.Is(err, codec.ErrMalformed) {
			t.Errorf("cut to %d: %v, want ErrTruncated or ErrMalformed", n, err)
		}
	}
}

func TestOpenFlippedBitAnywhere(t *testing.T) {
	s, o := newPair(t)
	in := sampleGossip(16, textPayload(64))
	warm, err := s.AppendFrame(nil, &in, testNow)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := s.AppendFrame(nil, &in, testNow)
	if err != nil {
		t.Fatal(err)
	}
	// Open a first frame so the sender's key is cached: flips of the
	// second then cost no derivation.
	var b codec.Body
	if _, err := o.Open(warm, testNow, &b); err != nil {
		t.Fatal(err)
	}
	for i := range len(frame) * 8 {
		f := append([]byte(nil), frame...)
		f[i/8] ^= 1 << (i % 8)
		if _, err := o.Open(f, testNow, &b); err == nil {
			t.Fatalf("frame with bit %d flipped opened", i)
		}
	}
	// Every flip in the authenticated part that still parses fails the tag.
	if got := o.Stats().Dropped[codec.ReasonAuth]; got == 0 {
		t.Error("no flip was refused as not authentic")
	}
	if _, err := o.Open(frame, testNow, &b); err != nil {
		t.Errorf("the unflipped frame no longer opens: %v", err)
	}
}

func TestOpenReplayAndEpochs(t *testing.T) {
	ring := crypto.NewKeyring(1, testKey())
	old, err := codec.NewSealer(ring, testSender, testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	newer := testEpoch
	newer.StartMicros += 500_000
	restarted, err := codec.NewSealer(ring, testSender, newer)
	if err != nil {
		t.Fatal(err)
	}
	o := codec.NewOpener(ring, codec.OpenerConfig{})
	in := sampleGossip(8, []byte("hi"))
	seal := func(s *codec.Sealer) []byte {
		f, err := s.AppendFrame(nil, &in, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	open := func(f []byte) error {
		var b codec.Body
		_, err := o.Open(append([]byte(nil), f...), testNow, &b)
		return err
	}
	first := seal(old)
	if err := open(first); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	if err := open(first); !errors.Is(err, crypto.ErrReplay) {
		t.Fatalf("replayed frame: %v, want ErrReplay", err)
	}
	second := seal(old)
	third := seal(old)
	if err := open(third); err != nil {
		t.Fatalf("third before second: %v", err)
	}
	if err := open(second); err != nil {
		t.Fatalf("second after third (within the window): %v", err)
	}
	if err := open(seal(restarted)); err != nil {
		t.Fatalf("frame of the newer epoch: %v", err)
	}
	if err := open(seal(old)); !errors.Is(err, crypto.ErrOldEpoch) {
		t.Fatalf("frame of the older epoch after the newer: %v, want ErrOldEpoch", err)
	}
	st := o.Stats()
	want := codec.OpenerStats{Opened: 4, Dropped: map[codec.Reason]uint64{codec.ReasonReplay: 1, codec.ReasonOldEpoch: 1}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestAllocations(t *testing.T) {
	s, o := newPair(t)
	in := sampleGossip(64, textPayload(256))
	buf := make([]byte, 0, 4096)
	var err error
	sealAllocs := testing.AllocsPerRun(100, func() {
		buf, err = s.AppendFrame(buf[:0], &in, testNow)
	})
	if err != nil {
		t.Fatal(err)
	}
	if sealAllocs > 1 {
		t.Errorf("AppendFrame: %.1f allocations per frame with a reused buffer, want at most 1", sealAllocs)
	}
	frames := make([][]byte, 200)
	for i := range frames {
		f, err := s.AppendFrame(nil, &in, testNow)
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = f
	}
	var b codec.Body
	if _, err := o.Open(frames[0], testNow, &b); err != nil { // warm the key cache and b
		t.Fatal(err)
	}
	i := 1
	openAllocs := testing.AllocsPerRun(100, func() {
		if _, err = o.Open(frames[i], testNow, &b); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if openAllocs > 2 {
		t.Errorf("Open: %.1f allocations per frame with a reused Body, want at most 2", openAllocs)
	}
	t.Logf("allocations: seal %.1f, open %.1f", sealAllocs, openAllocs)
}

func TestMaxFrameLenFitsDatagram(t *testing.T) {
	s, _ := newPair(t)
	for _, n := range []int{8, 64, 200} {
		in := sampleGossip(n, randomBytes(900))
		in.Kind = codec.KindMulticastGossip
		in.Gossip.MulticastSeq = 1
		in.Gossip.Distribution = nil
		in = withTable(in)
		max, err := s.MaxFrameLen(&in)
		if err != nil {
			t.Fatal(err)
		}
		frame, err := s.AppendFrame(nil, &in, testNow)
		if err != nil {
			t.Fatal(err)
		}
		// Random payloads do not compress: the bound is tight.
		if len(frame) > max || len(frame) < max-slack {
			t.Errorf("%d nodes: MaxFrameLen %d, frame %d bytes", n, max, len(frame))
		}
	}
}
