// Package opcheck is the operator check: the citizen's live face and fingers are compared with
// the logged-in officer's own enrolled biometrics, so an officer cannot enroll themself under a
// citizen's card.
//
// A hit does not reject the enrollment (MOSIP's client rejects outright, and its users complain
// of false operator-match rejections): it flags the record ("operator-face", "operator-finger",
// or "operator-unenrolled" when the officer has no enrolled biometrics), and a flagged record
// always waits for a supervisor's review (desk/review). The face threshold comes from the face
// engine's calibration at a false-match rate of at most 0.1 %, because each enrollment makes one
// comparison against one officer: that rate is the share of honest enrollments flagged.
//
// The face comparison uses the desk's selected face engine (policy.face_engine: facenet by
// default): the officer's profile stores which engine and model set made each descriptor, the
// threshold is that engine's operator-check calibration (Calibration, calibrations.json, set at
// 0.1 % on the worst population slice), and a profile from another engine is a *ReenrollError.
package opcheck

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/fxamacker/cbor/v2"

	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/finger"
	"enrolldesk/desk/audit"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/store"
)

// Flag codes added to a submission (review.Submission.Flags).
const (
	FlagFace       = "operator-face"
	FlagFinger     = "operator-finger"
	FlagUnenrolled = "operator-unenrolled"
)

// Face is one enrolled face descriptor, tied to the engine and model set that made it
// (embedding.Embedder's Name, modelset.Verified.ID or facenet.Engine.ModelSetID): only a
// citizen's descriptor from the same engine and model set is compared with it. An officer may
// hold faces from several engines (e.g. enrolled under both), so that a change of the desk's
// policy.face_engine needs no re-enrolment; otherwise Check returns a *ReenrollError.
type Face struct {
	Engine     string    `cbor:"engine"`
	ModelSet   string    `cbor:"models"`
	Descriptor []float32 `cbor:"d"`
}

// Finger is one enrolled finger template (biometric/finger's binary template).
type Finger struct {
	Position int    `cbor:"pos"` // ISO/IEC 19794-2 finger position
	Template []byte `cbor:"t"`
}

// Profile is an officer's own enrolled biometrics.
type Profile struct {
	Faces   []Face   `cbor:"faces"`
	Fingers []Finger `cbor:"fingers"`
}

// ErrNoProfile means the officer has no enrolled biometrics.
var ErrNoProfile = errors.New("officer has no enrolled biometrics")

// Store keeps officers' profiles, sealed under the desk data key.
type Store struct {
	db      *store.DB
	audit   *audit.Log
	dataKey []byte
	now     func() time.Time
}

// NewStore returns the profile store. now may be nil.
func NewStore(db *store.DB, log *audit.Log, dataKey []byte, now func() time.Time) (*Store, error) {
	if len(dataKey) != seal.KeySize {
		return nil, fmt.Errorf("opcheck: data key is %d bytes, want %d", len(dataKey), seal.KeySize)
	}
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, audit: log, dataKey: dataKey, now: now}, nil
}

var enc, dec = func() (cbor.EncMode, cbor.DecMode) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options: unreachable
	}
	dm, err := cbor.DecOptions{IndefLength: cbor.IndefLengthForbidden, MaxArrayElements: 4096}.DecMode()
	if err != nil {
		panic(err)
	}
	return em, dm
}()

// Enroll stores (or replaces) an officer's profile; supervisorID is who captured it. Audited as
// "officer.biometrics" with counts only.
func (s *Store) Enroll(ctx context.Context, supervisorID, officerID string, p Profile) error {
	if len(p.Faces) == 0 && len(p.Fingers) == 0 {
		return errors.New("enroll officer biometrics: nothing captured")
	}
	for _, f := range p.Faces {
		if len(f.Descriptor) == 0 || f.Engine == "" || f.ModelSet == "" {
			return errors.New("enroll officer biometrics: a face needs its engine, model set and descriptor")
		}
	}
	for _, f := range p.Fingers {
		if _, err := parseTemplate(f.Template); err != nil {
			return fmt.Errorf("enroll officer biometrics: finger %d: %w", f.Position, err)
		}
	}
	plain, err := enc.Marshal(p)
	if err != nil {
		return fmt.Errorf("enroll officer biometrics: %w", err)
	}
	sealed, err := seal.Seal(s.dataKey, plain, []byte("officer-biometrics|"+officerID))
	if err != nil {
		return fmt.Errorf("enroll officer biometrics: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("enroll officer biometrics: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if _, err := tx.ExecContext(ctx, `INSERT INTO officer_biometrics(officer_id, profile, enrolled_by, enrolled_at) VALUES (?,?,?,?)
		ON CONFLICT(officer_id) DO UPDATE SET profile = excluded.profile, enrolled_by = excluded.enrolled_by, enrolled_at = excluded.enrolled_at`,
		officerID, sealed, supervisorID, s.now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("enroll officer biometrics %s: %w", officerID, err)
	}
	if _, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: supervisorID, Action: "officer.biometrics", Subject: officerID,
		Detail: fmt.Sprintf("%d faces, %d fingers", len(p.Faces), len(p.Fingers))}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("enroll officer biometrics: commit: %w", err)
	}
	return nil
}

// Load returns an officer's profile or ErrNoProfile.
func (s *Store) Load(ctx context.Context, officerID string) (Profile, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT profile FROM officer_biometrics WHERE officer_id = ?`, officerID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return Profile{}, ErrNoProfile
	}
	if err != nil {
		return Profile{}, fmt.Errorf("officer biometrics %s: %w", officerID, err)
	}
	plain, err := seal.Open(s.dataKey, sealed, []byte("officer-biometrics|"+officerID))
	if err != nil {
		return Profile{}, fmt.Errorf("officer biometrics %s: %w", officerID, err)
	}
	var p Profile
	if err := dec.Unmarshal(plain, &p); err != nil {
		return Profile{}, fmt.Errorf("officer biometrics %s: %w", officerID, err)
	}
	return p, nil
}

// MaxFalseFlagRate is the share of honest enrollments the check may flag (issue 9: 0.1 %).
const MaxFalseFlagRate = 0.001

// FaceThreshold derives the operator check's face distance threshold from the engine's
// calibration: its match threshold, which must have been set at a false-match rate of at most
// MaxFalseFlagRate, plus margin (settings.Thresholds.OperatorFaceMargin; negative is stricter).
// The calibration to pass is the operator check's own for the citizen's engine and model set
// (Calibration: set on the worst population slice), not the 1:1 chip-photo calibration.
func FaceThreshold(c match.Calibration, margin float64) (float64, error) {
	if c.MatchThreshold <= 0 || c.MatchFMR <= 0 {
		return 0, match.ErrUncalibrated
	}
	if c.MatchFMR > MaxFalseFlagRate {
		return 0, fmt.Errorf("operator check: calibration's match FMR %g exceeds %g", c.MatchFMR, MaxFalseFlagRate)
	}
	return c.MatchThreshold + margin, nil
}

// Citizen is what the enrollment captured.
type Citizen struct {
	Face     []float32
	Engine   string // the engine and model set the descriptor came from
	ModelSet string
	Fingers  []Finger
}

// FingerHit is a citizen finger that matched one of the officer's.
type FingerHit struct {
	CitizenPosition int     `json:"citizen_position"`
	OfficerPosition int     `json:"officer_position"`
	Score           float64 `json:"score"`
}

// Result is the operator check's outcome.
type Result struct {
	Flags           []string    `json:"flags"` // empty: nothing suspicious
	FaceDistance    float64     `json:"face_distance"`
	FaceThreshold   float64     `json:"face_threshold"`
	FaceCompared    bool        `json:"face_compared"`
	FingerHits      []FingerHit `json:"finger_hits"`
	FingersCompared int         `json:"fingers_compared"`
}

// Checker runs the operator check.
type Checker struct {
	Profiles *Store
	Audit    *audit.Log
	// FaceThreshold is the distance at or below which the citizen's face counts as the officer's
	// (see FaceThreshold).
	FaceThreshold float64
	// FingerThreshold is the finger score (0..100) at or above which a finger counts as the
	// officer's (settings.Thresholds.OperatorFingerScore).
	FingerThreshold float64
}

// Check compares the citizen with officerID's profile. A flagged result is audited
// ("opcheck.flag", detail the flag codes).
func (c *Checker) Check(ctx context.Context, officerID string, cit Citizen) (Result, error) {
	res := Result{Flags: []string{}, FaceThreshold: c.FaceThreshold, FaceDistance: math.NaN()}
	p, err := c.Profiles.Load(ctx, officerID)
	switch {
	case errors.Is(err, ErrNoProfile):
		res.Flags = append(res.Flags, FlagUnenrolled)
	case err != nil:
		return Result{}, err
	default:
		if len(cit.Face) > 0 {
			if err := comparable(officerID, p.Faces, cit); err != nil {
				return Result{}, err
			}
			for _, f := range p.Faces {
				if f.Engine != cit.Engine || f.ModelSet != cit.ModelSet {
					continue
				}
				d, err := embedding.Distance(f.Descriptor, cit.Face)
				if err != nil {
					return Result{}, fmt.Errorf("operator check: face: %w", err)
				}
				res.FaceCompared = true
				if math.IsNaN(res.FaceDistance) || d < res.FaceDistance {
					res.FaceDistance = d
				}
			}
			if res.FaceCompared && res.FaceDistance <= c.FaceThreshold {
				res.Flags = append(res.Flags, FlagFace)
			}
		}
		hits, n, err := c.fingers(p.Fingers, cit.Fingers)
		if err != nil {
			return Result{}, err
		}
		res.FingerHits, res.FingersCompared = hits, n
		if len(hits) > 0 {
			res.Flags = append(res.Flags, FlagFinger)
		}
	}
	if !res.FaceCompared {
		res.FaceDistance = 0
	}
	if len(res.Flags) > 0 && c.Audit != nil {
		detail := fmt.Sprint(res.Flags)
		if _, err := c.Audit.Append(ctx, audit.Entry{Actor: officerID, Action: "opcheck.flag", Subject: officerID, Detail: detail}); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// ErrReenroll means the officer's enrolled face was described by another face engine or model
// set than the citizen's (the desk's policy.face_engine changed, or its models were replaced):
// descriptors of two engines cannot be compared, so a supervisor must enroll the officer's face
// again with the desk's current engine. Returned wrapped in a *ReenrollError.
var ErrReenroll = errors.New("officer's face must be enrolled again with the desk's face engine")

// ReenrollError names the engines involved (never the descriptors).
type ReenrollError struct {
	OfficerID string
	Have      []string // "engine (models abcdef012345)" of each enrolled face
	Want      string   // the citizen's engine and model set
}

func (e *ReenrollError) Error() string {
	return fmt.Sprintf("operator check: officer %s's face was enrolled with %v, the desk now describes faces with %s: %v",
		e.OfficerID, e.Have, e.Want, ErrReenroll)
}

// Unwrap makes errors.Is(err, ErrReenroll) hold.
func (e *ReenrollError) Unwrap() error { return ErrReenroll }

func engineLabel(engine, modelSet string) string {
	if len(modelSet) > 12 {
		modelSet = modelSet[:12]
	}
	return fmt.Sprintf("%s (models %s)", engine, modelSet)
}

// comparable checks that an officer with enrolled faces has one from the citizen's engine and
// model set. An officer enrolled with fingers only has nothing to compare the face with: that is
// no error (the finger comparison still runs).
func comparable(officerID string, faces []Face, cit Citizen) error {
	if cit.Engine == "" {
		return errors.New("operator check: the citizen's face descriptor names no engine")
	}
	if len(faces) == 0 {
		return nil
	}
	var have []string
	for _, f := range faces {
		if f.Engine == cit.Engine && f.ModelSet == cit.ModelSet {
			return nil
		}
		have = append(have, engineLabel(f.Engine, f.ModelSet))
	}
	return &ReenrollError{OfficerID: officerID, Have: have, Want: engineLabel(cit.Engine, cit.ModelSet)}
}

// fingers compares every citizen finger with every officer finger (an officer may present
// another finger than the one named), scoring with biometric/finger's 1:1 matcher.
func (c *Checker) fingers(officer, citizen []Finger) ([]FingerHit, int, error) {
	if len(officer) == 0 || len(citizen) == 0 {
		return []FingerHit{}, 0, nil
	}
	probes := make([]*finger.Probe, len(officer))
	for i, f := range officer {
		t, err := parseTemplate(f.Template)
		if err != nil {
			return nil, 0, fmt.Errorf("operator check: officer finger %d: %w", f.Position, err)
		}
		probes[i] = finger.NewProbe(t)
	}
	hits := []FingerHit{}
	n := 0
	for _, cf := range citizen {
		t, err := parseTemplate(cf.Template)
		if err != nil {
			return nil, 0, fmt.Errorf("operator check: citizen finger %d: %w", cf.Position, err)
		}
		q := finger.NewProbe(t)
		for i, p := range probes {
			n++
			if s := p.MatchProbe(q); s >= c.FingerThreshold {
				hits = append(hits, FingerHit{CitizenPosition: cf.Position, OfficerPosition: officer[i].Position, Score: s})
			}
		}
	}
	return hits, n, nil
}

// parseTemplate reads a finger template in either form the desk holds: biometric/finger's compact
// binary template, or the ISO/IEC 19794-2:2005 record (its first view) that the sensor's capture
// path (desk/app.SensorFinger) puts in enroll.Finger.Template for citizens and officers alike.
func parseTemplate(b []byte) (*finger.Template, error) {
	if bytes.HasPrefix(b, []byte("FMR\x00")) {
		rec, err := finger.ParseRecord(b, finger.ISO19794)
		if err != nil {
			return nil, err
		}
		return rec.Template(0)
	}
	var t finger.Template
	if err := t.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return &t, nil
}

// Summary is what the officers screen shows of an officer's profile: when and by whom it was
// enrolled and, once the desk is unlocked, which face engines and finger positions it holds
// (never a descriptor or a template).
type Summary struct {
	OfficerID  string
	EnrolledBy string
	EnrolledAt time.Time
	// Sealed: read without the desk data key, so Engines and Fingers are unknown.
	Sealed  bool
	Engines []string // the engine of each enrolled face
	Fingers []int    // ISO/IEC 19794-2 positions
}

// Querier is the read side of the desk store (*store.DB, *sql.DB).
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Enrolled lists who has a profile, when and by whom, without the desk data key (the profiles
// stay sealed): the officers screen shows it before the desk is unlocked.
func Enrolled(ctx context.Context, q Querier) (map[string]Summary, error) {
	rows, err := q.QueryContext(ctx, `SELECT officer_id, enrolled_by, enrolled_at FROM officer_biometrics`)
	if err != nil {
		return nil, fmt.Errorf("officer biometrics: %w", err)
	}
	defer rows.Close()
	out := map[string]Summary{}
	for rows.Next() {
		var s Summary
		var at string
		if err := rows.Scan(&s.OfficerID, &s.EnrolledBy, &at); err != nil {
			return nil, fmt.Errorf("officer biometrics: %w", err)
		}
		if s.EnrolledAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("officer biometrics %s: enrolled_at: %w", s.OfficerID, err)
		}
		s.Sealed = true
		out[s.OfficerID] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("officer biometrics: %w", err)
	}
	return out, nil
}

// Summaries is Enrolled with each profile opened: its face engines and finger positions.
func (s *Store) Summaries(ctx context.Context) (map[string]Summary, error) {
	out, err := Enrolled(ctx, s.db)
	if err != nil {
		return nil, err
	}
	for id, sum := range out {
		p, err := s.Load(ctx, id)
		if err != nil {
			return nil, err
		}
		sum.Sealed = false
		sum.Engines, sum.Fingers = []string{}, []int{}
		for _, f := range p.Faces {
			sum.Engines = append(sum.Engines, f.Engine)
		}
		for _, f := range p.Fingers {
			sum.Fingers = append(sum.Fingers, f.Position)
		}
		out[id] = sum
	}
	return out, nil
}
