package vcard

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"enrolldesk/reader/eac"
)

// EACPKI is a test country verifying CA with a domestic document verifier (BSI TR-03110 part 3
// §2), to personalise cards (Options.CVCA) and issue inspection system credentials for desks.
type EACPKI struct {
	CVCA    *eac.Cert
	CVCAKey *ecdsa.PrivateKey
	DV      *eac.Cert
	DVKey   *ecdsa.PrivateKey
}

// NewEACPKI generates a CVCA and a DV with DG3 rights.
func NewEACPKI(country string) (*EACPKI, error) {
	now := time.Now()
	p := &EACPKI{}
	var err error
	if p.CVCAKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if p.DVKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if p.CVCA, err = eac.Issue(country+"CVCA00001", country+"CVCA00001", &p.CVCAKey.PublicKey, eac.RoleCVCA|eac.RightDG3|eac.RightDG4, now.AddDate(0, -1, 0), now.AddDate(3, 0, 0), p.CVCAKey); err != nil {
		return nil, err
	}
	if p.DV, err = eac.Issue(p.CVCA.CHR, country+"DVTEST001", &p.DVKey.PublicKey, eac.RoleDVDomest|eac.RightDG3|eac.RightDG4, now.AddDate(0, 0, -7), now.AddDate(0, 6, 0), p.CVCAKey); err != nil {
		return nil, err
	}
	return p, nil
}

// Terminal issues an inspection system certificate (DG3 rights, valid 30 days) and key.
func (p *EACPKI) Terminal(chr string) (*eac.Terminal, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	is, err := eac.Issue(p.DV.CHR, chr, &k.PublicKey, eac.RoleIS|eac.RightDG3, time.Now().AddDate(0, 0, -1), time.Now().AddDate(0, 0, 30), p.DVKey)
	if err != nil {
		return nil, err
	}
	return &eac.Terminal{Chain: []*eac.Cert{p.DV, is}, Key: k}, nil
}

// LoadOrCreateEACPKI keeps the EAC test PKI in dir (cvca.cvcert, cvca-key.pem, dvca.cvcert,
// dvca-key.pem).
func LoadOrCreateEACPKI(dir string) (*EACPKI, error) {
	p := &EACPKI{}
	load := func(name string) (*eac.Cert, *ecdsa.PrivateKey, error) {
		cb, err := os.ReadFile(filepath.Join(dir, name+".cvcert"))
		if err != nil {
			return nil, nil, err
		}
		c, err := eac.Parse(cb)
		if err != nil {
			return nil, nil, err
		}
		kb, err := os.ReadFile(filepath.Join(dir, name+"-key.pem"))
		if err != nil {
			return nil, nil, err
		}
		blk, _ := pem.Decode(kb)
		if blk == nil {
			return nil, nil, fmt.Errorf("vcard: %s key not PEM", name)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, nil, err
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("vcard: %s key not EC", name)
		}
		return c, ek, nil
	}
	var err error
	if p.CVCA, p.CVCAKey, err = load("cvca"); err == nil {
		if p.DV, p.DVKey, err = load("dvca"); err == nil {
			return p, nil
		}
	}
	if p, err = NewEACPKI("VN"); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for name, pair := range map[string]struct {
		c *eac.Cert
		k *ecdsa.PrivateKey
	}{"cvca": {p.CVCA, p.CVCAKey}, "dvca": {p.DV, p.DVKey}} {
		kb, err := x509.MarshalPKCS8PrivateKey(pair.k)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".cvcert"), pair.c.Raw(), 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}
