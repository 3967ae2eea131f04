package index

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Calibration of the finger thresholds of the de-duplication rule from score distributions of
// biometric/finger's 1:1 matcher.
//
// A search compares one captured finger with every enrolled finger, so a threshold t that a single
// impostor comparison exceeds with probability FMR(t) is exceeded by some impostor of an N-finger
// gallery with probability 1 − (1 − FMR(t))^N ≈ N·FMR(t): at N = 100,000 a per-search false-alarm
// rate of 1 % needs FMR ≈ 1e-7, far below what a few thousand impostor pairs can show. The tail
// beyond the measured scores is therefore modelled: impostor scores above a high empirical
// quantile T0 (peaks over threshold) follow a generalised Pareto distribution (Pickands 1975,
// Balkema & de Haan 1974), fitted by the method of moments (Hosking & Wallis 1987). A fitted
// shape ξ < 0 (a bounded tail) is replaced by 0 (the exponential tail), which extrapolates more
// conservatively (higher thresholds) than the fit.

// ImpostorTail is the fitted upper tail of an impostor score distribution: for t ≥ T0,
// FMR(t) = P0 · (1 + ξ(t − T0)/σ)^(−1/ξ), or P0 · exp(−(t − T0)/σ) when ξ = 0.
type ImpostorTail struct {
	T0    float64 // the (1 − P0) empirical quantile of the impostor scores
	P0    float64 // fraction of impostor scores above T0
	Sigma float64 // scale
	Xi    float64 // shape, ≥ 0
	N     int     // impostor scores the fit saw
}

// FitImpostorTail fits the tail above the (1 − p0) quantile of impostor (0 < p0 < 1; at least 50
// scores must lie above it).
func FitImpostorTail(impostor []float64, p0 float64) (ImpostorTail, error) {
	if !(p0 > 0 && p0 < 1) {
		return ImpostorTail{}, fmt.Errorf("impostor tail: p0 %g outside (0, 1)", p0)
	}
	s := slices.Clone(impostor)
	slices.Sort(s)
	k := int(float64(len(s)) * p0) // exceedances
	if k < 50 {
		return ImpostorTail{}, fmt.Errorf("impostor tail: %d scores above the %g quantile, need 50", k, 1-p0)
	}
	t0 := s[len(s)-k-1]
	ex := s[len(s)-k:]
	var m, v float64
	for _, x := range ex {
		m += x - t0
	}
	m /= float64(k)
	for _, x := range ex {
		v += (x - t0 - m) * (x - t0 - m)
	}
	v /= float64(k - 1)
	if m <= 0 || v <= 0 {
		return ImpostorTail{}, errors.New("impostor tail: no spread above the threshold")
	}
	// Method of moments for the generalised Pareto distribution (mean σ/(1−ξ), variance
	// σ²/((1−ξ)²(1−2ξ))).
	xi := 0.5 * (1 - m*m/v)
	sigma := 0.5 * m * (m*m/v + 1)
	if xi <= 0 {
		xi, sigma = 0, m // exponential: σ is the mean excess
	}
	return ImpostorTail{T0: t0, P0: float64(k) / float64(len(s)), Sigma: sigma, Xi: xi, N: len(s)}, nil
}

// FMR is the modelled probability that one impostor comparison scores ≥ score (P0 below T0).
func (t ImpostorTail) FMR(score float64) float64 {
	if score <= t.T0 {
		return t.P0
	}
	z := (score - t.T0) / t.Sigma
	if t.Xi == 0 {
		return t.P0 * math.Exp(-z)
	}
	return t.P0 * math.Pow(1+t.Xi*z, -1/t.Xi)
}

// ScoreForFMR is the inverse of FMR for fmr ≤ P0 (T0 above).
func (t ImpostorTail) ScoreForFMR(fmr float64) float64 {
	if fmr >= t.P0 {
		return t.T0
	}
	r := t.P0 / fmr
	if t.Xi == 0 {
		return t.T0 + t.Sigma*math.Log(r)
	}
	return t.T0 + t.Sigma/t.Xi*(math.Pow(r, t.Xi)-1)
}

// SearchFMR is the probability that a search among n impostor fingers returns one scoring ≥ score.
func (t ImpostorTail) SearchFMR(score float64, n int) float64 {
	return -math.Expm1(float64(n) * math.Log1p(-t.FMR(score)))
}

// ScoreForSearch is the threshold at which a search among n impostor fingers raises a false alarm
// with probability alpha.
func (t ImpostorTail) ScoreForSearch(alpha float64, n int) float64 {
	return t.ScoreForFMR(-math.Expm1(math.Log1p(-alpha) / float64(n)))
}

// FingerTargets are the operating points the finger thresholds are calibrated for.
type FingerTargets struct {
	Gallery     int     // enrolled fingers searched (2 per person)
	WeakAlpha   float64 // per-search false-alarm rate at FingerWeak
	StrongAlpha float64 // per-search false-alarm rate at FingerStrong
	TailP0      float64 // fraction of impostor scores the tail model is fitted to
}

// DefaultFingerTargets: a desk's gallery of 100,000 fingers (50,000 people with both index
// fingers); a captured finger falsely reaches "weak" in 1 % of searches and "strong" in 0.1 %.
// Under Dedup's rule an applicant who is enrolled nowhere (two captured fingers) is then sent to
// review by the fingers alone in about 0.2 % of enrollments (one strong finger; two weak fingers
// on the same enrolled person are far rarer), and blocked by them alone (both fingers strong on
// the same person) with a probability of the order of 1e-6 divided by the number of people:
// never in practice.
var DefaultFingerTargets = FingerTargets{Gallery: 100_000, WeakAlpha: 1e-2, StrongAlpha: 1e-3, TailP0: 0.02}

// FingerCalibration is the outcome of CalibrateFinger.
type FingerCalibration struct {
	Targets        FingerTargets
	Tail           ImpostorTail
	Weak, Strong   float64 // thresholds, rounded up to 0.5
	GenuineWeak    float64 // fraction of genuine scores ≥ Weak
	GenuineStrong  float64 // fraction of genuine scores ≥ Strong
	ImpostorMax    float64 // highest impostor score measured
	Genuine, Pairs int     // genuine and impostor comparisons
}

// CalibrateFinger derives the weak and strong finger thresholds from genuine and impostor score
// samples of the current matcher.
func CalibrateFinger(genuine, impostor []float64, tg FingerTargets) (FingerCalibration, error) {
	if len(genuine) == 0 {
		return FingerCalibration{}, errors.New("finger calibration: no genuine scores")
	}
	if tg.Gallery < 1 || !(tg.WeakAlpha > tg.StrongAlpha && tg.StrongAlpha > 0 && tg.WeakAlpha < 1) {
		return FingerCalibration{}, fmt.Errorf("finger calibration: targets %+v", tg)
	}
	tail, err := FitImpostorTail(impostor, tg.TailP0)
	if err != nil {
		return FingerCalibration{}, fmt.Errorf("finger calibration: %w", err)
	}
	up := func(x float64) float64 { return math.Ceil(x*2) / 2 }
	c := FingerCalibration{
		Targets: tg, Tail: tail,
		Weak:        up(tail.ScoreForSearch(tg.WeakAlpha, tg.Gallery)),
		Strong:      up(tail.ScoreForSearch(tg.StrongAlpha, tg.Gallery)),
		ImpostorMax: slices.Max(impostor),
		Genuine:     len(genuine), Pairs: len(impostor),
	}
	for _, g := range genuine {
		if g >= c.Weak {
			c.GenuineWeak++
		}
		if g >= c.Strong {
			c.GenuineStrong++
		}
	}
	c.GenuineWeak /= float64(len(genuine))
	c.GenuineStrong /= float64(len(genuine))
	return c, nil
}
