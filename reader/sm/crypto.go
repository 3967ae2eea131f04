// Package sm implements ICAO Doc 9303 part 11 §9.8 secure messaging (3DES with the ISO/IEC 9797-1
// retail MAC, AES with CMAC), the key derivation function of §9.7.1, and both sides of the channel:
// the reader wraps commands and unwraps responses; the virtual card (reader/vcard) does the reverse.
package sm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Alg names a secure messaging cipher suite.
type Alg int

// Cipher suites of ICAO Doc 9303 part 11 §9.8.6 (and the key lengths of §9.7.1).
const (
	TDES Alg = iota + 1
	AES128
	AES192
	AES256
)

func (a Alg) String() string {
	switch a {
	case TDES:
		return "3DES"
	case AES128:
		return "AES-128"
	case AES192:
		return "AES-192"
	case AES256:
		return "AES-256"
	}
	return fmt.Sprintf("Alg(%d)", int(a))
}

// KeyLen is the key length in bytes.
func (a Alg) KeyLen() int {
	switch a {
	case TDES, AES128:
		return 16
	case AES192:
		return 24
	case AES256:
		return 32
	}
	return 0
}

// Counter values of the key derivation function (ICAO Doc 9303 part 11 §9.7.1).
const (
	KDFEnc uint32 = 1
	KDFMac uint32 = 2
	KDFPI  uint32 = 3 // PACE: key from the password
)

// KDF derives a key for alg from a shared secret (ICAO Doc 9303 part 11 §9.7.1): SHA-1 for 3DES and
// AES-128, SHA-256 for AES-192/256, over secret || counter (32-bit big endian). 3DES keys get odd
// DES parity.
func KDF(alg Alg, secret []byte, counter uint32) []byte {
	in := make([]byte, 0, len(secret)+4)
	in = append(in, secret...)
	in = append(in, byte(counter>>24), byte(counter>>16), byte(counter>>8), byte(counter))
	var h []byte
	switch alg {
	case AES192, AES256:
		s := sha256.Sum256(in)
		h = s[:]
	default:
		s := sha1.Sum(in)
		h = s[:]
	}
	k := append([]byte(nil), h[:alg.KeyLen()]...)
	if alg == TDES {
		AdjustParity(k)
	}
	return k
}

// AdjustParity sets odd parity on every DES key byte (FIPS 46-3).
func AdjustParity(k []byte) {
	for i, b := range k {
		b &^= 1
		ones := 0
		for x := b; x != 0; x >>= 1 {
			ones += int(x & 1)
		}
		if ones%2 == 0 {
			b |= 1
		}
		k[i] = b
	}
}

// Pad applies ISO/IEC 9797-1 padding method 2: 0x80 then zeros to a block multiple.
func Pad(b []byte, block int) []byte {
	out := make([]byte, len(b), len(b)+block)
	copy(out, b)
	out = append(out, 0x80)
	for len(out)%block != 0 {
		out = append(out, 0)
	}
	return out
}

// ErrPadding means padding method 2 was not found where expected.
var ErrPadding = errors.New("sm: bad padding")

// Unpad removes ISO/IEC 9797-1 padding method 2.
func Unpad(b []byte) ([]byte, error) {
	for i := len(b) - 1; i >= 0; i-- {
		switch b[i] {
		case 0:
			continue
		case 0x80:
			return b[:i], nil
		}
		return nil, ErrPadding
	}
	return nil, ErrPadding
}

// tdesKey expands a 16-byte two-key 3DES key to the 24 bytes crypto/des wants (K1 K2 K1).
func tdesKey(k []byte) ([]byte, error) {
	switch len(k) {
	case 16:
		out := make([]byte, 24)
		copy(out, k)
		copy(out[16:], k[:8])
		return out, nil
	case 24:
		return k, nil
	}
	return nil, fmt.Errorf("sm: 3DES key of %d bytes", len(k))
}

// NewTDESBlock returns a two-key 3DES block cipher.
func NewTDESBlock(k []byte) (cipher.Block, error) {
	k24, err := tdesKey(k)
	if err != nil {
		return nil, err
	}
	return des.NewTripleDESCipher(k24)
}

// RetailMAC computes the ISO/IEC 9797-1 MAC algorithm 3 with DES (a.k.a. retail MAC) over data that
// is already padded to 8 bytes: single-DES CBC with K1, then DES-decrypt with K2 and encrypt with K1
// on the last block (ICAO Doc 9303 part 11 §9.8.6.1).
func RetailMAC(key, padded []byte) ([]byte, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("sm: retail MAC key of %d bytes", len(key))
	}
	if len(padded)%8 != 0 || len(padded) == 0 {
		return nil, errors.New("sm: retail MAC input not padded")
	}
	k1, err := des.NewCipher(key[:8])
	if err != nil {
		return nil, err
	}
	k2, err := des.NewCipher(key[8:16])
	if err != nil {
		return nil, err
	}
	h := make([]byte, 8)
	for i := 0; i < len(padded); i += 8 {
		subtle.XORBytes(h, h, padded[i:i+8])
		k1.Encrypt(h, h)
	}
	k2.Decrypt(h, h)
	k1.Encrypt(h, h)
	return h, nil
}

// CMAC computes AES-CMAC (NIST SP 800-38B, RFC 4493) over msg.
func CMAC(key, msg []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	const bs = 16
	l := make([]byte, bs)
	b.Encrypt(l, l)
	k1 := dbl(l)
	k2 := dbl(k1)
	n := (len(msg) + bs - 1) / bs
	complete := n > 0 && len(msg)%bs == 0
	if n == 0 {
		n = 1
	}
	last := make([]byte, bs)
	if complete {
		subtle.XORBytes(last, msg[(n-1)*bs:], k1)
	} else {
		rem := msg[(n-1)*bs:]
		copy(last, rem)
		last[len(rem)] = 0x80
		subtle.XORBytes(last, last, k2)
	}
	x := make([]byte, bs)
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x, x, msg[i*bs:(i+1)*bs])
		b.Encrypt(x, x)
	}
	subtle.XORBytes(x, x, last)
	b.Encrypt(x, x)
	return x, nil
}

// dbl is multiplication by x in GF(2^128) (RFC 4493 §2.3).
func dbl(in []byte) []byte {
	out := make([]byte, len(in))
	var carry byte
	for i := len(in) - 1; i >= 0; i-- {
		out[i] = in[i]<<1 | carry
		carry = in[i] >> 7
	}
	if carry != 0 {
		out[len(out)-1] ^= 0x87
	}
	return out
}

// CBCEncrypt encrypts block-aligned data with a zero or given IV.
func CBCEncrypt(b cipher.Block, iv, data []byte) []byte {
	out := make([]byte, len(data))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, data)
	return out
}

// CBCDecrypt decrypts block-aligned data.
func CBCDecrypt(b cipher.Block, iv, data []byte) ([]byte, error) {
	if len(data) == 0 || len(data)%b.BlockSize() != 0 {
		return nil, fmt.Errorf("sm: ciphertext of %d bytes is not whole blocks", len(data))
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, data)
	return out, nil
}
