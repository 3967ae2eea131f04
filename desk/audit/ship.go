package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"enrolldesk/sync/protocol"
)

// Remote is the registry's audit endpoint (the network seam of the audit sync).
type Remote interface {
	// Head returns the verified audit head the registry holds for this desk.
	Head(ctx context.Context) (*protocol.AuditReceipt, error)
	// Send uploads consecutive entries and returns the verified new head, or a *protocol.Refusal.
	// It fills in the batch's desk id.
	Send(ctx context.Context, bt *protocol.AuditBatch) (*protocol.AuditReceipt, error)
}

// HTTPRemote speaks protocol.PathDeskAudit to the registry with the desk's mutual-TLS client
// (the same *http.Client, base URL and registry key as the outbox uploader's outbox.Client).
type HTTPRemote struct {
	BaseURL     string
	HTTP        *http.Client // nil: http.DefaultClient (plain-HTTP tests only)
	DeskID      string
	RegistryKey ed25519.PublicKey
}

func (r *HTTPRemote) url(path string) string {
	return strings.TrimSuffix(r.BaseURL, "/") + strings.Replace(path, "{id}", url.PathEscape(r.DeskID), 1)
}

// Head implements Remote.
func (r *HTTPRemote) Head(ctx context.Context) (*protocol.AuditReceipt, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url(protocol.PathDeskAuditHead), nil)
	if err != nil {
		return nil, fmt.Errorf("registry audit head: %w", err)
	}
	return r.do(req, "registry audit head")
}

// Send implements Remote.
func (r *HTTPRemote) Send(ctx context.Context, bt *protocol.AuditBatch) (*protocol.AuditReceipt, error) {
	bt.DeskID = r.DeskID
	body, err := protocol.EncMode.Marshal(bt)
	if err != nil {
		return nil, fmt.Errorf("send audit: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url(protocol.PathDeskAudit), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("send audit: %w", err)
	}
	req.Header.Set("Content-Type", protocol.MediaType)
	return r.do(req, "send audit")
}

func (r *HTTPRemote) do(req *http.Request, what string) (*protocol.AuditReceipt, error) {
	c := r.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		ref, derr := protocol.DecodeRefusal(b)
		if derr != nil {
			return nil, fmt.Errorf("%s: HTTP %d without a refusal body", what, resp.StatusCode)
		}
		return nil, ref
	}
	rc, err := protocol.VerifyAuditReceipt(b, r.RegistryKey, r.DeskID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return rc, nil
}

// TailError means the desk's audit log no longer holds what the registry already has: entries
// were removed from its end (Local < Registry) or the entry at the registry's head was rewritten.
// A chain alone cannot show a cut-off tail; the registry's copy of the head does.
type TailError struct {
	Registry  int64 // the registry's head
	Local     int64 // the desk's newest entry
	Rewritten bool  // the desk holds an entry at Registry, but with another hash
}

func (e *TailError) Error() string {
	if e.Rewritten {
		return fmt.Sprintf("audit log rewritten: entry %d differs from the copy the registry holds", e.Registry)
	}
	return fmt.Sprintf("audit log truncated: the desk holds entries up to %d, the registry up to %d", e.Local, e.Registry)
}

// ToProtocol converts an entry for the wire, with At as the exact text that was hashed.
func ToProtocol(e Entry) protocol.AuditEntry {
	return protocol.AuditEntry{Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano), Actor: e.Actor, Action: e.Action,
		Subject: e.Subject, Detail: e.Detail, Prev: e.PrevHash, Hash: e.Hash}
}

// CheckAgainst compares the local log with the registry's head: the desk must hold the entry the
// registry's head names, with the same hash. It returns the local head.
func (l *Log) CheckAgainst(ctx context.Context, registrySeq int64, registryHash []byte) (Head, error) {
	local, err := l.head(ctx)
	if err != nil {
		return Head{}, err
	}
	if registrySeq == 0 {
		return local, nil
	}
	es, err := l.Since(ctx, registrySeq-1, 1)
	if err != nil {
		return Head{}, err
	}
	if len(es) == 0 || es[0].Seq != registrySeq {
		return local, &TailError{Registry: registrySeq, Local: local.Seq}
	}
	if !bytes.Equal(es[0].Hash, registryHash) {
		return local, &TailError{Registry: registrySeq, Local: local.Seq, Rewritten: true}
	}
	return local, nil
}

func (l *Log) head(ctx context.Context) (Head, error) {
	h := Head{Hash: genesis}
	err := l.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Head{}, fmt.Errorf("audit head: %w", err)
	}
	return h, nil
}

// ShipState is the audit sync's status, for the window's status line.
type ShipState struct {
	Registry    int64     `json:"registry"` // the registry's head after the last round
	Local       int64     `json:"local"`
	LastShipped time.Time `json:"lastShipped"`
	Err         string    `json:"error,omitempty"`
	// Tail is set when the desk's log no longer holds what the registry has (truncated/rewritten).
	Tail bool `json:"tail,omitempty"`
}

// Shipper ships the audit log to the registry: it asks for the registry's head, checks that the
// desk still holds that entry unchanged (else a *TailError), then sends the entries after it in
// batches. It runs beside the outbox uploader with the same registry client.
type Shipper struct {
	Log    *Log
	Remote Remote
	// Batch is the number of entries per request (default 500, at most protocol.MaxAuditEntries).
	Batch int
	// Interval between rounds (default 2 minutes); Kick starts one at once.
	Interval time.Duration
	// Timeout bounds each request to the registry (desk setting timeouts.network; 0: none beyond
	// the HTTP client's own).
	Timeout time.Duration
	// OnState, if set, gets the state after every round.
	OnState func(ShipState)
	Now     func() time.Time

	once sync.Once
	kick chan struct{}
}

func (s *Shipper) init() { s.once.Do(func() { s.kick = make(chan struct{}, 1) }) }

// Kick asks for a round at once (e.g. after an approval or an export).
func (s *Shipper) Kick() {
	s.init()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// ShipResult is one round's outcome.
type ShipResult struct {
	Sent     int   // entries the registry newly stored
	Registry int64 // the registry's head after the round
	Local    int64
}

func (s *Shipper) request(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.Timeout > 0 {
		return context.WithTimeout(ctx, s.Timeout)
	}
	return context.WithCancel(ctx)
}

// Ship runs one round.
func (s *Shipper) Ship(ctx context.Context) (ShipResult, error) {
	if s.Log == nil || s.Remote == nil {
		return ShipResult{}, errors.New("ship audit: log and remote are required")
	}
	batch := s.Batch
	if batch <= 0 || batch > protocol.MaxAuditEntries {
		batch = 500
	}
	rctx, cancel := s.request(ctx)
	rc, err := s.Remote.Head(rctx)
	cancel()
	if err != nil {
		return ShipResult{}, fmt.Errorf("ship audit: %w", err)
	}
	local, err := s.Log.CheckAgainst(ctx, rc.Seq, rc.Hash)
	res := ShipResult{Registry: rc.Seq, Local: local.Seq}
	if err != nil {
		return res, fmt.Errorf("ship audit: %w", err)
	}
	for res.Registry < local.Seq {
		es, err := s.Log.Since(ctx, res.Registry, batch)
		if err != nil {
			return res, fmt.Errorf("ship audit: %w", err)
		}
		if len(es) == 0 {
			break
		}
		bt := &protocol.AuditBatch{Version: protocol.Version, Entries: make([]protocol.AuditEntry, len(es))}
		for i, e := range es {
			bt.Entries[i] = ToProtocol(e)
		}
		rctx, cancel := s.request(ctx)
		rc, err := s.Remote.Send(rctx, bt)
		cancel()
		if err != nil {
			return res, fmt.Errorf("ship audit: %w", err)
		}
		if rc.Seq != es[len(es)-1].Seq || !bytes.Equal(rc.Hash, es[len(es)-1].Hash) {
			return res, fmt.Errorf("ship audit: the registry's head %d does not match the last entry sent (%d)", rc.Seq, es[len(es)-1].Seq)
		}
		res.Sent += rc.Stored
		res.Registry = rc.Seq
	}
	return res, nil
}

// Run ships every Interval and on Kick until ctx ends. Errors are reported through OnState and
// retried next round; a TailError is reported and logged as an error every round until resolved.
func (s *Shipper) Run(ctx context.Context) error {
	s.init()
	iv := s.Interval
	if iv <= 0 {
		iv = 2 * time.Minute
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	var last time.Time
	for {
		res, err := s.Ship(ctx)
		st := ShipState{Registry: res.Registry, Local: res.Local, LastShipped: last}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st.Err = err.Error()
			var te *TailError
			if errors.As(err, &te) {
				st.Tail = true
				slog.Error("audit log does not match the registry's copy", "registry", te.Registry, "local", te.Local, "rewritten", te.Rewritten)
			} else {
				slog.Warn("audit sync", "err", err)
			}
		} else {
			last = now()
			st.LastShipped = last
		}
		if s.OnState != nil {
			s.OnState(st)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-s.kick:
		}
	}
}
