package face

import (
	"context"
	"image"

	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"enrolldesk/biometric/face/quality"
)

// deskFrame builds a 1280×720 camera-like frame from a real photo: the photo is scaled so that
// its subject's face box is faceWidth pixels wide and pasted with its centre at (cx, cy) on a
// plain wall. The caller closes the Mat.
func deskFrame(t testing.TB, photo string, faceWidth, cx, cy int) gocv.Mat {
	t.Helper()
	src := gocv.IMRead(photo, gocv.IMReadColor)
	if src.Empty() {
		t.Fatalf("read %s", photo)
	}
	defer src.Close()
	frame, err := engine(t).ComposeFrame(context.Background(), src, faceWidth, cx, cy)
	if err != nil {
		t.Fatalf("%s: %v", photo, err)
	}
	return frame
}

// portrait is a frontal, evenly lit photo with a large face (deepface img2.jpg).
func portrait() string { return faces("deepface", "img2.jpg") }

func TestFrameQualityGate(t *testing.T) {
	e := engine(t)
	frame := deskFrame(t, portrait(), 250, 640, 330)
	defer frame.Close()
	good, err := e.ProcessFrame(context.Background(), frame, quality.Default())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := good.Subject()
	if math.Abs(float64(s.Rect.Dx())-250) > 40 {
		t.Fatalf("face width %d in the full frame, want ~250", s.Rect.Dx())
	}
	for _, name := range []string{"single_face", "inter_eye_distance", "sharpness", "brightness", "contrast", "centring", "margins"} {
		if c, _ := good.Quality.Get(name); c.Status != quality.Pass {
			t.Errorf("good frame: %s = %+v", name, c)
		}
	}

	// Blurred: Gaussian σ of 2 % of the face width (a shaking hand or a camera out of focus).
	blurred := gocv.NewMat()
	defer blurred.Close()
	gocv.GaussianBlur(frame, &blurred, image.Pt(0, 0), 5, 5, gocv.BorderDefault)
	r, err := e.ProcessFrame(context.Background(), blurred, quality.Default())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.Quality.Get("sharpness")
	if c.Status != quality.Fail || !strings.Contains(c.Reason, "blurred") || r.Quality.Pass {
		t.Fatalf("blurred frame: %+v", c)
	}
	if c, _ := r.Quality.Get("brightness"); c.Status != quality.Pass {
		t.Fatalf("blurred frame failed brightness: %+v", c)
	}

	// Dark: a quarter of the light.
	dark := gocv.NewMat()
	defer dark.Close()
	frame.ConvertToWithParams(&dark, gocv.MatTypeCV8UC3, 0.25, 0)
	r, err = e.ProcessFrame(context.Background(), dark, quality.Default())
	if err != nil {
		t.Fatal(err)
	}
	c, _ = r.Quality.Get("brightness")
	if c.Status != quality.Fail || !strings.Contains(c.Reason, "too dark") || r.Quality.Pass {
		t.Fatalf("dark frame: %+v", c)
	}
	if c, _ := r.Quality.Get("sharpness"); c.Status != quality.Pass {
		t.Fatalf("dark frame called blurred: %+v", c)
	}
}

func TestFrameTwoPeople(t *testing.T) {
	// The citizen (large, centred) and a second person as close, then a bystander far behind.
	frame := deskFrame(t, portrait(), 250, 640, 330)
	defer frame.Close()
	other := deskFrame(t, faces("deepface", "img20.jpg"), 190, 640, 330)
	defer other.Close()
	half := image.Rect(1000, 0, 1280, 720)
	from := other.Region(image.Rect(500, 0, 780, 720))
	to := frame.Region(half)
	from.CopyTo(&to)
	from.Close()
	to.Close()
	r, err := engine(t).ProcessFrame(context.Background(), frame, quality.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Faces) < 2 {
		t.Fatalf("found %d faces", len(r.Faces))
	}
	s, _ := r.Subject()
	if s.Rect.Min.X > 900 {
		t.Fatalf("subject %v is not the citizen in the middle", s.Rect)
	}
	if c, _ := r.Quality.Get("single_face"); c.Status != quality.Fail {
		t.Fatalf("two people at the desk passed: %+v", c)
	}
}

func BenchmarkFaceFrame(b *testing.B) {
	frame := deskFrame(b, portrait(), 250, 640, 330)
	defer frame.Close()
	e, err := NewEngine(modelsDir(), Options{Mirror: Shipped.Mirror, Normalize: Shipped.Normalize})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := e.ProcessFrame(ctx, frame, quality.Default())
		if err != nil || len(r.Faces) != 1 {
			b.Fatalf("faces %d err %v", len(r.Faces), err)
		}
	}
	b.StopTimer()
	// CPU time per frame: what the frame costs on an idle machine, even when other processes
	// share the cores while the benchmark runs.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
