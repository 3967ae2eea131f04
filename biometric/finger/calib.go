package finger

import "math"

// fmrTable maps false-match rates to score thresholds. Measured with `enrolldesk finger eval` on the
// cross-finger pairs of FVC2002 DB1_B and FVC2000 DB4_B (2,880 pairs each) and of a generated set (synth
// seed 1, 120 fingers × 8, 456,960 pairs); at each rate the highest of the three thresholds is taken, so
// that none of the populations exceeds its rate. Since the matcher weighs scores by orientation-field
// agreement, the generated set sets every point: its fingers share the generator's few singular-point
// layouts, so its impostors agree in ridge flow more often than real fingers do (thresholds at 1e-2 /
// 1e-3: DB1_B 2.29 / 3.97, DB4_B 2.12 / 4.11, generated 3.77 / 5.73). At 1e-4 only the generated set
// has enough pairs (7.64; the FVC sets' 3.5e-4 quantiles are 4.28 and 4.42).
// Recalibrate when the extractor or matcher changes: the bench script prints the ROC points.
var fmrTable = []struct{ fmr, score float64 }{
	{1e-1, 1.64},
	{1e-2, 3.77},
	{1e-3, 5.73},
	{1e-4, 7.64},
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
		if fmr == t[i].fmr { // exact, without interpolation rounding
			return t[i].score
		}
		if fmr > t[i].fmr {
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
