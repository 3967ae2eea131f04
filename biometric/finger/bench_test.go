package finger

import (
	"fmt"
	"image"
	"path/filepath"
	"testing"
)

// BenchmarkFingerExtract: one FVC2002 DB1 image (388×374, 8-bit) → template (DESIGN.md budget ≤ 30 ms).
func BenchmarkFingerExtract(b *testing.B) {
	dir := dataDir(b, "fvc2002_db1_b")
	var imgs []*image.Gray
	for f := 101; f <= 110; f++ {
		img, err := LoadImage(filepath.Join(dir, fmt.Sprintf("%d_1.tif", f)))
		if err != nil {
			b.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Extract(imgs[i%len(imgs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFingerMatch: one 1:1 comparison with the probe prepared once and the candidate template as
// stored (its preparation counted), FVC2002 DB1 genuine and impostor pairs mixed 1:10 (budget ≤ 100 µs).
func BenchmarkFingerMatch(b *testing.B) {
	dir := dataDir(b, "fvc2002_db1_b")
	tpl := func(f, i int) *Template {
		img, err := LoadImage(filepath.Join(dir, fmt.Sprintf("%d_%d.tif", f, i)))
		if err != nil {
			b.Fatal(err)
		}
		t, err := Extract(img)
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	type pair struct {
		p *Probe
		t *Template
	}
	var pairs []pair
	for f := 101; f <= 110; f++ {
		p := NewProbe(tpl(f, 1))
		pairs = append(pairs, pair{p, tpl(f, 2)}) // genuine
		for k := 1; k <= 10; k++ {                // ten impostors
			g := 101 + (f-101+k)%10
			if g == f {
				g = 101 + (f-101+k+1)%10
			}
			pairs = append(pairs, pair{p, tpl(g, 1+k%8)})
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pr := pairs[i%len(pairs)]
		pr.p.Match(pr.t)
	}
}
