// Package export carries a desk's records to the registry on a removable drive when the desk has
// no network (air-gapped upload), and brings the registry's receipt back.
//
// A bundle file holds exactly what an online upload sends — a version-1 protocol.Batch of signed
// records with their sealed blobs — encrypted to the registry (age, X25519) so a lost drive
// reveals nothing, and signed by the desk's Ed25519 key so the registry knows which desk wrote
// it before it decrypts anything. The registry imports it through the same Ingest path as an
// online batch (same verification, same idempotency by desk id and sequence: a replayed bundle
// stores nothing) and writes the same signed receipt, which the desk verifies and applies like
// an online receipt (records acknowledged, raw blobs purged).
//
// Any record not yet acknowledged is exported, whether it was already sent online or not
// (MOSIP's client exports only packets that were synced).
package export

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/fxamacker/cbor/v2"

	"enrolldesk/desk/audit"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/protocol"
	"enrolldesk/sync/record"
)

// Version is the bundle format version.
const Version = 1

// Ext is a bundle file's extension; its receipt is the bundle's name + ReceiptExt.
const (
	Ext        = ".edbundle"
	ReceiptExt = ".receipt"
)

// signContext separates bundle signatures from every other desk signature.
const signContext = "enrolldesk/usb-bundle/v1\x00"

// MaxBundleSize bounds a bundle file (one batch of at most protocol.MaxBatchBytes, encrypted).
const MaxBundleSize = protocol.MaxBatchBytes + 1<<20

// Header describes a bundle; the desk signs it, and it pins the ciphertext by hash.
type Header struct {
	Version    int      `cbor:"v"`
	DeskID     string   `cbor:"desk"`
	From       uint64   `cbor:"from"` // first sequence in the batch
	To         uint64   `cbor:"to"`   // last sequence in the batch
	Records    int      `cbor:"n"`
	Created    int64    `cbor:"t"` // Unix milliseconds
	CipherHash [32]byte `cbor:"ct"`
}

// File is a bundle as written to the drive.
type File struct {
	Header     []byte `cbor:"hdr"` // Header, deterministic CBOR
	Ciphertext []byte `cbor:"ct"`  // age-encrypted protocol.Batch (CBOR)
	Signature  []byte `cbor:"sig"` // desk Ed25519 over signContext || Header
}

var (
	enc cbor.EncMode
	dec cbor.DecMode
)

func init() {
	var err error
	enc, err = cbor.CoreDetEncOptions().EncMode() // RFC 8949 §4.2.1
	if err != nil {
		panic(err) // static options: unreachable
	}
	dec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   4,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Exporter writes bundles and applies receipts at the desk.
type Exporter struct {
	Outbox      *outbox.Outbox
	Audit       *audit.Log
	DeskID      string
	DeskKey     ed25519.PrivateKey // signs bundles
	Registry    age.Recipient      // the registry's X25519 key: bundles are encrypted to it
	RegistryKey ed25519.PublicKey  // verifies receipts
	// MaxRecords and MaxBytes bound one bundle (defaults: 1000 records, 32 MiB of batch).
	MaxRecords, MaxBytes int
	Now                  func() time.Time
}

func (e *Exporter) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// Result is what an export wrote.
type Result struct {
	Files   []string `json:"files"`
	From    uint64   `json:"from"`
	To      uint64   `json:"to"`
	Records int      `json:"records"`
}

// ErrNothing means every released record is acknowledged already.
var ErrNothing = errors.New("no unacknowledged records to export")

// Export writes every record not yet acknowledged into dir (the mounted drive), one bundle per
// batch. Each file is written to a temporary name, synced and renamed, so a pulled drive never
// holds a half-written bundle under a bundle's name. actor is the logged-in officer.
func (e *Exporter) Export(ctx context.Context, actor, dir string) (Result, error) {
	if e.Outbox == nil || e.Audit == nil || e.Registry == nil || len(e.DeskKey) != ed25519.PrivateKeySize || e.DeskID == "" {
		return Result{}, errors.New("export: outbox, audit log, desk id and key and registry recipient are required")
	}
	maxRec, maxBytes := e.MaxRecords, e.MaxBytes
	if maxRec <= 0 || maxRec > protocol.MaxBatchRecords {
		maxRec = 1000
	}
	if maxBytes <= 0 || maxBytes > protocol.MaxBatchBytes/2 {
		maxBytes = 32 << 20
	}
	st, err := e.Outbox.SyncState(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("export: %w", err)
	}
	if st.Head <= st.AckedSeq {
		return Result{}, ErrNothing
	}
	// The size of the registry log the desk last verified, so the receipt proves the new log
	// consistent with it, as online.
	var known uint64
	if len(e.RegistryKey) == ed25519.PublicKeySize {
		cp, err := e.checkpoint(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("export: %w", err)
		}
		if cp != nil {
			known = cp.Size
		}
	}
	res := Result{From: st.AckedSeq + 1}
	after := st.AckedSeq
	for after < st.Head {
		ps, err := e.Outbox.Next(ctx, after, maxRec, maxBytes)
		if err != nil {
			return res, fmt.Errorf("export: %w", err)
		}
		if len(ps) == 0 {
			break
		}
		bt := &protocol.Batch{Version: protocol.Version, DeskID: e.DeskID, KnownLog: known}
		for _, p := range ps {
			bt.Records = append(bt.Records, protocol.BatchRecord{Envelope: p.Envelope, Blobs: p.Blobs})
		}
		from, to := ps[0].Seq, ps[len(ps)-1].Seq
		b, err := e.seal(bt, from, to)
		if err != nil {
			return res, err
		}
		name := fmt.Sprintf("enrolldesk-%s-%08d-%08d%s", e.DeskID, from, to, Ext)
		if err := writeAtomic(dir, name, b); err != nil {
			return res, fmt.Errorf("export: %w", err)
		}
		if _, err := e.Audit.Append(ctx, audit.Entry{Actor: actor, Action: "export.write", Subject: name,
			Detail: fmt.Sprintf("seq %d-%d, %d records", from, to, len(ps))}); err != nil {
			return res, err
		}
		res.Files = append(res.Files, filepath.Join(dir, name))
		res.Records += len(ps)
		res.To = to
		after = to
	}
	return res, nil
}

func (e *Exporter) seal(bt *protocol.Batch, from, to uint64) ([]byte, error) {
	plain, err := protocol.EncMode.Marshal(bt)
	if err != nil {
		return nil, fmt.Errorf("export: encode batch: %w", err)
	}
	var ct bytes.Buffer
	w, err := age.Encrypt(&ct, e.Registry)
	if err != nil {
		return nil, fmt.Errorf("export: encrypt: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("export: encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("export: encrypt: %w", err)
	}
	h := Header{Version: Version, DeskID: bt.DeskID, From: from, To: to, Records: len(bt.Records),
		Created: e.now().UnixMilli(), CipherHash: sha256.Sum256(ct.Bytes())}
	hb, err := enc.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("export: header: %w", err)
	}
	f := File{Header: hb, Ciphertext: ct.Bytes(), Signature: ed25519.Sign(e.DeskKey, append([]byte(signContext), hb...))}
	out, err := enc.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("export: bundle: %w", err)
	}
	return out, nil
}

// writeAtomic writes b as dir/name via a synced temporary file and a rename, then syncs dir.
func writeAtomic(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: sync: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", name, err)
	}
	return nil
}

// ReceiptInfo is what applying a receipt did.
type ReceiptInfo struct {
	Seq    uint64 `json:"seq"`    // the registry's head for this desk: everything up to it is acknowledged
	Stored int    `json:"stored"` // records the import stored (0 for a replayed bundle)
	// Superseded is set when the desk had acknowledged up to Seq already (nothing changed).
	Superseded bool `json:"superseded"`
}

// ApplyReceipt verifies a receipt file exactly as the uploader verifies an online receipt — the
// registry's signature and desk, then its transparency-log part (the new checkpoint extends the
// one the desk holds; every record it says it newly stored is in the log) — and acknowledges the
// records it covers. A receipt no newer than what the desk has acknowledged changes nothing
// (after a multi-bundle export, the newest receipt covers all of them).
func (e *Exporter) ApplyReceipt(ctx context.Context, actor string, receipt []byte) (ReceiptInfo, error) {
	if len(e.RegistryKey) != ed25519.PublicKeySize {
		return ReceiptInfo{}, errors.New("apply receipt: no registry key")
	}
	info, err := e.applyReceipt(ctx, receipt)
	if err != nil {
		if _, aerr := e.Audit.Append(ctx, audit.Entry{Actor: actor, Action: "export.receipt.refuse", Detail: "signature, desk or log"}); aerr != nil {
			return ReceiptInfo{}, errors.Join(err, aerr)
		}
		return ReceiptInfo{}, fmt.Errorf("apply receipt: %w", err)
	}
	detail := fmt.Sprintf("acked to seq %d", info.Seq)
	if info.Superseded {
		detail = fmt.Sprintf("seq %d already acknowledged", info.Seq)
	}
	if _, err := e.Audit.Append(ctx, audit.Entry{Actor: actor, Action: "export.receipt", Detail: detail}); err != nil {
		return ReceiptInfo{}, err
	}
	return info, nil
}

func (e *Exporter) applyReceipt(ctx context.Context, receipt []byte) (ReceiptInfo, error) {
	rc, err := protocol.VerifyReceipt(receipt, e.RegistryKey, e.DeskID)
	if err != nil {
		return ReceiptInfo{}, err
	}
	st, err := e.Outbox.SyncState(ctx)
	if err != nil {
		return ReceiptInfo{}, err
	}
	info := ReceiptInfo{Seq: rc.Seq, Stored: rc.Stored}
	if rc.Seq <= st.AckedSeq {
		info.Superseded = true
		return info, nil
	}
	prev, err := e.checkpoint(ctx)
	if err != nil {
		return ReceiptInfo{}, err
	}
	var fresh []record.Hash
	if rc.Stored > 0 {
		if uint64(rc.Stored) > rc.Seq {
			return ReceiptInfo{}, fmt.Errorf("%w: receipt claims %d new records up to %d", protocol.ErrLogInconsistent, rc.Stored, rc.Seq)
		}
		ps, err := e.Outbox.Next(ctx, rc.Seq-uint64(rc.Stored), rc.Stored, 0)
		if err != nil {
			return ReceiptInfo{}, err
		}
		if len(ps) != rc.Stored || ps[len(ps)-1].Seq != rc.Seq {
			return ReceiptInfo{}, fmt.Errorf("%w: the desk does not hold the records the receipt names", outbox.ErrForeignHead)
		}
		for _, p := range ps {
			fresh = append(fresh, p.Hash)
		}
	}
	if _, err := protocol.VerifyLog(rc, e.RegistryKey, prev, fresh); err != nil {
		return ReceiptInfo{}, err
	}
	if err := e.Outbox.Ack(ctx, rc.Seq, rc.Head, receipt, rc.Checkpoint); err != nil {
		return ReceiptInfo{}, err
	}
	return info, nil
}

// checkpoint returns the registry log checkpoint the desk last verified (nil: none).
func (e *Exporter) checkpoint(ctx context.Context) (*protocol.Checkpoint, error) {
	b, err := e.Outbox.Checkpoint(ctx)
	if err != nil || b == nil {
		return nil, err
	}
	return protocol.VerifyCheckpoint(b, e.RegistryKey)
}

// ApplyReceiptFile reads and applies a receipt file.
func (e *Exporter) ApplyReceiptFile(ctx context.Context, actor, path string) (ReceiptInfo, error) {
	b, err := readLimited(path, 1<<20)
	if err != nil {
		return ReceiptInfo{}, fmt.Errorf("apply receipt: %w", err)
	}
	return e.ApplyReceipt(ctx, actor, b)
}

func readLimited(path string, limit int64) ([]byte, error) {
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

// ErrBundle marks a bundle that is malformed, not signed by its desk or does not decrypt.
var ErrBundle = errors.New("invalid bundle")

// Parse decodes a bundle file and its header without verifying anything.
func Parse(b []byte) (*File, *Header, error) {
	if len(b) > MaxBundleSize {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrBundle, len(b))
	}
	var f File
	if err := dec.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	var h Header
	if err := dec.Unmarshal(f.Header, &h); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrBundle, err)
	}
	if h.Version != Version {
		return nil, nil, fmt.Errorf("%w: version %d", ErrBundle, h.Version)
	}
	if again, err := enc.Marshal(h); err != nil || !bytes.Equal(again, f.Header) {
		return nil, nil, fmt.Errorf("%w: header not in canonical encoding", ErrBundle)
	}
	return &f, &h, nil
}

// Open verifies a bundle with the desk's public key and decrypts its batch with the registry's
// identity (the registry side). It checks that the batch is the one the header describes.
func Open(b []byte, deskKey ed25519.PublicKey, id age.Identity) (*Header, *protocol.Batch, error) {
	f, h, err := Parse(b)
	if err != nil {
		return nil, nil, err
	}
	if len(deskKey) != ed25519.PublicKeySize || !ed25519.Verify(deskKey, append([]byte(signContext), f.Header...), f.Signature) {
		return nil, nil, fmt.Errorf("%w: not signed by desk %s", ErrBundle, h.DeskID)
	}
	if sha256.Sum256(f.Ciphertext) != h.CipherHash {
		return nil, nil, fmt.Errorf("%w: ciphertext does not match the signed header", ErrBundle)
	}
	r, err := age.Decrypt(bytes.NewReader(f.Ciphertext), id)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: decrypt: %v", ErrBundle, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, protocol.MaxBatchBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: decrypt: %v", ErrBundle, err)
	}
	bt, err := protocol.DecodeBatch(plain)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	if bt.DeskID != h.DeskID || len(bt.Records) != h.Records {
		return nil, nil, fmt.Errorf("%w: batch does not match its header", ErrBundle)
	}
	return h, bt, nil
}

// ReceiptName is the receipt file name for a bundle file name.
func ReceiptName(bundle string) string { return strings.TrimSuffix(bundle, Ext) + ReceiptExt }
