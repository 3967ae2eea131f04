package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"enrolldesk/reader/lds"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

// HistoryQuery filters this desk's records: by the citizen's 12-digit ID number and/or by the day
// the record was released (dd/mm/yyyy, desk local time). Empty fields match everything.
type HistoryQuery struct {
	IDNumber string `json:"idNumber"`
	Date     string `json:"date"`
}

// HistoryEntry is one released record as the history screen lists it. It holds no biometric
// data; BiometricsPurged tells whether the sealed blobs are still at the desk.
type HistoryEntry struct {
	Seq              uint64 `json:"seq"`
	RecordID         string `json:"recordId"`
	Released         string `json:"released"` // RFC 3339
	OfficerID        string `json:"officerId"`
	IDNumber         string `json:"idNumber"`
	FullName         string `json:"fullName"`
	FaceDecision     string `json:"faceDecision"`
	Fingers          int    `json:"fingers"`
	State            string `json:"state"` // "queued", "sent", "acked"
	BiometricsPurged bool   `json:"biometricsPurged"`
}

// maxHistory bounds one search's answer (the newest records first).
const maxHistory = 200

// History is the bound service of the local history screen.
type History struct {
	session *Session
	db      *sql.DB
}

// Search lists this desk's records, newest first, that match q. Every envelope is verified
// against the desk's public key before it is shown.
func (h *History) Search(q HistoryQuery) Response {
	if _, err := h.session.current(); err != nil {
		return fail("History.Search", err)
	}
	if h.db == nil {
		return fail("History.Search", coded(CodeUnavailable, errors.New("no desk store"), nil))
	}
	var day time.Time
	if strings.TrimSpace(q.Date) != "" {
		var err error
		if day, err = time.ParseInLocation("02/01/2006", strings.TrimSpace(q.Date), time.Local); err != nil {
			return fail("History.Search", invalid("date", errors.New("write the date as dd/mm/yyyy")))
		}
	}
	id := strings.TrimSpace(q.IDNumber)
	if id != "" && (len(id) != 12 || strings.Trim(id, "0123456789") != "") {
		return fail("History.Search", invalid("idNumber", errors.New("ID number must have 12 digits")))
	}
	out, err := h.search(h.session.context(), id, day)
	if err != nil {
		return fail("History.Search", err)
	}
	return ok(out)
}

func (h *History) search(ctx context.Context, id string, day time.Time) ([]HistoryEntry, error) {
	_, pub, err := outbox.DeskIdentity(ctx, h.db)
	if err != nil {
		return nil, fmt.Errorf("history: desk identity: %w", err)
	}
	st, err := outbox.ReadSyncState(ctx, h.db)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var sent uint64
	if err := h.db.QueryRowContext(ctx, `SELECT sent_seq FROM sync_state`).Scan(&sent); err != nil {
		return nil, fmt.Errorf("history: sync state: %w", err)
	}
	query := `SELECT o.seq, o.envelope, o.created_at, b.seq IS NULL FROM outbox o
		LEFT JOIN outbox_blobs b ON b.seq = o.seq`
	var args []any
	if !day.IsZero() {
		query += ` WHERE o.created_at >= ? AND o.created_at < ?`
		args = append(args, day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli())
	}
	query += ` ORDER BY o.seq DESC`
	rows, err := h.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer rows.Close()
	out := []HistoryEntry{}
	for rows.Next() && len(out) < maxHistory {
		var seq uint64
		var env []byte
		var created int64
		var purged bool
		if err := rows.Scan(&seq, &env, &created, &purged); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		signed, err := record.Verify(env, pub)
		if err != nil {
			return nil, fmt.Errorf("history: record %d does not verify: %w", seq, err)
		}
		r := signed.Record
		if id != "" && r.CitizenID != id {
			continue
		}
		e := HistoryEntry{Seq: seq, RecordID: r.ID.String(), Released: time.UnixMilli(created).UTC().Format(time.RFC3339),
			OfficerID: r.OfficerID, IDNumber: r.CitizenID, FaceDecision: r.Face.Decision, Fingers: len(r.Fingers),
			State: "queued", BiometricsPurged: purged}
		switch {
		case seq <= st.AckedSeq:
			e.State = "acked"
		case seq <= sent:
			e.State = "sent"
		}
		if len(r.DG13) > 0 {
			if vn, err := lds.ParseDG13(r.DG13); err == nil {
				e.FullName = vn.FullName
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return out, nil
}
