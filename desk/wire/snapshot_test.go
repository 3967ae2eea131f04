package wire

import (
	"bytes"
	"context"
	"errors"
	"image/color"
	"image/jpeg"
	"path/filepath"
	"testing"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/desk/app"

	"gocv.io/x/gocv"
)

// The evidence photo is a real JPEG still of the desk camera's source: here a simulated clip
// of real photos, padded to a desk camera's 640×480 frame; it decodes at the clip's size.
func TestSnapshotFromClip(t *testing.T) {
	src := gocv.IMRead(blix("0006"), gocv.IMReadColor)
	if src.Empty() {
		t.Fatalf("read %s", blix("0006"))
	}
	defer src.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	gocv.CopyMakeBorder(src, &frame, 115, 480-115-src.Rows(), 195, 640-195-src.Cols(), gocv.BorderConstant, color.RGBA{})
	clip := filepath.Join(t.TempDir(), "still.avi")
	if err := face.WriteClip(clip, []gocv.Mat{frame, frame, frame}, 10); err != nil {
		t.Fatal(err)
	}
	c := &CameraFace{Source: face.Source{Name: clip, FPS: 10}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var _ app.EvidenceCamera = c
	b, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("evidence photo is not a JPEG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 640 || r.Dy() != 480 {
		t.Fatalf("evidence photo %v, the clip is 640×480", r)
	}
}

// Without a camera, or with one that cannot be opened, the window is told the camera is missing.
func TestSnapshotNoCamera(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, src := range []face.Source{{}, {Name: filepath.Join(t.TempDir(), "absent.avi")}} {
		_, err := (&CameraFace{Source: src}).Snapshot(ctx)
		var ce *app.CodedError
		if !errors.As(err, &ce) || ce.Code != app.CodeDeviceMissing {
			t.Fatalf("source %q: %v, want device_missing", src.Name, err)
		}
	}
	// A cancelled context ends the wait.
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := (&CameraFace{Source: face.Source{Name: "/dev/video99"}}).Snapshot(done); err == nil {
		t.Fatal("snapshot under a cancelled context succeeded")
	}
}
