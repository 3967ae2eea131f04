// Package ca implements chip authentication with ECDH or DH (ICAO Doc 9303 part 11 §6.2, BSI
// TR-03110 part 2 §3.4, version 1): the terminal sends an ephemeral key on the domain of the chip's static
// key from DG14; both sides derive new secure messaging keys from the shared secret, and only a chip
// holding the static private key can answer under them, which proves the chip is not a clone.
package ca

import (
	"context"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/tlv"
)

// Named curve identifiers in SubjectPublicKeyInfo (RFC 5480 §2.1.1.1; RFC 5639 §4.1).
var (
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidP256            = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidBrainpoolP256r1 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7}
)

type spki struct {
	Algorithm struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	PublicKey asn1.BitString
}

// ParseECKey decodes an EC SubjectPublicKeyInfo on a named curve this build implements (P-256,
// brainpoolP256r1) and checks the point. Go's x509 cannot parse brainpool keys.
func ParseECKey(der []byte) (*pace.Curve, pace.Point, error) {
	var k spki
	if rest, err := asn1.Unmarshal(der, &k); err != nil || len(rest) != 0 {
		return nil, pace.Point{}, fmt.Errorf("chip authentication key: %v", err)
	}
	if !k.Algorithm.Algorithm.Equal(oidECPublicKey) {
		return nil, pace.Point{}, fmt.Errorf("chip authentication key: algorithm %v is not EC", k.Algorithm.Algorithm)
	}
	var named asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(k.Algorithm.Parameters.FullBytes, &named); err != nil {
		return nil, pace.Point{}, errors.New("chip authentication key: explicit domain parameters are not supported")
	}
	var c *pace.Curve
	switch {
	case named.Equal(oidP256):
		c = pace.P256
	case named.Equal(oidBrainpoolP256r1):
		c = pace.BrainpoolP256r1
	default:
		return nil, pace.Point{}, fmt.Errorf("chip authentication key: curve %v not supported", named)
	}
	p, err := c.Unmarshal(k.PublicKey.RightAlign())
	if err != nil {
		return nil, pace.Point{}, fmt.Errorf("chip authentication key: %w", err)
	}
	return c, p, nil
}

// MarshalECKey encodes a public point on one of this build's named curves (P-256,
// brainpoolP256r1) as a SubjectPublicKeyInfo (RFC 5480 §2; the curve by name, RFC 5639 §4.1 for
// brainpool), the inverse of ParseECKey; crypto/x509 cannot write brainpool keys.
func MarshalECKey(c *pace.Curve, p pace.Point) ([]byte, error) {
	var named asn1.ObjectIdentifier
	switch c {
	case pace.P256:
		named = oidP256
	case pace.BrainpoolP256r1:
		named = oidBrainpoolP256r1
	default:
		return nil, fmt.Errorf("chip authentication key: curve %s not supported", c.Name)
	}
	params, err := asn1.Marshal(named)
	if err != nil {
		return nil, err
	}
	pt := c.Marshal(p)
	var k spki
	k.Algorithm.Algorithm = oidECPublicKey
	k.Algorithm.Parameters = asn1.RawValue{FullBytes: params}
	k.PublicKey = asn1.BitString{Bytes: pt, BitLength: 8 * len(pt)}
	return asn1.Marshal(k)
}

// Alg maps a ChipAuthenticationInfo protocol to its cipher (last arc as for PACE).
func Alg(protocol asn1.ObjectIdentifier) (sm.Alg, error) {
	if len(protocol) != 11 {
		return 0, fmt.Errorf("chip authentication: protocol %v", protocol)
	}
	switch protocol[10] {
	case 1:
		return sm.TDES, nil
	case 2:
		return sm.AES128, nil
	case 3:
		return sm.AES192, nil
	case 4:
		return sm.AES256, nil
	}
	return 0, fmt.Errorf("chip authentication: protocol %v", protocol)
}

// ErrNoKey means DG14 offers no usable chip authentication.
var ErrNoKey = errors.New("chip authentication: DG14 holds no chip authentication key")

// Authenticate runs chip authentication through t, which must be the current secure messaging
// channel; it returns the new session and Comp(PK~PCD) of the terminal's ephemeral key (its
// x-coordinate for ECDH, SHA-1 of the public value for DH; terminal authentication signs it). The caller must still send one command under
// the new session: its checksum is what proves the chip.
func Authenticate(ctx context.Context, t iso7816.Transmitter, dg14 *lds.SecurityDG14, rnd io.Reader) (*sm.Session, []byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if len(dg14.CAKeys) == 0 {
		return nil, nil, ErrNoKey
	}
	key := dg14.CAKeys[0]
	dh := key.Protocol.Equal(lds.OIDPKDH)
	protocol := lds.OIDCAECDHAES128
	if dh {
		protocol = lds.OIDCADHAES128
	}
	if len(dg14.CAInfos) > 0 {
		protocol = dg14.CAInfos[0].Protocol
	}
	alg, err := Alg(protocol)
	if err != nil {
		return nil, nil, err
	}
	if dh {
		g, chipY, err := ParseDHKey(key.SPKI)
		if err != nil {
			return nil, nil, err
		}
		pk, comp, shared, err := dhTerminal(g, chipY, rnd)
		if err != nil {
			return nil, nil, err
		}
		if err := exchange(ctx, t, protocol, key.KeyID, pk); err != nil {
			return nil, nil, err
		}
		sess, err := newSession(alg, shared)
		return sess, comp, err
	}
	c, chipPK, err := ParseECKey(key.SPKI)
	if err != nil {
		return nil, nil, err
	}
	buf := make([]byte, c.Size)
	var sk *big.Int
	for sk == nil || sk.Sign() == 0 || sk.Cmp(c.N) >= 0 {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return nil, nil, err
		}
		sk = new(big.Int).SetBytes(buf)
	}
	pk := c.Marshal(c.ScalarMult(sk, c.G()))
	if err := exchange(ctx, t, protocol, key.KeyID, pk); err != nil {
		return nil, nil, err
	}
	shared := c.ScalarMult(sk, chipPK)
	if shared.Inf {
		return nil, nil, pace.ErrPoint
	}
	sess, err := newSession(alg, shared.X.FillBytes(make([]byte, c.Size)))
	return sess, pk[1 : 1+c.Size], err
}

// exchange sends MSE:Set AT for chip authentication (part 11 §6.2.4.2: P1P2 41A4, 80 protocol,
// 84 key reference) and the terminal's ephemeral public key in GENERAL AUTHENTICATE (tag 80).
func exchange(ctx context.Context, t iso7816.Transmitter, protocol asn1.ObjectIdentifier, keyID, pk []byte) error {
	oid, err := asn1.Marshal(protocol)
	if err != nil {
		return err
	}
	mse := tlv.Encode(0x80, oid[2:])
	if len(keyID) > 0 {
		mse = append(mse, tlv.Encode(0x84, keyID)...)
	}
	if _, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x22, P1: 0x41, P2: 0xA4, Data: mse}); err != nil {
		return fmt.Errorf("chip authentication: MSE:Set AT: %w", err)
	}
	if _, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x86, Data: pace.DynAuth(0x80, pk), Ne: iso7816.MaxShortNe}); err != nil {
		return fmt.Errorf("chip authentication: general authenticate: %w", err)
	}
	return nil
}

func newSession(alg sm.Alg, k []byte) (*sm.Session, error) {
	ssc := make([]byte, 16)
	if alg == sm.TDES {
		ssc = make([]byte, 8)
	}
	return sm.NewSession(alg, sm.KDF(alg, k, sm.KDFEnc), sm.KDF(alg, k, sm.KDFMac), ssc)
}

// ChipRespond is the card's side: from the terminal's ephemeral key and the static private scalar,
// the new session.
func ChipRespond(c *pace.Curve, static *big.Int, alg sm.Alg, terminalPK []byte) (*sm.Session, error) {
	p, err := c.Unmarshal(terminalPK)
	if err != nil {
		return nil, err
	}
	shared := c.ScalarMult(static, p)
	if shared.Inf {
		return nil, pace.ErrPoint
	}
	return newSession(alg, shared.X.FillBytes(make([]byte, c.Size)))
}
