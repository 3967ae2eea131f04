package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/finger"
	"enrolldesk/biometric/index"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/store"
	"enrolldesk/sync/record"
)

// IndexDedup is the Deduper over biometric/index: the face and finger galleries of everyone
// approved at this desk, kept in the desk store sealed under the desk data key, searched 1:N
// with index.Dedup's fusion rule. The galleries open when the desk is unlocked with its
// passphrase (the data key is needed to read them); before that a search answers desk_locked.
//
// The face gallery follows the desk's face engine: FaceEngine names the engine whose descriptors
// enroll.Face.Descriptor carries (policy.face_engine) and that engine's calibration; the gallery
// opens in that engine's space (index.SpaceFor: its dimension, its codes, its model set) with
// the face thresholds of its calibration (index.PolicyFor), and reopens in the new space when
// the setting changes (descriptors of the other engine stay stored, not searched). Without
// FaceEngine the gallery is dlib's (index.DlibSpace, index.DefaultPolicy).
type IndexDedup struct {
	db *store.DB
	// FaceEngine returns the desk's face engine (settings.FaceEngineFacenet or
	// settings.FaceEngineDlib) and its shipped calibration (match.Shipped's entry for the
	// engine's exact model set); it is asked at Open and at every search.
	FaceEngine func(ctx context.Context) (engine string, cal match.Calibration, err error)

	mu     sync.Mutex
	seal   index.Sealer
	ix     *index.Index
	policy index.Policy
}

// NewIndexDedup makes the deduper over the desk store; Open wires it when Options.LocalDedup is set.
func NewIndexDedup(db *store.DB) *IndexDedup {
	return &IndexDedup{db: db, policy: index.DefaultPolicy}
}

// space resolves the face space and fusion policy of the desk's face engine.
func (d *IndexDedup) space(ctx context.Context) (index.FaceSpace, index.Policy, error) {
	if d.FaceEngine == nil {
		return index.DlibSpace, index.DefaultPolicy, nil
	}
	engine, cal, err := d.FaceEngine(ctx)
	if err != nil {
		return index.FaceSpace{}, index.Policy{}, fmt.Errorf("%w: %w", errFaceEngine, err)
	}
	sp, err := index.SpaceFor(engine, cal)
	if err != nil {
		return index.FaceSpace{}, index.Policy{}, err
	}
	pol, err := index.PolicyFor(index.DefaultPolicy, cal)
	if err != nil {
		return index.FaceSpace{}, index.Policy{}, err
	}
	return sp, pol, nil
}

// Open loads the galleries with the unwrapped desk data key (once); UnlockDesk calls it. When the
// face engine cannot be resolved (its model files missing or not the shipped ones), the desk
// still unlocks: signing, review, export and sync do not need the galleries. They open at the
// first search instead, which reports the engine's fault (a face could not be captured anyway).
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
	d.seal = seal
	err = d.openLocked(ctx)
	if errors.Is(err, errFaceEngine) {
		return nil
	}
	return err
}

// errFaceEngine marks a gallery that could not open because the face engine could not be resolved.
var errFaceEngine = errors.New("face engine")

// openLocked (re)opens the galleries in the face engine's space.
func (d *IndexDedup) openLocked(ctx context.Context) error {
	sp, pol, err := d.space(ctx)
	if err != nil {
		return fmt.Errorf("open galleries: %w", err)
	}
	ix, err := index.Open(ctx, d.db, d.seal, index.FaceOptions{Space: sp}, index.FingerOptions{})
	if err != nil {
		return fmt.Errorf("open galleries: %w", err)
	}
	d.ix, d.policy = ix, pol
	return nil
}

// index returns the open galleries in the current face engine's space (reopening them when the
// engine changed) and the fusion policy.
func (d *IndexDedup) index(ctx context.Context) (*index.Index, index.Policy, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seal == nil {
		return nil, index.Policy{}, coded(CodeDeskLocked, errors.New("the galleries are sealed until the desk is unlocked"), nil)
	}
	if d.ix == nil {
		if err := d.openLocked(ctx); err != nil {
			return nil, index.Policy{}, fmt.Errorf("de-duplication: %w", err)
		}
	} else if d.FaceEngine != nil {
		sp, _, err := d.space(ctx)
		if err != nil {
			return nil, index.Policy{}, fmt.Errorf("de-duplication: %w", err)
		}
		if sp.Engine != d.ix.Faces.Space().Engine {
			if err := d.openLocked(ctx); err != nil {
				return nil, index.Policy{}, err
			}
		}
	}
	return d.ix, d.policy, nil
}

// FaceSpace is the face space the galleries are open in (index.DlibSpace before Open).
func (d *IndexDedup) FaceSpace() index.FaceSpace {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ix == nil {
		return index.DlibSpace
	}
	return d.ix.Faces.Space()
}

func descriptor(v []float32, sp index.FaceSpace) (*index.Descriptor, error) {
	if len(v) == 0 {
		return nil, nil
	}
	if len(v) != sp.Dim {
		return nil, fmt.Errorf("face descriptor has %d dimensions, the %s gallery %d: %w", len(v), sp.Engine, sp.Dim, index.ErrDimension)
	}
	d := index.Descriptor(append([]float32(nil), v...))
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
	ix, policy, err := d.index(ctx)
	if err != nil {
		return record.Dedup{}, err
	}
	var p index.DedupProbe
	if p.Face, err = descriptor(face.Descriptor, ix.Faces.Space()); err != nil {
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
	res, err := ix.Dedup(p, policy)
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
	ix, _, err := d.index(ctx)
	if err != nil {
		return err
	}
	desc, err := descriptor(face.Descriptor, ix.Faces.Space())
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
