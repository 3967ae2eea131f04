// Package provision gives a new desk its identity on first start: a desk id, an Ed25519 signing
// key and an AES-256 data key (for biometrics at rest), both sealed under a key derived with
// argon2id from the desk passphrase, and the first supervisor account, all in one transaction.
package provision

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/store"
)

// Desk is the desk's public identity.
type Desk struct {
	ID        string
	PublicKey ed25519.PublicKey
	CreatedAt time.Time
}

// Keys are the desk's secrets, available only after Unlock with the passphrase.
type Keys struct {
	Desk
	SigningKey ed25519.PrivateKey
	DataKey    []byte // AES-256 key for biometric blobs at rest
}

var (
	ErrNotProvisioned   = errors.New("desk is not provisioned yet")
	ErrProvisioned      = errors.New("desk is already provisioned")
	ErrWrongPassphrase  = errors.New("wrong desk passphrase")
	errShortPassphrase  = errors.New("desk passphrase must have at least 12 characters")
	minPassphraseLength = 12
)

// Options are the costs of the passphrase derivation; the zero value means seal.Default.
type Options struct {
	KDF seal.Params
	Now func() time.Time
}

func (o Options) kdf() seal.Params {
	if o.KDF == (seal.Params{}) {
		return seal.Default
	}
	return o.KDF
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now().UTC()
	}
	return o.Now().UTC()
}

// Provision creates the desk identity and its first supervisor. It refuses a desk that already
// has one, so an identity is never silently replaced.
func Provision(ctx context.Context, db *store.DB, officers *officer.Registry, log *audit.Log,
	passphrase string, first officer.New, opt Options) (Desk, error) {
	if len(passphrase) < minPassphraseLength {
		return Desk{}, errShortPassphrase
	}
	if first.Role != officer.RoleSupervisor {
		return Desk{}, errors.New("the first account must be a supervisor")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Desk{}, fmt.Errorf("desk id: %w", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Desk{}, fmt.Errorf("desk key: %w", err)
	}
	dataKey := make([]byte, seal.KeySize)
	if _, err := rand.Read(dataKey); err != nil {
		return Desk{}, fmt.Errorf("data key: %w", err)
	}
	salt, err := seal.NewSalt()
	if err != nil {
		return Desk{}, err
	}
	kdf := opt.kdf()
	wrapKey, err := seal.DeriveKey([]byte(passphrase), salt, kdf)
	if err != nil {
		return Desk{}, fmt.Errorf("derive passphrase key: %w", err)
	}
	deskID := id.String()
	sealedKey, err := seal.Seal(wrapKey, priv.Seed(), []byte("desk-key|"+deskID))
	if err != nil {
		return Desk{}, err
	}
	sealedData, err := seal.Seal(wrapKey, dataKey, []byte("data-key|"+deskID))
	if err != nil {
		return Desk{}, err
	}
	now := opt.now()

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Desk{}, fmt.Errorf("provision: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var exists int
	switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM desk`).Scan(&exists); {
	case err == nil:
		return Desk{}, ErrProvisioned
	case !errors.Is(err, sql.ErrNoRows):
		return Desk{}, fmt.Errorf("provision: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO desk(singleton, desk_id, public_key, sealed_key, data_key, kdf_salt,
		kdf_time, kdf_memory, kdf_threads, created_at) VALUES (1,?,?,?,?,?,?,?,?,?)`,
		deskID, []byte(pub), sealedKey, sealedData, salt, kdf.Time, kdf.MemoryKiB, kdf.Threads, now.Format(time.RFC3339Nano)); err != nil {
		return Desk{}, fmt.Errorf("provision: store desk: %w", err)
	}
	if _, err := log.AppendTx(ctx, tx, audit.Entry{Actor: "system", Action: "desk.provision", Subject: deskID}); err != nil {
		return Desk{}, err
	}
	if _, err := officers.CreateTx(ctx, tx, "system", first); err != nil {
		return Desk{}, fmt.Errorf("provision: first supervisor: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Desk{}, fmt.Errorf("provision: commit: %w", err)
	}
	return Desk{ID: deskID, PublicKey: pub, CreatedAt: now}, nil
}

type row struct {
	Desk
	sealedKey, sealedData, salt []byte
	kdf                         seal.Params
}

func load(ctx context.Context, db *store.DB) (row, error) {
	var r row
	var pub []byte
	var created string
	err := db.QueryRowContext(ctx, `SELECT desk_id, public_key, sealed_key, data_key, kdf_salt, kdf_time, kdf_memory,
		kdf_threads, created_at FROM desk WHERE singleton = 1`).
		Scan(&r.ID, &pub, &r.sealedKey, &r.sealedData, &r.salt, &r.kdf.Time, &r.kdf.MemoryKiB, &r.kdf.Threads, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, ErrNotProvisioned
	}
	if err != nil {
		return row{}, fmt.Errorf("load desk: %w", err)
	}
	r.PublicKey = ed25519.PublicKey(pub)
	r.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	return r, nil
}

// Load returns the desk's public identity, or ErrNotProvisioned.
func Load(ctx context.Context, db *store.DB) (Desk, error) {
	r, err := load(ctx, db)
	return r.Desk, err
}

// Unlock opens the desk's keys with the passphrase. It also checks that the opened signing key
// matches the stored public key, so a swapped sealed blob is caught rather than used.
func Unlock(ctx context.Context, db *store.DB, passphrase string) (*Keys, error) {
	r, err := load(ctx, db)
	if err != nil {
		return nil, err
	}
	wrapKey, err := seal.DeriveKey([]byte(passphrase), r.salt, r.kdf)
	if err != nil {
		return nil, fmt.Errorf("unlock desk: %w", err)
	}
	seed, err := seal.Open(wrapKey, r.sealedKey, []byte("desk-key|"+r.ID))
	if errors.Is(err, seal.ErrOpen) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("unlock desk: %w", err)
	}
	dataKey, err := seal.Open(wrapKey, r.sealedData, []byte("data-key|"+r.ID))
	if err != nil {
		return nil, fmt.Errorf("unlock desk: data key: %w", err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if !priv.Public().(ed25519.PublicKey).Equal(r.PublicKey) {
		return nil, errors.New("unlock desk: signing key does not match the desk's public key")
	}
	return &Keys{Desk: r.Desk, SigningKey: priv, DataKey: dataKey}, nil
}
