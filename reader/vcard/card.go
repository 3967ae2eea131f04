// Package vcard is a virtual Vietnamese CCCD chip: an ICAO Doc 9303 eMRTD application with BAC,
// secure messaging, EF.COM, EF.SOD, DG1, DG2, DG13, DG14 and DG15, personalised for any citizen and
// signed by a test document signer under a test CSCA. It answers APDUs in-process (Transmit) or as
// the card behind Debian's vsmartcard-vpcd (Serve), and can be told to misbehave for tests.
package vcard

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"enrolldesk/reader/bac"
	"enrolldesk/reader/ca"
	"enrolldesk/reader/eac"
	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/tlv"
)

// Citizen is what the card is personalised with.
type Citizen struct {
	// IDNumber is the 12-digit citizen ID; the MRZ document number is its last 9 digits.
	IDNumber     string
	Surname      string // MRZ form: upper-case ASCII, e.g. "NGUYEN"
	GivenNames   string // e.g. "VAN AN"
	DateOfBirth  string // YYMMDD
	DateOfExpiry string // YYMMDD
	Sex          string // M, F or empty
	VN           lds.VNData
	// FaceJPEG is the portrait; Width and Height its pixel size.
	FaceJPEG              []byte
	FaceWidth, FaceHeight int
	// FaceJP2, when set, is served in DG2 instead of FaceJPEG, as a JPEG 2000 image (ISO/IEC
	// 19794-5 image data type 1; a JP2 file or a codestream), sized by its own header.
	FaceJP2 []byte
	// CAN is the 6-digit card access number printed on the card (PACE-CAN).
	CAN string
	// Fingers are the DG3 finger images (EAC-protected: read after terminal authentication).
	Fingers []lds.Finger
}

// AccessKey is the BAC key of the card.
func (c *Citizen) AccessKey() bac.Key {
	return bac.Key{DocumentNumber: c.IDNumber[len(c.IDNumber)-9:], DateOfBirth: c.DateOfBirth, DateOfExpiry: c.DateOfExpiry}
}

// Forgery names one element of the chip's security data to alter, for passive authentication
// failure tests.
type Forgery int

// Forgeries.
const (
	ForgeNone          Forgery = iota
	ForgeDG1                   // DG1 changed after the SOD was signed
	ForgeDG2                   // DG2 changed after signing
	ForgeDG13                  // DG13 changed after signing
	ForgeSODSignature          // one bit of the SOD signature flipped
	ForgeMessageDigest         // message-digest attribute not the hash of the security object
	ForgeUnknownCSCA           // DS issued by a CSCA that is not in the trust store
	ForgeDGHashMissing         // SOD without the hash of DG13
)

// Options personalise the card's behaviour.
type Options struct {
	// ShortOnly hides extended length support (ATR without the capability bit) and refuses
	// extended APDUs with 6700.
	ShortOnly bool
	// ExtendedInEFATR announces extended length only through EF.ATR/INFO (the ATR's b6 "extended
	// length information in EF.ATR/INFO" instead of b7), with a response buffer of this many bytes.
	ExtendedInEFATR int
	// MaxResponse caps the plaintext bytes per READ BINARY (default 0xFF00 extended, 256 short).
	MaxResponse int
	// BadMACAfter makes the N-th protected response (1-based) carry a wrong checksum.
	BadMACAfter int
	// Truncate names a data group whose file is cut to half its length (the header still
	// announces the full length).
	Truncate int
	// AbsurdLength names a data group whose outer length announces 16 MB.
	AbsurdLength int
	// RawFiles replaces data groups with arbitrary bytes after the SOD is signed (hostile card,
	// fuzzing): the reader must fail cleanly or record a hash failure, never panic.
	RawFiles map[int][]byte
	Forge    Forgery
	// PullAfter makes Serve drop the connection (card pulled out) after N APDUs; 0 never.
	PullAfter int
	// AARSA gives the chip a 1024-bit RSA active authentication key (ISO/IEC 9796-2) instead of ECDSA.
	AARSA bool
	// CloneChip answers chip authentication with a static key other than the one in DG14, as a
	// clone that copied the data but not the private key would.
	CloneChip bool
	// CVCA is the card's EAC trust point; with it and Citizen.Fingers the card holds DG3, readable
	// after terminal authentication by an inspection system certified under this CVCA.
	CVCA *eac.Cert
	// PACEParamID enables PACE on standardized domain parameters (BSI TR-03110 part 3 §A.2.1.1):
	// 12 (P-256) or 13 (brainpoolP256r1) for ECDH, 0–2 (RFC 5114 MODP groups) for DH, with
	// PACEProtocol; 0 with the default protocol means BAC only.
	PACEParamID int
	// PACEProtocol is the PACE protocol OID announced in EF.CardAccess (pace.Protocol(mapping,
	// cipher)); nil means ECDH generic mapping with AES-128. Set it to use DH or the integrated
	// mapping (PACEParamID 0 is then DH group 0).
	PACEProtocol asn1.ObjectIdentifier
	// CAMLie makes a PACE-CAM chip send chip authentication data of another key than its DG14
	// key (hostile: a clone that copied DG14 but not the private key).
	CAMLie bool
	// CAMKeyElsewhere keeps the PACE-CAM key out of DG14, which then holds only the P-256 chip
	// authentication key (as a chip that publishes its CAM key in EF.CardSecurity only).
	CAMKeyElsewhere bool
	// CADH gives the chip a DH chip authentication key (DG14 dhpublicnumber on the RFC 5114
	// 2048-bit group with 224-bit subgroup, id-CA-DH-AES-CBC-CMAC-128) instead of ECDH on P-256.
	CADH bool
}

// Card is one virtual chip. It is safe for use by one reader at a time.
type Card struct {
	mu      sync.Mutex
	opts    Options
	files   map[uint16][]byte // by FID
	sfi     map[byte]uint16
	key     bac.Key
	kenc    []byte
	kmac    []byte
	atr     []byte
	can     string
	atrInfo []byte // EF.ATR/INFO content, when present
	pace    *pace.Info
	chip    *pace.Chip

	// AAKey signs active authentication challenges (ECDSA, or RSA with ISO/IEC 9796-2 when AARSA
	// is set); CAKey is the chip authentication key of DG14.
	AAKey    *ecdsa.PrivateKey
	AAKeyRSA *rsa.PrivateKey
	CAKey    *ecdh.PrivateKey
	// CAKeyDH is the DH chip authentication private exponent (Options.CADH) on pace.DH2048_224.
	CAKeyDH *big.Int
	// With PACE-CAM the DG14 key is CAMKey on the PACE curve CAMCurve (CAKey is then unused).
	CAMKey   *big.Int
	CAMCurve *pace.Curve

	// session state, reset on power-up
	appSelected bool
	current     uint16
	challenge   []byte
	sess        *sm.Session
	nextSess    *sm.Session // after chip authentication, in force from the next command
	caAlg       sm.Alg
	ta          *eac.Chip // terminal authentication state, created by chip authentication
	idPICC      []byte    // ID_PICC of terminal authentication
	compEph     []byte    // Comp(PK~PCD) of chip authentication
	protected   int
	apdus       int
}

// Personalise builds a card for c signed under pki.
func Personalise(c *Citizen, pki *PKI, o Options) (*Card, error) {
	if len(c.IDNumber) != 12 {
		return nil, fmt.Errorf("vcard: ID number %q is not 12 digits", c.IDNumber)
	}
	key := c.AccessKey()
	kenc, kmac, err := key.Keys()
	if err != nil {
		return nil, fmt.Errorf("vcard: access key: %w", err)
	}
	card := &Card{opts: o, files: map[uint16][]byte{}, sfi: map[byte]uint16{}, key: key, kenc: kenc, kmac: kmac, can: c.CAN}
	if o.PACEParamID != 0 || o.PACEProtocol != nil {
		proto := o.PACEProtocol
		if proto == nil {
			proto = lds.OIDPACEECDHGMAES128
		}
		info := pace.Info{Protocol: proto, Version: 2, ParamID: o.PACEParamID}
		ca, err := pace.CardAccessBytes(info)
		if err != nil {
			return nil, err
		}
		card.pace = &info
		card.put(lds.CardAccess, ca)
	}
	mrz, err := lds.TD1("ID", "VNM", c.IDNumber[3:], c.IDNumber, c.DateOfBirth, c.Sex, c.DateOfExpiry, "VNM", "", c.Surname, c.GivenNames)
	if err != nil {
		return nil, fmt.Errorf("vcard: MRZ: %w", err)
	}
	if card.AAKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if card.CAKey, err = ecdh.P256().GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	caSPKI, err := x509.MarshalPKIXPublicKey(card.CAKey.PublicKey())
	if err != nil {
		return nil, err
	}
	if card.pace != nil && card.pace.CAM() {
		// PACE-CAM proves the DG14 key during PACE, so that key lives on the PACE curve (part 11
		// §4.4.3.5: CA_IC is computed in the group of the mapping).
		if card.CAMCurve, err = pace.CurveByParamID(card.pace.ParamID); err != nil {
			return nil, fmt.Errorf("vcard: PACE-CAM: %w", err)
		}
		if card.CAMKey, err = rand.Int(rand.Reader, new(big.Int).Sub(card.CAMCurve.N, big.NewInt(1))); err != nil {
			return nil, err
		}
		card.CAMKey.Add(card.CAMKey, big.NewInt(1))
		if !o.CAMKeyElsewhere {
			if caSPKI, err = ca.MarshalECKey(card.CAMCurve, card.CAMCurve.ScalarMult(card.CAMKey, card.CAMCurve.G())); err != nil {
				return nil, err
			}
		}
	}
	dg14, err := lds.DG14Bytes(caSPKI, lds.OIDCAECDHAES128)
	if err != nil {
		return nil, err
	}
	if o.CADH {
		g := pace.DH2048_224
		if card.CAKeyDH, err = rand.Int(rand.Reader, new(big.Int).Sub(g.Q, big.NewInt(1))); err != nil {
			return nil, err
		}
		card.CAKeyDH.Add(card.CAKeyDH, big.NewInt(1))
		dhSPKI, err := ca.MarshalDHKey(g, new(big.Int).Exp(g.G, card.CAKeyDH, g.P))
		if err != nil {
			return nil, err
		}
		if dg14, err = lds.DG14BytesKey(lds.OIDPKDH, dhSPKI, lds.OIDCADHAES128); err != nil {
			return nil, err
		}
	}
	var aaSPKI []byte
	if o.AARSA {
		if card.AAKeyRSA, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			return nil, err
		}
		aaSPKI, err = x509.MarshalPKIXPublicKey(&card.AAKeyRSA.PublicKey)
	} else {
		aaSPKI, err = x509.MarshalPKIXPublicKey(&card.AAKey.PublicKey)
	}
	if err != nil {
		return nil, err
	}
	vn := c.VN
	if vn.IDNumber == "" {
		vn.IDNumber = c.IDNumber
	}
	dg2 := lds.DG2Bytes(c.FaceJPEG, lds.ImageJPEG, c.FaceWidth, c.FaceHeight)
	if c.FaceJP2 != nil {
		w, h, err := lds.JPEG2000Size(c.FaceJP2)
		if err != nil {
			return nil, fmt.Errorf("vcard: JPEG 2000 face: %w", err)
		}
		dg2 = lds.DG2Bytes(c.FaceJP2, lds.ImageJPEG2000, w, h)
	}
	dgList := []int{1, 2, 13, 14, 15}
	dgs := map[int][]byte{
		1:  lds.DG1Bytes(mrz),
		2:  dg2,
		13: lds.DG13Bytes(&vn),
		14: dg14,
		15: lds.DG15Bytes(aaSPKI),
	}
	if len(c.Fingers) > 0 && o.CVCA != nil {
		dgs[3] = lds.DG3Bytes(c.Fingers)
		dgList = []int{1, 2, 3, 13, 14, 15}
	}
	signer, cert := pki.DSKey, pki.DS
	if o.Forge == ForgeUnknownCSCA {
		other, err := NewPKI(PKIOptions{Country: "VN"})
		if err != nil {
			return nil, err
		}
		signer, cert = other.DSKey, other.DS
	}
	hashed := map[int][]byte{}
	for n, b := range dgs {
		if o.Forge == ForgeDGHashMissing && n == 13 {
			continue
		}
		hashed[n] = b
	}
	p := lds.SODParams{HashAlg: crypto.SHA256, DataGroups: hashed, Signer: signer, Cert: cert}
	if o.Forge == ForgeMessageDigest {
		p.MessageDigestOverride = make([]byte, 32)
	}
	sod, err := lds.BuildSOD(p)
	if err != nil {
		return nil, err
	}
	switch o.Forge {
	case ForgeDG1:
		dgs[1] = lds.DG1Bytes(mrz[:60] + "NGUYEN<<VAN<B" + mrz[73:])
	case ForgeDG2:
		d := append([]byte(nil), dgs[2]...)
		d[len(d)-100] ^= 0xFF
		dgs[2] = d
	case ForgeDG13:
		vn2 := vn
		vn2.FullName += " X"
		dgs[13] = lds.DG13Bytes(&vn2)
	case ForgeSODSignature:
		sod = flipSignature(sod)
	}
	com := (&lds.Com{LDSVersion: "0107", UnicodeVersion: "040000", DataGroups: dgList}).Bytes()
	card.put(lds.COM, com)
	card.put(lds.SOD, sod)
	for n, b := range o.RawFiles {
		if _, ok := dgs[n]; ok {
			dgs[n] = b
		}
	}
	for n, b := range dgs {
		f, _ := lds.DGByNumber(n)
		if n == o.Truncate {
			b = b[:len(b)/2]
		}
		if n == o.AbsurdLength {
			b = append([]byte{f.Tag, 0x83, 0xFF, 0xFF, 0xFF}, b[2:]...)
		}
		card.put(f, b)
	}
	// Contactless ATR (PC/SC part 3 layout): 3B 85 80 01 + historical bytes + TCK. Historical:
	// category 80, card capabilities 73 with b7 of the third byte = extended Lc/Le (ISO/IEC 7816-4
	// §12.1.1.9).
	third := byte(0x40)
	switch {
	case o.ShortOnly:
		third = 0
	case o.ExtendedInEFATR > 0:
		third = 0x20
		// EF.ATR/INFO: extended length information 7F66 { 02 max command, 02 max response }
		// (ISO/IEC 7816-4 §12.7.1).
		n := o.ExtendedInEFATR
		card.atrInfo = tlv.Encode(0x7F66, tlv.Concat(tlv.Encode(0x02, []byte{byte(n >> 8), byte(n)}), tlv.Encode(0x02, []byte{byte(n >> 8), byte(n)})))
		if o.MaxResponse == 0 {
			card.opts.MaxResponse = n - 64
		}
	}
	atr := []byte{0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x80, 0x21, third}
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	card.atr = append(atr, tck)
	return card, nil
}

// flipSignature flips one bit in the last byte of the signer's signature. The signature OCTET
// STRING is the last element of the SOD, so its last byte is the file's last byte.
func flipSignature(sod []byte) []byte {
	out := append([]byte(nil), sod...)
	out[len(out)-1] ^= 0x01
	return out
}

func (c *Card) put(f lds.File, b []byte) {
	c.files[f.FID] = b
	c.sfi[f.SFI] = f.FID
}

// File returns a copy of a file's content (for tests).
func (c *Card) File(f lds.File) []byte { return append([]byte(nil), c.files[f.FID]...) }

// ATR returns the answer to reset.
func (c *Card) ATR() []byte { return append([]byte(nil), c.atr...) }

// Reset is power-up or warm reset: every session state is dropped.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.appSelected, c.current, c.challenge, c.sess, c.protected, c.chip = false, 0, nil, nil, 0, nil
	c.nextSess, c.caAlg, c.ta, c.idPICC, c.compEph = nil, 0, nil, nil, nil
}

// Transmit answers one APDU in-process (the Transmitter seam, without PC/SC).
func (c *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.Process(apdu), nil
}

// Process answers one command APDU.
func (c *Card) Process(apdu []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apdus++
	sw := func(s uint16) []byte { return []byte{byte(s >> 8), byte(s)} }
	if c.opts.ShortOnly && len(apdu) > 5 && apdu[4] == 0 {
		return sw(iso7816.SWWrongLength)
	}
	if len(apdu) >= 1 && apdu[0]&0x0C == 0x0C {
		if c.sess == nil {
			return sw(iso7816.SWSMObjectsMissing)
		}
		cmd, err := c.sess.UnwrapCommand(apdu)
		if err != nil {
			c.sess = nil // ICAO Doc 9303 part 11 §9.8: the chip aborts secure messaging
			return sw(iso7816.SWSMObjectsIncorrect)
		}
		r := c.execute(cmd, true)
		out, err := c.sess.WrapResponse(r)
		if err != nil {
			return sw(iso7816.SWUnknown)
		}
		if c.nextSess != nil { // chip authentication answered under the old keys; switch now
			c.sess, c.nextSess = c.nextSess, nil
		}
		c.protected++
		if c.opts.BadMACAfter > 0 && c.protected == c.opts.BadMACAfter {
			out[len(out)-3] ^= 0x01 // last byte of DO'8E'
		}
		return out
	}
	cmd, err := iso7816.ParseCommand(apdu)
	if err != nil {
		return sw(iso7816.SWWrongLength)
	}
	if c.sess != nil {
		// A plain command ends secure messaging (ICAO Doc 9303 part 11 §9.8).
		c.sess = nil
	}
	return c.execute(cmd, false).Bytes()
}

func (c *Card) execute(cmd iso7816.Command, protected bool) iso7816.Response {
	st := func(s uint16) iso7816.Response { return iso7816.Response{SW: s} }
	if cmd.CLA&0xEF != 0 { // b5 (0x10) is command chaining, used by GENERAL AUTHENTICATE
		return st(iso7816.SWClaNotSupported)
	}
	switch cmd.INS {
	case 0xA4: // SELECT
		switch {
		case cmd.P1 == 0x04:
			if string(cmd.Data) != string(lds.AID) {
				return st(iso7816.SWFileNotFound)
			}
			c.appSelected, c.current = true, 0
			return st(iso7816.SWOK)
		case cmd.P1 == 0x02 || cmd.P1 == 0x00:
			if len(cmd.Data) != 2 {
				return st(iso7816.SWWrongLength)
			}
			fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
			if !c.appSelected && fid != 0x3F00 {
				return st(iso7816.SWFileNotFound)
			}
			if c.appSelected && !protected {
				return st(iso7816.SWSecurityNotSatisfied)
			}
			if _, ok := c.files[fid]; !ok {
				return st(iso7816.SWFileNotFound)
			}
			c.current = fid
			return st(iso7816.SWOK)
		}
		return st(iso7816.SWWrongP1P2)
	case 0x84: // GET CHALLENGE
		if protected {
			if c.ta == nil {
				return st(iso7816.SWConditionsNotSatisfied)
			}
			return iso7816.Response{Data: c.ta.Challenge(), SW: iso7816.SWOK} // r_PICC for terminal authentication
		}
		c.challenge = make([]byte, 8)
		_, _ = rand.Read(c.challenge)
		return iso7816.Response{Data: append([]byte(nil), c.challenge...), SW: iso7816.SWOK}
	case 0x82: // EXTERNAL AUTHENTICATE: terminal authentication under SM, BAC in plain
		if protected {
			if c.ta == nil || c.ta.ExternalAuthenticate(cmd.Data, c.idPICC, c.compEph) != nil {
				return st(iso7816.SWSecurityNotSatisfied)
			}
			return st(iso7816.SWOK)
		}
		if !c.appSelected || c.challenge == nil {
			return st(iso7816.SWConditionsNotSatisfied)
		}
		kic := make([]byte, 16)
		_, _ = rand.Read(kic)
		chip := &bac.Chip{Kenc: c.kenc, Kmac: c.kmac, RndIC: c.challenge, KIC: kic}
		c.challenge = nil
		resp, s, err := chip.Respond(cmd.Data)
		if err != nil {
			return st(iso7816.SWSecurityNotSatisfied)
		}
		c.sess, c.protected = s, 0
		if info, err := c.key.MRZInformation(); err == nil {
			c.idPICC = []byte(info[:10])
		}
		return iso7816.Response{Data: resp, SW: iso7816.SWOK}
	case 0x22:
		if cmd.P1 == 0x41 && protected { // MSE:Set AT for chip authentication (part 11 §6.2.4.2)
			return c.mseSetATCA(cmd)
		}
		if cmd.P1 == 0x81 && protected { // MSE:Set DST / Set AT for terminal authentication
			return c.mseTA(cmd)
		}
		return c.mseSetAT(cmd) // MSE:Set AT for PACE (part 11 §4.4.4.1)
	case 0x86: // GENERAL AUTHENTICATE
		if protected && c.caAlg != 0 {
			return c.chipAuthenticate(cmd)
		}
		return c.generalAuthenticate(cmd)
	case 0xB0, 0xB1: // READ BINARY
		if !protected && cmd.INS == 0xB0 && cmd.P1 == 0x81 && c.atrInfo != nil && !c.appSelected {
			// EF.ATR/INFO (SFI 01 of the master file) is readable without access control.
			return iso7816.Response{Data: append([]byte(nil), c.atrInfo[:min(len(c.atrInfo), cmd.Ne)]...), SW: iso7816.SWOK}
		}
		if !protected && cmd.INS == 0xB0 && cmd.P1 == 0x80|lds.CardAccess.SFI && c.pace != nil && !c.appSelected {
			// EF.CardAccess is readable without access control (part 11 §9.2.11).
			data := c.files[lds.CardAccess.FID]
			off := int(cmd.P2)
			if off > len(data) {
				return st(iso7816.SWWrongP1P2)
			}
			end := min(len(data), off+cmd.Ne)
			return iso7816.Response{Data: append([]byte(nil), data[off:end]...), SW: iso7816.SWOK}
		}
		if !protected {
			return st(iso7816.SWSecurityNotSatisfied)
		}
		r := c.readBinary(cmd)
		if cmd.INS == 0xB1 && len(r.Data) > 0 {
			r.Data = tlv.Encode(0x53, r.Data) // odd INS answers in DO'53' (ISO/IEC 7816-4 §11.2.3)
		}
		return r
	case 0x2A: // PSO:Verify Certificate (terminal authentication)
		if !protected || c.ta == nil || cmd.P1 != 0 || cmd.P2 != 0xBE || c.ta.VerifyCert(cmd.Data) != nil {
			return st(iso7816.SWSecurityNotSatisfied)
		}
		return st(iso7816.SWOK)
	case 0x88: // INTERNAL AUTHENTICATE: active authentication (ICAO Doc 9303 part 11 §6.1)
		if !protected {
			return st(iso7816.SWSecurityNotSatisfied)
		}
		if len(cmd.Data) != 8 {
			return st(iso7816.SWWrongLength)
		}
		if c.AAKeyRSA != nil {
			k := (c.AAKeyRSA.N.BitLen() + 7) / 8
			m1 := make([]byte, k-sha1.Size-2)
			_, _ = rand.Read(m1)
			sig, err := aaSign9796(c.AAKeyRSA, m1, cmd.Data)
			if err != nil {
				return st(iso7816.SWUnknown)
			}
			return iso7816.Response{Data: sig, SW: iso7816.SWOK}
		}
		h := sha256.Sum256(cmd.Data)
		r, s, err := ecdsa.Sign(rand.Reader, c.AAKey, h[:])
		if err != nil {
			return st(iso7816.SWUnknown)
		}
		sig := make([]byte, 64) // plain r||s (BSI TR-03111 §5.2.1)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return iso7816.Response{Data: sig, SW: iso7816.SWOK}
	}
	return st(iso7816.SWInsNotSupported)
}

func (c *Card) mseSetAT(cmd iso7816.Command) iso7816.Response {
	st := func(s uint16) iso7816.Response { return iso7816.Response{SW: s} }
	if c.pace == nil || cmd.P1 != 0xC1 || cmd.P2 != 0xA4 {
		return st(iso7816.SWWrongP1P2)
	}
	objs, err := tlv.ParseAll(cmd.Data)
	if err != nil {
		return st(iso7816.SWWrongLength)
	}
	var pwRef byte
	for _, o := range objs {
		switch o.Tag {
		case 0x80:
			oid, _ := asn1.Marshal(c.pace.Protocol)
			if !bytes.Equal(o.Value, oid[2:]) {
				return st(0x6A80)
			}
		case 0x83:
			if len(o.Value) == 1 {
				pwRef = o.Value[0]
			}
		case 0x84:
			if len(o.Value) != 1 || int(o.Value[0]) != c.pace.ParamID {
				return st(0x6A80)
			}
		}
	}
	var pw []byte
	switch pwRef {
	case pace.PasswordMRZ:
		pw, err = pace.MRZPassword(c.key)
	case pace.PasswordCAN:
		pw, err = pace.CANPassword(c.can)
	default:
		return st(0x6A80)
	}
	if err != nil {
		return st(iso7816.SWConditionsNotSatisfied)
	}
	c.chip = &pace.Chip{Info: *c.pace, Password: pw, CAMKey: c.CAMKey, CAMLie: c.opts.CAMLie}
	c.sess, c.appSelected = nil, false
	return st(iso7816.SWOK)
}

func (c *Card) mseSetATCA(cmd iso7816.Command) iso7816.Response {
	v, ok, err := tlv.Find(cmd.Data, 0x80)
	if err != nil || !ok {
		return iso7816.Response{SW: 0x6A80}
	}
	want := lds.OIDCAECDHAES128
	if c.opts.CADH {
		want = lds.OIDCADHAES128
	}
	oid, _ := asn1.Marshal(want)
	if !bytes.Equal(v, oid[2:]) {
		return iso7816.Response{SW: 0x6A80}
	}
	c.caAlg = sm.AES128
	return iso7816.Response{SW: iso7816.SWOK}
}

func (c *Card) mseTA(cmd iso7816.Command) iso7816.Response {
	ref, ok, err := tlv.Find(cmd.Data, 0x83)
	if c.ta == nil || err != nil || !ok {
		return iso7816.Response{SW: iso7816.SWConditionsNotSatisfied}
	}
	switch cmd.P2 {
	case 0xB6:
		err = c.ta.SetDST(string(ref))
	case 0xA4:
		err = c.ta.SetAT(string(ref))
	default:
		return iso7816.Response{SW: iso7816.SWWrongP1P2}
	}
	if err != nil {
		return iso7816.Response{SW: 0x6A88} // referenced data not found
	}
	return iso7816.Response{SW: iso7816.SWOK}
}

func (c *Card) chipAuthenticate(cmd iso7816.Command) iso7816.Response {
	alg := c.caAlg
	c.caAlg = 0
	in, err := pace.ParseDynAuth(cmd.Data)
	if err != nil || in.Tag != 0x80 {
		return iso7816.Response{SW: iso7816.SWWrongLength}
	}
	if c.opts.CADH {
		static := new(big.Int).Set(c.CAKeyDH)
		if c.opts.CloneChip {
			static.Add(static, big.NewInt(1))
		}
		s, comp, err := ca.ChipRespondDH(pace.DH2048_224, static, alg, in.Value)
		if err != nil {
			return iso7816.Response{SW: 0x6A80}
		}
		c.nextSess, c.compEph = s, comp
	} else {
		curve, static := pace.P256, new(big.Int).SetBytes(c.CAKey.Bytes())
		if c.CAMKey != nil && !c.opts.CAMKeyElsewhere {
			curve, static = c.CAMCurve, new(big.Int).Set(c.CAMKey)
		}
		if c.opts.CloneChip {
			static.Add(static, big.NewInt(1))
		}
		s, err := ca.ChipRespond(curve, static, alg, in.Value)
		if err != nil || len(in.Value) < 33 {
			return iso7816.Response{SW: 0x6A80}
		}
		c.nextSess = s
		c.compEph = append([]byte(nil), in.Value[1:33]...)
	}
	if c.opts.CVCA != nil { // terminal authentication may follow chip authentication
		c.ta = &eac.Chip{CVCA: c.opts.CVCA, Date: c.opts.CVCA.Effective}
	}
	return iso7816.Response{Data: []byte{0x7C, 0x00}, SW: iso7816.SWOK}
}

func (c *Card) generalAuthenticate(cmd iso7816.Command) iso7816.Response {
	st := func(s uint16) iso7816.Response { return iso7816.Response{SW: s} }
	if c.chip == nil {
		return st(iso7816.SWConditionsNotSatisfied)
	}
	in, err := pace.ParseDynAuth(cmd.Data)
	if err != nil {
		return st(iso7816.SWWrongLength)
	}
	fail := func() iso7816.Response {
		c.chip = nil
		return st(iso7816.SWSecurityNotSatisfied)
	}
	var tag uint32
	var out []byte
	switch in.Tag {
	case 0:
		tag = 0x80
		out, err = c.chip.Nonce()
	case 0x81:
		tag = 0x82
		out, err = c.chip.Map(in.Value)
	case 0x83:
		tag = 0x84
		out, err = c.chip.Agree(in.Value)
	case 0x85:
		var s *sm.Session
		out, s, err = c.chip.Mutual(in.Value)
		if err != nil {
			return fail()
		}
		data := tlv.Encode(0x86, out)
		if c.pace.CAM() {
			// PACE-CAM: the encrypted chip authentication data follows the token (part 11 §4.4.5).
			a, err := c.chip.CAMData()
			if err != nil {
				return fail()
			}
			data = append(data, tlv.Encode(0x8A, a)...)
		}
		c.idPICC = c.chip.EphemeralX()
		c.chip, c.sess, c.protected = nil, s, 0
		return iso7816.Response{Data: tlv.Encode(0x7C, data), SW: iso7816.SWOK}
	default:
		return fail()
	}
	if err != nil {
		return fail()
	}
	return iso7816.Response{Data: pace.DynAuth(tag, out), SW: iso7816.SWOK}
}

func (c *Card) readBinary(cmd iso7816.Command) iso7816.Response {
	st := func(s uint16) iso7816.Response { return iso7816.Response{SW: s} }
	fid := c.current
	var off int
	if cmd.INS == 0xB1 {
		// Odd INS: offset in DO'54' (ISO/IEC 7816-4 §11.2.3), file by P1-P2 (0000 = current).
		if len(cmd.Data) < 3 || cmd.Data[0] != 0x54 || int(cmd.Data[1]) != len(cmd.Data)-2 || len(cmd.Data) > 5 {
			return st(iso7816.SWWrongLength)
		}
		for _, b := range cmd.Data[2:] {
			off = off<<8 | int(b)
		}
	} else if cmd.P1&0x80 != 0 {
		// Short EF identifier in P1 b5..b1, offset in P2 (ISO/IEC 7816-4 §7.2.2).
		f, ok := c.sfi[cmd.P1&0x1F]
		if !ok {
			return st(iso7816.SWFileNotFound)
		}
		fid, c.current, off = f, f, int(cmd.P2)
	} else {
		off = int(cmd.P1)<<8 | int(cmd.P2)
	}
	data, ok := c.files[fid]
	if !ok || fid == 0 {
		return st(iso7816.SWConditionsNotSatisfied) // no current EF
	}
	if fid == lds.DG3.FID && (c.ta == nil || c.ta.Granted()&eac.RightDG3 == 0) {
		return st(iso7816.SWSecurityNotSatisfied) // EAC-protected (BSI TR-03110)
	}
	if off > len(data) {
		return st(iso7816.SWWrongP1P2)
	}
	max := c.opts.MaxResponse
	if max == 0 {
		max = 0xFF00
		if c.opts.ShortOnly {
			max = 256
		}
	}
	n := cmd.Ne
	if n > max {
		n = max
	}
	end := off + n
	sw := iso7816.SWOK
	if end > len(data) {
		end, sw = len(data), iso7816.SWEndOfFile
	}
	return iso7816.Response{Data: append([]byte(nil), data[off:end]...), SW: sw}
}

// APDUs returns how many APDUs the card has answered.
func (c *Card) APDUs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apdus
}

// ErrPulled is returned by Serve when the card was pulled (Options.PullAfter).
var ErrPulled = errors.New("vcard: card pulled out")
