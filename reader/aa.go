package reader

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"math/big"
)

// verify9796 checks an active authentication answer made with ISO/IEC 9796-2 digital signature
// scheme 1 (partial message recovery), as ICAO Doc 9303 part 11 §6.1.2 prescribes for RSA: the
// opened signature is 6A || M1 || H(M1 || M2) || trailer, where M2 is our challenge and the
// trailer is BC (SHA-1 implied) or an explicit hash identifier followed by CC (ISO/IEC 10118-3:
// 33 SHA-1, 34 SHA-256, 35 SHA-512, 36 SHA-384, 38 SHA-224).
func verify9796(pub *rsa.PublicKey, challenge, sig []byte) error {
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k {
		return fmt.Errorf("%w: signature of %d bytes for a %d-byte key", errAAFailed, len(sig), k)
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return fmt.Errorf("%w: signature out of range", errAAFailed)
	}
	f := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, k))
	var h hash.Hash
	trailer := 1
	switch {
	case f[k-1] == 0xBC:
		h = sha1.New()
	case f[k-1] == 0xCC && k >= 2:
		trailer = 2
		switch f[k-2] {
		case 0x33:
			h = sha1.New()
		case 0x34:
			h = sha256.New()
		case 0x35:
			h = sha512.New()
		case 0x36:
			h = crypto.SHA384.New()
		case 0x38:
			h = sha256.New224()
		default:
			return fmt.Errorf("%w: unknown hash identifier %02X", errAAFailed, f[k-2])
		}
	default:
		return fmt.Errorf("%w: no ISO/IEC 9796-2 trailer (wrong key?)", errAAFailed)
	}
	hl := h.Size()
	if f[0] != 0x6A || k < 1+hl+trailer+1 {
		return fmt.Errorf("%w: header %02X is not 6A (partial recovery)", errAAFailed, f[0])
	}
	m1 := f[1 : k-hl-trailer]
	d := f[k-hl-trailer : k-trailer]
	h.Write(m1)
	h.Write(challenge)
	if !bytes.Equal(h.Sum(nil), d) {
		return fmt.Errorf("%w: recovered hash does not match", errAAFailed)
	}
	return nil
}
