package wire

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/desk/app"
	"enrolldesk/desk/enroll"
	"enrolldesk/sync/record"
)

func shared(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "..", "shared", "testdata"}, parts...)...)
}

func blix(n string) string { return shared("faces", "lfw", "Hans_Blix", "Hans_Blix_"+n+".jpg") }

// headTurn is the simulated camera of the face package's liveness tests: LFW photos of Hans
// Blix looking straight (0003), turned to his left (0004, 0005) and to his right (0001), then
// straight at the camera alone (0006: 0003 has a second person beside him, which the quality
// gate refuses).
var headTurn = []ClipFrame{{blix("0003"), 4}, {blix("0004"), 3}, {blix("0005"), 2}, {blix("0003"), 2}, {blix("0001"), 4}, {blix("0003"), 2}, {blix("0006"), 3}}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCameraFaceEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Burst: 2}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "turn.avi")
	if err := c.WriteClip(ctx, clip, headTurn, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: clip, FPS: 10}
	if st := c.Status(ctx); st.State != app.DeviceReady {
		t.Fatalf("status %+v", st)
	}

	// Same person: another photo of Hans Blix as the chip photo.
	f, err := c.Capture(ctx, read(t, blix("0009")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("same person: distance %.3f threshold %.3f %s liveness %s", f.Score, f.Threshold, f.Decision, f.Liveness)
	if f.Decision != enroll.Match || f.Liveness != record.Pass {
		t.Fatalf("same person: %s, liveness %s", f.Decision, f.Liveness)
	}
	if len(f.Portrait) == 0 || len(f.Portrait) > 20<<10 || len(f.Descriptor) != 128 {
		t.Fatalf("portrait %d bytes, descriptor %d", len(f.Portrait), len(f.Descriptor))
	}

	// Different person as the chip photo.
	f, err = c.Capture(ctx, read(t, shared("faces", "lfw", "Abdullah_Gul", "Abdullah_Gul_0001.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("different person: distance %.3f %s", f.Score, f.Decision)
	if f.Decision != enroll.NoMatch {
		t.Fatalf("different person: %s", f.Decision)
	}
}

func TestCameraFaceMissingCamera(t *testing.T) {
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Source: face.Source{Name: filepath.Join(t.TempDir(), "none.avi")}}
	if st := c.Status(context.Background()); st.State != app.DeviceMissing {
		t.Fatalf("status %+v", st)
	}
}

// A still photo before the camera (the same person, looking straight) fails liveness.
func TestCameraFaceStillPhotoFailsLiveness(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Burst: 2}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "still.avi")
	if err := c.WriteClip(ctx, clip, []ClipFrame{{blix("0006"), 20}}, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: clip, FPS: 10}
	f, err := c.Capture(ctx, read(t, blix("0009")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("still photo: distance %.3f %s liveness %s", f.Score, f.Decision, f.Liveness)
	if f.Liveness != record.Fail {
		t.Fatalf("still photo passed liveness")
	}
}
