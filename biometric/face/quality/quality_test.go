package quality

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"testing"

	"enrolldesk/biometric/face/embedding"
)

// five returns 5-point landmarks of a face with eye centres at (cx∓ied/2, cy) rotated by roll and
// the under-nose point shifted sideways by noseDx.
func five(cx, cy, ied, rollDeg, noseDx float64) []image.Point {
	r := rollDeg * math.Pi / 180
	rot := func(x, y float64) image.Point {
		return image.Pt(int(math.Round(cx+x*math.Cos(r)-y*math.Sin(r))), int(math.Round(cy+x*math.Sin(r)+y*math.Cos(r))))
	}
	h := ied / 2
	return []image.Point{rot(h+15, 0), rot(h-15, 0), rot(-h-15, 0), rot(-h+15, 0), rot(noseDx, 0.6*ied)}
}

func TestPoseFromFivePoints(t *testing.T) {
	p := EstimatePose(five(500, 300, 100, 0, 0))
	if math.Abs(p.Yaw) > 1 || math.Abs(p.Roll) > 1 || p.PitchMeasured {
		t.Fatalf("frontal: %+v", p)
	}
	p = EstimatePose(five(500, 300, 100, 12, 0))
	if math.Abs(p.Roll-12) > 1.5 || math.Abs(p.Yaw) > 2 {
		t.Fatalf("rolled: %+v", p)
	}
	// Nose 0.3·IED·tan(30°) to the side: yaw ≈ 30°.
	p = EstimatePose(five(500, 300, 100, 0, 30*math.Tan(30*math.Pi/180)))
	if math.Abs(p.Yaw-30) > 2 {
		t.Fatalf("turned: %+v", p)
	}
	p = EstimatePose(five(500, 300, 100, 0, -30*math.Tan(30*math.Pi/180)))
	if math.Abs(p.Yaw+30) > 2 {
		t.Fatalf("turned the other way: %+v", p)
	}
}

// gradientImage is a sharp, well-exposed synthetic test card (a checkerboard of mid greys).
func card(w, h int, lo, hi uint8, cell int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := lo
			if (x/cell+y/cell)%2 == 0 {
				v = hi
			}
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

func TestFivePointsDegradeToNotMeasured(t *testing.T) {
	img := card(1000, 700, 60, 200, 6)
	in := Input{Image: img, Subject: embedding.Face{Rect: image.Rect(380, 180, 620, 450), Landmarks: five(500, 290, 100, 0, 0)}}
	r := Assess(in, Default())
	for _, name := range []string{"pitch", "eyes_open"} {
		c, ok := r.Get(name)
		if !ok || c.Status != NotMeasured || c.Reason == "" {
			t.Fatalf("%s: %+v", name, c)
		}
	}
	if !r.Pass {
		t.Fatalf("frontal synthetic face failed: %+v", r.Failed())
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("report is not valid JSON: %v", err)
	}
	// A second person as close to the camera fails; a small bystander does not.
	in.Others = []embedding.Face{{Rect: image.Rect(0, 0, 230, 260)}}
	if c, _ := Assess(in, Default()).Get("single_face"); c.Status != Fail || c.Value != 2 {
		t.Fatalf("second face: %+v", c)
	}
	in.Others = []embedding.Face{{Rect: image.Rect(0, 0, 60, 70)}}
	if c, _ := Assess(in, Default()).Get("single_face"); c.Status != Pass {
		t.Fatalf("bystander: %+v", c)
	}
}

func TestFailuresCarryReasons(t *testing.T) {
	th := Default()
	cases := []struct {
		name  string
		img   image.Image
		face  embedding.Face
		check string
	}{
		{"dark", card(1000, 700, 10, 40, 6), embedding.Face{Rect: image.Rect(380, 180, 620, 450), Landmarks: five(500, 290, 100, 0, 0)}, "brightness"},
		{"flat", card(1000, 700, 120, 135, 6), embedding.Face{Rect: image.Rect(380, 180, 620, 450), Landmarks: five(500, 290, 100, 0, 0)}, "contrast"},
		{"small", card(1000, 700, 60, 200, 6), embedding.Face{Rect: image.Rect(470, 270, 530, 330), Landmarks: five(500, 290, 40, 0, 0)}, "inter_eye_distance"},
		{"tilted", card(1000, 700, 60, 200, 6), embedding.Face{Rect: image.Rect(380, 180, 620, 450), Landmarks: five(500, 290, 100, 20, 0)}, "roll"},
		{"off centre", card(1000, 700, 60, 200, 6), embedding.Face{Rect: image.Rect(80, 180, 320, 450), Landmarks: five(200, 290, 100, 0, 0)}, "centring"},
		{"at the edge", card(1000, 700, 60, 200, 6), embedding.Face{Rect: image.Rect(380, 5, 620, 275), Landmarks: five(500, 115, 100, 0, 0)}, "margins"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Assess(Input{Image: c.img, Subject: c.face}, th)
			got, ok := r.Get(c.check)
			if !ok || got.Status != Fail || got.Reason == "" || r.Pass {
				t.Fatalf("%s: %+v (pass=%v)", c.check, got, r.Pass)
			}
		})
	}
}

func TestBadLandmarksFail(t *testing.T) {
	r := Assess(Input{Image: card(100, 100, 0, 255, 4), Subject: embedding.Face{Rect: image.Rect(10, 10, 90, 90), Landmarks: make([]image.Point, 3)}}, Default())
	if r.Pass {
		t.Fatal("3 landmarks passed")
	}
}
