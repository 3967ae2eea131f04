package pa

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"enrolldesk/reader/lds"
)

// OIDCSCAMasterList is id-icao-cscaMasterList (ICAO Doc 9303 part 12 §9).
var OIDCSCAMasterList = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}

type cscaMasterList struct {
	Version  int
	CertList []asn1.RawValue `asn1:"set"`
}

// MasterListBytes encodes a CscaMasterList content (for the signer, e.g. the test tooling).
func MasterListBytes(certs []*x509.Certificate) ([]byte, error) {
	ml := cscaMasterList{}
	for _, c := range certs {
		ml.CertList = append(ml.CertList, asn1.RawValue{FullBytes: c.Raw})
	}
	return asn1.Marshal(ml)
}

// AddMasterList verifies an ICAO CSCA master list (CMS SignedData over a CscaMasterList, ICAO Doc
// 9303 part 12 §9) and adds its certificates. The list's signer certificate must verify the
// signature and must itself be issued by a CSCA already in the store or in the list (the master
// list signer is issued by its state's CSCA), and be valid at now.
func (ts *TrustStore) AddMasterList(der []byte, now time.Time) error {
	cms, err := lds.ParseCMS(der)
	if err != nil {
		return fmt.Errorf("master list: %w", err)
	}
	if !cms.EContentType.Equal(OIDCSCAMasterList) || !cms.ContentType.Equal(OIDCSCAMasterList) {
		return fmt.Errorf("master list: content type %v", cms.EContentType)
	}
	h := cms.DigestAlg.New()
	h.Write(cms.EContent)
	if !bytes.Equal(h.Sum(nil), cms.MessageDigest) {
		return errors.New("master list: message digest does not match the content")
	}
	signer, err := cms.SignerCert()
	if err != nil {
		return fmt.Errorf("master list: %w", err)
	}
	alg, err := cms.X509SignatureAlgorithm()
	if err != nil {
		return fmt.Errorf("master list: %w", err)
	}
	if err := signer.CheckSignature(alg, cms.SignedAttrs, cms.Signature); err != nil {
		return fmt.Errorf("master list: signature: %w", err)
	}
	if now.Before(signer.NotBefore) || now.After(signer.NotAfter) {
		return errors.New("master list: signer certificate not valid now")
	}
	var ml cscaMasterList
	if rest, err := asn1.Unmarshal(cms.EContent, &ml); err != nil || len(rest) != 0 {
		return fmt.Errorf("master list: content: %v", err)
	}
	var listed []*x509.Certificate
	for _, raw := range ml.CertList {
		c, err := x509.ParseCertificate(raw.FullBytes)
		if err != nil {
			return fmt.Errorf("master list: certificate: %w", err)
		}
		listed = append(listed, c)
	}
	issued := false
	for _, ca := range append(append([]*x509.Certificate(nil), ts.CSCAs...), listed...) {
		if bytes.Equal(ca.RawSubject, signer.RawIssuer) && signer.CheckSignatureFrom(ca) == nil {
			issued = true
			break
		}
	}
	if !issued {
		return errors.New("master list: the signer certificate is not issued by a known CSCA")
	}
	ts.CSCAs = append(ts.CSCAs, listed...)
	return nil
}
