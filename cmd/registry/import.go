package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"enrolldesk/desk/export"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/registry"
)

// runImportBundle is `registry import-bundle -data DIR [-url URL | -postgres DSN] FILE...`: the
// air-gapped upload. Each bundle (desk/export) is checked against the desk key the registry holds,
// decrypted with the registry's identity and its batch ingested exactly like an online batch (the
// same verification, idempotency on desk id and sequence, transparency log and signed receipt);
// the receipt is written beside the bundle (export.ReceiptName) for the officer to carry back
// (`enrolldesk export receipt FILE`).
//
// Two ways to reach the registry's store:
//   - -url URL (the service is running): the batch is POSTed to the running service over mutual
//     TLS with a short-lived client certificate the registry's CA issues for the bundle's desk,
//     after the bundle's desk signature has been verified here. The service keeps its in-memory
//     Merkle log in step with its store, so this is the way while `registry serve` runs.
//   - without -url: in process, on the store in -data (or -postgres), through the same handler.
//     Only while no `registry serve` uses that store (the service would not see the new log leaves).
func runImportBundle(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("registry import-bundle", flag.ContinueOnError)
	data := fs.String("data", "", "registry data directory (identity, SQLite store)")
	url := fs.String("url", "", "the running registry service's address (https://host:port); default: in process on -data")
	pg := fs.String("postgres", "", "PostgreSQL connection string (default: SQLite in -data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || fs.NArg() == 0 {
		return errors.New("usage: registry import-bundle -data DIR [-url URL | -postgres DSN] BUNDLE [BUNDLE ...]")
	}
	id, err := registry.LoadOrCreateIdentity(*data)
	if err != nil {
		return err
	}
	var st registry.Store
	if *pg != "" {
		p, err := registry.OpenPostgres(ctx, *pg)
		if err != nil {
			return err
		}
		st = p
	} else {
		s, err := registry.OpenSQLite(ctx, filepath.Join(*data, "registry.sqlite"))
		if err != nil {
			return err
		}
		st = s
	}
	defer st.Close()

	var imp bundleImporter
	if *url != "" {
		imp = &remoteImporter{url: *url, id: id, store: st}
	} else {
		imp = &export.Importer{Server: &registry.Server{Store: st, Key: id.SigningKey}, Identity: id.Seal}
	}
	var failed error
	for _, path := range fs.Args() {
		rp, stored, err := importOne(ctx, imp, path)
		if err != nil {
			// One bad bundle does not stop the others: each is independent and idempotent.
			fmt.Fprintf(stdout, "refused %s: %v\n", path, err)
			failed = errors.Join(failed, fmt.Errorf("%s: %w", filepath.Base(path), err))
			continue
		}
		fmt.Fprintf(stdout, "imported %s: %d new records; receipt %s\n", path, stored, rp)
	}
	return failed
}

type bundleImporter interface {
	Import(ctx context.Context, bundle []byte) (receipt []byte, stored int, err error)
}

// importOne imports the bundle file at path and writes its receipt beside it.
func importOne(ctx context.Context, imp bundleImporter, path string) (string, int, error) {
	b, err := readFileLimited(path, export.MaxBundleSize)
	if err != nil {
		return "", 0, fmt.Errorf("import bundle: %w", err)
	}
	rc, stored, err := imp.Import(ctx, b)
	if err != nil {
		return "", 0, err
	}
	rp := filepath.Join(filepath.Dir(path), export.ReceiptName(filepath.Base(path)))
	if err := writeFileAtomic(rp, rc); err != nil {
		return "", 0, fmt.Errorf("import bundle: receipt: %w", err)
	}
	return rp, stored, nil
}

// remoteImporter hands a verified, decrypted bundle batch to the running service over mutual TLS.
type remoteImporter struct {
	url   string
	id    *registry.Identity
	store registry.Store
}

func (r *remoteImporter) Import(ctx context.Context, bundle []byte) ([]byte, int, error) {
	_, h, err := export.Parse(bundle)
	if err != nil {
		return nil, 0, fmt.Errorf("import bundle: %w", err)
	}
	desk, err := r.store.Desk(ctx, h.DeskID)
	if err != nil {
		return nil, 0, fmt.Errorf("import bundle from desk %s: %w", h.DeskID, err)
	}
	_, bt, err := export.Open(bundle, desk.PublicKey, r.id.Seal)
	if err != nil {
		return nil, 0, fmt.Errorf("import bundle: %w", err)
	}
	client, err := r.client(desk.ID)
	if err != nil {
		return nil, 0, err
	}
	defer client.HTTP.CloseIdleConnections()
	rc, err := client.Send(ctx, bt)
	if err != nil {
		if ref, ok := outbox.IsRefusal(err); ok {
			return nil, 0, &export.RefusedError{Refusal: ref}
		}
		return nil, 0, fmt.Errorf("import bundle: %w", err)
	}
	return rc.Raw, rc.Stored, nil
}

// client returns a registry client for desk: TLS 1.3 to a server whose certificate the registry CA
// issued, presenting a five-minute client certificate for the desk id on a fresh key (the service
// identifies the desk by the certificate's name; the records' own desk signatures are verified
// there as for any batch, and the bundle's signature was verified before).
func (r *remoteImporter) client(deskID string) (*outbox.Client, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("import bundle: client key: %w", err)
	}
	der, err := r.id.IssueDeskCert(deskID, pub, 5*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("import bundle: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(r.id.CA)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots,
			Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		ForceAttemptHTTP2: true,
	}
	return &outbox.Client{BaseURL: r.url, HTTP: &http.Client{Transport: tr, Timeout: 5 * time.Minute}, DeskID: deskID,
		RegistryKey: r.id.SigningKey.Public().(ed25519.PublicKey)}, nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// writeFileAtomic writes path through a synced temporary file and a rename, so a drive pulled
// mid-write never holds a truncated receipt under the receipt's name.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
