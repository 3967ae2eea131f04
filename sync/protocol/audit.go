package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Audit sync: the desk ships its hash-chained audit log (desk/audit) to the registry, which keeps
// the chain per desk and refuses anything that does not continue the head it holds. Because the
// registry holds a copy of the head, a desk whose audit tail was cut off (or rewritten) is caught
// on its next contact: its log no longer holds the entry the registry's head names.
//
//	POST /v1/desks/{id}/audit        body: CBOR AuditBatch → 200 COSE_Sign1(AuditReceipt) | 4xx CBOR Refusal
//	GET  /v1/desks/{id}/audit/head                         → 200 COSE_Sign1(AuditReceipt) with Stored = 0
//
// Both need the desk's mutual-TLS certificate (CN = id), like a record batch.
const (
	PathDeskAudit     = "/v1/desks/{id}/audit"
	PathDeskAuditHead = "/v1/desks/{id}/audit/head"
)

// AuditReceiptContentType names an audit receipt payload in its COSE protected header.
const AuditReceiptContentType = "application/vnd.enrolldesk.audit-receipt+cbor;v=1"

// Limits of one audit batch.
const (
	MaxAuditEntries    = 1000
	MaxAuditBatchBytes = 4 << 20
	MaxAuditFieldBytes = 4096
)

// AuditEntry is one audit-log entry as the desk hashed it. At is the exact RFC 3339 (nano) UTC
// text that went into the hash, so nothing is re-formatted on the way.
type AuditEntry struct {
	Seq     int64  `cbor:"seq"`
	At      string `cbor:"at"`
	Actor   string `cbor:"actor"`
	Action  string `cbor:"action"`
	Subject string `cbor:"subj,omitempty"`
	Detail  string `cbor:"detail,omitempty"`
	Prev    []byte `cbor:"prev"`
	Hash    []byte `cbor:"hash"`
}

// AuditChainHash is the audit log's chain hash of an entry: SHA-256 over the previous hash, the
// sequence number (8 bytes, big-endian) and every field, each prefixed by its length as 8 bytes
// big-endian, so that no two different entries share an encoding. desk/audit.Hash is this function.
func AuditChainHash(prev []byte, seq int64, at, actor, action, subject, detail string) []byte {
	h := sha256.New()
	var buf [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(b)))
		h.Write(buf[:])
		h.Write(b)
	}
	field(prev)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], uint64(seq))
	field(s[:])
	field([]byte(at))
	field([]byte(actor))
	field([]byte(action))
	field([]byte(subject))
	field([]byte(detail))
	return h.Sum(nil)
}

// ComputeHash recomputes e's chain hash from its content and Prev.
func (e *AuditEntry) ComputeHash() []byte {
	return AuditChainHash(e.Prev, e.Seq, e.At, e.Actor, e.Action, e.Subject, e.Detail)
}

// AuditBatch is a run of consecutive audit entries of one desk.
type AuditBatch struct {
	Version int          `cbor:"v"`
	DeskID  string       `cbor:"desk"`
	Entries []AuditEntry `cbor:"entries"`
}

// AuditReceipt is the registry's signed answer: the head of the desk's audit chain it holds.
type AuditReceipt struct {
	Version int    `cbor:"v"`
	DeskID  string `cbor:"desk"`
	Seq     int64  `cbor:"seq"`  // 0: nothing stored
	Hash    []byte `cbor:"hash"` // the entry's chain hash (32 zero bytes when Seq is 0)
	Stored  int    `cbor:"stored"`
	Time    int64  `cbor:"t"`
}

// AuditGenesis is the previous hash of a desk's first audit entry.
var AuditGenesis = make([]byte, sha256.Size)

// ErrAuditChain marks an audit batch that is not a well-formed, self-consistent chain.
var ErrAuditChain = errors.New("audit chain")

// DecodeAuditBatch decodes an audit batch and checks its shape and its own chain: consecutive
// sequence numbers, each entry's hash recomputed, each linked to the one before. Whether it
// continues the registry's head is the registry's check.
func DecodeAuditBatch(b []byte) (*AuditBatch, error) {
	if len(b) > MaxAuditBatchBytes {
		return nil, fmt.Errorf("decode audit batch: %d bytes exceeds %d", len(b), MaxAuditBatchBytes)
	}
	var bt AuditBatch
	if err := DecMode.Unmarshal(b, &bt); err != nil {
		return nil, fmt.Errorf("decode audit batch: %w", err)
	}
	switch {
	case bt.Version != Version:
		return nil, fmt.Errorf("decode audit batch: version %d, want %d", bt.Version, Version)
	case bt.DeskID == "":
		return nil, errors.New("decode audit batch: no desk id")
	case len(bt.Entries) == 0:
		return nil, errors.New("decode audit batch: no entries")
	case len(bt.Entries) > MaxAuditEntries:
		return nil, fmt.Errorf("decode audit batch: %d entries exceeds %d", len(bt.Entries), MaxAuditEntries)
	}
	if err := CheckAuditChain(bt.Entries); err != nil {
		return nil, fmt.Errorf("decode audit batch: %w", err)
	}
	return &bt, nil
}

// CheckAuditChain checks that entries are consecutive, each hash matches its content and each
// entry links to the one before it.
func CheckAuditChain(es []AuditEntry) error {
	for i := range es {
		e := &es[i]
		if e.Seq < 1 {
			return fmt.Errorf("%w: entry %d: sequence %d", ErrAuditChain, i, e.Seq)
		}
		if len(e.Prev) != sha256.Size || len(e.Hash) != sha256.Size {
			return fmt.Errorf("%w: entry %d: hash sizes", ErrAuditChain, e.Seq)
		}
		if len(e.Actor) == 0 || len(e.Action) == 0 || len(e.Actor) > MaxAuditFieldBytes || len(e.Action) > MaxAuditFieldBytes ||
			len(e.Subject) > MaxAuditFieldBytes || len(e.Detail) > MaxAuditFieldBytes {
			return fmt.Errorf("%w: entry %d: field sizes", ErrAuditChain, e.Seq)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.At); err != nil {
			return fmt.Errorf("%w: entry %d: time %q", ErrAuditChain, e.Seq, e.At)
		}
		if !bytes.Equal(e.ComputeHash(), e.Hash) {
			return fmt.Errorf("%w: entry %d: content does not match its hash", ErrAuditChain, e.Seq)
		}
		if i > 0 {
			if e.Seq != es[i-1].Seq+1 {
				return fmt.Errorf("%w: entry %d follows %d", ErrAuditChain, e.Seq, es[i-1].Seq)
			}
			if !bytes.Equal(e.Prev, es[i-1].Hash) {
				return fmt.Errorf("%w: entry %d does not link to entry %d", ErrAuditChain, e.Seq, es[i-1].Seq)
			}
		}
	}
	return nil
}

// SignAuditReceipt signs an audit receipt with the registry key.
func SignAuditReceipt(r *AuditReceipt, key ed25519.PrivateKey) ([]byte, error) {
	b, err := signCOSE(r, key, AuditReceiptContentType)
	if err != nil {
		return nil, fmt.Errorf("sign audit receipt: %w", err)
	}
	return b, nil
}

// VerifyAuditReceipt checks an audit receipt's signature and that it speaks of deskID.
func VerifyAuditReceipt(b []byte, registry ed25519.PublicKey, deskID string) (*AuditReceipt, error) {
	var r AuditReceipt
	if err := verifyCOSE(b, registry, AuditReceiptContentType, &r); err != nil {
		return nil, fmt.Errorf("verify audit receipt: %w", err)
	}
	if r.Version != Version {
		return nil, fmt.Errorf("verify audit receipt: version %d", r.Version)
	}
	if r.DeskID != deskID {
		return nil, fmt.Errorf("verify audit receipt: names desk %q, want %q", r.DeskID, deskID)
	}
	if r.Seq < 0 || len(r.Hash) != sha256.Size {
		return nil, fmt.Errorf("verify audit receipt: head %d with a %d-byte hash", r.Seq, len(r.Hash))
	}
	return &r, nil
}
