package export

import (
	"context"
	"errors"
	"fmt"

	"path/filepath"
	"time"

	"filippo.io/age"

	"enrolldesk/sync/protocol"
	"enrolldesk/sync/registry"
)

// Importer is the registry side of an air-gapped upload: it opens a bundle and stores its batch
// through registry.Server.Ingest, exactly as if the desk had posted it, then signs the receipt.
type Importer struct {
	Server   *registry.Server
	Identity age.Identity // the registry's X25519 identity (the same that unseals blobs)
	Now      func() time.Time
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
	head, stored, ref := im.Server.Ingest(ctx, "", bt)
	if ref != nil {
		return nil, 0, &RefusedError{Refusal: ref}
	}
	now := time.Now
	if im.Now != nil {
		now = im.Now
	}
	rc := &protocol.Receipt{Version: protocol.Version, DeskID: bt.DeskID, Seq: head.Seq, Head: head.Hash, Stored: stored, Time: now().UnixMilli()}
	receipt, err = protocol.SignReceipt(rc, im.Server.Key)
	if err != nil {
		return nil, 0, fmt.Errorf("import bundle: %w", err)
	}
	return receipt, stored, nil
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
