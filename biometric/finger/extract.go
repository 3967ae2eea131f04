package finger

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"
)

// The extractor is a classic minutiae pipeline tuned for 500 dpi images (Maltoni, Maio, Jain,
// Prabhakar, "Handbook of Fingerprint Recognition", 2nd ed., ch. 3):
//
//  1. gradients (Sobel) and block statistics on 8×8 blocks;
//  2. segmentation by block contrast, or weaker contrast where the gradient field is coherent, cleaned
//     by majority filtering, hole filling and keeping the largest connected region;
//  3. orientation field from averaged squared gradients (Kass and Witkin), smoothed as a doubled-angle
//     vector field, with coherence as its certainty;
//  4. ridge period: median of x-signature peak spacings over coherent blocks (Hong, Wan, Jain 1998);
//  5. enhancement by an oriented, separable Gabor-like filter: Gaussian smoothing along the ridge, then
//     a zero-mean even Gabor across it, both sampled along the block's orientation;
//  6. binarisation by the filter's sign, thinning (Zhang-Suen plus staircase removal);
//  7. minutiae by crossing number, direction from the orientation field disambiguated by tracing the
//     skeleton, then removal of spurious minutiae (border, spurs, short ridges, bridges, broken ridges,
//     clusters) and a per-minutia quality from local coherence and contrast.
const (
	blk          = 8    // block size in pixels
	pad          = 12   // image padding so oriented filters never index outside
	nOrient      = 24   // orientation bins over π for the oriented filters
	maxMinutiae  = 80   // strongest minutiae kept per template
	minImageSide = 64   // smaller images are refused
	minCoherence = 0.12 // minutiae where the orientation is less certain than this sit in noise
	maxImageSide = 2048
	segStrong    = 0.3  // block contrast (of the 90th percentile) that is foreground by itself
	segWeak      = 0.05 // ... that is foreground where the ridge flow is coherent
	segCoherence = 0.3
	// borderDist: minutiae this close to the background are dropped. With the coherence-aware mask
	// 6 px beat 9 px on DB1_B, DB4_B and the generated set alike (EER 1.43 → 1.07 %, 2.50 → 2.45 %,
	// 0.54 → 0.41 %).
	borderDist = 6.0
)

// ErrNoFinger is returned when the image holds too little fingerprint area to extract anything.
var ErrNoFinger = errors.New("finger: no fingerprint area found")

// Extract finds the minutiae of a 500 dpi grayscale fingerprint image (ridges dark) and returns its
// template. It is safe for concurrent use.
func Extract(img *image.Gray) (*Template, error) {
	if img == nil {
		return nil, errors.New("finger: nil image")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < minImageSide || h < minImageSide || w > maxImageSide || h > maxImageSide {
		return nil, fmt.Errorf("finger: image size %dx%d outside %d..%d", w, h, minImageSide, maxImageSide)
	}
	e := newExtractor(img)
	e.gradients()
	if !e.segment() {
		return nil, ErrNoFinger
	}
	e.orientation()
	e.period()
	e.enhance()
	e.binarise()
	e.thin()
	ms := e.minutiae()
	t := &Template{Width: w, Height: h, DPI: 500, Quality: e.quality(len(ms)), Minutiae: ms, Field: e.field()}
	t.prep = NewProbe(t)
	return t, nil
}

type extractor struct {
	w, h, W int       // image size and padded stride
	pix     []float32 // padded image
	bw, bh  int       // blocks
	// per block
	gxx, gyy, gxy []float32 // sums of squared gradients
	std           []float32
	mask          []bool    // foreground
	dist          []int16   // block distance to background (in blocks)
	ocos, osin    []float32 // smoothed doubled-angle vector (gradient direction ×2)
	coh           []float32 // coherence 0..1
	obin          []uint8   // ridge orientation bin
	theta         []float32 // ridge orientation in [0, π), image coordinates (y down)
	per           float64   // ridge period in pixels
	// per padded pixel
	enh  []float32
	skel []uint8
}

func newExtractor(img *image.Gray) *extractor {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	W := w + 2*pad
	H := h + 2*pad
	e := &extractor{w: w, h: h, W: W, pix: make([]float32, W*H)}
	for y := -pad; y < h+pad; y++ {
		sy := clampInt(y, 0, h-1)
		row := img.Pix[(sy)*img.Stride:]
		dst := e.pix[(y+pad)*W:]
		for x := -pad; x < w+pad; x++ {
			dst[x+pad] = float32(row[clampInt(x, 0, w-1)])
		}
	}
	e.bw, e.bh = (w+blk-1)/blk, (h+blk-1)/blk
	n := e.bw * e.bh
	e.gxx, e.gyy, e.gxy = make([]float32, n), make([]float32, n), make([]float32, n)
	e.std = make([]float32, n)
	return e
}

func (e *extractor) at(x, y int) int { return (y+pad)*e.W + x + pad }

// gradients accumulates Sobel gradient products and intensity statistics per block.
func (e *extractor) gradients() {
	W := e.W
	sum := make([]float32, len(e.std))
	sum2 := make([]float32, len(e.std))
	for y := 0; y < e.h; y++ {
		by := y / blk
		for x := 0; x < e.w; x++ {
			i := e.at(x, y)
			p := e.pix
			gx := (p[i-W+1] + 2*p[i+1] + p[i+W+1]) - (p[i-W-1] + 2*p[i-1] + p[i+W-1])
			gy := (p[i+W-1] + 2*p[i+W] + p[i+W+1]) - (p[i-W-1] + 2*p[i-W] + p[i-W+1])
			bi := by*e.bw + x/blk
			e.gxx[bi] += gx * gx
			e.gyy[bi] += gy * gy
			e.gxy[bi] += gx * gy
			sum[bi] += p[i]
			sum2[bi] += p[i] * p[i]
		}
	}
	for bi := range e.std {
		bx, by := bi%e.bw, bi/e.bw
		cnt := float32(min(blk, e.w-bx*blk) * min(blk, e.h-by*blk))
		m := sum[bi] / cnt
		v := sum2[bi]/cnt - m*m
		if v < 0 {
			v = 0
		}
		e.std[bi] = float32(math.Sqrt(float64(v)))
	}
}

// segment marks foreground blocks; it reports false when there is too little of them.
func (e *extractor) segment() bool {
	n := len(e.std)
	s := append([]float32(nil), e.std...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	hi := s[n*9/10]
	// Contrast alone: blocks as contrasted as a third of the print's well-contrasted blocks. Faint
	// ridges (dry fingers, light pressure) count too where the gradient field around them is coherent
	// (parallel ridges), which sensor noise and dirt are not.
	strong, weak := max(segStrong*hi, 5), max(segWeak*hi, 5)
	gxx := boxBlur(e.gxx, e.bw, e.bh, 1)
	gyy := boxBlur(e.gyy, e.bw, e.bh, 1)
	gxy := boxBlur(e.gxy, e.bw, e.bh, 1)
	m := make([]bool, n)
	for i, v := range e.std {
		if v > strong {
			m[i] = true
			continue
		}
		if v > weak {
			d, en := gxx[i]-gyy[i], gxx[i]+gyy[i]
			coh := float32(math.Sqrt(float64(d*d+4*gxy[i]*gxy[i]))) / max(en, 1e-6)
			m[i] = coh > segCoherence
		}
	}
	for range 2 {
		m = majority(m, e.bw, e.bh)
	}
	m = fillHoles(m, e.bw, e.bh)
	m = largestComponent(m, e.bw, e.bh)
	cnt := 0
	for _, v := range m {
		if v {
			cnt++
		}
	}
	if cnt < 64 { // 64 blocks of 8×8 ≈ 4,000 pixels
		return false
	}
	e.mask = m
	e.dist = blockDistance(m, e.bw, e.bh)
	return true
}

func majority(m []bool, bw, bh int) []bool {
	out := make([]bool, len(m))
	for y := 0; y < bh; y++ {
		for x := 0; x < bw; x++ {
			c, t := 0, 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= bw || yy >= bh {
						continue
					}
					t++
					if m[yy*bw+xx] {
						c++
					}
				}
			}
			out[y*bw+x] = 2*c > t
		}
	}
	return out
}

// fillHoles turns background regions that do not touch the image border into foreground.
func fillHoles(m []bool, bw, bh int) []bool {
	outside := make([]bool, len(m))
	var stack []int
	push := func(i int) {
		if !m[i] && !outside[i] {
			outside[i] = true
			stack = append(stack, i)
		}
	}
	for x := 0; x < bw; x++ {
		push(x)
		push((bh-1)*bw + x)
	}
	for y := 0; y < bh; y++ {
		push(y * bw)
		push(y*bw + bw - 1)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := i%bw, i/bw
		if x > 0 {
			push(i - 1)
		}
		if x < bw-1 {
			push(i + 1)
		}
		if y > 0 {
			push(i - bw)
		}
		if y < bh-1 {
			push(i + bw)
		}
	}
	out := make([]bool, len(m))
	for i := range m {
		out[i] = !outside[i]
	}
	return out
}

func largestComponent(m []bool, bw, bh int) []bool {
	label := make([]int32, len(m))
	best, bestN := int32(0), 0
	var next int32
	var stack []int
	for s := range m {
		if !m[s] || label[s] != 0 {
			continue
		}
		next++
		label[s] = next
		stack = append(stack[:0], s)
		n := 0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := i%bw, i/bw
			for _, d := range [4][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
				xx, yy := x+d[0], y+d[1]
				if xx < 0 || yy < 0 || xx >= bw || yy >= bh {
					continue
				}
				j := yy*bw + xx
				if m[j] && label[j] == 0 {
					label[j] = next
					stack = append(stack, j)
				}
			}
		}
		if n > bestN {
			best, bestN = next, n
		}
	}
	out := make([]bool, len(m))
	for i := range m {
		out[i] = label[i] == best && best != 0
	}
	return out
}

// blockDistance is the chessboard distance (in blocks) from each block to background; blocks on the
// image border count as next to background.
func blockDistance(m []bool, bw, bh int) []int16 {
	d := make([]int16, len(m))
	const inf = 1 << 14
	for i := range d {
		if m[i] {
			d[i] = inf
		}
	}
	get := func(x, y int) int16 {
		if x < 0 || y < 0 || x >= bw || y >= bh {
			return 0
		}
		return d[y*bw+x]
	}
	for y := 0; y < bh; y++ {
		for x := 0; x < bw; x++ {
			if d[y*bw+x] == 0 {
				continue
			}
			v := min(get(x-1, y), get(x, y-1), get(x-1, y-1), get(x+1, y-1)) + 1
			d[y*bw+x] = min(d[y*bw+x], v)
		}
	}
	for y := bh - 1; y >= 0; y-- {
		for x := bw - 1; x >= 0; x-- {
			if d[y*bw+x] == 0 {
				continue
			}
			v := min(get(x+1, y), get(x, y+1), get(x+1, y+1), get(x-1, y+1)) + 1
			d[y*bw+x] = min(d[y*bw+x], v)
		}
	}
	return d
}

// orientation smooths the doubled-angle gradient field over 5×5 blocks (40 px) and derives ridge
// orientation, coherence and the orientation bin of each block.
func (e *extractor) orientation() {
	n := len(e.mask)
	vx, vy, en := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range vx {
		vx[i] = e.gxx[i] - e.gyy[i]
		vy[i] = 2 * e.gxy[i]
		en[i] = e.gxx[i] + e.gyy[i]
	}
	vx = boxBlur(boxBlur(vx, e.bw, e.bh, 1), e.bw, e.bh, 1)
	vy = boxBlur(boxBlur(vy, e.bw, e.bh, 1), e.bw, e.bh, 1)
	en = boxBlur(boxBlur(en, e.bw, e.bh, 1), e.bw, e.bh, 1)
	e.ocos, e.osin, e.coh = vx, vy, make([]float32, n)
	e.theta, e.obin = make([]float32, n), make([]uint8, n)
	for i := range vx {
		mag := float32(math.Hypot(float64(vx[i]), float64(vy[i])))
		if en[i] > 0 {
			e.coh[i] = mag / en[i]
		}
		// gradient direction φ = atan2(vy, vx)/2; ridges run perpendicular to it.
		t := 0.5*math.Atan2(float64(vy[i]), float64(vx[i])) + math.Pi/2
		if t >= math.Pi {
			t -= math.Pi
		}
		e.theta[i] = float32(t)
		e.obin[i] = uint8(int(math.Round(t/math.Pi*nOrient)) % nOrient)
	}
}

// boxBlur is a (2r+1)² mean filter with edge clamping.
func boxBlur(v []float32, bw, bh, r int) []float32 {
	out := make([]float32, len(v))
	for y := 0; y < bh; y++ {
		for x := 0; x < bw; x++ {
			var s float32
			for dy := -r; dy <= r; dy++ {
				yy := clampInt(y+dy, 0, bh-1)
				for dx := -r; dx <= r; dx++ {
					s += v[yy*bw+clampInt(x+dx, 0, bw-1)]
				}
			}
			out[y*bw+x] = s
		}
	}
	return out
}

// period estimates one ridge period for the image from x-signatures of coherent foreground blocks.
func (e *extractor) period() {
	var ps []float64
	var sig [33]float64
	for by := 1; by < e.bh-1; by++ {
		for bx := 1; bx < e.bw-1; bx++ {
			bi := by*e.bw + bx
			if !e.mask[bi] || e.dist[bi] < 2 || e.coh[bi] < 0.5 {
				continue
			}
			t := float64(e.theta[bi])
			tx, ty := math.Cos(t), math.Sin(t)
			nx, ny := -ty, tx
			cx, cy := float64(bx*blk+blk/2), float64(by*blk+blk/2)
			for k := -16; k <= 16; k++ {
				var s float64
				for j := -4; j <= 4; j += 2 {
					x := int(math.Round(cx + float64(k)*nx + float64(j)*tx))
					y := int(math.Round(cy + float64(k)*ny + float64(j)*ty))
					s += float64(e.pix[e.at(clampInt(x, -pad, e.w+pad-1), clampInt(y, -pad, e.h+pad-1))])
				}
				sig[k+16] = s
			}
			var peaks []int
			for k := 2; k < 31; k++ {
				a := sig[k-1] + sig[k] + sig[k+1]
				if a > sig[k-2]+sig[k-1]+sig[k] && a >= sig[k]+sig[k+1]+sig[k+2] {
					peaks = append(peaks, k)
				}
			}
			if len(peaks) >= 2 {
				p := float64(peaks[len(peaks)-1]-peaks[0]) / float64(len(peaks)-1)
				if p >= 4 && p <= 16 {
					ps = append(ps, p)
				}
			}
		}
	}
	e.per = 9
	if len(ps) >= 8 {
		sort.Float64s(ps)
		e.per = math.Min(math.Max(ps[len(ps)/2], 6), 13)
	}
}

type orientedKernel struct {
	off []int
	wt  []float32
}

// enhance filters every foreground pixel: Gaussian smoothing along the ridge, then an even, zero-mean
// Gabor profile across it, tuned to the image's ridge period.
func (e *extractor) enhance() {
	W := e.W
	per := e.per
	sx, sy := 0.35*per, 0.5*per
	rx, ry := min(int(math.Ceil(1.6*sx)), pad-1), min(int(math.Ceil(1.2*sy)), pad-1)
	var along, across [nOrient]orientedKernel
	for o := range nOrient {
		t := float64(o) * math.Pi / nOrient
		tx, ty := math.Cos(t), math.Sin(t)
		var ka, kc orientedKernel
		var sa float32
		for j := -ry; j <= ry; j++ {
			wt := float32(math.Exp(-float64(j*j) / (2 * sy * sy)))
			ka.off = append(ka.off, int(math.Round(float64(j)*ty))*W+int(math.Round(float64(j)*tx)))
			ka.wt = append(ka.wt, wt)
			sa += wt
		}
		for i := range ka.wt {
			ka.wt[i] /= sa
		}
		var mean, gs float64
		for k := -rx; k <= rx; k++ {
			g := math.Exp(-float64(k*k) / (2 * sx * sx))
			mean += g * math.Cos(2*math.Pi*float64(k)/per)
			gs += g
		}
		mean /= gs
		for k := -rx; k <= rx; k++ {
			g := math.Exp(-float64(k*k) / (2 * sx * sx))
			kc.off = append(kc.off, int(math.Round(-float64(k)*tx))*W+int(math.Round(float64(k)*ty)))
			kc.wt = append(kc.wt, float32(g*(math.Cos(2*math.Pi*float64(k)/per)-mean)))
		}
		along[o], across[o] = ka, kc
	}
	sm := make([]float32, len(e.pix))
	// Smooth along the ridge in foreground blocks and a margin of padding-safe pixels around them.
	for y := -pad + ry + 1; y < e.h+pad-ry-1; y++ {
		by := clampInt(y, 0, e.h-1) / blk
		for x := -pad + ry + 1; x < e.w+pad-ry-1; x++ {
			bi := by*e.bw + clampInt(x, 0, e.w-1)/blk
			if e.dist[bi] == 0 && !nearMask(e, bi) {
				continue
			}
			k := &along[e.obin[bi]]
			i := (y+pad)*W + x + pad
			var s float32
			for t, off := range k.off {
				s += k.wt[t] * e.pix[i+off]
			}
			sm[i] = s
		}
	}
	e.enh = make([]float32, len(e.pix))
	for y := 0; y < e.h; y++ {
		by := y / blk
		for x := 0; x < e.w; x++ {
			bi := by*e.bw + x/blk
			if !e.mask[bi] {
				continue
			}
			k := &across[e.obin[bi]]
			i := (y+pad)*W + x + pad
			var s float32
			for t, off := range k.off {
				s += k.wt[t] * sm[i+off]
			}
			e.enh[i] = s
		}
	}
}

func nearMask(e *extractor, bi int) bool {
	x, y := bi%e.bw, bi/e.bw
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			xx, yy := x+dx, y+dy
			if xx >= 0 && yy >= 0 && xx < e.bw && yy < e.bh && e.mask[yy*e.bw+xx] {
				return true
			}
		}
	}
	return false
}

// binarise marks ridge pixels (dark: negative filter response) of the foreground in skel.
func (e *extractor) binarise() {
	e.skel = make([]uint8, len(e.pix))
	for y := 0; y < e.h; y++ {
		by := y / blk
		for x := 0; x < e.w; x++ {
			if !e.mask[by*e.bw+x/blk] {
				continue
			}
			i := e.at(x, y)
			if e.enh[i] < 0 {
				e.skel[i] = 1
			}
		}
	}
}

// Neighbour order around a pixel: N, NE, E, SE, S, SW, W, NW (clockwise, y down).
var ring = [8][2]int{{0, -1}, {1, -1}, {1, 0}, {1, 1}, {0, 1}, {-1, 1}, {-1, 0}, {-1, -1}}

// transitions and neighbour counts for every 8-bit neighbourhood code.
var ringA, ringB [256]uint8

func init() {
	for c := range 256 {
		b, a := 0, 0
		for k := range 8 {
			if c>>k&1 == 1 {
				b++
				if c>>((k+1)%8)&1 == 0 {
					a++
				}
			}
		}
		ringA[c], ringB[c] = uint8(a), uint8(b)
	}
}

func (e *extractor) code(i int) int {
	s, W := e.skel, e.W
	c := int(s[i-W]) | int(s[i-W+1])<<1 | int(s[i+1])<<2 | int(s[i+W+1])<<3 |
		int(s[i+W])<<4 | int(s[i+W-1])<<5 | int(s[i-1])<<6 | int(s[i-W-1])<<7
	return c
}

// thin applies Zhang-Suen thinning ("A fast parallel algorithm for thinning digital patterns",
// CACM 27(3), 1984), then removes staircase pixels so the skeleton is one pixel wide (8-connected).
func (e *extractor) thin() {
	var del []int
	for {
		changed := false
		for step := range 2 {
			del = del[:0]
			for y := 0; y < e.h; y++ {
				for x := 0; x < e.w; x++ {
					i := e.at(x, y)
					if e.skel[i] == 0 {
						continue
					}
					c := e.code(i)
					if b := ringB[c]; b < 2 || b > 6 || ringA[c] != 1 {
						continue
					}
					p2, p4, p6, p8 := c&1 != 0, c&4 != 0, c&16 != 0, c&64 != 0
					if step == 0 && !(p2 && p4 && p6) && !(p4 && p6 && p8) ||
						step == 1 && !(p2 && p4 && p8) && !(p2 && p6 && p8) {
						del = append(del, i)
					}
				}
			}
			for _, i := range del {
				e.skel[i] = 0
			}
			changed = changed || len(del) > 0
		}
		if !changed {
			break
		}
	}
	for y := 0; y < e.h; y++ {
		for x := 0; x < e.w; x++ {
			i := e.at(x, y)
			if e.skel[i] == 0 {
				continue
			}
			c := e.code(i)
			if ringA[c] != 1 || ringB[c] < 2 {
				continue
			}
			n, ea, s, w := c&1 != 0, c&4 != 0, c&16 != 0, c&64 != 0
			if n && ea || ea && s || s && w || w && n {
				e.skel[i] = 0
			}
		}
	}
}

type cand struct {
	x, y    int
	ang     float64 // image coordinates, y down
	typ     MinutiaType
	q       float64
	alive   bool
	partner []int // indices of minutiae reached by tracing within the spur length
}

// trace follows the skeleton from pixel i along the branch starting at neighbour k for at most
// steps pixels. It returns the final position, the number of steps taken and the index of a minutia
// hit on the way (or -1).
func (e *extractor) trace(i, k, steps int, isMin map[int]int) (int, int, int, int) {
	W := e.W
	prev2, prev := i, i
	cur := i + ring[k][1]*W + ring[k][0]
	n := 1
	for ; n < steps; n++ {
		if j, ok := isMin[cur]; ok {
			return e.xy(cur, n, j)
		}
		next, four := -1, false
		for _, d := range ring {
			j := cur + d[1]*W + d[0]
			if e.skel[j] == 0 || j == prev || j == prev2 || j == i {
				continue
			}
			f := d[0] == 0 || d[1] == 0 // prefer 4-neighbours so diagonal shortcuts do not fork
			if next == -1 || f && !four {
				next, four = j, f
			}
		}
		if next == -1 {
			break
		}
		prev2, prev, cur = prev, cur, next
	}
	return e.xy(cur, n, -1)
}

func (e *extractor) xy(i, n, hit int) (int, int, int, int) {
	return i%e.W - pad, i/e.W - pad, n, hit
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// minutiae detects, orients, filters and grades minutiae on the skeleton.
func (e *extractor) minutiae() []Minutia {
	const (
		traceLen = 14 // pixels traced to orient a minutia and to find spurs
		spurLen  = 12 // ending-bifurcation or ending-ending links shorter than this are noise
	)
	var cs []cand
	isMin := map[int]int{}
	for y := 1; y < e.h-1; y++ {
		by := y / blk
		for x := 1; x < e.w-1; x++ {
			bi := by*e.bw + x/blk
			if e.dist[bi] < 1 {
				continue
			}
			i := e.at(x, y)
			if e.skel[i] == 0 {
				continue
			}
			c := e.code(i)
			a, b := ringA[c], ringB[c]
			var t MinutiaType
			switch {
			case a == 1 && b <= 2:
				t = TypeEnding
			case a == 3 && b >= 3:
				t = TypeBifurcation
			default:
				continue
			}
			isMin[i] = len(cs)
			cs = append(cs, cand{x: x, y: y, typ: t, alive: true})
		}
	}
	for ci := range cs {
		m := &cs[ci]
		i := e.at(m.x, m.y)
		c := e.code(i)
		// the start of each branch: a set neighbour preceded (in ring order) by an unset one
		var vx, vy []float64
		for k := range 8 {
			if c>>k&1 == 1 && c>>((k+7)%8)&1 == 0 {
				delete(isMin, i)
				ex, ey, n, hit := e.trace(i, k, traceLen, isMin)
				isMin[i] = ci
				vx, vy = append(vx, float64(ex-m.x)), append(vy, float64(ey-m.y))
				if hit >= 0 && n < spurLen {
					m.partner = append(m.partner, hit)
				}
			}
		}
		var dx, dy float64
		switch {
		case m.typ == TypeEnding && len(vx) >= 1:
			// along the ridge into its body: the bisector of the two valleys flanking it
			dx, dy = vx[0], vy[0]
		case m.typ == TypeBifurcation && len(vx) == 3:
			// the two forks are the pair of branches closest in direction; point between them
			best, bi, bj := math.Inf(-1), 0, 1
			for a := range 3 {
				for b := a + 1; b < 3; b++ {
					na := math.Hypot(vx[a], vy[a]) * math.Hypot(vx[b], vy[b])
					if na == 0 {
						continue
					}
					if cos := (vx[a]*vx[b] + vy[a]*vy[b]) / na; cos > best {
						best, bi, bj = cos, a, b
					}
				}
			}
			dx, dy = vx[bi]+vx[bj], vy[bi]+vy[bj]
		default:
			m.alive = false
			continue
		}
		bi := (m.y/blk)*e.bw + m.x/blk
		t := float64(e.theta[bi])
		if math.Cos(t)*dx+math.Sin(t)*dy < 0 {
			t += math.Pi
		}
		m.ang = t
		cohq := math.Min(1, float64(e.coh[bi])/0.7)
		conq := math.Min(1, float64(e.std[bi])/40)
		depth := math.Min(1, float64(e.dist[bi])/4)
		m.q = 100 * cohq * (0.5 + 0.5*conq) * (0.6 + 0.4*depth)
	}
	// spurs, short ridges, bridges: both ends of a short skeleton link are spurious.
	for ci := range cs {
		for _, p := range cs[ci].partner {
			cs[ci].alive, cs[p].alive = false, false
		}
	}
	// border: minutiae within borderDist of the background are mostly artefacts of the cut ridges.
	for ci := range cs {
		m := &cs[ci]
		if !m.alive {
			continue
		}
		for k := range 12 {
			a := float64(k) * math.Pi / 6
			x, y := m.x+int(borderDist*math.Cos(a)), m.y+int(borderDist*math.Sin(a))
			if x < 0 || y < 0 || x >= e.w || y >= e.h || !e.mask[(y/blk)*e.bw+x/blk] {
				m.alive = false
			}
		}
	}
	// broken ridges: two endings close together, opposite in direction, each on the other's far side
	// (a gap in one ridge, not two ridges passing each other).
	breakDist := 1.2 * e.per
	for a := range cs {
		if !cs[a].alive || cs[a].typ != TypeEnding {
			continue
		}
		for b := a + 1; b < len(cs); b++ {
			if !cs[b].alive || cs[b].typ != TypeEnding {
				continue
			}
			dx, dy := float64(cs[b].x-cs[a].x), float64(cs[b].y-cs[a].y)
			d := math.Hypot(dx, dy)
			if d > breakDist || d == 0 {
				continue
			}
			if angDiff(cs[a].ang, cs[b].ang+math.Pi) < math.Pi/4 &&
				angDiff(cs[a].ang+math.Pi, math.Atan2(dy, dx)) < math.Pi/3 {
				cs[a].alive, cs[b].alive = false, false
			}
		}
	}
	// clusters: a minutia with two or more others within about one ridge period sits in noise.
	near := make([]int, len(cs))
	cl := e.per * 1.1
	for a := range cs {
		for b := a + 1; b < len(cs); b++ {
			if abs(cs[a].x-cs[b].x) < int(cl)+1 && abs(cs[a].y-cs[b].y) < int(cl)+1 &&
				math.Hypot(float64(cs[a].x-cs[b].x), float64(cs[a].y-cs[b].y)) < cl {
				near[a]++
				near[b]++
			}
		}
	}
	var out []Minutia
	for ci, m := range cs {
		if !m.alive || near[ci] >= 3 || e.coh[(m.y/blk)*e.bw+m.x/blk] < minCoherence {
			continue
		}
		out = append(out, Minutia{
			X: m.x, Y: m.y,
			Angle:   normAngle(-m.ang), // y down → ISO's counter-clockwise angle with y up
			Type:    m.typ,
			Quality: uint8(math.Round(m.q)),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Quality > out[j].Quality })
	if len(out) > maxMinutiae {
		out = out[:maxMinutiae]
	}
	return out
}

// angDiff is the absolute difference of two directions in [0, π].
func angDiff(a, b float64) float64 {
	d := math.Abs(normAngle(a - b))
	if d > math.Pi {
		d = 2*math.Pi - d
	}
	return d
}

// quality grades the impression 0..100 in the spirit of NFIQ 2 (ISO/IEC 29794-4): the mean orientation
// certainty and ridge/valley contrast over the foreground, the usable area and the minutiae count.
func (e *extractor) quality(nMin int) int {
	var coh, con float64
	n := 0
	for i, m := range e.mask {
		if m {
			coh += float64(e.coh[i])
			con += math.Min(1, float64(e.std[i])/40)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	coh /= float64(n)
	con /= float64(n)
	area := math.Min(1, float64(n*blk*blk)/60000) // ~ a 220×270 px contact at 500 dpi
	minu := math.Min(1, float64(nMin)/30)
	q := 100 * math.Pow(math.Min(1, coh/0.6), 0.8) * (0.4 + 0.6*con) * (0.3 + 0.7*area) * (0.3 + 0.7*minu)
	return clampInt(int(math.Round(q)), 0, 100)
}
