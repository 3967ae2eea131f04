package finger

import (
	"math"
	"math/bits"
	"sort"
)

// The matcher is a two-stage minutiae matcher:
//
//  1. Local: each minutia gets a binary Minutia Cylinder-Code descriptor (Cappelli, Ferrara, Maltoni,
//     "Minutia Cylinder-Code: a new representation and matching technique for fingerprint
//     recognition", IEEE TPAMI 32(12), 2010) reduced to 8×8 spatial cells × 6 direction bins (cell side
//     17.5 px, radius 70 px). Cells are valid inside the circle and inside the template's minutiae hull
//     (dilated by 20 px); two cylinders compare on their common valid cells by normalised Hamming
//     distance. Being expressed in each minutia's own frame, the descriptor is invariant to rotation and
//     translation.
//  2. Global: the best local pairs each propose an alignment (rotation + translation); under each, probe
//     and candidate minutiae pair one-to-one within a distance tolerance that grows with distance from
//     the anchor (elastic distortion) and a direction tolerance. The best alignment's paired minutiae,
//     weighted by their local similarity, give the score, normalised by the minutiae counts in the
//     overlapping area.
//
// Scores lie in [0, 100].
const (
	cylR      = 70.0
	cylNs     = 8
	cylNd     = 6
	cylCell   = 2 * cylR / cylNs
	cylHit    = 0.8 * cylCell // a neighbour lights the cells whose centre lies within this distance
	hullOmega = 20.0
	minValid  = 20 // common valid cells (of 52) needed to compare two cylinders
	maxDirDif = math.Pi / 2
	seeds     = 12
	pairTolD  = 12.0
	pairTolK  = 0.07 // extra distance tolerance per pixel of distance from the anchor
	pairTolA  = math.Pi / 6
)

// cylinder cell centres in the minutia's frame and the circle mask
var (
	cellX, cellY [cylNs * cylNs]float64
	circleMask   uint64
)

func init() {
	for j := range cylNs {
		for i := range cylNs {
			c := j*cylNs + i
			cellX[c] = (float64(i) - (cylNs-1)/2.0) * cylCell
			cellY[c] = (float64(j) - (cylNs-1)/2.0) * cylCell
			if math.Hypot(cellX[c], cellY[c]) <= cylR {
				circleMask |= 1 << c
			}
		}
	}
}

type pmin struct {
	x, y, dir float64 // image coordinates (y down); dir in radians, y down
	c, s      float64 // cos and sin of dir
	valid     uint64  // valid cells
	bits      [cylNd]uint64
	ok        bool // enough valid cells and neighbours to be compared
}

// Probe is a template prepared for many comparisons (cylinders and hull computed once). It is safe for
// concurrent use by several goroutines.
type Probe struct {
	m    []pmin
	hull [][2]float64
}

// NewProbe prepares t for matching. A nil or empty template gives a probe that matches nothing.
func NewProbe(t *Template) *Probe {
	p := &Probe{}
	if t == nil {
		return p
	}
	p.m = make([]pmin, len(t.Minutiae))
	pts := make([][2]float64, len(t.Minutiae))
	for i, m := range t.Minutiae {
		d := normAngle(-m.Angle)
		p.m[i] = pmin{x: float64(m.X), y: float64(m.Y), dir: d, c: math.Cos(d), s: math.Sin(d)}
		pts[i] = [2]float64{float64(m.X), float64(m.Y)}
	}
	p.hull = convexHull(pts)
	for i := range p.m {
		a := &p.m[i]
		// validity: inside the circle and inside the dilated hull
		for c := range cylNs * cylNs {
			if circleMask>>c&1 == 0 {
				continue
			}
			gx := a.x + cellX[c]*a.c - cellY[c]*a.s
			gy := a.y + cellX[c]*a.s + cellY[c]*a.c
			if insideHull(p.hull, gx, gy, hullOmega) {
				a.valid |= 1 << c
			}
		}
		nb := 0
		for j := range p.m {
			if j == i {
				continue
			}
			b := &p.m[j]
			dx, dy := b.x-a.x, b.y-a.y
			if dx*dx+dy*dy > (cylR+cylHit)*(cylR+cylHit) {
				continue
			}
			nb++
			// neighbour in a's frame
			lx := dx*a.c + dy*a.s
			ly := -dx*a.s + dy*a.c
			rel := normAngle(b.dir - a.dir)
			f := rel / (2 * math.Pi / cylNd)
			k0 := int(f) % cylNd
			k1 := k0
			switch frac := f - math.Floor(f); {
			case frac < 0.25:
				k1 = (k0 + cylNd - 1) % cylNd
			case frac > 0.75:
				k1 = (k0 + 1) % cylNd
			}
			// cells within cylHit of the neighbour
			i0 := int(math.Floor((lx-cylHit)/cylCell + (cylNs-1)/2.0))
			i1 := int(math.Ceil((lx+cylHit)/cylCell + (cylNs-1)/2.0))
			j0 := int(math.Floor((ly-cylHit)/cylCell + (cylNs-1)/2.0))
			j1 := int(math.Ceil((ly+cylHit)/cylCell + (cylNs-1)/2.0))
			for cj := max(j0, 0); cj <= min(j1, cylNs-1); cj++ {
				for ci := max(i0, 0); ci <= min(i1, cylNs-1); ci++ {
					c := cj*cylNs + ci
					ex, ey := cellX[c]-lx, cellY[c]-ly
					if ex*ex+ey*ey <= cylHit*cylHit {
						a.bits[k0] |= 1 << c
						a.bits[k1] |= 1 << c
					}
				}
			}
		}
		for k := range a.bits {
			a.bits[k] &= a.valid
		}
		a.ok = nb >= 2 && bits.OnesCount64(a.valid) >= minValid
	}
	return p
}

// Match compares the probe with a template and returns a score in [0, 100]. For many comparisons
// against the same candidates, prepare them once with NewProbe and use MatchProbe.
func (p *Probe) Match(t *Template) float64 {
	return p.MatchProbe(NewProbe(t))
}

type lpair struct {
	i, j int32
	s    float32
}

// MatchProbe compares two prepared templates; the score is symmetric up to rounding.
func (p *Probe) MatchProbe(q *Probe) float64 {
	np, nq := len(p.m), len(q.m)
	if np < 3 || nq < 3 {
		return 0
	}
	// Local similarities of all comparable pairs.
	sim := make([]float32, np*nq)
	pairs := make([]lpair, 0, 256)
	for i := range p.m {
		a := &p.m[i]
		if !a.ok {
			continue
		}
		for j := range q.m {
			b := &q.m[j]
			if !b.ok || angDiff(a.dir, b.dir) > maxDirDif {
				continue
			}
			v := a.valid & b.valid
			if bits.OnesCount64(v) < minValid {
				continue
			}
			na, nb, nx := 0, 0, 0
			for k := range cylNd {
				x, y := a.bits[k]&v, b.bits[k]&v
				na += bits.OnesCount64(x)
				nb += bits.OnesCount64(y)
				nx += bits.OnesCount64(x ^ y)
			}
			if na+nb == 0 {
				continue
			}
			s := 1 - float32(nx)/float32(na+nb)
			if s <= 0 {
				continue
			}
			sim[i*nq+j] = s
			pairs = append(pairs, lpair{int32(i), int32(j), s})
		}
	}
	if len(pairs) == 0 {
		return 0
	}
	sort.Slice(pairs, func(a, b int) bool { return pairs[a].s > pairs[b].s })
	// Global consolidation: try the best local pairs as alignment anchors.
	best := 0.0
	used := make([]int32, nq)
	stamp := int32(0)
	tried := 0
	for _, sp := range pairs {
		if tried == seeds {
			break
		}
		tried++
		stamp++
		a, b := &p.m[sp.i], &q.m[sp.j]
		rot := b.dir - a.dir
		rc, rs := math.Cos(rot), math.Sin(rot)
		var wsum float64
		matched := 0
		inQ, inP := 0, 0
		for i := range p.m {
			m := &p.m[i]
			dx, dy := m.x-a.x, m.y-a.y
			tx := b.x + dx*rc - dy*rs
			ty := b.y + dx*rs + dy*rc
			if insideHull(q.hull, tx, ty, 8) {
				inQ++
			}
			tol := pairTolD + pairTolK*math.Sqrt(dx*dx+dy*dy)
			bj, bd := -1, tol*tol
			for j := range q.m {
				if used[j] == stamp {
					continue
				}
				n := &q.m[j]
				ex, ey := n.x-tx, n.y-ty
				d := ex*ex + ey*ey
				if d < bd && angDiff(m.dir+rot, n.dir) < pairTolA {
					bj, bd = j, d
				}
			}
			if bj >= 0 {
				used[bj] = stamp
				matched++
				wsum += 0.5 + float64(sim[i*nq+bj])
			}
		}
		for j := range q.m {
			n := &q.m[j]
			dx, dy := n.x-b.x, n.y-b.y
			tx := a.x + dx*rc + dy*rs
			ty := a.y - dx*rs + dy*rc
			if insideHull(p.hull, tx, ty, 8) {
				inP++
			}
		}
		if matched < 3 {
			continue
		}
		den := float64(max(inQ, 10)) * float64(max(inP, 10))
		s := 100 * wsum * wsum / (2.25 * den)
		if s > best {
			best = s
		}
	}
	return math.Min(best, 100)
}

// convexHull returns the hull of pts counter-clockwise in image coordinates (Andrew's monotone chain).
func convexHull(pts [][2]float64) [][2]float64 {
	if len(pts) < 3 {
		return append([][2]float64(nil), pts...)
	}
	p := append([][2]float64(nil), pts...)
	sort.Slice(p, func(i, j int) bool {
		return p[i][0] < p[j][0] || p[i][0] == p[j][0] && p[i][1] < p[j][1]
	})
	cross := func(o, a, b [2]float64) float64 {
		return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
	}
	h := make([][2]float64, 0, 2*len(p))
	for _, q := range p {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	lo := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		q := p[i]
		for len(h) >= lo && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	return h[:len(h)-1]
}

// insideHull reports whether (x, y) lies inside the convex polygon h grown by margin pixels.
func insideHull(h [][2]float64, x, y, margin float64) bool {
	if len(h) < 3 {
		return false
	}
	for i := range h {
		a, b := h[i], h[(i+1)%len(h)]
		ex, ey := b[0]-a[0], b[1]-a[1]
		l := math.Hypot(ex, ey)
		if l == 0 {
			continue
		}
		// signed distance to the edge line, positive inside (the hull turns left at every vertex)
		d := (ex*(y-a[1]) - ey*(x-a[0])) / l
		if -d > margin {
			return false
		}
	}
	return true
}
