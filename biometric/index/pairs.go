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
// from the segment i→j. Quantised (d in pairDBins bins, each angle in pairABins sectors) the
// feature indexes one bit of a pairBits-bit vector (no hashing: every cell has its own bit). A
// gallery template sets the bit of each of its pairs; a probe also sets the neighbouring cell of
// any coordinate that lies near a cell border (soft quantisation), so that small distortions
// still hit. The pre-score of a candidate is popcount(probe AND candidate), computed for the
// whole gallery with one AND+POPCNT per 64 cells, and normalised by the candidate's own bit count
// so that templates with many minutiae do not win by density (see preScore).
const (
	pairMinD  = 20.0
	pairMaxD  = 152.0
	pairDBins = 16
	pairDW    = (pairMaxD - pairMinD) / pairDBins // 8.25 px at 500 dpi, under one ridge period
	pairABins = 24                                // 15° sectors
	pairCells = pairDBins * pairABins * pairABins // 9216
	pairWords = (pairCells + 63) / 64             // 144 words, 1152 bytes
	pairBits  = pairWords * 64
	softEdge  = 0.15 // fraction of a cell near its border where the probe also sets the neighbour

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
			fd := (d - pairMinD) / pairDW
			fa := wrap2pi(minutiaDir(a)-phi) / (2 * math.Pi / pairABins)
			fb := wrap2pi(minutiaDir(b)-phi) / (2 * math.Pi / pairABins)
			if !soft {
				c.set(int(fd), int(fa)%pairABins, int(fb)%pairABins)
				continue
			}
			for _, di := range neighbours(fd, false, pairDBins) {
				for _, ai := range neighbours(fa, true, pairABins) {
					for _, bi := range neighbours(fb, true, pairABins) {
						if di >= 0 && ai >= 0 && bi >= 0 {
							c.set(di, ai, bi)
						}
					}
				}
			}
		}
	}
	return c
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

func (c *pairCode) set(d, a, b int) {
	k := (d*pairABins+a)*pairABins + b
	c[k/64] |= 1 << (k % 64)
}

func (c *pairCode) count() int {
	n := 0
	for _, w := range c {
		n += bits.OnesCount64(w)
	}
	return n
}

func wrap2pi(a float64) float64 {
	a = math.Mod(a, 2*math.Pi)
	if a < 0 {
		a += 2 * math.Pi
	}
	return a
}
