package app

import (
	"context"
	"encoding/json"
	"enrolldesk/desk/opstest/deskpolicy"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/enroll"
	"enrolldesk/desk/officer"
	"enrolldesk/sync/record"
)

func viewOf(t *testing.T, r Response) EnrollmentView {
	t.Helper()
	if !r.OK {
		t.Fatalf("call failed: %+v", r.Error)
	}
	js, _ := json.Marshal(r.Data)
	var v EnrollmentView
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// loggedIn provisions the desk with the wizard tests' policy (relaxed) and logs the supervisor in.
func loggedIn(t *testing.T, d *Desk) {
	t.Helper()
	if r := d.Session.Provision(supervisor); !r.OK {
		t.Fatal(r.Error)
	}
	relaxed(t, d)
	if r := d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN); !r.OK {
		t.Fatal(r.Error)
	}
}

// loggedInWithDefaults provisions the desk keeping the default settings (supervisor review,
// operator check, freeze limits) and logs the supervisor in.
func loggedInWithDefaults(t *testing.T, d *Desk) {
	t.Helper()
	if r := d.Session.Provision(supervisor); !r.OK {
		t.Fatal(r.Error)
	}
	if r := d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN); !r.OK {
		t.Fatal(r.Error)
	}
}

func TestEnrollmentNeedsALoggedInOfficer(t *testing.T) {
	d, _ := openDesk(t)
	for name, r := range map[string]Response{
		"Start":     d.Enrollment.Start(),
		"Current":   d.Enrollment.Current(),
		"ReadCard":  d.Enrollment.ReadCard(CardKey{CAN: "123456"}),
		"Queue":     d.Queue.Status(),
		"Devices":   d.Devices.Status(),
		"Unlock":    d.Session.UnlockDesk("x"),
		"Approve":   d.Enrollment.Approve("246813"),
		"Reject":    d.Enrollment.Reject("other"),
		"SubmitFrm": d.Enrollment.SubmitForm(FormInput{}),
	} {
		if r.OK || r.Error.Code != CodeUnauthorized {
			t.Errorf("%s without login: %+v", name, r.Error)
		}
	}
}

func TestWizardWithoutDevicesSaysWhatIsMissing(t *testing.T) {
	d, _ := openDesk(t)
	loggedIn(t, d)
	v := viewOf(t, d.Enrollment.Start())
	if !v.Active || v.Step != StepCard || len(v.Problems) != 1 || v.Problems[0].Code != "card.missing" {
		t.Fatalf("fresh enrollment %+v", v)
	}
	// No reader in this desk: a clear device_missing naming the reader, after the key is checked.
	if f := wantFault(t, d.Enrollment.ReadCard(CardKey{IDNumber: "0011990123", DateOfBirth: "15/03/1999", DateOfExpiry: "15/03/2024"}), CodeInvalid); f.Params["field"] != "idNumber" {
		t.Fatalf("short ID number blamed on %q", f.Params["field"])
	}
	if f := wantFault(t, d.Enrollment.ReadCard(CardKey{IDNumber: "001199012345", DateOfBirth: "31/02/1999", DateOfExpiry: "15/03/2024"}), CodeInvalid); f.Params["field"] != "dateOfBirth" {
		t.Fatalf("impossible birth date blamed on %q", f.Params["field"])
	}
	if f := wantFault(t, d.Enrollment.ReadCard(CardKey{CAN: "12345"}), CodeInvalid); f.Params["field"] != "can" {
		t.Fatalf("5-digit CAN blamed on %q", f.Params["field"])
	}
	if f := wantFault(t, d.Enrollment.ReadCard(CardKey{CAN: "482915"}), CodeDeviceMissing); f.Params["device"] != "reader" {
		t.Fatalf("missing reader fault params %v", f.Params)
	}
	// Capturing before the card is refused without touching a device.
	wantFault(t, d.Enrollment.CaptureFace(), CodeConflict)
	wantFault(t, d.Enrollment.CaptureFinger(2), CodeConflict)
	wantFault(t, d.Enrollment.CaptureFinger(11), CodeInvalid)
	// Steps after the card are refused until a chip is read.
	wantFault(t, d.Enrollment.Goto(StepFace), CodeConflict)
	wantFault(t, d.Enrollment.SubmitForm(FormInput{Mobile: "0912345678", Consent: true}), CodeConflict)
	wantFault(t, d.Enrollment.DeclareFingerException(2, "bandaged"), CodeConflict)

	var devs []DeviceStatus
	r := d.Devices.Reconnect()
	js, _ := json.Marshal(r.Data)
	if err := json.Unmarshal(js, &devs); err != nil || len(devs) != 3 {
		t.Fatalf("devices %s, %v", js, err)
	}
	for _, dv := range devs {
		if dv.State != DeviceMissing {
			t.Errorf("%s is %s in a desk without devices", dv.Kind, dv.State)
		}
	}
}

func TestFormIsValidatedFieldByField(t *testing.T) {
	d, _ := openDesk(t)
	loggedIn(t, d)
	d.Enrollment.Start()
	for _, c := range []struct {
		in    FormInput
		field string
	}{
		{FormInput{Mobile: "0212345678", Consent: true}, "mobile"},              // 02x is a landline
		{FormInput{Mobile: "091234567", Consent: true}, "mobile"},               // 9 digits
		{FormInput{Mobile: "0912345678", Email: "an@", Consent: true}, "email"}, // no domain
		{FormInput{Mobile: "0912345678", Documents: []string{"x"}, Consent: true}, "documents"},
		{FormInput{Mobile: "0912345678", HasRepresentative: true, RepresentativeID: "12", RepresentativeTel: "0912345678", Consent: true}, "representativeId"},
		{FormInput{Mobile: "0912345678", HasRepresentative: true, RepresentativeID: "001099012345", RepresentativeTel: "123", Consent: true}, "representativeMobile"},
		{FormInput{Mobile: "+84 912 345 678"}, "consent"},
	} {
		r := d.Enrollment.SubmitForm(c.in)
		if f := wantFault(t, r, CodeInvalid); f.Params["field"] != c.field {
			t.Errorf("%+v blamed on %q, want %q", c.in, f.Params["field"], c.field)
		}
	}
}

func TestRejectAndCloseAreAudited(t *testing.T) {
	d, _ := openDesk(t)
	loggedIn(t, d)
	d.Enrollment.Start()
	wantFault(t, d.Enrollment.Reject("because"), CodeInvalid)
	v := viewOf(t, d.Enrollment.Reject("citizen-withdrew"))
	if v.Step != StepDone || v.Rejected != "citizen-withdrew" {
		t.Fatalf("after reject: %+v", v)
	}
	wantFault(t, d.Enrollment.Reject("other"), CodeConflict)
	entries, err := d.Audit.Since(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last.Action != "enrollment.reject" || last.Detail != "citizen-withdrew" || last.Actor != supervisor.SupervisorID {
		t.Fatalf("last audit entry %+v", last)
	}
	if v := viewOf(t, d.Enrollment.Close()); v.Active {
		t.Fatalf("closed enrollment still active: %+v", v)
	}
}

func TestUnlockDeskOpensTheOutbox(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	d, err := Open(context.Background(), t.TempDir(), Options{KDF: fastKDF, Registry: id.Recipient(), Policy: officer.DefaultPolicy, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(context.Background())
	loggedIn(t, d)
	if st := stateOf(t, d.Session.State()); st.Unlocked {
		t.Fatal("desk unlocked before the passphrase")
	}
	wantFault(t, d.Session.UnlockDesk("not the passphrase"), CodeWrongPassphrase)
	if st := stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase)); !st.Unlocked {
		t.Fatal("desk still locked after the right passphrase")
	}
	// The release path is live: an empty content is refused by the outbox, not by a lock.
	if _, err := d.App.Enrollment.wf.Out.Release(context.Background(), record.Content{}, nil, nil); err == nil {
		t.Fatal("release of an empty record accepted")
	} else if ce, ok := err.(*CodedError); ok && ce.Code == CodeDeskLocked {
		t.Fatalf("release still locked: %v", err)
	}
	q := d.Queue.Status()
	js, _ := json.Marshal(q.Data)
	var qs QueueStatus
	if err := json.Unmarshal(js, &qs); err != nil || !q.OK || qs.Queued != 0 || qs.LastSynced != "" {
		t.Fatalf("queue of a new desk: %s %+v", js, q.Error)
	}
}

func TestUnlockWithoutRegistryKeyIsUnavailable(t *testing.T) {
	d, _ := openDesk(t)
	loggedIn(t, d)
	wantFault(t, d.Session.UnlockDesk(supervisor.Passphrase), CodeUnavailable)
}

func TestCardKeyConversion(t *testing.T) {
	for _, c := range []struct {
		in        CardKey
		doc, b, e string
		field     string
	}{
		{CardKey{IDNumber: "001199012345", DateOfBirth: "15/03/1999", DateOfExpiry: "15/03/2024"}, "199012345", "990315", "240315", ""},
		{CardKey{IDNumber: "001 199 012 345", DateOfBirth: "15/03/1999", DateOfExpiry: "15/03/2024"}, "199012345", "990315", "240315", ""},
		{CardKey{IDNumber: "00119901234a", DateOfBirth: "15/03/1999", DateOfExpiry: "15/03/2024"}, "", "", "", "idNumber"},
		{CardKey{IDNumber: "001199012345", DateOfBirth: "15/13/1999", DateOfExpiry: "15/03/2024"}, "", "", "", "dateOfBirth"},
		{CardKey{IDNumber: "001199012345", DateOfBirth: "15/03/1999", DateOfExpiry: "32/03/2024"}, "", "", "", "dateOfExpiry"},
	} {
		k, err := c.in.BACKey()
		if c.field != "" {
			ce, ok := err.(*CodedError)
			if !ok || ce.Params["field"] != c.field {
				t.Errorf("%+v: error %v, want field %s", c.in, err, c.field)
			}
			continue
		}
		if err != nil || k.DocumentNumber != c.doc || k.DateOfBirth != c.b || k.DateOfExpiry != c.e {
			t.Errorf("%+v: %+v %v", c.in, k, err)
		}
	}
}

func TestSupervisorManagesOfficers(t *testing.T) {
	d, clk := openDesk(t)
	loggedIn(t, d)
	wantFault(t, d.App.Officers.Create(NewOfficer{ID: "cb.an", Name: "Lê Văn An", Role: RoleOfficer, PIN: "12"}), CodeInvalid)
	wantFault(t, d.App.Officers.Create(NewOfficer{ID: "cb.an", Name: "Lê Văn An", Role: "admin", PIN: "112233"}), CodeInvalid)
	if r := d.App.Officers.Create(NewOfficer{ID: "cb.an", Name: "Lê Văn An", Role: RoleOfficer, PIN: "112233"}); !r.OK {
		t.Fatal(r.Error)
	}
	if f := wantFault(t, d.App.Officers.Create(NewOfficer{ID: "cb.an", Name: "Lê Văn An", Role: RoleOfficer, PIN: "112233"}), CodeInvalid); f.Params["field"] != "officerId" {
		t.Fatalf("duplicate id blamed on %q", f.Params["field"])
	}
	wantFault(t, d.App.Officers.SetDisabled(supervisor.SupervisorID, true), CodeConflict)
	d.Session.Logout()
	// Lock the new officer out, then let the supervisor unlock them.
	for i := 0; i < 3; i++ {
		d.Session.Login("cb.an", "000000")
	}
	wantFault(t, d.Session.Login("cb.an", "112233"), CodeLocked)
	clk.add(time.Second)
	if r := d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN); !r.OK {
		t.Fatal(r.Error)
	}
	if r := d.App.Officers.Unlock("cb.an"); !r.OK {
		t.Fatal(r.Error)
	}
	d.Session.Logout()
	st := stateOf(t, d.Session.Login("cb.an", "112233"))
	if st.Officer == nil || st.Officer.Role != RoleOfficer {
		t.Fatalf("officer after unlock: %+v", st.Officer)
	}
	// An officer may not manage accounts.
	wantFault(t, d.App.Officers.List(), CodeForbidden)
	wantFault(t, d.App.Officers.Unlock("gs.lan"), CodeForbidden)
}

type tellingCamera struct{ FaceCapturer }

func (tellingCamera) LivenessSteps() []string { return []string{"right"} }

// The face step's prompt names the challenge the camera runs: its own when it tells, else the
// default challenge of biometric/face/liveness (left, then right).
func TestLivenessStepsForThePrompt(t *testing.T) {
	if got := livenessSteps(tellingCamera{}); len(got) != 1 || got[0] != "right" {
		t.Fatalf("telling camera: %v", got)
	}
	if got := livenessSteps(nil); len(got) != 2 || got[0] != "left" || got[1] != "right" {
		t.Fatalf("default challenge: %v", got)
	}
}

// failingCamera is a FaceCapturer whose capture fails with err (what desk/wire.CameraFace returns).
type failingCamera struct{ err error }

func (failingCamera) Status(context.Context) DeviceStatus {
	return DeviceStatus{Kind: "camera", State: DeviceReady}
}
func (c failingCamera) Capture(context.Context, []byte) (enroll.Face, error) {
	return enroll.Face{}, c.err
}

type faceEvents struct {
	mu  sync.Mutex
	got []FacePrompt
}

func (f *faceEvents) Emit(name string, data any) {
	if p, ok := data.(FacePrompt); ok && name == EventFace {
		f.mu.Lock()
		f.got = append(f.got, p)
		f.mu.Unlock()
	}
}

// A capture that fails says why in a code the window translates, and the prompt events
// bracket it (the challenge's steps, then done) so the window never keeps prompting.
func TestFaceCaptureFailuresAreCoded(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{fmt.Errorf("capture face: no frame passed the quality gate: face too small: come closer to the camera"), CodeFaceQuality},
		{fmt.Errorf("liveness: %w", context.DeadlineExceeded), CodeTimeout},
		{&CodedError{Code: CodeDeviceMissing, Params: map[string]string{"device": "camera"}, Err: errors.New("camera /dev/video0: no such device")}, CodeDeviceMissing},
	} {
		d, err := Open(context.Background(), t.TempDir(), Options{KDF: fastKDF, Face: failingCamera{c.err}})
		if err != nil {
			t.Fatal(err)
		}
		d.Start(context.Background())
		loggedIn(t, d)
		ev := &faceEvents{}
		detach := d.Events.Attach(ev)
		viewOf(t, d.Enrollment.Start())
		d.Enrollment.mu.Lock()
		d.Enrollment.view.Chip = &ChipView{IDNumber: "001199012345"} // as if the card step had read it
		d.Enrollment.mu.Unlock()
		// A chip without a usable photo: refused before the camera is asked.
		wantFault(t, d.Enrollment.CaptureFace(), CodeConflict)
		if len(ev.got) != 0 {
			t.Fatalf("the camera ran without a chip photo: %+v", ev.got)
		}
		d.Enrollment.mu.Lock()
		d.Enrollment.chipPhoto = []byte{0xFF, 0xD8, 0xFF}
		d.Enrollment.mu.Unlock()
		f := wantFault(t, d.Enrollment.CaptureFace(), c.code)
		if c.code != CodeFaceQuality && f.Params["device"] != "camera" {
			t.Errorf("%s: params %v", c.code, f.Params)
		}
		detach()
		if len(ev.got) != 2 || ev.got[0].Phase != FacePhaseLiveness || len(ev.got[0].Steps) != 2 || ev.got[1].Phase != FacePhaseDone {
			t.Errorf("%s: face events %+v", c.code, ev.got)
		}
		if v := viewOf(t, d.Enrollment.Current()); v.Step != StepCard || v.Face != nil {
			t.Errorf("%s: view after the failure %+v", c.code, v)
		}
		d.Close()
	}
}

func TestFacePrompterEmitsTheStepAsked(t *testing.T) {
	h := &Hub{}
	ev := &faceEvents{}
	defer h.Attach(ev)()
	FacePrompter(h)([]string{"left", "right"}, 1)
	if len(ev.got) != 1 || ev.got[0].Phase != FacePhaseLiveness || ev.got[0].Step != 1 || len(ev.got[0].Steps) != 2 {
		t.Fatalf("events %+v", ev.got)
	}
}

// relaxed gives the desk the wizard tests' policy through a signed settings document
// (deskpolicy.Relaxed: released at once, no operator check, no trust-store freeze).
func relaxed(t *testing.T, d *Desk) {
	t.Helper()
	ctx := context.Background()
	id, err := d.backend.DeskID(ctx)
	if err != nil || id == "" {
		t.Fatalf("desk id %q: %v", id, err)
	}
	if err := deskpolicy.Configure(ctx, d.DB, d.Audit, id, nil, deskpolicy.Relaxed); err != nil {
		t.Fatal(err)
	}
}
