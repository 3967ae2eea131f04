package pace

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"enrolldesk/reader/bac"
	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/tlv"
)

// Password references of MSE:Set AT (ICAO Doc 9303 part 11 §4.4.4.1, BSI TR-03110 part 3 §D.2.1.2).
const (
	PasswordMRZ byte = 1
	PasswordCAN byte = 2
)

// Info is a PACEInfo from EF.CardAccess (ICAO Doc 9303 part 11 §9.2.1).
type Info struct {
	Protocol asn1.ObjectIdentifier
	Version  int
	ParamID  int
}

var oidPACEPrefix = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4}

type rawPACEInfo struct {
	Protocol asn1.ObjectIdentifier
	Version  int
	ParamID  int `asn1:"optional,default:-1"`
}

// ParseCardAccess returns the PACEInfos of EF.CardAccess that use the ECDH generic mapping on a
// curve this package implements, in the card's order.
func ParseCardAccess(b []byte) ([]Info, error) {
	infos, err := lds.ParseSecurityInfos(b)
	if err != nil {
		return nil, fmt.Errorf("EF.CardAccess: %w", err)
	}
	var out []Info
	for _, si := range infos {
		if len(si.Protocol) != 11 || !si.Protocol[:9].Equal(oidPACEPrefix) {
			continue
		}
		var ri rawPACEInfo
		seq, err := asn1.Marshal(struct {
			P asn1.ObjectIdentifier
			R asn1.RawValue
			O asn1.RawValue `asn1:"optional"`
		}{si.Protocol, si.Required, si.Optional})
		if err != nil {
			return nil, fmt.Errorf("EF.CardAccess: %w", err)
		}
		if _, err := asn1.Unmarshal(seq, &ri); err != nil {
			return nil, fmt.Errorf("EF.CardAccess: PACEInfo: %w", err)
		}
		i := Info{Protocol: si.Protocol, Version: ri.Version, ParamID: ri.ParamID}
		if _, err := i.Alg(); err != nil {
			continue
		}
		if _, err := CurveByParamID(i.ParamID); err != nil || si.Protocol[9] != 2 {
			continue // not ECDH generic mapping on a supported curve
		}
		out = append(out, i)
	}
	if len(out) == 0 {
		return nil, errors.New("EF.CardAccess: no supported PACE (ECDH generic mapping on P-256 or brainpoolP256r1)")
	}
	return out, nil
}

// CardAccessBytes builds EF.CardAccess with one PACEInfo.
func CardAccessBytes(i Info) ([]byte, error) {
	inner, err := asn1.Marshal(rawPACEInfo(i))
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: inner})
}

// Alg is the secure messaging cipher of the protocol (last arc: 1 3DES, 2 AES-128, 3 AES-192,
// 4 AES-256; ICAO Doc 9303 part 11 §9.2.1).
func (i Info) Alg() (sm.Alg, error) {
	if len(i.Protocol) != 11 {
		return 0, errors.New("pace: malformed protocol")
	}
	switch i.Protocol[10] {
	case 1:
		return sm.TDES, nil
	case 2:
		return sm.AES128, nil
	case 3:
		return sm.AES192, nil
	case 4:
		return sm.AES256, nil
	}
	return 0, fmt.Errorf("pace: unknown cipher in %v", i.Protocol)
}

// MRZPassword is the PACE password of the MRZ: SHA-1 of the MRZ information (part 11 §9.7.3).
func MRZPassword(k bac.Key) ([]byte, error) {
	info, err := k.MRZInformation()
	if err != nil {
		return nil, err
	}
	h := sha1.Sum([]byte(info))
	return h[:], nil
}

// CANPassword is the card access number as its ASCII digits.
func CANPassword(can string) ([]byte, error) {
	if len(can) != 6 {
		return nil, fmt.Errorf("pace: CAN of %d digits, want 6", len(can))
	}
	for i := 0; i < len(can); i++ {
		if can[i] < '0' || can[i] > '9' {
			return nil, errors.New("pace: CAN must be digits")
		}
	}
	return []byte(can), nil
}

// block returns the nonce cipher keyed with Kπ.
func block(alg sm.Alg, k []byte) (cipher.Block, error) {
	if alg == sm.TDES {
		return sm.NewTDESBlock(k)
	}
	return aes.NewCipher(k)
}

// randomScalar draws a private key in [1, N).
func randomScalar(c *Curve, rnd io.Reader) (*big.Int, error) {
	buf := make([]byte, c.Size)
	for i := 0; i < 100; i++ {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return nil, err
		}
		k := new(big.Int).SetBytes(buf)
		if k.Sign() > 0 && k.Cmp(c.N) < 0 {
			return k, nil
		}
	}
	return nil, errors.New("pace: could not draw a scalar")
}

// mapGenerator is the generic mapping: Ĝ = s·G + H, H = sk·PK (part 11 §4.4.3.3.1).
func mapGenerator(c *Curve, s []byte, sk *big.Int, peer Point) (Point, error) {
	h := c.ScalarMult(sk, peer)
	if h.Inf {
		return Point{}, ErrPoint
	}
	g := c.Add(c.ScalarMult(new(big.Int).SetBytes(s), c.G()), h)
	if g.Inf {
		return Point{}, ErrPoint
	}
	return g, nil
}

// token is the authentication token: MAC(KSmac, 7F49 { 06 OID, 86 PK }) (part 11 §4.4.3.4,
// BSI TR-03110 part 3 §D.3.4: the public key data object for ECDH carries the point in tag 86).
func token(alg sm.Alg, kmac []byte, oid asn1.ObjectIdentifier, pk []byte) ([]byte, error) {
	oidDER, err := asn1.Marshal(oid)
	if err != nil {
		return nil, err
	}
	data := tlv.Encode(0x7F49, tlv.Concat(oidDER, tlv.Encode(0x86, pk)))
	if alg == sm.TDES {
		return sm.RetailMAC(kmac, sm.Pad(data, 8))
	}
	m, err := sm.CMAC(kmac, data)
	if err != nil {
		return nil, err
	}
	return m[:8], nil
}

func sessionKeys(alg sm.Alg, k []byte) (*sm.Session, []byte, error) {
	kenc, kmac := sm.KDF(alg, k, sm.KDFEnc), sm.KDF(alg, k, sm.KDFMac)
	ssc := make([]byte, 16)
	if alg == sm.TDES {
		ssc = make([]byte, 8)
	}
	s, err := sm.NewSession(alg, kenc, kmac, ssc)
	return s, kmac, err
}

// ErrAuth means PACE failed: a wrong password, or a chip that is not genuine.
var ErrAuth = errors.New("pace: authentication failed (wrong MRZ data or CAN?)")

func ga(ctx context.Context, t iso7816.Transmitter, last bool, tag uint32, data []byte, want uint32) ([]byte, error) {
	cla := byte(0x10) // command chaining for all but the last GENERAL AUTHENTICATE
	if last {
		cla = 0
	}
	var body []byte
	if data != nil {
		body = tlv.Encode(tag, data)
	}
	rsp, err := iso7816.Do(ctx, t, iso7816.Command{CLA: cla, INS: 0x86, Data: tlv.Encode(0x7C, body), Ne: iso7816.MaxShortNe})
	if err != nil {
		if iso7816.IsStatus(err, iso7816.SWSecurityNotSatisfied) || iso7816.IsStatus(err, 0x6300) {
			return nil, fmt.Errorf("%w: %v", ErrAuth, err)
		}
		return nil, fmt.Errorf("pace: general authenticate: %w", err)
	}
	v, err := tlv.Unwrap(rsp, 0x7C)
	if err != nil {
		return nil, fmt.Errorf("pace: dynamic authentication data: %w", err)
	}
	out, err := tlv.Unwrap(v, want)
	if err != nil {
		return nil, fmt.Errorf("pace: dynamic authentication data: %w", err)
	}
	return out, nil
}

// Authenticate runs PACE with the ECDH generic mapping over t (plain APDUs) and returns the secure
// messaging session and Comp(PK~PICC), the x-coordinate of the chip's ephemeral key (ID_PICC of
// terminal authentication, BSI TR-03110 part 3 §B.11.1). rnd supplies the two ephemeral private
// keys (mapping, then key agreement).
func Authenticate(ctx context.Context, t iso7816.Transmitter, info Info, pwRef byte, password []byte, rnd io.Reader) (*sm.Session, []byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	c, err := CurveByParamID(info.ParamID)
	if err != nil {
		return nil, nil, err
	}
	alg, err := info.Alg()
	if err != nil {
		return nil, nil, err
	}
	oidDER, err := asn1.Marshal(info.Protocol)
	if err != nil {
		return nil, nil, err
	}
	// MSE:Set AT (part 11 §4.4.4.1): 80 protocol OID, 83 password reference, 84 domain parameters.
	mse := tlv.Concat(tlv.Encode(0x80, oidDER[2:]), tlv.Encode(0x83, []byte{pwRef}), tlv.Encode(0x84, []byte{byte(info.ParamID)}))
	if _, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x22, P1: 0xC1, P2: 0xA4, Data: mse}); err != nil {
		return nil, nil, fmt.Errorf("pace: MSE:Set AT: %w", err)
	}
	// 1. Encrypted nonce, decrypted with Kπ = KDF(password, 3), CBC with a zero IV.
	z, err := ga(ctx, t, false, 0, nil, 0x80)
	if err != nil {
		return nil, nil, err
	}
	kpi := sm.KDF(alg, password, sm.KDFPI)
	b, err := block(alg, kpi)
	if err != nil {
		return nil, nil, err
	}
	s, err := sm.CBCDecrypt(b, make([]byte, b.BlockSize()), z)
	if err != nil {
		return nil, nil, fmt.Errorf("pace: nonce: %w", err)
	}
	// 2. Mapping.
	skMap, err := randomScalar(c, rnd)
	if err != nil {
		return nil, nil, err
	}
	pkMap := c.ScalarMult(skMap, c.G())
	rMap, err := ga(ctx, t, false, 0x81, c.Marshal(pkMap), 0x82)
	if err != nil {
		return nil, nil, err
	}
	chipMap, err := c.Unmarshal(rMap)
	if err != nil {
		return nil, nil, err
	}
	gHat, err := mapGenerator(c, s, skMap, chipMap)
	if err != nil {
		return nil, nil, err
	}
	// 3. Key agreement on Ĝ.
	sk, err := randomScalar(c, rnd)
	if err != nil {
		return nil, nil, err
	}
	pk := c.Marshal(c.ScalarMult(sk, gHat))
	rPK, err := ga(ctx, t, false, 0x83, pk, 0x84)
	if err != nil {
		return nil, nil, err
	}
	chipPK, err := c.Unmarshal(rPK)
	if err != nil {
		return nil, nil, err
	}
	if bytes.Equal(rPK, pk) {
		return nil, nil, fmt.Errorf("%w: chip echoed the terminal's key", ErrAuth)
	}
	shared := c.ScalarMult(sk, chipPK)
	if shared.Inf {
		return nil, nil, ErrPoint
	}
	kx := make([]byte, c.Size)
	shared.X.FillBytes(kx)
	sess, kmac, err := sessionKeys(alg, kx)
	if err != nil {
		return nil, nil, err
	}
	// 4. Mutual authentication with tokens over the other side's key.
	tPCD, err := token(alg, kmac, info.Protocol, rPK)
	if err != nil {
		return nil, nil, err
	}
	tPICC, err := ga(ctx, t, true, 0x85, tPCD, 0x86)
	if err != nil {
		return nil, nil, err
	}
	want, err := token(alg, kmac, info.Protocol, pk)
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare(tPICC, want) != 1 {
		return nil, nil, fmt.Errorf("%w: chip token does not verify", ErrAuth)
	}
	return sess, rPK[1 : 1+c.Size], nil
}

// Chip is the card's side of PACE, used by the virtual card. Its methods follow the four
// GENERAL AUTHENTICATE steps.
type Chip struct {
	Info     Info
	Password []byte
	Rand     io.Reader

	c      *Curve
	alg    sm.Alg
	s      []byte
	skMap  *big.Int
	gHat   Point
	pk     []byte
	termPK []byte
	sess   *sm.Session
	kmac   []byte
}

// Nonce draws s and returns z = E(Kπ, s).
func (ch *Chip) Nonce() ([]byte, error) {
	var err error
	if ch.Rand == nil {
		ch.Rand = rand.Reader
	}
	if ch.c, err = CurveByParamID(ch.Info.ParamID); err != nil {
		return nil, err
	}
	if ch.alg, err = ch.Info.Alg(); err != nil {
		return nil, err
	}
	b, err := block(ch.alg, sm.KDF(ch.alg, ch.Password, sm.KDFPI))
	if err != nil {
		return nil, err
	}
	ch.s = make([]byte, b.BlockSize())
	if ch.alg == sm.TDES {
		ch.s = make([]byte, 16)
	}
	if _, err := io.ReadFull(ch.Rand, ch.s); err != nil {
		return nil, err
	}
	return sm.CBCEncrypt(b, make([]byte, b.BlockSize()), ch.s), nil
}

// Map answers the terminal's mapping key with the chip's and computes Ĝ.
func (ch *Chip) Map(termMap []byte) ([]byte, error) {
	if ch.s == nil {
		return nil, errors.New("pace: mapping before nonce")
	}
	p, err := ch.c.Unmarshal(termMap)
	if err != nil {
		return nil, err
	}
	if ch.skMap, err = randomScalar(ch.c, ch.Rand); err != nil {
		return nil, err
	}
	if ch.gHat, err = mapGenerator(ch.c, ch.s, ch.skMap, p); err != nil {
		return nil, err
	}
	return ch.c.Marshal(ch.c.ScalarMult(ch.skMap, ch.c.G())), nil
}

// Agree answers the terminal's ephemeral key and derives the session keys.
func (ch *Chip) Agree(termPK []byte) ([]byte, error) {
	if ch.skMap == nil {
		return nil, errors.New("pace: key agreement before mapping")
	}
	p, err := ch.c.Unmarshal(termPK)
	if err != nil {
		return nil, err
	}
	sk, err := randomScalar(ch.c, ch.Rand)
	if err != nil {
		return nil, err
	}
	ch.pk = ch.c.Marshal(ch.c.ScalarMult(sk, ch.gHat))
	if bytes.Equal(ch.pk, termPK) {
		return nil, ErrPoint
	}
	shared := ch.c.ScalarMult(sk, p)
	if shared.Inf {
		return nil, ErrPoint
	}
	kx := make([]byte, ch.c.Size)
	shared.X.FillBytes(kx)
	ch.termPK = termPK
	if ch.sess, ch.kmac, err = sessionKeys(ch.alg, kx); err != nil {
		return nil, err
	}
	return ch.pk, nil
}

// EphemeralX is Comp(PK~PICC), the x-coordinate of the chip's ephemeral key (after Agree).
func (ch *Chip) EphemeralX() []byte {
	if ch.pk == nil {
		return nil
	}
	return append([]byte(nil), ch.pk[1:1+ch.c.Size]...)
}

// Mutual checks the terminal's token and returns the chip's token and the session.
func (ch *Chip) Mutual(tPCD []byte) ([]byte, *sm.Session, error) {
	if ch.sess == nil {
		return nil, nil, errors.New("pace: mutual authentication before key agreement")
	}
	want, err := token(ch.alg, ch.kmac, ch.Info.Protocol, ch.pk)
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare(tPCD, want) != 1 {
		return nil, nil, ErrAuth
	}
	t, err := token(ch.alg, ch.kmac, ch.Info.Protocol, ch.termPK)
	if err != nil {
		return nil, nil, err
	}
	return t, ch.sess, nil
}

// DynAuthObject is the single object inside dynamic authentication data (7C).
type DynAuthObject struct {
	Tag   uint32
	Value []byte
}

// ParseDynAuth decodes 7C { tag value } (or an empty 7C, Tag 0) from a GENERAL AUTHENTICATE.
func ParseDynAuth(b []byte) (DynAuthObject, error) {
	v, err := tlv.Unwrap(b, 0x7C)
	if err != nil {
		return DynAuthObject{}, err
	}
	if len(v) == 0 {
		return DynAuthObject{}, nil
	}
	o, rest, err := tlv.Parse(v)
	if err != nil {
		return DynAuthObject{}, err
	}
	if len(rest) != 0 {
		return DynAuthObject{}, errors.New("pace: trailing data in dynamic authentication data")
	}
	return DynAuthObject{Tag: o.Tag, Value: o.Value}, nil
}

// DynAuth encodes 7C { tag value }.
func DynAuth(tag uint32, v []byte) []byte { return tlv.Encode(0x7C, tlv.Encode(tag, v)) }
