package registry

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"enrolldesk/sync/record"
)

const postgresSchema = `
CREATE TABLE IF NOT EXISTS desks (
    desk_id       TEXT    PRIMARY KEY,
    public_key    BYTEA   NOT NULL,
    head_seq      BIGINT  NOT NULL DEFAULT 0,
    head_hash     BYTEA   NOT NULL,
    registered_at BIGINT  NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    desk_id     TEXT    NOT NULL REFERENCES desks(desk_id),
    seq         BIGINT  NOT NULL,
    record_id   BYTEA   NOT NULL CONSTRAINT records_record_id_key UNIQUE,
    hash        BYTEA   NOT NULL,
    prev_hash   BYTEA   NOT NULL,
    envelope    BYTEA   NOT NULL,
    received_at BIGINT  NOT NULL,
    leaf_index  BIGINT  NOT NULL UNIQUE,
    PRIMARY KEY (desk_id, seq)
);
CREATE TABLE IF NOT EXISTS blobs (
    desk_id TEXT    NOT NULL,
    seq     BIGINT  NOT NULL,
    idx     INTEGER NOT NULL,
    sealed  BYTEA   NOT NULL,
    PRIMARY KEY (desk_id, seq, idx),
    FOREIGN KEY (desk_id, seq) REFERENCES records(desk_id, seq)
);
CREATE TABLE IF NOT EXISTS desk_revocations (
    desk_id    TEXT    PRIMARY KEY REFERENCES desks(desk_id),
    reason     TEXT    NOT NULL,
    revoked_at BIGINT  NOT NULL
);
`

// PostgresStore keeps the registry in PostgreSQL (pgx), for many desks at HQ scale.
type PostgresStore struct {
	pool *pgxpool.Pool
}

// OpenPostgres connects with a pgx connection string and creates the schema if needed.
func OpenPostgres(ctx context.Context, dsn string) (*PostgresStore, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open registry postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open registry postgres: %w", err)
	}
	if _, err := pool.Exec(ctx, postgresSchema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open registry postgres: schema: %w", err)
	}
	return &PostgresStore{pool: pool}, nil
}

// Close closes the pool.
func (s *PostgresStore) Close() error { s.pool.Close(); return nil }

// RegisterDesk implements Store.
func (s *PostgresStore) RegisterDesk(ctx context.Context, d Desk) error {
	if d.ID == "" || len(d.PublicKey) != ed25519.PublicKeySize {
		return errors.New("register desk: id and Ed25519 key required")
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO desks(desk_id, public_key, head_hash, registered_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (desk_id) DO NOTHING`, d.ID, []byte(d.PublicKey), record.GenesisHash[:], time.Now().UnixMilli()); err != nil {
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
func (s *PostgresStore) Desk(ctx context.Context, id string) (Desk, error) {
	var pub []byte
	var at int64
	var revokedAt *int64
	var reason *string
	err := s.pool.QueryRow(ctx, `SELECT d.public_key, d.registered_at, r.revoked_at, r.reason
		FROM desks d LEFT JOIN desk_revocations r ON r.desk_id = d.desk_id WHERE d.desk_id = $1`, id).Scan(&pub, &at, &revokedAt, &reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return Desk{}, ErrUnknownDesk
	}
	if err != nil {
		return Desk{}, fmt.Errorf("desk %s: %w", id, err)
	}
	d := Desk{ID: id, PublicKey: pub, Registered: time.UnixMilli(at)}
	if revokedAt != nil {
		d.Revoked = time.UnixMilli(*revokedAt).UTC()
		if reason != nil {
			d.RevokeReason = *reason
		}
	}
	return d, nil
}

// RevokeDesk implements Store.
func (s *PostgresStore) RevokeDesk(ctx context.Context, id, reason string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO desk_revocations(desk_id, reason, revoked_at)
		SELECT desk_id, $1, $2 FROM desks WHERE desk_id = $3 ON CONFLICT (desk_id) DO NOTHING`, reason, at.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("revoke desk %s: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := s.Desk(ctx, id); err != nil {
		return fmt.Errorf("revoke desk %s: %w", id, err)
	}
	return nil // already revoked
}

// Head implements Store.
func (s *PostgresStore) Head(ctx context.Context, deskID string) (Head, error) {
	var h Head
	var seq int64
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT head_seq, head_hash FROM desks WHERE desk_id = $1`, deskID).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, ErrUnknownDesk
	}
	if err != nil {
		return h, fmt.Errorf("desk head: %w", err)
	}
	h.Seq = uint64(seq)
	copy(h.Hash[:], hash)
	return h, nil
}

// Hashes implements Store.
func (s *PostgresStore) Hashes(ctx context.Context, deskID string, from, to uint64) ([]record.Hash, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, hash FROM records WHERE desk_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`,
		deskID, int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("record hashes: %w", err)
	}
	defer rows.Close()
	var out []record.Hash
	for rows.Next() {
		var seq int64
		var h []byte
		if err := rows.Scan(&seq, &h); err != nil {
			return nil, fmt.Errorf("record hashes: %w", err)
		}
		if uint64(seq) != from+uint64(len(out)) {
			return nil, fmt.Errorf("record hashes: desk %s sequence %d missing", deskID, from+uint64(len(out)))
		}
		var hh record.Hash
		copy(hh[:], h)
		out = append(out, hh)
	}
	return out, rows.Err()
}

// Append implements Store: the conditional head update takes the desk row's lock, so batches of
// one desk serialise while other desks proceed in parallel; rows go in with COPY.
func (s *PostgresStore) Append(ctx context.Context, deskID string, expect Head, entries []Entry) (Head, error) {
	if len(entries) == 0 {
		return expect, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Head{}, fmt.Errorf("store batch: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	last := entries[len(entries)-1]
	tag, err := tx.Exec(ctx, `UPDATE desks SET head_seq = $1, head_hash = $2 WHERE desk_id = $3 AND head_seq = $4 AND head_hash = $5`,
		int64(last.Seq), last.Hash[:], deskID, int64(expect.Seq), expect.Hash[:])
	if err != nil {
		return Head{}, fmt.Errorf("store batch: move head: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return Head{}, ErrHeadMoved
	}
	now := time.Now().UnixMilli()
	var blobRows [][]any
	recRows := make([][]any, len(entries))
	for i, e := range entries {
		recRows[i] = []any{deskID, int64(e.Seq), e.ID[:], e.Hash[:], e.Prev[:], e.Envelope, now, int64(e.Leaf)}
		for j, b := range e.Blobs {
			blobRows = append(blobRows, []any{deskID, int64(e.Seq), int32(j), b})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"desk_id", "seq", "record_id", "hash", "prev_hash", "envelope", "received_at", "leaf_index"},
		pgx.CopyFromRows(recRows)); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "records_record_id_key" {
			return Head{}, fmt.Errorf("store batch: %w", ErrDuplicateID)
		}
		return Head{}, fmt.Errorf("store batch: records: %w", err)
	}
	if len(blobRows) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"blobs"}, []string{"desk_id", "seq", "idx", "sealed"}, pgx.CopyFromRows(blobRows)); err != nil {
			return Head{}, fmt.Errorf("store batch: blobs: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return Head{}, fmt.Errorf("store batch: commit: %w", err)
	}
	return Head{Seq: last.Seq, Hash: last.Hash}, nil
}

// Records implements Store.
func (s *PostgresStore) Records(ctx context.Context, deskID string, from, to uint64) ([]Entry, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, record_id, hash, prev_hash, envelope, leaf_index FROM records
		WHERE desk_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`, deskID, int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	var out []Entry
	for rows.Next() {
		var e Entry
		var seq, leaf int64
		var id, h, p []byte
		if err := rows.Scan(&seq, &id, &h, &p, &e.Envelope, &leaf); err != nil {
			rows.Close()
			return nil, fmt.Errorf("records: %w", err)
		}
		e.Seq, e.Leaf = uint64(seq), uint64(leaf)
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
	brows, err := s.pool.Query(ctx, `SELECT seq, idx, sealed FROM blobs WHERE desk_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq, idx`,
		deskID, int64(out[0].Seq), int64(out[len(out)-1].Seq))
	if err != nil {
		return nil, fmt.Errorf("records: blobs: %w", err)
	}
	defer brows.Close()
	for brows.Next() {
		var seq int64
		var idx int32
		var b []byte
		if err := brows.Scan(&seq, &idx, &b); err != nil {
			return nil, fmt.Errorf("records: blobs: %w", err)
		}
		e := &out[uint64(seq)-out[0].Seq]
		if int(idx) != len(e.Blobs) {
			return nil, fmt.Errorf("records: desk %s sequence %d blob %d out of order", deskID, seq, idx)
		}
		e.Blobs = append(e.Blobs, b)
	}
	return out, brows.Err()
}

// LogLeaves implements Store.
func (s *PostgresStore) LogLeaves(ctx context.Context) ([]record.Hash, error) {
	rows, err := s.pool.Query(ctx, `SELECT leaf_index, hash FROM records ORDER BY leaf_index`)
	if err != nil {
		return nil, fmt.Errorf("log leaves: %w", err)
	}
	defer rows.Close()
	var out []record.Hash
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return nil, fmt.Errorf("log leaves: %w", err)
		}
		if uint64(idx) != uint64(len(out)) {
			return nil, fmt.Errorf("log leaves: leaf %d missing", len(out))
		}
		var hh record.Hash
		copy(hh[:], h)
		out = append(out, hh)
	}
	return out, rows.Err()
}
