// Package eac implements terminal authentication (BSI TR-03110 part 2 §B.3 / part 3 §B.11, version
// 1 as ICAO eMRTDs with EAC use it) with card verifiable certificates (BSI TR-03110 part 3 appendix
// C) on ECDSA P-256 with SHA-256, so that a desk holding an inspection system certificate can read
// the fingerprints of DG3.
package eac

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"enrolldesk/reader/tlv"
)

// Object identifiers of BSI TR-03110 part 3 §A.6 and appendix C.
var (
	OIDTAECDSASHA256 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 2, 2, 3}
	OIDRoleIS        = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 3, 1, 2, 1} // id-IS: inspection systems
)

// Roles and rights of the certificate holder authorization for inspection systems (TR-03110 part 3
// §C.4.1): the two top bits are the role, bit 1 grants DG4 (iris), bit 0 grants DG3 (fingerprint).
const (
	RoleCVCA      byte = 0xC0
	RoleDVDomest  byte = 0x80
	RoleDVForeign byte = 0x40
	RoleIS        byte = 0x00
	RightDG3      byte = 0x01
	RightDG4      byte = 0x02
)

// Cert is a card verifiable certificate.
type Cert struct {
	CAR, CHR  string // certification authority / certificate holder reference
	PublicKey []byte // uncompressed P-256 point (tag 86)
	Role      byte   // CHAT bits: role | rights
	Effective time.Time
	Expiry    time.Time
	Body      []byte // 7F4E TLV, the signed bytes
	Signature []byte // plain r||s (TR-03111 §5.2.1)
}

// Raw is the certificate: 7F21 { 7F4E body, 5F37 signature }.
func (c *Cert) Raw() []byte {
	return tlv.Encode(0x7F21, tlv.Concat(c.Body, tlv.Encode(0x5F37, c.Signature)))
}

// date encodes YYMMDD as six unpacked BCD digits (TR-03110 part 3 §D.2.1.3).
func date(t time.Time) []byte {
	s := t.UTC().Format("060102")
	out := make([]byte, 6)
	for i := range out {
		out[i] = s[i] - '0'
	}
	return out
}

func parseDate(b []byte) (time.Time, error) {
	if len(b) != 6 {
		return time.Time{}, errors.New("cvc: date not 6 digits")
	}
	s := make([]byte, 6)
	for i, d := range b {
		if d > 9 {
			return time.Time{}, errors.New("cvc: date digit > 9")
		}
		s[i] = '0' + d
	}
	return time.Parse("060102", string(s))
}

// Issue builds and signs a certificate for holder key pub (P-256) with the issuer's key.
func Issue(car, chr string, pub *ecdsa.PublicKey, role byte, effective, expiry time.Time, issuer *ecdsa.PrivateKey) (*Cert, error) {
	pt, err := pub.Bytes()
	if err != nil {
		return nil, err
	}
	oid, _ := asn1.Marshal(OIDTAECDSASHA256)
	roleOID, _ := asn1.Marshal(OIDRoleIS)
	c := &Cert{CAR: car, CHR: chr, PublicKey: pt, Role: role, Effective: effective.UTC().Truncate(24 * time.Hour), Expiry: expiry.UTC().Truncate(24 * time.Hour)}
	c.Body = tlv.Encode(0x7F4E, tlv.Concat(
		tlv.Encode(0x5F29, []byte{0}), // certificate profile identifier: version 1
		tlv.Encode(0x42, []byte(car)),
		tlv.Encode(0x7F49, tlv.Concat(oid, tlv.Encode(0x86, pt))),
		tlv.Encode(0x5F20, []byte(chr)),
		tlv.Encode(0x7F4C, tlv.Concat(roleOID, tlv.Encode(0x53, []byte{role}))),
		tlv.Encode(0x5F25, date(effective)),
		tlv.Encode(0x5F24, date(expiry)),
	))
	if c.Signature, err = sign(issuer, c.Body); err != nil {
		return nil, err
	}
	return c, nil
}

func sign(k *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

// Verify checks a plain ECDSA-SHA-256 signature with an uncompressed P-256 key.
func Verify(pub []byte, msg, sig []byte) error {
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if err != nil {
		return fmt.Errorf("cvc: public key: %w", err)
	}
	if len(sig) != 64 {
		return errors.New("cvc: signature is not 64 bytes")
	}
	h := sha256.Sum256(msg)
	if !ecdsa.Verify(k, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("cvc: signature does not verify")
	}
	return nil
}

// Parse decodes 7F21 { 7F4E body, 5F37 signature }, or the body and signature as sent in PSO:Verify
// Certificate (7F4E body || 5F37 signature).
func Parse(b []byte) (*Cert, error) {
	if v, err := tlv.Unwrap(b, 0x7F21); err == nil {
		b = v
	}
	objs, err := tlv.ParseAll(b)
	if err != nil || len(objs) != 2 || objs[0].Tag != 0x7F4E || objs[1].Tag != 0x5F37 {
		return nil, fmt.Errorf("cvc: not body and signature: %v", err)
	}
	c := &Cert{Body: tlv.Encode(0x7F4E, objs[0].Value), Signature: objs[1].Value}
	fields, err := tlv.ParseAll(objs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("cvc: body: %w", err)
	}
	for _, f := range fields {
		switch f.Tag {
		case 0x42:
			c.CAR = string(f.Value)
		case 0x5F20:
			c.CHR = string(f.Value)
		case 0x7F49:
			pt, ok, err := tlv.Find(f.Value[min(len(f.Value), skipOID(f.Value)):], 0x86)
			if err != nil || !ok {
				return nil, errors.New("cvc: public key without point")
			}
			c.PublicKey = pt
		case 0x7F4C:
			rights, ok, err := tlv.Find(f.Value[min(len(f.Value), skipOID(f.Value)):], 0x53)
			if err != nil || !ok || len(rights) != 1 {
				return nil, errors.New("cvc: malformed holder authorization")
			}
			c.Role = rights[0]
		case 0x5F25:
			if c.Effective, err = parseDate(f.Value); err != nil {
				return nil, err
			}
		case 0x5F24:
			if c.Expiry, err = parseDate(f.Value); err != nil {
				return nil, err
			}
		}
	}
	if c.CAR == "" || c.CHR == "" || c.PublicKey == nil || c.Expiry.IsZero() {
		return nil, errors.New("cvc: missing fields")
	}
	return c, nil
}

// skipOID returns the length of a leading OID (tag 06) in b, 0 if none.
func skipOID(b []byte) int {
	if len(b) < 2 || b[0] != 0x06 {
		return 0
	}
	_, rest, err := tlv.Parse(b)
	if err != nil {
		return len(b)
	}
	return len(b) - len(rest)
}
