package wire

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/index"
	"enrolldesk/desk/app"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/opcheck"
	"enrolldesk/desk/opstest"
	"enrolldesk/desk/settings"
	"enrolldesk/sync/record"
)

func shared(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "..", "shared", "testdata"}, parts...)...)
}

func blix(n string) string { return shared("faces", "lfw", "Hans_Blix", "Hans_Blix_"+n+".jpg") }

// headTurn is the simulated camera of the face package's liveness tests: LFW photos of Hans
// Blix looking straight (0003), turned to his left (0004, 0005) and to his right (0001), then
// straight at the camera alone (0006: 0003 has a second person beside him, which the quality
// gate refuses).
var headTurn = []ClipFrame{{blix("0003"), 4}, {blix("0004"), 3}, {blix("0005"), 2}, {blix("0003"), 2}, {blix("0001"), 4}, {blix("0003"), 2}, {blix("0006"), 3}}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The face step end to end on a real head-turn clip, with the face engine read from the desk's
// settings (a real store): by default (facenet) the same person matches and another person does
// not, each judged against the facenet calibration; after the registry's signed settings switch
// policy.face_engine to dlib, the next enrollment's decision is dlib's, against dlib's
// calibration.
func TestCameraFaceEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	fx := opstest.New(t)
	st := settings.New(fx.DB, fx.Audit, fx.Clock.Now)
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Burst: 2, EngineSetting: FaceEngineSetting(st)}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "turn.avi")
	if err := c.WriteClip(ctx, clip, headTurn, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: clip, FPS: 10}
	if st := c.Status(ctx); st.State != app.DeviceReady {
		t.Fatalf("status %+v", st)
	}
	facenetCal, dlibCal := calibrations(t, c)
	if facenetCal.MatchThreshold == dlibCal.MatchThreshold {
		t.Fatal("the two engines' calibrations cannot be told apart")
	}

	// Same person: another photo of Hans Blix as the chip photo.
	f, err := c.Capture(ctx, read(t, blix("0009")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("facenet, same person: distance %.3f threshold %.3f %s liveness %s", f.Score, f.Threshold, f.Decision, f.Liveness)
	if f.Decision != enroll.Match || f.Liveness != record.Pass || f.Threshold != facenetCal.MatchThreshold {
		t.Fatalf("same person: %s, liveness %s, threshold %v (facenet's %v)", f.Decision, f.Liveness, f.Threshold, facenetCal.MatchThreshold)
	}
	// The descriptor is the deciding engine's (facenet: 512-d), named with its model set, and
	// the calibration the approval's operator check uses for it is the same engine's.
	if len(f.Portrait) == 0 || len(f.Portrait) > 20<<10 || len(f.Descriptor) != index.FacenetDim {
		t.Fatalf("portrait %d bytes, descriptor %d", len(f.Portrait), len(f.Descriptor))
	}
	engineIs(t, c, f, facenetCal, settings.FaceEngineFacenet)

	// Different person as the chip photo.
	f, err = c.Capture(ctx, read(t, shared("faces", "lfw", "Abdullah_Gul", "Abdullah_Gul_0001.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("facenet, different person: distance %.3f %s", f.Score, f.Decision)
	if f.Decision != enroll.NoMatch || f.Threshold != facenetCal.MatchThreshold {
		t.Fatalf("different person: %s, threshold %v", f.Decision, f.Threshold)
	}

	// The registry switches the desk to dlib.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PinRegistryKey(ctx, "system", pub); err != nil {
		t.Fatal(err)
	}
	want := settings.Defaults()
	want.Policy.FaceEngine = settings.FaceEngineDlib
	doc, err := settings.Sign(settings.Document{DeskID: fx.Desk.ID, Serial: 1, IssuedAt: fx.Clock.Now().UnixMilli(), Settings: want}, priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ApplySigned(ctx, doc); err != nil {
		t.Fatal(err)
	}
	f, err = c.Capture(ctx, read(t, blix("0009")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dlib, same person: distance %.3f threshold %.3f %s", f.Score, f.Threshold, f.Decision)
	if f.Threshold != dlibCal.MatchThreshold || f.Decision != enroll.Match {
		t.Fatalf("after the switch to dlib: %s, threshold %v (dlib's %v)", f.Decision, f.Threshold, dlibCal.MatchThreshold)
	}
	if len(f.Descriptor) != index.DlibDim {
		t.Fatalf("dlib descriptor %d", len(f.Descriptor))
	}
	engineIs(t, c, f, dlibCal, settings.FaceEngineDlib)
}

// engineIs checks that a capture names the engine that decided (its Name and model set, those of
// want, the engine's calibration), that the operator check has a calibration for that pair
// (opcheck.Calibration), that GalleryCalibration is the engine's, and that the de-duplication gallery
// is told the same engine (DedupEngine).
func engineIs(t *testing.T, c *CameraFace, f enroll.Face, want match.Calibration, name string) {
	t.Helper()
	if f.Engine == "" || f.Engine != want.Engine || f.ModelSet != want.ModelSetID {
		t.Fatalf("capture names engine %q model set %q, want %q %q", f.Engine, f.ModelSet, want.Engine, want.ModelSetID)
	}
	if !strings.HasPrefix(f.Engine, name) {
		t.Fatalf("engine %q is not %s", f.Engine, name)
	}
	oc, err := opcheck.Calibration(f.Engine, f.ModelSet)
	if err != nil || oc.Engine != f.Engine || oc.ModelSetID != f.ModelSet || !(oc.MatchThreshold > 0) {
		t.Fatalf("operator check calibration for %s: %+v %v", f.Engine, oc, err)
	}
	gc, err := c.GalleryCalibration()
	if err != nil || gc.Engine != f.Engine || gc.ModelSetID != f.ModelSet {
		t.Fatalf("gallery calibration %+v %v", gc, err)
	}
	en, dc, err := c.DedupEngine(context.Background())
	if err != nil || en != name || dc.Engine != f.Engine {
		t.Fatalf("dedup engine %q %+v %v", en, dc, err)
	}
	sp, err := index.SpaceFor(en, dc)
	if err != nil || sp.Dim != len(f.Descriptor) {
		t.Fatalf("dedup space %+v for a %d-d descriptor: %v", sp, len(f.Descriptor), err)
	}
}

// calibrations returns the shipped calibrations of the facenet engine and of dlib for the
// installed models.
func calibrations(t *testing.T, c *CameraFace) (facenetCal, dlibCal match.Calibration) {
	t.Helper()
	ctx := context.Background()
	for _, e := range []string{settings.FaceEngineFacenet, settings.FaceEngineDlib} {
		sel, err := (&CameraFace{Models: c.Models, Engine: e, eng: c.eng, cals: c.cals, net: c.net}).selectEngine(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e == settings.FaceEngineFacenet {
			facenetCal = sel.cal
		} else {
			dlibCal = sel.cal
		}
	}
	return facenetCal, dlibCal
}

// The calibration of the descriptor Capture returns follows the engine: dlib's when the desk
// is set to dlib (its pipeline's model set), facenet's otherwise.
func TestGalleryCalibrationFollowsTheEngine(t *testing.T) {
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Engine: settings.FaceEngineDlib}
	defer c.Close()
	cal, err := c.GalleryCalibration()
	if err != nil {
		t.Fatal(err)
	}
	if cal.Engine != "dlib-resnet-v1+mirror+l2" || c.eng == nil || cal.ModelSetID != c.eng.Models().ID {
		t.Fatalf("gallery calibration %+v", cal)
	}
	c.Engine = settings.FaceEngineFacenet
	if cal, err = c.GalleryCalibration(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cal.Engine, "facenet-") || c.net == nil || cal.ModelSetID != c.net.ModelSetID() {
		t.Fatalf("gallery calibration %+v", cal)
	}
}

// An unknown engine name in the setting is refused before the camera opens.
func TestCameraFaceRefusesAnUnknownEngine(t *testing.T) {
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Source: face.Source{Name: "x.avi"}, Engine: "arcface"}
	if _, err := c.Capture(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "arcface") {
		t.Fatalf("unknown engine: %v", err)
	}
}

func TestCameraFaceMissingCamera(t *testing.T) {
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Source: face.Source{Name: filepath.Join(t.TempDir(), "none.avi")}}
	if st := c.Status(context.Background()); st.State != app.DeviceMissing {
		t.Fatalf("status %+v", st)
	}
}

// A still photo before the camera (the same person, looking straight) fails liveness.
func TestCameraFaceStillPhotoFailsLiveness(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Burst: 2}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "still.avi")
	if err := c.WriteClip(ctx, clip, []ClipFrame{{blix("0006"), 20}}, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: clip, FPS: 10}
	f, err := c.Capture(ctx, read(t, blix("0009")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("still photo: distance %.3f %s liveness %s", f.Score, f.Decision, f.Liveness)
	if f.Liveness != record.Fail {
		t.Fatalf("still photo passed liveness")
	}
}
