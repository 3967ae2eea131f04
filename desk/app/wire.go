package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

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
}

// Desk is the App wired to the desk's real backends over one store file.
type Desk struct {
	*App
	DB       *store.DB
	Officers *officer.Registry
	Audit    *audit.Log
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
	b := &backend{db: db, officers: officers, log: log, kdf: opt.KDF, now: opt.Now}
	a, err := New(Deps{Auth: b, Provisioner: b, Settings: b, Now: opt.Now})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Desk{App: a, DB: db, Officers: officers, Audit: log}, nil
}

// Close stops the services and closes the store.
func (d *Desk) Close() error {
	d.Stop()
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
