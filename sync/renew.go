package hqsync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"enrolldesk/sync/outbox"
	"enrolldesk/sync/protocol"
)

// ErrCertExpired means the desk's TLS certificate has expired: the registry refuses it at the
// TLS layer, so the desk cannot renew it itself and must be re-provisioned with a token from the
// registry operator (`enrolldesk register`).
var ErrCertExpired = errors.New("desk certificate expired: re-provision the desk with a token from the registry operator")

// Cert returns the enrollment's desk certificate.
func (e *Enrollment) Cert() (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(e.Certificate)
	if err != nil {
		return nil, fmt.Errorf("desk certificate: %w", err)
	}
	return c, nil
}

// SaveEnrollment writes an enrollment to path atomically and durably: a temporary file in the
// same directory, fsync'd, renamed over path, and the directory fsync'd, so a crash leaves either
// the old or the new file, never a torn one.
func SaveEnrollment(path string, e *Enrollment) error {
	b, err := e.Marshal()
	if err != nil {
		return fmt.Errorf("save enrollment: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("save enrollment: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("save enrollment: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("save enrollment: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save enrollment: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save enrollment: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save enrollment: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save enrollment: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save enrollment: sync directory: %w", err)
	}
	return nil
}

// Renewer keeps a desk's registry enrollment current. The registry issues short-lived desk
// certificates; the Renewer asks for a fresh one over mutual TLS with the current one
// (POST /v1/desks/{id}/cert with a PKCS#10 request signed by the desk key) once a third of the
// lifetime is left, saves the new enrollment atomically to its file and swaps the certificate in
// every client it built, without a restart.
type Renewer struct {
	path string
	key  ed25519.PrivateKey
	cur  atomic.Pointer[Enrollment]
	hc   *http.Client

	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Interval is how often Run checks whether renewal is due (default 1 h).
	Interval time.Duration
	Log      *slog.Logger
}

// OpenRenewer reads the enrollment at path (the desk's registry.cbor) and checks it against the
// desk key. An expired certificate is opened too: its clients and Renew then fail with
// ErrCertExpired, which the desk shows to the officer.
func OpenRenewer(path string, deskKey ed25519.PrivateKey) (*Renewer, error) {
	if len(deskKey) != ed25519.PrivateKeySize {
		return nil, errors.New("renewer: desk key is not an Ed25519 private key")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("renewer: %w", err)
	}
	e, err := parseEnrollment(b, deskKey.Public().(ed25519.PublicKey), true)
	if err != nil {
		return nil, fmt.Errorf("renewer: %w", err)
	}
	r := &Renewer{path: path, key: deskKey}
	r.cur.Store(e)
	if r.hc, err = r.httpClient(e); err != nil {
		return nil, fmt.Errorf("renewer: %w", err)
	}
	return r, nil
}

func (r *Renewer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Renewer) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// Enrollment returns the current enrollment.
func (r *Renewer) Enrollment() *Enrollment { return r.cur.Load() }

// httpClient is Enrollment.HTTPClient whose client certificate is always the current one. It
// refuses to offer an expired certificate, so the desk reports ErrCertExpired rather than a bare
// TLS alert.
func (r *Renewer) httpClient(e *Enrollment) (*http.Client, error) {
	hc, err := e.HTTPClient(r.key)
	if err != nil {
		return nil, err
	}
	tr := hc.Transport.(*http.Transport)
	tr.TLSClientConfig.Certificates = nil
	tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		cur := r.cur.Load()
		c, err := cur.Cert()
		if err != nil {
			return nil, err
		}
		if r.now().After(c.NotAfter) {
			return nil, fmt.Errorf("%w (it expired on %s)", ErrCertExpired, c.NotAfter.UTC().Format(time.RFC3339))
		}
		return &tls.Certificate{Certificate: [][]byte{cur.Certificate}, PrivateKey: r.key, Leaf: c}, nil
	}
	return hc, nil
}

// HTTPClient returns the desk's mutual-TLS client; it always presents the current certificate.
func (r *Renewer) HTTPClient() *http.Client { return r.hc }

// Client returns the sync client for the uploader; renewals apply to it without a restart.
func (r *Renewer) Client() *outbox.Client {
	e := r.cur.Load()
	return &outbox.Client{BaseURL: e.RegistryURL, HTTP: r.hc, DeskID: e.DeskID, RegistryKey: e.ReceiptKey}
}

// RenewAt is when the current certificate should be renewed: when a third of its lifetime is left.
func (r *Renewer) RenewAt() (time.Time, error) {
	c, err := r.cur.Load().Cert()
	if err != nil {
		return time.Time{}, err
	}
	return c.NotAfter.Add(-c.NotAfter.Sub(c.NotBefore) / 3), nil
}

// RenewIfDue renews when RenewAt has passed; it reports whether it renewed.
func (r *Renewer) RenewIfDue(ctx context.Context) (bool, error) {
	at, err := r.RenewAt()
	if err != nil {
		return false, err
	}
	if r.now().Before(at) {
		return false, nil
	}
	if err := r.Renew(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// Renew asks the registry for a fresh certificate for the desk's key, checks it, saves the new
// enrollment atomically and makes it current. A refusal comes back as a *protocol.Refusal (for
// example protocol.ReasonRevoked with the operator's reason).
func (r *Renewer) Renew(ctx context.Context) error {
	cur := r.cur.Load()
	old, err := cur.Cert()
	if err != nil {
		return fmt.Errorf("renew certificate: %w", err)
	}
	if r.now().After(old.NotAfter) {
		return fmt.Errorf("renew certificate: %w (it expired on %s)", ErrCertExpired, old.NotAfter.UTC().Format(time.RFC3339))
	}
	// RFC 2986: the request is self-signed by the desk key, which proves possession of it.
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cur.DeskID}}, r.key)
	if err != nil {
		return fmt.Errorf("renew certificate: request: %w", err)
	}
	u := strings.TrimSuffix(cur.RegistryURL, "/") + strings.Replace(protocol.PathDeskCert, "{id}", cur.DeskID, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(csr))
	if err != nil {
		return fmt.Errorf("renew certificate: %w", err)
	}
	req.Header.Set("Content-Type", protocol.MediaCSR)
	resp, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("renew certificate: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("renew certificate: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		if ref, derr := protocol.DecodeRefusal(b); derr == nil {
			return fmt.Errorf("renew certificate: %w", ref)
		}
		return fmt.Errorf("renew certificate: HTTP %d", resp.StatusCode)
	}
	var cr protocol.CertRenewal
	if err := protocol.DecMode.Unmarshal(b, &cr); err != nil {
		return fmt.Errorf("renew certificate: answer: %w", err)
	}
	if cr.Version != protocol.Version || cr.DeskID != cur.DeskID || !bytes.Equal(cr.CA, cur.CA) {
		return errors.New("renew certificate: the answer names another desk or another CA")
	}
	next := *cur
	next.Certificate = cr.Certificate
	if err := next.check(r.key.Public().(ed25519.PublicKey)); err != nil {
		return fmt.Errorf("renew certificate: %w", err)
	}
	nc, err := next.Cert()
	if err != nil {
		return fmt.Errorf("renew certificate: %w", err)
	}
	if !nc.NotAfter.After(old.NotAfter) {
		return fmt.Errorf("renew certificate: the new certificate ends %s, not after the current one", nc.NotAfter.UTC().Format(time.RFC3339))
	}
	if err := SaveEnrollment(r.path, &next); err != nil {
		return fmt.Errorf("renew certificate: %w", err)
	}
	r.cur.Store(&next)
	// Connections authenticated with the old certificate end; the next request shakes hands anew.
	r.hc.CloseIdleConnections()
	r.log().Info("desk certificate renewed", "desk", cur.DeskID, "not_after", nc.NotAfter.UTC())
	return nil
}

// Run renews whenever due until ctx ends, checking every Interval. Failures are logged and
// retried at the next check; an expired certificate or a revoked desk is logged as such.
func (r *Renewer) Run(ctx context.Context) error {
	every := r.Interval
	if every <= 0 {
		every = time.Hour
	}
	for {
		if _, err := r.RenewIfDue(ctx); err != nil && ctx.Err() == nil {
			r.log().Warn("desk certificate renewal failed", "err", err)
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
