package index

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"enrolldesk/biometric/finger"
)

// calibImageFingers is how many image-derived fingers of testdata/imgfingers.bin (3 impressions
// each) join the calibration: 3 genuine pairs each, and impression 1 of every finger against
// impression 2 of every other as impostors.
const calibImageFingers = 120

// fingerCalibScores compares, with the current biometric/finger matcher, every genuine and
// cross-finger pair of FVC2002 DB1_B and FVC2000 DB4_B (../shared/testdata) and the pairs of
// calibImageFingers image-derived fingers.
func fingerCalibScores(t testing.TB) (genuine, impostor []float64) {
	t.Helper()
	for _, set := range []string{"fvc2002_db1_b", "fvc2000_db4_b"} {
		samples, err := finger.LoadDir(filepath.Join(testdataDir(t), "fingerprints", set))
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) != 80 {
			t.Fatalf("%s: %d images, want 80", set, len(samples))
		}
		r, err := finger.Evaluate(context.Background(), samples)
		if err != nil {
			t.Fatalf("%s: %v", set, err)
		}
		genuine = append(genuine, r.Genuine...)
		impostor = append(impostor, r.Impostor...)
	}
	img := imgFingers(t, func(f, _ int) bool { return f < calibImageFingers })
	p := make([][4]*finger.Probe, calibImageFingers)
	for f := range p {
		for imp := 1; imp <= 3; imp++ {
			if img[f][imp] == nil {
				t.Fatalf("image finger %d impression %d missing", f, imp)
			}
			p[f][imp] = finger.NewProbe(img[f][imp])
		}
		genuine = append(genuine, p[f][1].MatchProbe(p[f][2]), p[f][1].MatchProbe(p[f][3]), p[f][2].MatchProbe(p[f][3]))
	}
	rows := make([][]float64, calibImageFingers)
	parallel(runtime.GOMAXPROCS(0), calibImageFingers, func(_, lo, hi int) {
		for a := lo; a < hi; a++ {
			for b := range calibImageFingers {
				if a != b {
					rows[a] = append(rows[a], p[a][1].MatchProbe(p[b][2]))
				}
			}
		}
	})
	for _, r := range rows {
		impostor = append(impostor, r...)
	}
	return genuine, impostor
}

// TestFingerThresholdsCalibrated recomputes the finger thresholds from the current matcher's
// scores and fails when DefaultPolicy's have drifted from them: a matcher change that moves the
// impostor tail must come with new thresholds (the failure says which).
func TestFingerThresholdsCalibrated(t *testing.T) {
	g, im := fingerCalibScores(t)
	tg := DefaultFingerTargets
	c, err := CalibrateFinger(g, im, tg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("finger calibration: %d genuine, %d impostor comparisons; impostor max %.2f; tail above %.2f (P0 %.3f): sigma %.3f xi %.3f",
		c.Genuine, c.Pairs, c.ImpostorMax, c.Tail.T0, c.Tail.P0, c.Tail.Sigma, c.Tail.Xi)
	t.Logf("finger calibration: weak %.1f (search FMR %.0e at %d fingers, genuine %.1f %% above), strong %.1f (%.0e, genuine %.1f %%)",
		c.Weak, tg.WeakAlpha, tg.Gallery, 100*c.GenuineWeak, c.Strong, tg.StrongAlpha, 100*c.GenuineStrong)
	for _, n := range []int{1_000, 10_000, 100_000} {
		t.Logf("finger calibration: gallery %7d fingers: weak %.1f strong %.1f", n,
			c.Tail.ScoreForSearch(tg.WeakAlpha, n), c.Tail.ScoreForSearch(tg.StrongAlpha, n))
	}
	// The tail model must describe the measured tail: at the empirical 1e-3 point of the impostor
	// scores the model's FMR is within a factor of 2.
	s := slices.Clone(im)
	slices.Sort(s)
	q := s[len(s)-len(s)/1000-1]
	if f := c.Tail.FMR(q); f < 0.5e-3 || f > 2e-3 {
		t.Errorf("tail model FMR at the empirical 1e-3 quantile (%.2f) is %.2g", q, f)
	}
	// DefaultPolicy must still meet the targets within a factor of 10 either way (about ±2 points):
	// looser lets impostors through, tighter drops genuine duplicates for nothing.
	pol := DefaultPolicy
	for _, x := range []struct {
		name  string
		th    float64
		alpha float64
	}{{"FingerWeak", pol.FingerWeak, tg.WeakAlpha}, {"FingerStrong", pol.FingerStrong, tg.StrongAlpha}} {
		f := c.Tail.SearchFMR(x.th, tg.Gallery)
		t.Logf("DefaultPolicy.%s = %.1f: modelled false alarm per search %.2g (target %.0e)", x.name, x.th, f, x.alpha)
		if f > 10*x.alpha || f < x.alpha/10 {
			t.Errorf("DefaultPolicy.%s = %.1f gives a false alarm per search of %.2g at %d fingers (target %.0e): recalibrate to FingerWeak %.1f, FingerStrong %.1f",
				x.name, x.th, f, tg.Gallery, x.alpha, c.Weak, c.Strong)
		}
	}
	if c.ImpostorMax >= pol.FingerWeak {
		t.Errorf("a measured impostor pair scores %.2f ≥ FingerWeak %.1f", c.ImpostorMax, pol.FingerWeak)
	}
	// The matcher must still separate: most genuine pairs of these hard sets reach weak.
	if c.GenuineWeak < 0.5 {
		t.Errorf("only %.1f %% of genuine pairs reach FingerWeak", 100*c.GenuineWeak)
	}
}

func TestImpostorTailRecoversKnownTails(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, want := range []ImpostorTail{{Sigma: 1.5, Xi: 0}, {Sigma: 1, Xi: 0.2}} {
		// A distribution whose tail above 10 is exactly the wanted GPD, with P0 = 0.05.
		xs := make([]float64, 200_000)
		for i := range xs {
			if rng.Float64() >= 0.05 {
				xs[i] = 10 * rng.Float64()
				continue
			}
			u := rng.Float64()
			if want.Xi == 0 {
				xs[i] = 10 - want.Sigma*math.Log(u)
			} else {
				xs[i] = 10 + want.Sigma/want.Xi*(math.Pow(u, -want.Xi)-1)
			}
		}
		got, err := FitImpostorTail(xs, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.T0-10) > 0.05 || math.Abs(got.Sigma-want.Sigma) > 0.1*want.Sigma || math.Abs(got.Xi-want.Xi) > 0.05 {
			t.Fatalf("fit %+v, want sigma %g xi %g above 10", got, want.Sigma, want.Xi)
		}
		// FMR and ScoreForFMR are inverses; the search threshold grows with the gallery.
		for _, f := range []float64{1e-3, 1e-6, 1e-9} {
			if back := got.FMR(got.ScoreForFMR(f)); math.Abs(math.Log(back/f)) > 1e-9 {
				t.Fatalf("FMR(ScoreForFMR(%g)) = %g", f, back)
			}
		}
		a, b := got.ScoreForSearch(0.01, 1000), got.ScoreForSearch(0.01, 100_000)
		if !(b > a) || math.Abs(got.SearchFMR(b, 100_000)-0.01) > 1e-6 {
			t.Fatalf("search thresholds %g, %g; SearchFMR %g", a, b, got.SearchFMR(b, 100_000))
		}
	}
	if _, err := FitImpostorTail(make([]float64, 100), 0.02); err == nil {
		t.Fatal("fit on 2 exceedances accepted")
	}
	if _, err := FitImpostorTail(make([]float64, 10_000), 0.02); err == nil {
		t.Fatal("fit on a constant accepted")
	}
}
