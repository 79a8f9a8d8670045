package crypto_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/crypto"
)

// captureLogger returns a logger writing JSON lines to a buffer, and a
// function returning the "LEVEL message" of every record written so far.
func captureLogger(t *testing.T) (*slog.Logger, *bytes.Buffer, func() []string) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	return log, &buf, func() []string {
		var out []string
		dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
		for dec.More() {
			var rec struct{ Level, Msg string }
			if err := dec.Decode(&rec); err != nil {
				t.Fatalf("decoding log: %v", err)
			}
			out = append(out, rec.Level+" "+rec.Msg)
		}
		return out
	}
}

func TestKeyFromSecret(t *testing.T) {
	const (
		cut       = "WARN chatter: key longer than 32 bytes, cut"
		padded    = "WARN chatter: key shorter than 32 bytes, padded with the seed's pattern"
		wellKnown = "WARN chatter: well-known key, anyone can read and forge"
	)
	exact := "abcdefghijklmnopqrstuvwxyz012345"
	tests := []struct {
		name    string
		secret  string
		want    string // the key, as a string
		wantErr error
		logs    []string
	}{
		{name: "empty", secret: "", wantErr: crypto.ErrNoKey},
		{name: "exactly 32 bytes", secret: exact, want: exact},
		{name: "one byte", secret: "x", want: "x0123456789012345678901234567890", logs: []string{padded}},
		{name: "short", secret: "hello", want: "hello012345678901234567890123456", logs: []string{padded}},
		{name: "31 bytes", secret: exact[:31], want: exact[:31] + "0", logs: []string{padded}},
		{name: "33 bytes", secret: exact + "6", want: exact, logs: []string{cut}},
		{name: "long", secret: exact + strings.Repeat("z", 100), want: exact, logs: []string{cut}},
		{name: "well-known 1", secret: "01234567890123456789012345678901", want: "01234567890123456789012345678901", logs: []string{wellKnown}},
		{name: "well-known 2", secret: "01234567890123456789012345678912", want: "01234567890123456789012345678912", logs: []string{wellKnown}},
		{name: "cut to well-known", secret: "01234567890123456789012345678912 and more",
			want: "01234567890123456789012345678912", logs: []string{cut, wellKnown}},
		{name: "padded to well-known", secret: "0123456789", want: "01234567890123456789012345678901", logs: []string{padded, wellKnown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf, records := captureLogger(t)
			got, err := crypto.KeyFromSecret([]byte(tt.secret), log)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("KeyFromSecret(%q) error = %v, want %v", tt.secret, err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, string(got[:])); diff != "" {
					t.Errorf("key (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.logs, records()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if len(tt.secret) >= 8 && strings.Contains(buf.String(), tt.secret) {
				t.Errorf("log contains the secret: %s", buf.String())
			}
			// A nil logger gives the same key and does not panic.
			got2, err2 := crypto.KeyFromSecret([]byte(tt.secret), nil)
			if got2 != got || !errors.Is(err2, tt.wantErr) {
				t.Errorf("with a nil logger: %x, %v; want %x, %v", got2, err2, got, err)
			}
		})
	}
}

func TestWellKnownSecrets(t *testing.T) {
	want := []string{"01234567890123456789012345678901", "01234567890123456789012345678912"}
	ks := crypto.WellKnownSecrets()
	var got []string
	for _, k := range ks {
		got = append(got, string(k[:]))
		if !crypto.IsWellKnown(k) {
			t.Errorf("IsWellKnown(%q) = false", k[:])
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WellKnownSecrets (-want +got):\n%s", diff)
	}
	ks[0][0] = 'X'
	if again := crypto.WellKnownSecrets(); string(again[0][:]) != want[0] {
		t.Errorf("changing the returned slice changed the next result: %q", again[0][:])
	}
	if crypto.IsWellKnown(testKey(7)) {
		t.Errorf("IsWellKnown of an ordinary key = true")
	}
}
