package pa

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"enrolldesk/reader/lds"
)

// TrustStore holds the CSCA certificates (and their CRLs) the desk trusts.
type TrustStore struct {
	CSCAs []*x509.Certificate
	CRLs  []*x509.RevocationList
}

// LoadTrustStore reads every certificate (.pem, .crt, .cer, .der), CRL (.crl) and ICAO CSCA master
// list (.ml, verified by AddMasterList after the certificates) in dir. PEM files may hold several
// certificates. An empty store is an error: passive authentication without a trust anchor proves
// nothing.
func LoadTrustStore(dir string) (*TrustStore, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	ts := &TrustStore{}
	var lists []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if ext == ".ml" {
			lists = append(lists, e.Name())
			continue
		}
		if ext != ".pem" && ext != ".crt" && ext != ".cer" && ext != ".der" && ext != ".crl" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		if err := ts.add(b, ext == ".crl"); err != nil {
			return nil, fmt.Errorf("trust store: %s: %w", e.Name(), err)
		}
	}
	for _, name := range lists {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		if err := ts.AddMasterList(b, time.Now()); err != nil {
			return nil, fmt.Errorf("trust store: %s: %w", name, err)
		}
	}
	if len(ts.CSCAs) == 0 {
		return nil, fmt.Errorf("trust store: no CSCA certificate in %s", dir)
	}
	return ts, nil
}

func (ts *TrustStore) add(b []byte, crl bool) error {
	var ders [][]byte
	if bytes.Contains(b, []byte("-----BEGIN")) {
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			switch blk.Type {
			case "CERTIFICATE":
				c, err := x509.ParseCertificate(blk.Bytes)
				if err != nil {
					return err
				}
				ts.CSCAs = append(ts.CSCAs, c)
			case "X509 CRL":
				l, err := x509.ParseRevocationList(blk.Bytes)
				if err != nil {
					return err
				}
				ts.CRLs = append(ts.CRLs, l)
			}
		}
		return nil
	}
	ders = append(ders, b)
	for _, d := range ders {
		if crl {
			l, err := x509.ParseRevocationList(d)
			if err != nil {
				return err
			}
			ts.CRLs = append(ts.CRLs, l)
			continue
		}
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return err
		}
		ts.CSCAs = append(ts.CSCAs, c)
	}
	return nil
}

func certName(c *x509.Certificate) string {
	return fmt.Sprintf("%s (serial %s)", c.Subject.String(), c.SerialNumber.Text(16))
}

// Verify runs passive authentication (ICAO Doc 9303 part 11 §5.1; part 12 §4–§6) over a parsed
// SOD and the data groups read, at time now, and appends every check to v. files maps data group
// numbers to their full contents as read from the chip.
func Verify(v *Verdict, sod *lds.SecurityObject, files map[int][]byte, ts *TrustStore, now time.Time) {
	// 1. The signed content is an LDS security object and the signed attributes say so.
	switch {
	case !sod.EContentType.Equal(lds.OIDLDSSecurityObj):
		v.Addf(CheckSODContentType, Failed, "encapsulated content type %v is not ldsSecurityObject", sod.EContentType)
	case !sod.ContentType.Equal(lds.OIDLDSSecurityObj):
		v.Addf(CheckSODContentType, Failed, "signed content-type attribute %v does not match", sod.ContentType)
	default:
		v.Add(CheckSODContentType, Passed, "")
	}
	// 2. The message-digest attribute is the hash of the LDS security object.
	h := sod.DigestAlg.New()
	h.Write(sod.EContent)
	if sod.MessageDigest == nil {
		v.Add(CheckSODDigest, Failed, "no message-digest attribute")
	} else if !bytes.Equal(h.Sum(nil), sod.MessageDigest) {
		v.Add(CheckSODDigest, Failed, "message-digest attribute does not match the LDS security object")
	} else {
		v.Add(CheckSODDigest, Passed, "")
	}
	// 3. The document signer's signature over the signed attributes.
	ds, err := sod.SignerCert()
	if err != nil {
		v.Add(CheckSODSignature, Failed, err.Error())
		v.Add(CheckDSChain, Unavailable, "no document signer certificate")
		v.Add(CheckDSValidity, Unavailable, "no document signer certificate")
		v.Add(CheckCSCAValidity, Unavailable, "no document signer certificate")
	} else {
		v.DocumentSigner = certName(ds)
		alg, err := sod.X509SignatureAlgorithm()
		if err == nil {
			err = ds.CheckSignature(alg, sod.SignedAttrs, sod.Signature)
		}
		if err != nil {
			v.Addf(CheckSODSignature, Failed, "signature does not verify with the DS certificate: %v", err)
		} else {
			v.Add(CheckSODSignature, Passed, "")
		}
		verifyChain(v, ds, ts, now)
	}
	// 4. Every data group read hashes to its value in the SOD.
	nums := make([]int, 0, len(files))
	for n := range files {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		name := fmt.Sprintf("%sDG%d", CheckDGHashPrefix, n)
		want, ok := sod.DGHashes[n]
		if !ok {
			v.Add(name, Failed, "data group was read but the SOD holds no hash for it")
			continue
		}
		hh := sod.HashAlg.New()
		hh.Write(files[n])
		if !bytes.Equal(hh.Sum(nil), want) {
			v.Add(name, Failed, "hash differs from the SOD: the data group was altered")
			continue
		}
		v.Add(name, Passed, "")
	}
}

func verifyChain(v *Verdict, ds *x509.Certificate, ts *TrustStore, now time.Time) {
	if now.Before(ds.NotBefore) || now.After(ds.NotAfter) {
		v.Addf(CheckDSValidity, Failed, "DS certificate valid %s to %s, now %s",
			ds.NotBefore.Format(time.DateOnly), ds.NotAfter.Format(time.DateOnly), now.Format(time.DateOnly))
	} else {
		v.Add(CheckDSValidity, Passed, "")
	}
	if ts == nil || len(ts.CSCAs) == 0 {
		v.Add(CheckDSChain, Unavailable, "no CSCA trust store configured")
		v.Add(CheckCSCAValidity, Unavailable, "no CSCA trust store configured")
		return
	}
	var csca *x509.Certificate
	var lastErr error
	for _, c := range ts.CSCAs {
		if !bytes.Equal(c.RawSubject, ds.RawIssuer) {
			continue
		}
		if err := ds.CheckSignatureFrom(c); err != nil {
			lastErr = err
			continue
		}
		csca = c
		break
	}
	if csca == nil {
		reason := "no CSCA in the trust store issued the DS certificate"
		if lastErr != nil {
			reason = "DS certificate signature does not verify with the named CSCA: " + lastErr.Error()
		}
		v.Add(CheckDSChain, Failed, reason)
		v.Add(CheckCSCAValidity, Unavailable, "no issuing CSCA")
		return
	}
	v.CSCA = certName(csca)
	v.Add(CheckDSChain, Passed, "")
	if now.Before(csca.NotBefore) || now.After(csca.NotAfter) {
		v.Addf(CheckCSCAValidity, Failed, "CSCA certificate valid %s to %s", csca.NotBefore.Format(time.DateOnly), csca.NotAfter.Format(time.DateOnly))
	} else {
		v.Add(CheckCSCAValidity, Passed, "")
	}
	checkCRL(v, ds, csca, ts, now)
}

func checkCRL(v *Verdict, ds, csca *x509.Certificate, ts *TrustStore, now time.Time) {
	var crl *x509.RevocationList
	for _, l := range ts.CRLs {
		if bytes.Equal(l.RawIssuer, csca.RawSubject) && l.CheckSignatureFrom(csca) == nil {
			if crl == nil || l.ThisUpdate.After(crl.ThisUpdate) {
				crl = l
			}
		}
	}
	if crl == nil {
		v.Add(CheckCRL, Unavailable, "no CRL from the issuing CSCA in the trust store")
		return
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(ds.SerialNumber) == 0 {
			v.Addf(CheckCRL, Failed, "DS certificate revoked on %s", e.RevocationTime.Format(time.DateOnly))
			return
		}
	}
	if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
		v.Addf(CheckCRL, Unavailable, "latest CRL expired on %s", crl.NextUpdate.Format(time.DateOnly))
		return
	}
	v.Add(CheckCRL, Passed, "")
}

// ErrNotGenuine is returned by callers that require a passing verdict.
var ErrNotGenuine = errors.New("chip data failed passive authentication")
