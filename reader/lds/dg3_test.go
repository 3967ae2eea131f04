package lds

import (
	"bytes"
	"path/filepath"
	"runtime"
	"testing"

	"enrolldesk/biometric/finger"
	"enrolldesk/reader/wsq"
)

// TestDG3WSQ: a DG3 whose 19794-4 records carry WSQ (two fingers, the codec's own encoding of an
// FVC print) parses and decodes to the WSQ decoder's image, finger positions and sizes kept.
func TestDG3WSQ(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	img, err := finger.LoadImage(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "fingerprints", "fvc2002_db1_b", "102_3.tif"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := wsq.Encode(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := wsq.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	dg3 := DG3Bytes([]Finger{
		{Position: 2, Quality: 70, Width: w, Height: h, Compression: FingerWSQ, Image: enc},
		{Position: 7, Quality: 65, Width: w, Height: h, Compression: FingerWSQ, Image: enc},
	})
	fs, err := ParseDG3(dg3)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := DG3Images(dg3)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || len(imgs) != 2 || fs[0].Position != 2 || fs[1].Position != 7 || fs[1].Quality != 65 || fs[0].Depth != 8 {
		t.Fatalf("fingers %+v", fs)
	}
	for i, im := range imgs {
		if im.Rect.Dx() != w || im.Rect.Dy() != h || !bytes.Equal(im.Pix, want.Pix) {
			t.Fatalf("finger %d: decoded image differs from the WSQ decoder's", i)
		}
	}
	// A corrupted WSQ stream is an error naming the finger.
	bad := append([]byte(nil), enc[:len(enc)/2]...)
	if _, err := (&Finger{Position: 2, Width: w, Height: h, Compression: FingerWSQ, Image: bad}).Decode(); err == nil {
		t.Fatal("truncated WSQ decoded")
	}
}
