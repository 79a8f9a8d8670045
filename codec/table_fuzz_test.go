package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/chatter-go/chatter/core"
)

// sentinelsMatched returns how many of the sentinels err matches.
func sentinelsMatched(err error, sentinels ...error) int {
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	return n
}

// FuzzNetIDTable decodes arbitrary input as a NetID table. The decoder must
// not panic, must agree with the reference decoder, and what it accepts must
// re-encode canonically: the reference encoder's bytes, no longer than the
// input, decoding to the same table.
func FuzzNetIDTable(f *testing.F) {
	// The hand-written vectors of table_test.go, each commented there: the
	// empty table, one IPv4 NetID, loopback nodes with two ports on one,
	// IPv4 and IPv6, a dense block as a bitmap.
	for _, v := range tableVectors() {
		f.Add(v.want)
	}
	// The round-trip tables of table_test.go: many ports on one address,
	// dense and sparse /24s, 200 far-apart /24s, 150 IPv6 addresses, many
	// multiplicity and port runs, extreme addresses and ports.
	for _, tc := range roundTripTables(f) {
		f.Add(AppendNetIDTable(nil, tc.table))
	}
	// A non-canonical encoding: one host as a bitmap, where the list is
	// shorter.
	f.Add(v4Table([][]byte{blk(10<<16, 1, bitmap(1)...)}, []uint64{1, 1}, []uint64{1, 80}))
	// A non-canonical encoding: runs split where one would do.
	f.Add(v4Table([][]byte{blk(10<<16, 4, 1, 1)}, []uint64{1, 1, 1, 1}, []uint64{1, 80, 1, 80}))
	// Duplicate entries: one address, two ports, both 80.
	f.Add(v4Table([][]byte{blk(10<<16, 2, 1)}, []uint64{1, 2}, []uint64{2, 80}))
	// 0.0.0.0 in a bitmap.
	f.Add(v4Table([][]byte{blk(0, 1, bitmap(0, 1)...)}, []uint64{2, 1}, []uint64{2, 80}))

	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeNetIDTable(b)
		ref, refErr := refDecodeTable(b)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("decoder: %v; reference decoder: %v", err, refErr)
		}
		if err != nil {
			if n := sentinelsMatched(err, ErrTruncated, ErrMalformed, ErrListTooLong, ErrTableOrder); n != 1 {
				t.Fatalf("error %q matches %d sentinels", err, n)
			}
			if got.Len() != 0 {
				t.Fatalf("%d entries returned with an error", got.Len())
			}
			return
		}
		if d := diffTables(ref, got); d != "" {
			t.Fatalf("decoder and reference decoder differ (-ref +got):\n%s", d)
		}

		enc := AppendNetIDTable(nil, got)
		if n := NetIDTableLen(got); n != len(enc) {
			t.Fatalf("NetIDTableLen = %d, encoding has %d bytes", n, len(enc))
		}
		if want := refEncodeTable(got); !bytes.Equal(enc, want) {
			t.Fatalf("encoding differs from the reference:\n got % x\nwant % x", enc, want)
		}
		if len(enc) > len(b) {
			t.Fatalf("canonical encoding of %d bytes, longer than the input's %d", len(enc), len(b))
		}
		again, err := DecodeNetIDTable(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoding % x: %v", enc, err)
		}
		if d := diffTables(got, again); d != "" {
			t.Fatalf("re-encoding round trip (-first +second):\n%s", d)
		}

		// The naive reference encoding carries the same table.
		naive, err := naiveDecode(naiveEncode(got))
		if err != nil {
			t.Fatal(err)
		}
		if d := diffTables(got, naive); d != "" {
			t.Fatalf("naive round trip (-got +naive):\n%s", d)
		}

		// Inside a body: the reader stops after the table, with scratch.
		r := newReader(append(slices.Clip(b), 0xee))
		inBody := r.table(make([]core.NetID, 0, 4))
		if r.err != nil || r.remaining() != 1 || !inBody.Equal(got) {
			t.Fatalf("reader.table: %v, %d bytes left", r.err, r.remaining())
		}
	})
}

// FuzzList decodes arbitrary input as a list: the first byte is the table
// length, the rest the list. The decoder must not panic, must agree with
// the reference decoder, and what it accepts must re-encode canonically.
func FuzzList(f *testing.F) {
	// The hand-written vectors of table_test.go over a table of 255: the
	// empty list, references, references as long as the bitmap, a bitmap,
	// a bitmap of two bytes (start 300 is past the table: ErrTableRef).
	for _, v := range listVectors() {
		f.Add(append([]byte{255}, v.want...))
	}
	// Every other entry of a table of 200, as a bitmap.
	f.Add(append([]byte{200}, appendIdx(nil, seq(0, 200, 2))...))
	// Every 17th entry of a table of 255, as references.
	f.Add(append([]byte{255}, appendIdx(nil, seq(3, 255, 17))...))
	// A reference past the table of 10.
	f.Add([]byte{10, 0x04, 0x05, 0x04})
	// A bitmap with a bit past n set.
	f.Add([]byte{10, 0x0d, 0x00, 0x60})
	// An empty bitmap (h = 1).
	f.Add([]byte{10, 0x01, 0x00})

	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		tableLen, in := int(b[0]), b[1:]
		// oneRun, the fast path for a list of one run, agrees with spans
		// wherever it applies, and reads nothing where it does not.
		for _, limit := range []int{tableLen, core.MaxOthers} {
			r1 := newReader(in)
			s, ok := r1.oneRun(tableLen, limit)
			if !ok {
				if r1.off != 0 {
					t.Fatalf("oneRun refused after reading %d bytes", r1.off)
				}
				continue
			}
			r2 := newReader(in)
			sp, _ := r2.spans("test list", tableLen, limit, nil)
			if r2.err != nil || len(sp) != 1 || sp[0] != s || r2.off != r1.off {
				t.Fatalf("oneRun: %v after %d bytes; spans: %v after %d bytes, %v", s, r1.off, sp, r2.off, r2.err)
			}
		}
		got, err := decodeList(in, tableLen, tableLen)
		ref, ok := refDecodeList(in, tableLen, tableLen)
		if (err == nil) != ok {
			t.Fatalf("decoder: %v; reference decoder accepts: %v", err, ok)
		}
		if err != nil {
			if n := sentinelsMatched(err, ErrTruncated, ErrMalformed, ErrListTooLong, ErrTableRef); n != 1 {
				t.Fatalf("error %q matches %d sentinels", err, n)
			}
			return
		}
		if !slices.Equal(got, ref) {
			t.Fatalf("decoded %v, reference %v", got, ref)
		}
		for i, x := range got {
			if x < 0 || x >= tableLen || i > 0 && x <= got[i-1] {
				t.Fatalf("decoded %v: not strictly ascending indexes below %d", got, tableLen)
			}
		}

		enc := appendIdx(nil, got)
		if n := idxLen(got); n != len(enc) {
			t.Fatalf("listLen = %d, encoding has %d bytes", n, len(enc))
		}
		if want := refEncodeList(got); !bytes.Equal(enc, want) {
			t.Fatalf("encoding % x, reference % x", enc, want)
		}
		// The canonical encoding is never longer than the input, unless the
		// input's bitmap starts before its first entry: a smaller start can
		// save a varint byte (start 127 and bits 4, 5, 12, 13 are one byte
		// shorter than start 131 and bits 0, 1, 8, 9).
		h, n := binary.Uvarint(in)
		start, _ := binary.Uvarint(in[n:])
		if (h%2 == 0 || start == uint64(got[0])) && len(enc) > len(in) {
			t.Fatalf("canonical encoding of %d bytes, longer than the input's %d", len(enc), len(in))
		}
		again, err := decodeList(enc, tableLen, tableLen)
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("re-encoding % x decodes to %v, %v", enc, again, err)
		}

		// A tighter limit: the same list, or ErrListTooLong.
		const limit = core.MaxOthers
		small, err := decodeList(in, tableLen, limit)
		switch {
		case len(got) > limit && !errors.Is(err, ErrListTooLong):
			t.Fatalf("%d elements with limit %d: %v", len(got), limit, err)
		case len(got) <= limit && (err != nil || !slices.Equal(small, got)):
			t.Fatalf("limit %d: %v, %v", limit, small, err)
		}
	})
}
