package registry

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"enrolldesk/sync/protocol"
)

// The registry's copy of each desk's audit log (protocol.PathDeskAudit). It accepts only entries
// that continue the chain head it holds, so entries can be neither edited nor dropped once
// shipped, and the head it holds is what exposes a desk whose audit tail was cut off.

// AuditHead is the newest audit entry the registry holds for a desk (Seq 0: none).
type AuditHead struct {
	Seq  int64
	Hash []byte
}

// AuditStore keeps desks' audit chains. SQLiteStore and PostgresStore implement it.
type AuditStore interface {
	// AuditHead returns the desk's audit head (Seq 0 and the genesis hash when nothing is stored).
	AuditHead(ctx context.Context, deskID string) (AuditHead, error)
	// AuditEntries returns stored entries from..to (inclusive), oldest first.
	AuditEntries(ctx context.Context, deskID string, from, to int64) ([]protocol.AuditEntry, error)
	// AppendAudit stores entries (consecutive from expect.Seq+1, verified by the caller) and moves
	// the head in one transaction, provided the head is still expect; else ErrHeadMoved.
	AppendAudit(ctx context.Context, deskID string, expect AuditHead, entries []protocol.AuditEntry) (AuditHead, error)
}

var (
	_ AuditStore = (*SQLiteStore)(nil)
	_ AuditStore = (*PostgresStore)(nil)
)

const sqliteAuditSchema = `
CREATE TABLE IF NOT EXISTS audit_heads (
    desk_id TEXT    PRIMARY KEY REFERENCES desks(desk_id),
    seq     INTEGER NOT NULL,
    hash    BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_entries (
    desk_id     TEXT    NOT NULL REFERENCES desks(desk_id),
    seq         INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (desk_id, seq)
);
`

// missingTable reports an error for a table not created yet: the audit tables appear with the
// first stored entry, so a desk that never shipped reads as an empty chain.
func missingTable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "42P01" // undefined_table
	}
	return err != nil && strings.Contains(err.Error(), "no such table")
}

// AuditHead implements AuditStore.
func (s *SQLiteStore) AuditHead(ctx context.Context, deskID string) (AuditHead, error) {
	if _, err := s.Desk(ctx, deskID); err != nil {
		return AuditHead{}, err
	}
	h := AuditHead{Hash: protocol.AuditGenesis}
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE desk_id = ?`, deskID).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) || missingTable(err) {
		return AuditHead{Hash: protocol.AuditGenesis}, nil
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("audit head %s: %w", deskID, err)
	}
	return h, nil
}

// AuditEntries implements AuditStore.
func (s *SQLiteStore) AuditEntries(ctx context.Context, deskID string, from, to int64) ([]protocol.AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_entries
		WHERE desk_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`, deskID, from, to)
	if missingTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit entries %s: %w", deskID, err)
	}
	defer rows.Close()
	var out []protocol.AuditEntry
	for rows.Next() {
		var e protocol.AuditEntry
		if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.Prev, &e.Hash); err != nil {
			return nil, fmt.Errorf("audit entries %s: %w", deskID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AppendAudit implements AuditStore.
func (s *SQLiteStore) AppendAudit(ctx context.Context, deskID string, expect AuditHead, entries []protocol.AuditEntry) (AuditHead, error) {
	if len(entries) == 0 {
		return expect, nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return AuditHead{}, fmt.Errorf("store audit: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, sqliteAuditSchema); err != nil {
		return AuditHead{}, fmt.Errorf("store audit: schema: %w", err)
	}
	cur := AuditHead{Hash: protocol.AuditGenesis}
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE desk_id = ?`, deskID).Scan(&cur.Seq, &cur.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return AuditHead{}, fmt.Errorf("store audit: head: %w", err)
	}
	if cur.Seq != expect.Seq || !bytes.Equal(cur.Hash, expect.Hash) {
		return AuditHead{}, ErrHeadMoved
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_entries(desk_id, seq, at, actor, action, subject, detail, prev_hash, hash, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return AuditHead{}, fmt.Errorf("store audit: %w", err)
	}
	defer stmt.Close()
	now := time.Now().UnixMilli()
	for _, e := range entries {
		if _, err := stmt.ExecContext(ctx, deskID, e.Seq, e.At, e.Actor, e.Action, e.Subject, e.Detail, e.Prev, e.Hash, now); err != nil {
			return AuditHead{}, fmt.Errorf("store audit: entry %d: %w", e.Seq, err)
		}
	}
	last := entries[len(entries)-1]
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_heads(desk_id, seq, hash) VALUES (?, ?, ?)
		ON CONFLICT(desk_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, deskID, last.Seq, last.Hash); err != nil {
		return AuditHead{}, fmt.Errorf("store audit: move head: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return AuditHead{}, fmt.Errorf("store audit: commit: %w", err)
	}
	return AuditHead{Seq: last.Seq, Hash: last.Hash}, nil
}

const postgresAuditSchema = `
CREATE TABLE IF NOT EXISTS audit_heads (
    desk_id TEXT    PRIMARY KEY REFERENCES desks(desk_id),
    seq     BIGINT  NOT NULL,
    hash    BYTEA   NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_entries (
    desk_id     TEXT    NOT NULL REFERENCES desks(desk_id),
    seq         BIGINT  NOT NULL,
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    prev_hash   BYTEA   NOT NULL,
    hash        BYTEA   NOT NULL,
    received_at BIGINT  NOT NULL,
    PRIMARY KEY (desk_id, seq)
);
`

// AuditHead implements AuditStore.
func (s *PostgresStore) AuditHead(ctx context.Context, deskID string) (AuditHead, error) {
	if _, err := s.Desk(ctx, deskID); err != nil {
		return AuditHead{}, err
	}
	h := AuditHead{Hash: protocol.AuditGenesis}
	err := s.pool.QueryRow(ctx, `SELECT seq, hash FROM audit_heads WHERE desk_id = $1`, deskID).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, pgx.ErrNoRows) || missingTable(err) {
		return AuditHead{Hash: protocol.AuditGenesis}, nil
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("audit head %s: %w", deskID, err)
	}
	return h, nil
}

// AuditEntries implements AuditStore.
func (s *PostgresStore) AuditEntries(ctx context.Context, deskID string, from, to int64) ([]protocol.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_entries
		WHERE desk_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`, deskID, from, to)
	if missingTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit entries %s: %w", deskID, err)
	}
	defer rows.Close()
	var out []protocol.AuditEntry
	for rows.Next() {
		var e protocol.AuditEntry
		if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.Prev, &e.Hash); err != nil {
			return nil, fmt.Errorf("audit entries %s: %w", deskID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil && !missingTable(err) {
		return nil, fmt.Errorf("audit entries %s: %w", deskID, err)
	}
	return out, nil
}

// AppendAudit implements AuditStore: the head row is locked (FOR UPDATE) for the transaction, so
// two uploads of one desk serialise.
func (s *PostgresStore) AppendAudit(ctx context.Context, deskID string, expect AuditHead, entries []protocol.AuditEntry) (AuditHead, error) {
	if len(entries) == 0 {
		return expect, nil
	}
	if _, err := s.pool.Exec(ctx, postgresAuditSchema); err != nil {
		return AuditHead{}, fmt.Errorf("store audit: schema: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return AuditHead{}, fmt.Errorf("store audit: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	// The desk row's lock orders every audit upload of this desk, including the first one.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM desks WHERE desk_id = $1 FOR UPDATE`, deskID); err != nil {
		return AuditHead{}, fmt.Errorf("store audit: lock desk: %w", err)
	}
	cur := AuditHead{Hash: protocol.AuditGenesis}
	err = tx.QueryRow(ctx, `SELECT seq, hash FROM audit_heads WHERE desk_id = $1`, deskID).Scan(&cur.Seq, &cur.Hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return AuditHead{}, fmt.Errorf("store audit: head: %w", err)
	}
	if cur.Seq != expect.Seq || !bytes.Equal(cur.Hash, expect.Hash) {
		return AuditHead{}, ErrHeadMoved
	}
	now := time.Now().UnixMilli()
	rows := make([][]any, len(entries))
	for i, e := range entries {
		rows[i] = []any{deskID, e.Seq, e.At, e.Actor, e.Action, e.Subject, e.Detail, e.Prev, e.Hash, now}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_entries"},
		[]string{"desk_id", "seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash", "received_at"}, pgx.CopyFromRows(rows)); err != nil {
		return AuditHead{}, fmt.Errorf("store audit: entries: %w", err)
	}
	last := entries[len(entries)-1]
	if _, err := tx.Exec(ctx, `INSERT INTO audit_heads(desk_id, seq, hash) VALUES ($1, $2, $3)
		ON CONFLICT (desk_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash`, deskID, last.Seq, last.Hash); err != nil {
		return AuditHead{}, fmt.Errorf("store audit: move head: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return AuditHead{}, fmt.Errorf("store audit: commit: %w", err)
	}
	return AuditHead{Seq: last.Seq, Hash: last.Hash}, nil
}

// auditRoutes adds the audit-sync endpoints to mux.
func (s *Server) auditRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+protocol.PathDeskAuditHead, s.handleAuditHead)
	mux.HandleFunc("POST "+protocol.PathDeskAudit, s.handleAuditPost)
}

// auditDesk checks the caller may speak for the desk in the path and returns the audit store.
func (s *Server) auditDesk(w http.ResponseWriter, r *http.Request) (string, AuditStore, bool) {
	id := r.PathValue("id")
	if cd := clientDesk(r); s.RequireClientCert && cd != id {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonDeskMismatch, Detail: "client certificate names another desk"}, id)
		return "", nil, false
	}
	as, ok := s.Store.(AuditStore)
	if !ok {
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable, Detail: "this store keeps no audit logs"}, id)
		return "", nil, false
	}
	// As the batch endpoint (Ingest): a revoked desk's audit is refused with the reason, whether
	// or not a client certificate went through the gate (plain transport, or a revocation that
	// landed since).
	desk, err := s.Store.Desk(r.Context(), id)
	switch {
	case errors.Is(err, ErrUnknownDesk):
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonUnknownDesk}, id)
		return "", nil, false
	case err != nil:
		s.log().Error("audit: read desk", "desk", id, "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, id)
		return "", nil, false
	case !desk.Revoked.IsZero():
		s.refuse(w, r, http.StatusForbidden, revokedRefusal(desk), id)
		return "", nil, false
	}
	return id, as, true
}

func (s *Server) auditHead(w http.ResponseWriter, r *http.Request, as AuditStore, id string) (AuditHead, bool) {
	h, err := as.AuditHead(r.Context(), id)
	if errors.Is(err, ErrUnknownDesk) {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonUnknownDesk}, id)
		return AuditHead{}, false
	}
	if err != nil {
		s.log().Error("audit head", "desk", id, "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, id)
		return AuditHead{}, false
	}
	return h, true
}

func (s *Server) handleAuditHead(w http.ResponseWriter, r *http.Request) {
	id, as, ok := s.auditDesk(w, r)
	if !ok {
		return
	}
	h, ok := s.auditHead(w, r, as, id)
	if !ok {
		return
	}
	s.writeAuditReceipt(w, r, id, h, 0)
}

func (s *Server) handleAuditPost(w http.ResponseWriter, r *http.Request) {
	id, as, ok := s.auditDesk(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, protocol.MaxAuditBatchBytes)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.refuse(w, r, http.StatusRequestEntityTooLarge, &protocol.Refusal{Reason: protocol.ReasonTooLarge}, id)
		}
		return
	}
	bt, err := protocol.DecodeAuditBatch(buf.Bytes())
	if err != nil {
		reason := protocol.ReasonBadRequest
		if errors.Is(err, protocol.ErrAuditChain) {
			reason = protocol.ReasonBrokenChain
		}
		s.refuse(w, r, statusFor(reason), &protocol.Refusal{Reason: reason, Detail: err.Error()}, id)
		return
	}
	if bt.DeskID != id {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonDeskMismatch, Detail: "audit batch names another desk"}, id)
		return
	}
	for attempt := 0; ; attempt++ {
		head, ok := s.auditHead(w, r, as, id)
		if !ok {
			return
		}
		fresh, ref := s.splitAudit(r.Context(), as, id, head, bt.Entries)
		if ref != nil {
			ref.Head = uint64(head.Seq)
			s.refuse(w, r, statusFor(ref.Reason), ref, id)
			return
		}
		if len(fresh) == 0 {
			s.writeAuditReceipt(w, r, id, head, 0) // a replay: harmless
			return
		}
		nh, err := as.AppendAudit(r.Context(), id, head, fresh)
		switch {
		case err == nil:
			s.writeAuditReceipt(w, r, id, nh, len(fresh))
			return
		case errors.Is(err, ErrHeadMoved) && attempt < 5:
			continue
		default:
			s.log().Error("store audit", "desk", id, "err", err)
			s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable, Head: uint64(head.Seq)}, id)
			return
		}
	}
}

// splitAudit checks a self-consistent run of entries against the stored chain: entries at or
// below the head must be the stored ones (an edited or re-chained entry is a fork), the first new
// one must directly follow the head and link to its hash. It returns the new entries.
func (s *Server) splitAudit(ctx context.Context, as AuditStore, desk string, head AuditHead, es []protocol.AuditEntry) ([]protocol.AuditEntry, *protocol.Refusal) {
	first := es[0].Seq
	if first > head.Seq+1 {
		return nil, &protocol.Refusal{Reason: protocol.ReasonGap, Seq: uint64(first), Detail: fmt.Sprintf("registry holds the audit log up to %d", head.Seq)}
	}
	n := 0
	if first <= head.Seq {
		last := min(es[len(es)-1].Seq, head.Seq)
		stored, err := as.AuditEntries(ctx, desk, first, last)
		if err != nil {
			s.log().Error("audit entries", "desk", desk, "err", err)
			return nil, &protocol.Refusal{Reason: protocol.ReasonUnavailable}
		}
		if int64(len(stored)) != last-first+1 {
			return nil, &protocol.Refusal{Reason: protocol.ReasonUnavailable, Detail: "stored audit entries missing"}
		}
		for i, st := range stored {
			if !bytes.Equal(st.Hash, es[i].Hash) {
				return nil, &protocol.Refusal{Reason: protocol.ReasonFork, Seq: uint64(st.Seq), Detail: "audit entry differs from the one the registry holds (edited or re-chained)"}
			}
		}
		n = len(stored)
	}
	fresh := es[n:]
	if len(fresh) > 0 && !bytes.Equal(fresh[0].Prev, head.Hash) {
		return nil, &protocol.Refusal{Reason: protocol.ReasonBrokenChain, Seq: uint64(fresh[0].Seq), Detail: "audit entry does not link to the registry's head"}
	}
	return fresh, nil
}

func (s *Server) writeAuditReceipt(w http.ResponseWriter, r *http.Request, desk string, h AuditHead, stored int) {
	b, err := protocol.SignAuditReceipt(&protocol.AuditReceipt{Version: protocol.Version, DeskID: desk, Seq: h.Seq, Hash: h.Hash,
		Stored: stored, Time: s.now().UnixMilli()}, s.Key)
	if err != nil {
		s.log().Error("sign audit receipt", "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, desk)
		return
	}
	w.Header().Set("Content-Type", "application/cose; cose-type=\"cose-sign1\"")
	w.Write(b) //nolint:errcheck // the client may be gone
}
