package liveness

import (
	"image"
	"math"
	"math/rand"
	"testing"
	"time"

	"enrolldesk/biometric/face/embedding"
)

// head is a crude 3-D face in inter-eye units: 5 landmarks (dlib's 5-point layout) with depth.
// x to the image right, y down, z towards the camera.
var head = [][3]float64{
	{0.75, 0, -0.25}, {0.25, 0, 0}, // eye on the image right: outer, inner corner
	{-0.75, 0, -0.25}, {-0.25, 0, 0}, // eye on the image left
	{0, 0.6, 0.3}, // under the nose
}

// view projects the head turned by yaw (degrees; positive moves the nose to the image right)
// at (cx, cy) with an inter-eye distance of ied pixels, plus pixel noise.
func view(yaw, cx, cy, ied float64, rng *rand.Rand) []image.Point {
	t := yaw * math.Pi / 180
	var out []image.Point
	for _, p := range head {
		x := p[0]*math.Cos(t) + p[2]*math.Sin(t)
		out = append(out, image.Pt(int(math.Round(cx+ied*x+rng.NormFloat64())), int(math.Round(cy+ied*p[1]+rng.NormFloat64()))))
	}
	return out
}

func track(yaws []float64, every time.Duration, rng *rand.Rand) []Observation {
	var obs []Observation
	for i, y := range yaws {
		obs = append(obs, Observation{At: time.Duration(i) * every, Face: embedding.Face{Landmarks: view(y, 640, 360, 100, rng)}})
	}
	return obs
}

func TestHeadTurnPasses(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	yaws := []float64{0, 5, 12, 20, 25, 15, 5, -5, -15, -22, -25, -10, 0}
	r := Evaluate(Default(), track(yaws, 150*time.Millisecond, rng))
	t.Logf("parallax %.3f", r.Parallax)
	if !r.Live || !r.ActivePassed || !r.PassivePassed || r.Reason != "" {
		t.Fatalf("real turn: %+v", r)
	}
	if !r.Steps[0].Done || r.Steps[0].PeakYaw < 15 || !r.Steps[1].Done || r.Steps[1].PeakYaw > -15 {
		t.Fatalf("steps %+v", r.Steps)
	}
}

func TestWrongOrderAndTooSlowFail(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	r := Evaluate(Default(), track([]float64{0, -20, -25, 0, 20, 25}, 150*time.Millisecond, rng))
	// Right first, then left: the left step is met second, the right step never after it.
	if r.ActivePassed {
		t.Fatalf("wrong order passed: %+v", r)
	}
	r = Evaluate(Default(), track([]float64{0, 2, 4, 6, 8, 10, 12, 14, 20, 25, -20, -25}, time.Second, rng))
	if r.ActivePassed || r.Reason == "" {
		t.Fatalf("too slow passed: %+v", r)
	}
	r = Evaluate(Default(), track([]float64{20, 25, 0, -20}, 150*time.Millisecond, rng))
	if r.ActivePassed {
		t.Fatalf("not starting frontal passed: %+v", r)
	}
}

// A photo held up and moved (shift, zoom, in-plane rotation, a tilt that foreshortens it):
// the landmarks follow an affine map of the first frame, so neither the yaw nor the parallax
// changes.
func TestFlatReplayFails(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	base := view(0, 640, 360, 100, rand.New(rand.NewSource(4)))
	var obs []Observation
	for i := 0; i < 20; i++ {
		a := float64(i) / 20
		s, rot, squeeze := 1+0.3*a, 0.2*math.Sin(6*a), 1-0.35*a
		var lm []image.Point
		for _, p := range base {
			x, y := float64(p.X-640)*squeeze, float64(p.Y-360)
			xr, yr := x*math.Cos(rot)-y*math.Sin(rot), x*math.Sin(rot)+y*math.Cos(rot)
			lm = append(lm, image.Pt(int(math.Round(640+60*a+s*xr+rng.NormFloat64())), int(math.Round(360-30*a+s*yr+rng.NormFloat64()))))
		}
		obs = append(obs, Observation{At: time.Duration(i) * 150 * time.Millisecond, Face: embedding.Face{Landmarks: lm}})
	}
	r := Evaluate(Default(), obs)
	if r.Live || r.ActivePassed || r.PassivePassed || r.Reason == "" {
		t.Fatalf("flat replay: %+v", r)
	}
}

func TestTooFewFrames(t *testing.T) {
	if r := Evaluate(Default(), nil); r.Live || r.Reason == "" {
		t.Fatalf("%+v", r)
	}
}
