package finger

import (
	"math"
	"testing"
)

func TestScoreFMRMapping(t *testing.T) {
	for _, p := range fmrTable {
		if s := ScoreForFMR(p.fmr); s != p.score {
			t.Fatalf("ScoreForFMR(%g) = %g, want %g", p.fmr, s, p.score)
		}
	}
	prev := math.Inf(-1)
	for _, f := range []float64{0.5, 0.1, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4, 1e-6} {
		s := ScoreForFMR(f)
		if s < prev {
			t.Fatalf("threshold not monotone at FMR %g", f)
		}
		prev = s
		if f <= 0.1 && f >= 1e-4 {
			if back := FMRForScore(s); math.Abs(math.Log(back/f)) > 1e-9 {
				t.Fatalf("FMRForScore(ScoreForFMR(%g)) = %g", f, back)
			}
		}
	}
}
