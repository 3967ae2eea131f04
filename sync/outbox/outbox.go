// Package outbox is the desk side of sync: the crash-proof outbox of signed records in the desk's
// SQLite store, the registry client and the uploader that drains the outbox.
//
// Durability rests on SQLite: the store runs in WAL mode with synchronous=FULL, so a record whose
// Append returned has been fsync'd and survives kill -9 and power loss. A record is released in one
// transaction that reads the chain head (the last row), assigns the next sequence and the previous
// hash, signs, and inserts the record and its blobs; a crash before commit leaves no trace and no gap.
package outbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"filippo.io/age"
	"github.com/fxamacker/cbor/v2"

	"enrolldesk/desk/store"
	"enrolldesk/sync/record"
)

// States of a record in the outbox. Acknowledgements always cover a prefix of the chain, so a
// record's state follows from two high-water marks (sync_state.sent_seq and acked_seq).
const (
	StateQueued = "queued" // signed and stored, not yet sent
	StateSent   = "sent"   // sent at least once, no receipt covers it yet
	StateAcked  = "acked"  // a verified registry receipt covers it; raw blobs purged
)

// Config is what the outbox needs from desk provisioning. The desk package owns the keys; the
// outbox only uses them.
type Config struct {
	DeskID   string
	DeskKey  ed25519.PrivateKey // signs every record
	DataKey  []byte             // AES-256 key for blobs at rest (32 bytes)
	Registry age.Recipient      // the registry's X25519 public key: blobs are sealed to it
	// Now is the clock (UTC); nil means time.Now.
	Now func() time.Time
}

// Outbox is the desk's queue of signed records. It is safe for concurrent use.
type Outbox struct {
	db   *store.DB
	cfg  Config
	aead cipher.AEAD

	// The release statements, prepared once by New and bound to each transaction's connection
	// (database/sql keeps them prepared per connection), so a release parses no SQL.
	stHead   *sql.Stmt
	stRecord *sql.Stmt
	stBlobs  *sql.Stmt
}

const (
	sqlHead   = `SELECT seq, hash FROM outbox ORDER BY seq DESC LIMIT 1`
	sqlRecord = `INSERT INTO outbox(seq, record_id, prev_hash, hash, envelope, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	sqlBlobs  = `INSERT INTO outbox_blobs(seq, ciphertext) VALUES (?, ?)`
)

// prepare prepares the release statements. It runs in New, never inside a release: preparing on
// the pool while a caller's transaction holds a connection would wait forever on a pool of one.
func (o *Outbox) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&o.stHead, sqlHead}, {&o.stRecord, sqlRecord}, {&o.stBlobs, sqlBlobs}} {
		st, err := o.db.PrepareContext(ctx, p.q)
		if err != nil {
			o.Close()
			return fmt.Errorf("prepare %q (is the store migrated?): %w", p.q, err)
		}
		*p.dst = st
	}
	return nil
}

// Close releases the outbox's prepared statements. It does not close the store. An Outbox must
// not be used after Close.
func (o *Outbox) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{o.stHead, o.stRecord, o.stBlobs} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// New returns the outbox of an open, migrated desk store.
func New(db *store.DB, cfg Config) (*Outbox, error) {
	if db == nil {
		return nil, errors.New("outbox: nil store")
	}
	if cfg.DeskID == "" || len(cfg.DeskKey) != ed25519.PrivateKeySize {
		return nil, errors.New("outbox: desk id and Ed25519 desk key are required")
	}
	if cfg.Registry == nil {
		return nil, errors.New("outbox: the registry's age recipient is required")
	}
	aead, err := newAEAD(cfg.DataKey)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	o := &Outbox{db: db, cfg: cfg, aead: aead}
	if err := o.prepare(context.Background()); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return o, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("data key is %d bytes, want 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// DeskID returns the desk this outbox signs for.
func (o *Outbox) DeskID() string { return o.cfg.DeskID }

// DeskPublicKey returns the desk's public key.
func (o *Outbox) DeskPublicKey() ed25519.PublicKey { return o.cfg.DeskKey.Public().(ed25519.PublicKey) }

// Appended describes a record released to the outbox.
type Appended struct {
	Seq  uint64
	ID   string
	Hash record.Hash
}

// blobAAD binds a blob bundle's ciphertext to its record, so bundles cannot be swapped between rows.
func blobAAD(seq uint64, h record.Hash) []byte {
	aad := make([]byte, 0, 72)
	aad = append(aad, "enrolldesk/outbox-blobs/v1"...)
	aad = binary.BigEndian.AppendUint64(aad, seq)
	return append(aad, h[:]...)
}

var bundleEnc, bundleDec = func() (cbor.EncMode, cbor.DecMode) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options: unreachable
	}
	dm, err := cbor.DecOptions{MaxArrayElements: 16, IndefLength: cbor.IndefLengthForbidden}.DecMode()
	if err != nil {
		panic(err)
	}
	return em, dm
}()

// Sealed is a record's biometric blobs sealed to the registry, ready for Append.
type Sealed struct {
	blobs [][]byte
	refs  []record.BlobRef
}

// Seal seals blobs to the registry's X25519 key (age). It is the costly part of a release (one
// X25519 key agreement per blob), so the desk may call it while the officer reviews, before
// Append; the plaintext can be dropped afterwards.
func (o *Outbox) Seal(blobs []record.Blob) (*Sealed, error) {
	if len(blobs) > 16 {
		return nil, fmt.Errorf("seal blobs: %d blobs, at most 16", len(blobs))
	}
	s := &Sealed{blobs: make([][]byte, len(blobs)), refs: make([]record.BlobRef, len(blobs))}
	for i, b := range blobs {
		var err error
		if s.blobs[i], s.refs[i], err = record.Seal(o.cfg.Registry, b); err != nil {
			return nil, fmt.Errorf("seal blobs: %w", err)
		}
	}
	return s, nil
}

// Release seals blobs and appends the record: Seal followed by Append.
func (o *Outbox) Release(ctx context.Context, c record.Content, blobs []record.Blob, officer ed25519.PrivateKey) (*Appended, error) {
	s, err := o.Seal(blobs)
	if err != nil {
		return nil, err
	}
	return o.Append(ctx, c, s, officer)
}

// Append releases one approved record in its own transaction: AppendTx followed by Commit. When
// Append returns nil the record is durable (fsync'd, synchronous=FULL).
func (o *Outbox) Append(ctx context.Context, c record.Content, sealed *Sealed, officer ed25519.PrivateKey) (*Appended, error) {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("append record: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	a, err := o.AppendTx(ctx, tx, c, sealed, officer)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("append record %d: commit: %w", a.Seq, err)
	}
	return a, nil
}

// AppendTx releases one approved record inside the caller's transaction on the desk store (for
// example together with the supervisor's decision that releases it): it reads the chain head,
// takes the next sequence and the previous hash, signs with the desk key (and the officer's
// countersignature when officer is not nil), and inserts the record and its sealed blobs
// encrypted under the data key. sealed may be nil for a record without blobs.
//
// tx must come from the same store the outbox was opened on and must hold the write lock from
// its start (the store's BeginTx is BEGIN IMMEDIATE), so concurrent releases serialise and the
// chain cannot fork. The record exists, and the returned Appended is valid, only once the caller
// commits; if the caller rolls back, nothing of the record remains and the next release takes
// the same sequence, so a rolled-back release never leaves a gap. Several AppendTx calls in one
// transaction chain to each other.
func (o *Outbox) AppendTx(ctx context.Context, tx *sql.Tx, c record.Content, sealed *Sealed, officer ed25519.PrivateKey) (*Appended, error) {
	if tx == nil {
		return nil, errors.New("append record: nil transaction")
	}
	if sealed == nil {
		sealed = &Sealed{}
	}
	refs := append([]record.BlobRef(nil), sealed.refs...)
	id, err := record.NewID()
	if err != nil {
		return nil, fmt.Errorf("append record: %w", err)
	}

	var seq uint64
	var prev record.Hash
	var prevBytes []byte
	err = tx.StmtContext(ctx, o.stHead).QueryRowContext(ctx).Scan(&seq, &prevBytes)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		seq, prev = 0, record.GenesisHash
	case err != nil:
		return nil, fmt.Errorf("append record: read chain head: %w", err)
	default:
		if len(prevBytes) != record.HashSize {
			return nil, fmt.Errorf("append record: chain head %d has a %d-byte hash", seq, len(prevBytes))
		}
		copy(prev[:], prevBytes)
	}
	now := o.cfg.Now().UTC()
	r := &record.Record{
		Version: record.SchemaVersion, ID: id, DeskID: o.cfg.DeskID, Seq: seq + 1, Prev: prev,
		Time: now.UnixMilli(), Content: c, Blobs: refs,
	}
	s, err := record.Sign(r, o.cfg.DeskKey, officer)
	if err != nil {
		return nil, fmt.Errorf("append record: %w", err)
	}
	if _, err := tx.StmtContext(ctx, o.stRecord).ExecContext(ctx, r.Seq, r.ID[:], prev[:], s.Hash[:], s.Envelope, now.UnixMilli()); err != nil {
		return nil, fmt.Errorf("append record %d: %w", r.Seq, err)
	}
	if len(sealed.blobs) > 0 {
		bundle, err := bundleEnc.Marshal(sealed.blobs)
		if err != nil {
			return nil, fmt.Errorf("append record %d: blobs: %w", r.Seq, err)
		}
		nonce := make([]byte, o.aead.NonceSize(), o.aead.NonceSize()+len(bundle)+o.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("append record: nonce: %w", err)
		}
		ct := o.aead.Seal(nonce, nonce, bundle, blobAAD(r.Seq, s.Hash))
		if _, err := tx.StmtContext(ctx, o.stBlobs).ExecContext(ctx, r.Seq, ct); err != nil {
			return nil, fmt.Errorf("append record %d: blobs: %w", r.Seq, err)
		}
	}
	return &Appended{Seq: r.Seq, ID: r.ID.String(), Hash: s.Hash}, nil
}

// Pending is a record ready to send: its envelope and its sealed blobs (decrypted from the data
// key layer, still sealed to the registry).
type Pending struct {
	Seq      uint64
	Hash     record.Hash
	Envelope []byte
	Blobs    [][]byte
}

// Size is the record's share of a batch body.
func (p *Pending) Size() int {
	n := len(p.Envelope) + 16
	for _, b := range p.Blobs {
		n += len(b) + 8
	}
	return n
}

// Next returns up to maxRecords records (and about maxBytes) with sequence > after, in order,
// with their sealed blobs.
func (o *Outbox) Next(ctx context.Context, after uint64, maxRecords, maxBytes int) ([]Pending, error) {
	if maxRecords <= 0 {
		maxRecords = 1
	}
	rows, err := o.db.QueryContext(ctx, `SELECT o.seq, o.hash, o.envelope, b.ciphertext
		FROM outbox o LEFT JOIN outbox_blobs b ON b.seq = o.seq WHERE o.seq > ? ORDER BY o.seq LIMIT ?`, after, maxRecords)
	if err != nil {
		return nil, fmt.Errorf("outbox next: %w", err)
	}
	defer rows.Close()
	var out []Pending
	size := 0
	for rows.Next() {
		var p Pending
		var h, ct []byte
		if err := rows.Scan(&p.Seq, &h, &p.Envelope, &ct); err != nil {
			return nil, fmt.Errorf("outbox next: %w", err)
		}
		copy(p.Hash[:], h)
		if ct != nil {
			if p.Blobs, err = o.openBlobs(p.Seq, p.Hash, ct); err != nil {
				return nil, fmt.Errorf("outbox next: %w", err)
			}
		}
		size += p.Size()
		if len(out) > 0 && maxBytes > 0 && size > maxBytes {
			break
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox next: %w", err)
	}
	return out, nil
}

func (o *Outbox) openBlobs(seq uint64, h record.Hash, ct []byte) ([][]byte, error) {
	ns := o.aead.NonceSize()
	if len(ct) < ns {
		return nil, fmt.Errorf("record %d: short blob ciphertext", seq)
	}
	plain, err := o.aead.Open(nil, ct[:ns], ct[ns:], blobAAD(seq, h))
	if err != nil {
		return nil, fmt.Errorf("record %d: decrypt blobs with the data key: %w", seq, err)
	}
	var blobs [][]byte
	if err := bundleDec.Unmarshal(plain, &blobs); err != nil {
		return nil, fmt.Errorf("record %d: blob bundle: %w", seq, err)
	}
	return blobs, nil
}

// MarkSent notes that records up to last have been sent at least once.
func (o *Outbox) MarkSent(ctx context.Context, last uint64) error {
	if _, err := o.db.ExecContext(ctx, `UPDATE sync_state SET sent_seq = ?, last_attempt_at = ? WHERE sent_seq < ?`,
		last, o.cfg.Now().UnixMilli(), last); err != nil {
		return fmt.Errorf("outbox mark sent %d: %w", last, err)
	}
	return nil
}

// ErrForeignHead means the registry claims a chain head that this desk's outbox does not hold.
var ErrForeignHead = errors.New("registry head does not match the desk's chain")

// Ack records a verified receipt: every record up to seq becomes acked and its raw blobs are
// purged, in one transaction. The receipt's head hash must equal the desk's record at seq. A
// receipt older than the last one changes nothing. checkpoint, when not nil, is the registry log
// checkpoint the desk verified with this receipt; it replaces the stored one.
func (o *Outbox) Ack(ctx context.Context, seq uint64, head record.Hash, receipt, checkpoint []byte) error {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox ack: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var acked uint64
	if err := tx.QueryRowContext(ctx, `SELECT acked_seq FROM sync_state`).Scan(&acked); err != nil {
		return fmt.Errorf("outbox ack: %w", err)
	}
	if seq > 0 {
		var h []byte
		err := tx.QueryRowContext(ctx, `SELECT hash FROM outbox WHERE seq = ?`, seq).Scan(&h)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("outbox ack: registry holds sequence %d that the desk never released: %w", seq, ErrForeignHead)
		}
		if err != nil {
			return fmt.Errorf("outbox ack: %w", err)
		}
		if string(h) != string(head[:]) {
			return fmt.Errorf("outbox ack: sequence %d: %w", seq, ErrForeignHead)
		}
	}
	now := o.cfg.Now().UnixMilli()
	if seq > acked {
		// Data minimisation (Decree 13/2023): the registry holds the sealed blobs now.
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox_blobs WHERE seq <= ?`, seq); err != nil {
			return fmt.Errorf("outbox ack: purge blobs: %w", err)
		}
	} else {
		seq = acked
	}
	var last uint64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM outbox`).Scan(&last); err != nil {
		return fmt.Errorf("outbox ack: %w", err)
	}
	q := `UPDATE sync_state SET acked_seq = ?, sent_seq = MAX(sent_seq, ?), receipt = ?, checkpoint = COALESCE(?, checkpoint),
		last_attempt_at = ?, last_error = ''`
	args := []any{seq, seq, receipt, checkpoint, now}
	if seq == last {
		q += `, last_synced_at = ?`
		args = append(args, now)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("outbox ack: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox ack: commit: %w", err)
	}
	return nil
}

// NoteError records a failed sync attempt for the officer's status line.
func (o *Outbox) NoteError(ctx context.Context, msg string) error {
	if _, err := o.db.ExecContext(ctx, `UPDATE sync_state SET last_attempt_at = ?, last_error = ?`, o.cfg.Now().UnixMilli(), msg); err != nil {
		return fmt.Errorf("outbox note error: %w", err)
	}
	return nil
}

// Checkpoint returns the registry log checkpoint the desk last verified (nil: none yet).
func (o *Outbox) Checkpoint(ctx context.Context) ([]byte, error) {
	var cp []byte
	if err := o.db.QueryRowContext(ctx, `SELECT checkpoint FROM sync_state`).Scan(&cp); err != nil {
		return nil, fmt.Errorf("outbox checkpoint: %w", err)
	}
	return cp, nil
}
