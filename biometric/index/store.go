package index

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"enrolldesk/biometric/finger"
	"enrolldesk/desk/store"
)

// Origin says where a gallery entry came from.
type Origin string

const (
	OriginLocal    Origin = "local"    // enrolled at this desk
	OriginRegistry Origin = "registry" // sent down in a signed gallery delta
)

func (o Origin) valid() bool { return o == OriginLocal || o == OriginRegistry }

// loadBatch is how many rows one start-up query reads; the gallery is searchable (with what is
// loaded so far) between batches.
const loadBatch = 4096

// Index ties the in-memory galleries to the desk store: every change is committed to SQLite first
// and applied to memory after the commit, so memory never holds what the file does not.
type Index struct {
	db      *store.DB
	seal    Sealer
	Faces   *FaceGallery
	Fingers *FingerGallery
	Now     func() time.Time
}

// Open loads the face and finger galleries from db, batch by batch, and returns the index.
// seal opens the stored blobs (the desk's data key).
func Open(ctx context.Context, db *store.DB, seal Sealer, fo FaceOptions, fg FingerOptions) (*Index, error) {
	if db == nil || seal == nil {
		return nil, errors.New("open gallery index: nil store or sealer")
	}
	ix := &Index{db: db, seal: seal, Now: time.Now}
	if fo.Space.Engine == "" && fo.Space.Dim == 0 {
		fo.Space = DlibSpace
	}
	if err := fo.Space.Validate(); err != nil {
		return nil, fmt.Errorf("open gallery index: %w", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM face_gallery WHERE engine = ? OR (engine = '' AND ?)`,
		fo.Space.Engine, fo.Space.Legacy).Scan(&n); err != nil {
		return nil, fmt.Errorf("open gallery index: count faces: %w", err)
	}
	if fo.Capacity < n {
		fo.Capacity = n
	}
	ix.Faces = NewFaceGallery(fo)
	if err := ix.loadFaces(ctx); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM finger_gallery`).Scan(&n); err != nil {
		return nil, fmt.Errorf("open gallery index: count fingers: %w", err)
	}
	if fg.Capacity < n {
		fg.Capacity = n
	}
	ix.Fingers = NewFingerGallery(fg)
	if err := ix.loadFingers(ctx); err != nil {
		return nil, err
	}
	return ix, nil
}

// loadFaces loads the descriptors of the gallery's face space (other engines' rows stay stored:
// switching the desk back to their engine finds them again).
func (ix *Index) loadFaces(ctx context.Context) error {
	var after int64
	sp := ix.Faces.Space()
	for {
		rows, err := ix.db.QueryContext(ctx,
			`SELECT rowid, entry_id, person_id, descriptor FROM face_gallery
			WHERE rowid > ? AND (engine = ? OR (engine = '' AND ?)) ORDER BY rowid LIMIT ?`,
			after, sp.Engine, sp.Legacy, loadBatch)
		if err != nil {
			return fmt.Errorf("load face gallery: %w", err)
		}
		got := 0
		for rows.Next() {
			var e FaceEntry
			var blob []byte
			if err := rows.Scan(&after, &e.ID, &e.Person, &blob); err != nil {
				rows.Close()
				return fmt.Errorf("load face gallery: %w", err)
			}
			if e.Descriptor, err = ix.openDescriptor(blob, e.ID, sp.Dim); err != nil {
				rows.Close()
				return fmt.Errorf("load face gallery: entry %q: %w", e.ID, err)
			}
			if err := ix.Faces.Add(e); err != nil {
				rows.Close()
				return fmt.Errorf("load face gallery: %w", err)
			}
			got++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load face gallery: %w", err)
		}
		if got < loadBatch {
			return nil
		}
	}
}

func faceAD(id string) []byte { return []byte("face\x00" + id) }

// EncodeDescriptor is the stored form of a descriptor: its float32 components, little-endian.
func EncodeDescriptor(d Descriptor) []byte {
	b := make([]byte, len(d)*4)
	for j, v := range d {
		binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
	}
	return b
}

// DecodeDescriptor parses EncodeDescriptor's form of a dim-dimensional descriptor.
func DecodeDescriptor(b []byte, dim int) (Descriptor, error) {
	if len(b) != dim*4 {
		return nil, fmt.Errorf("%w: descriptor is %d bytes, want %d", ErrDimension, len(b), dim*4)
	}
	d := make(Descriptor, dim)
	for j := range d {
		d[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
	}
	return d, checkDescriptor(d, dim)
}

func (ix *Index) openDescriptor(blob []byte, id string, dim int) (Descriptor, error) {
	plain, err := ix.seal.Open(blob, faceAD(id))
	if err != nil {
		return nil, err
	}
	return DecodeDescriptor(plain, dim)
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// putFace stores e as a descriptor of the engine (a face space's Engine; "" for legacy dlib rows)
// with dimension dim.
func (ix *Index) putFace(ctx context.Context, x execer, e FaceEntry, o Origin, engine string, dim int) error {
	if e.ID == "" || e.Person == "" {
		return errors.New("face entry needs an id and a person")
	}
	if !o.valid() {
		return fmt.Errorf("face entry %q: origin %q", e.ID, o)
	}
	if err := checkDescriptor(e.Descriptor, dim); err != nil {
		return fmt.Errorf("face entry %q: %w", e.ID, err)
	}
	blob, err := ix.seal.Seal(EncodeDescriptor(e.Descriptor), faceAD(e.ID))
	if err != nil {
		return fmt.Errorf("face entry %q: %w", e.ID, err)
	}
	if _, err := x.ExecContext(ctx, `INSERT INTO face_gallery (entry_id, person_id, origin, descriptor, added_at, engine)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (entry_id) DO UPDATE SET person_id = excluded.person_id, origin = excluded.origin,
			descriptor = excluded.descriptor, added_at = excluded.added_at, engine = excluded.engine`,
		e.ID, e.Person, string(o), blob, ix.Now().UTC().Format(time.RFC3339Nano), engine); err != nil {
		return fmt.Errorf("store face entry %q: %w", e.ID, err)
	}
	return nil
}

// AddFace stores a descriptor (replacing one with the same ID) and then adds it to the gallery.
func (ix *Index) AddFace(ctx context.Context, e FaceEntry, o Origin) error {
	sp := ix.Faces.Space()
	if err := ix.putFace(ctx, ix.db, e, o, sp.Engine, sp.Dim); err != nil {
		return err
	}
	return ix.Faces.Add(e)
}

// RemoveFace deletes a descriptor from the store and then from the gallery. Removing an ID that
// is not there is not an error.
func (ix *Index) RemoveFace(ctx context.Context, id string) error {
	if _, err := ix.db.ExecContext(ctx, `DELETE FROM face_gallery WHERE entry_id = ?`, id); err != nil {
		return fmt.Errorf("remove face entry %q: %w", id, err)
	}
	ix.Faces.Remove(id)
	return nil
}

// AddFaces stores many descriptors in one transaction, then adds them to the gallery.
func (ix *Index) AddFaces(ctx context.Context, es []FaceEntry, o Origin) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store faces: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	sp := ix.Faces.Space()
	for _, e := range es {
		if err := ix.putFace(ctx, tx, e, o, sp.Engine, sp.Dim); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store faces: commit: %w", err)
	}
	for _, e := range es {
		if err := ix.Faces.Add(e); err != nil {
			return err // unreachable: putFace checked the same things
		}
	}
	return nil
}

func (ix *Index) loadFingers(ctx context.Context) error {
	var after int64
	for {
		rows, err := ix.db.QueryContext(ctx,
			`SELECT rowid, entry_id, person_id, position, template FROM finger_gallery WHERE rowid > ? ORDER BY rowid LIMIT ?`,
			after, loadBatch)
		if err != nil {
			return fmt.Errorf("load finger gallery: %w", err)
		}
		got := 0
		for rows.Next() {
			var e FingerEntry
			var blob []byte
			if err := rows.Scan(&after, &e.ID, &e.Person, &e.Position, &blob); err != nil {
				rows.Close()
				return fmt.Errorf("load finger gallery: %w", err)
			}
			plain, err := ix.seal.Open(blob, fingerAD(e.ID))
			if err != nil {
				rows.Close()
				return fmt.Errorf("load finger gallery: entry %q: %w", e.ID, err)
			}
			e.Template = new(finger.Template)
			if err := e.Template.UnmarshalBinary(plain); err != nil {
				rows.Close()
				return fmt.Errorf("load finger gallery: entry %q: %w", e.ID, err)
			}
			if err := ix.Fingers.Add(e); err != nil {
				rows.Close()
				return fmt.Errorf("load finger gallery: %w", err)
			}
			got++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load finger gallery: %w", err)
		}
		if got < loadBatch {
			return nil
		}
	}
}

func fingerAD(id string) []byte { return []byte("finger\x00" + id) }

func checkFingerEntry(e *FingerEntry) error {
	if e.ID == "" || e.Person == "" || e.Template == nil {
		return errors.New("finger entry needs an id, a person and a template")
	}
	if e.Position < 0 || e.Position > 10 {
		return fmt.Errorf("finger entry %q: position %d (ISO/IEC 19794-2: 0..10)", e.ID, e.Position)
	}
	return nil
}

func (ix *Index) putFinger(ctx context.Context, x execer, e FingerEntry, o Origin) error {
	if err := checkFingerEntry(&e); err != nil {
		return err
	}
	if !o.valid() {
		return fmt.Errorf("finger entry %q: origin %q", e.ID, o)
	}
	raw, err := e.Template.MarshalBinary()
	if err != nil {
		return fmt.Errorf("finger entry %q: %w", e.ID, err)
	}
	blob, err := ix.seal.Seal(raw, fingerAD(e.ID))
	if err != nil {
		return fmt.Errorf("finger entry %q: %w", e.ID, err)
	}
	if _, err := x.ExecContext(ctx, `INSERT INTO finger_gallery (entry_id, person_id, position, origin, template, added_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (entry_id) DO UPDATE SET person_id = excluded.person_id, position = excluded.position,
			origin = excluded.origin, template = excluded.template, added_at = excluded.added_at`,
		e.ID, e.Person, e.Position, string(o), blob, ix.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("store finger entry %q: %w", e.ID, err)
	}
	return nil
}

// AddFingers stores templates in one transaction (replacing entries with the same IDs), then adds
// them to the gallery.
func (ix *Index) AddFingers(ctx context.Context, es []FingerEntry, o Origin) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store fingers: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, e := range es {
		if err := ix.putFinger(ctx, tx, e, o); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store fingers: commit: %w", err)
	}
	for _, e := range es {
		if err := ix.Fingers.Add(e); err != nil {
			return err
		}
	}
	return nil
}

// RemoveFinger deletes a template from the store and then from the gallery.
func (ix *Index) RemoveFinger(ctx context.Context, id string) error {
	if _, err := ix.db.ExecContext(ctx, `DELETE FROM finger_gallery WHERE entry_id = ?`, id); err != nil {
		return fmt.Errorf("remove finger entry %q: %w", id, err)
	}
	ix.Fingers.Remove(id)
	return nil
}
