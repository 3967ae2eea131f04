package face

import (
	"context"
	"image"

	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"enrolldesk/biometric/face/liveness"
)

// headTurnClip renders HeadTurnClip (real photos of one person whose head pose really changes).
func headTurnClip(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "turn.avi")
	if err := engine(t).WriteHeadTurnClip(context.Background(), filepath.Join(repoRoot(), "..", "shared", "testdata"), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// replayClip builds a clip of one still photo held up to the camera: shifted, zoomed, slightly
// rotated, with sensor noise, over 3 seconds.
func replayClip(t *testing.T) string {
	t.Helper()
	base := deskFrame(t, faces("lfw", "Hans_Blix", "Hans_Blix_0003.jpg"), 250, 640, 330)
	defer base.Close()

	var frames []gocv.Mat
	for i := 0; i < 30; i++ {
		a := float64(i) / 30
		m := gocv.GetRotationMatrix2D(image.Pt(640, 330), 6*a-3, 1+0.25*a)
		m.SetDoubleAt(0, 2, m.GetDoubleAt(0, 2)+80*a-40)
		m.SetDoubleAt(1, 2, m.GetDoubleAt(1, 2)+30*a)
		out := gocv.NewMat()
		gocv.WarpAffine(base, &out, m, image.Pt(1280, 720))
		m.Close()
		noise := gocv.NewMatWithSize(720, 1280, gocv.MatTypeCV8UC3)
		gocv.RandN(&noise, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(6, 6, 6, 0))
		gocv.Add(out, noise, &out)
		noise.Close()

		frames = append(frames, out)
	}
	p := filepath.Join(t.TempDir(), "replay.avi")
	writeClip(t, p, frames, 10)
	for _, f := range frames {
		f.Close()
	}
	return p
}

func runLiveness(t *testing.T, clip string) liveness.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cam := NewCamera(Source{Name: clip, FPS: 10})
	r, err := engine(t).CheckLiveness(ctx, cam.Stream(ctx), liveness.Default())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLivenessHeadTurnClipPasses(t *testing.T) {
	r := runLiveness(t, headTurnClip(t))
	for _, s := range r.Samples {
		t.Logf("%v yaw %.1f parallax %.3f", s.At, s.Yaw, s.Parallax)
	}
	if !r.Live || !r.ActivePassed || !r.PassivePassed {
		t.Fatalf("real head turn refused: %+v", r)
	}
}

func TestLivenessPhotoReplayFails(t *testing.T) {
	r := runLiveness(t, replayClip(t))
	for _, s := range r.Samples {
		t.Logf("%v yaw %.1f parallax %.3f", s.At, s.Yaw, s.Parallax)
	}
	if r.Live || r.ActivePassed || r.PassivePassed || r.Reason == "" {
		t.Fatalf("photo replay accepted: %+v", r)
	}
	if r.Frames < 10 {
		t.Fatalf("face followed on only %d frames", r.Frames)
	}
}
