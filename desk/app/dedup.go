package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"enrolldesk/biometric/finger"
	"enrolldesk/biometric/index"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/store"
	"enrolldesk/sync/record"
)

// IndexDedup is the Deduper over biometric/index: the face and finger galleries of everyone
// approved at this desk, kept in the desk store sealed under the desk data key, searched 1:N
// with index.DefaultPolicy's fusion rule. The galleries open when the desk is unlocked with its
// passphrase (the data key is needed to read them); before that a search answers desk_locked.
type IndexDedup struct {
	db     *store.DB
	policy index.Policy

	mu sync.Mutex
	ix *index.Index
}

// NewIndexDedup makes the deduper over the desk store; Open wires it when Options.LocalDedup is set.
func NewIndexDedup(db *store.DB) *IndexDedup {
	return &IndexDedup{db: db, policy: index.DefaultPolicy}
}

// Open loads the galleries with the unwrapped desk data key (once); UnlockDesk calls it.
func (d *IndexDedup) Open(ctx context.Context, dataKey []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ix != nil {
		return nil
	}
	seal, err := index.NewAESGCMSealer(dataKey)
	if err != nil {
		return fmt.Errorf("open galleries: %w", err)
	}
	ix, err := index.Open(ctx, d.db, seal, index.FaceOptions{}, index.FingerOptions{})
	if err != nil {
		return fmt.Errorf("open galleries: %w", err)
	}
	d.ix = ix
	return nil
}

func (d *IndexDedup) index() (*index.Index, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ix == nil {
		return nil, coded(CodeDeskLocked, errors.New("the galleries are sealed until the desk is unlocked"), nil)
	}
	return d.ix, nil
}

func descriptor(v []float32) (*index.Descriptor, error) {
	if len(v) == 0 {
		return nil, nil
	}
	if len(v) != index.Dim {
		return nil, fmt.Errorf("face descriptor has %d dimensions, the gallery %d", len(v), index.Dim)
	}
	var d index.Descriptor
	copy(d[:], v)
	return &d, nil
}

// template parses a captured finger's ISO/IEC 19794-2:2005 record (its first view).
func template(f enroll.Finger) (*finger.Template, error) {
	rec, err := finger.ParseRecord(f.Template, finger.ISO19794)
	if err != nil {
		return nil, fmt.Errorf("finger %d: %w", f.Position, err)
	}
	t, err := rec.Template(0)
	if err != nil {
		return nil, fmt.Errorf("finger %d: %w", f.Position, err)
	}
	return t, nil
}

// Search implements Deduper.
func (d *IndexDedup) Search(ctx context.Context, face enroll.Face, fingers []enroll.Finger) (record.Dedup, error) {
	ix, err := d.index()
	if err != nil {
		return record.Dedup{}, err
	}
	var p index.DedupProbe
	if p.Face, err = descriptor(face.Descriptor); err != nil {
		return record.Dedup{}, err
	}
	for _, f := range fingers {
		if len(f.Template) == 0 {
			continue
		}
		t, err := template(f)
		if err != nil {
			return record.Dedup{}, err
		}
		p.Fingers = append(p.Fingers, index.FingerProbe{Position: f.Position, Template: t})
	}
	if err := ctx.Err(); err != nil {
		return record.Dedup{}, err
	}
	res, err := ix.Dedup(p, d.policy)
	if err != nil {
		return record.Dedup{}, fmt.Errorf("de-duplication search: %w", err)
	}
	// The gallery size is the number of enrolled faces (fingers when no face was ever stored).
	out := record.Dedup{GallerySize: ix.Faces.Len()}
	if out.GallerySize == 0 {
		out.GallerySize = ix.Fingers.Len()
	}
	switch res.Verdict {
	case index.Duplicate:
		out.Decision = "duplicate"
	case index.Review:
		out.Decision = "review"
	default:
		out.Decision = "unique"
	}
	for _, c := range res.Candidates {
		if c.Verdict == index.Unique {
			continue
		}
		// Candidates are record ids: a face entry's id is its record's, a finger's is
		// "recordID/position".
		id := c.FaceID
		if id == "" && len(c.Fingers) > 0 {
			id = c.Fingers[0].Hit.ID
			if i := strings.LastIndexByte(id, '/'); i > 0 {
				id = id[:i]
			}
		}
		if id != "" {
			out.Candidates = append(out.Candidates, id)
		}
	}
	return out, nil
}

// Enrolled adds an approved enrollment to the galleries: the face under the record id, each
// finger under "recordID/position", all grouped under the citizen id.
func (d *IndexDedup) Enrolled(ctx context.Context, recordID, citizenID string, face enroll.Face, fingers []enroll.Finger) error {
	ix, err := d.index()
	if err != nil {
		return err
	}
	desc, err := descriptor(face.Descriptor)
	if err != nil {
		return err
	}
	if desc != nil {
		if err := ix.AddFace(ctx, index.FaceEntry{ID: recordID, Person: citizenID, Descriptor: *desc}, index.OriginLocal); err != nil {
			return fmt.Errorf("face gallery: %w", err)
		}
	}
	var es []index.FingerEntry
	for _, f := range fingers {
		if len(f.Template) == 0 {
			continue
		}
		t, err := template(f)
		if err != nil {
			return err
		}
		es = append(es, index.FingerEntry{ID: fmt.Sprintf("%s/%d", recordID, f.Position), Person: citizenID, Position: f.Position, Template: t})
	}
	if len(es) > 0 {
		if err := ix.AddFingers(ctx, es, index.OriginLocal); err != nil {
			return fmt.Errorf("finger gallery: %w", err)
		}
	}
	return nil
}
