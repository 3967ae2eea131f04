package index

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"

	"enrolldesk/biometric/finger"
)

// A gallery delta is how the registry sends the desk the de-duplication gallery's changes: new or
// replaced descriptors and templates and removed entry ids, numbered per gallery so that none is
// skipped or applied twice, signed with the registry's Ed25519 key (RFC 8032).
//
// Envelope (all lengths big-endian):
//
//	"EDGD" 0x01 | payload length u32 | payload | Ed25519 signature (64 B)
//
// The signature covers deltaContext || payload. The payload is a deterministic CBOR map (RFC 8949
// §4.2.1 core deterministic encoding) with integer keys:
//
//	1 gallery id (text)  2 sequence number (uint, first delta = 1)
//	3 faces:   [ {1 id, 2 person, 3 descriptor: 128 float32 LE (512 bytes)} ... ]
//	4 fingers: [ {1 id, 2 person, 3 ISO/IEC 19794-2 position, 4 finger.Template compact form} ... ]
//	5 removed face ids [text]   6 removed finger ids [text]
//
// A delta whose length, signature, encoding, gallery or sequence number is wrong is rejected
// whole; an accepted one is applied in one SQLite transaction, then to memory.
const (
	deltaMagic   = "EDGD\x01"
	deltaContext = "enrolldesk/gallery-delta/v1\x00"
	// MaxDeltaSize bounds what OpenDelta accepts (a delta of ~100k faces and fingers).
	MaxDeltaSize = 256 << 20
)

// Delta is a decoded gallery delta.
type Delta struct {
	Gallery string
	Seq     uint64
	// FaceEngine is the face space (FaceSpace.Engine) of Faces; "" means dlib's legacy space.
	// Faces of another space than the desk's gallery are stored, not searched, until the desk
	// opens that space.
	FaceEngine    string
	Faces         []FaceEntry
	Fingers       []FingerEntry
	RemoveFaces   []string
	RemoveFingers []string
}

type wireFace struct {
	ID         string `cbor:"1,keyasint"`
	Person     string `cbor:"2,keyasint"`
	Descriptor []byte `cbor:"3,keyasint"`
}

type wireFinger struct {
	ID       string `cbor:"1,keyasint"`
	Person   string `cbor:"2,keyasint"`
	Position int    `cbor:"3,keyasint"`
	Template []byte `cbor:"4,keyasint"`
}

type wireDelta struct {
	Gallery       string       `cbor:"1,keyasint"`
	Seq           uint64       `cbor:"2,keyasint"`
	Faces         []wireFace   `cbor:"3,keyasint,omitempty"`
	Fingers       []wireFinger `cbor:"4,keyasint,omitempty"`
	RemoveFaces   []string     `cbor:"5,keyasint,omitempty"`
	RemoveFingers []string     `cbor:"6,keyasint,omitempty"`
	FaceEngine    string       `cbor:"7,keyasint,omitempty"`
}

var (
	deltaEnc cbor.EncMode
	deltaDec cbor.DecMode
)

func init() {
	var err error
	if deltaEnc, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err) // static options
	}
	if deltaDec, err = (cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		IndefLength:       cbor.IndefLengthForbidden,
		MaxArrayElements:  1 << 20,
	}).DecMode(); err != nil {
		panic(err)
	}
}

// SignDelta encodes and signs a delta (the registry's side; also used by tests and tools).
func SignDelta(d *Delta, key ed25519.PrivateKey) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("sign delta: %w", err)
	}
	w := wireDelta{Gallery: d.Gallery, Seq: d.Seq, RemoveFaces: d.RemoveFaces, RemoveFingers: d.RemoveFingers, FaceEngine: d.FaceEngine}
	for i := range d.Faces {
		f := &d.Faces[i]
		w.Faces = append(w.Faces, wireFace{ID: f.ID, Person: f.Person, Descriptor: EncodeDescriptor(f.Descriptor)})
	}
	for _, f := range d.Fingers {
		raw, err := f.Template.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("sign delta: finger %q: %w", f.ID, err)
		}
		w.Fingers = append(w.Fingers, wireFinger{ID: f.ID, Person: f.Person, Position: f.Position, Template: raw})
	}
	payload, err := deltaEnc.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("sign delta: %w", err)
	}
	if len(payload) > MaxDeltaSize-len(deltaMagic)-4-ed25519.SignatureSize {
		return nil, fmt.Errorf("sign delta: %d bytes, over the %d limit", len(payload), MaxDeltaSize)
	}
	out := make([]byte, 0, len(deltaMagic)+4+len(payload)+ed25519.SignatureSize)
	out = append(out, deltaMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(payload)))
	out = append(out, payload...)
	return append(out, ed25519.Sign(key, signedBytes(payload))...), nil
}

func signedBytes(payload []byte) []byte {
	return append([]byte(deltaContext), payload...)
}

// ErrDeltaSignature means the delta is not signed by the registry key (forged or altered).
var ErrDeltaSignature = errors.New("gallery delta: bad signature")

// OpenDelta checks a delta's envelope and signature against the registry key and decodes it.
func OpenDelta(b []byte, pub ed25519.PublicKey) (*Delta, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("gallery delta: registry key is not an Ed25519 public key")
	}
	if len(b) > MaxDeltaSize {
		return nil, fmt.Errorf("gallery delta: %d bytes, over the %d limit", len(b), MaxDeltaSize)
	}
	h := len(deltaMagic) + 4
	if len(b) < h+ed25519.SignatureSize || !bytes.Equal(b[:len(deltaMagic)], []byte(deltaMagic)) {
		return nil, errors.New("gallery delta: not a v1 delta (bad magic or torn)")
	}
	n := binary.BigEndian.Uint32(b[len(deltaMagic):])
	if uint64(len(b)) != uint64(h)+uint64(n)+ed25519.SignatureSize {
		return nil, fmt.Errorf("gallery delta: torn (%d bytes, header says %d)", len(b), uint64(h)+uint64(n)+ed25519.SignatureSize)
	}
	payload, sig := b[h:h+int(n)], b[h+int(n):]
	if !ed25519.Verify(pub, signedBytes(payload), sig) {
		return nil, ErrDeltaSignature
	}
	var w wireDelta
	if err := deltaDec.Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("gallery delta: payload: %w", err)
	}
	d := &Delta{Gallery: w.Gallery, Seq: w.Seq, RemoveFaces: w.RemoveFaces, RemoveFingers: w.RemoveFingers, FaceEngine: w.FaceEngine}
	for _, f := range w.Faces {
		e := FaceEntry{ID: f.ID, Person: f.Person}
		var err error
		if e.Descriptor, err = DecodeDescriptor(f.Descriptor, len(f.Descriptor)/4); err != nil {
			return nil, fmt.Errorf("gallery delta: face %q: %w", f.ID, err)
		}
		d.Faces = append(d.Faces, e)
	}
	for _, f := range w.Fingers {
		t := new(finger.Template)
		if err := t.UnmarshalBinary(f.Template); err != nil {
			return nil, fmt.Errorf("gallery delta: finger %q: %w", f.ID, err)
		}
		d.Fingers = append(d.Fingers, FingerEntry{ID: f.ID, Person: f.Person, Position: f.Position, Template: t})
	}
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("gallery delta: %w", err)
	}
	return d, nil
}

// check validates what a delta may contain before any of it is applied.
func (d *Delta) check() error {
	if d.Gallery == "" || d.Seq == 0 {
		return errors.New("delta needs a gallery id and a sequence number ≥ 1")
	}
	seen := map[string]bool{}
	dim := d.faceDim()
	if d.FaceEngine == "" {
		dim = DlibDim
	}
	if dim <= 0 || dim%4 != 0 || dim > maxFaceDim {
		return fmt.Errorf("faces of %d dimensions", dim)
	}
	for i := range d.Faces {
		f := &d.Faces[i]
		if f.ID == "" || f.Person == "" || seen["f"+f.ID] {
			return fmt.Errorf("face %q: empty or repeated id, or no person", f.ID)
		}
		seen["f"+f.ID] = true
		if err := checkDescriptor(f.Descriptor, dim); err != nil {
			return fmt.Errorf("face %q: %w", f.ID, err)
		}
	}
	for i := range d.Fingers {
		f := &d.Fingers[i]
		if seen["t"+f.ID] {
			return fmt.Errorf("finger %q: repeated id", f.ID)
		}
		seen["t"+f.ID] = true
		if err := checkFingerEntry(f); err != nil {
			return err
		}
	}
	for _, id := range d.RemoveFaces {
		if id == "" || seen["f"+id] {
			return fmt.Errorf("removed face %q: empty, or also added", id)
		}
	}
	for _, id := range d.RemoveFingers {
		if id == "" || seen["t"+id] {
			return fmt.Errorf("removed finger %q: empty, or also added", id)
		}
	}
	return nil
}

// maxFaceDim bounds a delta's descriptor length.
const maxFaceDim = 4096

// faceDim is the length of the delta's descriptors (all must have the first one's; a delta
// without faces has DlibDim).
func (d *Delta) faceDim() int {
	if len(d.Faces) == 0 {
		return DlibDim
	}
	return len(d.Faces[0].Descriptor)
}

// ErrDeltaSequence means the delta is not the next one for its gallery (a gap or a replay).
var ErrDeltaSequence = errors.New("gallery delta: out of sequence")

// applyMu serialises ApplyDelta so the memory follows the commits in order.
var applyMu sync.Mutex

// ApplyDelta verifies a signed delta and applies it atomically: every row change and the new
// sequence number commit in one SQLite transaction, or nothing does; memory follows the commit.
func (ix *Index) ApplyDelta(ctx context.Context, b []byte, registry ed25519.PublicKey) (*Delta, error) {
	d, err := OpenDelta(b, registry)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(b)
	applyMu.Lock()
	defer applyMu.Unlock()
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("apply delta: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var last uint64
	switch err := tx.QueryRowContext(ctx, `SELECT seq FROM gallery_sync WHERE gallery_id = ?`, d.Gallery).Scan(&last); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("apply delta: %w", err)
	}
	if d.Seq != last+1 {
		return nil, fmt.Errorf("%w: gallery %q at %d, delta is %d", ErrDeltaSequence, d.Gallery, last, d.Seq)
	}
	for _, id := range d.RemoveFaces {
		if _, err := tx.ExecContext(ctx, `DELETE FROM face_gallery WHERE entry_id = ?`, id); err != nil {
			return nil, fmt.Errorf("apply delta: remove face %q: %w", id, err)
		}
	}
	for _, id := range d.RemoveFingers {
		if _, err := tx.ExecContext(ctx, `DELETE FROM finger_gallery WHERE entry_id = ?`, id); err != nil {
			return nil, fmt.Errorf("apply delta: remove finger %q: %w", id, err)
		}
	}
	sp := ix.Faces.Space()
	mine := d.FaceEngine == sp.Engine || (d.FaceEngine == "" && sp.Legacy)
	if mine && len(d.Faces) > 0 && d.faceDim() != sp.Dim {
		return nil, fmt.Errorf("apply delta: %w: faces of %d dimensions for space %s (%d)", ErrDimension, d.faceDim(), sp.Engine, sp.Dim)
	}
	for _, f := range d.Faces {
		if err := ix.putFace(ctx, tx, f, OriginRegistry, d.FaceEngine, d.faceDim()); err != nil {
			return nil, fmt.Errorf("apply delta: %w", err)
		}
	}
	for _, f := range d.Fingers {
		if err := ix.putFinger(ctx, tx, f, OriginRegistry); err != nil {
			return nil, fmt.Errorf("apply delta: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gallery_sync (gallery_id, seq, digest, applied_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (gallery_id) DO UPDATE SET seq = excluded.seq, digest = excluded.digest, applied_at = excluded.applied_at`,
		d.Gallery, d.Seq, digest[:], ix.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return nil, fmt.Errorf("apply delta: record sequence: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("apply delta: commit: %w", err)
	}
	for _, id := range d.RemoveFaces {
		ix.Faces.Remove(id)
	}
	for _, id := range d.RemoveFingers {
		ix.Fingers.Remove(id)
	}
	for _, f := range d.Faces {
		if !mine {
			break
		}
		if err := ix.Faces.Add(f); err != nil {
			return nil, fmt.Errorf("apply delta (committed; restart reloads): %w", err)
		}
	}
	for _, f := range d.Fingers {
		if err := ix.Fingers.Add(f); err != nil {
			return nil, fmt.Errorf("apply delta (committed; restart reloads): %w", err)
		}
	}
	return d, nil
}

// DeltaSeq is the sequence number of the last delta applied to gallery (0 when none).
func (ix *Index) DeltaSeq(ctx context.Context, gallery string) (uint64, error) {
	var last uint64
	err := ix.db.QueryRowContext(ctx, `SELECT seq FROM gallery_sync WHERE gallery_id = ?`, gallery).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("gallery delta sequence: %w", err)
	}
	return last, nil
}
