package opcheck

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/finger"
	"enrolldesk/desk/opstest"
	"enrolldesk/desk/settings"
)

// fvcDir is FVC2002 DB1 set B in the shared test data (../shared/testdata from the repo root).
func fvcDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "fingerprints", "fvc2002_db1_b")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared fingerprint data missing: %v", err)
	}
	return dir
}

var (
	tplOnce sync.Once
	tpls    map[string][]byte // "101_1" -> template
	tplErr  error
)

// templates extracts every FVC2002 DB1_B image once (all cores).
func templates(t testing.TB) map[string][]byte {
	t.Helper()
	dir := fvcDir(t)
	tplOnce.Do(func() {
		tpls = map[string][]byte{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		for f := 101; f <= 110; f++ {
			for i := 1; i <= impressions(); i++ {
				wg.Add(1)
				go func(name string) {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					img, err := finger.LoadImage(filepath.Join(dir, name+".tif"))
					var b []byte
					if err == nil {
						var tp *finger.Template
						if tp, err = finger.Extract(img); err == nil {
							b, err = tp.MarshalBinary()
						}
					}
					mu.Lock()
					defer mu.Unlock()
					if err != nil && tplErr == nil {
						tplErr = fmt.Errorf("%s: %w", name, err)
					}
					tpls[name] = b
				}(fmt.Sprintf("%d_%d", f, i))
			}
		}
		wg.Wait()
	})
	if tplErr != nil {
		t.Fatal(tplErr)
	}
	return tpls
}

// impressions per finger used: all 8, or 3 under the race detector.
func impressions() int {
	if raceEnabled {
		return 3
	}
	return 8
}

func newChecker(t *testing.T) (*Checker, *opstest.Fixture) {
	t.Helper()
	f := opstest.New(t)
	st, err := NewStore(f.DB, f.Audit, f.Keys.DataKey, f.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &Checker{Profiles: st, Audit: f.Audit, FaceThreshold: 0.4, FingerThreshold: settings.Defaults().Thresholds.OperatorFingerScore}, f
}

// TestFingerOperatorCheckOnFVC: each of the ten FVC2002 DB1_B fingers in turn is the officer's
// (impression 1 enrolled); every impression of the nine other fingers is an honest citizen, the
// officer's own impressions 2-8 are self-enrollment attempts.
func TestFingerOperatorCheckOnFVC(t *testing.T) {
	ctx := context.Background()
	c, f := newChecker(t)
	tp := templates(t)
	var honest, falseFlags, self, caught int
	for off := 101; off <= 110; off++ {
		if err := c.Profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer, Profile{Fingers: []Finger{{Position: 2, Template: tp[fmt.Sprintf("%d_1", off)]}}}); err != nil {
			t.Fatal(err)
		}
		for cit := 101; cit <= 110; cit++ {
			for i := 1; i <= impressions(); i++ {
				if cit == off && i == 1 {
					continue
				}
				r, err := c.Check(ctx, opstest.Officer, Citizen{Fingers: []Finger{{Position: 2, Template: tp[fmt.Sprintf("%d_%d", cit, i)]}}})
				if err != nil {
					t.Fatal(err)
				}
				flagged := slices.Contains(r.Flags, FlagFinger)
				if cit == off {
					self++
					if flagged {
						caught++
					}
				} else {
					honest++
					if flagged {
						falseFlags++
					}
				}
			}
		}
	}
	t.Logf("finger operator check at score %.0f: %d/%d honest enrollments flagged, %d/%d self-enrollments caught",
		c.FingerThreshold, falseFlags, honest, caught, self)
	if float64(falseFlags) > MaxFalseFlagRate*float64(honest) {
		t.Errorf("%d of %d honest enrollments flagged: over %.1f %%", falseFlags, honest, 100*MaxFalseFlagRate)
	}
	if caught*2 < self {
		t.Errorf("only %d of %d self-enrollments caught", caught, self)
	}
	if _, err := f.Audit.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestFaceFlagAndUnenrolled(t *testing.T) {
	ctx := context.Background()
	c, f := newChecker(t)
	head := f.Head(t)
	r, err := c.Check(ctx, opstest.Officer, Citizen{Face: []float32{1, 0}, Engine: "e", ModelSet: "m"})
	if err != nil || !slices.Equal(r.Flags, []string{FlagUnenrolled}) {
		t.Fatalf("unenrolled: %+v %v", r, err)
	}
	own := []float32{0.6, 0.8}
	if err := c.Profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer, Profile{Faces: []Face{{Engine: "e", ModelSet: "m", Descriptor: own}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		face     []float32
		engine   string
		flags    []string
		compared bool
	}{
		{[]float32{0.6, 0.8}, "e", []string{FlagFace}, true},  // distance 0
		{[]float32{0.6, 1.19}, "e", []string{FlagFace}, true}, // 0.39 ≤ 0.4
		{[]float32{0.6, 1.21}, "e", []string{}, true},         // 0.41 > 0.4
	} {
		r, err := c.Check(ctx, opstest.Officer, Citizen{Face: tc.face, Engine: tc.engine, ModelSet: "m"})
		if err != nil || !slices.Equal(r.Flags, tc.flags) || r.FaceCompared != tc.compared {
			t.Fatalf("%v: %+v %v", tc.face, r, err)
		}
	}
	if _, err := c.Check(ctx, opstest.Officer, Citizen{Face: []float32{1, 2, 3}, Engine: "e", ModelSet: "m"}); err == nil {
		t.Fatal("descriptor of another length compared")
	}
	got := f.Actions(t, head)
	if !slices.Equal(got, []string{"opcheck.flag", "officer.biometrics", "opcheck.flag", "opcheck.flag"}) {
		t.Fatalf("audit %v", got)
	}
	// The profile is sealed: the stored bytes do not hold the descriptor in clear.
	var raw []byte
	if err := f.DB.QueryRowContext(ctx, `SELECT profile FROM officer_biometrics WHERE officer_id = ?`, opstest.Officer).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	p, err := c.Profiles.Load(ctx, opstest.Officer)
	if err != nil || len(p.Faces) != 1 {
		t.Fatalf("load %+v %v", p, err)
	}
	if _, err := c.Profiles.Load(ctx, opstest.Officer2); !errors.Is(err, ErrNoProfile) {
		t.Fatalf("no profile: %v", err)
	}
}

func TestFaceThresholdFromCalibration(t *testing.T) {
	if _, err := FaceThreshold(match.Calibration{}, 0); !errors.Is(err, match.ErrUncalibrated) {
		t.Fatalf("uncalibrated: %v", err)
	}
	if _, err := FaceThreshold(match.Calibration{MatchThreshold: 0.5, MatchFMR: 0.01}, 0); err == nil {
		t.Fatal("a 1 % FMR threshold accepted for a 0.1 % budget")
	}
	th, err := FaceThreshold(match.Calibration{MatchThreshold: 0.42, MatchFMR: 0.001}, -0.02)
	if err != nil || math.Abs(th-0.40) > 1e-12 {
		t.Fatalf("%v %v", th, err)
	}
}
