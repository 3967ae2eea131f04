package finger

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzDecodeTIFF(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(dataDir(f, "fvc2000_db4_b"), "101_1.tif"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := DecodeTIFF(b)
		if err == nil && (img.Bounds().Dx() <= 0 || len(img.Pix) != img.Bounds().Dx()*img.Bounds().Dy()) {
			t.Fatalf("inconsistent image %v", img.Bounds())
		}
	})
}

func FuzzTemplateCompact(f *testing.F) {
	tp := &Template{Width: 388, Height: 374, DPI: 500, Quality: 70, Minutiae: []Minutia{
		{X: 10, Y: 20, Angle: 1, Type: TypeEnding, Quality: 50},
		{X: 300, Y: 200, Angle: 6, Type: TypeBifurcation, Quality: 90},
	}}
	raw, err := tp.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	tp.Field = &Field{W: 3, H: 3, Cells: []uint8{0, 1, 2, 3, 15, 0, 7, 8, 9}}
	if raw, err = tp.MarshalBinary(); err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		var x Template
		if x.UnmarshalBinary(b) != nil {
			return
		}
		again, err := x.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if string(again) != string(b) {
			t.Fatalf("round trip changed the bytes")
		}
		NewProbe(&x).Match(&x)
	})
}
