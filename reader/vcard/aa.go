package vcard

import (
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"math/big"
)

// aaSign9796 signs an active authentication challenge with ISO/IEC 9796-2 digital signature
// scheme 1 (ICAO Doc 9303 part 11 §6.1.2): F = 6A || M1 || SHA-1(M1 || challenge) || BC, s = F^d mod n.
func aaSign9796(key *rsa.PrivateKey, m1, challenge []byte) ([]byte, error) {
	k := (key.N.BitLen() + 7) / 8
	if len(m1) != k-sha1.Size-2 {
		return nil, errors.New("vcard: M1 must fill the block")
	}
	h := sha1.New()
	h.Write(m1)
	h.Write(challenge)
	f := make([]byte, 0, k)
	f = append(f, 0x6A)
	f = append(f, m1...)
	f = h.Sum(f)
	f = append(f, 0xBC)
	return new(big.Int).Exp(new(big.Int).SetBytes(f), key.D, key.N).FillBytes(make([]byte, k)), nil
}
