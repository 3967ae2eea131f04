package finger

import (
	"math"
	"math/bits"
	"sort"
	"sync"
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
//     overlapping area and weighted by the agreement of the two orientation fields (field.go).
//
// Scores lie in [0, 100].
const (
	cylR           = 70.0
	cylNs          = 8
	cylNd          = 6
	cylCell        = 2 * cylR / cylNs
	cylHit         = 0.65 * cylCell // a neighbour lights the cells whose centre lies within this distance
	hullOmega      = 20.0
	minValid       = 20   // common valid cells (of 52) needed to compare two cylinders
	cosMaxDirDif   = 0    // cos(π/2): pairs whose directions differ by more are not compared
	seeds          = 24   // best local pairs tried as alignment anchors
	topAlign       = 2    // best-supported alignments refined and scored
	consensusPairs = 40   // best local pairs that vote for an anchor's alignment
	seedTolD       = 12.0 // first pass, per seed alignment: loose
	seedTolK       = 0.07
	cosSeedTolA    = 0.8660254 // cos(π/6)
	pairTolD       = 8.0       // final pass, after refinement: tight
	pairTolK       = 0.04      // extra distance tolerance per pixel of distance from the anchor
	cosPairTolA    = 0.9238795 // cos(π/8): direction tolerance when pairing
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
	ok        bool  // enough valid cells and neighbours to be compared
	idx       int32 // index in the template's Minutiae
}

// Probe is a template prepared for many comparisons (cylinders and hull computed once). It is safe for
// concurrent use by several goroutines.
type Probe struct {
	m       []pmin    // sorted by x
	xs      []float64 // m[i].x, for the pairing's binary search
	hull    [][2]float64
	area    hullTable // hull grown by hullOmega: cylinder cell validity
	inner   hullTable // hull grown by 8 px: the common area when scoring
	first   *Minutia  // the template's first minutia, to tell whether a cached probe is current
	field   *pfield   // orientation field, nil when the template has none
	fieldOf *Field    // the template's field it was prepared from
}

// NewProbe prepares t for matching. A nil or empty template gives a probe that matches nothing.
func NewProbe(t *Template) *Probe {
	p := &Probe{}
	if t == nil {
		return p
	}
	if c := t.prepared(); c != nil {
		return c
	}
	if len(t.Minutiae) > 0 {
		p.first = &t.Minutiae[0]
	}
	p.field, p.fieldOf = newPField(t.Field), t.Field
	p.m = make([]pmin, len(t.Minutiae))
	pts := make([][2]float64, len(t.Minutiae))
	for i, m := range t.Minutiae {
		d := normAngle(-m.Angle)
		p.m[i] = pmin{x: float64(m.X), y: float64(m.Y), dir: d, c: math.Cos(d), s: math.Sin(d), idx: int32(i)}
		pts[i] = [2]float64{float64(m.X), float64(m.Y)}
	}
	sort.Slice(p.m, func(i, j int) bool { return p.m[i].x < p.m[j].x })
	for i := range p.m {
		pts[i] = [2]float64{p.m[i].x, p.m[i].y}
	}
	p.hull = convexHull(pts)
	p.xs = make([]float64, len(p.m))
	for i := range p.m {
		p.xs[i] = p.m[i].x
	}
	p.area = newHullTable(p.hull, hullOmega)
	p.inner = newHullTable(p.hull, 8)
	for i := range p.m {
		a := &p.m[i]
		// validity: inside the circle and inside the dilated hull
		for c := range cylNs * cylNs {
			if circleMask>>c&1 == 0 {
				continue
			}
			gx := a.x + cellX[c]*a.c - cellY[c]*a.s
			gy := a.y + cellX[c]*a.s + cellY[c]*a.c
			if p.area.inside(gx, gy) {
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
			rel := b.dir - a.dir // both in [0, 2π)
			if rel < 0 {
				rel += 2 * math.Pi
			}
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

// scratch holds one comparison's working memory, reused through scratchPool.
type scratch struct {
	sim    []float32
	pairs  []lpair
	used   []int32
	pi, qj []int32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

type lpair struct {
	i, j int32
	s    float32
}

// MatchProbe compares two prepared templates; the score is symmetric up to rounding.
func (p *Probe) MatchProbe(q *Probe) float64 {
	s, _ := p.match(q, false)
	return s
}

// Correspondence pairs minutia P of one template with minutia Q of the other (template indices).
type Correspondence struct{ P, Q int }

// Pairs returns the score and the minutiae paired by the best alignment of p onto q.
func (p *Probe) Pairs(q *Probe) (float64, []Correspondence) {
	return p.match(q, true)
}

func (p *Probe) match(q *Probe, wantPairs bool) (float64, []Correspondence) {
	np, nq := len(p.m), len(q.m)
	if np < 3 || nq < 3 {
		return 0, nil
	}
	// Local similarities of all comparable pairs.
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	if cap(sc.sim) < np*nq {
		sc.sim = make([]float32, np*nq)
	}
	sim := sc.sim[:np*nq]
	clear(sim)
	pairs := sc.pairs[:0]
	defer func() { sc.pairs = pairs[:0] }()
	for i := range p.m {
		a := &p.m[i]
		if !a.ok {
			continue
		}
		for j := range q.m {
			b := &q.m[j]
			if !b.ok || a.c*b.c+a.s*b.s < cosMaxDirDif {
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
		return 0, nil
	}
	pairs = topPairs(pairs, consensusPairs)
	if cap(sc.used) < nq {
		sc.used = make([]int32, nq)
	}
	m := matcher{p: p, q: q, sim: sim, nq: nq, used: sc.used[:nq], pi: sc.pi[:0], qj: sc.qj[:0]}
	clear(m.used)
	defer func() { sc.pi, sc.qj = m.pi[:0], m.qj[:0] }()
	// First pass: each of the best local pairs proposes an alignment, supported by the other top local
	// pairs that it maps into place (a Hough-like consensus); keep the two best-supported alignments.
	type cand struct {
		al align
		w  float64
	}
	var top [topAlign]cand
	for k, sp := range pairs {
		if k == seeds {
			break
		}
		a, b := &p.m[sp.i], &q.m[sp.j]
		al := align{rot: b.dir - a.dir, ax: a.x, ay: a.y, bx: b.x, by: b.y}
		rc, rs := math.Cos(al.rot), math.Sin(al.rot)
		w := 0.0
		n := 0
		for _, o := range pairs {
			u, v := &p.m[o.i], &q.m[o.j]
			dx, dy := u.x-a.x, u.y-a.y
			ex := b.x + dx*rc - dy*rs - v.x
			ey := b.y + dx*rs + dy*rc - v.y
			tol := seedTolD + seedTolK*math.Sqrt(dx*dx+dy*dy)
			if ex*ex+ey*ey > tol*tol {
				continue
			}
			if (u.c*rc-u.s*rs)*v.c+(u.s*rc+u.c*rs)*v.s < cosSeedTolA {
				continue
			}
			n++
			w += 0.5 + float64(o.s)
		}
		if n < 3 {
			continue
		}
		// A chance consensus of minutiae rarely has the ridge flow agree around it.
		w *= fieldWeight(p, q, al)
		for k := range top { // keep the best topAlign alignments, best first
			if w > top[k].w {
				copy(top[k+1:], top[k:len(top)-1])
				top[k] = cand{al, w}
				break
			}
		}
	}
	// Refine the best two: the least-squares rigid fit of their pairs, then pair again around the
	// pairs' centroid; score whichever pairing is stronger.
	best := 0.0
	var out []Correspondence
	for _, c := range top {
		if c.w == 0 {
			continue
		}
		al := c.al
		_, w1 := m.pair(al, pairTolD, pairTolK, cosPairTolA)
		if r, ok := m.fit(); ok {
			if _, w2 := m.pair(r, pairTolD, pairTolK, cosPairTolA); w2 < w1 {
				m.pair(al, pairTolD, pairTolK, cosPairTolA)
			} else {
				al = r
			}
		}
		if s := m.score(al); s > best {
			best = s
			if wantPairs {
				out = out[:0]
				for k := range m.pi {
					out = append(out, Correspondence{P: int(p.m[m.pi[k]].idx), Q: int(q.m[m.qj[k]].idx)})
				}
			}
		}
	}
	return math.Min(best, 100), out
}

// topPairs moves the k most similar pairs to the front, best first, and returns them.
func topPairs(ps []lpair, k int) []lpair {
	k = min(k, len(ps))
	for i := range k { // partial selection sort: k is small
		b := i
		for j := i + 1; j < len(ps); j++ {
			if ps[j].s > ps[b].s {
				b = j
			}
		}
		ps[i], ps[b] = ps[b], ps[i]
	}
	return ps[:k]
}

type align struct {
	rot            float64
	ax, ay, bx, by float64 // probe point (ax, ay) maps to candidate point (bx, by)
}

type matcher struct {
	p, q  *Probe
	sim   []float32
	nq    int
	used  []int32
	stamp int32
	pi    []int32 // pairs of the last pair() call
	qj    []int32
	wsum  float64
}

// pair matches probe minutiae to candidate minutiae one-to-one under al.
func (m *matcher) pair(al align, tolD, tolK, cosTolA float64) (int, float64) {
	m.stamp++
	m.pi, m.qj, m.wsum = m.pi[:0], m.qj[:0], 0
	rc, rs := math.Cos(al.rot), math.Sin(al.rot)
	for i := range m.p.m {
		a := &m.p.m[i]
		dx, dy := a.x-al.ax, a.y-al.ay
		tx := al.bx + dx*rc - dy*rs
		ty := al.by + dx*rs + dy*rc
		tol := tolD + tolK*math.Sqrt(dx*dx+dy*dy)
		dc, ds := a.c*rc-a.s*rs, a.s*rc+a.c*rs // the probe direction rotated
		bj, bd := -1, tol*tol
		qm := m.q.m
		j0, j1, lo := 0, len(qm), tx-tol
		for j0 < j1 { // first minutia with x ≥ lo
			h := int(uint(j0+j1) >> 1)
			if m.q.xs[h] < lo {
				j0 = h + 1
			} else {
				j1 = h
			}
		}
		for j := j0; j < len(qm) && qm[j].x <= tx+tol; j++ {
			if m.used[j] == m.stamp {
				continue
			}
			n := &qm[j]
			ex, ey := n.x-tx, n.y-ty
			d := ex*ex + ey*ey
			if d < bd && dc*n.c+ds*n.s > cosTolA {
				bj, bd = j, d
			}
		}
		if bj >= 0 {
			m.used[bj] = m.stamp
			m.pi, m.qj = append(m.pi, int32(i)), append(m.qj, int32(bj))
			m.wsum += 0.5 + float64(m.sim[i*m.nq+bj])
		}
	}
	return len(m.pi), m.wsum
}

// fit is the least-squares rotation and translation taking the last pairs' probe points onto theirs.
func (m *matcher) fit() (align, bool) {
	n := float64(len(m.pi))
	if n < 3 {
		return align{}, false
	}
	var px, py, qx, qy float64
	for k := range m.pi {
		a, b := &m.p.m[m.pi[k]], &m.q.m[m.qj[k]]
		px, py, qx, qy = px+a.x, py+a.y, qx+b.x, qy+b.y
	}
	px, py, qx, qy = px/n, py/n, qx/n, qy/n
	var sxx, sxy float64
	for k := range m.pi {
		a, b := &m.p.m[m.pi[k]], &m.q.m[m.qj[k]]
		ux, uy, vx, vy := a.x-px, a.y-py, b.x-qx, b.y-qy
		sxx += ux*vx + uy*vy
		sxy += ux*vy - uy*vx
	}
	return align{rot: math.Atan2(sxy, sxx), ax: px, ay: py, bx: qx, by: qy}, true
}

// score normalises the last pairing by the minutiae counts inside the common area, then weighs it by
// how well the two orientation fields agree under the alignment (fieldWeight).
func (m *matcher) score(al align) float64 {
	rc, rs := math.Cos(al.rot), math.Sin(al.rot)
	inQ, inP := 0, 0
	for i := range m.p.m {
		a := &m.p.m[i]
		dx, dy := a.x-al.ax, a.y-al.ay
		if m.q.inner.inside(al.bx+dx*rc-dy*rs, al.by+dx*rs+dy*rc) {
			inQ++
		}
	}
	for j := range m.q.m {
		n := &m.q.m[j]
		dx, dy := n.x-al.bx, n.y-al.by
		if m.p.inner.inside(al.ax+dx*rc+dy*rs, al.ay-dx*rs+dy*rc) {
			inP++
		}
	}
	den := float64(max(inQ, 15)) * float64(max(inP, 15))
	s := 100 * m.wsum * m.wsum / (2.25 * den)
	return s * fieldWeight(m.p, m.q, al)
}

// hullTable is a convex region, grown by a margin, as one x interval per 4-pixel row.
type hullTable struct {
	y0     float64
	lo, hi []float32
}

const hullRow = 4.0

func newHullTable(h [][2]float64, margin float64) hullTable {
	if len(h) < 3 {
		return hullTable{}
	}
	ymin, ymax := h[0][1], h[0][1]
	for _, v := range h {
		ymin, ymax = min(ymin, v[1]), max(ymax, v[1])
	}
	// bare hull intervals on lines every half row
	const sub = hullRow / 2
	t := hullTable{y0: ymin - margin}
	nb := int(math.Ceil((ymax-ymin)/sub)) + 1
	blo, bhi := make([]float64, nb), make([]float64, nb)
	for k := range nb {
		y := ymin + float64(k)*sub
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range h {
			a, b := h[i], h[(i+1)%len(h)]
			if (a[1] <= y && b[1] >= y) || (b[1] <= y && a[1] >= y) {
				x := a[0]
				if a[1] != b[1] {
					x = a[0] + (y-a[1])*(b[0]-a[0])/(b[1]-a[1])
				} else {
					lo, hi = min(lo, b[0]), max(hi, b[0])
				}
				lo, hi = min(lo, x), max(hi, x)
			}
		}
		blo[k], bhi[k] = lo, hi
	}
	n := int(math.Ceil((ymax-ymin+2*margin)/hullRow)) + 1
	t.lo, t.hi = make([]float32, n), make([]float32, n)
	steps := int(margin / sub)
	var wbuf [64]float64
	w := wbuf[:0]
	for d := -steps; d <= steps; d++ {
		dy := float64(d) * sub
		w = append(w, math.Sqrt(max(0, margin*margin-dy*dy)))
	}
	for r := range n {
		y := t.y0 + float64(r)*hullRow
		lo, hi := math.Inf(1), math.Inf(-1)
		// Minkowski sum with a disk, sampled: lines within the margin, widened by the chord.
		k0 := int(math.Round((y - ymin) / sub))
		for d := -steps; d <= steps; d++ {
			k := k0 + d
			if k < 0 || k >= nb || blo[k] > bhi[k] {
				continue
			}
			if v := blo[k] - w[d+steps]; v < lo {
				lo = v
			}
			if v := bhi[k] + w[d+steps]; v > hi {
				hi = v
			}
		}
		t.lo[r], t.hi[r] = float32(lo), float32(hi)
	}
	return t
}

func (t *hullTable) inside(x, y float64) bool {
	r := int(math.Round((y - t.y0) / hullRow))
	if r < 0 || r >= len(t.lo) {
		return false
	}
	return float32(x) >= t.lo[r] && float32(x) <= t.hi[r]
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
