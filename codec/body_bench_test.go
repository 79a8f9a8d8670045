package codec_test

import (
	"testing"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/core"
)

// BenchmarkBody is the body of the frame benchmarks alone, without LZ4 or
// the AEAD: encoding it (table and message) as a Sealer does, and decoding
// it into a reused Body.
func BenchmarkBody(b *testing.B) {
	in := benchBody()
	enc, _, err := codec.AppendBody(nil, &in)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		var e codec.BodyEncoder
		buf := make([]byte, 0, len(enc))
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			var err error
			if buf, err = e.Append(buf[:0], &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		var out codec.Body
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if err := codec.DecodeBody(in.Kind, enc, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("table-from-sorted", func(b *testing.B) {
		ids := in.Table.IDs()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := core.NetIDTableFromSorted(ids); err != nil {
				b.Fatal(err)
			}
		}
	})
}
