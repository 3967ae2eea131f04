package embedding

import (
	"errors"
	"image"
	"math"
	"testing"
)

func TestDistance(t *testing.T) {
	d, err := Distance([]float32{0, 3}, []float32{4, 0})
	if err != nil || math.Abs(d-5) > 1e-9 {
		t.Fatalf("d=%v err=%v", d, err)
	}
	if _, err := Distance([]float32{1}, []float32{1, 2}); !errors.Is(err, ErrDimension) {
		t.Fatalf("err=%v", err)
	}
	if _, err := Distance(nil, nil); !errors.Is(err, ErrDimension) {
		t.Fatalf("empty: err=%v", err)
	}
}

func TestEyeCentres(t *testing.T) {
	five := []image.Point{{200, 100}, {170, 100}, {100, 102}, {130, 102}, {150, 150}}
	a, b, ok := EyeCentres(five)
	if !ok || a != image.Pt(115, 102) || b != image.Pt(185, 100) {
		t.Fatalf("5-point eyes %v %v %v", a, b, ok)
	}
	if n, ok := NoseTip(five); !ok || n != image.Pt(150, 150) {
		t.Fatal("5-point nose")
	}
	sixtyEight := make([]image.Point, 68)
	for i := 36; i < 42; i++ {
		sixtyEight[i] = image.Pt(100+i-36, 100)
	}
	for i := 42; i < 48; i++ {
		sixtyEight[i] = image.Pt(200+i-42, 110)
	}
	a, b, ok = EyeCentres(sixtyEight)
	if !ok || a != image.Pt(102, 100) || b != image.Pt(202, 110) {
		t.Fatalf("68-point eyes %v %v", a, b)
	}
	if _, _, ok := EyeCentres(make([]image.Point, 7)); ok {
		t.Fatal("7 points accepted")
	}
}
