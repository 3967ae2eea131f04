package settings

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/provision"
)

// DocumentVersion is the signed desk-settings format this package writes and accepts.
const DocumentVersion = 1

// signContext separates these signatures from every other Ed25519 signature the registry makes
// (receipts, certificates): the registry signs signContext || payload.
const signContext = "enrolldesk/desk-settings/v1\x00"

// Document is the registry's desk settings for one desk.
type Document struct {
	Version  int      `cbor:"v"`
	DeskID   string   `cbor:"desk"`
	Serial   uint64   `cbor:"serial"` // strictly increasing per desk
	IssuedAt int64    `cbor:"t"`      // Unix milliseconds
	Settings Settings `cbor:"settings"`
}

// Envelope is the signed form: the document as deterministic CBOR and the registry's Ed25519
// signature over signContext || Payload. It travels as CBOR too.
type Envelope struct {
	Payload   []byte `cbor:"payload"`
	Signature []byte `cbor:"sig"`
}

var (
	cborEnc cbor.EncMode
	cborDec cbor.DecMode
)

func init() {
	var err error
	// RFC 8949 §4.2.1 core deterministic encoding: the canonical form that is signed.
	cborEnc, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options: unreachable
	}
	cborDec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   8,
		MaxArrayElements:  64,
		MaxMapPairs:       64,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Sign encodes doc canonically and signs it with the registry's key (the registry side).
func Sign(doc Document, registryKey ed25519.PrivateKey) ([]byte, error) {
	if doc.Version == 0 {
		doc.Version = DocumentVersion
	}
	payload, err := cborEnc.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("sign desk settings: %w", err)
	}
	sig := ed25519.Sign(registryKey, append([]byte(signContext), payload...))
	out, err := cborEnc.Marshal(Envelope{Payload: payload, Signature: sig})
	if err != nil {
		return nil, fmt.Errorf("sign desk settings: %w", err)
	}
	return out, nil
}

// Refusals of a signed document.
var (
	ErrNoRegistryKey = errors.New("no registry key pinned at provisioning")
	ErrForged        = errors.New("signature does not verify with the pinned registry key")
	ErrOtherDesk     = errors.New("document is for another desk")
	ErrStale         = errors.New("document is not newer than the settings already applied")
	ErrMalformed     = errors.New("malformed desk-settings document")
)

// Verify checks an envelope against the registry key and returns its document. It does not
// look at the desk id or serial (Apply does).
func Verify(envelope []byte, registryKey ed25519.PublicKey) (Document, error) {
	if len(envelope) > 64<<10 {
		return Document{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(envelope))
	}
	var env Envelope
	if err := cborDec.Unmarshal(envelope, &env); err != nil {
		return Document{}, fmt.Errorf("%w: envelope: %v", ErrMalformed, err)
	}
	if len(registryKey) != ed25519.PublicKeySize || len(env.Signature) != ed25519.SignatureSize ||
		!ed25519.Verify(registryKey, append([]byte(signContext), env.Payload...), env.Signature) {
		return Document{}, ErrForged
	}
	var doc Document
	if err := cborDec.Unmarshal(env.Payload, &doc); err != nil {
		return Document{}, fmt.Errorf("%w: document: %v", ErrMalformed, err)
	}
	again, err := cborEnc.Marshal(doc)
	if err != nil || !bytes.Equal(again, env.Payload) {
		return Document{}, fmt.Errorf("%w: document is not in canonical encoding", ErrMalformed)
	}
	if doc.Version != DocumentVersion {
		return Document{}, fmt.Errorf("%w: version %d, want %d", ErrMalformed, doc.Version, DocumentVersion)
	}
	return doc, nil
}

// PinRegistryKey stores the registry's public key; provisioning calls it once. Pinning the same
// key again is a no-op; a different key is refused (a key change needs a re-provisioned desk).
func (s *Store) PinRegistryKey(ctx context.Context, actor string, key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("pin registry key: %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pin registry key: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var cur []byte
	switch err := tx.QueryRowContext(ctx, `SELECT registry_key FROM settings_trust WHERE singleton = 1`).Scan(&cur); {
	case err == nil:
		if bytes.Equal(cur, key) {
			return nil
		}
		return errors.New("pin registry key: a different registry key is already pinned")
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("pin registry key: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings_trust(singleton, registry_key, pinned_at) VALUES (1, ?, ?)`,
		[]byte(key), s.now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("pin registry key: %w", err)
	}
	if _, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "settings.pin", Subject: fmt.Sprintf("%x", key)}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pin registry key: commit: %w", err)
	}
	return nil
}

// RegistryKey returns the pinned registry key, or ErrNoRegistryKey.
func (s *Store) RegistryKey(ctx context.Context) (ed25519.PublicKey, error) {
	var k []byte
	err := s.db.QueryRowContext(ctx, `SELECT registry_key FROM settings_trust WHERE singleton = 1`).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoRegistryKey
	}
	if err != nil {
		return nil, fmt.Errorf("registry key: %w", err)
	}
	return ed25519.PublicKey(k), nil
}

// Applied describes the newest signed document applied.
type Applied struct {
	Serial    uint64
	IssuedAt  time.Time
	AppliedAt time.Time
}

// LastApplied returns the newest applied document's serial and times; Serial 0 means none yet.
func (s *Store) LastApplied(ctx context.Context) (Applied, error) {
	var a Applied
	var issued int64
	var applied string
	err := s.db.QueryRowContext(ctx, `SELECT serial, issued_at, applied_at FROM settings_signed ORDER BY serial DESC LIMIT 1`).
		Scan(&a.Serial, &issued, &applied)
	if errors.Is(err, sql.ErrNoRows) {
		return Applied{}, nil
	}
	if err != nil {
		return Applied{}, fmt.Errorf("last applied settings: %w", err)
	}
	a.IssuedAt = time.UnixMilli(issued).UTC()
	a.AppliedAt, _ = time.Parse(time.RFC3339Nano, applied)
	return a, nil
}

// ApplySigned verifies a signed desk-settings envelope against the pinned registry key and, if it
// is for this desk, newer than anything applied and valid, replaces every setting with it in one
// transaction (settings rows, the applied-document row and the audit entries commit together).
// A refused document changes nothing and is audited as "settings.refuse" with the reason.
func (s *Store) ApplySigned(ctx context.Context, envelope []byte) (Document, []Change, error) {
	doc, changes, err := s.applySigned(ctx, envelope)
	if err != nil {
		if _, aerr := s.audit.Append(ctx, audit.Entry{Actor: "registry", Action: "settings.refuse", Detail: refusalCode(err)}); aerr != nil {
			return Document{}, nil, errors.Join(err, aerr)
		}
		return Document{}, nil, fmt.Errorf("apply signed desk settings: %w", err)
	}
	return doc, changes, nil
}

func refusalCode(err error) string {
	for _, e := range []error{ErrNoRegistryKey, ErrForged, ErrOtherDesk, ErrStale, ErrMalformed} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	if strings.HasPrefix(err.Error(), "invalid settings") {
		return "invalid settings"
	}
	return "error"
}

func (s *Store) applySigned(ctx context.Context, envelope []byte) (Document, []Change, error) {
	key, err := s.RegistryKey(ctx)
	if err != nil {
		return Document{}, nil, err
	}
	doc, err := Verify(envelope, key)
	if err != nil {
		return Document{}, nil, err
	}
	desk, err := provision.Load(ctx, s.db)
	if err != nil {
		return Document{}, nil, err
	}
	if doc.DeskID != desk.ID {
		return Document{}, nil, fmt.Errorf("%w (%s)", ErrOtherDesk, doc.DeskID)
	}
	if err := doc.Settings.Validate(); err != nil {
		return Document{}, nil, err
	}
	want, err := Flatten(doc.Settings)
	if err != nil {
		return Document{}, nil, err
	}
	actor := "registry"
	changes, err := s.write(ctx, actor, func(cur map[string]json.RawMessage) error {
		for k, v := range want {
			cur[k] = v
		}
		return nil
	}, func(tx *sql.Tx) error {
		var last uint64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(serial), 0) FROM settings_signed`).Scan(&last); err != nil {
			return fmt.Errorf("read applied serial: %w", err)
		}
		if doc.Serial <= last {
			return fmt.Errorf("%w: serial %d, applied %d", ErrStale, doc.Serial, last)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings_signed(serial, issued_at, document, applied_at) VALUES (?,?,?,?)`,
			doc.Serial, doc.IssuedAt, envelope, s.now().UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("store signed settings: %w", err)
		}
		_, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "settings.apply", Subject: strconv.FormatUint(doc.Serial, 10)})
		return err
	})
	if err != nil {
		return Document{}, nil, err
	}
	return doc, changes, nil
}

// Version is a dotted release number, "1.4.2"; missing parts are zero.
type Version [3]int

// ParseVersion reads "MAJOR[.MINOR[.PATCH]]", with an optional leading "v" and any "-suffix" ignored.
func ParseVersion(s string) (Version, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	t, _, _ = strings.Cut(t, "-")
	parts := strings.Split(t, ".")
	if t == "" || len(parts) > 3 {
		return Version{}, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
	}
	var v Version
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("version %q: %q is not a number", s, p)
		}
		v[i] = n
	}
	return v, nil
}

// Less reports whether v is an older release than w.
func (v Version) Less(w Version) bool {
	for i := range v {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return false
}
