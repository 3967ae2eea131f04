package opcheck

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/facenet"
	"enrolldesk/biometric/facenet/eval"
	"enrolldesk/desk/opstest"
)

// repoRoot is the repository root, from this file's directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// sharedTestdata is ../shared/testdata from the repository root.
func sharedTestdata(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "testdata")
	if _, err := os.Stat(filepath.Join(dir, "faces")); err != nil {
		t.Fatalf("shared face data missing: %v", err)
	}
	return dir
}

// The shipped table holds a calibration for the desk's default face engine (policy.face_engine
// "facenet": facenet.DefaultModel with DefaultOptions) on the exact installed model file, set at
// FMR 0.1 % and flagging at most 0.1 % of honest enrollments on its worst slice of the test half.
func TestShippedCalibrationForTheDefaultEngine(t *testing.T) {
	e, err := facenet.NewEngine(filepath.Join(repoRoot(t), "models"), facenet.DefaultModel, facenet.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Calibration(e.Name(), e.ModelSetID())
	if err != nil {
		t.Fatal(err)
	}
	th, err := FaceThreshold(c, 0)
	if err != nil || th != c.MatchThreshold {
		t.Fatalf("threshold %v %v", th, err)
	}
	if c.MeasuredFMR > MaxFalseFlagRate || c.MatchFMR != MaxFalseFlagRate {
		t.Fatalf("shipped calibration flags %.3f %% of honest enrollments on its worst slice", 100*c.MeasuredFMR)
	}
	if _, err := Calibration(e.Name(), "0000000000000000000000000000000000000000000000000000000000000000"); !errors.Is(err, match.ErrUncalibrated) {
		t.Fatalf("another model set: %v", err)
	}
}

// facePhotos embeds the first perID photos of each test-half identity of the shared East Asian
// faces (faces/east_asian) with the desk's default facenet engine, aligned from the landmarks facenet-eval stored (the
// same face pipeline as the desk's; no cgo here).
func facePhotos(t *testing.T, perID int) (*facenet.Engine, map[string][]Photo) {
	t.Helper()
	root := sharedTestdata(t)
	e, err := facenet.NewEngine(filepath.Join(repoRoot(t), "models"), facenet.DefaultModel, facenet.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "biometric", "facenet", "testdata", "calibration-landmarks.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := facenet.ParseLandmarkSet(raw)
	if err != nil {
		t.Fatal(err)
	}
	ims, err := eval.ListDataset(filepath.Join(root, "faces", "east_asian"))
	if err != nil {
		t.Fatal(err)
	}
	// The test half of the identities, as opcheck-eval splits them (faces/east_asian sorts first
	// among all the shared identities, so its alternate identities are the same here).
	names := map[string][]Photo{}
	for _, im := range ims {
		names["east_asian/"+im.ID] = nil
	}
	_, test := SplitIdentities(names)
	var imgs []eval.Image
	n := map[string]int{}
	for _, im := range ims {
		if n[im.ID] < perID && slices.Contains(test, "east_asian/"+im.ID) {
			n[im.ID]++
			imgs = append(imgs, im)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	desc, err := facenet.DescribeStored(ctx, e, root, set, imgs, 2)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string][]Photo{}
	for _, im := range imgs {
		d, ok := desc[im.Path]
		if !ok {
			t.Fatalf("%s: no face", im.Path)
		}
		id := "east_asian/" + im.ID
		byID[id] = append(byID[id], Photo{ID: id, Asian: true, Desc: d})
	}
	return e, byID
}

// The operator check on real East/Southeast Asian faces through the real store, with the desk's
// default engine and its shipped operator-check calibration: each identity in turn is the
// logged-in officer (first photo enrolled), every photo of the others is an honest citizen and
// the officer's own second photo a self-enrollment. The photos are the first two of each
// identity of faces/east_asian in the test half, a subset CI affords under -race;
// build/bench.d/opcheck-eval measures all 877 usable photos.
func TestFacenetOperatorCheckOnAsianFaces(t *testing.T) {
	ctx := context.Background()
	e, byID := facePhotos(t, 2)
	cal, err := Calibration(e.Name(), e.ModelSetID())
	if err != nil {
		t.Fatal(err)
	}
	th, err := FaceThreshold(cal, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newChecker(t)
	c.FaceThreshold = th
	// The threshold was set on the other half, where at FMR 0.1 % up to 3 of its 3,160 Asian
	// impostor pairs lie under it by construction.
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var honest, flagged, self, caught int
	for _, off := range ids {
		own := byID[off][0]
		if err := c.Profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer,
			Profile{Faces: []Face{{Engine: e.Name(), ModelSet: e.ModelSetID(), Descriptor: own.Desc}}}); err != nil {
			t.Fatal(err)
		}
		for _, cit := range ids {
			for j, p := range byID[cit] {
				if cit == off && j == 0 {
					continue
				}
				r, err := c.Check(ctx, opstest.Officer, Citizen{Face: p.Desc, Engine: e.Name(), ModelSet: e.ModelSetID()})
				if err != nil {
					t.Fatal(err)
				}
				if !r.FaceCompared {
					t.Fatalf("%s vs %s: not compared", off, cit)
				}
				hit := slices.Contains(r.Flags, FlagFace)
				if cit == off {
					self++
					if hit {
						caught++
					}
				} else {
					honest++
					if hit {
						flagged++
					}
				}
			}
		}
	}
	t.Logf("%s at %.4f: %d/%d honest enrollments flagged, %d/%d self-enrollments caught", e.Name(), th, flagged, honest, caught, self)
	if len(ids) != 11 || honest != 11*10*2 || self != 11 {
		t.Fatalf("%d identities, %d honest, %d self", len(ids), honest, self)
	}
	// 0.1 % of 220 honest enrollments is 0.2: none may be flagged.
	if float64(flagged) > math.Floor(MaxFalseFlagRate*float64(honest)) {
		t.Errorf("%d of %d honest enrollments flagged", flagged, honest)
	}
	if caught*10 < self*8 {
		t.Errorf("only %d of %d self-enrollments caught", caught, self)
	}
}

// An officer whose face was enrolled with another engine or model set (the desk's
// policy.face_engine changed) is a clear error naming the engines, not a silent pass; an officer
// enrolled under both engines is compared under the citizen's.
func TestFaceFromAnotherEngineNeedsReenrolment(t *testing.T) {
	ctx := context.Background()
	c, _ := newChecker(t)
	dlib := Face{Engine: "dlib-resnet-v1+mirror+l2", ModelSet: "c3e568b0976a3015d737d4c2641105a54c2c3fb19dba4254", Descriptor: []float32{0.6, 0.8}}
	if err := c.Profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer, Profile{Faces: []Face{dlib}}); err != nil {
		t.Fatal(err)
	}
	cit := Citizen{Face: []float32{0.6, 0.8}, Engine: "facenet-frfeature-p2+mirror", ModelSet: "096feec3a83bca73a811628ac0035db1"}
	_, err := c.Check(ctx, opstest.Officer, cit)
	var re *ReenrollError
	if !errors.Is(err, ErrReenroll) || !errors.As(err, &re) || re.OfficerID != opstest.Officer ||
		re.Want != "facenet-frfeature-p2+mirror (models 096feec3a83b)" || !slices.Equal(re.Have, []string{"dlib-resnet-v1+mirror+l2 (models c3e568b0976a)"}) {
		t.Fatalf("engine changed: %v", err)
	}
	// Same engine, other model set (models replaced): the same error.
	if _, err := c.Check(ctx, opstest.Officer, Citizen{Face: cit.Face, Engine: dlib.Engine, ModelSet: "ffff"}); !errors.Is(err, ErrReenroll) {
		t.Fatalf("model set changed: %v", err)
	}
	if _, err := c.Check(ctx, opstest.Officer, Citizen{Face: cit.Face}); err == nil || errors.Is(err, ErrReenroll) {
		t.Fatalf("citizen face without engine: %v", err)
	}
	both := Face{Engine: cit.Engine, ModelSet: cit.ModelSet, Descriptor: []float32{0.6, 0.8}}
	if err := c.Profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer, Profile{Faces: []Face{dlib, both}}); err != nil {
		t.Fatal(err)
	}
	r, err := c.Check(ctx, opstest.Officer, cit)
	if err != nil || !r.FaceCompared || !slices.Equal(r.Flags, []string{FlagFace}) {
		t.Fatalf("enrolled under both: %+v %v", r, err)
	}
	if err := c.Profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer, Profile{Faces: []Face{{Engine: "e", Descriptor: []float32{1}}}}); err == nil {
		t.Fatal("a face without its model set enrolled")
	}
}

func TestThresholdAtAndCalibrate(t *testing.T) {
	p := func(id string, asian bool, x float32) Photo {
		return Photo{ID: id, Asian: asian, Desc: []float32{x, 0}}
	}
	byID := map[string][]Photo{
		"a": {p("a", true, 0), p("a", true, 0.1)},
		"b": {p("b", true, 1), p("b", true, 1.1)},
		"c": {p("c", true, 3), p("c", true, 3.1)},
		"d": {p("d", false, 0.05)},
	}
	all := func(Photo) bool { return true }
	// Impostor distances among a, b, c: a-b 0.9..1.1, a-c 2.9..3.1, b-c 1.9..2.1 (12 pairs): at
	// 0.1 % none may pass, so the threshold lies just under the closest pair.
	th, n, err := ThresholdAt(byID, []string{"a", "b", "c"}, all, MaxFalseFlagRate)
	if err != nil || n != 12 || !(th < 0.9) || th < 0.9-1e-6 {
		t.Fatalf("threshold %v over %d pairs: %v", th, n, err)
	}
	if _, _, err := ThresholdAt(byID, []string{"a"}, all, MaxFalseFlagRate); err == nil {
		t.Fatal("no impostor pairs accepted")
	}
	// x, y, z at 0, 1, 2: distances 1, 1, 2; at a rate of one in three the tie at 1 must not
	// admit two.
	tie := map[string][]Photo{"x": {p("x", true, 0)}, "y": {p("y", true, 1)}, "z": {p("z", true, 2)}}
	th, _, err = ThresholdAt(tie, []string{"x", "y", "z"}, all, 0.34)
	if err != nil || !(th < 1) || th < 1-1e-6 {
		t.Fatalf("tie threshold %v %v", th, err)
	}
	// Calibration half a, c (pairs 2.9..3.1, both slices); test half b, d: officer b catches its
	// own second photo, d (not in the Asian slice) is flagged against b and b against d.
	c, figs, err := Calibrate(byID, "eng", "set", "data")
	if err != nil || c.Engine != "eng" || c.ModelSetID != "set" || c.MatchThreshold != 2.899999 || c.ReviewThreshold != c.MatchThreshold {
		t.Fatalf("calibrate %+v %v", c, err)
	}
	want := []Figures{{Slice: "all", Honest: 3, Flagged: 3, Self: 1, Caught: 1}, {Slice: "East/Southeast Asian", Honest: 0, Self: 1, Caught: 1}}
	for i, f := range figs {
		if f.Slice != want[i].Slice || f.Honest != want[i].Honest || f.Flagged != want[i].Flagged || f.Self != want[i].Self || f.Caught != want[i].Caught || f.Pairs != 4 {
			t.Fatalf("slice %d: %+v, want %+v", i, f, want[i])
		}
	}
	if c.MeasuredFMR != 1 || c.MeasuredFNMR != 0 || c.Impostor != 4 {
		t.Fatalf("measured %+v", c)
	}
	if _, _, err := Calibrate(map[string][]Photo{"a": byID["a"]}, "eng", "set", ""); err == nil {
		t.Fatal("calibrated on one identity")
	}
}
