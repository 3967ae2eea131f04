// Package registry is the HQ receiver: it verifies desk batches (every signature, sequence and
// chain link), stores them atomically and idempotently on (desk id, sequence), and answers signed
// receipts. Storage is behind Store: SQLite by default, PostgreSQL for scale.
package registry

import (
	"context"
	"crypto/ed25519"
	"errors"
	"time"

	"enrolldesk/sync/record"
)

// Desk is a provisioned desk.
type Desk struct {
	ID         string
	PublicKey  ed25519.PublicKey
	Registered time.Time
	// Revoked is when the registry operator revoked the desk (zero: not revoked), and
	// RevokeReason why. A revoked desk gets no certificate and no batch of it is stored.
	Revoked      time.Time
	RevokeReason string
}

// Head is the last stored record of a desk's chain (Seq 0: nothing stored).
type Head struct {
	Seq  uint64
	Hash record.Hash
}

// Entry is one verified record ready to store.
type Entry struct {
	Seq      uint64
	ID       [16]byte
	Hash     record.Hash
	Prev     record.Hash
	Envelope []byte
	Blobs    [][]byte // sealed to the registry, in the record's order
	Leaf     uint64   // index in the registry's Merkle log
}

// Errors of a Store.
var (
	ErrUnknownDesk = errors.New("unknown desk")
	ErrDeskKey     = errors.New("desk already registered with another key")
	// ErrHeadMoved means another batch of the same desk was stored meanwhile: re-read the head.
	ErrHeadMoved = errors.New("desk head moved")
	// ErrDuplicateID means a record id is already stored (under another desk or sequence).
	ErrDuplicateID = errors.New("record id already stored")
)

// Store keeps desks and their chains. Implementations must make Append atomic: all entries and
// the new head, or nothing.
type Store interface {
	// RegisterDesk adds a desk; registering the same id and key again is a no-op.
	RegisterDesk(ctx context.Context, d Desk) error
	// Desk returns a desk (with its revocation, if any) or ErrUnknownDesk.
	Desk(ctx context.Context, id string) (Desk, error)
	// RevokeDesk marks a desk revoked for reason; revoking again keeps the first revocation.
	// ErrUnknownDesk if the desk was never registered.
	RevokeDesk(ctx context.Context, id, reason string, at time.Time) error
	// Head returns the desk's chain head.
	Head(ctx context.Context, deskID string) (Head, error)
	// Hashes returns the chain hashes of the desk's records from..to (inclusive, all stored).
	Hashes(ctx context.Context, deskID string, from, to uint64) ([]record.Hash, error)
	// Append stores entries (consecutive, starting at expect.Seq+1 and linked to expect.Hash) and
	// moves the head, in one transaction, provided the head is still expect; else ErrHeadMoved.
	Append(ctx context.Context, deskID string, expect Head, entries []Entry) (Head, error)
	// Records returns stored records from..to (inclusive) with their blobs, for audits and tests.
	Records(ctx context.Context, deskID string, from, to uint64) ([]Entry, error)
	// LogLeaves returns the chain hashes of all stored records in log (leaf index) order.
	LogLeaves(ctx context.Context) ([]record.Hash, error)
	Close() error
}
