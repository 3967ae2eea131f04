package registry

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"enrolldesk/sync/record"
)

const sqliteSchema = `
CREATE TABLE IF NOT EXISTS desks (
    desk_id       TEXT    PRIMARY KEY,
    public_key    BLOB    NOT NULL,
    head_seq      INTEGER NOT NULL DEFAULT 0,
    head_hash     BLOB    NOT NULL,
    registered_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    desk_id     TEXT    NOT NULL REFERENCES desks(desk_id),
    seq         INTEGER NOT NULL,
    record_id   BLOB    NOT NULL UNIQUE,
    hash        BLOB    NOT NULL,
    prev_hash   BLOB    NOT NULL,
    envelope    BLOB    NOT NULL,
    received_at INTEGER NOT NULL,
    leaf_index  INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (desk_id, seq)
);
CREATE TABLE IF NOT EXISTS blobs (
    desk_id TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    sealed  BLOB    NOT NULL,
    PRIMARY KEY (desk_id, seq, idx),
    FOREIGN KEY (desk_id, seq) REFERENCES records(desk_id, seq)
);
CREATE TABLE IF NOT EXISTS desk_revocations (
    desk_id    TEXT    PRIMARY KEY REFERENCES desks(desk_id),
    reason     TEXT    NOT NULL,
    revoked_at INTEGER NOT NULL
);
`

// SQLiteStore is the default registry storage: one SQLite file, WAL, synchronous=FULL.
type SQLiteStore struct {
	db *sql.DB
	// wmu queues writers in the process: SQLite has one writer at a time, and its busy handler
	// (sleep and retry) is unfair under load, which starves some desks for seconds.
	wmu sync.Mutex

	// Checkpoints run beside ingest, not inside it: with SQLite's automatic checkpoint the
	// committing batch would copy the WAL into the database file (and fsync it) on its own
	// serial path. The checkpointer starts after every commit and copies what is committed
	// (PASSIVE: it never blocks writers or readers); the WAL restarts once a checkpoint caught up.
	ckpt     chan struct{}
	ckptDone chan struct{}
	stop     context.CancelFunc
}

// checkpointer runs a PASSIVE checkpoint after each signalled commit until ctx ends.
func (s *SQLiteStore) checkpointer(ctx context.Context) {
	defer close(s.ckptDone)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ckpt:
		}
		if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && ctx.Err() == nil {
			slog.Warn("registry store: checkpoint", "err", err)
		}
	}
}

// OpenSQLite opens (creating if needed) the registry database at path.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open registry store: %w", err)
	}
	q := url.Values{}
	// 16 KiB pages: a sealed portrait fits in one or two pages instead of five, which halves the
	// page writes of a batch (page_size must come before journal_mode=WAL on a new file).
	for _, p := range []string{"page_size(16384)", "busy_timeout(30000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)", "wal_autocheckpoint(0)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open registry store %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open registry store %s: schema: %w", path, err)
	}
	cctx, stop := context.WithCancel(context.Background())
	s := &SQLiteStore{db: db, ckpt: make(chan struct{}, 1), ckptDone: make(chan struct{}), stop: stop}
	go s.checkpointer(cctx)
	return s, nil
}

// Close stops the checkpointer and closes the database (SQLite checkpoints the WAL on the last
// close).
func (s *SQLiteStore) Close() error {
	s.stop()
	<-s.ckptDone
	return s.db.Close()
}

// RegisterDesk implements Store.
func (s *SQLiteStore) RegisterDesk(ctx context.Context, d Desk) error {
	if d.ID == "" || len(d.PublicKey) != ed25519.PublicKeySize {
		return errors.New("register desk: id and Ed25519 key required")
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO desks(desk_id, public_key, head_hash, registered_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(desk_id) DO NOTHING`, d.ID, []byte(d.PublicKey), record.GenesisHash[:], time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("register desk %s: %w", d.ID, err)
	}
	got, err := s.Desk(ctx, d.ID)
	if err != nil {
		return err
	}
	if !got.PublicKey.Equal(d.PublicKey) {
		return fmt.Errorf("register desk %s: %w", d.ID, ErrDeskKey)
	}
	return nil
}

// Desk implements Store.
func (s *SQLiteStore) Desk(ctx context.Context, id string) (Desk, error) {
	var pub []byte
	var at int64
	var revokedAt sql.NullInt64
	var reason sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT d.public_key, d.registered_at, r.revoked_at, r.reason
		FROM desks d LEFT JOIN desk_revocations r ON r.desk_id = d.desk_id WHERE d.desk_id = ?`, id).Scan(&pub, &at, &revokedAt, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return Desk{}, ErrUnknownDesk
	}
	if err != nil {
		return Desk{}, fmt.Errorf("desk %s: %w", id, err)
	}
	d := Desk{ID: id, PublicKey: pub, Registered: time.UnixMilli(at)}
	if revokedAt.Valid {
		d.Revoked, d.RevokeReason = time.UnixMilli(revokedAt.Int64).UTC(), reason.String
	}
	return d, nil
}

// RevokeDesk implements Store.
func (s *SQLiteStore) RevokeDesk(ctx context.Context, id, reason string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO desk_revocations(desk_id, reason, revoked_at)
		SELECT desk_id, ?, ? FROM desks WHERE desk_id = ? ON CONFLICT(desk_id) DO NOTHING`, reason, at.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("revoke desk %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	if _, err := s.Desk(ctx, id); err != nil {
		return fmt.Errorf("revoke desk %s: %w", id, err)
	}
	return nil // already revoked
}

// Head implements Store.
func (s *SQLiteStore) Head(ctx context.Context, deskID string) (Head, error) {
	return sqlHead(ctx, s.db.QueryRowContext(ctx, `SELECT head_seq, head_hash FROM desks WHERE desk_id = ?`, deskID))
}

func sqlHead(_ context.Context, row *sql.Row) (Head, error) {
	var h Head
	var hash []byte
	err := row.Scan(&h.Seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrUnknownDesk
	}
	if err != nil {
		return h, fmt.Errorf("desk head: %w", err)
	}
	copy(h.Hash[:], hash)
	return h, nil
}

// Hashes implements Store.
func (s *SQLiteStore) Hashes(ctx context.Context, deskID string, from, to uint64) ([]record.Hash, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, hash FROM records WHERE desk_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`, deskID, from, to)
	if err != nil {
		return nil, fmt.Errorf("record hashes: %w", err)
	}
	defer rows.Close()
	var out []record.Hash
	for rows.Next() {
		var seq uint64
		var h []byte
		if err := rows.Scan(&seq, &h); err != nil {
			return nil, fmt.Errorf("record hashes: %w", err)
		}
		if seq != from+uint64(len(out)) {
			return nil, fmt.Errorf("record hashes: desk %s sequence %d missing", deskID, from+uint64(len(out)))
		}
		var hh record.Hash
		copy(hh[:], h)
		out = append(out, hh)
	}
	return out, rows.Err()
}

// Append implements Store.
func (s *SQLiteStore) Append(ctx context.Context, deskID string, expect Head, entries []Entry) (Head, error) {
	if len(entries) == 0 {
		return expect, nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Head{}, fmt.Errorf("store batch: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	last := entries[len(entries)-1]
	res, err := tx.ExecContext(ctx, `UPDATE desks SET head_seq = ?, head_hash = ? WHERE desk_id = ? AND head_seq = ? AND head_hash = ?`,
		last.Seq, last.Hash[:], deskID, expect.Seq, expect.Hash[:])
	if err != nil {
		return Head{}, fmt.Errorf("store batch: move head: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return Head{}, ErrHeadMoved
	}
	recStmt, err := tx.PrepareContext(ctx, `INSERT INTO records(desk_id, seq, record_id, hash, prev_hash, envelope, received_at, leaf_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return Head{}, fmt.Errorf("store batch: %w", err)
	}
	defer recStmt.Close()
	blobStmt, err := tx.PrepareContext(ctx, `INSERT INTO blobs(desk_id, seq, idx, sealed) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return Head{}, fmt.Errorf("store batch: %w", err)
	}
	defer blobStmt.Close()
	now := time.Now().UnixMilli()
	for _, e := range entries {
		if _, err := recStmt.ExecContext(ctx, deskID, e.Seq, e.ID[:], e.Hash[:], e.Prev[:], e.Envelope, now, e.Leaf); err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed: records.record_id") {
				return Head{}, fmt.Errorf("store batch: sequence %d: %w", e.Seq, ErrDuplicateID)
			}
			return Head{}, fmt.Errorf("store batch: sequence %d: %w", e.Seq, err)
		}
		for i, b := range e.Blobs {
			if _, err := blobStmt.ExecContext(ctx, deskID, e.Seq, i, b); err != nil {
				return Head{}, fmt.Errorf("store batch: sequence %d blob %d: %w", e.Seq, i, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return Head{}, fmt.Errorf("store batch: commit: %w", err)
	}
	select {
	case s.ckpt <- struct{}{}:
	default: // a checkpoint is pending already
	}
	return Head{Seq: last.Seq, Hash: last.Hash}, nil
}

// Records implements Store.
func (s *SQLiteStore) Records(ctx context.Context, deskID string, from, to uint64) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, record_id, hash, prev_hash, envelope, leaf_index FROM records
		WHERE desk_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`, deskID, from, to)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	var out []Entry
	for rows.Next() {
		var e Entry
		var id, h, p []byte
		if err := rows.Scan(&e.Seq, &id, &h, &p, &e.Envelope, &e.Leaf); err != nil {
			rows.Close()
			return nil, fmt.Errorf("records: %w", err)
		}
		copy(e.ID[:], id)
		copy(e.Hash[:], h)
		copy(e.Prev[:], p)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	brows, err := s.db.QueryContext(ctx, `SELECT seq, idx, sealed FROM blobs WHERE desk_id = ? AND seq BETWEEN ? AND ? ORDER BY seq, idx`,
		deskID, out[0].Seq, out[len(out)-1].Seq)
	if err != nil {
		return nil, fmt.Errorf("records: blobs: %w", err)
	}
	defer brows.Close()
	for brows.Next() {
		var seq uint64
		var idx int
		var b []byte
		if err := brows.Scan(&seq, &idx, &b); err != nil {
			return nil, fmt.Errorf("records: blobs: %w", err)
		}
		e := &out[seq-out[0].Seq]
		if idx != len(e.Blobs) {
			return nil, fmt.Errorf("records: desk %s sequence %d blob %d out of order", deskID, seq, idx)
		}
		e.Blobs = append(e.Blobs, b)
	}
	return out, brows.Err()
}

// IntegrityCheck runs PRAGMA integrity_check.
func (s *SQLiteStore) IntegrityCheck(ctx context.Context) error {
	var res string
	if err := s.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return nil
}

// LogLeaves implements Store.
func (s *SQLiteStore) LogLeaves(ctx context.Context) ([]record.Hash, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT leaf_index, hash FROM records ORDER BY leaf_index`)
	if err != nil {
		return nil, fmt.Errorf("log leaves: %w", err)
	}
	defer rows.Close()
	var out []record.Hash
	for rows.Next() {
		var idx uint64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return nil, fmt.Errorf("log leaves: %w", err)
		}
		if idx != uint64(len(out)) {
			return nil, fmt.Errorf("log leaves: leaf %d missing", len(out))
		}
		var hh record.Hash
		copy(hh[:], h)
		out = append(out, hh)
	}
	return out, rows.Err()
}
