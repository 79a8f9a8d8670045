package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/chatter-go/chatter/core"
)

// Sizes of the AEAD's parts.
const (
	// NonceSize is the length of an AES-GCM nonce as [Nonce] builds it.
	NonceSize = 12
	// TagSize is the length of the AES-GCM tag that ends every sealed part;
	// a sealed part is never shorter.
	TagSize = 16
)

// senderKeyInfo starts the HKDF info of a sender key.
const senderKeyInfo = "chatter v1 sender key"

// Nonce returns the AES-GCM nonce of frame counter c: four zero bytes, then
// c as a big-endian uint64. A sender never reuses a counter within an epoch,
// and each (sender, epoch) has its own key, so no key ever sees a nonce twice.
func Nonce(c core.FrameCounter) [NonceSize]byte {
	var n [NonceSize]byte
	binary.BigEndian.PutUint64(n[4:], uint64(c))
	return n
}

// DeriveSenderKey returns the key that sender seals with in epoch under the
// group key:
//
//	HKDF-SHA256(secret = group, salt = empty,
//	            info = "chatter v1 sender key" || sender || epoch, length = 32)
//
// where sender and epoch are their binary forms as in the frame header
// ([core.NetID.AppendBinary], [core.Epoch.AppendBinary]). It fails only for
// an invalid sender, with an error matching [core.ErrInvalidNetID].
func DeriveSenderKey(group Key, sender core.NetID, epoch core.Epoch) (Key, error) {
	info := make([]byte, 0, len(senderKeyInfo)+19+core.EpochLen)
	info = append(info, senderKeyInfo...)
	info, err := sender.AppendBinary(info)
	if err != nil {
		return Key{}, fmt.Errorf("crypto: derive sender key: %w", err)
	}
	info, _ = epoch.AppendBinary(info) // never fails
	out, err := hkdf.Key(sha256.New, group[:], nil, string(info), KeySize)
	if err != nil {
		return Key{}, fmt.Errorf("crypto: derive sender key: %w", err)
	}
	var k Key
	copy(k[:], out)
	clear(out)
	return k, nil
}

// newAEAD returns AES-256-GCM under k.
func newAEAD(k Key) cipher.AEAD {
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic("crypto: aes.NewCipher with a 32-byte key: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("crypto: cipher.NewGCM over AES: " + err.Error())
	}
	return aead
}

// deriveAEAD returns the AEAD of sender in epoch under the group key.
func deriveAEAD(group Key, sender core.NetID, epoch core.Epoch) (cipher.AEAD, error) {
	k, err := DeriveSenderKey(group, sender, epoch)
	if err != nil {
		return nil, err
	}
	aead := newAEAD(k)
	clear(k[:])
	return aead, nil
}
