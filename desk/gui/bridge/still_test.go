package main

import (
	"bytes"
	"context"
	"image/jpeg"
	"path/filepath"
	"testing"
	"time"

	"enrolldesk/biometric/face"
)

// The evidence photo is a frame of the desk camera's source as JPEG: here the simulated camera
// over a folder of real photos.
func TestCameraStillTakesAFrame(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "testdata", "faces", "lfw", "Hans_Blix")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := cameraStill{src: face.Source{Name: dir, FPS: 10}}.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if r := img.Bounds(); r.Dx() < 100 || r.Dy() < 100 {
		t.Fatalf("frame %v", r)
	}
	if _, err := (cameraStill{src: face.Source{Name: filepath.Join(t.TempDir(), "absent.avi")}}).Snapshot(ctx); err == nil {
		t.Fatal("a missing camera gave a photo")
	}
}
