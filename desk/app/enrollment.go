package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"enrolldesk/biometric/face/liveness"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/ops"
	"enrolldesk/reader"
	"enrolldesk/reader/faceimg"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pa"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

// FaceCapturer takes the live face and compares it 1:1 with the chip photo (biometric/face).
//
// Capture with chipPhoto == nil has no reference: it runs the same liveness challenge, quality
// gate and previews, and describes the live face only (an officer's own enrollment for the
// operator check). Score, Threshold and Decision are then zero and empty, and Alternates holds
// the face under each other calibrated engine of the desk.
type FaceCapturer interface {
	Status(ctx context.Context) DeviceStatus
	Capture(ctx context.Context, chipPhoto []byte) (enroll.Face, error)
}

// FingerCapturer captures one finger on the sensor (biometric/finger) and extracts its template.
type FingerCapturer interface {
	Status(ctx context.Context) DeviceStatus
	Capture(ctx context.Context, position int) (enroll.Finger, error)
}

// EvidenceCamera takes one still photo (JPEG) with the desk camera: the evidence photo of the
// hand when a finger is declared missing, bandaged or unreadable (desk/exceptions). The desk's
// camera (desk/wire.CameraFace) provides it; a FaceCapturer that also implements it is used
// when Options.Evidence is nil.
type EvidenceCamera interface {
	Snapshot(ctx context.Context) ([]byte, error)
}

// Deduper searches the desk's galleries 1:N (biometric/index).
type Deduper interface {
	Search(ctx context.Context, face enroll.Face, fingers []enroll.Finger) (record.Dedup, error)
}

// gallery is a Deduper that also learns approved enrollments (IndexDedup).
type gallery interface {
	Enrolled(ctx context.Context, recordID, citizenID string, face enroll.Face, fingers []enroll.Finger) error
}

// Enrollment steps, in wizard order.
const (
	StepCard    = "card"
	StepFace    = "face"
	StepFingers = "fingers"
	StepForm    = "form"
	StepReview  = "review"
	StepDone    = "done"
)

// ChipView is what the card step shows the officer: DG13's Vietnamese data, the chip photo and the
// authenticity verdict. It leaves the backend only for the window, never for logs.
type ChipView struct {
	IDNumber    string       `json:"idNumber"`
	FullName    string       `json:"fullName"`
	DateOfBirth string       `json:"dateOfBirth"` // dd/mm/yyyy
	Sex         string       `json:"sex"`
	Nationality string       `json:"nationality"`
	Ethnicity   string       `json:"ethnicity"`
	Origin      string       `json:"placeOfOrigin"`
	Residence   string       `json:"placeOfResidence"`
	IssueDate   string       `json:"dateOfIssue"`
	ExpiryDate  string       `json:"dateOfExpiry"`
	PhotoURL    string       `json:"photoUrl,omitempty"` // data: URL of the chip photo (JPEG)
	Verdict     VerdictView  `json:"verdict"`
	Minor       bool         `json:"minor"` // under 14 today: a representative is required
	Checks      []CheckView  `json:"checks"`
	Access      string       `json:"access"`
	APDUs       int          `json:"apdus"`
	Refusal     *RefusalView `json:"refusal,omitempty"`
}

// VerdictView is the chip verdict in the record's words (pass, fail, absent).
type VerdictView struct {
	PA string `json:"pa"`
	AA string `json:"aa"`
	CA string `json:"ca"`
	// Genuine is true when passive authentication passed and nothing failed.
	Genuine bool `json:"genuine"`
}

// CheckView is one check of the chip verdict.
type CheckView struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// RefusalView says why the workflow refused a chip it could read.
type RefusalView struct {
	Code string `json:"code"`
}

// FingerView is one finger's outcome, without the image or template.
type FingerView struct {
	Position  int    `json:"position"`
	Quality   int    `json:"quality,omitempty"`
	Decision  string `json:"decision,omitempty"`
	Exception string `json:"exception,omitempty"`
	// EvidenceURL is a declared exception's evidence photo as a data: URL (JPEG); it lives only
	// in the open enrollment's view.
	EvidenceURL string `json:"evidenceUrl,omitempty"`
	// ImageURL is the captured sensor image as a data: URL (PNG), for the officer to see what the
	// quality figure is about; it lives only in the open enrollment's view.
	ImageURL string `json:"imageUrl,omitempty"`
}

// FaceView is the face step's outcome, without the portrait's bytes.
type FaceView struct {
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	Decision  string  `json:"decision"`
	Liveness  string  `json:"liveness"`
	Reviewed  bool    `json:"reviewed"`
	// PortraitURL is the captured token portrait as a data: URL (JPEG); it lives only in the
	// open enrollment's view.
	PortraitURL string `json:"portraitUrl,omitempty"`
}

// FormInput is the application form as the window sends it.
type FormInput struct {
	Mobile             string   `json:"mobile"`
	Email              string   `json:"email"`
	Documents          []string `json:"documents"`
	HasRepresentative  bool     `json:"hasRepresentative"`
	RepresentativeID   string   `json:"representativeId"`
	RepresentativeName string   `json:"representativeName"`
	RepresentativeTel  string   `json:"representativeMobile"`
	Relation           string   `json:"relation"`
	Consent            bool     `json:"consent"`
}

// Device timeouts: a device that stops answering ends the call with a "timeout" fault naming
// it, so the wizard never waits forever.
var (
	CardTimeout   = 30 * time.Second
	FaceTimeout   = 60 * time.Second
	FingerTimeout = 90 * time.Second
	// EvidenceTimeout bounds taking an exception's evidence photo (timeouts.camera).
	EvidenceTimeout = 10 * time.Second
)

// CodeFaceQuality answers a face capture in which no frame passed the ICAO quality gate (face
// too small, turned, covered, badly lit): the citizen must sit closer and look straight.
const CodeFaceQuality = "face_quality"

// faceQualityGate is how biometric/face's ErrNoCapture reads ("no frame passed the quality
// gate: <the first failed check's advice>"); the capturer (desk/wire, cgo) is not imported here.
const faceQualityGate = "no frame passed the quality gate"

// ConsentVersion names the consent text the window shows (Decree 13/2023 art. 11).
const ConsentVersion = "vi-2026-11"

// Documents a citizen may ask to integrate into the e-ID (Decree 69/2024 art. 10 §1 c).
var Documents = []string{"health-insurance", "driving-licence", "social-insurance", "tax-code", "birth-certificate", "marriage-certificate"}

// ProblemView is one thing that blocks approval, with the code the window translates.
type ProblemView struct {
	Step string `json:"step"`
	Code string `json:"code"`
}

// EnrollmentView is the whole wizard state the window draws.
type EnrollmentView struct {
	Active   bool          `json:"active"`
	Step     string        `json:"step"`
	Chip     *ChipView     `json:"chip,omitempty"`
	Face     *FaceView     `json:"face,omitempty"`
	Fingers  []FingerView  `json:"fingers"`
	Form     *FormInput    `json:"form,omitempty"`
	Problems []ProblemView `json:"problems"`
	Dedup    *DedupView    `json:"dedup,omitempty"`
	RecordID string        `json:"recordId,omitempty"`
	Seq      uint64        `json:"seq,omitempty"`
	Rejected string        `json:"rejected,omitempty"`
	// Pending: the approved record waits for the supervisor's review (desk/review) before it
	// is released to the outbox; ItemID names it in the review queue, PendingWhy says why
	// ("policy", "exceptions", "flag:<check>").
	Pending    bool     `json:"pending,omitempty"`
	ItemID     string   `json:"itemId,omitempty"`
	PendingWhy []string `json:"pendingWhy,omitempty"`
	// FingerErrors are the desk's finger-count policy's per-finger errors for what was captured
	// and declared so far (desk/exceptions.Validate through Ops.ValidateFingers); approval waits
	// until there are none.
	FingerErrors []exceptions.FingerError `json:"fingerErrors,omitempty"`
}

// DedupView is the outcome of the 1:N de-duplication search against the desk's galleries: the
// decision ("unique", "duplicate", "review"), how many enrollments were searched and how many
// came close. It names no one: candidates stay record ids in the record.
type DedupView struct {
	Decision    string `json:"decision"`
	GallerySize int    `json:"gallerySize"`
	Candidates  int    `json:"candidates"`
}

// CardProgress is the EventCard payload while a chip is read.
type CardProgress struct {
	File    string `json:"file"`
	Read    int    `json:"read"`
	Total   int    `json:"total"`
	Percent int    `json:"percent"`
}

// Enrollment is the bound service of the enrollment wizard: one citizen at a time, driving
// desk/enroll's workflow with the desk's devices.
type Enrollment struct {
	session  *Session
	officers *officer.Registry
	wf       *enroll.Workflow
	card     CardReader
	face     FaceCapturer
	finger   FingerCapturer
	dedup    Deduper
	events   Emitter
	now      func() time.Time
	// ops routes approvals through the review queue and checks the freeze rules before a new
	// enrollment (set by Open); nil in a build without desk operations.
	ops *Ops
	// evidence photographs the hand of a declared finger exception (set by Open).
	evidence EvidenceCamera

	mu         sync.Mutex
	cur        *enroll.Session
	view       EnrollmentView
	chipPhoto  []byte
	faceRes    *enroll.Face
	fingers    []enroll.Finger
	exceptions []enroll.FingerException
}

func (e *Enrollment) ctx() context.Context { return e.session.context() }

// require returns the logged-in officer's account.
func (e *Enrollment) require(ctx context.Context) (officer.Officer, error) {
	o, err := e.session.current()
	if err != nil {
		return officer.Officer{}, err
	}
	if e.officers == nil || e.wf == nil {
		return officer.Officer{}, coded(CodeUnavailable, errors.New("enrollment workflow not wired"), nil)
	}
	acc, err := e.officers.Get(ctx, o.ID)
	if err != nil {
		return officer.Officer{}, fmt.Errorf("officer account: %w", err)
	}
	return acc, nil
}

func (e *Enrollment) active() (*enroll.Session, error) {
	if e.cur == nil {
		return nil, coded(CodeConflict, errors.New("no enrollment in progress"), nil)
	}
	return e.cur, nil
}

// snapshot refreshes the problems and copies the view. Caller holds e.mu.
func (e *Enrollment) snapshot() EnrollmentView {
	v := e.view
	v.Problems = []ProblemView{}
	if e.cur != nil && v.Step != StepDone {
		for _, p := range e.cur.Problems(e.wf.Policy) {
			v.Problems = append(v.Problems, ProblemView{Step: p.Step, Code: p.Code})
		}
	}
	v.Fingers = slices.Clone(e.view.Fingers)
	if v.Fingers == nil {
		v.Fingers = []FingerView{}
	}
	if e.cur != nil && v.Step != StepDone && len(e.fingers)+len(e.exceptions) > 0 {
		if r, err := e.validateFingers(e.ctx()); err != nil {
			slog.Warn("finger policy not checked", "err", err)
		} else {
			v.FingerErrors = r.Errors
		}
	}
	return v
}

// validateFingers checks what was captured and declared against the desk's finger-count policy
// (Ops.ValidateFingers); without desk operations there is nothing to check here (the workflow's
// own FingerPolicy still blocks approval). Caller holds e.mu.
func (e *Enrollment) validateFingers(ctx context.Context) (exceptions.Result, error) {
	if !e.ops.wired() {
		return exceptions.Result{}, nil
	}
	caps := make([]exceptions.Capture, len(e.fingers))
	for i, f := range e.fingers {
		caps[i] = exceptions.Capture{Position: f.Position, Quality: f.Quality}
	}
	decl := make([]exceptions.Exception, 0, len(e.exceptions))
	for _, x := range e.exceptions {
		d := exceptions.Exception{Position: x.Position, Reason: exceptions.Reason(x.Reason)}
		if len(x.Photo) > 0 {
			d.Evidence = exceptions.EvidenceRef(x.Photo)
		}
		decl = append(decl, d)
	}
	return e.ops.svc.ValidateFingers(ctx, caps, decl)
}

// Current returns the wizard state (inactive when no enrollment is open).
func (e *Enrollment) Current() Response {
	if _, err := e.session.current(); err != nil {
		return fail("Enrollment.Current", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return ok(e.snapshot())
}

// Start opens a new enrollment for the logged-in officer, dropping an unfinished one that has
// no card yet (one with a card must be rejected with a reason, so the audit log tells).
func (e *Enrollment) Start() Response {
	ctx := e.ctx()
	o, err := e.require(ctx)
	if err != nil {
		return fail("Enrollment.Start", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil && e.view.Chip != nil && e.view.Step != StepDone {
		return fail("Enrollment.Start", coded(CodeConflict, errors.New("finish or reject the enrollment in progress first"), nil))
	}
	if e.ops.wired() {
		// The registry's freeze rules (desk/freeze): too many records waiting, no sync for too
		// long, an old trust store or build stop new enrollments until what lifts them is done.
		if err := e.ops.svc.AllowEnrollment(ctx, o.ID); err != nil {
			return fail("Enrollment.Start", frozenFault(err))
		}
	}
	e.cur = e.wf.Start(o)
	e.view = EnrollmentView{Active: true, Step: StepCard}
	e.chipPhoto, e.faceRes, e.fingers, e.exceptions = nil, nil, nil, nil
	return ok(e.snapshot())
}

// ReadCard reads and proves the citizen's chip with the typed access key. Progress arrives as
// EventCard events while the chip is read.
func (e *Enrollment) ReadCard(key CardKey) Response {
	ctx := e.ctx()
	if _, err := e.require(ctx); err != nil {
		return fail("Enrollment.ReadCard", err)
	}
	ak, err := key.AccessKey()
	if err != nil {
		return fail("Enrollment.ReadCard", err)
	}
	e.mu.Lock()
	s, err := e.active()
	e.mu.Unlock()
	if err != nil {
		return fail("Enrollment.ReadCard", err)
	}
	if e.card == nil {
		return fail("Enrollment.ReadCard", coded(CodeDeviceMissing, errors.New("no card reader configured"), map[string]string{"device": "reader"}))
	}
	progress := func(file string, read, total int) {
		pct := 0
		if total > 0 {
			pct = read * 100 / total
		}
		e.events.Emit(EventCard, CardProgress{File: file, Read: read, Total: total, Percent: pct})
	}
	start := e.now()
	rctx, cancel := context.WithTimeout(ctx, CardTimeout)
	defer cancel()
	data, verdict, err := e.card.Read(rctx, ak, progress)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = coded(CodeTimeout, err, map[string]string{"device": "reader"})
	}
	if err != nil {
		slog.Info("card read failed", "err", err)
		e.ops.deviceFault(ctx, ops.DeviceCard, "card read", err)
		return fail("Enrollment.ReadCard", err)
	}
	slog.Info("card read", "apdus", data.APDUs, "ms", e.now().Sub(start).Milliseconds(), "genuine", verdict.Genuine())
	chip, view := chipFrom(data, verdict, e.now())
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := s.SetChip(chip); err != nil {
		view.Refusal = &RefusalView{Code: refusalCode(err)}
		e.view.Chip = &view
		return fail("Enrollment.ReadCard", coded(CodeChipRefused, err, map[string]string{"reason": view.Refusal.Code}))
	}
	e.chipPhoto = chip.Photo
	e.view.Chip = &view
	e.view.Face, e.view.Fingers, e.view.Form, e.view.Dedup = nil, nil, nil, nil
	e.faceRes, e.fingers, e.exceptions = nil, nil, nil
	// The wizard stays on the card step so the officer reads the chip data and verdict first.
	e.view.Step = StepCard
	return ok(e.snapshot())
}

func refusalCode(err error) string {
	switch {
	case errors.Is(err, enroll.ErrChipNotProven):
		return "pa"
	case strings.Contains(err.Error(), "active or chip authentication"):
		return "clone"
	default:
		return "id"
	}
}

// chipFrom maps the reader's output to the workflow's Chip and the window's view.
func chipFrom(d *reader.ChipData, v *pa.Verdict, now time.Time) (enroll.Chip, ChipView) {
	c := enroll.Chip{DG1: d.Files[1], DG13: d.Files[13], SOD: d.RawSOD}
	view := ChipView{APDUs: d.APDUs, Access: "BAC"}
	if ac, found := v.Get(pa.CheckAccessControl); found && strings.HasPrefix(ac.Reason, "PACE") {
		view.Access = "PACE"
	}
	if d.MRZ != nil {
		c.Sex = d.MRZ.Sex
		c.FullName = d.MRZ.Name
		if t, err := time.Parse("060102", d.MRZ.DateOfBirth); err == nil {
			// YYMMDD has no century: a birth date is never in the future (ICAO 9303 part 3 §4.1).
			if t.After(now) {
				t = t.AddDate(-100, 0, 0)
			}
			c.DateOfBirth = t
		}
	}
	if vn := d.VN; vn != nil {
		c.IDNumber, c.FullName = vn.IDNumber, vn.FullName
		if t, err := time.Parse("02/01/2006", vn.DateOfBirth); err == nil {
			c.DateOfBirth = t
		}
		view.IDNumber, view.FullName, view.Sex = vn.IDNumber, vn.FullName, vn.Sex
		view.Nationality, view.Ethnicity = vn.Nationality, vn.Ethnicity
		view.Origin, view.Residence = vn.PlaceOfOrigin, vn.PlaceOfResidence
		view.IssueDate, view.ExpiryDate = vn.DateOfIssue, vn.DateOfExpiry
	}
	if !c.DateOfBirth.IsZero() {
		view.DateOfBirth = c.DateOfBirth.Format("02/01/2006")
		view.Minor = enroll.AgeOn(c.DateOfBirth, now) < enroll.MinorAge
	}
	if len(d.Faces) > 0 {
		c.Photo = d.Faces[0].Image
		view.PhotoURL = photoURL(&d.Faces[0])
	}
	c.Verdict = record.ChipVerdict{Access: view.Access, PA: record.Absent, AA: record.Absent, CA: record.Absent, DSCertID: v.DocumentSigner}
	switch {
	case v.PassiveOK():
		c.Verdict.PA = record.Pass
	case slices.ContainsFunc(v.Checks, func(ch pa.Check) bool { return ch.Status == pa.Failed }):
		c.Verdict.PA = record.Fail
	}
	status := func(name string) string {
		ch, found := v.Get(name)
		switch {
		case !found:
			return record.Absent
		case ch.Status == pa.Passed:
			return record.Pass
		case ch.Status == pa.Failed:
			return record.Fail
		}
		return record.Absent
	}
	c.Verdict.AA, c.Verdict.CA = status(pa.CheckActiveAuth), status(pa.CheckChipAuth)
	view.Verdict = VerdictView{PA: c.Verdict.PA, AA: c.Verdict.AA, CA: c.Verdict.CA, Genuine: v.Genuine()}
	for _, ch := range v.Checks {
		view.Checks = append(view.Checks, CheckView{Name: ch.Name, Status: string(ch.Status)})
	}
	return c, view
}

// photoURL is the chip portrait as a data: URL for the window's <img>: the chip's JPEG as it is,
// a JPEG 2000 portrait (ISO/IEC 19794-5 §5.7.2 image data type 1, which browsers and WebKitGTK
// do not decode) transcoded to JPEG by reader/faceimg; "" when it cannot be shown (the chip's
// bytes still go to the face comparison and the record unchanged).
func photoURL(f *lds.Face) string {
	b := f.Image
	switch {
	case f.IsJPEG2000():
		var err error
		if b, err = faceimg.ToJPEG(f); err != nil {
			slog.Warn("chip photo not shown", "err", err)
			return ""
		}
	case f.ImageDataType != lds.ImageJPEG:
		return ""
	}
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b)
}

// CaptureFace takes the live face and compares it with the chip photo.
func (e *Enrollment) CaptureFace() Response {
	ctx := e.ctx()
	if _, err := e.require(ctx); err != nil {
		return fail("Enrollment.CaptureFace", err)
	}
	e.mu.Lock()
	s, err := e.active()
	photo := e.chipPhoto
	switch {
	case err != nil:
	case e.view.Chip == nil:
		err = coded(CodeConflict, enroll.ErrNoChip, nil)
	case len(photo) == 0:
		// A nil photo means "no reference" to the capturer (an officer's own enrollment): a
		// citizen's face is always compared with the chip's, so a chip without a usable photo
		// stops here, before the citizen goes through the liveness challenge for nothing.
		err = coded(CodeConflict, errors.New("the chip holds no face photo the desk can compare the live face with"), nil)
	}
	e.mu.Unlock()
	if err != nil {
		return fail("Enrollment.CaptureFace", err)
	}
	f, err := captureFace(ctx, e.face, e.events, photo)
	if err != nil {
		e.ops.deviceFault(ctx, ops.DeviceCamera, "face capture", err)
		return fail("Enrollment.CaptureFace", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := s.SetFace(f); err != nil {
		return fail("Enrollment.CaptureFace", coded(CodeConflict, err, nil))
	}
	e.faceRes = &f
	e.view.Dedup = nil // the workflow dropped the search's result: it runs again after the fingers
	// The token portrait (ISO/IEC 19794-5, JPEG) beside the chip photo, for the officer's eye.
	e.view.Face = &FaceView{Score: f.Score, Threshold: f.Threshold, Decision: f.Decision, Liveness: f.Liveness, PortraitURL: portraitURL(f)}
	// The wizard stays on the face step so the officer sees both faces, the liveness verdict and
	// the score before going on (as the card step does with the chip's verdict).
	return ok(e.snapshot())
}

// captureFace is the face capture of the wizard and of an officer's onboarding: the liveness
// prompts around the capturer's call (its previews go out through the capturer itself), the
// face timeout, and the faults the window translates. chipPhoto nil asks for no 1:1 comparison
// (FaceCapturer).
func captureFace(ctx context.Context, fc FaceCapturer, events Emitter, chipPhoto []byte) (enroll.Face, error) {
	if fc == nil {
		return enroll.Face{}, coded(CodeDeviceMissing, errors.New("no camera configured"), map[string]string{"device": "camera"})
	}
	fctx, cancel := context.WithTimeout(ctx, FaceTimeout)
	defer cancel()
	events.Emit(EventFace, FacePrompt{Phase: FacePhaseLiveness, Steps: livenessSteps(fc), Step: -1})
	f, err := fc.Capture(fctx, chipPhoto)
	events.Emit(EventFace, FacePrompt{Phase: FacePhaseDone, Step: -1})
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		err = coded(CodeTimeout, err, map[string]string{"device": "camera"})
	case err != nil && strings.Contains(err.Error(), faceQualityGate):
		err = coded(CodeFaceQuality, err, nil)
	}
	if err != nil {
		return enroll.Face{}, fmt.Errorf("capture face: %w", err)
	}
	return f, nil
}

// portraitURL is the captured token portrait as a data: URL for the window ("" without one).
func portraitURL(f enroll.Face) string {
	if len(f.Portrait) == 0 {
		return ""
	}
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(f.Portrait)
}

// livenessSteps names the challenge the capturer runs.
func livenessSteps(f FaceCapturer) []string {
	if t, ok := f.(LivenessTeller); ok {
		return t.LivenessSteps()
	}
	var out []string
	for _, d := range liveness.Default().Steps {
		out = append(out, string(d))
	}
	return out
}

// ConfirmFaceReview records the officer's own comparison of a borderline face result.
func (e *Enrollment) ConfirmFaceReview() Response {
	if _, err := e.require(e.ctx()); err != nil {
		return fail("Enrollment.ConfirmFaceReview", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.active()
	if err == nil {
		err = s.ConfirmFaceReview()
	}
	if err != nil {
		return fail("Enrollment.ConfirmFaceReview", coded(CodeConflict, err, nil))
	}
	if e.view.Face != nil {
		e.view.Face.Reviewed = true
	}
	e.view.Step = StepFingers
	return ok(e.snapshot())
}

// CaptureFinger captures the finger at ISO/IEC 19794-2 position (1 right thumb … 10 left little).
func (e *Enrollment) CaptureFinger(position int) Response {
	ctx := e.ctx()
	if _, err := e.require(ctx); err != nil {
		return fail("Enrollment.CaptureFinger", err)
	}
	if position < 1 || position > 10 {
		return fail("Enrollment.CaptureFinger", invalid("position", fmt.Errorf("finger position %d out of 1..10", position)))
	}
	e.mu.Lock()
	_, err := e.active()
	if err == nil && e.view.Chip == nil {
		err = coded(CodeConflict, enroll.ErrNoChip, nil)
	}
	e.mu.Unlock()
	if err != nil {
		return fail("Enrollment.CaptureFinger", err)
	}
	f, err := captureFinger(ctx, e.finger, position)
	if err != nil {
		e.ops.deviceFault(ctx, ops.DeviceSensor, "finger capture", err)
		return fail("Enrollment.CaptureFinger", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	fingers := slices.DeleteFunc(slices.Clone(e.fingers), func(x enroll.Finger) bool { return x.Position == position })
	fingers = append(fingers, f)
	exc := slices.DeleteFunc(slices.Clone(e.exceptions), func(x enroll.FingerException) bool { return x.Position == position })
	return e.setFingers(fingers, exc)
}

// captureFinger is the finger capture of the wizard and of an officer's onboarding, bounded by
// the finger timeout.
func captureFinger(ctx context.Context, fc FingerCapturer, position int) (enroll.Finger, error) {
	if fc == nil {
		return enroll.Finger{}, coded(CodeDeviceMissing, errors.New("no fingerprint sensor configured"), map[string]string{"device": "sensor"})
	}
	fctx, cancel := context.WithTimeout(ctx, FingerTimeout)
	defer cancel()
	f, err := fc.Capture(fctx, position)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = coded(CodeTimeout, err, map[string]string{"device": "sensor"})
	}
	if err != nil {
		return enroll.Finger{}, fmt.Errorf("capture finger %d: %w", position, err)
	}
	f.Position = position
	return f, nil
}

// fingerView is a captured finger as the window shows it, with its sensor image.
func fingerView(f enroll.Finger) FingerView {
	fv := FingerView{Position: f.Position, Quality: f.Quality, Decision: f.Decision}
	if isPNG(f.Image) {
		fv.ImageURL = "data:image/png;base64," + base64.StdEncoding.EncodeToString(f.Image)
	}
	return fv
}

// DeclareFingerException records that a finger cannot be captured ("missing", "bandaged",
// "unreadable"), with the evidence photo of the hand the desk camera takes now: the photo travels
// in the signed record (exceptions.Declare) and the supervisor sees it at review.
func (e *Enrollment) DeclareFingerException(position int, reason string) Response {
	ctx := e.ctx()
	if _, err := e.require(ctx); err != nil {
		return fail("Enrollment.DeclareFingerException", err)
	}
	if position < 1 || position > 10 {
		return fail("Enrollment.DeclareFingerException", invalid("position", fmt.Errorf("finger position %d out of 1..10", position)))
	}
	if !slices.Contains(exceptions.Reasons, exceptions.Reason(reason)) {
		return fail("Enrollment.DeclareFingerException", invalid("reason", fmt.Errorf("unknown exception reason %q", reason)))
	}
	e.mu.Lock()
	_, err := e.active()
	if err == nil && e.view.Chip == nil {
		err = coded(CodeConflict, enroll.ErrNoChip, nil)
	}
	e.mu.Unlock()
	if err != nil {
		return fail("Enrollment.DeclareFingerException", err)
	}
	if e.evidence == nil {
		return fail("Enrollment.DeclareFingerException", coded(CodeDeviceMissing, errors.New("no camera for the evidence photo"), map[string]string{"device": "camera"}))
	}
	pctx, cancel := context.WithTimeout(ctx, EvidenceTimeout)
	photo, err := e.evidence.Snapshot(pctx)
	cancel()
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		err = coded(CodeTimeout, err, map[string]string{"device": "camera"})
	case err == nil && !isJPEG(photo):
		err = errors.New("the camera's evidence photo is not a JPEG image")
	}
	if err != nil {
		e.ops.deviceFault(ctx, ops.DeviceCamera, "evidence photo", err)
		return fail("Enrollment.DeclareFingerException", fmt.Errorf("evidence photo: %w", err))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.active(); err != nil {
		return fail("Enrollment.DeclareFingerException", err)
	}
	fingers := slices.DeleteFunc(slices.Clone(e.fingers), func(x enroll.Finger) bool { return x.Position == position })
	exc := slices.DeleteFunc(slices.Clone(e.exceptions), func(x enroll.FingerException) bool { return x.Position == position })
	exc = append(exc, enroll.FingerException{Position: position, Reason: reason, Photo: photo})
	return e.setFingers(fingers, exc)
}

// isJPEG reports whether b starts with a JPEG SOI marker (ISO/IEC 10918-1 B.1.1.3: FFD8) followed by
// another marker.
func isJPEG(b []byte) bool { return len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF }

// isPNG reports whether b starts with the PNG signature (the sensor images are PNG).
func isPNG(b []byte) bool { return len(b) > 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n" }

// setFingers hands the fingers to the workflow and refreshes the view. Caller holds e.mu.
func (e *Enrollment) setFingers(fingers []enroll.Finger, exc []enroll.FingerException) Response {
	if err := e.cur.SetFingers(fingers, exc); err != nil {
		return fail("Enrollment.setFingers", coded(CodeConflict, err, nil))
	}
	e.fingers, e.exceptions = fingers, exc
	e.view.Fingers, e.view.Dedup = nil, nil
	for _, f := range fingers {
		e.view.Fingers = append(e.view.Fingers, fingerView(f))
	}
	for _, x := range exc {
		fv := FingerView{Position: x.Position, Exception: x.Reason}
		if len(x.Photo) > 0 {
			fv.EvidenceURL = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(x.Photo)
		}
		e.view.Fingers = append(e.view.Fingers, fv)
	}
	slices.SortFunc(e.view.Fingers, func(a, b FingerView) int { return a.Position - b.Position })
	return ok(e.snapshot())
}

// FingersDone runs the de-duplication search and moves on to the form.
func (e *Enrollment) FingersDone() Response {
	ctx := e.ctx()
	if _, err := e.require(ctx); err != nil {
		return fail("Enrollment.FingersDone", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.active()
	if err != nil {
		return fail("Enrollment.FingersDone", err)
	}
	if e.dedup != nil && e.faceRes != nil {
		d, err := e.dedup.Search(ctx, *e.faceRes, e.fingers)
		if err != nil {
			return fail("Enrollment.FingersDone", fmt.Errorf("de-duplication: %w", err))
		}
		if err := s.SetDedup(d); err != nil {
			return fail("Enrollment.FingersDone", err)
		}
		e.view.Dedup = &DedupView{Decision: d.Decision, GallerySize: d.GallerySize, Candidates: len(d.Candidates)}
	}
	e.view.Step = StepForm
	return ok(e.snapshot())
}

// Goto moves the wizard to an earlier step (or to a later one already reached).
func (e *Enrollment) Goto(step string) Response {
	if _, err := e.require(e.ctx()); err != nil {
		return fail("Enrollment.Goto", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.active(); err != nil {
		return fail("Enrollment.Goto", err)
	}
	if !slices.Contains([]string{StepCard, StepFace, StepFingers, StepForm, StepReview}, step) || e.view.Step == StepDone {
		return fail("Enrollment.Goto", invalid("step", fmt.Errorf("cannot go to step %q", step)))
	}
	if step != StepCard && e.view.Chip == nil {
		return fail("Enrollment.Goto", coded(CodeConflict, enroll.ErrNoChip, nil))
	}
	e.view.Step = step
	return ok(e.snapshot())
}

// SubmitForm checks and records the application form and consent, then moves to review.
func (e *Enrollment) SubmitForm(f FormInput) Response {
	if _, err := e.require(e.ctx()); err != nil {
		return fail("Enrollment.SubmitForm", err)
	}
	if _, err := enroll.NormalizeMobile(f.Mobile); err != nil {
		return fail("Enrollment.SubmitForm", invalid("mobile", err))
	}
	if _, err := enroll.NormalizeEmail(f.Email); err != nil {
		return fail("Enrollment.SubmitForm", invalid("email", err))
	}
	for _, d := range f.Documents {
		if !slices.Contains(Documents, d) {
			return fail("Enrollment.SubmitForm", invalid("documents", fmt.Errorf("unknown document %q", d)))
		}
	}
	in := enroll.Form{Mobile: f.Mobile, Email: f.Email, Documents: f.Documents, Consent: f.Consent, ConsentVersion: ConsentVersion}
	if f.HasRepresentative {
		if err := enroll.CheckCitizenID(f.RepresentativeID, time.Time{}, ""); err != nil {
			return fail("Enrollment.SubmitForm", invalid("representativeId", err))
		}
		if _, err := enroll.NormalizeMobile(f.RepresentativeTel); err != nil {
			return fail("Enrollment.SubmitForm", invalid("representativeMobile", err))
		}
		in.Representative = &record.Representative{IDNumber: f.RepresentativeID, Name: f.RepresentativeName,
			Mobile: f.RepresentativeTel, Relation: f.Relation}
	}
	if !f.Consent {
		return fail("Enrollment.SubmitForm", invalid("consent", errors.New("the citizen's consent is required")))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.active()
	if err != nil {
		return fail("Enrollment.SubmitForm", err)
	}
	if err := s.SetForm(in, e.now()); err != nil {
		field := "form"
		switch {
		case errors.Is(err, enroll.ErrNoChip):
			return fail("Enrollment.SubmitForm", coded(CodeConflict, err, nil))
		case strings.Contains(err.Error(), "under"):
			field = "representative"
		case strings.Contains(err.Error(), "representative"):
			field = "representativeId"
		}
		return fail("Enrollment.SubmitForm", invalid(field, err))
	}
	form := f
	e.view.Form = &form
	e.view.Step = StepReview
	return ok(e.snapshot())
}

// Approve signs the record with the officer's key (the PIN is asked again) and hands it on:
// through the review queue when desk operations are wired (released at once, or kept for the
// supervisor when the desk's policy, an exception or the operator check asks for it), else
// straight to the outbox.
func (e *Enrollment) Approve(pin string) Response {
	ctx := e.ctx()
	o, err := e.require(ctx)
	if err != nil {
		return fail("Enrollment.Approve", err)
	}
	e.mu.Lock()
	s, err := e.active()
	var c candidate
	if err == nil && e.view.Chip != nil {
		c.CitizenID = e.view.Chip.IDNumber
		if e.faceRes != nil {
			c.Face = *e.faceRes
		}
		c.Fingers = slices.Clone(e.fingers)
	}
	e.mu.Unlock()
	if err != nil {
		return fail("Enrollment.Approve", err)
	}
	if ps := s.Problems(e.wf.Policy); len(ps) > 0 {
		return fail("Enrollment.Approve", coded(CodeConflict, fmt.Errorf("%d problems block approval", len(ps)), nil))
	}
	var a enroll.Approval
	if e.ops.wired() {
		// Checked before the PIN: a locked desk must not count as a failed PIN attempt.
		if err := e.ops.queueReady(); err != nil {
			return fail("Enrollment.Approve", err)
		}
		e.mu.Lock()
		fr, ferr := e.validateFingers(ctx)
		e.mu.Unlock()
		if ferr != nil {
			return fail("Enrollment.Approve", ferr)
		}
		if !fr.OK() {
			return fail("Enrollment.Approve", coded(CodeConflict, fr.Err(), nil))
		}
		a, err = e.wf.ApproveTo(ctx, s, pin, enroll.SubmitFunc(func(ctx context.Context, sub enroll.Submission) (enroll.Approval, error) {
			return e.ops.submit(ctx, o.ID, sub, c)
		}))
	} else {
		if e.wf.Out == nil {
			return fail("Enrollment.Approve", coded(CodeDeskLocked, errors.New("the desk keys are locked"), nil))
		}
		var app *outbox.Appended
		if app, err = e.wf.Approve(ctx, s, pin); err == nil {
			a = enroll.Approval{RecordID: app.ID, Seq: app.Seq}
		}
	}
	var locked *officer.LockedError
	switch {
	case errors.As(err, &locked):
		return fail("Enrollment.Approve", coded(CodeLocked, err, map[string]string{"until": locked.Until.UTC().Format(time.RFC3339)}))
	case errors.Is(err, officer.ErrBadCredentials):
		return fail("Enrollment.Approve", coded(CodeWrongPIN, err, nil))
	case err != nil:
		return fail("Enrollment.Approve", err)
	}
	if a.Pending {
		slog.Info("record approved, waiting for review", "item", a.ItemID, "why", strings.Join(a.Why, ","))
	} else {
		slog.Info("record approved", "record", a.RecordID, "seq", a.Seq)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if g, ok := e.dedup.(gallery); ok && !e.ops.wired() && e.view.Chip != nil {
		// Without the review queue the record is released now (with it, Ops.submit adds released
		// records and keeps pending ones until the supervisor decides). The record is signed and
		// queued whatever happens here; a gallery that missed it only weakens later searches.
		if err := g.Enrolled(ctx, a.RecordID, c.CitizenID, c.Face, c.Fingers); err != nil {
			slog.Warn("approved enrollment not added to the de-duplication galleries", "record", a.RecordID, "err", err)
		}
	}
	e.view.Step, e.view.RecordID, e.view.Seq = StepDone, a.RecordID, a.Seq
	e.view.Pending, e.view.ItemID, e.view.PendingWhy = a.Pending, a.ItemID, a.Why
	e.events.Emit(EventQueue, nil)
	return ok(e.snapshot())
}

// Reject closes the enrollment without a record, with one of enroll.RejectReasons.
func (e *Enrollment) Reject(reason string) Response {
	ctx := e.ctx()
	if _, err := e.require(ctx); err != nil {
		return fail("Enrollment.Reject", err)
	}
	if !slices.Contains(enroll.RejectReasons, reason) {
		return fail("Enrollment.Reject", invalid("reason", fmt.Errorf("unknown rejection reason %q", reason)))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.active()
	if err != nil {
		return fail("Enrollment.Reject", err)
	}
	if err := e.wf.Reject(ctx, s, reason); err != nil {
		return fail("Enrollment.Reject", coded(CodeConflict, err, nil))
	}
	e.view.Step, e.view.Rejected = StepDone, reason
	return ok(e.snapshot())
}

// Close leaves a finished enrollment (approved or rejected), or one with no card read yet.
func (e *Enrollment) Close() Response {
	if _, err := e.session.current(); err != nil {
		return fail("Enrollment.Close", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil && e.view.Chip != nil && e.view.Step != StepDone {
		return fail("Enrollment.Close", coded(CodeConflict, errors.New("reject the enrollment with a reason to leave it"), nil))
	}
	e.cur, e.view = nil, EnrollmentView{}
	e.chipPhoto, e.faceRes, e.fingers, e.exceptions = nil, nil, nil, nil
	return ok(e.snapshot())
}
