package vcard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"enrolldesk/reader/lds"
	"enrolldesk/reader/pa"
)

// PKI is a test country signing CA and one document signer under it, generated with crypto/x509
// (ICAO Doc 9303 part 12 §7 profiles, reduced to what passive authentication checks).
type PKI struct {
	CSCA    *x509.Certificate
	CSCAKey crypto.Signer
	DS      *x509.Certificate
	DSKey   crypto.Signer
}

// PKIOptions shape the generated certificates.
type PKIOptions struct {
	Now time.Time
	// DSExpired makes the DS certificate's validity end before Now.
	DSExpired bool
	Country   string
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	return n.Add(n, big.NewInt(1))
}

// NewPKI generates a CSCA (ECDSA P-256, self-signed) and a DS certificate it signs.
func NewPKI(o PKIOptions) (*PKI, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Country == "" {
		o.Country = "VN"
	}
	cscaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cscaTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Country: []string{o.Country}, Organization: []string{"enrolldesk test"}, CommonName: "Test CSCA " + o.Country},
		NotBefore:             o.Now.AddDate(-1, 0, 0),
		NotAfter:              o.Now.AddDate(15, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	cscaDER, err := x509.CreateCertificate(rand.Reader, cscaTmpl, cscaTmpl, &cscaKey.PublicKey, cscaKey)
	if err != nil {
		return nil, fmt.Errorf("vcard: CSCA: %w", err)
	}
	csca, _ := x509.ParseCertificate(cscaDER)
	p := &PKI{CSCA: csca, CSCAKey: cscaKey}
	if err := p.IssueDS(o); err != nil {
		return nil, err
	}
	return p, nil
}

// IssueDS (re)issues the DS certificate.
func (p *PKI) IssueDS(o PKIOptions) error {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	dsKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	nb, na := o.Now.AddDate(0, -1, 0), o.Now.AddDate(10, 0, 0)
	if o.DSExpired {
		nb, na = o.Now.AddDate(-11, 0, 0), o.Now.AddDate(0, 0, -1)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Country: p.CSCA.Subject.Country, Organization: []string{"enrolldesk test"}, CommonName: "Test Document Signer"},
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CSCA, &dsKey.PublicKey, p.CSCAKey)
	if err != nil {
		return fmt.Errorf("vcard: DS: %w", err)
	}
	p.DS, _ = x509.ParseCertificate(der)
	p.DSKey = dsKey
	return nil
}

// WriteTrustStore writes the CSCA certificate into dir as a PEM file (a trust store folder).
func (p *PKI) WriteTrustStore(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.CSCA.Raw})
	return os.WriteFile(filepath.Join(dir, "csca.pem"), b, 0o644)
}

// RevokeDS writes a CRL signed by the CSCA that revokes the DS certificate into dir.
func (p *PKI) RevokeDS(dir string, now time.Time) error {
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(1),
		ThisUpdate: now.Add(-time.Hour),
		NextUpdate: now.AddDate(0, 1, 0),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: p.DS.SerialNumber, RevocationTime: now.Add(-time.Hour)},
		},
	}, p.CSCA, p.CSCAKey)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "csca.crl"), crl, 0o644)
}

// LoadOrCreatePKI keeps a test PKI in dir (csca.pem, csca-key.pem, ds.pem, ds-key.pem), creating it
// on first use, so that a desk can trust the virtual card's CSCA across runs.
func LoadOrCreatePKI(dir string) (*PKI, error) {
	p := &PKI{}
	var err error
	if p.CSCA, p.CSCAKey, err = loadPair(dir, "csca"); err == nil {
		if p.DS, p.DSKey, err = loadPair(dir, "ds"); err == nil {
			return p, nil
		}
	}
	if p, err = NewPKI(PKIOptions{}); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := savePair(dir, "csca", p.CSCA, p.CSCAKey); err != nil {
		return nil, err
	}
	if err := savePair(dir, "ds", p.DS, p.DSKey); err != nil {
		return nil, err
	}
	return p, nil
}

func loadPair(dir, name string) (*x509.Certificate, crypto.Signer, error) {
	cb, err := os.ReadFile(filepath.Join(dir, name+".pem"))
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(filepath.Join(dir, name+"-key.pem"))
	if err != nil {
		return nil, nil, err
	}
	cblk, _ := pem.Decode(cb)
	kblk, _ := pem.Decode(kb)
	if cblk == nil || kblk == nil {
		return nil, nil, fmt.Errorf("vcard: %s: not PEM", name)
	}
	c, err := x509.ParseCertificate(cblk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kblk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("vcard: %s key cannot sign", name)
	}
	return c, s, nil
}

func savePair(dir, name string, c *x509.Certificate, k crypto.Signer) error {
	kb, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+"-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
}

// MasterList builds an ICAO CSCA master list of cscas, signed by a fresh master list signer
// certificate issued by this PKI's CSCA (ICAO Doc 9303 part 12 §9).
func (p *PKI) MasterList(cscas ...*x509.Certificate) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Country: p.CSCA.Subject.Country, Organization: []string{"enrolldesk test"}, CommonName: "Test Master List Signer"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CSCA, &key.PublicKey, p.CSCAKey)
	if err != nil {
		return nil, err
	}
	signer, _ := x509.ParseCertificate(der)
	content, err := pa.MasterListBytes(cscas)
	if err != nil {
		return nil, err
	}
	return lds.BuildCMS(pa.OIDCSCAMasterList, content, lds.SODParams{HashAlg: crypto.SHA256, Signer: key, Cert: signer})
}
