package registry

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"enrolldesk/sync/protocol"
	"enrolldesk/sync/record"
)

// Server is the registry's HTTP API (protocol version 1).
type Server struct {
	Store Store
	// Key signs receipts.
	Key ed25519.PrivateKey
	// Identity, when set, enables desk provisioning (POST /v1/provision).
	Identity *Identity
	// Bundles, when set, serves signed down-sync bundles (GET /v1/bundles/{kind}).
	Bundles *Bundles
	Log     *slog.Logger
	// RequireClientCert refuses requests that did not come over mutual TLS with a desk
	// certificate; when false (plain-HTTP tests), desks are authenticated by their record
	// signatures alone.
	RequireClientCert bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DeskCertValidity is the lifetime of the desk certificates this server issues (0: the
	// default, DefaultDeskCertValidity).
	DeskCertValidity time.Duration

	logOnce sync.Once
	logErr  error
	tree    Tree
	logMu   sync.Mutex // one append to store and log at a time, so leaf order is commit order
}

// openLog loads the Merkle log from the store once.
func (s *Server) openLog(ctx context.Context) error {
	s.logOnce.Do(func() {
		leaves, err := s.Store.LogLeaves(ctx)
		if err != nil {
			s.logErr = fmt.Errorf("load merkle log: %w", err)
			return
		}
		for _, l := range leaves {
			s.tree.Append(LeafHash(l))
		}
	})
	return s.logErr
}

// proofs builds a receipt's log part: a signed checkpoint of the current tree, inclusion proofs for
// the newly stored entries and a consistency proof from the size the desk knows.
func (s *Server) proofs(rc *protocol.Receipt, fresh []Entry, known uint64) error {
	size := s.tree.Size()
	root, err := s.tree.Root(size)
	if err != nil {
		return err
	}
	if rc.Checkpoint, err = protocol.SignCheckpoint(&protocol.Checkpoint{Version: protocol.Version, Size: size, Root: root, Time: s.now().UnixMilli()}, s.Key); err != nil {
		return err
	}
	if len(fresh) > 0 {
		rc.FirstLeaf = fresh[0].Leaf
		for _, e := range fresh {
			p, err := s.tree.InclusionProof(e.Leaf, size)
			if err != nil {
				return err
			}
			rc.Inclusion = append(rc.Inclusion, p)
		}
	}
	if known > 0 && known < size {
		if rc.Consistency, err = s.tree.ConsistencyProof(known, size); err != nil {
			return err
		}
	}
	return nil
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+protocol.PathBatches, s.handleBatch)
	mux.HandleFunc("GET "+protocol.PathDeskHead, s.handleHead)
	s.auditRoutes(mux) // audit.go: POST /v1/desks/{id}/audit, GET /v1/desks/{id}/audit/head
	if s.Identity != nil {
		mux.HandleFunc("POST "+protocol.PathProvision, s.handleProvision)
	}
	if s.Bundles != nil {
		mux.HandleFunc("GET "+protocol.PathBundles, s.handleBundles)
	}
	if s.Identity != nil {
		mux.HandleFunc("POST "+protocol.PathDeskCert, s.handleRenew) // cert.go
	}
	return s.gate(mux) // cert.go: revoked desks are refused on every route
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// clientDesk returns the desk id named by the TLS client certificate ("" without one).
func clientDesk(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	return r.TLS.PeerCertificates[0].Subject.CommonName
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, ref *protocol.Refusal, desk string) {
	// Reason, desk and sequence only: never record content.
	s.log().Warn("batch refused", "desk", desk, "reason", string(ref.Reason), "seq", ref.Seq, "detail", ref.Detail, "remote", r.RemoteAddr)
	b, err := protocol.EncMode.Marshal(ref)
	if err != nil {
		http.Error(w, "encode refusal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", protocol.MediaType)
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the client may be gone
}

func statusFor(reason protocol.Reason) int {
	switch reason {
	case protocol.ReasonTooLarge:
		return http.StatusRequestEntityTooLarge
	case protocol.ReasonUnknownDesk, protocol.ReasonDeskMismatch, protocol.ReasonRevoked:
		return http.StatusForbidden
	case protocol.ReasonGap, protocol.ReasonFork, protocol.ReasonDuplicateID:
		return http.StatusConflict
	case protocol.ReasonUnavailable:
		return http.StatusServiceUnavailable
	case protocol.ReasonBadRequest:
		return http.StatusBadRequest
	default:
		return http.StatusUnprocessableEntity
	}
}

func (s *Server) handleHead(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if cd := clientDesk(r); s.RequireClientCert && cd != id {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonDeskMismatch, Detail: "client certificate names another desk"}, id)
		return
	}
	if err := s.openLog(r.Context()); err != nil {
		s.log().Error("head", "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, id)
		return
	}
	known, _ := strconv.ParseUint(r.URL.Query().Get("known"), 10, 64)
	h, err := s.Store.Head(r.Context(), id)
	if errors.Is(err, ErrUnknownDesk) {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonUnknownDesk}, id)
		return
	}
	if err != nil {
		s.log().Error("head", "desk", id, "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, id)
		return
	}
	s.writeReceipt(w, r, id, h, nil, known)
}

func (s *Server) writeReceipt(w http.ResponseWriter, r *http.Request, desk string, h Head, fresh []Entry, known uint64) {
	rc := &protocol.Receipt{Version: protocol.Version, DeskID: desk, Seq: h.Seq, Head: h.Hash, Stored: len(fresh), Time: s.now().UnixMilli()}
	if err := s.proofs(rc, fresh, known); err != nil {
		s.log().Error("log proofs", "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, desk)
		return
	}
	b, err := protocol.SignReceipt(rc, s.Key)
	if err != nil {
		s.log().Error("sign receipt", "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, desk)
		return
	}
	w.Header().Set("Content-Type", "application/cose; cose-type=\"cose-sign1\"")
	w.Write(b) //nolint:errcheck // the client may be gone
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	if s.RequireClientCert && clientDesk(r) == "" {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonDeskMismatch, Detail: "no desk certificate"}, "")
		return
	}
	// Read into a buffer sized from Content-Length: a batch is megabytes, and io.ReadAll's
	// doubling would copy it several times.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), protocol.MaxBatchBytes)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, protocol.MaxBatchBytes))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.refuse(w, r, http.StatusRequestEntityTooLarge, &protocol.Refusal{Reason: protocol.ReasonTooLarge}, "")
			return
		}
		// The client went away mid-body: nothing to store, nobody to answer.
		s.log().Info("batch body incomplete", "remote", r.RemoteAddr, "err", err)
		return
	}
	bt, err := protocol.DecodeBatch(body)
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, &protocol.Refusal{Reason: protocol.ReasonBadRequest, Detail: err.Error()}, "")
		return
	}
	head, fresh, ref := s.Ingest(r.Context(), clientDesk(r), bt)
	if ref != nil {
		s.refuse(w, r, statusFor(ref.Reason), ref, bt.DeskID)
		return
	}
	s.writeReceipt(w, r, bt.DeskID, head, fresh, bt.KnownLog)
}

// Ingest verifies and stores one batch. certDesk is the desk named by the client certificate (""
// over plain HTTP). It returns the desk's head after the batch and the records that were new (with
// their log leaves), or the refusal.
func (s *Server) Ingest(ctx context.Context, certDesk string, bt *protocol.Batch) (Head, []Entry, *protocol.Refusal) {
	if certDesk != "" && certDesk != bt.DeskID {
		return Head{}, nil, &protocol.Refusal{Reason: protocol.ReasonDeskMismatch, Detail: "batch names another desk than the client certificate"}
	}
	desk, err := s.Store.Desk(ctx, bt.DeskID)
	if errors.Is(err, ErrUnknownDesk) {
		return Head{}, nil, &protocol.Refusal{Reason: protocol.ReasonUnknownDesk}
	}
	if err != nil {
		s.log().Error("read desk", "desk", bt.DeskID, "err", err)
		return Head{}, nil, &protocol.Refusal{Reason: protocol.ReasonUnavailable}
	}
	if !desk.Revoked.IsZero() {
		return Head{}, nil, revokedRefusal(desk)
	}
	entries, ref := verifyBatch(desk, bt)
	if ref != nil {
		return Head{}, nil, ref
	}
	if err := s.openLog(ctx); err != nil {
		s.log().Error("ingest", "err", err)
		return Head{}, nil, &protocol.Refusal{Reason: protocol.ReasonUnavailable}
	}
	for attempt := 0; ; attempt++ {
		head, err := s.Store.Head(ctx, desk.ID)
		if err != nil {
			s.log().Error("read head", "desk", desk.ID, "err", err)
			return Head{}, nil, &protocol.Refusal{Reason: protocol.ReasonUnavailable}
		}
		fresh, ref := s.splitKnown(ctx, desk.ID, head, entries)
		if ref != nil {
			ref.Head = head.Seq
			return head, nil, ref
		}
		if len(fresh) == 0 {
			return head, nil, nil // a replay: harmless
		}
		s.logMu.Lock()
		base := s.tree.Size()
		leaves := make([]record.Hash, len(fresh))
		for i := range fresh {
			fresh[i].Leaf = base + uint64(i)
			leaves[i] = LeafHash(fresh[i].Hash)
		}
		newHead, err := s.Store.Append(ctx, desk.ID, head, fresh)
		if err == nil {
			s.tree.Append(leaves...)
		}
		s.logMu.Unlock()
		switch {
		case err == nil:
			return newHead, fresh, nil
		case errors.Is(err, ErrHeadMoved) && attempt < 5:
			continue
		case errors.Is(err, ErrDuplicateID):
			return head, nil, &protocol.Refusal{Reason: protocol.ReasonDuplicateID, Head: head.Seq, Detail: err.Error()}
		default:
			s.log().Error("store batch", "desk", desk.ID, "err", err)
			return head, nil, &protocol.Refusal{Reason: protocol.ReasonUnavailable, Head: head.Seq}
		}
	}
}

// splitKnown checks the batch against the stored chain: records at or below the head must be the
// stored ones (else a fork), the first new one must follow the head. It returns the new records.
func (s *Server) splitKnown(ctx context.Context, desk string, head Head, entries []Entry) ([]Entry, *protocol.Refusal) {
	first := entries[0].Seq
	if first > head.Seq+1 {
		return nil, &protocol.Refusal{Reason: protocol.ReasonGap, Seq: first, Detail: fmt.Sprintf("registry holds up to %d", head.Seq)}
	}
	n := 0
	if first <= head.Seq {
		to := min(entries[len(entries)-1].Seq, head.Seq)
		known, err := s.Store.Hashes(ctx, desk, first, to)
		if err != nil {
			s.log().Error("read hashes", "desk", desk, "err", err)
			return nil, &protocol.Refusal{Reason: protocol.ReasonUnavailable}
		}
		if len(known) != int(to-first+1) {
			return nil, &protocol.Refusal{Reason: protocol.ReasonUnavailable, Detail: "stored chain incomplete"}
		}
		for i, h := range known {
			if entries[i].Hash != h {
				return nil, &protocol.Refusal{Reason: protocol.ReasonFork, Seq: entries[i].Seq, Detail: "differs from the stored record"}
			}
		}
		n = len(known)
	}
	fresh := entries[n:]
	if len(fresh) > 0 && fresh[0].Prev != head.Hash {
		return nil, &protocol.Refusal{Reason: protocol.ReasonFork, Seq: fresh[0].Seq, Detail: "does not link to the stored head"}
	}
	return fresh, nil
}

// verifyBatch checks every record's signatures and content, every sealed blob against its
// reference, and that the records are consecutive and linked. Signature checks run on all cores.
func verifyBatch(desk Desk, bt *protocol.Batch) ([]Entry, *protocol.Refusal) {
	entries := make([]Entry, len(bt.Records))
	refs := make([]*protocol.Refusal, len(bt.Records))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(bt.Records)/8))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(bt.Records); i += workers {
				entries[i], refs[i] = verifyOne(desk, bt.DeskID, &bt.Records[i])
			}
		}(w)
	}
	wg.Wait()
	for i := range entries {
		if refs[i] != nil {
			return nil, refs[i]
		}
		if i == 0 {
			continue
		}
		if entries[i].Seq != entries[i-1].Seq+1 {
			return nil, &protocol.Refusal{Reason: protocol.ReasonOrder, Seq: entries[i].Seq, Detail: fmt.Sprintf("follows %d", entries[i-1].Seq)}
		}
		if entries[i].Prev != entries[i-1].Hash {
			return nil, &protocol.Refusal{Reason: protocol.ReasonBrokenChain, Seq: entries[i].Seq}
		}
	}
	return entries, nil
}

func verifyOne(desk Desk, batchDesk string, br *protocol.BatchRecord) (Entry, *protocol.Refusal) {
	s, err := record.Verify(br.Envelope, desk.PublicKey)
	if err != nil {
		reason := protocol.ReasonBadRecord
		if errors.Is(err, record.ErrSignature) {
			reason = protocol.ReasonBadSignature
		}
		var seq uint64
		if r, _, perr := record.Parse(br.Envelope); perr == nil {
			seq = r.Seq
		}
		return Entry{}, &protocol.Refusal{Reason: reason, Seq: seq, Detail: err.Error()}
	}
	r := s.Record
	if r.DeskID != batchDesk {
		return Entry{}, &protocol.Refusal{Reason: protocol.ReasonDeskMismatch, Seq: r.Seq, Detail: "record names another desk"}
	}
	if len(br.Blobs) != len(r.Blobs) {
		return Entry{}, &protocol.Refusal{Reason: protocol.ReasonBadBlob, Seq: r.Seq, Detail: fmt.Sprintf("%d blobs sent, record names %d", len(br.Blobs), len(r.Blobs))}
	}
	for i, ref := range r.Blobs {
		if len(br.Blobs[i]) != ref.SealedSize || sha256.Sum256(br.Blobs[i]) != ref.Sealed {
			return Entry{}, &protocol.Refusal{Reason: protocol.ReasonBadBlob, Seq: r.Seq, Detail: fmt.Sprintf("blob %d does not match its hash", i)}
		}
	}
	return Entry{Seq: r.Seq, ID: r.ID, Hash: s.Hash, Prev: r.Prev, Envelope: br.Envelope, Blobs: br.Blobs}, nil
}
