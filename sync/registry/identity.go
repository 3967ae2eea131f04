package registry

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
)

// Identity is the registry's key material: a CA that issues desk (and its own server)
// certificates, the key that signs receipts, the X25519 identity that biometric blobs are sealed
// to, and the secret behind provisioning tokens.
type Identity struct {
	CA          *x509.Certificate
	CAKey       ed25519.PrivateKey
	SigningKey  ed25519.PrivateKey
	Seal        *age.X25519Identity
	TokenSecret []byte
}

// NewIdentity creates fresh key material.
func NewIdentity() (*Identity, error) {
	_, caKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("registry identity: %w", err)
	}
	_, sigKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("registry identity: %w", err)
	}
	seal, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("registry identity: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("registry identity: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{CommonName: "enrolldesk registry CA", Organization: []string{"enrolldesk"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("registry identity: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("registry identity: %w", err)
	}
	return &Identity{CA: ca, CAKey: caKey, SigningKey: sigKey, Seal: seal, TokenSecret: secret}, nil
}

func randSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

const identityFile = "registry-identity.pem"

// LoadOrCreateIdentity reads the identity from dir, creating it on first use (file mode 0600).
func LoadOrCreateIdentity(dir string) (*Identity, error) {
	path := filepath.Join(dir, identityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		id, err := NewIdentity()
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("save registry identity: %w", err)
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, id.encode(), 0o600); err != nil {
			return nil, fmt.Errorf("save registry identity: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, fmt.Errorf("save registry identity: %w", err)
		}
		return id, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load registry identity: %w", err)
	}
	return decodeIdentity(b)
}

func (id *Identity) encode() []byte {
	var out []byte
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.CA.Raw})...)
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CA SEED", Bytes: id.CAKey.Seed()})...)
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "RECEIPT SEED", Bytes: id.SigningKey.Seed()})...)
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "AGE IDENTITY", Bytes: []byte(id.Seal.String())})...)
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "TOKEN SECRET", Bytes: id.TokenSecret})...)
	return out
}

func decodeIdentity(b []byte) (*Identity, error) {
	id := &Identity{}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		var err error
		switch blk.Type {
		case "CERTIFICATE":
			id.CA, err = x509.ParseCertificate(blk.Bytes)
		case "CA SEED", "RECEIPT SEED":
			if len(blk.Bytes) != ed25519.SeedSize {
				err = errors.New("bad seed size")
			} else if blk.Type == "CA SEED" {
				id.CAKey = ed25519.NewKeyFromSeed(blk.Bytes)
			} else {
				id.SigningKey = ed25519.NewKeyFromSeed(blk.Bytes)
			}
		case "AGE IDENTITY":
			id.Seal, err = age.ParseX25519Identity(string(blk.Bytes))
		case "TOKEN SECRET":
			id.TokenSecret = blk.Bytes
		}
		if err != nil {
			return nil, fmt.Errorf("load registry identity: %s: %w", blk.Type, err)
		}
	}
	if id.CA == nil || id.CAKey == nil || id.SigningKey == nil || id.Seal == nil || len(id.TokenSecret) != 32 {
		return nil, errors.New("load registry identity: incomplete file")
	}
	return id, nil
}

// CAFingerprint is the hex SHA-256 of the CA certificate, which an operator hands to a desk with
// its provisioning token so that the desk can trust the registry on first contact.
func (id *Identity) CAFingerprint() string {
	h := sha256.Sum256(id.CA.Raw)
	return hex.EncodeToString(h[:])
}

// ProvisioningToken returns the token that lets the desk deskID enrol. It is an HMAC of the desk
// id under the registry's secret: it provisions only that desk id, and a desk id, once registered,
// keeps its first key, so a leaked token cannot re-key a desk.
func (id *Identity) ProvisioningToken(deskID string) string {
	m := hmac.New(sha256.New, id.TokenSecret)
	m.Write([]byte("enrolldesk provisioning token v1\x00" + deskID))
	return hex.EncodeToString(m.Sum(nil))
}

func (id *Identity) checkToken(deskID, token string) bool {
	want := id.ProvisioningToken(deskID)
	return hmac.Equal([]byte(want), []byte(token))
}

// IssueDeskCert issues a TLS client certificate for a desk's Ed25519 key, CN = desk id.
func (id *Identity) IssueDeskCert(deskID string, pub ed25519.PublicKey, validity time.Duration) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{CommonName: deskID, Organization: []string{"enrolldesk desk"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, id.CA, pub, id.CAKey)
	if err != nil {
		return nil, fmt.Errorf("issue desk certificate %s: %w", deskID, err)
	}
	return der, nil
}

// ServerTLS returns the registry's TLS configuration: a server certificate for hosts issued by
// the CA (sent with the CA so a desk can check its pinned fingerprint), TLS 1.3, HTTP/2, and
// client certificates verified against the CA when given (provisioning comes without one).
func (id *Identity) ServerTLS(hosts []string) (*tls.Config, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{CommonName: "enrolldesk registry"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, id.CA, key.Public(), id.CAKey)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(id.CA)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, id.CA.Raw}, PrivateKey: key}},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}
