package codec_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/codec"
	"github.com/chatter-go/chatter/crypto"
)

var writeCorpus = flag.Bool("write-corpus", false, "write the seed corpora of FuzzBody, FuzzPlaintext, FuzzOpen and FuzzReader under testdata/fuzz")

// seedBodies returns the encoded bodies of every round-trip case.
func seedBodies(t testing.TB) map[string][]byte {
	out := make(map[string][]byte)
	for name, b := range roundTripBodies() {
		p, _, err := codec.AppendBody(nil, &b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = append([]byte{byte(b.Kind)}, p...)
	}
	return out
}

// TestWriteSeedCorpus writes the committed seed corpora from real
// encodings when run with -write-corpus; otherwise it checks they exist.
func TestWriteSeedCorpus(t *testing.T) {
	seeds := map[string]map[string][]any{"FuzzBody": {}, "FuzzPlaintext": {}, "FuzzOpen": {}, "FuzzReader": {}}
	for name, kp := range seedBodies(t) {
		seeds["FuzzBody"][name] = []any{kp[0], kp[1:]}
		seeds["FuzzPlaintext"][name+" stored"] = []any{kp[0], stored(kp[1:])}
	}
	s, _ := newPair(t)
	var stream []byte
	for name, b := range roundTripBodies() {
		f, err := s.AppendFrame(nil, &b, testNow)
		if err != nil {
			t.Fatal(err)
		}
		seeds["FuzzOpen"][name] = []any{f}
		stream = append(stream, f...)
	}
	seeds["FuzzReader"]["all kinds back to back"] = []any{stream}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if !*writeCorpus {
			if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
				t.Errorf("%s has no seed corpus; run go test -run TestWriteSeedCorpus -write-corpus ./codec", dir)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, args := range files {
			var buf bytes.Buffer
			buf.WriteString("go test fuzz v1\n")
			for _, a := range args {
				switch v := a.(type) {
				case byte:
					fmt.Fprintf(&buf, "byte(%q)\n", v)
				case []byte:
					fmt.Fprintf(&buf, "[]byte(%q)\n", v)
				}
			}
			file := filepath.Join(dir, fileName(name))
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func fileName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	return string(b)
}

// FuzzBody decodes any bytes as a body of any kind: no panic; what decodes
// re-encodes, with the exact length bodyLen predicts, to a body that decodes
// to the same value.
func FuzzBody(f *testing.F) {
	f.Add(byte(codec.KindAck), []byte{0, 0, 0, 0, 0})                   // empty table, no IDs
	f.Add(byte(codec.KindRepairRequest), make([]byte, 4+16+1))          // empty table, zero epoch, no ranges
	f.Add(byte(codec.KindGossip), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // origin 0 of an empty table
	f.Fuzz(func(t *testing.T, kind byte, p []byte) {
		var b codec.Body
		if err := codec.DecodeBody(codec.Kind(kind), p, &b); err != nil {
			if !isCodecError(err) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		again, n, err := codec.AppendBody(nil, &b)
		if err != nil {
			t.Fatalf("decoded body does not encode: %v\n%+v", err, b)
		}
		if n != len(again) {
			t.Fatalf("bodyLen %d, encoding %d bytes", n, len(again))
		}
		var b2 codec.Body
		if err := codec.DecodeBody(codec.Kind(kind), again, &b2); err != nil {
			t.Fatalf("re-encoded body does not decode: %v", err)
		}
		if diff := cmp.Diff(b, b2, bodyOpts); diff != "" {
			t.Fatalf("round trip differs (-first +second):\n%s", diff)
		}
	})
}

// FuzzPlaintext seals any plaintext properly and opens it: this reaches the
// flags, lengths, LZ4 and body decoders behind the tag check.
func FuzzPlaintext(f *testing.F) {
	f.Add(byte(codec.KindAck), []byte{1, 5, 0x50, 0, 0, 0, 0, 0}) // LZ4: five zero bytes = empty table, no IDs
	f.Fuzz(func(t *testing.T, kind byte, plaintext []byte) {
		k := codec.Kind(kind)
		if !k.IsValid() {
			return // refused before the tag check; FuzzOpen covers it
		}
		frame := sealRaw(t, testKey(), defaultRaw(k, 1), plaintext)
		o := codec.NewOpener(crypto.NewKeyring(1, testKey()), codec.OpenerConfig{})
		var b codec.Body
		if _, err := o.Open(frame, testNow, &b); err != nil && !isCodecError(err) {
			t.Fatalf("error matches no sentinel: %v", err)
		}
	})
}

// FuzzOpen opens any bytes as a frame: no panic, and a clean error.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("CH\x01\x03\x01"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		o := codec.NewOpener(crypto.NewKeyring(1, testKey()), codec.OpenerConfig{})
		var b codec.Body
		if _, err := o.Open(frame, testNow, &b); err != nil && !isCodecError(err) {
			t.Fatalf("error matches no sentinel: %v", err)
		}
	})
}

// FuzzReader splits any stream: no panic, frames within the stream, and
// every frame's length agrees with FrameLen.
func FuzzReader(f *testing.F) {
	f.Add([]byte("CH\x01"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := codec.NewReader(bytes.NewReader(stream), 4096)
		total := 0
		for {
			frame, err := r.Next()
			if err != nil {
				break
			}
			total += len(frame)
			if n, err := codec.FrameLen(frame, 4096); err != nil || n != len(frame) {
				t.Fatalf("FrameLen of a %d-byte frame: %d, %v", len(frame), n, err)
			}
		}
		if total > len(stream) {
			t.Fatalf("%d bytes of frames from a %d-byte stream", total, len(stream))
		}
	})
}

// isCodecError reports whether err matches one of the sentinels a frame can
// be refused with.
func isCodecError(err error) bool {
	return codec.ReasonOf(err) != codec.ReasonOther
}
