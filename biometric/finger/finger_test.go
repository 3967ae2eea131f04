package finger

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// dataDir is ../shared/testdata/fingerprints relative to the repository root.
func dataDir(t testing.TB, set string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	d := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "fingerprints", set)
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("test data missing: %v", err)
	}
	return d
}

func loadTemplate(t testing.TB, set, name string) *Template {
	t.Helper()
	img, err := LoadImage(filepath.Join(dataDir(t, set), name))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := Extract(img)
	if err != nil {
		t.Fatalf("extract %s: %v", name, err)
	}
	return tp
}

func TestDecodeTIFFReal(t *testing.T) {
	img, err := LoadImage(filepath.Join(dataDir(t, "fvc2002_db1_b"), "101_1.tif"))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 388 || b.Dy() != 374 {
		t.Fatalf("size %v, want 388x374", b)
	}
	// A fingerprint image has both dark ridges and a bright background.
	var lo, hi int
	for _, v := range img.Pix {
		if v < 80 {
			lo++
		}
		if v > 200 {
			hi++
		}
	}
	if lo < 1000 || hi < 1000 {
		t.Fatalf("implausible pixel histogram: %d dark, %d bright", lo, hi)
	}
}

func TestExtractAndMatch(t *testing.T) {
	a := loadTemplate(t, "fvc2002_db1_b", "101_1.tif")
	b := loadTemplate(t, "fvc2002_db1_b", "101_2.tif")
	c := loadTemplate(t, "fvc2002_db1_b", "102_1.tif")
	d := loadTemplate(t, "fvc2002_db1_b", "103_1.tif")
	for _, tp := range []*Template{a, b, c, d} {
		if len(tp.Minutiae) < 15 || len(tp.Minutiae) > maxMinutiae {
			t.Fatalf("%d minutiae", len(tp.Minutiae))
		}
		if tp.Quality <= 0 || tp.Quality > 100 {
			t.Fatalf("quality %d", tp.Quality)
		}
	}
	p := NewProbe(a)
	gen := p.Match(b)
	imp1, imp2 := p.Match(c), p.Match(d)
	t.Logf("genuine %.2f impostors %.2f %.2f", gen, imp1, imp2)
	if gen <= 2*max(imp1, imp2) {
		t.Fatalf("genuine score %.2f not well above impostors %.2f %.2f", gen, imp1, imp2)
	}
	if self := p.Match(a); self < gen {
		t.Fatalf("self score %.2f below genuine %.2f", self, gen)
	}
	if s := p.Match(&Template{}); s != 0 {
		t.Fatalf("empty template scored %.2f", s)
	}
}

func TestCompactRoundTrip(t *testing.T) {
	a := loadTemplate(t, "fvc2000_db4_b", "105_3.tif")
	raw, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var b Template
	if err := b.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	raw2, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != string(raw2) {
		t.Fatal("compact encoding is not stable across a round trip")
	}
	if len(b.Minutiae) != len(a.Minutiae) || b.Width != a.Width || b.Quality != a.Quality {
		t.Fatalf("round trip changed the template: %+v", b)
	}
	if a.Field == nil || b.Field == nil || b.Field.W != a.Field.W || b.Field.H != a.Field.H ||
		string(b.Field.Cells) != string(a.Field.Cells) {
		t.Fatal("round trip lost the orientation field")
	}
	// A template without a field (an ISO/ANSI import, an old gallery) keeps the version 1 form.
	old := &Template{Width: a.Width, Height: a.Height, DPI: a.DPI, Quality: a.Quality, Minutiae: a.Minutiae}
	raw1, err := old.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if raw1[2] != 1 || len(raw1) != len(raw)-2-(len(a.Field.Cells)+1)/2 {
		t.Fatalf("field-less template encoded as version %d, %d bytes", raw1[2], len(raw1))
	}
	var c Template
	if err := c.UnmarshalBinary(raw1); err != nil || c.Field != nil || len(c.Minutiae) != len(a.Minutiae) {
		t.Fatalf("version 1 decode: %v", err)
	}
	for i := range a.Minutiae {
		if angDiff(a.Minutiae[i].Angle, b.Minutiae[i].Angle) > 2*3.1416/16384 {
			t.Fatalf("minutia %d angle %.5f → %.5f", i, a.Minutiae[i].Angle, b.Minutiae[i].Angle)
		}
	}
	if err := b.UnmarshalBinary(raw[:len(raw)-1]); err == nil {
		t.Fatal("truncated template accepted")
	}
}

func TestExtractRefusesBlank(t *testing.T) {
	img := newGray(200, 200, 255)
	if _, err := Extract(img); err != ErrNoFinger {
		t.Fatalf("blank image: err = %v, want ErrNoFinger", err)
	}
	if _, err := Extract(newGray(10, 10, 0)); err == nil {
		t.Fatal("tiny image accepted")
	}
}
