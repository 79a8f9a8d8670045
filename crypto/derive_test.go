package crypto_test

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

// The known answers below were computed once with an independent HKDF-SHA256
// (Python's hmac and hashlib, following RFC 5869) over
//
//	info = "chatter v1 sender key" || sender || epoch
//
// with group key 00 01 .. 1f and epoch 1700000000000000/0123456789abcdef.
func TestDeriveSenderKeyKnownAnswer(t *testing.T) {
	var group crypto.Key
	for i := range group {
		group[i] = byte(i)
	}
	epoch := core.Epoch{StartMicros: 1700000000000000, Random: 0x0123456789abcdef}
	tests := []struct {
		sender string
		want   string
	}{
		{"192.0.2.1:29999", "b6fdc527165972fe8ee7c4e3f50f30cb4ca486cfcda03759693176f55d626471"},
		{"[2001:db8::1]:29999", "be824e39b688e67366d6941ebf78fa08017b36d15eb618d821223b099991254b"},
	}
	for _, tt := range tests {
		t.Run(tt.sender, func(t *testing.T) {
			k, err := crypto.DeriveSenderKey(group, core.MustParseNetID(tt.sender), epoch)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, hex.EncodeToString(k[:])); diff != "" {
				t.Errorf("sender key (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeriveSenderKeyDiffers(t *testing.T) {
	group := testKey(1)
	sender := core.MustParseNetID("198.18.0.1:29999")
	epoch := core.Epoch{StartMicros: 1700000000000000, Random: 1}
	base, err := crypto.DeriveSenderKey(group, sender, epoch)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		group  crypto.Key
		sender core.NetID
		epoch  core.Epoch
	}{
		{"another group key", testKey(2), sender, epoch},
		{"another address", group, core.MustParseNetID("198.18.0.2:29999"), epoch},
		{"another port", group, core.MustParseNetID("198.18.0.1:29998"), epoch},
		{"an IPv6 address", group, core.MustParseNetID("[2001:db8::c612:1]:29999"), epoch},
		{"another epoch start", group, sender, core.Epoch{StartMicros: 1700000000000001, Random: 1}},
		{"another epoch random", group, sender, core.Epoch{StartMicros: 1700000000000000, Random: 2}},
	}
	seen := map[crypto.Key]string{base: "base"}
	for _, tt := range tests {
		k, err := crypto.DeriveSenderKey(tt.group, tt.sender, tt.epoch)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if prev, ok := seen[k]; ok {
			t.Errorf("%s: same key as %s", tt.name, prev)
		}
		seen[k] = tt.name
		again, _ := crypto.DeriveSenderKey(tt.group, tt.sender, tt.epoch)
		if again != k {
			t.Errorf("%s: not deterministic", tt.name)
		}
	}
}

func TestDeriveSenderKeyInvalidSender(t *testing.T) {
	_, err := crypto.DeriveSenderKey(testKey(1), core.NetID{}, core.Epoch{StartMicros: 1, Random: 1})
	if !errors.Is(err, core.ErrInvalidNetID) {
		t.Errorf("error = %v, want %v", err, core.ErrInvalidNetID)
	}
}

func TestNonce(t *testing.T) {
	tests := []struct {
		c    core.FrameCounter
		want string
	}{
		{0, "000000000000000000000000"},
		{1, "000000000000000000000001"},
		{0x0102030405060708, "000000000102030405060708"},
		{^core.FrameCounter(0), "00000000ffffffffffffffff"},
	}
	for _, tt := range tests {
		n := crypto.Nonce(tt.c)
		if diff := cmp.Diff(tt.want, hex.EncodeToString(n[:])); diff != "" {
			t.Errorf("Nonce(%d) (-want +got):\n%s", tt.c, diff)
		}
	}
}
