// Package enroll is the enrollment workflow for one citizen at a time: card, face, fingers,
// application form, review, then approval (the officer's PIN unlocks the key that countersigns) or
// rejection. Each step's result is checked when it is set; Problems lists what still blocks
// approval, in words the officer's screen can show. It knows nothing of devices: the desk's
// adapters hand it results from reader/, biometric/face and biometric/finger.
package enroll

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/officer"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

// MinorAge: a citizen under 14 applies through a legal representative (Decree 69/2024/NĐ-CP
// art. 10 §2 and art. 20).
const MinorAge = 14

// Decisions a biometric comparison can reach.
const (
	Match    = "match"
	NoMatch  = "no-match"
	Review   = "review" // needs the officer's own look
	Captured = "captured"
)

// Chip is what the card step found: the parsed identity, raw data groups and the verdict.
type Chip struct {
	IDNumber    string
	FullName    string
	Sex         string // "M" or "F" (DG1) or the DG13 text
	DateOfBirth time.Time
	DG1, DG13   []byte
	SOD         []byte
	Photo       []byte // chip photo (JPEG) for the officer and the 1:1 comparison
	Verdict     record.ChipVerdict
}

// Face is the live capture's outcome.
type Face struct {
	Score      float64 // distance to the chip photo (lower is closer)
	Threshold  float64
	Decision   string // Match, NoMatch or Review
	Liveness   string // record.Pass or record.Fail
	Portrait   []byte // ICAO token portrait JPEG
	Descriptor []float32
	// OfficerReviewed is set when the officer looked at a Review outcome and accepted it.
	OfficerReviewed bool
	// Engine and ModelSet name the face engine (embedding.Embedder.Name()) and the verified
	// model set (modelset.Verified.ID) that computed Descriptor and decided: the operator check
	// compares only descriptors of the same engine and model set, and the calibration that set
	// Threshold is looked up by the pair (biometric/face/match.Table).
	Engine   string
	ModelSet string
	// Alternates are the same live face described by the desk's other calibrated face engines.
	// Only a capture without a reference photo fills them (an officer's own enrollment for the
	// operator check, desk/opcheck): the officer's profile then holds a descriptor per engine,
	// so a change of policy.face_engine needs no re-enrollment. A citizen's record never carries
	// them.
	Alternates []Descriptor
}

// Descriptor is one face descriptor with the engine and verified model set that computed it.
type Descriptor struct {
	Engine     string
	ModelSet   string
	Descriptor []float32
}

// Finger is one captured finger.
type Finger struct {
	Position       int // ISO/IEC 19794-2 finger position: 1 right thumb ... 10 left little
	Quality        int // 0..100
	Score          float64
	Decision       string
	Template       []byte
	TemplateFormat string // e.g. "iso19794-2"
	Image          []byte // sensor image (PNG), purged after the registry acknowledges
}

// FingerException declares a finger that could not be captured, and why.
type FingerException struct {
	Position int
	Reason   string // "missing", "bandaged", "unreadable"
	// Photo is the evidence photo of the hand (JPEG), taken with the desk camera when the
	// exception is declared; it travels in the signed record (exceptions.Declare).
	Photo []byte
}

// FingerPolicy decides whether the captured fingers and declared exceptions are enough.
type FingerPolicy interface {
	Check(fingers []Finger, exceptions []FingerException) error
}

// BothIndexFingers is the default policy: right and left index (positions 2 and 7), each either
// captured with quality ≥ MinQuality or declared as an exception, with at least one finger
// captured in all.
type BothIndexFingers struct{ MinQuality int }

// Check implements FingerPolicy.
func (p BothIndexFingers) Check(fingers []Finger, exceptions []FingerException) error {
	var missing []string
	captured := 0
	for _, f := range fingers {
		if f.Quality >= p.MinQuality {
			captured++
		}
	}
	for _, pos := range []int{2, 7} {
		ok := slices.ContainsFunc(fingers, func(f Finger) bool { return f.Position == pos && f.Quality >= p.MinQuality }) ||
			slices.ContainsFunc(exceptions, func(e FingerException) bool { return e.Position == pos })
		if !ok {
			missing = append(missing, fmt.Sprintf("finger %d", pos))
		}
	}
	switch {
	case len(missing) > 0:
		return fmt.Errorf("capture or declare an exception for %s", strings.Join(missing, " and "))
	case captured == 0:
		return errors.New("at least one finger must be captured")
	}
	return nil
}

// Form is the application form as typed at the desk.
type Form struct {
	Mobile         string
	Email          string
	Documents      []string
	Representative *record.Representative
	Consent        bool
	ConsentVersion string
}

// Problem is one thing that blocks approval, with a stable code for the screen's translations.
type Problem struct {
	Step string // "card", "face", "fingers", "form", "dedup"
	Code string
	Text string
}

// Session is one citizen's enrollment in progress. It is safe for concurrent use.
type Session struct {
	mu         sync.Mutex
	officer    officer.Officer
	started    time.Time
	chip       *Chip
	face       *Face
	fingers    []Finger
	exceptions []FingerException
	dedup      *record.Dedup
	form       *record.Form
	consent    record.Consent
	closed     bool
}

// Errors for steps taken out of order or with unacceptable results.
var (
	ErrNoChip        = errors.New("read the citizen's card first")
	ErrChipNotProven = errors.New("the chip was not proven genuine (passive authentication did not pass)")
	ErrClosed        = errors.New("this enrollment is already approved or rejected")
)

// SetChip records the card step. Passive authentication is mandatory: BAC keys are guessable
// from the card's printed data (DESIGN.md), so only a valid SOD signature chain proves the data.
func (s *Session) SetChip(c Chip) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if c.Verdict.PA != record.Pass {
		return ErrChipNotProven
	}
	if c.Verdict.AA == record.Fail || c.Verdict.CA == record.Fail {
		return errors.New("the chip failed active or chip authentication: it may be a clone")
	}
	if err := CheckCitizenID(c.IDNumber, c.DateOfBirth, c.Sex); err != nil {
		return fmt.Errorf("card: %w", err)
	}
	// A new card starts a new enrollment: nothing captured for someone else may carry over.
	s.chip, s.face, s.fingers, s.exceptions, s.dedup, s.form = &c, nil, nil, nil, nil, nil
	return nil
}

// SetFace records the face step.
func (s *Session) SetFace(f Face) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.chip == nil {
		return ErrNoChip
	}
	if f.Decision != Match && f.Decision != NoMatch && f.Decision != Review {
		return fmt.Errorf("face decision %q unknown", f.Decision)
	}
	if len(f.Portrait) == 0 {
		return errors.New("face: no portrait captured")
	}
	// The de-duplication search ran with the earlier face: it must run again with this one.
	s.face, s.dedup = &f, nil
	return nil
}

// ConfirmFaceReview records that the officer compared a Review outcome with the chip photo
// and accepts it. A NoMatch cannot be confirmed: the face must be captured again.
func (s *Session) ConfirmFaceReview() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.face == nil || s.face.Decision != Review {
		return errors.New("there is no face comparison waiting for review")
	}
	s.face.OfficerReviewed = true
	return nil
}

// Officer returns the officer who runs this enrollment.
func (s *Session) Officer() officer.Officer { return s.officer }

// SetFingers records the finger step (captured fingers and declared exceptions).
func (s *Session) SetFingers(fingers []Finger, exceptions []FingerException) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.chip == nil {
		return ErrNoChip
	}
	seen := map[int]bool{}
	for _, f := range fingers {
		if f.Position < 1 || f.Position > 10 || seen[f.Position] {
			return fmt.Errorf("finger position %d invalid or repeated", f.Position)
		}
		seen[f.Position] = true
	}
	for _, e := range exceptions {
		if e.Position < 1 || e.Position > 10 || seen[e.Position] {
			return fmt.Errorf("exception for finger %d invalid, repeated or also captured", e.Position)
		}
		if e.Reason == "" {
			return fmt.Errorf("exception for finger %d needs a reason", e.Position)
		}
		seen[e.Position] = true
	}
	// The de-duplication search ran with the earlier fingers: it must run again with these.
	s.fingers, s.exceptions, s.dedup = slices.Clone(fingers), slices.Clone(exceptions), nil
	return nil
}

// SetDedup records the 1:N de-duplication outcome.
func (s *Session) SetDedup(d record.Dedup) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	switch d.Decision {
	case "unique", "duplicate", "review":
	default:
		return fmt.Errorf("dedup decision %q unknown", d.Decision)
	}
	s.dedup = &d
	return nil
}

// SetForm validates and records the application form and consent.
func (s *Session) SetForm(f Form, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.chip == nil {
		return ErrNoChip
	}
	mobile, err := NormalizeMobile(f.Mobile)
	if err != nil {
		return fmt.Errorf("citizen's mobile: %w", err)
	}
	email, err := NormalizeEmail(f.Email)
	if err != nil {
		return err
	}
	out := record.Form{Mobile: mobile, Email: email, Documents: slices.Clone(f.Documents)}
	minor := !s.chip.DateOfBirth.IsZero() && AgeOn(s.chip.DateOfBirth, now) < MinorAge
	if f.Representative != nil {
		rep := *f.Representative
		if err := CheckCitizenID(rep.IDNumber, time.Time{}, ""); err != nil {
			return fmt.Errorf("representative: %w", err)
		}
		if rep.IDNumber == s.chip.IDNumber {
			return errors.New("the representative must be another person")
		}
		if rep.Mobile, err = NormalizeMobile(rep.Mobile); err != nil {
			return fmt.Errorf("representative's mobile: %w", err)
		}
		out.Representative = &rep
	} else if minor {
		return fmt.Errorf("the citizen is under %d: a representative's ID number and mobile are required", MinorAge)
	}
	if !f.Consent {
		return errors.New("the citizen's consent is required")
	}
	if f.ConsentVersion == "" {
		return errors.New("consent text version is required")
	}
	s.form = &out
	s.consent = record.Consent{Given: true, Version: f.ConsentVersion, At: now.UnixMilli()}
	return nil
}

// Problems lists what still blocks approval under the finger policy.
func (s *Session) Problems(policy FingerPolicy) []Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps []Problem
	add := func(step, code, text string) { ps = append(ps, Problem{Step: step, Code: code, Text: text}) }
	if s.closed {
		add("review", "closed", ErrClosed.Error())
		return ps
	}
	if s.chip == nil {
		add("card", "card.missing", ErrNoChip.Error())
		return ps
	}
	switch {
	case s.face == nil:
		add("face", "face.missing", "capture the citizen's face")
	case s.face.Liveness != record.Pass:
		add("face", "face.liveness", "the liveness check did not pass: capture again")
	case s.face.Decision == NoMatch:
		add("face", "face.nomatch", "the live face does not match the chip photo")
	case s.face.Decision == Review && !s.face.OfficerReviewed:
		add("face", "face.review", "compare the live face with the chip photo yourself and confirm")
	}
	if err := policy.Check(s.fingers, s.exceptions); err != nil {
		add("fingers", "fingers.policy", err.Error())
	}
	for _, e := range s.exceptions {
		if len(e.Photo) == 0 {
			add("fingers", "exception.evidence", fmt.Sprintf("take the evidence photo of %s", exceptions.FingerName(e.Position)))
		}
	}
	switch {
	case s.dedup == nil:
		add("dedup", "dedup.missing", "the de-duplication search has not run")
	case s.dedup.Decision == "duplicate":
		add("dedup", "dedup.duplicate", "this person appears to be enrolled already")
	}
	if s.form == nil {
		add("form", "form.missing", "fill in the application form")
	}
	return ps
}

// content assembles the record content, its biometric blobs (with each exception's evidence
// photo) and the declared exceptions. Caller holds s.mu.
func (s *Session) content(officerKey ed25519.PublicKey) (record.Content, []record.Blob, []exceptions.Exception) {
	c := record.Content{
		OfficerID:  s.officer.ID,
		OfficerKey: officerKey,
		CitizenID:  s.chip.IDNumber,
		DG1:        s.chip.DG1,
		DG13:       s.chip.DG13,
		SOD:        s.chip.SOD,
		Form:       *s.form,
		Chip:       s.chip.Verdict,
		Face: record.FaceResult{Score: s.face.Score, Threshold: s.face.Threshold,
			Decision: s.face.Decision, Liveness: s.face.Liveness, Engine: s.face.Engine, ModelSet: s.face.ModelSet},
		Dedup:   *s.dedup,
		Consent: s.consent,
	}
	blobs := []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: s.face.Portrait}}
	for _, f := range s.fingers {
		c.Fingers = append(c.Fingers, record.FingerResult{Position: f.Position, Quality: f.Quality, Score: f.Score, Decision: f.Decision})
		if len(f.Template) > 0 {
			blobs = append(blobs, record.Blob{Kind: record.KindFingerTemplate, Format: f.TemplateFormat, Position: f.Position, Data: f.Template})
		}
		if len(f.Image) > 0 {
			blobs = append(blobs, record.Blob{Kind: record.KindFingerImage, Format: "image/png", Position: f.Position, Data: f.Image})
		}
	}
	var excs []exceptions.Exception
	for _, e := range s.exceptions {
		x, b := exceptions.Declare(e.Position, exceptions.Reason(e.Reason), e.Photo)
		excs, blobs = append(excs, x), append(blobs, b)
	}
	return c, blobs, excs
}

// Releaser takes an approved record: the outbox directly, or the supervisor's review queue when
// the desk's policy asks for end-of-day approval.
type Releaser interface {
	Release(ctx context.Context, c record.Content, blobs []record.Blob, officerKey ed25519.PrivateKey) (*outbox.Appended, error)
}

// Submission is an approved enrollment as the workflow hands it on: the record content, its
// blobs (portrait, fingers, exception evidence photos), the officer's unlocked key and the
// declared exceptions (each referencing its photo among the blobs).
type Submission struct {
	Content    record.Content
	Blobs      []record.Blob
	OfficerKey ed25519.PrivateKey
	Exceptions []exceptions.Exception
}

// Approval is where an approved enrollment went: released to the outbox (RecordID, Seq) or
// waiting for a supervisor (Pending, with the reasons in Why).
type Approval struct {
	ItemID   string // the review item, when the record went through the review queue
	RecordID string
	Seq      uint64
	Pending  bool
	Why      []string
}

// Submitter takes an approved enrollment: the desk's review queue (desk/ops.Ops.Submit), which
// releases it at once or keeps it for the supervisor as the desk's policy says.
type Submitter interface {
	Submit(ctx context.Context, s Submission) (Approval, error)
}

// SubmitFunc adapts a function to Submitter.
type SubmitFunc func(ctx context.Context, s Submission) (Approval, error)

// Submit implements Submitter.
func (f SubmitFunc) Submit(ctx context.Context, s Submission) (Approval, error) { return f(ctx, s) }

// releaser submits straight to a Releaser (the outbox): nothing waits.
type releaser struct{ Releaser }

func (r releaser) Submit(ctx context.Context, s Submission) (Approval, error) {
	a, err := r.Release(ctx, s.Content, s.Blobs, s.OfficerKey)
	if err != nil {
		return Approval{}, err
	}
	return Approval{RecordID: a.ID, Seq: a.Seq}, nil
}

// Workflow starts sessions and closes them by approval or rejection.
type Workflow struct {
	Officers *officer.Registry
	Audit    *audit.Log
	Out      Releaser
	Policy   FingerPolicy
	Now      func() time.Time
}

func (w *Workflow) now() time.Time {
	if w.Now == nil {
		return time.Now()
	}
	return w.Now()
}

// Start opens a session for the logged-in officer.
func (w *Workflow) Start(o officer.Officer) *Session {
	return &Session{officer: o, started: w.now()}
}

// Approve signs and releases the enrollment through w.Out. The officer's PIN is asked again
// here: it unlocks the officer's own key, which countersigns the record, so an approval cannot
// be made from an unattended logged-in screen.
func (w *Workflow) Approve(ctx context.Context, s *Session, pin string) (*outbox.Appended, error) {
	if w.Out == nil {
		return nil, errors.New("approve: no releaser configured")
	}
	a, err := w.ApproveTo(ctx, s, pin, releaser{w.Out})
	if err != nil {
		return nil, err
	}
	return &outbox.Appended{ID: a.RecordID, Seq: a.Seq}, nil
}

// ApproveTo signs the enrollment with the officer's key (the PIN is asked again) and hands it,
// with its exceptions, to sub: the review queue releases it or keeps it for the supervisor.
// The session closes once sub has taken it; the audit entry record.approve names the record
// (released) or the review item (pending).
func (w *Workflow) ApproveTo(ctx context.Context, s *Session, pin string, sub Submitter) (Approval, error) {
	if ps := s.Problems(w.Policy); len(ps) > 0 {
		texts := make([]string, len(ps))
		for i, p := range ps {
			texts[i] = p.Text
		}
		return Approval{}, fmt.Errorf("cannot approve yet: %s", strings.Join(texts, "; "))
	}
	key, err := w.Officers.UnlockSigningKey(ctx, s.officer.ID, pin)
	if err != nil {
		return Approval{}, fmt.Errorf("approve: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Approval{}, ErrClosed
	}
	c, blobs, excs := s.content(key.Public().(ed25519.PublicKey))
	a, err := sub.Submit(ctx, Submission{Content: c, Blobs: blobs, OfficerKey: key, Exceptions: excs})
	if err != nil {
		return Approval{}, fmt.Errorf("approve: release: %w", err)
	}
	s.closed = true
	entry := audit.Entry{Actor: s.officer.ID, Action: "record.approve", Subject: a.RecordID}
	if a.Pending {
		entry.Subject, entry.Detail = a.ItemID, "pending review: "+strings.Join(a.Why, ",")
	}
	if _, err := w.Audit.Append(ctx, entry); err != nil {
		return a, fmt.Errorf("approve: record handed on as %s, but the audit entry failed: %w", entry.Subject, err)
	}
	return a, nil
}

// Rejection reasons: codes, not free text, so the audit log holds no personal data.
var RejectReasons = []string{"chip-not-genuine", "face-mismatch", "liveness-failed", "duplicate", "citizen-withdrew", "documents-incomplete", "other"}

// Reject closes the enrollment without a record; nothing is released, so no sequence is used.
func (w *Workflow) Reject(ctx context.Context, s *Session, reason string) error {
	if !slices.Contains(RejectReasons, reason) {
		return fmt.Errorf("rejection reason %q unknown (one of %s)", reason, strings.Join(RejectReasons, ", "))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if _, err := w.Audit.Append(ctx, audit.Entry{Actor: s.officer.ID, Action: "enrollment.reject", Detail: reason}); err != nil {
		return fmt.Errorf("reject: %w", err)
	}
	return nil
}
