package wire

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/index"
	"enrolldesk/desk/app"
	"enrolldesk/desk/opcheck"
	"enrolldesk/desk/opstest"
	"enrolldesk/desk/settings"
	"enrolldesk/sync/record"
)

// An officer's own face (no reference photo) on the real head-turn clip: the same liveness
// challenge and previews as a citizen's, no decision, the face described under facenet (the
// selected engine) and dlib. Stored as the officer's profile, it flags a later citizen capture
// of the same person after the desk switched to dlib, with no re-enrollment asked; another
// person's face is not flagged.
func TestOfficerFaceUnderEveryEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var previews atomic.Int64
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Burst: 2, Engine: settings.FaceEngineFacenet,
		Preview: func(app.FacePreview) { previews.Add(1) }}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "turn.avi")
	if err := c.WriteClip(ctx, clip, headTurn, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: clip, FPS: 10}
	facenetCal, dlibCal := calibrations(t, c)

	off, err := c.Capture(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if off.Liveness != record.Pass || off.Decision != "" || off.Score != 0 || off.Threshold != 0 || len(off.Portrait) == 0 {
		t.Fatalf("officer capture: liveness %s decision %q score %v threshold %v portrait %d bytes", off.Liveness, off.Decision, off.Score, off.Threshold, len(off.Portrait))
	}
	if previews.Load() == 0 {
		t.Fatal("no live preview during the officer's capture")
	}
	if off.Engine != facenetCal.Engine || off.ModelSet != facenetCal.ModelSetID || len(off.Descriptor) != index.FacenetDim {
		t.Fatalf("selected engine %q %q, %d-d", off.Engine, off.ModelSet, len(off.Descriptor))
	}
	if len(off.Alternates) != 1 {
		t.Fatalf("alternates %d, want dlib's", len(off.Alternates))
	}
	alt := off.Alternates[0]
	if alt.Engine != dlibCal.Engine || alt.ModelSet != dlibCal.ModelSetID || len(alt.Descriptor) != index.DlibDim {
		t.Fatalf("alternate %q %q, %d-d", alt.Engine, alt.ModelSet, len(alt.Descriptor))
	}
	for _, f := range []struct{ engine, models string }{{off.Engine, off.ModelSet}, {alt.Engine, alt.ModelSet}} {
		if _, err := opcheck.Calibration(f.engine, f.models); err != nil {
			t.Fatalf("no operator-check calibration for %s: %v", f.engine, err)
		}
	}

	// The officer's profile, as the onboarding saves it.
	fx := opstest.New(t)
	profiles, err := opcheck.NewStore(fx.DB, fx.Audit, fx.Keys.DataKey, fx.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	p := opcheck.Profile{Faces: []opcheck.Face{{Engine: off.Engine, ModelSet: off.ModelSet, Descriptor: off.Descriptor}, {Engine: alt.Engine, ModelSet: alt.ModelSet, Descriptor: alt.Descriptor}}}
	if err := profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer, p); err != nil {
		t.Fatal(err)
	}
	oc, err := opcheck.Calibration(dlibCal.Engine, dlibCal.ModelSetID)
	if err != nil {
		t.Fatal(err)
	}
	th, err := opcheck.FaceThreshold(oc, 0)
	if err != nil {
		t.Fatal(err)
	}
	check := &opcheck.Checker{Profiles: profiles, FaceThreshold: th, FingerThreshold: 100}

	// The desk now describes faces with dlib; the officer enrolls themself as a citizen.
	c.Engine = settings.FaceEngineDlib
	cit, err := c.Capture(ctx, read(t, blix("0009")))
	if err != nil {
		t.Fatal(err)
	}
	if cit.Engine != dlibCal.Engine || len(cit.Alternates) != 0 {
		t.Fatalf("citizen capture engine %q with %d alternates", cit.Engine, len(cit.Alternates))
	}
	r, err := check.Check(ctx, opstest.Officer, opcheckCitizen(cit.Descriptor, cit.Engine, cit.ModelSet))
	var re *opcheck.ReenrollError
	if errors.As(err, &re) {
		t.Fatalf("re-enrollment asked after the engine switch: %v", err)
	}
	t.Logf("officer as citizen under dlib: distance %.3f threshold %.3f", r.FaceDistance, th)
	if err != nil || !r.FaceCompared || !slices.Contains(r.Flags, opcheck.FlagFace) {
		t.Fatalf("the officer's own face not flagged: %+v %v", r, err)
	}

	// Another person's face under dlib (the chip photo path describes it) is not flagged.
	sel, err := c.selectNamed(settings.FaceEngineDlib)
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := sel.describeChip(ctx, read(t, shared("faces", "lfw", "Abdullah_Gul", "Abdullah_Gul_0001.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	r, err = check.Check(ctx, opstest.Officer, opcheckCitizen(other, sel.engine, sel.modelSet))
	t.Logf("another person under dlib: distance %.3f", r.FaceDistance)
	if err != nil || !r.FaceCompared || slices.Contains(r.Flags, opcheck.FlagFace) {
		t.Fatalf("another person flagged: %+v %v", r, err)
	}
}

func opcheckCitizen(d []float32, engine, models string) opcheck.Citizen {
	return opcheck.Citizen{Face: d, Engine: engine, ModelSet: models}
}
