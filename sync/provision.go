package hqsync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/fxamacker/cbor/v2"

	"enrolldesk/sync/outbox"
	"enrolldesk/sync/protocol"
)

// Enrollment is what a desk keeps after provisioning: its certificate from the registry CA, the
// CA, the key that signs receipts and the key that blobs are sealed to. It holds no secret (the
// desk's private key stays with the desk), so the desk may store it in plain form.
type Enrollment struct {
	RegistryURL string `cbor:"url"`
	DeskID      string `cbor:"desk"`
	Certificate []byte `cbor:"cert"`
	CA          []byte `cbor:"ca"`
	ReceiptKey  []byte `cbor:"rkey"`
	SealTo      string `cbor:"sealto"`
}

// DefaultProvisionTimeout bounds Provision when its context has no deadline (the default of the
// desk's timeouts.network setting).
const DefaultProvisionTimeout = 30 * time.Second

// Provision enrols the desk with the registry at registryURL (https://host:port): the operator
// gives the desk a provisioning token and the registry CA's SHA-256 fingerprint (hex) out of band;
// the desk proves it holds deskKey and gets its TLS client certificate. The lead's
// `enrolldesk provision` calls this after creating the desk key, then stores the Enrollment
// (Marshal) beside the desk identity.
//
// ctx bounds the whole exchange: `enrolldesk register` gives it the desk's timeouts.network
// setting. A ctx without a deadline gets DefaultProvisionTimeout, so a registry that accepts the
// connection and never answers cannot hold the desk forever.
func Provision(ctx context.Context, registryURL, caFingerprint, token, deskID string, deskKey ed25519.PrivateKey) (*Enrollment, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultProvisionTimeout)
		defer cancel()
	}
	pin, err := hex.DecodeString(strings.ReplaceAll(caFingerprint, ":", ""))
	if err != nil || len(pin) != sha256.Size {
		return nil, errors.New("provision: CA fingerprint must be 64 hex digits (SHA-256)")
	}
	if len(deskKey) != ed25519.PrivateKeySize {
		return nil, errors.New("provision: desk key is not an Ed25519 private key")
	}
	pub := deskKey.Public().(ed25519.PublicKey)
	req := &protocol.ProvisionRequest{Version: protocol.Version, DeskID: deskID, PublicKey: pub, Token: token,
		Proof: ed25519.Sign(deskKey, protocol.ProvisionProofMessage(deskID, token, pub))}
	body, err := protocol.EncMode.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	// First contact: trust the server only if its chain ends in the pinned CA.
	tlsCfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, //nolint:gosec // replaced by the pinned-CA check in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPinned(cs, pin)
		},
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}}
	defer hc.CloseIdleConnections()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(registryURL, "/")+protocol.PathProvision, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	hreq.Header.Set("Content-Type", protocol.MediaType)
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		if ref, derr := protocol.DecodeRefusal(b); derr == nil {
			return nil, fmt.Errorf("provision: %w", ref)
		}
		return nil, fmt.Errorf("provision: HTTP %d", resp.StatusCode)
	}
	var pr protocol.ProvisionResponse
	if err := protocol.DecMode.Unmarshal(b, &pr); err != nil {
		return nil, fmt.Errorf("provision: answer: %w", err)
	}
	e := &Enrollment{RegistryURL: registryURL, DeskID: deskID, Certificate: pr.Certificate, CA: pr.CA, ReceiptKey: pr.ReceiptKey, SealTo: pr.SealTo}
	if sha256.Sum256(e.CA) != [32]byte(pin) {
		return nil, errors.New("provision: the registry answered with another CA than the pinned one")
	}
	if err := e.check(pub); err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	return e, nil
}

func verifyPinned(cs tls.ConnectionState, pin []byte) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("registry sent no certificate")
	}
	for _, c := range cs.PeerCertificates[1:] {
		if sum := sha256.Sum256(c.Raw); bytes.Equal(sum[:], pin) {
			pool := x509.NewCertPool()
			pool.AddCert(c)
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: cs.ServerName})
			if err != nil {
				return fmt.Errorf("registry certificate: %w", err)
			}
			return nil
		}
	}
	return errors.New("registry certificate does not chain to the pinned CA")
}

// check verifies the bundle: the certificate is the CA's, is valid now, names the desk and
// certifies its key.
func (e *Enrollment) check(pub ed25519.PublicKey) error { return e.checkAt(pub, false) }

// checkAt is check; with anyTime the certificate's validity period is not held against the
// clock (the Renewer opens an expired enrollment to report ErrCertExpired clearly).
func (e *Enrollment) checkAt(pub ed25519.PublicKey, anyTime bool) error {
	ca, err := x509.ParseCertificate(e.CA)
	if err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(e.Certificate)
	if err != nil {
		return fmt.Errorf("desk certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	opts := x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if anyTime {
		opts.CurrentTime = cert.NotAfter
	}
	if _, err := cert.Verify(opts); err != nil {
		return fmt.Errorf("desk certificate: %w", err)
	}
	if cert.Subject.CommonName != e.DeskID {
		return fmt.Errorf("desk certificate names %q", cert.Subject.CommonName)
	}
	if cp, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !cp.Equal(pub) {
		return errors.New("desk certificate certifies another key")
	}
	if len(e.ReceiptKey) != ed25519.PublicKeySize {
		return errors.New("receipt key is not an Ed25519 key")
	}
	if _, err := age.ParseX25519Recipient(e.SealTo); err != nil {
		return fmt.Errorf("seal recipient: %w", err)
	}
	return nil
}

// Marshal encodes the enrollment for storage.
func (e *Enrollment) Marshal() ([]byte, error) { return protocol.EncMode.Marshal(e) }

// ParseEnrollment decodes a stored enrollment and checks it against the desk's public key.
func ParseEnrollment(b []byte, deskPub ed25519.PublicKey) (*Enrollment, error) {
	return parseEnrollment(b, deskPub, false)
}

// ParseStoredEnrollment checks a desk's stored enrollment like ParseEnrollment except for the
// certificate's validity period: a desk that stayed offline past its short-lived certificate must
// still open, queue records and seal them to the registry; the registry refuses the expired
// certificate at the TLS layer and the Renewer reports ErrCertExpired.
func ParseStoredEnrollment(b []byte, deskPub ed25519.PublicKey) (*Enrollment, error) {
	return parseEnrollment(b, deskPub, true)
}

func parseEnrollment(b []byte, deskPub ed25519.PublicKey, anyTime bool) (*Enrollment, error) {
	var e Enrollment
	if err := cbor.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("parse enrollment: %w", err)
	}
	if err := e.checkAt(deskPub, anyTime); err != nil {
		return nil, fmt.Errorf("parse enrollment: %w", err)
	}
	return &e, nil
}

// Recipient is the age recipient that the outbox seals blobs to.
func (e *Enrollment) Recipient() (age.Recipient, error) { return age.ParseX25519Recipient(e.SealTo) }

// HTTPClient returns the desk's client for the registry: TLS 1.3 with the desk certificate and
// key, the registry CA as the only root, HTTP/2.
func (e *Enrollment) HTTPClient(deskKey ed25519.PrivateKey) (*http.Client, error) {
	ca, err := x509.ParseCertificate(e.CA)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	tlsCfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{e.Certificate}, PrivateKey: deskKey}},
	}
	return &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 20 * time.Second,
		ResponseHeaderTimeout: 3 * time.Minute, IdleConnTimeout: 90 * time.Second,
	}}, nil
}

// Client returns the sync client for this enrollment.
func (e *Enrollment) Client(deskKey ed25519.PrivateKey) (*outbox.Client, error) {
	hc, err := e.HTTPClient(deskKey)
	if err != nil {
		return nil, err
	}
	return &outbox.Client{BaseURL: e.RegistryURL, HTTP: hc, DeskID: e.DeskID, RegistryKey: e.ReceiptKey}, nil
}
