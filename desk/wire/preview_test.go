package wire

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/jpeg"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/quality"
	"enrolldesk/desk/app"
	"enrolldesk/desk/enroll"
	"enrolldesk/sync/record"
)

type stampedPreview struct {
	at time.Time
	p  app.FacePreview
}

// A capture on the simulated camera (real photos of one person turning his head, each composed
// with a 250 px face centred at (640, 330) of a 1280×720 frame) sends the live preview at a
// bounded rate, in both phases, each a real JPEG at most 320 px wide whose face box is where the
// clip put the face, with every quality check. Then the desk's thresholds.face_min_quality
// decides: at 0.5 (the default) the burst passes; at 1 no frame is sharp enough and the capture
// is refused for quality, the preview naming the failing quality_score check.
func TestCameraFacePreviewAndMinQuality(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Burst: 2, Engine: "dlib"}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "turn.avi")
	if err := c.WriteClip(ctx, clip, headTurn, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: clip, FPS: 10}
	var mu sync.Mutex
	var got []stampedPreview
	minQ := 0.5
	c.SetPreview(func(p app.FacePreview) {
		mu.Lock()
		got = append(got, stampedPreview{time.Now(), p})
		mu.Unlock()
	})
	c.SetMinQuality(func(context.Context) (float64, error) { return minQ, nil })

	f, err := c.Capture(ctx, read(t, blix("0009")))
	if err != nil {
		t.Fatal(err)
	}
	if f.Decision != enroll.Match || f.Liveness != record.Pass {
		t.Fatalf("capture: %s, liveness %s", f.Decision, f.Liveness)
	}
	mu.Lock()
	previews := append([]stampedPreview(nil), got...)
	got = nil
	mu.Unlock()
	phases := map[string]int{}
	gap := time.Second / app.MaxPreviewFPS
	for i, sp := range previews {
		p := sp.p
		phases[p.Phase]++
		if i > 0 {
			if d := sp.at.Sub(previews[i-1].at); d < gap-5*time.Millisecond {
				t.Fatalf("previews %d and %d only %v apart (≤ %d fps)", i-1, i, d, app.MaxPreviewFPS)
			}
		}
		if p.Width > app.MaxPreviewWidth || p.Width != 320 || p.Height != 180 {
			t.Fatalf("preview %d is %d×%d", i, p.Width, p.Height)
		}
		img := decodePreview(t, p.Image)
		if b := img.Bounds(); b.Dx() != p.Width || b.Dy() != p.Height {
			t.Fatalf("preview %d: JPEG %v, said %d×%d", i, b, p.Width, p.Height)
		}
		if p.Box == nil {
			continue
		}
		// 250 px of 1280 → 62.5 preview px, centred at (160, 82.5); the detector's box is the
		// face (no hair), a little narrower or wider than the composed width.
		cx, cy := p.Box.X+p.Box.W/2, p.Box.Y+p.Box.H/2
		if p.Box.W < 45 || p.Box.W > 85 || cx < 145 || cx > 175 || cy < 65 || cy > 100 {
			t.Fatalf("preview %d (%s): face box %+v is not where the clip put the face", i, p.Phase, *p.Box)
		}
		names := map[string]bool{}
		for _, ch := range p.Checks {
			names[ch.Name] = true
			if ch.Status != "pass" && ch.Status != "fail" && ch.Status != "not_measured" {
				t.Fatalf("check %+v", ch)
			}
		}
		for _, n := range []string{"single_face", "inter_eye_distance", "yaw", "roll", "centring", "sharpness", "brightness", "illumination_uniformity", "eyes_open"} {
			if !names[n] {
				t.Fatalf("preview %d (%s) lacks the %s check: %v", i, p.Phase, n, names)
			}
		}
		if p.Phase == app.PreviewCapture && !names[face.QualityScoreCheck] {
			t.Fatalf("burst preview without the quality_score check")
		}
	}
	t.Logf("%d previews: %v", len(previews), phases)
	if phases[app.PreviewLiveness] < 3 || phases[app.PreviewCapture] < 1 {
		t.Fatalf("previews per phase %v", phases)
	}

	// The supervisor raises face_min_quality to 1: no frame reaches it. (A still clip of the
	// frame that passed above: its liveness fails quickly, and the burst is what is judged.)
	minQ = 1
	still := filepath.Join(t.TempDir(), "still.avi")
	if err := c.WriteClip(ctx, still, []ClipFrame{{blix("0006"), 8}}, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: still, FPS: 10}
	_, err = c.Capture(ctx, read(t, blix("0009")))
	var ce *app.CodedError
	if !errors.As(err, &ce) || ce.Code != app.CodeFaceQuality || !strings.Contains(err.Error(), "desk's minimum") {
		t.Fatalf("face_min_quality 1: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	refused := false
	for _, sp := range got {
		for _, ch := range sp.p.Checks {
			if ch.Name == face.QualityScoreCheck && ch.Status == "fail" && ch.Min != nil && *ch.Min == minScore(1, quality.Default()) {
				refused = true
			}
		}
	}
	if !refused {
		t.Fatal("no preview showed the failing quality_score check")
	}
}

func decodePreview(t *testing.T, url string) image.Image {
	t.Helper()
	const prefix = "data:image/jpeg;base64,"
	if !strings.HasPrefix(url, prefix) {
		t.Fatalf("preview image %.40q", url)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, prefix))
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The camera a supervisor chose replaces the started one: a device keeps the driver's pace, a
// file plays at 10 frames a second.
func TestSetCameraSource(t *testing.T) {
	c := &CameraFace{Source: face.Source{Name: "0"}}
	c.SetCameraSource("/dev/video2", 1920, 1080)
	if c.Source != (face.Source{Name: "/dev/video2", Width: 1920, Height: 1080}) {
		t.Fatalf("device %+v", c.Source)
	}
	c.SetCameraSource("clip.avi", 0, 0)
	if c.Source != (face.Source{Name: "clip.avi", FPS: 10}) || c.Status(context.Background()).State != app.DeviceMissing {
		t.Fatalf("file %+v", c.Source)
	}
}
