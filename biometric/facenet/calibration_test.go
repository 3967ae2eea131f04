package facenet

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/facenet/eval"
)

// calibrationTolerance is how far the shipped thresholds (facenet-eval: photos decoded by
// OpenCV, as the desk decodes the chip photo) may lie from the cgo-free recomputation (photos
// decoded by Go's image package): the two JPEG decoders' chroma upsampling moves the match
// threshold by 6.7e-5 and the review threshold by 7.7e-5 on the full data (2026-11-23).
const calibrationTolerance = 2e-4

func loadExpected(t *testing.T) Recalibration {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "calibration-expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Recalibration
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func loadCalibrationLandmarks(t *testing.T) LandmarkSet {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "calibration-landmarks.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseLandmarkSet(raw)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// The shipped calibration table holds an entry for exactly the installed model file and the
// shipped pipeline (a reconverted model or a changed preprocessing has another model-set id or
// name, and the desk then refuses to decide: match.ErrUncalibrated), and its thresholds are the
// ones the committed full recomputation gives.
func TestShippedCalibrationIsTheRecomputedOne(t *testing.T) {
	e, err := NewEngine(repoModels, DefaultModel, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	table, err := match.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	cal, err := table.Lookup(e.ModelSetID(), e.Name())
	if err != nil {
		t.Fatal(err)
	}
	exp := loadExpected(t).Calibration
	if exp.ModelSetID != e.ModelSetID() || exp.Engine != e.Name() {
		t.Fatalf("testdata/calibration-expected.json is for %s %s, the engine is %s %s: rerun facenet-calibrate -json",
			exp.Engine, exp.ModelSetID, e.Name(), e.ModelSetID())
	}
	if math.Abs(cal.MatchThreshold-exp.MatchThreshold) > calibrationTolerance ||
		math.Abs(cal.ReviewThreshold-exp.ReviewThreshold) > calibrationTolerance ||
		cal.Genuine != exp.Genuine || cal.Impostor != exp.Impostor || cal.MatchFMR != eval.TargetFMR || cal.ReviewFMR != ReviewFMR {
		t.Fatalf("shipped %+v\nrecomputed %+v", cal, exp)
	}
	if !(cal.MeasuredFNMR < 0.05) {
		t.Fatalf("shipped calibration FNMR %.2f %% at FMR 0.1 %%", 100*cal.MeasuredFNMR)
	}
}

// The recomputation itself, from the real photos and the stored landmarks through alignment,
// network, distances and thresholds, on a subset CI can afford under the race detector: the
// first 4 photos of each identity of the LFW East/Southeast Asian slice (20 photos, 30 genuine
// and 160 impostor pairs). It must give what `facenet-calibrate -slice lfw-east-southeast-asian
// -per-identity 4 -json testdata/calibration-subset.json` wrote; build/bench.d's
// facenet-calibration recomputes all 878 photos against the shipped entry.
func TestCalibrationRecomputedOnASubset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	slices, err := eval.LoadSlices("slices")
	if err != nil {
		t.Fatal(err)
	}
	var sl []eval.Slice
	for _, s := range slices {
		if s.Name == "lfw-east-southeast-asian" {
			sl = append(sl, s)
		}
	}
	if len(sl) != 1 {
		t.Fatal("no lfw-east-southeast-asian slice")
	}
	e, err := NewEngine(repoModels, DefaultModel, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Recalibrate(ctx, e, sharedTestdata, sl, loadCalibrationLandmarks(t), RecalibrateOptions{Workers: 2, SliceImagesOnly: true, PerIdentity: 4})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "calibration-subset.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want Recalibration
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	g, w := got.Calibration, want.Calibration
	t.Logf("subset: match %.6f review %.6f, EER threshold %.4f", g.MatchThreshold, g.ReviewThreshold, got.Rows[0].EER.Threshold)
	// Counts exactly; thresholds to 1e-5 (the GEMM kernel the CPU gets may round differently).
	if got.Images != 20 || g.Genuine != w.Genuine || g.Impostor != w.Impostor || g.ModelSetID != w.ModelSetID || g.Engine != w.Engine ||
		math.Abs(g.MatchThreshold-w.MatchThreshold) > 1e-5 || math.Abs(g.ReviewThreshold-w.ReviewThreshold) > 1e-5 ||
		len(got.Rows) != 1 || got.Rows[0].FTA != want.Rows[0].FTA || got.Rows[0].AtTarget.FNMR != want.Rows[0].AtTarget.FNMR ||
		math.Abs(got.Rows[0].EER.Threshold-want.Rows[0].EER.Threshold) > 1e-5 {
		t.Fatalf("recomputed %+v %+v\nexpected   %+v %+v", g, got.Rows, w, want.Rows)
	}
}

func TestLandmarkSetRoundTripAndRefusals(t *testing.T) {
	set := loadCalibrationLandmarks(t)
	if len(set.Photos) != 878 {
		t.Fatalf("%d photos", len(set.Photos))
	}
	b, err := set.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseLandmarkSet(b)
	if err != nil || !reflect.DeepEqual(back, set) {
		t.Fatalf("round trip: %v", err)
	}
	if lm, ok := set.Lookup(set.Photos[0].File); !ok || len(lm) != 68 {
		t.Fatalf("lookup: %d points", len(lm))
	}
	five := `[[1,2],[3,4],[5,6],[7,8],[9,10]]`
	for _, bad := range []string{
		`{"about":"","photos":[]}`,
		`{"about":"","photos":[{"file":"../x.jpg","landmarks":[]}]}`,
		`{"about":"","photos":[{"file":"/etc/x.jpg","landmarks":[]}]}`,
		`{"about":"","photos":[{"file":"a/./b.jpg","landmarks":[]}]}`,
		`{"about":"","photos":[{"file":"a.jpg","landmarks":[[1,2]]}]}`,
		`{"about":"","photos":[{"file":"a.jpg","landmarks":` + five + `},{"file":"a.jpg","landmarks":[]}]}`,
		`{"about":"","photos":[{"file":"a.jpg","landmarks":[[1,2],[3,4],[5,6],[7,8],[9,100000]]}]}`,
		`{"about":"","photos":[],"x":1}`,
	} {
		if _, err := ParseLandmarkSet([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if _, err := ParseLandmarkSet([]byte(`{"about":"","photos":[{"file":"a.jpg","landmarks":` + five + `}]}`)); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseLandmarkSet(f *testing.F) {
	f.Add([]byte(`{"about":"x","photos":[{"file":"faces/a/b.jpg","landmarks":[[1,2],[3,4],[5,6],[7,8],[9,10]]},{"file":"faces/a/c.jpg","landmarks":[]}]}`))
	f.Add([]byte(`{"about":"","photos":[{"file":"..","landmarks":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseLandmarkSet(b)
		if err != nil {
			return
		}
		for _, p := range s.Photos {
			if strings.HasPrefix(p.File, "/") || strings.HasPrefix(p.File, "../") || (len(p.Landmarks) != 0 && len(p.Landmarks) != 5 && len(p.Landmarks) != 68) {
				t.Fatalf("accepted %+v", p)
			}
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseLandmarkSet(out)
		if err != nil || len(back.Photos) != len(s.Photos) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
