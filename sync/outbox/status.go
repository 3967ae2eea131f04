package outbox

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"enrolldesk/sync/record"
)

// Counts is how many records sit in each state.
type Counts struct {
	Queued, Sent, Acked int
}

// Total is the number of records released.
func (c Counts) Total() int { return c.Queued + c.Sent + c.Acked }

// CountStates counts the outbox by state. It needs no keys, so the CLI can call it on any store.
func CountStates(ctx context.Context, db *sql.DB) (Counts, error) {
	var head, sent, acked int
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COALESCE(MAX(seq), 0) FROM outbox), sent_seq, acked_seq FROM sync_state`).
		Scan(&head, &sent, &acked); err != nil {
		return Counts{}, fmt.Errorf("count outbox: %w", err)
	}
	sent = max(sent, acked)
	return Counts{Queued: head - sent, Sent: sent - acked, Acked: acked}, nil
}

// Counts counts this outbox by state.
func (o *Outbox) Counts(ctx context.Context) (Counts, error) { return CountStates(ctx, o.db.DB) }

// SyncState is what the officer's status line shows.
type SyncState struct {
	Head        uint64    // last sequence released
	AckedSeq    uint64    // highest sequence the registry acknowledged in a verified receipt
	LastSynced  time.Time // when a receipt last covered everything released then (zero: never)
	LastAttempt time.Time
	LastError   string
	Receipt     []byte
}

// ReadSyncState reads the sync state of a store.
func ReadSyncState(ctx context.Context, db *sql.DB) (SyncState, error) {
	var s SyncState
	var synced, attempt sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT acked_seq, last_synced_at, last_attempt_at, last_error, receipt,
		(SELECT COALESCE(MAX(seq), 0) FROM outbox) FROM sync_state`).Scan(
		&s.AckedSeq, &synced, &attempt, &s.LastError, &s.Receipt, &s.Head); err != nil {
		return s, fmt.Errorf("read sync state: %w", err)
	}
	if synced.Valid {
		s.LastSynced = time.UnixMilli(synced.Int64).UTC()
	}
	if attempt.Valid {
		s.LastAttempt = time.UnixMilli(attempt.Int64).UTC()
	}
	return s, nil
}

// SyncState reads this outbox's sync state.
func (o *Outbox) SyncState(ctx context.Context) (SyncState, error) {
	return ReadSyncState(ctx, o.db.DB)
}

// ChainReport is the result of an offline chain check.
type ChainReport struct {
	Records       int
	Head          uint64
	HeadHash      record.Hash
	Countersigned int
	Acked         int
	BlobsPurged   int
	BlobsHeld     int
}

// VerifyChain checks a desk store offline: every record's desk signature and officer
// countersignature, the sequence from 1 without gaps, every prev link, the stored hashes, and that
// blobs are held exactly for the records the registry has not acknowledged yet.
func VerifyChain(ctx context.Context, db *sql.DB, deskKey ed25519.PublicKey) (ChainReport, error) {
	var rep ChainReport
	var ackedSeq uint64
	if err := db.QueryRowContext(ctx, `SELECT acked_seq FROM sync_state`).Scan(&ackedSeq); err != nil {
		return rep, fmt.Errorf("verify chain: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT o.seq, o.record_id, o.prev_hash, o.hash, o.envelope, b.seq IS NOT NULL
		FROM outbox o LEFT JOIN outbox_blobs b ON b.seq = o.seq ORDER BY o.seq`)
	if err != nil {
		return rep, fmt.Errorf("verify chain: %w", err)
	}
	defer rows.Close()
	prev := record.GenesisHash
	for rows.Next() {
		var seq uint64
		var id, prevHash, hash, env []byte
		var held bool
		if err := rows.Scan(&seq, &id, &prevHash, &hash, &env, &held); err != nil {
			return rep, fmt.Errorf("verify chain: %w", err)
		}
		if seq != rep.Head+1 {
			return rep, fmt.Errorf("verify chain: gap: sequence %d follows %d", seq, rep.Head)
		}
		s, err := record.Verify(env, deskKey)
		if err != nil {
			return rep, fmt.Errorf("verify chain: sequence %d: %w", seq, err)
		}
		r := s.Record
		switch {
		case r.Seq != seq:
			return rep, fmt.Errorf("verify chain: row %d holds record %d", seq, r.Seq)
		case r.Prev != prev || string(prevHash) != string(prev[:]):
			return rep, fmt.Errorf("verify chain: sequence %d does not link to %d", seq, seq-1)
		case string(hash) != string(s.Hash[:]):
			return rep, fmt.Errorf("verify chain: sequence %d: stored hash differs from the envelope's", seq)
		case string(id) != string(r.ID[:]):
			return rep, fmt.Errorf("verify chain: sequence %d: stored id differs from the record's", seq)
		case held && seq <= ackedSeq:
			return rep, fmt.Errorf("verify chain: sequence %d is acknowledged but its blobs were not purged", seq)
		case !held && seq > ackedSeq && len(r.Blobs) > 0:
			return rep, fmt.Errorf("verify chain: sequence %d is not acknowledged but its blobs are missing", seq)
		}
		if seq <= ackedSeq {
			rep.Acked++
			rep.BlobsPurged += len(r.Blobs)
		} else {
			rep.BlobsHeld += len(r.Blobs)
		}
		if r.OfficerKey != nil {
			rep.Countersigned++
		}
		rep.Records++
		rep.Head = seq
		prev = s.Hash
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("verify chain: %w", err)
	}
	if ackedSeq > rep.Head {
		return rep, fmt.Errorf("verify chain: acknowledged %d beyond the head %d", ackedSeq, rep.Head)
	}
	rep.HeadHash = prev
	return rep, nil
}

// ErrNotProvisioned means the store has no desk identity row yet.
var ErrNotProvisioned = errors.New("desk not provisioned")

// DeskIdentity reads the desk id and public key from the desk table that provisioning writes.
func DeskIdentity(ctx context.Context, db *sql.DB) (string, ed25519.PublicKey, error) {
	var id string
	var pub []byte
	err := db.QueryRowContext(ctx, `SELECT desk_id, public_key FROM desk WHERE singleton = 1`).Scan(&id, &pub)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, ErrNotProvisioned
	}
	if err != nil {
		return "", nil, fmt.Errorf("desk identity: %w", err)
	}
	if len(pub) != ed25519.PublicKeySize {
		return "", nil, fmt.Errorf("desk identity: public key of %d bytes", len(pub))
	}
	return id, ed25519.PublicKey(pub), nil
}
