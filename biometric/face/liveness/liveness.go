// Package liveness decides whether a capture comes from a live person in front of the camera
// rather than a photo or a screen held up to it, from the landmark track of the capture:
//
//   - an active challenge: the person turns the head as asked (e.g. left, then right), verified
//     from the yaw estimated on each frame, within time limits;
//   - a passive cue, motion parallax: when a real head turns, its landmarks move non-rigidly
//     (the nose swings across the face, the far cheek narrows), while every landmark of a flat
//     photo or screen, however it is shifted, zoomed, rotated or tilted, follows one plane
//     projection, which an affine map between frames explains to within landmark noise.
//
// The result always carries its evidence; the desk shows it and the officer decides what to do
// with a failed check. There is no bypass. Pure Go.
package liveness

import (
	"fmt"
	"image"
	"math"
	"time"

	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/quality"
)

// Direction of a head turn, from the subject's point of view on a non-mirrored camera image:
// turning to the left moves the nose towards the image's right (positive yaw).
type Direction string

const (
	Left  Direction = "left"
	Right Direction = "right"
)

// Challenge is what the person is asked to do.
type Challenge struct {
	Steps []Direction
	// MinYaw is how far (degrees) each turn must go.
	MinYaw float64
	// MaxFrontalYaw: the track must start looking straight (|yaw| ≤ this).
	MaxFrontalYaw float64
	// StepTimeout limits each step, measured from the end of the previous one.
	StepTimeout time.Duration
	// MinParallax is the smallest non-rigid landmark motion (RMS residual of the best affine
	// map from the frontal frame, relative to the landmarks' spread) that counts as a 3-D head,
	// on at least two frames turned by two thirds of MinYaw or more. Measured on real clips
	// (see the face package's tests): a turned head 0.11–0.14, a photo held up and moved
	// 0.02–0.06.
	MinParallax float64
}

// Default is left then right, 15° each, 4 s per step.
func Default() Challenge {
	return Challenge{Steps: []Direction{Left, Right}, MinYaw: 15, MaxFrontalYaw: 8, StepTimeout: 4 * time.Second, MinParallax: 0.05}
}

// Observation is the subject's face on one frame.
type Observation struct {
	At   time.Duration // since the challenge started
	Face embedding.Face
}

// Step is the evidence for one challenge step.
type Step struct {
	Direction Direction     `json:"direction"`
	Done      bool          `json:"done"`
	PeakYaw   float64       `json:"peak_yaw"`
	At        time.Duration `json:"at"`
}

// Result is the liveness verdict with its evidence.
type Result struct {
	Live bool `json:"live"`
	// Active challenge.
	ActivePassed bool    `json:"active_passed"`
	StartYaw     float64 `json:"start_yaw"`
	Steps        []Step  `json:"steps"`
	// Passive cue.
	PassivePassed bool    `json:"passive_passed"`
	Parallax      float64 `json:"parallax"`
	Frames        int     `json:"frames"`
	Reason        string  `json:"reason,omitempty"`
	// Samples is the per-frame evidence.
	Samples []Sample `json:"samples,omitempty"`
}

// Sample is one frame's measurements.
type Sample struct {
	At       time.Duration `json:"at"`
	Yaw      float64       `json:"yaw"`
	Parallax float64       `json:"parallax"`
}

// Evaluate checks a landmark track against the challenge.
func Evaluate(c Challenge, track []Observation) Result {
	r := Result{Frames: len(track)}
	var yaws []float64
	var usable []Observation
	for _, o := range track {
		p := quality.EstimatePose(o.Face.Landmarks)
		if math.IsNaN(p.Yaw) {
			continue
		}
		yaws = append(yaws, p.Yaw)
		usable = append(usable, o)
	}
	if len(usable) < 3 {
		r.Reason = fmt.Sprintf("face seen on %d frames: too few to judge", len(usable))
		return r
	}
	// A landmark glitch lasts one frame; a head pose lasts several. Every per-frame measure is
	// smoothed by a running median of three before it is judged.
	yaws = median3(yaws)
	r.StartYaw = yaws[0]
	r.ActivePassed, r.Steps = active(c, usable, yaws)
	// Passive: non-rigid motion of the stable landmarks relative to the first (frontal) frame.
	ref := stable(usable[0].Face.Landmarks)
	par := make([]float64, len(usable))
	for i, o := range usable {
		par[i], _ = affineResidual(ref, stable(o.Face.Landmarks))
	}
	par = median3(par)
	// Parallax counts where the head is turned: a real turn moves the nose across the face
	// while it turns, whereas a landmark glitch on a still picture shows no consistent yaw.
	turned := 0
	for i, o := range usable {
		r.Samples = append(r.Samples, Sample{At: o.At, Yaw: yaws[i], Parallax: par[i]})
		if math.Abs(yaws[i]) < c.MinYaw*2/3 {
			continue
		}
		if par[i] > r.Parallax {
			r.Parallax = par[i]
		}
		if par[i] >= c.MinParallax {
			turned++
		}
	}
	r.PassivePassed = turned >= 2
	r.Live = r.ActivePassed && r.PassivePassed
	switch {
	case math.Abs(r.StartYaw) > c.MaxFrontalYaw:
		r.Reason = fmt.Sprintf("did not start looking straight at the camera (yaw %.0f°)", r.StartYaw)
	case !r.ActivePassed:
		for _, s := range r.Steps {
			if !s.Done {
				r.Reason = fmt.Sprintf("head not turned %s far enough in time (peak %.0f°, need %.0f°)", s.Direction, math.Abs(s.PeakYaw), c.MinYaw)
				break
			}
		}
	case !r.PassivePassed:
		r.Reason = fmt.Sprintf("face moved like a flat picture (parallax %.3f on turned frames, need %.3f)", r.Parallax, c.MinParallax)
	}
	return r
}

func active(c Challenge, obs []Observation, yaws []float64) (bool, []Step) {
	steps := make([]Step, len(c.Steps))
	for i, d := range c.Steps {
		steps[i].Direction = d
	}
	if math.Abs(yaws[0]) > c.MaxFrontalYaw {
		return false, steps
	}
	k := 0
	start := obs[0].At
	best := math.Inf(-1)
	for i := 1; i < len(obs) && k < len(steps); i++ {
		if obs[i].At-start > c.StepTimeout {
			return false, steps
		}
		sign := 1.0
		if c.Steps[k] == Right {
			sign = -1
		}
		y := sign * yaws[i]
		if y > best {
			best = y
			steps[k].PeakYaw = yaws[i]
		}
		if y >= c.MinYaw {
			steps[k].Done, steps[k].At = true, obs[i].At
			start = obs[i].At
			best = math.Inf(-1)
			k++
		}
	}
	return k == len(steps), steps
}

// affineResidual fits the affine map taking ref's landmarks to cur's by least squares and
// returns the RMS residual relative to the spread of ref's points.
func affineResidual(ref, cur []image.Point) (float64, bool) {
	if len(ref) != len(cur) || len(ref) < 4 {
		return 0, false
	}
	ied := spread(ref)
	if ied < 1 {
		return 0, false
	}
	// Centre both point sets (conditioning), then the normal equations for [x y 1]·A = [x' y']
	// (A is 3×2), solved per output coordinate.
	rx, ry := centred(ref)
	cx, cy := centred(cur)
	var m [3][3]float64
	var bx, by [3]float64
	for i := range ref {
		v := [3]float64{rx[i], ry[i], 1}
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				m[a][b] += v[a] * v[b]
			}
			bx[a] += v[a] * cx[i]
			by[a] += v[a] * cy[i]
		}
	}
	ax, ok1 := solve3(m, bx)
	ay, ok2 := solve3(m, by)
	if !ok1 || !ok2 {
		return 0, false
	}
	var ss float64
	for i := range ref {
		dx := ax[0]*rx[i] + ax[1]*ry[i] + ax[2] - cx[i]
		dy := ay[0]*rx[i] + ay[1]*ry[i] + ay[2] - cy[i]
		ss += dx*dx + dy*dy
	}
	// Express in the reference's inter-eye distance, scaled by the map's own scale so that a
	// zoomed replay is not mistaken for motion.
	scale := math.Sqrt(math.Abs(ax[0]*ay[1] - ax[1]*ay[0]))
	if scale < 1e-6 {
		return 0, false
	}
	return math.Sqrt(ss/float64(len(ref))) / (ied * scale), true
}

// solve3 solves m·x = b by Cramer's rule.
func solve3(m [3][3]float64, b [3]float64) ([3]float64, bool) {
	det := func(a [3][3]float64) float64 {
		return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) - a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) + a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	}
	d := det(m)
	if math.Abs(d) < 1e-9 {
		return [3]float64{}, false
	}
	var x [3]float64
	for c := 0; c < 3; c++ {
		mc := m
		for r := 0; r < 3; r++ {
			mc[r][c] = b[r]
		}
		x[c] = det(mc) / d
	}
	return x, true
}

func centred(ps []image.Point) (xs, ys []float64) {
	var mx, my float64
	for _, p := range ps {
		mx += float64(p.X)
		my += float64(p.Y)
	}
	mx /= float64(len(ps))
	my /= float64(len(ps))
	for _, p := range ps {
		xs = append(xs, float64(p.X)-mx)
		ys = append(ys, float64(p.Y)-my)
	}
	return xs, ys
}

// stableIdx68 are the 68-point landmarks that the shape predictor places reliably and that sit
// at different depths: nose bridge, tip and base, eye corners, mouth corners (the jaw contour
// slides along the cheek and is left out).
var stableIdx68 = []int{27, 30, 33, 36, 39, 42, 45, 48, 54}

func stable(lm []image.Point) []image.Point {
	if len(lm) != 68 {
		return lm
	}
	out := make([]image.Point, len(stableIdx68))
	for i, k := range stableIdx68 {
		out[i] = lm[k]
	}
	return out
}

// median3 is the running median of three (ends kept).
func median3(x []float64) []float64 {
	out := append([]float64(nil), x...)
	for i := 1; i+1 < len(x); i++ {
		a, b, c := x[i-1], x[i], x[i+1]
		out[i] = math.Max(math.Min(a, b), math.Min(math.Max(a, b), c))
	}
	return out
}

// spread is the RMS distance of the points from their centroid (a scale for residuals that
// works for any landmark subset; about 0.9 inter-eye distances for the stable subsets).
func spread(ps []image.Point) float64 {
	xs, ys := centred(ps)
	var s float64
	for i := range xs {
		s += xs[i]*xs[i] + ys[i]*ys[i]
	}
	return math.Sqrt(s / float64(len(xs)))
}
