package lds

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"enrolldesk/reader/tlv"
)

// SecurityInfo is one entry of a SecurityInfos set (ICAO Doc 9303 part 11 §9.2): DG14 and
// EF.CardAccess both hold a SET OF SecurityInfo { protocol OID, requiredData, optionalData }.
type SecurityInfo struct {
	Protocol asn1.ObjectIdentifier
	Required asn1.RawValue
	Optional asn1.RawValue
}

type rawSecurityInfo struct {
	Protocol asn1.ObjectIdentifier
	Required asn1.RawValue
	Optional asn1.RawValue `asn1:"optional"`
}

// ParseSecurityInfos decodes a DER SET OF SecurityInfo.
func ParseSecurityInfos(b []byte) ([]SecurityInfo, error) {
	var set asn1.RawValue
	rest, err := asn1.Unmarshal(b, &set)
	if err != nil || len(rest) != 0 || set.Tag != asn1.TagSet {
		return nil, fmt.Errorf("SecurityInfos: not a SET: %v", err)
	}
	var out []SecurityInfo
	r := set.Bytes
	for len(r) > 0 {
		var si rawSecurityInfo
		if r, err = asn1.Unmarshal(r, &si); err != nil {
			return nil, fmt.Errorf("SecurityInfos: %w", err)
		}
		out = append(out, SecurityInfo(si))
	}
	return out, nil
}

// BSI TR-03110 part 3 §A.1.1 / ICAO Doc 9303 part 11 §9.2 object identifiers (bsi-de 0.4.0.127.0.7).
var (
	OIDPKDH             = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 1, 1}
	OIDPKECDH           = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 1, 2}
	OIDCAECDH3DES       = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, 1}
	OIDCAECDHAES128     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, 2}
	OIDCAECDHAES192     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, 3}
	OIDCAECDHAES256     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, 4}
	OIDCADHAES128       = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 1, 2}
	OIDActiveAuth       = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 5}
	OIDPACEECDHGMAES128 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 2}
	OIDPACEECDHGMAES192 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 3}
	OIDPACEECDHGMAES256 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 4}
	OIDPACEECDHGM3DES   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 1}
)

// ChipAuthKey is a ChipAuthenticationPublicKeyInfo of DG14.
type ChipAuthKey struct {
	Protocol asn1.ObjectIdentifier
	// SPKI is the DER SubjectPublicKeyInfo of the chip's static key.
	SPKI  []byte
	KeyID []byte
}

// ChipAuthInfo is a ChipAuthenticationInfo of DG14.
type ChipAuthInfo struct {
	Protocol asn1.ObjectIdentifier
	Version  int
	KeyID    []byte
}

// SecurityDG14 holds the security infos of data group 14.
type SecurityDG14 struct {
	Infos    []SecurityInfo
	CAKeys   []ChipAuthKey
	CAInfos  []ChipAuthInfo
	AASigAlg asn1.ObjectIdentifier // from ActiveAuthenticationInfo, if present
}

// ParseDG14 decodes DG14: 6E { SecurityInfos }.
func ParseDG14(b []byte) (*SecurityDG14, error) {
	v, err := tlv.Unwrap(b, 0x6E)
	if err != nil {
		return nil, fmt.Errorf("DG14: %w", err)
	}
	infos, err := ParseSecurityInfos(v)
	if err != nil {
		return nil, fmt.Errorf("DG14: %w", err)
	}
	d := &SecurityDG14{Infos: infos}
	for _, si := range infos {
		switch {
		case si.Protocol.Equal(OIDPKECDH) || si.Protocol.Equal(OIDPKDH):
			k := ChipAuthKey{Protocol: si.Protocol, SPKI: si.Required.FullBytes}
			if len(si.Optional.FullBytes) > 0 {
				var id int
				if _, err := asn1.Unmarshal(si.Optional.FullBytes, &id); err == nil {
					k.KeyID = si.Optional.Bytes
				}
			}
			d.CAKeys = append(d.CAKeys, k)
		case len(si.Protocol) == 11 && si.Protocol[:9].Equal(OIDCAECDHAES128[:9]):
			ci := ChipAuthInfo{Protocol: si.Protocol}
			if _, err := asn1.Unmarshal(si.Required.FullBytes, &ci.Version); err != nil {
				return nil, fmt.Errorf("DG14: ChipAuthenticationInfo version: %w", err)
			}
			if len(si.Optional.FullBytes) > 0 {
				ci.KeyID = si.Optional.Bytes
			}
			d.CAInfos = append(d.CAInfos, ci)
		case si.Protocol.Equal(OIDActiveAuth):
			if len(si.Optional.FullBytes) > 0 {
				var oid asn1.ObjectIdentifier
				if _, err := asn1.Unmarshal(si.Optional.FullBytes, &oid); err == nil {
					d.AASigAlg = oid
				}
			}
		}
	}
	return d, nil
}

// DG14Bytes builds DG14 with one chip authentication key (ECDH) and its info.
func DG14Bytes(spki []byte, caProtocol asn1.ObjectIdentifier) ([]byte, error) {
	return DG14BytesKey(OIDPKECDH, spki, caProtocol)
}

// DG14BytesKey builds DG14 with one chip authentication key of the given kind (OIDPKECDH or
// OIDPKDH) and its ChipAuthenticationInfo.
func DG14BytesKey(pkProtocol asn1.ObjectIdentifier, spki []byte, caProtocol asn1.ObjectIdentifier) ([]byte, error) {
	type pkInfo struct {
		Protocol asn1.ObjectIdentifier
		Key      asn1.RawValue
	}
	type caInfo struct {
		Protocol asn1.ObjectIdentifier
		Version  int
	}
	a, err := asn1.Marshal(pkInfo{pkProtocol, asn1.RawValue{FullBytes: spki}})
	if err != nil {
		return nil, err
	}
	b, err := asn1.Marshal(caInfo{caProtocol, 1})
	if err != nil {
		return nil, err
	}
	set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: append(a, b...)})
	if err != nil {
		return nil, err
	}
	return tlv.Encode(0x6E, set), nil
}

// AAKey is the active authentication public key.
type AAKey struct {
	SPKI []byte
	Key  any // *rsa.PublicKey or *ecdsa.PublicKey when Go can parse it
}

// ParseDG15 decodes DG15: 6F { SubjectPublicKeyInfo } (ICAO Doc 9303 part 11 §6.1).
func ParseDG15(b []byte) (*AAKey, error) {
	v, err := tlv.Unwrap(b, 0x6F)
	if err != nil {
		return nil, fmt.Errorf("DG15: %w", err)
	}
	d := &AAKey{SPKI: v}
	if d.Key, err = x509.ParsePKIXPublicKey(v); err != nil {
		return nil, fmt.Errorf("DG15: public key: %w", err)
	}
	return d, nil
}

// DG15Bytes wraps a SubjectPublicKeyInfo into DG15.
func DG15Bytes(spki []byte) []byte { return tlv.Encode(0x6F, spki) }
