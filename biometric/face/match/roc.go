// Package match holds the 1:1 face decision and its calibration: distance scores of genuine and
// impostor pairs, error rates (ISO/IEC 19795-1 FMR/FNMR), thresholds at a stated false-match rate,
// and the three-way outcome shown to the officer. Pure Go: no cgo.
package match

import (
	"math"
	"sort"
)

// Scores are comparison distances of labelled pairs (smaller = more alike). A pair whose face was
// not found on one side is a failure to acquire; per ISO/IEC 19795-1 it is counted here as a
// non-match at every threshold: record it as +Inf.
type Scores struct {
	Genuine  []float64
	Impostor []float64
}

// Failure is the distance recorded for a pair where a face could not be found or described.
var Failure = math.Inf(1)

// Rates are the error rates at one threshold (a pair matches when distance ≤ threshold).
type Rates struct {
	Threshold float64
	FMR       float64 // impostor pairs accepted / impostor pairs
	FNMR      float64 // genuine pairs rejected / genuine pairs (failures to acquire included)
}

func sorted(xs []float64) []float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s
}

// countLE counts values ≤ t in a sorted slice.
func countLE(s []float64, t float64) int {
	return sort.Search(len(s), func(i int) bool { return s[i] > t })
}

// At returns the rates at threshold t.
func (s Scores) At(t float64) Rates {
	g, im := sorted(s.Genuine), sorted(s.Impostor)
	r := Rates{Threshold: t}
	if len(im) > 0 {
		r.FMR = float64(countLE(im, t)) / float64(len(im))
	}
	if len(g) > 0 {
		r.FNMR = 1 - float64(countLE(g, t))/float64(len(g))
	}
	return r
}

// AtFMR returns the largest threshold whose FMR does not exceed target, with the rates there.
// With n impostor pairs the smallest FMR step is 1/n: a target below it yields FMR 0 at a
// threshold just under the closest impostor pair.
func (s Scores) AtFMR(target float64) Rates {
	im := sorted(s.Impostor)
	finite := im[:countLE(im, math.MaxFloat64)]
	if len(finite) == 0 {
		return s.At(math.MaxFloat64)
	}
	// Allowed accepted impostors k = floor(target·n); threshold just below impostor k (0-based).
	k := int(math.Floor(target*float64(len(im)) + 1e-9))
	if k >= len(finite) {
		return s.At(finite[len(finite)-1])
	}
	t := math.Nextafter(finite[k], math.Inf(-1))
	return s.At(t)
}

// EER returns the equal error rate and its threshold, scanning every observed distance.
func (s Scores) EER() Rates {
	cands := sorted(append(append([]float64(nil), s.Genuine...), s.Impostor...))
	best := Rates{FMR: 1, FNMR: 1}
	bestGap := math.Inf(1)
	g, im := sorted(s.Genuine), sorted(s.Impostor)
	for _, t := range cands {
		if math.IsInf(t, 1) {
			break
		}
		r := Rates{Threshold: t}
		r.FMR = float64(countLE(im, t)) / float64(max(len(im), 1))
		r.FNMR = 1 - float64(countLE(g, t))/float64(max(len(g), 1))
		if gap := math.Abs(r.FMR - r.FNMR); gap < bestGap {
			best, bestGap = r, gap
		}
	}
	return best
}

// ROC samples the curve at n+1 thresholds evenly spread over [lo, hi].
func (s Scores) ROC(lo, hi float64, n int) []Rates {
	g, im := sorted(s.Genuine), sorted(s.Impostor)
	out := make([]Rates, 0, n+1)
	for i := 0; i <= n; i++ {
		t := lo + (hi-lo)*float64(i)/float64(n)
		r := Rates{Threshold: t}
		r.FMR = float64(countLE(im, t)) / float64(max(len(im), 1))
		r.FNMR = 1 - float64(countLE(g, t))/float64(max(len(g), 1))
		out = append(out, r)
	}
	return out
}
