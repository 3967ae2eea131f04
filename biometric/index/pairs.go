package index

import (
	"math"
	"math/bits"

	"enrolldesk/biometric/finger"
)

// Candidate pre-selection for fingers: minutia-pair ("edge") codes in a bit vector.
//
// Every ordered pair of minutiae (i, j) at a distance d in [pairMinD, pairMaxD) gives a feature
// that is invariant to rotation and translation: d, and the directions of i and of j measured
// from the segment i→j. Quantised (d in distance bins, each angle in pairABins sectors) the
// feature indexes one bit per grid of a pairCells-bit vector (no hashing: every cell has its own bit). A
// gallery template sets the bit of each of its pairs; a probe also sets the neighbouring cell of
// any coordinate that lies near a cell border (soft quantisation), so that small distortions
// still hit. The pre-score of a candidate is popcount(probe AND candidate), computed for the
// whole gallery with AND+POPCNT per 64 cells (the probe's rarer cells counted twice), and
// normalised by the candidate's own bit count so that templates with many minutiae do not win by
// density (see preScore).
//
// What the design rests on, measured (rank of the mate among all pre-scores, worst over the
// probes): with one grid of 16 distance bins × 24 direction sectors (15°), 100,000 synthetic
// fingers + FVC2002 DB1_B and 40 planted duplicates, the mate lay beyond rank 256 for 5 probes
// (worst 5,705); brute force found all 40. Finer direction sectors (32, 11.25°: still above the
// extractor's direction noise) and counting the probe's rarer half of cells twice (an inverse-
// document-frequency weight in two tiers: the gallery keeps how many templates set each cell,
// see FingerGallery.freq) brought the worst to 45 there, but on the harder gallery of
// TestFingerPlantedDuplicates (2,400 image-derived templates, 440 probes) 2 mates still ranked
// ~1,150. A second grid, shifted against the first (22 bins of 6 px, sectors offset by half a
// sector), removes most quantisation losses: worst rank 230 of 100,000 over the 440 probes.
// Coarser cells (11 × 16 × 16) or a wider soft border (25–30 %) made it worse: the codes saturate
// and every dense template looks alike.
const (
	pairMinD  = 20.0
	pairMaxD  = 152.0
	pairABins = 32   // 11.25° sectors
	softEdge  = 0.15 // fraction of a cell near its border where the probe also sets the neighbour
	// Two quantisation grids: 16 distance bins (8.25 px) with sectors starting at 0°, and 22
	// bins (6 px) with sectors shifted by half a sector. A pair near a border of one grid lies
	// inside a cell of the other, so distortion that moves it across a border still counts.
	pairDBins0 = 16
	pairDBins1 = 22
	pairCells0 = pairDBins0 * pairABins * pairABins // 16384
	pairCells  = pairCells0 + pairDBins1*pairABins*pairABins
	pairWords  = (pairCells + 63) / 64 // 608 words, 4864 bytes
	pairWordsA = pairCells0 / 64       // the first grid's 256 words
)

type pairCode [pairWords]uint64

// minutiaDir returns minutia m's direction in image axes (y down), radians.
func minutiaDir(m *finger.Minutia) float64 { return -m.Angle }

// encodePairs builds the bit vector of t; soft sets neighbouring cells too (probe side).
func encodePairs(t *finger.Template, soft bool) pairCode {
	var c pairCode
	ms := t.Minutiae
	for i := range ms {
		a := &ms[i]
		for j := range ms {
			if i == j {
				continue
			}
			b := &ms[j]
			dx, dy := float64(b.X-a.X), float64(b.Y-a.Y)
			d := math.Hypot(dx, dy)
			if d < pairMinD || d >= pairMaxD {
				continue
			}
			phi := math.Atan2(dy, dx)
			fa := wrap2pi(minutiaDir(a)-phi) / (2 * math.Pi / pairABins)
			fb := wrap2pi(minutiaDir(b)-phi) / (2 * math.Pi / pairABins)
			c.encode(0, pairDBins0, (d-pairMinD)/((pairMaxD-pairMinD)/pairDBins0), fa, fb, soft)
			c.encode(pairCells0, pairDBins1, (d-pairMinD)/((pairMaxD-pairMinD)/pairDBins1),
				math.Mod(fa+0.5, pairABins), math.Mod(fb+0.5, pairABins), soft)
		}
	}
	return c
}

// encode sets the cell of one pair (fractional bin coordinates) in the grid starting at cell base.
func (c *pairCode) encode(base, dBins int, fd, fa, fb float64, soft bool) {
	if !soft {
		c.set(base, int(min(fd, float64(dBins-1))), int(fa)%pairABins, int(fb)%pairABins)
		return
	}
	for _, di := range neighbours(fd, false, dBins) {
		for _, ai := range neighbours(fa, true, pairABins) {
			for _, bi := range neighbours(fb, true, pairABins) {
				if di >= 0 && ai >= 0 && bi >= 0 {
					c.set(base, di, ai, bi)
				}
			}
		}
	}
}

// neighbours returns the cell of f and, near a border, the adjacent cell (-1 when none).
func neighbours(f float64, circular bool, n int) [2]int {
	i := int(f)
	if i >= n {
		i = n - 1
	}
	out := [2]int{i, -1}
	frac := f - float64(i)
	switch {
	case frac < softEdge:
		if i > 0 {
			out[1] = i - 1
		} else if circular {
			out[1] = n - 1
		}
	case frac > 1-softEdge:
		if i < n-1 {
			out[1] = i + 1
		} else if circular {
			out[1] = 0
		}
	}
	return out
}

func (c *pairCode) set(base, d, a, b int) {
	k := base + (d*pairABins+a)*pairABins + b
	c[k/64] |= 1 << (k % 64)
}

// countWords is the number of cells set in the first words words.
func (c *pairCode) countWords(words int) int {
	n := 0
	for _, w := range c[:words] {
		n += bits.OnesCount64(w)
	}
	return n
}

func (c *pairCode) count() int {
	n := 0
	for _, w := range c {
		n += bits.OnesCount64(w)
	}
	return n
}

// each calls f with the index of every set cell.
func (c *pairCode) each(f func(k int)) {
	for w, x := range c {
		for x != 0 {
			f(w*64 + bits.TrailingZeros64(x))
			x &= x - 1
		}
	}
}

func wrap2pi(a float64) float64 {
	a = math.Mod(a, 2*math.Pi)
	if a < 0 {
		a += 2 * math.Pi
	}
	return a
}
