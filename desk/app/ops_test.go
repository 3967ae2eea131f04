package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"enrolldesk/desk/ops"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/enroll"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/opcheck"
	"enrolldesk/desk/opstest/deskpolicy"
	"enrolldesk/desk/review"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

func dataOf[T any](t *testing.T, r Response) T {
	t.Helper()
	if !r.OK {
		t.Fatalf("call failed: %+v", r.Error)
	}
	js, err := json.Marshal(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// The desk-operations screens on a real desk store: the supervisor reviews what officers
// submitted (PIN again, four-eyes, reasons), the freeze state and finger policy are shown, and
// the released records are exported to a drive.
func TestOpsReviewAndExportThroughTheBoundService(t *testing.T) {
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	d, err := Open(ctx, t.TempDir(), Options{KDF: fastKDF, Registry: id.Recipient(), Policy: officer.DefaultPolicy, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(ctx)
	loggedInWithDefaults(t, d)

	// Before the desk is unlocked the review list opens (no keys), decisions do not.
	rv := dataOf[ReviewView](t, d.Ops.Review(""))
	if rv.Day != "2026-11-23" || len(rv.Pending) != 0 || len(rv.Reasons) == 0 {
		t.Fatalf("review before unlock %+v", rv)
	}
	wantFault(t, d.Ops.ReviewApprove(supervisor.SupervisorPIN, []string{"x"}), CodeDeskLocked)
	ov := dataOf[OpsOverview](t, d.Ops.Overview())
	if ov.Unlocked || ov.Fingers.MinFingers == 0 || len(ov.Fingers.Reasons) != 3 || len(ov.Timeouts) != 10 {
		t.Fatalf("overview %+v", ov)
	}
	// No CSCA trust store in this build: passive authentication would refuse every card, and the
	// freeze state says so.
	if !ov.Freeze.Frozen || !strings.Contains(mustJSON(t, ov.Freeze.Reasons), "trust-store-missing") {
		t.Fatalf("freeze %+v", ov.Freeze)
	}

	if r := d.Session.UnlockDesk(supervisor.Passphrase); !r.OK {
		t.Fatal(r.Error)
	}
	if ov := dataOf[OpsOverview](t, d.Ops.Overview()); !ov.Unlocked {
		t.Fatal("desk operations still locked after the desk was unlocked")
	}

	// An officer submits three records (one with a bandaged finger and its evidence photo).
	if r := d.App.Officers.Create(NewOfficer{ID: "cb.minh", Name: "Trần Văn Minh", Role: "officer", PIN: "135792"}); !r.OK {
		t.Fatal(r.Error)
	}
	key, err := d.backend.officers.UnlockSigningKey(ctx, "cb.minh", "135792")
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for i := 0; i < 3; i++ {
		c := record.Content{OfficerID: "cb.minh", CitizenID: "00120300000" + string(rune('1'+i)), DG1: []byte{byte(i)},
			Form: record.Form{Mobile: "0912345678"}, Chip: record.ChipVerdict{Access: "PACE", PA: record.Pass},
			Face: record.FaceResult{Decision: "match", Liveness: record.Pass}, Dedup: record.Dedup{Decision: "unique"},
			Consent: record.Consent{Given: true, Version: "v1", At: int64(i + 1)}}
		blobs := []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: []byte("portrait")}}
		var exc []exceptions.Exception
		if i == 0 {
			x, b := exceptions.Declare(7, exceptions.Bandaged, []byte("\xff\xd8 hand"))
			exc, blobs = []exceptions.Exception{x}, append(blobs, b)
		}
		o, err := d.Ops.svc.Submit(ctx, c, blobs, key, exc, nil)
		if err != nil || o.State != "pending" {
			t.Fatalf("submit %+v %v", o, err)
		}
		items = append(items, o.ItemID)
	}
	rv = dataOf[ReviewView](t, d.Ops.Review(""))
	if len(rv.Pending) != 3 || len(rv.Counts) != 1 || rv.Counts[0].OfficerID != "cb.minh" || rv.Counts[0].Pending != 3 || rv.Counts[0].Exceptions != 1 {
		t.Fatalf("review %+v", rv)
	}
	det := dataOf[ReviewDetail](t, d.Ops.ReviewOpen(items[0]))
	if len(det.Exceptions) != 1 || det.Exceptions[0].Position != 7 || det.Exceptions[0].Reason != "bandaged" ||
		!strings.HasPrefix(det.Exceptions[0].Photo, "data:image/jpeg;base64,") || !strings.HasPrefix(det.Portrait, "data:image/jpeg;base64,") {
		t.Fatalf("detail %+v", det)
	}
	wantFault(t, d.Ops.ReviewApprove("000000", items[:1]), CodeWrongPIN)
	wantFault(t, d.Ops.ReviewReject(supervisor.SupervisorPIN, items[1], "", ""), CodeReasonNeeded)
	if r := d.Ops.ReviewReject(supervisor.SupervisorPIN, items[1], "poor-capture", ""); !r.OK {
		t.Fatal(r.Error)
	}
	type res struct {
		ItemID string `json:"itemId"`
		Seq    uint64 `json:"seq"`
		Code   string `json:"code"`
	}
	got := dataOf[[]res](t, d.Ops.ReviewApprove(supervisor.SupervisorPIN, []string{items[0], items[1], items[2]}))
	if got[0].Seq != 1 || got[1].Code != CodeNotPending || got[2].Seq != 2 {
		t.Fatalf("approve %+v", got)
	}
	// An officer may not review.
	if r := d.Session.Logout(); !r.OK {
		t.Fatal(r.Error)
	}
	if r := d.Session.Login("cb.minh", "135792"); !r.OK {
		t.Fatal(r.Error)
	}
	wantFault(t, d.Ops.Review(""), CodeForbidden)

	// The officer exports the two released records to a drive; nothing is left the second time.
	wantFault(t, d.Ops.Export(filepath.Join(t.TempDir(), "absent")), CodeNoDrive)
	if es := deviceEntries(t, d.Audit); len(es) == 0 || es[len(es)-1].Action != "device.error" || es[len(es)-1].Subject != ops.DeviceDrive ||
		es[len(es)-1].Actor != "cb.minh" || es[len(es)-1].Detail != "export: "+CodeNoDrive {
		t.Fatalf("no drive: device events%s", describe(es))
	}
	drive := t.TempDir()
	ex := dataOf[struct {
		Files   []string `json:"files"`
		Records int      `json:"records"`
	}](t, d.Ops.Export(drive))
	if ex.Records != 2 || len(ex.Files) != 1 {
		t.Fatalf("export %+v", ex)
	}
	if fi, err := os.Stat(ex.Files[0]); err != nil || fi.Size() == 0 {
		t.Fatalf("bundle %v", err)
	}
	// The records are not acknowledged until a receipt comes back: a second export carries them again.
	if ex2 := dataOf[struct {
		Records int `json:"records"`
	}](t, d.Ops.Export(t.TempDir())); ex2.Records != 2 {
		t.Fatalf("second export %+v", ex2)
	}
	wantFault(t, d.Ops.ApplyReceipt(ex.Files[0]), CodeBadReceipt)
	// Finger validation against the policy: one index finger only is too few.
	v := dataOf[exceptions.Result](t, d.Ops.ValidateFingers([]exceptions.Capture{{Position: 2, Quality: 80}}, nil))
	if len(v.Errors) == 0 {
		t.Fatalf("validation %+v", v)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The wizard's device timeouts come from the desk settings when the desk opens.
func TestDeviceTimeoutsComeFromTheDeskSettings(t *testing.T) {
	card, face, finger := CardTimeout, FaceTimeout, FingerTimeout
	t.Cleanup(func() { CardTimeout, FaceTimeout, FingerTimeout = card, face, finger })
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	// Defaults (desk/settings.Defaults): card 20 s, face 60 s, finger 30 s + 4 × 15 s.
	if CardTimeout != 20*time.Second || FaceTimeout != 60*time.Second || FingerTimeout != 90*time.Second {
		t.Fatalf("defaults: card %s face %s finger %s", CardTimeout, FaceTimeout, FingerTimeout)
	}
	if _, err := d.Ops.svc.Settings.Set(ctx, "gs.lan", map[string]json.RawMessage{
		"timeouts.card": json.RawMessage(`"45s"`), "timeouts.face_capture": json.RawMessage(`"40s"`),
		"timeouts.finger_place": json.RawMessage(`"20s"`), "timeouts.sensor": json.RawMessage(`"5s"`),
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(ctx, dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if CardTimeout != 45*time.Second || FaceTimeout != 40*time.Second || FingerTimeout != 40*time.Second {
		t.Fatalf("from settings: card %s face %s finger %s", CardTimeout, FaceTimeout, FingerTimeout)
	}
	d.Start(ctx)
	loggedIn(t, d)
	ov := dataOf[OpsOverview](t, d.Ops.Overview())
	if ov.Timeouts[0].Key != "timeouts.card" || ov.Timeouts[0].Value != "45s" {
		t.Fatalf("overview timeouts %+v", ov.Timeouts)
	}
}

func TestSupervisorSetsTimeouts(t *testing.T) {
	card, face, finger := CardTimeout, FaceTimeout, FingerTimeout
	t.Cleanup(func() { CardTimeout, FaceTimeout, FingerTimeout = card, face, finger })
	d, _ := openDesk(t)
	loggedIn(t, d)
	ov := dataOf[OpsOverview](t, d.Ops.SetTimeouts(map[string]string{"timeouts.card": "45s", "timeouts.network": "1m"}))
	got := map[string]string{}
	for _, x := range ov.Timeouts {
		got[x.Key] = x.Value
	}
	if got["timeouts.card"] != "45s" || got["timeouts.network"] != "1m0s" {
		t.Fatalf("timeouts %v", got)
	}
	wantFault(t, d.Ops.SetTimeouts(map[string]string{"timeouts.card": "soon"}), CodeInvalid)
	wantFault(t, d.Ops.SetTimeouts(map[string]string{"timeouts.card": "1ms"}), CodeInvalid) // below 100 ms
	wantFault(t, d.Ops.SetTimeouts(map[string]string{"policy.supervisor_approval": "1s"}), CodeInvalid)
	if r := d.Session.Logout(); !r.OK {
		t.Fatal(r.Error)
	}
	wantFault(t, d.Ops.SetTimeouts(map[string]string{"timeouts.card": "30s"}), CodeUnauthorized)
}

// readyForApproval fills the open enrollment as the devices would (card, face, two real FVC
// fingers, the search, the form) and returns the fingers.
func readyForApproval(t *testing.T, d *Desk, citizen string, fingers []enroll.Finger) {
	t.Helper()
	fillEnrollment(t, d, citizen, fingers)
	if v := viewOf(t, d.Enrollment.Current()); len(v.Problems) != 0 {
		t.Fatalf("problems %+v", v.Problems)
	}
}

// fillEnrollment opens an enrollment and sets every step (the form last).
func fillEnrollment(t *testing.T, d *Desk, citizen string, fingers []enroll.Finger) {
	t.Helper()
	viewOf(t, d.Enrollment.Start())
	e := d.Enrollment
	e.mu.Lock()
	s := e.cur
	e.view.Chip = &ChipView{IDNumber: citizen}
	e.mu.Unlock()
	if err := s.SetChip(enroll.Chip{IDNumber: citizen, FullName: "NGUYEN VAN AN", Sex: "M",
		DateOfBirth: time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), DG1: []byte(citizen),
		Verdict: record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass}}); err != nil {
		t.Fatal(err)
	}
	face := enroll.Face{Score: 0.3, Threshold: 0.45, Decision: enroll.Match, Liveness: record.Pass, Portrait: []byte("\xff\xd8portrait")}
	if err := s.SetFace(face); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.faceRes = &face
	r := e.setFingers(fingers, nil)
	e.mu.Unlock()
	viewOf(t, r)
	if v := viewOf(t, e.FingersDone()); v.Step != StepForm || v.Dedup == nil || v.Dedup.Decision != "unique" {
		t.Fatalf("after the fingers: %+v", v)
	}
	viewOf(t, e.SubmitForm(FormInput{Mobile: "0912 345 678", Consent: true}))
}

// With the desk's default policy (supervisor review required, operator check on) the wizard's
// approval goes to the review queue, not the outbox: the done view says it waits and why (the
// operator check's flag travels with it), nothing is queued for the registry and the record is
// not yet in the de-duplication galleries. A crash (the desk closed, the item left half
// released) loses nothing: at the next unlock the review queue settles it, the supervisor
// releases it, and then it joins the galleries under its record id.
func TestWizardApprovalWaitsForTheSupervisor(t *testing.T) {
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opt := Options{KDF: fastKDF, Registry: id.Recipient(), LocalDedup: true}
	d, err := Open(ctx, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	d.Start(ctx)
	loggedInWithDefaults(t, d)
	deskID, _ := d.backend.DeskID(ctx)
	// Only the trust-store age rule is lifted (no CSCA store in this test); review stays required.
	if err := deskpolicy.Configure(ctx, d.DB, d.Audit, deskID, nil, func(s *settings.Settings) { s.Freeze.MaxTrustStoreDays = 0 }); err != nil {
		t.Fatal(err)
	}
	if r := d.App.Officers.Create(NewOfficer{ID: "cb.minh", Name: "Trần Văn Minh", Role: "officer", PIN: "135792"}); !r.OK {
		t.Fatal(r.Error)
	}
	stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase))
	stateOf(t, d.Session.Login("cb.minh", "135792"))

	readyForApproval(t, d, "001090123456", []enroll.Finger{fvcFinger(t, "101_1.tif", 2), fvcFinger(t, "102_1.tif", 7)})
	wantFault(t, d.Enrollment.Approve("000000"), CodeWrongPIN)
	v := viewOf(t, d.Enrollment.Approve("135792"))
	if v.Step != StepDone || !v.Pending || v.ItemID == "" || v.RecordID != "" || v.Seq != 0 ||
		!slices.Contains(v.PendingWhy, "policy") || !slices.Contains(v.PendingWhy, "flag:"+opcheck.FlagUnenrolled) {
		t.Fatalf("approval under review policy: %+v", v)
	}
	if c, err := outbox.CountStates(ctx, d.DB.DB); err != nil || c.Queued != 0 {
		t.Fatalf("outbox after a pending approval: %+v %v", c, err)
	}
	again := []enroll.Finger{fvcFinger(t, "101_3.tif", 2), fvcFinger(t, "102_3.tif", 7)}
	if got, err := d.backend.dedup.Search(ctx, enroll.Face{}, again); err != nil || got.Decision != "unique" {
		t.Fatalf("a pending record is in the galleries already: %+v %v", got, err)
	}
	items, err := review.List(ctx, d.DB, review.Filter{State: review.StatePending})
	if err != nil || len(items) != 1 || items[0].ItemID != v.ItemID || !slices.Contains(items[0].Flags, opcheck.FlagUnenrolled) {
		t.Fatalf("review queue %+v %v", items, err)
	}

	// The desk stops with the item caught mid-release (an older build's two-step release).
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := store.Open(ctx, filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `UPDATE review_items SET state = 'releasing' WHERE item_id = ?`, v.ItemID); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	d, err = Open(ctx, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(ctx)
	stateOf(t, d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN))
	stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase))
	rv := dataOf[ReviewView](t, d.Ops.Review(""))
	if len(rv.Pending) != 1 || rv.Pending[0].ItemID != v.ItemID {
		t.Fatalf("after the crash the item is not pending again: %+v", rv)
	}
	type res struct {
		ItemID   string `json:"itemId"`
		Seq      uint64 `json:"seq"`
		RecordID string `json:"recordId"`
		Code     string `json:"code"`
	}
	out := dataOf[[]res](t, d.Ops.ReviewApprove(supervisor.SupervisorPIN, []string{v.ItemID}))
	if len(out) != 1 || out[0].Code != "" || out[0].Seq != 1 || out[0].RecordID == "" {
		t.Fatalf("review approve %+v", out)
	}
	got, err := d.backend.dedup.Search(ctx, enroll.Face{}, again)
	if err != nil || got.Decision == "unique" || len(got.Candidates) != 1 || got.Candidates[0] != out[0].RecordID {
		t.Fatalf("released record %s not in the galleries: %+v %v", out[0].RecordID, got, err)
	}
	var left int
	if err := d.DB.QueryRowContext(ctx, `SELECT count(*) FROM review_gallery`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("gallery entries left %d %v", left, err)
	}
	if c, err := outbox.CountStates(ctx, d.DB.DB); err != nil || c.Queued != 1 {
		t.Fatalf("outbox after release: %+v %v", c, err)
	}
}

// A frozen desk refuses a new enrollment with the reasons (codes and figures) the window
// translates; lifting the rule lets it start.
func TestFrozenDeskRefusesANewEnrollment(t *testing.T) {
	ctx := context.Background()
	d, _ := openDesk(t)
	loggedInWithDefaults(t, d)
	f := wantFault(t, d.Enrollment.Start(), CodeFrozen)
	if f.Params["reasons"] != "trust-store-missing" || f.Params["trust-store-missing.limit"] == "" {
		t.Fatalf("frozen fault %+v", f)
	}
	if v := viewOf(t, d.Enrollment.Current()); v.Active {
		t.Fatalf("a refused start opened an enrollment: %+v", v)
	}
	deskID, _ := d.backend.DeskID(ctx)
	if err := deskpolicy.Configure(ctx, d.DB, d.Audit, deskID, nil, func(s *settings.Settings) {
		s.Freeze.MaxTrustStoreDays = 0
		s.Freeze.MaxPending = 0
	}); err != nil {
		t.Fatal(err)
	}
	if v := viewOf(t, d.Enrollment.Start()); !v.Active {
		t.Fatalf("start after the rule was lifted: %+v", v)
	}
}

// stillCamera is the desk camera's still-photo side over a real JPEG from the shared test data
// (the simulated camera's frame): the evidence photo of a declared exception.
type stillCamera struct{ path string }

func (c stillCamera) Snapshot(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.ReadFile(c.path)
}

// A declared exception takes its evidence photo from the desk camera, the fingers step shows the
// photo and the policy's per-finger errors (approval is refused until they are fixed), and the
// approved record waits for the supervisor because of the exception; the supervisor sees the
// photo in the review.
func TestExceptionEvidenceReachesTheSupervisor(t *testing.T) {
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	photoPath := filepath.Join("..", "..", "..", "shared", "testdata", "faces", "lfw", "Hans_Blix", "Hans_Blix_0001.jpg")
	photo, err := os.ReadFile(photoPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, t.TempDir(), Options{KDF: fastKDF, Registry: id.Recipient(), LocalDedup: true, Evidence: stillCamera{photoPath}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(ctx)
	loggedIn(t, d) // released at once unless an exception (deskpolicy.Relaxed keeps exception review)
	if r := d.App.Officers.Create(NewOfficer{ID: "cb.minh", Name: "Trần Văn Minh", Role: "officer", PIN: "135792"}); !r.OK {
		t.Fatal(r.Error)
	}
	stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase))
	stateOf(t, d.Session.Login("cb.minh", "135792"))
	fillEnrollment(t, d, "001090123456", []enroll.Finger{fvcFinger(t, "101_1.tif", 2)})
	e := d.Enrollment

	v := viewOf(t, e.DeclareFingerException(7, "bandaged"))
	var seven *FingerView
	for i := range v.Fingers {
		if v.Fingers[i].Position == 7 {
			seven = &v.Fingers[i]
		}
	}
	if seven == nil || seven.Exception != "bandaged" || seven.EvidenceURL != "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(photo) {
		t.Fatalf("declared finger %+v", v.Fingers)
	}
	// Default policy: two fingers, index fingers first, then thumbs: with the left index declared,
	// a thumb is owed, and the step says which.
	if len(v.FingerErrors) == 0 || !slices.ContainsFunc(v.FingerErrors, func(fe exceptions.FingerError) bool { return fe.Position == 1 && fe.Code == exceptions.CodeMissing }) {
		t.Fatalf("finger errors %+v", v.FingerErrors)
	}
	viewOf(t, e.FingersDone())
	wantFault(t, e.Approve("135792"), CodeConflict)

	e.mu.Lock()
	r := e.setFingers([]enroll.Finger{fvcFinger(t, "101_1.tif", 2), fvcFinger(t, "103_1.tif", 1)}, e.exceptions)
	e.mu.Unlock()
	if v := viewOf(t, r); len(v.FingerErrors) != 0 {
		t.Fatalf("finger errors with the thumb: %+v", v.FingerErrors)
	}
	viewOf(t, e.FingersDone())
	v = viewOf(t, e.Approve("135792"))
	if !v.Pending || !slices.Equal(v.PendingWhy, []string{"exceptions"}) {
		t.Fatalf("approval with an exception: %+v", v)
	}

	stateOf(t, d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN))
	det := dataOf[ReviewDetail](t, d.Ops.ReviewOpen(v.ItemID))
	if len(det.Exceptions) != 1 || det.Exceptions[0].Position != 7 || det.Exceptions[0].Reason != "bandaged" ||
		det.Exceptions[0].Photo != "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(photo) {
		t.Fatalf("review detail %+v", det.Exceptions)
	}
}

// Without a camera an exception cannot be declared: the evidence photo is required.
func TestExceptionNeedsTheCamera(t *testing.T) {
	d, _ := openDesk(t)
	loggedIn(t, d)
	viewOf(t, d.Enrollment.Start())
	d.Enrollment.mu.Lock()
	d.Enrollment.view.Chip = &ChipView{IDNumber: "001090123456"}
	d.Enrollment.mu.Unlock()
	if f := wantFault(t, d.Enrollment.DeclareFingerException(7, "bandaged"), CodeDeviceMissing); f.Params["device"] != "camera" {
		t.Fatalf("fault %+v", f)
	}
	wantFault(t, d.Enrollment.DeclareFingerException(7, "lost"), CodeInvalid)
}
