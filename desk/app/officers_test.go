package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"enrolldesk/desk/enroll"
	"enrolldesk/desk/opcheck"
	"enrolldesk/desk/opstest/deskpolicy"
	"enrolldesk/desk/settings"
	"enrolldesk/sync/record"
)

// The operator check's shipped calibrations (desk/opcheck/calibrations.json): the engines and
// model sets desk/wire.CameraFace names in enroll.Face, so approval compares for real.
const (
	facenetEngine = "facenet-frfeature-p2+mirror"
	facenetModels = "096feec3a83bca73a811628ac0035db179e536d111a1b67ea5186d4f172481c1"
	dlibEngine    = "dlib-resnet-v1+mirror+l2"
	dlibModels    = "c3e568b0976a3015d737d4c2641105a54c2c3fb19dba4254cb0406dd3264503a"
)

// The officer's face as the camera describes it: under the selected engine (facenet) and, with
// no reference photo, under dlib as well.
var (
	officerFacenet = []float32{0.6, 0.8, 0, 0}
	officerDlib    = []float32{0, 0, 0.8, 0.6}
)

// officerCamera is the FaceCapturer seam (desk/wire.CameraFace has the real tests): it records
// the reference photo it was given and answers the officer's face, live or not.
type officerCamera struct {
	mu    sync.Mutex
	live  bool
	refs  [][]byte
	calls int
}

func (*officerCamera) Status(context.Context) DeviceStatus {
	return DeviceStatus{Kind: "camera", State: DeviceReady}
}

func (c *officerCamera) Capture(ctx context.Context, chipPhoto []byte) (enroll.Face, error) {
	if err := ctx.Err(); err != nil {
		return enroll.Face{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.refs = append(c.refs, chipPhoto)
	f := enroll.Face{Liveness: record.Fail, Portrait: []byte("\xff\xd8\xff portrait"), Descriptor: officerFacenet, Engine: facenetEngine, ModelSet: facenetModels}
	if c.live {
		f.Liveness = record.Pass
	}
	if chipPhoto == nil {
		f.Alternates = []enroll.Descriptor{{Engine: dlibEngine, ModelSet: dlibModels, Descriptor: officerDlib}}
	}
	return f, nil
}

// fvcSensor is the FingerCapturer seam over real FVC2002 impressions: position -> image.
type fvcSensor struct {
	t     *testing.T
	shots map[int]string
}

func (*fvcSensor) Status(context.Context) DeviceStatus {
	return DeviceStatus{Kind: "sensor", State: DeviceReady}
}

func (s *fvcSensor) Capture(ctx context.Context, position int) (enroll.Finger, error) {
	if err := ctx.Err(); err != nil {
		return enroll.Finger{}, err
	}
	name, ok := s.shots[position]
	if !ok {
		return enroll.Finger{}, coded(CodeFingerRetry, errors.New("no finger on the sensor"), nil)
	}
	return fvcFinger(s.t, name, position), nil
}

func onboardingOf(t *testing.T, r Response) OnboardingView {
	t.Helper()
	return dataOf[OnboardingView](t, r)
}

// openOnboardingDesk opens a desk with the default policy (operator check on, supervisor review)
// but no trust-store age rule, the fake camera and the FVC sensor, and an officer account.
func openOnboardingDesk(t *testing.T, cam *officerCamera, sensor *fvcSensor) *Desk {
	t.Helper()
	return openOnboardingDeskWith(t, cam, sensor)
}

func openOnboardingDeskWith(t *testing.T, cam FaceCapturer, sensor *fvcSensor) *Desk {
	t.Helper()
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, t.TempDir(), Options{KDF: fastKDF, Registry: id.Recipient(), LocalDedup: true, Face: cam, Finger: sensor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	d.Start(ctx)
	loggedInWithDefaults(t, d)
	deskID, _ := d.backend.DeskID(ctx)
	if err := deskpolicy.Configure(ctx, d.DB, d.Audit, deskID, nil, func(s *settings.Settings) { s.Freeze.MaxTrustStoreDays = 0 }); err != nil {
		t.Fatal(err)
	}
	if r := d.App.Officers.Create(NewOfficer{ID: "cb.minh", Name: "Trần Văn Minh", Role: "officer", PIN: "135792"}); !r.OK {
		t.Fatal(r.Error)
	}
	return d
}

func officerRow(t *testing.T, d *Desk, id string) OfficerView {
	t.Helper()
	for _, o := range dataOf[[]OfficerView](t, d.App.Officers.List()) {
		if o.ID == id {
			return o
		}
	}
	t.Fatalf("officer %s not listed", id)
	return OfficerView{}
}

// A supervisor onboards an officer's face and fingers through the capture seams: refused before
// the desk is unlocked, for an officer, for an unknown account, for a face that failed liveness
// and until the finger policy's fingers are captured; saved, the officers list shows it, the
// profile holds the face under both engines, and the officer's own face and finger presented as
// a citizen's are flagged at approval — also after the desk's face engine changed to dlib — while
// another person is not.
func TestSupervisorOnboardsAnOfficersBiometrics(t *testing.T) {
	cam := &officerCamera{}
	sensor := &fvcSensor{t: t, shots: map[int]string{2: "101_1.tif"}}
	d := openOnboardingDesk(t, cam, sensor)
	o := d.App.Officers

	wantFault(t, o.BeginBiometrics("cb.minh"), CodeDeskLocked)
	stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase))
	if row := officerRow(t, d, "cb.minh"); row.Biometrics != nil {
		t.Fatalf("biometrics before any onboarding: %+v", row.Biometrics)
	}
	wantFault(t, o.BeginBiometrics("cb.nobody"), CodeInvalid)

	// An officer may not onboard anyone (themself included).
	stateOf(t, d.Session.Logout())
	stateOf(t, d.Session.Login("cb.minh", "135792"))
	wantFault(t, o.BeginBiometrics("cb.minh"), CodeForbidden)
	wantFault(t, o.CaptureFace(), CodeForbidden)
	wantFault(t, o.SaveBiometrics(), CodeForbidden)
	stateOf(t, d.Session.Logout())
	stateOf(t, d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN))

	wantFault(t, o.CaptureFace(), CodeConflict) // nothing open yet
	v := onboardingOf(t, o.BeginBiometrics("cb.minh"))
	if !v.Active || v.Officer == nil || v.Officer.ID != "cb.minh" || v.Face != nil || v.MinFingers != 2 || !slices.Equal(v.Positions, []int{2, 7}) {
		t.Fatalf("begin %+v", v)
	}
	wantFault(t, o.BeginBiometrics(supervisor.SupervisorID), CodeConflict) // one at a time
	if again := onboardingOf(t, o.BeginBiometrics("cb.minh")); !again.Active || again.Officer.ID != "cb.minh" {
		t.Fatalf("the same officer's onboarding reopened: %+v", again)
	}

	// A face that failed the liveness challenge is refused and not kept.
	wantFault(t, o.CaptureFace(), CodeOfficerNotLive)
	wantFault(t, o.SaveBiometrics(), CodeOfficerFace)
	cam.mu.Lock()
	cam.live = true
	cam.mu.Unlock()
	v = onboardingOf(t, o.CaptureFace())
	if v.Face == nil || v.Face.Liveness != record.Pass || !strings.HasPrefix(v.Face.PortraitURL, "data:image/jpeg;base64,") ||
		!slices.Equal(v.Face.Engines, []string{facenetEngine, dlibEngine}) || v.Ready {
		t.Fatalf("after the face %+v", v)
	}
	cam.mu.Lock()
	for i, ref := range cam.refs {
		if ref != nil {
			t.Fatalf("capture %d of an officer had a reference photo", i)
		}
	}
	cam.mu.Unlock()

	// Too few fingers: the policy's left index finger is owed, and Save says so.
	v = onboardingOf(t, o.CaptureFinger(2))
	if len(v.Fingers) != 1 || v.Fingers[0].Position != 2 || v.Fingers[0].Quality == 0 || len(v.FingerErrors) != 1 || v.FingerErrors[0].Position != 7 {
		t.Fatalf("after one finger %+v", v)
	}
	f := wantFault(t, o.SaveBiometrics(), CodeOfficerFingers)
	if !strings.Contains(f.Message, "left index") {
		t.Fatalf("the fault does not name the finger owed: %s", f.Message)
	}
	wantFault(t, o.CaptureFinger(7), CodeFingerRetry) // the sensor saw no finger: nothing kept
	sensor.shots[7] = "102_1.tif"
	v = onboardingOf(t, o.CaptureFinger(7))
	if !v.Ready || len(v.FingerErrors) != 0 || len(v.Fingers) != 2 {
		t.Fatalf("after both fingers %+v", v)
	}
	wantFault(t, o.CaptureFinger(11), CodeInvalid)

	list := dataOf[[]OfficerView](t, o.SaveBiometrics())
	var row OfficerView
	for _, r := range list {
		if r.ID == "cb.minh" {
			row = r
		}
	}
	if b := row.Biometrics; b == nil || b.Sealed || b.By != supervisor.SupervisorID || b.Enrolled == "" ||
		!slices.Equal(b.Engines, []string{facenetEngine, dlibEngine}) || !slices.Equal(b.Fingers, []int{2, 7}) {
		t.Fatalf("officers list after save: %+v", row.Biometrics)
	}
	if v := onboardingOf(t, o.CurrentBiometrics()); v.Active {
		t.Fatalf("onboarding still open after save: %+v", v)
	}
	if got := auditActions(t, d, "officer.biometrics"); len(got) != 1 || got[0] != "cb.minh 2 faces, 2 fingers" {
		t.Fatalf("audit %v", got)
	}

	// The officer enrolls citizens.
	stateOf(t, d.Session.Logout())
	stateOf(t, d.Session.Login("cb.minh", "135792"))
	approve := func(citizen string, face enroll.Face, fingers []enroll.Finger) []string {
		t.Helper()
		fillEnrollment(t, d, citizen, fingers)
		d.Enrollment.mu.Lock()
		d.Enrollment.faceRes.Descriptor, d.Enrollment.faceRes.Engine, d.Enrollment.faceRes.ModelSet = face.Descriptor, face.Engine, face.ModelSet
		d.Enrollment.mu.Unlock()
		v := viewOf(t, d.Enrollment.Approve("135792"))
		if v.Step != StepDone || !v.Pending {
			t.Fatalf("approval %+v", v)
		}
		viewOf(t, d.Enrollment.Close())
		return v.PendingWhy
	}
	// The officer's own face and another impression of their own finger.
	why := approve("001090123456", enroll.Face{Descriptor: officerFacenet, Engine: facenetEngine, ModelSet: facenetModels},
		[]enroll.Finger{fvcFinger(t, "101_3.tif", 2), fvcFinger(t, "103_1.tif", 7)})
	if !slices.Contains(why, "flag:"+opcheck.FlagFace) || !slices.Contains(why, "flag:"+opcheck.FlagFinger) || slices.Contains(why, "flag:"+opcheck.FlagUnenrolled) {
		t.Fatalf("the officer as a citizen: %v", why)
	}
	// Someone else: nothing flagged, only the desk's review policy holds the record.
	why = approve("001090123457", enroll.Face{Descriptor: []float32{-0.6, -0.8, 0, 0}, Engine: facenetEngine, ModelSet: facenetModels},
		[]enroll.Finger{fvcFinger(t, "104_1.tif", 2), fvcFinger(t, "105_1.tif", 7)})
	if !slices.Equal(why, []string{"policy"}) {
		t.Fatalf("another citizen: %v", why)
	}
	// The desk now describes faces with dlib: the officer's dlib descriptor is compared, no
	// re-enrollment is asked.
	why = approve("001090123458", enroll.Face{Descriptor: officerDlib, Engine: dlibEngine, ModelSet: dlibModels},
		[]enroll.Finger{fvcFinger(t, "106_1.tif", 2), fvcFinger(t, "107_1.tif", 7)})
	if !slices.Contains(why, "flag:"+opcheck.FlagFace) || slices.Contains(why, "flag:"+opcheck.FlagFinger) {
		t.Fatalf("the officer's face under dlib: %v", why)
	}
}

// Cancel drops the captures; a disabled account cannot be onboarded; the onboarding another
// supervisor left open is not handed to the next one.
func TestOnboardingCancelAndDisabled(t *testing.T) {
	cam := &officerCamera{live: true}
	d := openOnboardingDesk(t, cam, &fvcSensor{t: t, shots: map[int]string{2: "101_1.tif", 7: "102_1.tif"}})
	o := d.App.Officers
	stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase))
	onboardingOf(t, o.BeginBiometrics("cb.minh"))
	onboardingOf(t, o.CaptureFace())
	if v := onboardingOf(t, o.CancelBiometrics()); v.Active {
		t.Fatalf("after cancel %+v", v)
	}
	wantFault(t, o.SaveBiometrics(), CodeConflict)
	if v := onboardingOf(t, o.BeginBiometrics("cb.minh")); v.Face != nil {
		t.Fatalf("a cancelled face came back: %+v", v)
	}
	if r := o.Create(NewOfficer{ID: "gs.hung", Name: "Lý Văn Hùng", Role: "supervisor", PIN: "864213"}); !r.OK {
		t.Fatal(r.Error)
	}
	stateOf(t, d.Session.Logout())
	stateOf(t, d.Session.Login("gs.hung", "864213"))
	if v := onboardingOf(t, o.CurrentBiometrics()); v.Active {
		t.Fatalf("another supervisor's onboarding handed over: %+v", v)
	}
	if r := o.SetDisabled("cb.minh", true); !r.OK {
		t.Fatal(r.Error)
	}
	wantFault(t, o.BeginBiometrics("cb.minh"), CodeConflict)
	if row := officerRow(t, d, "cb.minh"); row.Biometrics != nil {
		t.Fatalf("nothing was saved, yet: %+v", row.Biometrics)
	}
}

// gatedCamera holds its capture until released, so the onboarding can be cancelled meanwhile.
type gatedCamera struct {
	officerCamera
	started chan struct{}
	release chan struct{}
}

func (c *gatedCamera) Capture(ctx context.Context, chipPhoto []byte) (enroll.Face, error) {
	close(c.started)
	select {
	case <-c.release:
	case <-ctx.Done():
		return enroll.Face{}, ctx.Err()
	}
	return c.officerCamera.Capture(ctx, chipPhoto)
}

// A face that arrives after the supervisor cancelled the onboarding is not kept, not even in a
// new onboarding of the same officer opened meanwhile.
func TestOnboardingCancelledDuringTheCapture(t *testing.T) {
	cam := &gatedCamera{officerCamera: officerCamera{live: true}, started: make(chan struct{}), release: make(chan struct{})}
	d := openOnboardingDeskWith(t, cam, &fvcSensor{t: t})
	o := d.App.Officers
	stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase))
	onboardingOf(t, o.BeginBiometrics("cb.minh"))
	got := make(chan Response, 1)
	go func() { got <- o.CaptureFace() }()
	<-cam.started
	onboardingOf(t, o.CancelBiometrics())
	onboardingOf(t, o.BeginBiometrics("cb.minh"))
	close(cam.release)
	wantFault(t, <-got, CodeConflict)
	if v := onboardingOf(t, o.CurrentBiometrics()); !v.Active || v.Face != nil {
		t.Fatalf("the cancelled capture's face was kept: %+v", v)
	}
}
