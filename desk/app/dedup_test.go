package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/facenet"
	"enrolldesk/biometric/facenet/eval"
	"enrolldesk/biometric/finger/fingertest"
	"enrolldesk/biometric/index"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
	"enrolldesk/sync/record"
)

// fvcFinger extracts a real FVC2002 DB1 impression into the ISO/IEC 19794-2 record the sensor
// step produces.
func fvcFinger(t *testing.T, name string, position int) enroll.Finger {
	t.Helper()
	b, q := fingertest.ISORecord(t, filepath.Join("..", "..", "..", "shared", "testdata", "fingerprints", "fvc2002_db1_b", name), position)
	return enroll.Finger{Position: position, Quality: q, Decision: enroll.Captured, Template: b, TemplateFormat: "iso19794-2:2005"}
}

// galleryStore is a fresh desk store and a random desk data key for the galleries.
func galleryStore(t *testing.T) (*store.DB, []byte) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return db, key
}

// shippedDlibCalibration is the shipped calibration of dlib's engine.
func shippedDlibCalibration(t *testing.T, table match.Table) match.Calibration {
	t.Helper()
	for _, c := range table.Calibrations {
		if strings.HasPrefix(c.Engine, "dlib-") {
			return c
		}
	}
	t.Fatal("no dlib calibration shipped")
	return match.Calibration{}
}

func TestIndexDedupFindsAnEnrolledPersonAgain(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	d := NewIndexDedup(db)
	var ce *CodedError
	if _, err := d.Search(ctx, enroll.Face{}, nil); !errors.As(err, &ce) || ce.Code != CodeDeskLocked {
		t.Fatalf("search before unlock: %v", err)
	}
	if err := d.Open(ctx, key); err != nil {
		t.Fatal(err)
	}
	// Person A: FVC2002 DB1 fingers 101 and 102 as the two index fingers (impression 1).
	first := []enroll.Finger{fvcFinger(t, "101_1.tif", 2), fvcFinger(t, "102_1.tif", 7)}
	if got, err := d.Search(ctx, enroll.Face{}, first); err != nil || got.Decision != "unique" || got.GallerySize != 0 || len(got.Candidates) != 0 {
		t.Fatalf("empty gallery: %+v %v", got, err)
	}
	if err := d.Enrolled(ctx, "rec-1", "001090000001", enroll.Face{}, first); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// The galleries live in the desk store: a restarted desk finds person A again from other
	// impressions of the same fingers, and not someone else. Both fingers clear the calibrated
	// strong threshold (index.DefaultPolicy), which is "duplicate" even without a face
	// (index.Dedup's rule).
	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d = NewIndexDedup(db)
	if err := d.Open(ctx, key); err != nil {
		t.Fatal(err)
	}
	again := []enroll.Finger{fvcFinger(t, "101_3.tif", 2), fvcFinger(t, "102_3.tif", 7)}
	got, err := d.Search(ctx, enroll.Face{}, again)
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision != "duplicate" || len(got.Candidates) != 1 || got.Candidates[0] != "rec-1" || got.GallerySize != 2 {
		t.Fatalf("second enrollment of the same person: %+v", got)
	}
	other := []enroll.Finger{fvcFinger(t, "103_1.tif", 2), fvcFinger(t, "104_1.tif", 7)}
	if got, err := d.Search(ctx, enroll.Face{}, other); err != nil || got.Decision != "unique" {
		t.Fatalf("another person: %+v %v", got, err)
	}
	// A corrupt template is an error, not a silent "unique".
	bad := fvcFinger(t, "101_2.tif", 2)
	bad.Template = bad.Template[:10]
	if _, err := d.Search(ctx, enroll.Face{}, []enroll.Finger{bad}); err == nil {
		t.Fatal(fmt.Errorf("truncated template accepted"))
	}
	// The wrong data key cannot open the sealed galleries.
	wrong := make([]byte, 32)
	if err := NewIndexDedup(db).Open(ctx, wrong); err == nil {
		t.Fatal("galleries opened with the wrong data key")
	}
}

// The bound approval adds the enrollment to the desk's galleries: the next applicant with the
// same fingers is found, the approved record named as the candidate.
func TestApprovalFeedsTheGalleries(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), t.TempDir(), Options{KDF: fastKDF, Registry: id.Recipient(), LocalDedup: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(context.Background())
	loggedIn(t, d)
	stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase))
	viewOf(t, d.Enrollment.Start())
	e := d.Enrollment
	e.mu.Lock()
	s := e.cur
	e.view.Chip = &ChipView{IDNumber: "001090123456"}
	e.mu.Unlock()
	if err := s.SetChip(enroll.Chip{IDNumber: "001090123456", FullName: "NGUYEN VAN AN", Sex: "M",
		DateOfBirth: time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), DG1: []byte{0x61, 0x00},
		Verdict: record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass}}); err != nil {
		t.Fatal(err)
	}
	face := enroll.Face{Score: 0.3, Threshold: 0.45, Decision: enroll.Match, Liveness: record.Pass, Portrait: []byte("portrait")}
	if err := s.SetFace(face); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.faceRes = &face
	r := e.setFingers([]enroll.Finger{fvcFinger(t, "101_1.tif", 2), fvcFinger(t, "102_1.tif", 7)}, nil)
	e.mu.Unlock()
	viewOf(t, r)
	v := viewOf(t, e.FingersDone())
	if v.Step != StepForm {
		t.Fatalf("after the fingers: %+v", v)
	}
	// The window hears the search's outcome (the galleries are still empty).
	if v.Dedup == nil || v.Dedup.Decision != "unique" || v.Dedup.GallerySize != 0 || v.Dedup.Candidates != 0 {
		t.Fatalf("de-duplication view after the first search: %+v", v.Dedup)
	}
	viewOf(t, e.SubmitForm(FormInput{Mobile: "0912 345 678", Consent: true}))
	v = viewOf(t, e.Approve(supervisor.SupervisorPIN))
	if v.Step != StepDone || v.RecordID == "" {
		t.Fatalf("after approval %+v", v)
	}
	got, err := d.backend.dedup.Search(context.Background(), enroll.Face{}, []enroll.Finger{fvcFinger(t, "101_3.tif", 2), fvcFinger(t, "102_3.tif", 7)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision == "unique" || len(got.Candidates) != 1 || got.Candidates[0] != v.RecordID {
		t.Fatalf("after approval of %s: %+v", v.RecordID, got)
	}
}

// facenetFaces describes real photos of faces/east_asian with the desk's default facenet engine
// (aligned from the landmarks facenet-eval stored; cgo-free): two photos of CN_t101 and one of
// CN_t102.
func facenetFaces(t *testing.T) (*facenet.Engine, []enroll.Face) {
	t.Helper()
	root := filepath.Join("..", "..", "..", "shared", "testdata")
	e, err := facenet.NewEngine(filepath.Join("..", "..", "models"), facenet.DefaultModel, facenet.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "biometric", "facenet", "testdata", "calibration-landmarks.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := facenet.ParseLandmarkSet(raw)
	if err != nil {
		t.Fatal(err)
	}
	var imgs []eval.Image
	for _, f := range []struct{ id, file string }{{"CN_t101", "101_2.jpg"}, {"CN_t101", "101_13.jpg"}, {"CN_t102", "102_1.jpg"}} {
		imgs = append(imgs, eval.Image{ID: f.id, Path: filepath.Join(root, "faces", "east_asian", f.id, f.file)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	desc, err := facenet.DescribeStored(ctx, e, root, set, imgs, 2)
	if err != nil {
		t.Fatal(err)
	}
	var out []enroll.Face
	for _, im := range imgs {
		d, ok := desc[im.Path]
		if !ok {
			t.Fatalf("%s: no face", im.Path)
		}
		out = append(out, enroll.Face{Descriptor: d})
	}
	return e, out
}

// The face gallery follows the desk's face engine: with facenet (the default policy) it holds
// 512-d descriptors judged by facenet's calibrated thresholds; the same person's other photo is
// found (a strong face alone: review), another person is not; switching the engine to dlib
// reopens the gallery in dlib's space, where the facenet entries are not searched and a 512-d
// descriptor is refused, and switching back finds them again.
func TestIndexDedupFollowsTheFaceEngine(t *testing.T) {
	ctx := context.Background()
	db, key := galleryStore(t)
	table, err := match.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	e, faces := facenetFaces(t)
	netCal, err := table.Lookup(e.ModelSetID(), e.Name())
	if err != nil {
		t.Fatal(err)
	}
	dlibCal := shippedDlibCalibration(t, table)
	engine := settings.FaceEngineFacenet
	d := NewIndexDedup(db)
	d.FaceEngine = func(context.Context) (string, match.Calibration, error) {
		if engine == settings.FaceEngineDlib {
			return engine, dlibCal, nil
		}
		return engine, netCal, nil
	}
	if err := d.Open(ctx, key); err != nil {
		t.Fatal(err)
	}
	if sp := d.FaceSpace(); sp.Dim != index.FacenetDim || sp.Engine != netCal.Engine+"@"+netCal.ModelSetID {
		t.Fatalf("space %+v", sp)
	}
	if err := d.Enrolled(ctx, "rec-1", "001090000001", faces[0], nil); err != nil {
		t.Fatal(err)
	}
	got, err := d.Search(ctx, faces[1], nil)
	if err != nil || got.Decision != "review" || len(got.Candidates) != 1 || got.Candidates[0] != "rec-1" || got.GallerySize != 1 {
		t.Fatalf("same person, another photo: %+v %v", got, err)
	}
	if got, err := d.Search(ctx, faces[2], nil); err != nil || got.Decision != "unique" || len(got.Candidates) != 0 {
		t.Fatalf("another person: %+v %v", got, err)
	}

	engine = settings.FaceEngineDlib
	if _, err := d.Search(ctx, faces[1], nil); !errors.Is(err, index.ErrDimension) {
		t.Fatalf("a 512-d descriptor in dlib's gallery: %v", err)
	}
	dlib128 := enroll.Face{Descriptor: append([]float32(nil), faces[1].Descriptor[:index.DlibDim]...)}
	if got, err := d.Search(ctx, dlib128, nil); err != nil || got.GallerySize != 0 || got.Decision != "unique" || d.FaceSpace().Dim != index.DlibDim {
		t.Fatalf("dlib's gallery: %+v %v (space %+v)", got, err, d.FaceSpace())
	}
	engine = settings.FaceEngineFacenet
	if got, err := d.Search(ctx, faces[1], nil); err != nil || got.GallerySize != 1 || got.Decision != "review" {
		t.Fatalf("back to facenet: %+v %v", got, err)
	}
}

// A desk whose face models are broken still unlocks (signing, review and export do not need the
// galleries); the galleries open at the first search once the engine resolves, and until then a
// search names the engine's fault.
func TestIndexDedupOpensLaterWhenTheFaceEngineIsBroken(t *testing.T) {
	ctx := context.Background()
	db, key := galleryStore(t)
	table, err := match.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	dlibCal := shippedDlibCalibration(t, table)
	broken := errors.New("shape_predictor_5_face_landmarks.dat missing")
	d := NewIndexDedup(db)
	var ce *CodedError
	if _, err := d.Search(ctx, enroll.Face{}, nil); !errors.As(err, &ce) || ce.Code != CodeDeskLocked {
		t.Fatalf("search before unlock: %v", err)
	}
	d.FaceEngine = func(context.Context) (string, match.Calibration, error) {
		if broken != nil {
			return "", match.Calibration{}, broken
		}
		return settings.FaceEngineDlib, dlibCal, nil
	}
	if err := d.Open(ctx, key); err != nil {
		t.Fatalf("unlock with broken face models: %v", err)
	}
	if _, err := d.Search(ctx, enroll.Face{}, nil); !errors.Is(err, broken) {
		t.Fatalf("search with broken face models: %v", err)
	}
	broken = nil
	got, err := d.Search(ctx, enroll.Face{Descriptor: make([]float32, index.DlibDim)}, nil)
	if err != nil || got.Decision != "unique" || d.FaceSpace().Dim != index.DlibDim {
		t.Fatalf("once the models are back: %+v %v", got, err)
	}
}
