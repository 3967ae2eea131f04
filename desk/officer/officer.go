// Package officer manages the desk's officer accounts: argon2id PINs with lockout after repeated
// failures, the two roles, and each officer's own Ed25519 key (sealed under a key derived from the
// PIN) with which they countersign the records they approve.
package officer

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/store"
)

// Role is what an officer may do at the desk.
type Role string

const (
	RoleOfficer    Role = "officer"    // enrolls citizens
	RoleSupervisor Role = "supervisor" // also manages officers, settings and end-of-day approval
)

// Officer is an account as the rest of the desk sees it (no secrets).
type Officer struct {
	ID        string
	Name      string
	Role      Role
	PublicKey ed25519.PublicKey
	Disabled  bool
	CreatedAt time.Time
}

// New is what creating an account needs.
type New struct {
	ID   string
	Name string
	Role Role
	PIN  string
}

var (
	// ErrBadCredentials covers both an unknown officer id and a wrong PIN, so the login screen
	// does not reveal which ids exist.
	ErrBadCredentials = errors.New("wrong officer id or PIN")
	// ErrDisabled is returned for an account a supervisor has disabled.
	ErrDisabled = errors.New("account disabled")
	// ErrExists is returned when creating an id that is taken.
	ErrExists = errors.New("officer id already exists")
)

// LockedError is returned while an account is locked after too many wrong PINs.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return "account locked after repeated wrong PINs until " + e.Until.Format(time.RFC3339)
}

// Policy sets lockout and PIN rules; settings can change it, Defaults are sane.
type Policy struct {
	MaxAttempts int           // consecutive wrong PINs before the account locks
	LockFor     time.Duration // how long it stays locked
	MinPINLen   int
	KDF         seal.Params
}

// DefaultPolicy: 5 tries, then 15 minutes, 6-digit PINs minimum.
var DefaultPolicy = Policy{MaxAttempts: 5, LockFor: 15 * time.Minute, MinPINLen: 6, KDF: seal.Default}

// Registry reads and changes officer accounts in the desk store; every change and every login
// attempt is written to the audit log in the same transaction.
type Registry struct {
	db     *store.DB
	audit  *audit.Log
	policy Policy
	now    func() time.Time
}

// NewRegistry returns the officer registry of db. now may be nil.
func NewRegistry(db *store.DB, log *audit.Log, policy Policy, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{db: db, audit: log, policy: policy, now: now}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$`)

// CheckPIN refuses PINs that are too short, not all digits, or trivially guessable.
func (r *Registry) CheckPIN(pin string) error {
	if len(pin) < r.policy.MinPINLen {
		return fmt.Errorf("PIN must have at least %d digits", r.policy.MinPINLen)
	}
	for _, c := range pin {
		if c < '0' || c > '9' {
			return errors.New("PIN must be digits only")
		}
	}
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		same = same && pin[i] == pin[0]
		up = up && pin[i] == pin[i-1]+1
		down = down && pin[i] == pin[i-1]-1
	}
	if same || up || down {
		return errors.New("PIN is too easy to guess (repeated or sequential digits)")
	}
	return nil
}

// Create adds an account. actor is the supervisor creating it ("system" at provisioning).
func (r *Registry) Create(ctx context.Context, actor string, n New) (Officer, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return Officer{}, fmt.Errorf("create officer: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	o, err := r.CreateTx(ctx, tx, actor, n)
	if err != nil {
		return Officer{}, err
	}
	if err := tx.Commit(); err != nil {
		return Officer{}, fmt.Errorf("create officer: commit: %w", err)
	}
	return o, nil
}

// CreateTx adds an account inside the caller's transaction (provisioning creates the desk and
// its first supervisor atomically).
func (r *Registry) CreateTx(ctx context.Context, tx *sql.Tx, actor string, n New) (Officer, error) {
	if !idPattern.MatchString(n.ID) {
		return Officer{}, fmt.Errorf("officer id %q: use 2-32 letters, digits, '.', '_' or '-'", n.ID)
	}
	if n.Name == "" {
		return Officer{}, errors.New("officer name is required")
	}
	if n.Role != RoleOfficer && n.Role != RoleSupervisor {
		return Officer{}, fmt.Errorf("unknown role %q", n.Role)
	}
	if err := r.CheckPIN(n.PIN); err != nil {
		return Officer{}, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Officer{}, fmt.Errorf("officer key: %w", err)
	}
	salt, err := seal.NewSalt()
	if err != nil {
		return Officer{}, err
	}
	// One argon2id derivation gives 64 bytes: the first half is the stored verifier, the second
	// half the key that seals the officer's signing key, so the verifier cannot open the key.
	verifier, sealKey, err := r.derive(n.PIN, salt, r.policy.KDF)
	if err != nil {
		return Officer{}, err
	}
	sealed, err := seal.Seal(sealKey, priv.Seed(), []byte("officer-key|"+n.ID))
	if err != nil {
		return Officer{}, err
	}
	now := r.now().UTC()
	_, err = tx.ExecContext(ctx, `INSERT INTO officers(officer_id, display_name, role, pin_hash, pin_salt,
		kdf_time, kdf_memory, kdf_threads, public_key, sealed_key, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		n.ID, n.Name, string(n.Role), verifier, salt, r.policy.KDF.Time, r.policy.KDF.MemoryKiB, r.policy.KDF.Threads,
		[]byte(pub), sealed, now.Format(time.RFC3339Nano))
	if err != nil {
		var exists int
		if tx.QueryRowContext(ctx, `SELECT 1 FROM officers WHERE officer_id = ?`, n.ID).Scan(&exists) == nil {
			return Officer{}, fmt.Errorf("create officer %q: %w", n.ID, ErrExists)
		}
		return Officer{}, fmt.Errorf("create officer %q: %w", n.ID, err)
	}
	if _, err := r.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "officer.create", Subject: n.ID, Detail: string(n.Role)}); err != nil {
		return Officer{}, err
	}
	return Officer{ID: n.ID, Name: n.Name, Role: n.Role, PublicKey: pub, CreatedAt: now}, nil
}

func (r *Registry) derive(pin string, salt []byte, p seal.Params) (verifier, sealKey []byte, err error) {
	a, err := seal.DeriveKey([]byte("verify|"+pin), salt, p)
	if err != nil {
		return nil, nil, fmt.Errorf("derive PIN key: %w", err)
	}
	b, err := seal.DeriveKey([]byte("seal|"+pin), salt, p)
	if err != nil {
		return nil, nil, fmt.Errorf("derive PIN key: %w", err)
	}
	return a, b, nil
}

type account struct {
	Officer
	verifier, salt, sealed []byte
	kdf                    seal.Params
	failed                 int
	lockedUntil            time.Time
}

func (r *Registry) load(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (account, error) {
	var a account
	var role, created string
	var locked sql.NullString
	var pub []byte
	err := q.QueryRowContext(ctx, `SELECT officer_id, display_name, role, pin_hash, pin_salt, kdf_time, kdf_memory,
		kdf_threads, public_key, sealed_key, failed_attempts, locked_until, disabled, created_at FROM officers WHERE officer_id = ?`, id).
		Scan(&a.ID, &a.Name, &role, &a.verifier, &a.salt, &a.kdf.Time, &a.kdf.MemoryKiB, &a.kdf.Threads, &pub, &a.sealed,
			&a.failed, &locked, &a.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return account{}, store.ErrNotFound
	}
	if err != nil {
		return account{}, fmt.Errorf("load officer: %w", err)
	}
	a.Role, a.PublicKey = Role(role), ed25519.PublicKey(pub)
	a.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	if locked.Valid {
		a.lockedUntil, _ = time.Parse(time.RFC3339Nano, locked.String)
	}
	return a, nil
}

// Authenticate checks an officer's PIN. Wrong PINs count towards the lockout; a locked account is
// refused without looking at the PIN until the lock expires; every attempt is audited.
func (r *Registry) Authenticate(ctx context.Context, id, pin string) (Officer, error) {
	o, _, err := r.authenticate(ctx, id, pin, "login")
	return o, err
}

// UnlockSigningKey checks the PIN like Authenticate (same lockout) and returns the officer's
// Ed25519 key, for countersigning a record at approval.
func (r *Registry) UnlockSigningKey(ctx context.Context, id, pin string) (ed25519.PrivateKey, error) {
	_, key, err := r.authenticate(ctx, id, pin, "sign")
	return key, err
}

func (r *Registry) authenticate(ctx context.Context, id, pin, purpose string) (Officer, ed25519.PrivateKey, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return Officer{}, nil, fmt.Errorf("authenticate: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	now := r.now().UTC()
	a, err := r.load(ctx, tx, id)
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same time as a real check so response time does not reveal which ids exist.
		if salt, serr := seal.NewSalt(); serr == nil {
			_, _, _ = r.derive(pin, salt, r.policy.KDF)
		}
		if err := r.commitAudit(ctx, tx, audit.Entry{Actor: "unknown", Action: purpose + ".fail", Detail: "unknown officer id"}); err != nil {
			return Officer{}, nil, err
		}
		return Officer{}, nil, ErrBadCredentials
	}
	if err != nil {
		return Officer{}, nil, err
	}
	if a.Disabled {
		if err := r.commitAudit(ctx, tx, audit.Entry{Actor: id, Action: purpose + ".fail", Subject: id, Detail: "disabled"}); err != nil {
			return Officer{}, nil, err
		}
		return Officer{}, nil, ErrDisabled
	}
	if now.Before(a.lockedUntil) {
		if err := r.commitAudit(ctx, tx, audit.Entry{Actor: id, Action: purpose + ".fail", Subject: id, Detail: "locked"}); err != nil {
			return Officer{}, nil, err
		}
		return Officer{}, nil, &LockedError{Until: a.lockedUntil}
	}
	verifier, sealKey, err := r.derive(pin, a.salt, a.kdf)
	if err != nil {
		return Officer{}, nil, err
	}
	if !seal.Equal(verifier, a.verifier) {
		failed := a.failed + 1
		var lockedUntil any
		entry := audit.Entry{Actor: id, Action: purpose + ".fail", Subject: id, Detail: fmt.Sprintf("wrong PIN (%d)", failed)}
		var result error = ErrBadCredentials
		if failed >= r.policy.MaxAttempts {
			until := now.Add(r.policy.LockFor)
			lockedUntil, failed = until.Format(time.RFC3339Nano), 0
			entry.Action, result = "officer.locked", &LockedError{Until: until}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE officers SET failed_attempts = ?, locked_until = ? WHERE officer_id = ?`, failed, lockedUntil, id); err != nil {
			return Officer{}, nil, fmt.Errorf("authenticate: count failure: %w", err)
		}
		if err := r.commitAudit(ctx, tx, entry); err != nil {
			return Officer{}, nil, err
		}
		return Officer{}, nil, result
	}
	seed, err := seal.Open(sealKey, a.sealed, []byte("officer-key|"+id))
	if err != nil {
		return Officer{}, nil, fmt.Errorf("authenticate: officer key does not open: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE officers SET failed_attempts = 0, locked_until = NULL WHERE officer_id = ?`, id); err != nil {
		return Officer{}, nil, fmt.Errorf("authenticate: reset failures: %w", err)
	}
	if err := r.commitAudit(ctx, tx, audit.Entry{Actor: id, Action: purpose + ".ok", Subject: id}); err != nil {
		return Officer{}, nil, err
	}
	return a.Officer, ed25519.NewKeyFromSeed(seed), nil
}

func (r *Registry) commitAudit(ctx context.Context, tx *sql.Tx, e audit.Entry) error {
	if _, err := r.audit.AppendTx(ctx, tx, e); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("authenticate: commit: %w", err)
	}
	return nil
}

// Get returns one account.
func (r *Registry) Get(ctx context.Context, id string) (Officer, error) {
	a, err := r.load(ctx, r.db, id)
	if err != nil {
		return Officer{}, fmt.Errorf("officer %q: %w", id, err)
	}
	return a.Officer, nil
}

// List returns every account, supervisors first, then by id.
func (r *Registry) List(ctx context.Context) ([]Officer, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT officer_id FROM officers ORDER BY role DESC, officer_id`)
	if err != nil {
		return nil, fmt.Errorf("list officers: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list officers: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := make([]Officer, 0, len(ids))
	for _, id := range ids {
		o, err := r.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Count returns the number of accounts (zero means the desk still needs provisioning).
func (r *Registry) Count(ctx context.Context) (int, error) {
	var n int
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM officers`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count officers: %w", err)
	}
	return n, nil
}

// Unlock clears a lockout; only a supervisor may do it (checked by the caller's session).
func (r *Registry) Unlock(ctx context.Context, supervisor, id string) error {
	return r.update(ctx, supervisor, id, "officer.unlock", `UPDATE officers SET failed_attempts = 0, locked_until = NULL WHERE officer_id = ?`)
}

// SetDisabled disables or re-enables an account.
func (r *Registry) SetDisabled(ctx context.Context, supervisor, id string, disabled bool) error {
	action, q := "officer.enable", `UPDATE officers SET disabled = 0 WHERE officer_id = ?`
	if disabled {
		action, q = "officer.disable", `UPDATE officers SET disabled = 1 WHERE officer_id = ?`
	}
	return r.update(ctx, supervisor, id, action, q)
}

func (r *Registry) update(ctx context.Context, actor, id, action, q string) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", action, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	res, err := tx.ExecContext(ctx, q, id)
	if err != nil {
		return fmt.Errorf("%s %q: %w", action, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %q: %w", action, id, store.ErrNotFound)
	}
	if _, err := r.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: action, Subject: id}); err != nil {
		return err
	}
	return tx.Commit()
}
