package synth_test

import (
	"bytes"
	"testing"

	"enrolldesk/biometric/finger"
	"enrolldesk/biometric/finger/synth"
)

func TestDeterministicAndDistinct(t *testing.T) {
	a := synth.Generate(42, 3, 1)
	b := synth.Generate(42, 3, 1)
	if a.Bounds().Dx() != synth.Width || a.Bounds().Dy() != synth.Height {
		t.Fatalf("size %v", a.Bounds())
	}
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Fatal("same arguments gave different images")
	}
	if bytes.Equal(a.Pix, synth.Generate(42, 3, 2).Pix) {
		t.Fatal("two impressions are identical")
	}
	if bytes.Equal(a.Pix, synth.Generate(43, 3, 1).Pix) {
		t.Fatal("two seeds gave the same finger")
	}
	// Both dark ridges and a white background are present.
	var dark, white int
	for _, v := range a.Pix {
		if v < 100 {
			dark++
		}
		if v > 200 {
			white++
		}
	}
	if dark < 5000 || white < 5000 {
		t.Fatalf("implausible histogram: %d dark, %d white", dark, white)
	}
}

func TestClassesFollowTheirFrequencies(t *testing.T) {
	counts := map[synth.Class]int{}
	for id := range 300 {
		counts[synth.ClassOf(9, id)]++
	}
	// loops ~65 %, whorls ~28 %, arches ~7 %: allow generous sampling error on 300 fingers
	loops := counts[synth.LeftLoop] + counts[synth.RightLoop]
	if loops < 160 || loops > 230 || counts[synth.Whorl] < 50 || counts[synth.Whorl] > 120 {
		t.Fatalf("class counts %v", counts)
	}
}

// Impressions of one generated finger match each other far better than other fingers.
func TestGeneratedFingersMatch(t *testing.T) {
	ext := func(f, i int) *finger.Template {
		tp, err := finger.Extract(synth.Generate(5, f, i))
		if err != nil {
			t.Fatalf("finger %d impression %d: %v", f, i, err)
		}
		if len(tp.Minutiae) < 10 {
			t.Fatalf("finger %d impression %d: only %d minutiae", f, i, len(tp.Minutiae))
		}
		return tp
	}
	var gen, imp []float64
	for f := range 2 {
		p := finger.NewProbe(ext(f, 1))
		gen = append(gen, p.Match(ext(f, 2)))
		imp = append(imp, p.Match(ext(1-f, 3)))
	}
	sum := func(v []float64) (s float64) {
		for _, x := range v {
			s += x
		}
		return
	}
	t.Logf("genuine %v impostor %v", gen, imp)
	if sum(gen) < 3*sum(imp) {
		t.Fatalf("genuine %v not well above impostor %v", gen, imp)
	}
}
