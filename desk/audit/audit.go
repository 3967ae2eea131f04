// Package audit is the desk's append-only, hash-chained audit log. Every login, approval,
// rejection, exception, export, settings change and device event is one Entry. Inside SQLite,
// triggers refuse UPDATE and DELETE; Verify recomputes the chain so an edit or removal made behind
// the app's back (triggers dropped, file edited) is found. Entries name actors and subjects by id
// only: no personal or biometric data is written here.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"enrolldesk/desk/store"
	"enrolldesk/sync/protocol"
)

// Entry is one audit row. Subject is an id (record id, officer id, device name), never personal data.
type Entry struct {
	Seq      int64
	At       time.Time
	Actor    string // officer id, or "system"
	Action   string // e.g. "login.ok", "login.fail", "record.approve"
	Subject  string
	Detail   string
	PrevHash []byte
	Hash     []byte
}

// genesis is the previous hash of the first entry.
var genesis = make([]byte, sha256.Size)

// Log appends to and verifies the audit table of a desk store.
type Log struct {
	db  *store.DB
	now func() time.Time
}

// New returns the audit log of db. now may be nil (time.Now).
func New(db *store.DB, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{db: db, now: now}
}

// Hash computes an entry's chain hash: SHA-256 over the previous hash and every field, each
// length-prefixed so that no two different entries share an encoding. It is
// protocol.AuditChainHash, the function the registry recomputes when the log is synced to it.
func Hash(e Entry) []byte {
	return protocol.AuditChainHash(e.PrevHash, e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Subject, e.Detail)
}

// Append writes e in its own transaction and returns it with Seq, At and hashes filled in.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return Entry{}, fmt.Errorf("audit append: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	out, err := l.AppendTx(ctx, tx, e)
	if err != nil {
		return Entry{}, err
	}
	if err := tx.Commit(); err != nil {
		return Entry{}, fmt.Errorf("audit append: commit: %w", err)
	}
	return out, nil
}

// AppendTx writes e inside the caller's transaction, so that an action and its audit entry commit
// together or not at all. The store opens write transactions with BEGIN IMMEDIATE, so reading the
// chain head and inserting after it cannot interleave with another writer.
func (l *Log) AppendTx(ctx context.Context, tx *sql.Tx, e Entry) (Entry, error) {
	if e.Actor == "" || e.Action == "" {
		return Entry{}, errors.New("audit append: actor and action are required")
	}
	prev := genesis
	var seq int64
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fmt.Errorf("audit append: read head: %w", err)
	}
	e.Seq = seq + 1
	e.PrevHash = prev
	if e.At.IsZero() {
		e.At = l.now()
	}
	e.At = e.At.UTC()
	e.Hash = Hash(e)
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO audit_log(seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)`,
		e.Seq, e.At.Format(time.RFC3339Nano), e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash); err != nil {
		return Entry{}, fmt.Errorf("audit append: insert: %w", err)
	}
	return e, nil
}

// ChainError says where the chain breaks and why.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", e.Seq, e.Reason)
}

// Head is the newest entry's position; an external copy of it (the registry keeps one per desk)
// is what catches a truncated tail, which a chain alone cannot.
type Head struct {
	Seq  int64
	Hash []byte
}

// Verify walks the whole log and returns its head. It returns a *ChainError for a row whose hash
// does not match its content (edited), a missing sequence number or a previous hash that does
// not match (removed or inserted row).
func (l *Log) Verify(ctx context.Context) (Head, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return Head{}, fmt.Errorf("audit verify: %w", err)
	}
	defer rows.Close()
	head := Head{Hash: genesis}
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return Head{}, fmt.Errorf("audit verify: %w", err)
		}
		switch {
		case e.Seq != head.Seq+1:
			return Head{}, &ChainError{Seq: head.Seq + 1, Reason: fmt.Sprintf("entry missing (next present is %d)", e.Seq)}
		case !bytes.Equal(e.PrevHash, head.Hash):
			return Head{}, &ChainError{Seq: e.Seq, Reason: "previous-hash link does not match the entry before it"}
		case !bytes.Equal(Hash(e), e.Hash):
			return Head{}, &ChainError{Seq: e.Seq, Reason: "content does not match its hash (edited)"}
		}
		head = Head{Seq: e.Seq, Hash: e.Hash}
	}
	if err := rows.Err(); err != nil {
		return Head{}, fmt.Errorf("audit verify: %w", err)
	}
	return head, nil
}

// Since returns the entries after seq, oldest first, at most limit of them (for the sync of the
// audit log to the registry and for the supervisor's view).
func (l *Log) Since(ctx context.Context, seq int64, limit int) ([]Entry, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash
		FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("audit since %d: %w", seq, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("audit since %d: %w", seq, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scan(rows *sql.Rows) (Entry, error) {
	var e Entry
	var at string
	if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
		return Entry{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return Entry{}, fmt.Errorf("entry %d: time %q: %w", e.Seq, at, err)
	}
	e.At = t
	return e, nil
}
