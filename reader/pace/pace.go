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
		if _, _, err := i.setup(); err != nil {
			continue // a mapping, cipher or domain this package does not implement
		}
		out = append(out, i)
	}
	if len(out) == 0 {
		return nil, errors.New("EF.CardAccess: no supported PACE (generic mapping on DH groups 0–2, P-256 or brainpoolP256r1; integrated mapping with AES; chip authentication mapping)")
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

// Mapping arcs of the PACE protocol OIDs (ICAO Doc 9303 part 11 §9.2.1; id-PACE 0.4.0.127.0.7.2.2.4).
const (
	MappingDHGM   = 1 // Diffie–Hellman, generic mapping
	MappingECDHGM = 2 // elliptic curve Diffie–Hellman, generic mapping
	MappingDHIM   = 3 // Diffie–Hellman, integrated mapping
	MappingECDHIM = 4 // elliptic curve Diffie–Hellman, integrated mapping
	// MappingECDHCAM is the chip authentication mapping (PACE-CAM, ICAO Doc 9303 part 11
	// §4.4.3.3.3 and §4.4.3.5; BSI TR-03110 part 2 §3.4.2): the generic mapping on ECDH, AES only,
	// and the chip's encrypted chip authentication data in the mutual authentication answer.
	MappingECDHCAM = 6
)

// Protocol returns the PACE protocol OID for a mapping (MappingDHGM…) and a secure messaging
// cipher arc (1 3DES, 2 AES-128, 3 AES-192, 4 AES-256).
func Protocol(mapping, cipher int) asn1.ObjectIdentifier {
	return append(append(asn1.ObjectIdentifier{}, oidPACEPrefix...), mapping, cipher)
}

// Mapping is the protocol's mapping arc (MappingDHGM…).
func (i Info) Mapping() int {
	if len(i.Protocol) != 11 {
		return 0
	}
	return i.Protocol[9]
}

// setup returns the group of the protocol's domain parameters and whether the mapping is the
// integrated one. The integrated mapping is implemented with AES-128, -192 and -256 (the
// pseudo-random function R(s,t) of part 11 §4.4.3.3.2); the chip authentication mapping on ECDH
// with AES (Table 3 of part 11 §4.4.3.2 lists no 3DES or DH variant).
func (i Info) setup() (group, bool, error) {
	alg, err := i.Alg()
	if err != nil {
		return nil, false, err
	}
	m := i.Mapping()
	if (m < MappingDHGM || m > MappingECDHIM) && m != MappingECDHCAM {
		return nil, false, fmt.Errorf("pace: mapping %d of %v not supported", m, i.Protocol)
	}
	im := m == MappingDHIM || m == MappingECDHIM
	if (im || m == MappingECDHCAM) && alg == sm.TDES {
		return nil, false, fmt.Errorf("pace: %v with 3DES not supported (AES only)", i.Protocol)
	}
	g, err := groupByParamID(i.ParamID, m == MappingDHGM || m == MappingDHIM)
	if err != nil {
		return nil, false, err
	}
	return g, im, nil
}

// CAM reports whether the protocol is PACE with the chip authentication mapping.
func (i Info) CAM() bool { return i.Mapping() == MappingECDHCAM }

// nonceLen is the length in bytes of the chip's nonce s: one cipher block, except for the
// integrated mapping, where l is the smallest multiple of the block size not below the key size
// k (part 11 §4.4.3.3): 256 bits for AES-192 and AES-256.
func nonceLen(alg sm.Alg, im bool) int {
	switch {
	case alg == sm.TDES:
		return 16 // two 3DES blocks, as the appendix G examples of 3DES PACE use
	case im && alg.KeyLen() > 16:
		return 32
	}
	return 16
}

// Describe names the mapping and the domain, e.g. "ECDH generic mapping on brainpoolP256r1".
func (i Info) Describe() string {
	name := [...]string{"", "DH generic mapping", "ECDH generic mapping", "DH integrated mapping", "ECDH integrated mapping", "", "ECDH chip authentication mapping"}
	m := i.Mapping()
	if (m < MappingDHGM || m > MappingECDHIM) && m != MappingECDHCAM {
		return fmt.Sprintf("PACE %v", i.Protocol)
	}
	g, err := groupByParamID(i.ParamID, m == MappingDHGM || m == MappingDHIM)
	if err != nil {
		return fmt.Sprintf("%s on domain parameters %d", name[m], i.ParamID)
	}
	switch gg := g.(type) {
	case ecGroup:
		return name[m] + " on " + gg.c.Name
	case *DHGroup:
		return name[m] + " on the " + gg.Name
	}
	return name[m]
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

// genericMap is the generic mapping in any group: Ĝ = s·G + H (EC) or G^s·H (DH), with
// H = sk·PK or PK^sk (part 11 §4.4.3.3.1).
func genericMap(g group, s []byte, sk *big.Int, peer elem) (elem, error) {
	h := g.exp(sk, peer)
	return g.op(g.exp(new(big.Int).SetBytes(s), g.base()), h)
}

// integratedMap is the integrated mapping: Ĝ = f_G(R(s,t) mod p) (part 11 §4.4.3.3.2).
func integratedMap(alg sm.Alg, g group, s, t []byte) (elem, error) {
	r, err := prfR(alg, s, t, g.pBits())
	if err != nil {
		return elem{}, err
	}
	var p *big.Int
	switch gg := g.(type) {
	case ecGroup:
		p = gg.c.P
	case *DHGroup:
		p = gg.P
	}
	return g.encodeIM(new(big.Int).Mod(new(big.Int).SetBytes(r), p))
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
func token(alg sm.Alg, kmac []byte, oid asn1.ObjectIdentifier, keyTag uint32, pk []byte) ([]byte, error) {
	oidDER, err := asn1.Marshal(oid)
	if err != nil {
		return nil, err
	}
	data := tlv.Encode(0x7F49, tlv.Concat(oidDER, tlv.Encode(keyTag, pk)))
	if alg == sm.TDES {
		return sm.RetailMAC(kmac, sm.Pad(data, 8))
	}
	m, err := sm.CMAC(kmac, data)
	if err != nil {
		return nil, err
	}
	return m[:8], nil
}

// sessionKeys derives KSEnc and KSMac from the shared secret and opens the secure messaging
// session; it returns both keys too (the token uses KSMac, PACE-CAM's chip data KSEnc).
func sessionKeys(alg sm.Alg, k []byte) (sess *sm.Session, kenc, kmac []byte, err error) {
	kenc, kmac = sm.KDF(alg, k, sm.KDFEnc), sm.KDF(alg, k, sm.KDFMac)
	ssc := make([]byte, 16)
	if alg == sm.TDES {
		ssc = make([]byte, 8)
	}
	sess, err = sm.NewSession(alg, kenc, kmac, ssc)
	return sess, kenc, kmac, err
}

// ErrAuth means PACE failed: a wrong password, or a chip that is not genuine.
var ErrAuth = errors.New("pace: authentication failed (wrong MRZ data or CAN?)")

// gaRaw sends one GENERAL AUTHENTICATE step and returns the content of the answer's dynamic
// authentication data (7C).
func gaRaw(ctx context.Context, t iso7816.Transmitter, last bool, tag uint32, data []byte) ([]byte, error) {
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
	return v, nil
}

func ga(ctx context.Context, t iso7816.Transmitter, last bool, tag uint32, data []byte, want uint32) ([]byte, error) {
	v, err := gaRaw(ctx, t, last, tag, data)
	if err != nil {
		return nil, err
	}
	if want == 0 {
		return nil, nil // integrated mapping: no mapping data comes back (empty or absent 82)
	}
	out, err := tlv.Unwrap(v, want)
	if err != nil {
		return nil, fmt.Errorf("pace: dynamic authentication data: %w", err)
	}
	return out, nil
}

// Result is the outcome of a PACE run.
type Result struct {
	Session *sm.Session
	// IDPICC is Comp(PK~PICC), the compressed ephemeral key of the chip (ID_PICC of terminal
	// authentication, BSI TR-03110 part 3 §B.11.1).
	IDPICC []byte
	// CAM is the chip's decrypted chip authentication data with PACE-CAM, nil otherwise. It proves
	// nothing until CAM.Verify accepts the chip's static key from a passively authenticated DG14.
	CAM *CAMData
}

// Authenticate is Run without the chip authentication data (which a PACE-CAM run still checks
// for form); it returns the session and Comp(PK~PICC).
func Authenticate(ctx context.Context, t iso7816.Transmitter, info Info, pwRef byte, password []byte, rnd io.Reader) (*sm.Session, []byte, error) {
	r, err := Run(ctx, t, info, pwRef, password, rnd)
	if err != nil {
		return nil, nil, err
	}
	return r.Session, r.IDPICC, nil
}

// Run runs PACE over t (plain APDUs) with the protocol of info: generic mapping (DH or ECDH),
// integrated mapping (DH or ECDH) or chip authentication mapping (ECDH). rnd supplies, in order,
// the mapping's private key (generic, CAM) or the nonce t (integrated), then the key agreement's
// private key.
func Run(ctx context.Context, t iso7816.Transmitter, info Info, pwRef byte, password []byte, rnd io.Reader) (*Result, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	g, im, err := info.setup()
	if err != nil {
		return nil, err
	}
	alg, err := info.Alg()
	if err != nil {
		return nil, err
	}
	oidDER, err := asn1.Marshal(info.Protocol)
	if err != nil {
		return nil, err
	}
	// MSE:Set AT (part 11 §4.4.4.1): 80 protocol OID, 83 password reference, 84 domain parameters.
	mse := tlv.Concat(tlv.Encode(0x80, oidDER[2:]), tlv.Encode(0x83, []byte{pwRef}), tlv.Encode(0x84, []byte{byte(info.ParamID)}))
	if _, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x22, P1: 0xC1, P2: 0xA4, Data: mse}); err != nil {
		return nil, fmt.Errorf("pace: MSE:Set AT: %w", err)
	}
	// 1. Encrypted nonce, decrypted with Kπ = KDF(password, 3), CBC with a zero IV.
	z, err := ga(ctx, t, false, 0, nil, 0x80)
	if err != nil {
		return nil, err
	}
	kpi := sm.KDF(alg, password, sm.KDFPI)
	b, err := block(alg, kpi)
	if err != nil {
		return nil, err
	}
	s, err := sm.CBCDecrypt(b, make([]byte, b.BlockSize()), z)
	if err != nil {
		return nil, fmt.Errorf("pace: nonce: %w", err)
	}
	if im && len(s) != nonceLen(alg, true) {
		return nil, fmt.Errorf("pace: encrypted nonce of %d bytes, the integrated mapping with %v needs %d", len(s), alg, nonceLen(alg, true))
	}
	// 2. Mapping.
	var gHat, chipMap elem
	if im {
		// Integrated: the terminal's nonce t (k bits, the cipher's key size) goes to the chip in
		// clear; the chip answers with empty mapping data.
		tn := make([]byte, alg.KeyLen())
		if _, err := io.ReadFull(rnd, tn); err != nil {
			return nil, err
		}
		if _, err := ga(ctx, t, false, 0x81, tn, 0); err != nil {
			return nil, err
		}
		if gHat, err = integratedMap(alg, g, s, tn); err != nil {
			return nil, err
		}
	} else {
		skMap, err := randomExp(g, rnd)
		if err != nil {
			return nil, err
		}
		rMap, err := ga(ctx, t, false, 0x81, g.encode(g.exp(skMap, g.base())), 0x82)
		if err != nil {
			return nil, err
		}
		if chipMap, err = g.decode(rMap); err != nil {
			return nil, err
		}
		if gHat, err = genericMap(g, s, skMap, chipMap); err != nil {
			return nil, err
		}
	}
	// 3. Key agreement on Ĝ.
	sk, err := randomExp(g, rnd)
	if err != nil {
		return nil, err
	}
	pk := g.encode(g.exp(sk, gHat))
	rPK, err := ga(ctx, t, false, 0x83, pk, 0x84)
	if err != nil {
		return nil, err
	}
	chipPK, err := g.decode(rPK)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(rPK, pk) {
		return nil, fmt.Errorf("%w: chip echoed the terminal's key", ErrAuth)
	}
	kx, err := g.secret(g.exp(sk, chipPK))
	if err != nil {
		return nil, err
	}
	sess, kenc, kmac, err := sessionKeys(alg, kx)
	if err != nil {
		return nil, err
	}
	// 4. Mutual authentication with tokens over the other side's key.
	tPCD, err := token(alg, kmac, info.Protocol, g.keyTag(), rPK)
	if err != nil {
		return nil, err
	}
	v, err := gaRaw(ctx, t, true, 0x85, tPCD)
	if err != nil {
		return nil, err
	}
	tPICC, aIC, err := ParseMutualAuth(v)
	if err != nil {
		return nil, err
	}
	want, err := token(alg, kmac, info.Protocol, g.keyTag(), pk)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(tPICC, want) != 1 {
		return nil, fmt.Errorf("%w: chip token does not verify", ErrAuth)
	}
	r := &Result{Session: sess, IDPICC: g.comp(rPK)}
	if info.CAM() {
		// Part 11 §4.4.5: the encrypted chip authentication data MUST be present with CAM.
		if aIC == nil {
			return nil, errors.New("pace: PACE-CAM chip sent no encrypted chip authentication data (8A)")
		}
		eg := g.(ecGroup)
		if r.CAM, err = DecryptCAMData(eg.c, kenc, aIC); err != nil {
			return nil, err
		}
		r.CAM.MapPK = chipMap.pt
	} else if aIC != nil {
		return nil, errors.New("pace: chip authentication data (8A) without the chip authentication mapping")
	}
	return r, nil
}

// ParseMutualAuth splits the content of the mutual authentication answer's 7C (part 11 §4.4.5,
// table 4): the chip's token 86, optional certification authority references 87 and 88, and the
// encrypted chip authentication data 8A of PACE-CAM (nil when absent). Each object at most once.
func ParseMutualAuth(v []byte) (tok, camData []byte, err error) {
	objs, err := tlv.ParseAll(v)
	if err != nil {
		return nil, nil, fmt.Errorf("pace: mutual authentication data: %w", err)
	}
	seen := map[uint32]bool{}
	for _, o := range objs {
		if seen[o.Tag] {
			return nil, nil, fmt.Errorf("pace: mutual authentication data: tag %X twice", o.Tag)
		}
		seen[o.Tag] = true
		switch o.Tag {
		case 0x86:
			tok = o.Value
		case 0x8A:
			camData = append([]byte{}, o.Value...)
		case 0x87, 0x88:
		default:
			return nil, nil, fmt.Errorf("pace: mutual authentication data: unexpected tag %X", o.Tag)
		}
	}
	if tok == nil {
		return nil, nil, errors.New("pace: mutual authentication data: no chip token (86)")
	}
	return tok, camData, nil
}

// Chip is the card's side of PACE, used by the virtual card. Its methods follow the four
// GENERAL AUTHENTICATE steps.
type Chip struct {
	Info     Info
	Password []byte
	Rand     io.Reader
	// CAMKey is the chip's static chip authentication private key SK_IC (the key of DG14), on the
	// PACE domain; required with PACE-CAM.
	CAMKey *big.Int
	// CAMLie, for hostile test cards, makes the chip authentication data that of another static
	// key than CAMKey, as a clone without the DG14 private key would have to.
	CAMLie bool

	g      group
	im     bool
	alg    sm.Alg
	s      []byte
	mapped bool
	gHat   elem
	pk     []byte
	termPK []byte
	sess   *sm.Session
	kenc   []byte
	kmac   []byte
	skMap  *big.Int
}

// Nonce draws s and returns z = E(Kπ, s).
func (ch *Chip) Nonce() ([]byte, error) {
	var err error
	if ch.Rand == nil {
		ch.Rand = rand.Reader
	}
	if ch.g, ch.im, err = ch.Info.setup(); err != nil {
		return nil, err
	}
	if ch.alg, err = ch.Info.Alg(); err != nil {
		return nil, err
	}
	if ch.Info.CAM() && ch.CAMKey == nil {
		return nil, errors.New("pace: PACE-CAM chip without its static chip authentication key")
	}
	b, err := block(ch.alg, sm.KDF(ch.alg, ch.Password, sm.KDFPI))
	if err != nil {
		return nil, err
	}
	ch.s = make([]byte, nonceLen(ch.alg, ch.im))
	if _, err := io.ReadFull(ch.Rand, ch.s); err != nil {
		return nil, err
	}
	return sm.CBCEncrypt(b, make([]byte, b.BlockSize()), ch.s), nil
}

// Map takes the terminal's mapping data and computes Ĝ. With the generic mapping the data is the
// terminal's mapping key and the answer the chip's; with the integrated mapping the data is the
// terminal's nonce t and the answer is empty.
func (ch *Chip) Map(termMap []byte) ([]byte, error) {
	if ch.s == nil {
		return nil, errors.New("pace: mapping before nonce")
	}
	if ch.im {
		gHat, err := integratedMap(ch.alg, ch.g, ch.s, termMap)
		if err != nil {
			return nil, err
		}
		ch.gHat, ch.mapped = gHat, true
		return []byte{}, nil
	}
	p, err := ch.g.decode(termMap)
	if err != nil {
		return nil, err
	}
	skMap, err := randomExp(ch.g, ch.Rand)
	if err != nil {
		return nil, err
	}
	if ch.gHat, err = genericMap(ch.g, ch.s, skMap, p); err != nil {
		return nil, err
	}
	ch.mapped, ch.skMap = true, skMap
	return ch.g.encode(ch.g.exp(skMap, ch.g.base())), nil
}

// Agree answers the terminal's ephemeral key and derives the session keys.
func (ch *Chip) Agree(termPK []byte) ([]byte, error) {
	if !ch.mapped {
		return nil, errors.New("pace: key agreement before mapping")
	}
	p, err := ch.g.decode(termPK)
	if err != nil {
		return nil, err
	}
	sk, err := randomExp(ch.g, ch.Rand)
	if err != nil {
		return nil, err
	}
	ch.pk = ch.g.encode(ch.g.exp(sk, ch.gHat))
	if bytes.Equal(ch.pk, termPK) {
		return nil, ErrPoint
	}
	kx, err := ch.g.secret(ch.g.exp(sk, p))
	if err != nil {
		return nil, err
	}
	ch.termPK = termPK
	if ch.sess, ch.kenc, ch.kmac, err = sessionKeys(ch.alg, kx); err != nil {
		return nil, err
	}
	return ch.pk, nil
}

// EphemeralX is Comp(PK~PICC) of the chip's ephemeral key (after Agree): its x-coordinate for
// ECDH, SHA-1 of it for DH.
func (ch *Chip) EphemeralX() []byte {
	if ch.pk == nil {
		return nil
	}
	return ch.g.comp(ch.pk)
}

// Mutual checks the terminal's token and returns the chip's token and the session.
func (ch *Chip) Mutual(tPCD []byte) ([]byte, *sm.Session, error) {
	if ch.sess == nil {
		return nil, nil, errors.New("pace: mutual authentication before key agreement")
	}
	want, err := token(ch.alg, ch.kmac, ch.Info.Protocol, ch.g.keyTag(), ch.pk)
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare(tPCD, want) != 1 {
		return nil, nil, ErrAuth
	}
	t, err := token(ch.alg, ch.kmac, ch.Info.Protocol, ch.g.keyTag(), ch.termPK)
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
