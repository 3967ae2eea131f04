package finger

import "math"

// fmrTable maps false-match rates to score thresholds: the impostor score quantiles measured with
// `enrolldesk finger eval` on the pooled cross-finger pairs of a generated set (synth seed 1, 200
// fingers × 8, 636,800 pairs) and of FVC2002 DB1_B and FVC2000 DB4_B (2,880 pairs each), taking at
// each rate the highest threshold of the three so that no population exceeds it.
var fmrTable = []struct{ fmr, score float64 }{
	{1e-1, 7.0},
	{1e-2, 10.8},
	{1e-3, 15.4},
	{1e-4, 19.0},
}

// ScoreForFMR returns the score threshold at which comparisons of different fingers exceed the
// threshold with probability fmr (log-linear between the calibrated points, clamped at the ends).
func ScoreForFMR(fmr float64) float64 {
	t := fmrTable
	switch {
	case fmr >= t[0].fmr:
		return t[0].score
	case fmr <= t[len(t)-1].fmr:
		return t[len(t)-1].score
	}
	for i := 1; i < len(t); i++ {
		if fmr >= t[i].fmr {
			a, b := t[i-1], t[i]
			f := (math.Log(fmr) - math.Log(a.fmr)) / (math.Log(b.fmr) - math.Log(a.fmr))
			return a.score + f*(b.score-a.score)
		}
	}
	return t[len(t)-1].score
}

// FMRForScore is the inverse of ScoreForFMR: the estimated false-match rate of a decision threshold.
func FMRForScore(score float64) float64 {
	t := fmrTable
	switch {
	case score <= t[0].score:
		return t[0].fmr
	case score >= t[len(t)-1].score:
		return t[len(t)-1].fmr
	}
	for i := 1; i < len(t); i++ {
		if score <= t[i].score {
			a, b := t[i-1], t[i]
			f := (score - a.score) / (b.score - a.score)
			return math.Exp(math.Log(a.fmr) + f*(math.Log(b.fmr)-math.Log(a.fmr)))
		}
	}
	return t[len(t)-1].fmr
}
