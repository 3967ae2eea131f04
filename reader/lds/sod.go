package lds

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"enrolldesk/reader/tlv"
)

// Object identifiers (RFC 5652 CMS, RFC 5911, ICAO Doc 9303 part 10 §4.6.2 and part 12).
var (
	OIDSignedData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDLDSSecurityObj   = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
	OIDAttrContentType  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigst = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDSHA1             = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	OIDSHA224           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	OIDSHA256           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	OIDRSAEncryption    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDRSAPSS           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	OIDSHA256WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	OIDSHA384WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	OIDSHA512WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	OIDSHA1WithRSA      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	OIDECDSAWithSHA1    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	OIDECDSAWithSHA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	OIDECDSAWithSHA512  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// HashByOID maps digest algorithm identifiers to crypto.Hash.
func HashByOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(OIDSHA1):
		return crypto.SHA1, nil
	case oid.Equal(OIDSHA224):
		return crypto.SHA224, nil
	case oid.Equal(OIDSHA256):
		return crypto.SHA256, nil
	case oid.Equal(OIDSHA384):
		return crypto.SHA384, nil
	case oid.Equal(OIDSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("lds: unsupported digest algorithm %v", oid)
}

func oidByHash(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	switch h {
	case crypto.SHA1:
		return OIDSHA1, nil
	case crypto.SHA224:
		return OIDSHA224, nil
	case crypto.SHA256:
		return OIDSHA256, nil
	case crypto.SHA384:
		return OIDSHA384, nil
	case crypto.SHA512:
		return OIDSHA512, nil
	}
	return nil, fmt.Errorf("lds: unsupported hash %v", h)
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,optional,tag:0"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type dataGroupHash struct {
	Number int
	Hash   []byte
}

type ldsSecurityObject struct {
	Version        int
	HashAlgorithm  pkix.AlgorithmIdentifier
	DataGroupHashs []dataGroupHash
	VersionInfo    asn1.RawValue `asn1:"optional"`
}

// SecurityObject is a decoded EF.SOD: the LDS security object and the one CMS signer that signs it.
type SecurityObject struct {
	HashAlg  crypto.Hash
	DGHashes map[int][]byte
	// EContent is the DER of the LDSSecurityObject exactly as signed.
	EContent     []byte
	EContentType asn1.ObjectIdentifier
	Certificates []*x509.Certificate
	// Signer
	SignerIssuer  []byte   // raw issuer Name when the signer is named by issuer and serial
	SignerSerial  *big.Int // nil when named by subject key identifier
	SignerSKI     []byte
	DigestAlg     crypto.Hash
	SigAlgOID     asn1.ObjectIdentifier
	SigAlgParams  asn1.RawValue
	Signature     []byte
	SignedAttrs   []byte // DER of the signed attributes as a SET (tag 31), the signed bytes
	MessageDigest []byte // value of the message-digest attribute
	ContentType   asn1.ObjectIdentifier
	SigningTime   time.Time
}

// ParseSOD decodes EF.SOD (77 { ContentInfo }). It checks structure only; pa verifies.
func ParseSOD(b []byte) (*SecurityObject, error) {
	v, err := tlv.Unwrap(b, 0x77)
	if err != nil {
		return nil, fmt.Errorf("EF.SOD: %w", err)
	}
	s, err := ParseCMS(v)
	if err != nil {
		return nil, fmt.Errorf("EF.SOD: %w", err)
	}
	var lso ldsSecurityObject
	if rest, err := asn1.Unmarshal(s.EContent, &lso); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("EF.SOD: LDSSecurityObject: %v", err)
	}
	if s.HashAlg, err = HashByOID(lso.HashAlgorithm.Algorithm); err != nil {
		return nil, fmt.Errorf("EF.SOD: %w", err)
	}
	s.DGHashes = map[int][]byte{}
	for _, d := range lso.DataGroupHashs {
		if d.Number < 1 || d.Number > 16 {
			return nil, fmt.Errorf("EF.SOD: hash for data group %d", d.Number)
		}
		if _, dup := s.DGHashes[d.Number]; dup {
			return nil, fmt.Errorf("EF.SOD: two hashes for DG%d", d.Number)
		}
		s.DGHashes[d.Number] = d.Hash
	}
	return s, nil
}

// ParseCMS decodes a CMS ContentInfo holding SignedData with exactly one signer and signed
// attributes (RFC 5652), as EF.SOD and ICAO master lists use it. It checks structure only.
func ParseCMS(v []byte) (*SecurityObject, error) {
	var err error
	var ci contentInfo
	if rest, err := asn1.Unmarshal(v, &ci); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("CMS: ContentInfo: %v (%d trailing bytes)", err, len(rest))
	}
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, fmt.Errorf("CMS: content type %v, want signedData", ci.ContentType)
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("CMS: SignedData: %v", err)
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("CMS: %d signer infos, want 1 (ICAO Doc 9303 part 10 §4.6.2)", len(sd.SignerInfos))
	}
	s := &SecurityObject{EContent: sd.EncapContentInfo.EContent, EContentType: sd.EncapContentInfo.EContentType}
	if len(s.EContent) == 0 {
		return nil, errors.New("CMS: no encapsulated content")
	}
	if len(sd.Certificates.Bytes) > 0 {
		rest := sd.Certificates.Bytes
		for len(rest) > 0 {
			var raw asn1.RawValue
			if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
				return nil, fmt.Errorf("CMS: certificates: %w", err)
			}
			c, err := x509.ParseCertificate(raw.FullBytes)
			if err != nil {
				return nil, fmt.Errorf("CMS: document signer certificate: %w", err)
			}
			s.Certificates = append(s.Certificates, c)
		}
	}
	si := sd.SignerInfos[0]
	switch {
	case si.SID.Tag == asn1.TagSequence && si.SID.Class == asn1.ClassUniversal:
		var ias issuerAndSerial
		if _, err := asn1.Unmarshal(si.SID.FullBytes, &ias); err != nil {
			return nil, fmt.Errorf("CMS: signer identifier: %w", err)
		}
		s.SignerIssuer, s.SignerSerial = ias.Issuer.FullBytes, ias.Serial
	case si.SID.Tag == 0 && si.SID.Class == asn1.ClassContextSpecific:
		s.SignerSKI = si.SID.Bytes
	default:
		return nil, errors.New("CMS: unknown signer identifier")
	}
	if s.DigestAlg, err = HashByOID(si.DigestAlgorithm.Algorithm); err != nil {
		return nil, fmt.Errorf("CMS: signer: %w", err)
	}
	s.SigAlgOID, s.SigAlgParams, s.Signature = si.SignatureAlgorithm.Algorithm, si.SignatureAlgorithm.Parameters, si.Signature
	if len(si.SignedAttrs.FullBytes) == 0 {
		return nil, errors.New("CMS: no signed attributes (required by ICAO Doc 9303 part 10 §4.6.2.2)")
	}
	// The signature covers the attributes DER-encoded with the SET OF tag, not the [0] (RFC 5652 §5.4).
	s.SignedAttrs = append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	rest := si.SignedAttrs.Bytes
	for len(rest) > 0 {
		var a attribute
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			return nil, fmt.Errorf("CMS: signed attribute: %w", err)
		}
		switch {
		case a.Type.Equal(OIDAttrMessageDigst):
			if _, err := asn1.Unmarshal(a.Values.Bytes, &s.MessageDigest); err != nil {
				return nil, fmt.Errorf("CMS: message digest attribute: %w", err)
			}
		case a.Type.Equal(OIDAttrContentType):
			if _, err := asn1.Unmarshal(a.Values.Bytes, &s.ContentType); err != nil {
				return nil, fmt.Errorf("CMS: content type attribute: %w", err)
			}
		case a.Type.Equal(OIDAttrSigningTime):
			_, _ = asn1.Unmarshal(a.Values.Bytes, &s.SigningTime)
		}
	}
	return s, nil
}

// SODParams are the inputs of BuildSOD (used by the virtual card and tests).
type SODParams struct {
	HashAlg crypto.Hash
	// DataGroups maps data group numbers to the full file contents to hash.
	DataGroups map[int][]byte
	Signer     crypto.Signer
	Cert       *x509.Certificate
	// Tamper hooks for hostile cards: change the LDS security object or the signed attributes
	// after hashing and before signing / after signing.
	MessageDigestOverride []byte
}

// BuildSOD builds and signs EF.SOD (CMS SignedData, RFC 5652) the way ICAO Doc 9303 part 10 §4.6.2
// describes: eContent = LDSSecurityObject, signed attributes content-type and message-digest, one
// signer named by issuer and serial number, the DS certificate included.
func BuildSOD(p SODParams) ([]byte, error) {
	hOID, err := oidByHash(p.HashAlg)
	if err != nil {
		return nil, err
	}
	var nums []int
	for n := range p.DataGroups {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	lso := ldsSecurityObject{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: hOID}}
	for _, n := range nums {
		hh := p.HashAlg.New()
		hh.Write(p.DataGroups[n])
		lso.DataGroupHashs = append(lso.DataGroupHashs, dataGroupHash{n, hh.Sum(nil)})
	}
	econtent, err := asn1.Marshal(lso)
	if err != nil {
		return nil, err
	}
	ci, err := BuildCMS(OIDLDSSecurityObj, econtent, p)
	if err != nil {
		return nil, err
	}
	return tlv.Encode(0x77, ci), nil
}

// BuildCMS signs econtent of the given type into a CMS ContentInfo / SignedData with signed
// attributes content-type and message-digest, one signer named by issuer and serial number, and
// the signer's certificate included (RFC 5652). Only p.HashAlg, Signer, Cert and
// MessageDigestOverride are used.
func BuildCMS(eType asn1.ObjectIdentifier, econtent []byte, p SODParams) ([]byte, error) {
	hOID, err := oidByHash(p.HashAlg)
	if err != nil {
		return nil, err
	}
	md := p.HashAlg.New()
	md.Write(econtent)
	digest := md.Sum(nil)
	if p.MessageDigestOverride != nil {
		digest = p.MessageDigestOverride
	}
	ctVal, _ := asn1.Marshal(eType)
	mdVal, _ := asn1.Marshal(digest)
	attrs := []attribute{
		{Type: OIDAttrContentType, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: ctVal}},
		{Type: OIDAttrMessageDigst, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: mdVal}},
	}
	var attrBytes []byte
	for _, a := range attrs {
		b, err := asn1.Marshal(a)
		if err != nil {
			return nil, err
		}
		attrBytes = append(attrBytes, b...)
	}
	signedSet := append([]byte{0x31}, tlv.AppendLength(nil, len(attrBytes))...)
	signedSet = append(signedSet, attrBytes...)
	sh := p.HashAlg.New()
	sh.Write(signedSet)
	sig, err := p.Signer.Sign(rand.Reader, sh.Sum(nil), p.HashAlg)
	if err != nil {
		return nil, fmt.Errorf("sign SOD: %w", err)
	}
	sigAlg, err := sigAlgFor(p.Cert, p.HashAlg)
	if err != nil {
		return nil, err
	}
	sid, err := asn1.Marshal(issuerAndSerial{Issuer: asn1.RawValue{FullBytes: p.Cert.RawIssuer}, Serial: p.Cert.SerialNumber})
	if err != nil {
		return nil, err
	}
	si := signerInfo{
		Version:            1,
		SID:                asn1.RawValue{FullBytes: sid},
		DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: hOID},
		SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: attrBytes},
		SignatureAlgorithm: sigAlg,
		Signature:          sig,
	}
	sd := signedData{
		Version:          3,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{{Algorithm: hOID}},
		EncapContentInfo: encapContentInfo{EContentType: eType, EContent: econtent},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: p.Cert.Raw},
		SignerInfos:      []signerInfo{si},
	}
	sdb, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{ContentType: OIDSignedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdb}})
}

func sigAlgFor(c *x509.Certificate, h crypto.Hash) (pkix.AlgorithmIdentifier, error) {
	switch c.PublicKeyAlgorithm {
	case x509.RSA:
		switch h {
		case crypto.SHA256:
			return pkix.AlgorithmIdentifier{Algorithm: OIDSHA256WithRSA, Parameters: asn1.NullRawValue}, nil
		case crypto.SHA384:
			return pkix.AlgorithmIdentifier{Algorithm: OIDSHA384WithRSA, Parameters: asn1.NullRawValue}, nil
		case crypto.SHA512:
			return pkix.AlgorithmIdentifier{Algorithm: OIDSHA512WithRSA, Parameters: asn1.NullRawValue}, nil
		}
	case x509.ECDSA:
		switch h {
		case crypto.SHA256:
			return pkix.AlgorithmIdentifier{Algorithm: OIDECDSAWithSHA256}, nil
		case crypto.SHA384:
			return pkix.AlgorithmIdentifier{Algorithm: OIDECDSAWithSHA384}, nil
		case crypto.SHA512:
			return pkix.AlgorithmIdentifier{Algorithm: OIDECDSAWithSHA512}, nil
		}
	}
	return pkix.AlgorithmIdentifier{}, fmt.Errorf("lds: no signature algorithm for %v with %v", c.PublicKeyAlgorithm, h)
}

// X509SignatureAlgorithm maps the signer's algorithm identifiers to x509's enumeration.
func (s *SecurityObject) X509SignatureAlgorithm() (x509.SignatureAlgorithm, error) {
	o := s.SigAlgOID
	switch {
	case o.Equal(OIDSHA256WithRSA):
		return x509.SHA256WithRSA, nil
	case o.Equal(OIDSHA384WithRSA):
		return x509.SHA384WithRSA, nil
	case o.Equal(OIDSHA512WithRSA):
		return x509.SHA512WithRSA, nil
	case o.Equal(OIDSHA1WithRSA):
		return x509.SHA1WithRSA, nil
	case o.Equal(OIDECDSAWithSHA256):
		return x509.ECDSAWithSHA256, nil
	case o.Equal(OIDECDSAWithSHA384):
		return x509.ECDSAWithSHA384, nil
	case o.Equal(OIDECDSAWithSHA512):
		return x509.ECDSAWithSHA512, nil
	case o.Equal(OIDECDSAWithSHA1):
		return x509.ECDSAWithSHA1, nil
	case o.Equal(OIDRSAEncryption): // rsaEncryption + the signer's digest algorithm
		switch s.DigestAlg {
		case crypto.SHA256:
			return x509.SHA256WithRSA, nil
		case crypto.SHA384:
			return x509.SHA384WithRSA, nil
		case crypto.SHA512:
			return x509.SHA512WithRSA, nil
		case crypto.SHA1:
			return x509.SHA1WithRSA, nil
		}
	case o.Equal(OIDRSAPSS):
		switch s.DigestAlg {
		case crypto.SHA256:
			return x509.SHA256WithRSAPSS, nil
		case crypto.SHA384:
			return x509.SHA384WithRSAPSS, nil
		case crypto.SHA512:
			return x509.SHA512WithRSAPSS, nil
		}
	}
	return 0, fmt.Errorf("lds: unsupported signature algorithm %v", o)
}

// SignerCert finds the certificate in the SOD that the signer identifier names.
func (s *SecurityObject) SignerCert() (*x509.Certificate, error) {
	for _, c := range s.Certificates {
		if s.SignerSerial != nil && c.SerialNumber.Cmp(s.SignerSerial) == 0 && bytes.Equal(c.RawIssuer, s.SignerIssuer) {
			return c, nil
		}
		if s.SignerSKI != nil && bytes.Equal(c.SubjectKeyId, s.SignerSKI) {
			return c, nil
		}
	}
	return nil, errors.New("EF.SOD: the signer's certificate is not in the SOD")
}
