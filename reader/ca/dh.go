package ca

import (
	"crypto/sha1"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"enrolldesk/reader/pace"
	"enrolldesk/reader/sm"
)

// oidDHPublicNumber is dhpublicnumber (ANSI X9.42, RFC 3279 §2.3.3): a DH SubjectPublicKeyInfo
// whose parameters are DomainParameters and whose key is the INTEGER y.
var oidDHPublicNumber = asn1.ObjectIdentifier{1, 2, 840, 10046, 2, 1}

// dhDomain is DomainParameters ::= SEQUENCE { p, g, q INTEGER, j INTEGER OPTIONAL,
// validationParms OPTIONAL } (RFC 3279 §2.3.3).
type dhDomain struct {
	P, G, Q *big.Int
	Rest    asn1.RawValue `asn1:"optional"`
	Rest2   asn1.RawValue `asn1:"optional"`
}

// ParseDHKey decodes a DH SubjectPublicKeyInfo (dhpublicnumber) of DG14 and checks it: p of 1024
// to 4096 bits, q | p−1, 1 < g, y < p−1, g and y of order q (no small-subgroup keys).
func ParseDHKey(der []byte) (*pace.DHGroup, *big.Int, error) {
	var k spki
	if rest, err := asn1.Unmarshal(der, &k); err != nil || len(rest) != 0 {
		return nil, nil, fmt.Errorf("chip authentication DH key: %v", err)
	}
	if !k.Algorithm.Algorithm.Equal(oidDHPublicNumber) {
		return nil, nil, fmt.Errorf("chip authentication DH key: algorithm %v is not dhpublicnumber", k.Algorithm.Algorithm)
	}
	var d dhDomain
	if rest, err := asn1.Unmarshal(k.Algorithm.Parameters.FullBytes, &d); err != nil || len(rest) != 0 {
		return nil, nil, fmt.Errorf("chip authentication DH key: domain parameters: %v", err)
	}
	var y *big.Int
	if rest, err := asn1.Unmarshal(k.PublicKey.RightAlign(), &y); err != nil || len(rest) != 0 {
		return nil, nil, fmt.Errorf("chip authentication DH key: public value: %v", err)
	}
	one := big.NewInt(1)
	pm1 := new(big.Int).Sub(d.P, one)
	switch {
	case d.P.BitLen() < 1024 || d.P.BitLen() > 4096:
		return nil, nil, fmt.Errorf("chip authentication DH key: modulus of %d bits", d.P.BitLen())
	case d.Q.Sign() <= 0 || d.Q.BitLen() > d.P.BitLen() || new(big.Int).Mod(pm1, d.Q).Sign() != 0:
		return nil, nil, errors.New("chip authentication DH key: q does not divide p−1")
	}
	for _, v := range []*big.Int{d.G, y} {
		if v.Cmp(one) <= 0 || v.Cmp(pm1) >= 0 || new(big.Int).Exp(v, d.Q, d.P).Cmp(one) != 0 {
			return nil, nil, errors.New("chip authentication DH key: generator or public value outside the order-q subgroup")
		}
	}
	return &pace.DHGroup{Name: "DG14 DH domain", P: d.P, G: d.G, Q: d.Q}, y, nil
}

// MarshalDHKey encodes a DH public value with its domain as a dhpublicnumber SubjectPublicKeyInfo.
func MarshalDHKey(g *pace.DHGroup, y *big.Int) ([]byte, error) {
	params, err := asn1.Marshal(struct{ P, G, Q *big.Int }{g.P, g.G, g.Q})
	if err != nil {
		return nil, err
	}
	yDER, err := asn1.Marshal(y)
	if err != nil {
		return nil, err
	}
	var k spki
	k.Algorithm.Algorithm = oidDHPublicNumber
	k.Algorithm.Parameters = asn1.RawValue{FullBytes: params}
	k.PublicKey = asn1.BitString{Bytes: yDER, BitLength: 8 * len(yDER)}
	return asn1.Marshal(k)
}

// dhEncode writes y as an unsigned big-endian integer of the modulus' length.
func dhEncode(g *pace.DHGroup, y *big.Int) []byte {
	return y.FillBytes(make([]byte, (g.P.BitLen()+7)/8))
}

// dhTerminal draws the terminal's ephemeral DH key on the chip's domain and returns the public
// value to send, Comp(PK~PCD) = SHA-1 of it (BSI TR-03110 part 3 §A.2.2.3) and the shared secret
// with the chip's static key, at the modulus' length.
func dhTerminal(g *pace.DHGroup, chipY *big.Int, rnd io.Reader) (pk, comp, shared []byte, err error) {
	buf := make([]byte, (g.Q.BitLen()+7)/8)
	var x *big.Int
	for i := 0; x == nil || x.Sign() == 0 || x.Cmp(g.Q) >= 0; i++ {
		if i == 100 {
			return nil, nil, nil, errors.New("chip authentication: could not draw a DH key")
		}
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return nil, nil, nil, err
		}
		x = new(big.Int).SetBytes(buf)
	}
	pk = dhEncode(g, new(big.Int).Exp(g.G, x, g.P))
	h := sha1.Sum(pk)
	return pk, h[:], dhEncode(g, new(big.Int).Exp(chipY, x, g.P)), nil
}

// ChipRespondDH is the card's side with a DH static key: from the terminal's ephemeral public
// value (checked to lie in the order-q subgroup), the new session and Comp(PK~PCD).
func ChipRespondDH(g *pace.DHGroup, static *big.Int, alg sm.Alg, terminalPK []byte) (*sm.Session, []byte, error) {
	y := new(big.Int).SetBytes(terminalPK)
	one := big.NewInt(1)
	if len(terminalPK) > (g.P.BitLen()+7)/8 || y.Cmp(one) <= 0 || y.Cmp(new(big.Int).Sub(g.P, one)) >= 0 || new(big.Int).Exp(y, g.Q, g.P).Cmp(one) != 0 {
		return nil, nil, pace.ErrPoint
	}
	s, err := newSession(alg, dhEncode(g, new(big.Int).Exp(y, static, g.P)))
	h := sha1.Sum(terminalPK)
	return s, h[:], err
}
