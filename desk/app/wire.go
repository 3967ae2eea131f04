package app

import (
	"context"
	"crypto/ed25519"
	"sync"

	"filippo.io/age"

	"database/sql"
	"encoding/json"
	"enrolldesk/desk/enroll"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"enrolldesk/biometric/face/match"
	"enrolldesk/desk/audit"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/store"
)

// CodeDisabled answers a login by an account a supervisor has disabled.
const CodeDisabled = "disabled"

// Options tune Open; the zero value is production.
type Options struct {
	// KDF overrides the argon2id costs for new officers and the desk passphrase (tests and the
	// demo may lower them; production keeps seal.Default).
	KDF seal.Params
	// Policy overrides the lockout policy; zero means officer.DefaultPolicy.
	Policy officer.Policy
	Now    func() time.Time

	// Devices and the de-duplication search; nil ones show as missing in the window.
	Card   CardReader
	Face   FaceCapturer
	Finger FingerCapturer
	Dedup  Deduper
	// Registry is the registry's age recipient that biometric blobs are sealed to; without it
	// the desk cannot be unlocked for approvals.
	Registry age.Recipient
	// FingerPolicy decides which fingers an approval needs; nil means both index fingers with
	// quality ≥ 40.
	FingerPolicy enroll.FingerPolicy
	// LocalDedup, when Dedup is nil, searches the desk's own galleries (IndexDedup over the
	// store, opened when the desk is unlocked) and adds every approved enrollment to them.
	LocalDedup bool
	// FaceEngine, with LocalDedup, is IndexDedup.FaceEngine: the desk's face engine and its
	// calibration, so the face gallery is searched in the space of the descriptors Face returns
	// (desk/wire.CameraFace.DedupEngine). Nil: the gallery is dlib's.
	FaceEngine func(ctx context.Context) (engine string, cal match.Calibration, err error)
	// Evidence takes the evidence photo of a declared finger exception; nil uses Face when it
	// implements EvidenceCamera.
	Evidence EvidenceCamera
	// Provisioned, when set, runs right after the window provisioned the desk (its id just
	// created); the end-to-end bridge applies its desks' signed settings there.
	Provisioned func(ctx context.Context, deskID string) error
}

// Desk is the App wired to the desk's real backends over one store file.
type Desk struct {
	*App
	DB       *store.DB
	Officers *officer.Registry
	Audit    *audit.Log
	backend  *backend
}

// Open opens (creating if needed) the desk store in dataDir and builds the App over it.
func Open(ctx context.Context, dataDir string, opt Options) (*Desk, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	db, err := store.Open(ctx, filepath.Join(dataDir, store.FileName))
	if err != nil {
		return nil, fmt.Errorf("open desk: %w", err)
	}
	policy := opt.Policy
	if policy == (officer.Policy{}) {
		policy = officer.DefaultPolicy
	}
	if opt.KDF != (seal.Params{}) {
		policy.KDF = opt.KDF
	}
	log := audit.New(db, opt.Now)
	officers := officer.NewRegistry(db, log, policy, opt.Now)
	b := &backend{db: db, officers: officers, log: log, kdf: opt.KDF, now: opt.Now, registry: opt.Registry, provisioned: opt.Provisioned}
	enr, err := readEnrollment(filepath.Join(dataDir, RegistryFile))
	if err != nil {
		db.Close()
		return nil, err
	}
	b.uploads = &uploads{path: filepath.Join(dataDir, RegistryFile), registered: enr != nil}
	if b.registry == nil && enr != nil {
		// A desk provisioned with the registry seals its blobs to the key the registry gave it.
		if b.registry, err = registryRecipient(ctx, db, enr); err != nil {
			db.Close()
			return nil, err
		}
	}
	if opt.Dedup == nil && opt.LocalDedup {
		b.dedup = NewIndexDedup(db)
		b.dedup.FaceEngine = opt.FaceEngine
		opt.Dedup = b.dedup
	}
	policy2 := opt.FingerPolicy
	if policy2 == nil {
		policy2 = enroll.BothIndexFingers{MinQuality: 40}
	}
	wf := &enroll.Workflow{Officers: officers, Audit: log, Out: b, Policy: policy2, Now: opt.Now}
	a, err := New(Deps{Auth: b, Provisioner: b, Settings: b, Unlocker: b, Now: opt.Now,
		Officers: officers, Workflow: wf, Card: opt.Card, Face: opt.Face, Finger: opt.Finger, Dedup: opt.Dedup, Queue: b, DB: db.DB})
	if err != nil {
		db.Close()
		return nil, err
	}
	b.uploads.emit = func(st QueueStatus) { a.Events.Emit(EventQueue, st) }
	// Approvals go through the review queue and new enrollments past the freeze rules.
	a.Enrollment.ops = a.Ops
	a.Enrollment.evidence = opt.Evidence
	if ec, ok := opt.Face.(EvidenceCamera); ok && opt.Evidence == nil {
		a.Enrollment.evidence = ec
	}
	return &Desk{App: a, DB: db, Officers: officers, Audit: log, backend: b}, nil
}

// Close stops the services and closes the store.
func (d *Desk) Close() error {
	d.Stop()
	d.backend.uploads.stop()
	if err := d.DB.Close(); err != nil {
		return fmt.Errorf("close desk store: %w", err)
	}
	return nil
}

// backend adapts desk/officer, desk/provision and the settings table to the bound services.
type backend struct {
	db       *store.DB
	officers *officer.Registry
	log      *audit.Log
	kdf      seal.Params
	now      func() time.Time
	registry age.Recipient
	dedup    *IndexDedup // nil unless Options.LocalDedup
	uploads  *uploads

	mu  sync.Mutex
	out *outbox.Outbox // set once the desk is unlocked with its passphrase

	// onUnlock opens the keyed desk operations (Ops) with the keys just unlocked; nil without them.
	onUnlock func(ctx context.Context, keys *provision.Keys, out *outbox.Outbox)
	// provisioned is Options.Provisioned.
	provisioned func(ctx context.Context, deskID string) error
}

// UnlockDesk opens the desk keys with the passphrase and opens the outbox that signs with them.
func (b *backend) UnlockDesk(ctx context.Context, passphrase string) error {
	if b.registry == nil {
		return coded(CodeUnavailable, errors.New("the registry's public key is not configured"), nil)
	}
	keys, err := provision.Unlock(ctx, b.db, passphrase)
	if errors.Is(err, provision.ErrWrongPassphrase) {
		return coded(CodeWrongPassphrase, err, nil)
	}
	if err != nil {
		return fmt.Errorf("unlock desk: %w", err)
	}
	out, err := outbox.New(b.db, outbox.Config{DeskID: keys.ID, DeskKey: keys.SigningKey, DataKey: keys.DataKey, Registry: b.registry, Now: b.now})
	if err != nil {
		return fmt.Errorf("unlock desk: %w", err)
	}
	if b.dedup != nil {
		if err := b.dedup.Open(ctx, keys.DataKey); err != nil {
			return fmt.Errorf("unlock desk: %w", err)
		}
	}
	if err := b.uploads.start(out, keys.SigningKey); err != nil {
		return fmt.Errorf("unlock desk: %w", err)
	}
	b.mu.Lock()
	b.out = out
	b.mu.Unlock()
	if _, err := b.log.Append(ctx, audit.Entry{Actor: "desk", Action: "desk.unlock"}); err != nil {
		return fmt.Errorf("unlock desk: audit: %w", err)
	}
	if b.onUnlock != nil {
		b.onUnlock(ctx, keys, out)
	}
	return nil
}

// Unlocked reports whether approvals can be signed.
func (b *backend) Unlocked() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out != nil
}

// Release implements enroll.Releaser through the unlocked outbox.
func (b *backend) Release(ctx context.Context, c record.Content, blobs []record.Blob, key ed25519.PrivateKey) (*outbox.Appended, error) {
	b.mu.Lock()
	out := b.out
	b.mu.Unlock()
	if out == nil {
		return nil, coded(CodeDeskLocked, errors.New("the desk keys are locked"), nil)
	}
	a, err := out.Release(ctx, c, blobs, key)
	if err == nil {
		b.uploads.kick()
	}
	return a, err
}

// Counts implements QueueSource.
func (b *backend) Counts(ctx context.Context) (outbox.Counts, error) {
	return outbox.CountStates(ctx, b.db.DB)
}

// SyncState implements QueueSource.
func (b *backend) SyncState(ctx context.Context) (outbox.SyncState, error) {
	return outbox.ReadSyncState(ctx, b.db.DB)
}

func (b *backend) Login(ctx context.Context, id, pin string) (Officer, error) {
	o, err := b.officers.Authenticate(ctx, id, pin)
	var locked *officer.LockedError
	switch {
	case errors.As(err, &locked):
		return Officer{}, &LockedError{Until: locked.Until}
	case errors.Is(err, officer.ErrBadCredentials):
		return Officer{}, ErrWrongPIN
	case errors.Is(err, officer.ErrDisabled):
		return Officer{}, coded(CodeDisabled, err, nil)
	case err != nil:
		return Officer{}, err
	}
	return Officer{ID: o.ID, Name: o.Name, Role: string(o.Role)}, nil
}

func (b *backend) DeskID(ctx context.Context) (string, error) {
	d, err := provision.Load(ctx, b.db)
	if errors.Is(err, provision.ErrNotProvisioned) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load desk identity: %w", err)
	}
	return d.ID, nil
}

func (b *backend) Provision(ctx context.Context, req ProvisionRequest) (string, error) {
	d, err := provision.Provision(ctx, b.db, b.officers, b.log, req.Passphrase,
		officer.New{ID: req.SupervisorID, Name: req.SupervisorName, Role: officer.RoleSupervisor, PIN: req.SupervisorPIN},
		provision.Options{KDF: b.kdf, Now: b.now})
	if errors.Is(err, provision.ErrProvisioned) {
		return "", coded(CodeProvisioned, err, nil)
	}
	if err != nil {
		return "", err
	}
	if b.provisioned != nil {
		if err := b.provisioned(ctx, d.ID); err != nil {
			return "", fmt.Errorf("after provisioning: %w", err)
		}
	}
	return d.ID, nil
}

func (b *backend) Get(ctx context.Context, key string) (string, bool, error) {
	var raw, v string
	err := b.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", key, err)
	}
	// The settings table holds one JSON value per key (migration 0001).
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return "", false, fmt.Errorf("read setting %s: not a JSON string: %w", key, err)
	}
	return v, true, nil
}

func (b *backend) Set(ctx context.Context, key, value string) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	_, err = b.db.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, string(raw), b.now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}
