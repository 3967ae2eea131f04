package main

import (
	"path/filepath"
	"runtime"
	"testing"

	"enrolldesk/reader/lds"
)

// TestWSQFinger: -fingers prints become WSQ-compressed DG3 fingers that decode at their size.
func TestWSQFinger(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	f, err := wsqFinger(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "fingerprints", "fvc2000_db4_b", "105_2.tif"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if f.Compression != lds.FingerWSQ || f.Position != 3 || len(f.Image) > 20000 {
		t.Fatalf("finger: compression %d, position %d, %d bytes", f.Compression, f.Position, len(f.Image))
	}
	fs, err := lds.ParseDG3(lds.DG3Bytes([]lds.Finger{f}))
	if err != nil {
		t.Fatal(err)
	}
	img, err := fs[0].Decode()
	if err != nil || img.Rect.Dx() != f.Width || img.Rect.Dy() != f.Height {
		t.Fatalf("decode: %v", err)
	}
	if _, err := wsqFinger("no-such.tif", 1); err == nil {
		t.Fatal("missing file accepted")
	}
}
