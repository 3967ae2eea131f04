package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"enrolldesk/desk/enroll"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/opcheck"
	"enrolldesk/desk/ops"
	"enrolldesk/desk/store"
	"enrolldesk/sync/record"
)

// OfficerView is one account on the supervisor's officers screen (no key material).
type OfficerView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Disabled bool   `json:"disabled"`
	Created  string `json:"created"` // dd/mm/yyyy
	// Biometrics is the officer's own enrolled face and fingers for the operator check
	// (desk/opcheck); nil when none are enrolled or the desk has no desk operations.
	Biometrics *BiometricsView `json:"biometrics,omitempty"`
}

// BiometricsView says when and by whom an officer's biometrics were enrolled and what they hold
// (never a descriptor or a template).
type BiometricsView struct {
	Enrolled string `json:"enrolled"` // dd/mm/yyyy
	By       string `json:"by"`
	// Sealed: the desk is locked, so which engines and fingers the profile holds is not known.
	Sealed  bool     `json:"sealed,omitempty"`
	Engines []string `json:"engines,omitempty"` // the face engine of each enrolled face
	Fingers []int    `json:"fingers,omitempty"` // ISO/IEC 19794-2 positions
}

// NewOfficer is the supervisor's form for a new account.
type NewOfficer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
	PIN  string `json:"pin"`
}

// Officers is the bound service of the supervisor's officers screen, with the onboarding of an
// officer's own face and fingers for the operator check (issue 9: a supervisor enrolls them
// through the citizens' capture path when creating the account).
type Officers struct {
	session  *Session
	officers *officer.Registry
	face     FaceCapturer
	finger   FingerCapturer
	events   Emitter
	ops      *Ops // set by New once desk operations are built; the profiles are saved there

	mu  sync.Mutex
	onb *onboarding // the one onboarding open, or nil
}

// supervisor returns the logged-in supervisor or refuses.
func (o *Officers) supervisor() (Officer, error) {
	me, err := o.session.current()
	if err != nil {
		return Officer{}, err
	}
	if me.Role != RoleSupervisor {
		return Officer{}, coded(CodeForbidden, errors.New("supervisors only"), nil)
	}
	if o.officers == nil {
		return Officer{}, coded(CodeUnavailable, errors.New("officer accounts not wired"), nil)
	}
	return me, nil
}

// List returns every account.
func (o *Officers) List() Response {
	if _, err := o.supervisor(); err != nil {
		return fail("Officers.List", err)
	}
	list, err := o.officers.List(o.session.context())
	if err != nil {
		return fail("Officers.List", err)
	}
	bio, err := o.biometrics(o.session.context())
	if err != nil {
		return fail("Officers.List", err)
	}
	out := make([]OfficerView, 0, len(list))
	for _, a := range list {
		v := officerView(a)
		if s, found := bio[a.ID]; found {
			v.Biometrics = &BiometricsView{Enrolled: s.EnrolledAt.In(time.Local).Format("02/01/2006"), By: s.EnrolledBy,
				Sealed: s.Sealed, Engines: s.Engines, Fingers: s.Fingers}
		}
		out = append(out, v)
	}
	return ok(out)
}

// Create adds an officer or supervisor account with its PIN.
func (o *Officers) Create(n NewOfficer) Response {
	me, err := o.supervisor()
	if err != nil {
		return fail("Officers.Create", err)
	}
	switch {
	case !officerIDPattern.MatchString(n.ID):
		return fail("Officers.Create", invalid("officerId", errors.New("officer id must be 2-32 letters, digits, '.', '_' or '-'")))
	case len([]rune(n.Name)) < 2 || len([]rune(n.Name)) > 80:
		return fail("Officers.Create", invalid("name", errors.New("name must be 2-80 characters")))
	case !pinPattern.MatchString(n.PIN):
		return fail("Officers.Create", invalid("pin", errors.New("PIN must be 6-12 digits")))
	case n.Role != RoleOfficer && n.Role != RoleSupervisor:
		return fail("Officers.Create", invalid("role", fmt.Errorf("unknown role %q", n.Role)))
	}
	_, err = o.officers.Create(o.session.context(), me.ID, officer.New{ID: n.ID, Name: n.Name, Role: officer.Role(n.Role), PIN: n.PIN})
	if errors.Is(err, officer.ErrExists) {
		return fail("Officers.Create", invalid("officerId", err))
	}
	if err != nil {
		return fail("Officers.Create", fmt.Errorf("create officer: %w", err))
	}
	return o.List()
}

// Unlock lifts a lockout after wrong PINs.
func (o *Officers) Unlock(id string) Response {
	me, err := o.supervisor()
	if err != nil {
		return fail("Officers.Unlock", err)
	}
	if err := o.officers.Unlock(o.session.context(), me.ID, id); err != nil {
		return fail("Officers.Unlock", fmt.Errorf("unlock officer: %w", err))
	}
	return o.List()
}

// SetDisabled disables or re-enables an account (a supervisor cannot disable their own).
func (o *Officers) SetDisabled(id string, disabled bool) Response {
	me, err := o.supervisor()
	if err != nil {
		return fail("Officers.SetDisabled", err)
	}
	if id == me.ID && disabled {
		return fail("Officers.SetDisabled", coded(CodeConflict, errors.New("a supervisor cannot disable their own account"), nil))
	}
	if err := o.officers.SetDisabled(o.session.context(), me.ID, id, disabled); err != nil {
		return fail("Officers.SetDisabled", fmt.Errorf("disable officer: %w", err))
	}
	return o.List()
}

func officerView(a officer.Officer) OfficerView {
	return OfficerView{ID: a.ID, Name: a.Name, Role: string(a.Role), Disabled: a.Disabled,
		Created: a.CreatedAt.In(time.Local).Format("02/01/2006")}
}

// biometrics reads the officers' profile summaries: opened once the desk is unlocked (the
// profiles are sealed under the desk data key), who and when only before. A build without
// desk operations has none.
func (o *Officers) biometrics(ctx context.Context) (map[string]opcheck.Summary, error) {
	if !o.ops.wired() || o.ops.b == nil {
		return nil, nil
	}
	o.ops.mu.Lock()
	key := o.ops.dataKey
	o.ops.mu.Unlock()
	if key == nil {
		return opcheck.Enrolled(ctx, o.ops.b.db)
	}
	st, err := opcheck.NewStore(o.ops.b.db, o.ops.b.log, key, o.ops.now)
	if err != nil {
		return nil, fmt.Errorf("officer biometrics: %w", err)
	}
	sums, err := st.Summaries(ctx)
	if err != nil {
		// A profile that does not open must not hide the accounts: who and when still show,
		// and re-enrolling replaces it.
		slog.Warn("officer biometrics not opened", "err", err)
		return opcheck.Enrolled(ctx, o.ops.b.db)
	}
	return sums, nil
}

// Fault codes of the onboarding (translated as error.<code> in frontend/src/i18n.ts).
const (
	// CodeOfficerNotLive refuses an officer's face whose liveness challenge failed: the profile
	// is what every citizen is compared with, so it must be a live person's.
	CodeOfficerNotLive = "officer_not_live"
	// CodeOfficerFace refuses to save without the officer's face.
	CodeOfficerFace = "officer_face"
	// CodeOfficerFingers refuses to save before the fingers the desk's finger policy asks for
	// are captured (the view's FingerErrors name them). An officer declares no exception: the
	// evidence photo and the supervisor's review that make a citizen's exception acceptable
	// have no counterpart here, and a profile without the fingers citizens present would let
	// the operator check miss them.
	CodeOfficerFingers = "officer_fingers"
)

// OnboardingView is the onboarding panel: whose biometrics are being enrolled, the face (its
// liveness verdict, the portrait and the engines it was described by) and the fingers captured
// with their quality and image; the images live only in this view while it is open.
type OnboardingView struct {
	Active  bool            `json:"active"`
	Officer *OfficerView    `json:"officer,omitempty"`
	Face    *OnboardingFace `json:"face,omitempty"`
	Fingers []FingerView    `json:"fingers"`
	// Positions are the rows to show: the fingers the desk's policy asks for first (best first),
	// then any other captured.
	Positions  []int `json:"positions"`
	MinFingers int   `json:"minFingers"`
	// FingerErrors are the finger policy's errors for what was captured so far (desk/exceptions
	// codes); Save waits until there are none.
	FingerErrors []exceptions.FingerError `json:"fingerErrors"`
	Ready        bool                     `json:"ready"`
}

// OnboardingFace is the captured face as the panel shows it.
type OnboardingFace struct {
	Liveness    string   `json:"liveness"`
	PortraitURL string   `json:"portraitUrl,omitempty"`
	Engines     []string `json:"engines"`
}

// onboarding is one officer's capture in progress.
type onboarding struct {
	by      string // the supervisor who opened it
	officer officer.Officer
	face    *enroll.Face
	fingers []enroll.Finger
}

// onboard returns the logged-in supervisor for an onboarding call; desk operations must be
// wired (the profile store and the finger policy are theirs).
func (o *Officers) onboard() (Officer, error) {
	me, err := o.supervisor()
	if err != nil {
		return Officer{}, err
	}
	if !o.ops.wired() {
		return Officer{}, coded(CodeUnavailable, errors.New("desk operations are not wired: no profile store"), nil)
	}
	return me, nil
}

// current returns the open onboarding of me. One left open by another supervisor (who logged
// out) is dropped: the captures are that session's. Caller holds o.mu.
func (o *Officers) current(me Officer) (*onboarding, error) {
	if o.onb != nil && o.onb.by != me.ID {
		o.onb = nil
	}
	if o.onb == nil {
		return nil, coded(CodeConflict, errors.New("no officer onboarding in progress"), nil)
	}
	return o.onb, nil
}

// view builds the panel's view. Caller holds o.mu.
func (o *Officers) view(ctx context.Context, b *onboarding) (OnboardingView, error) {
	if b == nil {
		return OnboardingView{Fingers: []FingerView{}, Positions: []int{}, FingerErrors: []exceptions.FingerError{}}, nil
	}
	ov := officerView(b.officer)
	v := OnboardingView{Active: true, Officer: &ov, Fingers: []FingerView{}, FingerErrors: []exceptions.FingerError{}}
	if f := b.face; f != nil {
		v.Face = &OnboardingFace{Liveness: f.Liveness, PortraitURL: portraitURL(*f), Engines: faceEngines(*f)}
	}
	st, err := o.ops.svc.Settings.Load(ctx)
	if err != nil {
		return OnboardingView{}, fmt.Errorf("officer onboarding: desk settings: %w", err)
	}
	pol := st.Policy.Fingers
	v.MinFingers = pol.MinFingers
	for _, g := range pol.Preference {
		for _, p := range g {
			if len(v.Positions) < pol.MinFingers && !slices.Contains(v.Positions, p) {
				v.Positions = append(v.Positions, p)
			}
		}
	}
	caps := make([]exceptions.Capture, 0, len(b.fingers))
	for _, f := range b.fingers {
		v.Fingers = append(v.Fingers, fingerView(f))
		caps = append(caps, exceptions.Capture{Position: f.Position, Quality: f.Quality})
	}
	slices.SortFunc(v.Fingers, func(a, b FingerView) int { return a.Position - b.Position })
	r := exceptions.Validate(pol, st.Thresholds.FingerMinQuality, caps, nil)
	v.FingerErrors = append(v.FingerErrors, r.Errors...)
	for _, e := range r.Errors {
		if e.Position >= 1 && e.Position <= 10 && !slices.Contains(v.Positions, e.Position) {
			v.Positions = append(v.Positions, e.Position)
		}
	}
	for _, f := range v.Fingers {
		if !slices.Contains(v.Positions, f.Position) {
			v.Positions = append(v.Positions, f.Position)
		}
	}
	if v.Positions == nil {
		v.Positions = []int{}
	}
	v.Ready = v.Face != nil && r.OK() && len(r.Used) > 0
	return v, nil
}

func faceEngines(f enroll.Face) []string {
	out := []string{}
	if f.Engine != "" {
		out = append(out, f.Engine)
	}
	for _, a := range f.Alternates {
		out = append(out, a.Engine)
	}
	return out
}

// BeginBiometrics opens the onboarding of an existing, enabled account (one at a time: the same
// officer's open onboarding is returned as it is). The desk must be unlocked: the profile is
// sealed under its data key, and capturing first only to be refused at Save wastes the officer's
// time.
func (o *Officers) BeginBiometrics(officerID string) Response {
	me, err := o.onboard()
	if err != nil {
		return fail("Officers.BeginBiometrics", err)
	}
	if err := o.ops.queueReady(); err != nil {
		return fail("Officers.BeginBiometrics", err)
	}
	ctx := o.session.context()
	acc, err := o.officers.Get(ctx, officerID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail("Officers.BeginBiometrics", invalid("officerId", err))
	case err != nil:
		return fail("Officers.BeginBiometrics", fmt.Errorf("officer onboarding: %w", err))
	case acc.Disabled:
		return fail("Officers.BeginBiometrics", coded(CodeConflict, fmt.Errorf("officer %q is disabled", officerID), nil))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, err := o.current(me); err == nil {
		if b.officer.ID != officerID {
			return fail("Officers.BeginBiometrics", coded(CodeConflict, errors.New("save or cancel the onboarding in progress first"), nil))
		}
	} else {
		o.onb = &onboarding{by: me.ID, officer: acc}
	}
	v, err := o.view(ctx, o.onb)
	if err != nil {
		return fail("Officers.BeginBiometrics", err)
	}
	return ok(v)
}

// CurrentBiometrics returns the open onboarding (inactive when none), for the panel to reopen.
func (o *Officers) CurrentBiometrics() Response {
	me, err := o.onboard()
	if err != nil {
		return fail("Officers.CurrentBiometrics", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	b, _ := o.current(me)
	v, err := o.view(o.session.context(), b)
	if err != nil {
		return fail("Officers.CurrentBiometrics", err)
	}
	return ok(v)
}

// CaptureFace takes the officer's live face through the citizens' capture path (liveness
// challenge, quality gate, live preview) with no reference photo: the face is described under
// every calibrated engine of the desk. A face that failed liveness is refused.
func (o *Officers) CaptureFace() Response {
	me, err := o.onboard()
	if err != nil {
		return fail("Officers.CaptureFace", err)
	}
	o.mu.Lock()
	b, err := o.current(me)
	o.mu.Unlock()
	if err != nil {
		return fail("Officers.CaptureFace", err)
	}
	ctx := o.session.context()
	f, err := captureFace(ctx, o.face, o.events, nil)
	if err != nil {
		o.ops.deviceFault(ctx, ops.DeviceCamera, "officer face capture", err)
		return fail("Officers.CaptureFace", err)
	}
	if f.Liveness != record.Pass {
		return fail("Officers.CaptureFace", coded(CodeOfficerNotLive, errors.New("the officer's face did not pass the liveness challenge"), nil))
	}
	if len(f.Descriptor) == 0 || f.Engine == "" || f.ModelSet == "" {
		return fail("Officers.CaptureFace", errors.New("capture face: the capturer named no descriptor engine"))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.onb != b {
		return fail("Officers.CaptureFace", coded(CodeConflict, errors.New("the onboarding was closed during the capture"), nil))
	}
	b.face = &f
	v, err := o.view(ctx, b)
	if err != nil {
		return fail("Officers.CaptureFace", err)
	}
	return ok(v)
}

// CaptureFinger captures one of the officer's fingers (ISO/IEC 19794-2 position) on the sensor,
// as the wizard does; a new capture of a position replaces the old one.
func (o *Officers) CaptureFinger(position int) Response {
	me, err := o.onboard()
	if err != nil {
		return fail("Officers.CaptureFinger", err)
	}
	if position < 1 || position > 10 {
		return fail("Officers.CaptureFinger", invalid("position", fmt.Errorf("finger position %d out of 1..10", position)))
	}
	o.mu.Lock()
	b, err := o.current(me)
	o.mu.Unlock()
	if err != nil {
		return fail("Officers.CaptureFinger", err)
	}
	ctx := o.session.context()
	f, err := captureFinger(ctx, o.finger, position)
	if err != nil {
		o.ops.deviceFault(ctx, ops.DeviceSensor, "officer finger capture", err)
		return fail("Officers.CaptureFinger", err)
	}
	if len(f.Template) == 0 {
		return fail("Officers.CaptureFinger", fmt.Errorf("capture finger %d: no template", position))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.onb != b {
		return fail("Officers.CaptureFinger", coded(CodeConflict, errors.New("the onboarding was closed during the capture"), nil))
	}
	b.fingers = append(slices.DeleteFunc(b.fingers, func(x enroll.Finger) bool { return x.Position == position }), f)
	v, err := o.view(ctx, b)
	if err != nil {
		return fail("Officers.CaptureFinger", err)
	}
	return ok(v)
}

// SaveBiometrics stores the officer's profile (every face descriptor and finger template, sealed
// under the desk data key; audited officer.biometrics by desk/opcheck) and closes the onboarding.
// It answers the officers list.
func (o *Officers) SaveBiometrics() Response {
	me, err := o.onboard()
	if err != nil {
		return fail("Officers.SaveBiometrics", err)
	}
	if err := o.save(o.session.context(), me); err != nil {
		return fail("Officers.SaveBiometrics", err)
	}
	return o.List()
}

func (o *Officers) save(ctx context.Context, me Officer) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, err := o.current(me)
	if err != nil {
		return err
	}
	v, err := o.view(ctx, b)
	if err != nil {
		return err
	}
	switch {
	case b.face == nil:
		return coded(CodeOfficerFace, errors.New("capture the officer's face first"), nil)
	case !v.Ready:
		why := (exceptions.Result{Errors: v.FingerErrors}).Err()
		if why == nil {
			why = errors.New("no finger captured")
		}
		return coded(CodeOfficerFingers, fmt.Errorf("the officer's fingers do not meet the desk's finger policy (%d needed, no exceptions for officers): %w",
			v.MinFingers, why), nil)
	}
	p := opcheck.Profile{Faces: []opcheck.Face{{Engine: b.face.Engine, ModelSet: b.face.ModelSet, Descriptor: b.face.Descriptor}}}
	for _, a := range b.face.Alternates {
		p.Faces = append(p.Faces, opcheck.Face{Engine: a.Engine, ModelSet: a.ModelSet, Descriptor: a.Descriptor})
	}
	for _, f := range b.fingers {
		p.Fingers = append(p.Fingers, opcheck.Finger{Position: f.Position, Template: f.Template})
	}
	if err := o.ops.svc.EnrollOfficerBiometrics(ctx, me.ID, b.officer.ID, p); err != nil {
		return opsFault(fmt.Errorf("officer onboarding: %w", err))
	}
	slog.Info("officer biometrics enrolled", "officer", b.officer.ID, "faces", len(p.Faces), "fingers", len(p.Fingers))
	o.onb = nil
	return nil
}

// CancelBiometrics drops the open onboarding and its captures.
func (o *Officers) CancelBiometrics() Response {
	me, err := o.supervisor()
	if err != nil {
		return fail("Officers.CancelBiometrics", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.onb != nil && o.onb.by == me.ID {
		o.onb = nil
	}
	v, _ := o.view(o.session.context(), nil)
	return ok(v)
}
