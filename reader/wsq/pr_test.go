package wsq

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPerfectReconstruction: the analysis with the encoder's 9/7 filters followed by the synthesis
// the decoder derives from the same taps gives the image back (no quantisation), for even and odd
// sizes, so the decomposition tree, the spectral inversions, the symmetric extension and the
// modulated synthesis filters agree.
func TestPerfectReconstruction(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{388, 374}, {300, 300}, {257, 263}, {64, 65}, {33, 47}, {7, 5}, {1, 3}} {
		w, h := sz[0], sz[1]
		img := make([]float32, w*h)
		for i := range img {
			img[i] = float32(rng.Float64()*256 - 128)
		}
		orig := append([]float32(nil), img...)
		tr := newTree(w, h)
		decompose(img, w, tr, analysisLo, analysisHi)
		reconstruct(img, w, tr, newSynthesis(analysisLo, analysisHi))
		worst := 0.0
		for i := range img {
			worst = math.Max(worst, math.Abs(float64(img[i]-orig[i])))
		}
		if worst > 1e-3 && w > 8 {
			t.Errorf("%dx%d: max error %g", w, h, worst)
		}
	}
}

// TestTreeTiles: the 64 subbands tile the image exactly.
func TestTreeTiles(t *testing.T) {
	for _, sz := range [][2]int{{388, 374}, {300, 300}, {257, 263}, {33, 47}} {
		w, h := sz[0], sz[1]
		tr := newTree(w, h)
		// 60–63: the first level's diagonal quarter, split once like the other quarters.
		q := split(split(tr.node[0], false, false)[3], false, false)
		copy(tr.sub[60:], q[:])
		cover := make([]int, w*h)
		for _, r := range tr.sub {
			for y := r.y; y < r.y+r.h; y++ {
				for x := r.x; x < r.x+r.w; x++ {
					cover[y*w+x]++
				}
			}
		}
		for i, c := range cover {
			if c != 1 {
				t.Fatalf("%dx%d: pixel (%d,%d) covered %d times", w, h, i%w, i/w, c)
			}
		}
	}
}
