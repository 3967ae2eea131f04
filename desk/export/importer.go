package export

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"

	"filippo.io/age"

	"enrolldesk/sync/protocol"
	"enrolldesk/sync/registry"
)

// Importer is the registry side of an air-gapped upload: it opens a bundle and hands its batch to
// the registry's own batch handler, exactly as if the desk had posted it, and returns the signed
// receipt the handler answers.
type Importer struct {
	Server   *registry.Server
	Identity age.Identity // the registry's X25519 identity (the same that unseals blobs)
}

// RefusedError is an import the registry refused, with the protocol's reason.
type RefusedError struct{ Refusal *protocol.Refusal }

func (e *RefusedError) Error() string { return "import bundle: " + e.Refusal.Error() }

// Import verifies, decrypts and ingests one bundle and returns the signed receipt (the same
// COSE_Sign1 receipt an online batch gets) and how many records were new. A replayed bundle
// stores nothing and gets a receipt for the unchanged head.
func (im *Importer) Import(ctx context.Context, bundle []byte) (receipt []byte, stored int, err error) {
	if im.Server == nil || im.Server.Store == nil || im.Identity == nil {
		return nil, 0, errors.New("import bundle: registry server, store and identity are required")
	}
	_, h, err := Parse(bundle)
	if err != nil {
		return nil, 0, fmt.Errorf("import bundle: %w", err)
	}
	desk, err := im.Server.Store.Desk(ctx, h.DeskID)
	if err != nil {
		return nil, 0, fmt.Errorf("import bundle from desk %s: %w", h.DeskID, err)
	}
	_, bt, err := Open(bundle, desk.PublicKey, im.Identity)
	if err != nil {
		return nil, 0, fmt.Errorf("import bundle: %w", err)
	}
	// The batch goes through the registry's own HTTP handler, in process: the same verification,
	// storage, transparency log and signed receipt as an online upload. The desk's signature on
	// the bundle, checked above, stands for the mutual-TLS client certificate of an online batch.
	body, err := protocol.EncMode.Marshal(bt)
	if err != nil {
		return nil, 0, fmt.Errorf("import bundle: %w", err)
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, protocol.PathBatches, bytes.NewReader(body))
	req.Header.Set("Content-Type", protocol.MediaType)
	req.TLS = &tls.ConnectionState{HandshakeComplete: true,
		PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: desk.ID}, PublicKey: desk.PublicKey}}}
	w := httptest.NewRecorder()
	im.Server.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		ref, err := protocol.DecodeRefusal(w.Body.Bytes())
		if err != nil {
			return nil, 0, fmt.Errorf("import bundle: registry answered %d", w.Code)
		}
		return nil, 0, &RefusedError{Refusal: ref}
	}
	receipt = w.Body.Bytes()
	rc, err := protocol.VerifyReceipt(receipt, im.Server.Key.Public().(ed25519.PublicKey), desk.ID)
	if err != nil {
		return nil, 0, fmt.Errorf("import bundle: %w", err)
	}
	return receipt, rc.Stored, nil
}

// ImportFile imports the bundle at path and writes its receipt beside it (ReceiptName), for the
// officer to carry back to the desk.
func (im *Importer) ImportFile(ctx context.Context, path string) (receiptPath string, stored int, err error) {
	b, err := readLimited(path, MaxBundleSize)
	if err != nil {
		return "", 0, fmt.Errorf("import bundle: %w", err)
	}
	rc, stored, err := im.Import(ctx, b)
	if err != nil {
		return "", 0, err
	}
	name := ReceiptName(filepath.Base(path))
	if err := writeAtomic(filepath.Dir(path), name, rc); err != nil {
		return "", 0, fmt.Errorf("import bundle: %w", err)
	}
	return filepath.Join(filepath.Dir(path), name), stored, nil
}
