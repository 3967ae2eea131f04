package qrscan

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"

	"gocv.io/x/gocv"

	"enrolldesk/reader/qrdecode"
)

// readQuad straightens the quadrangle that OpenCV's detector found (the symbol's outer corners,
// in an order that depends on how the card lies), then finds the module grid: for every symbol
// size it samples the module centres and scores the fixed patterns (three finder patterns and the
// timing patterns, ISO/IEC 18004 §6.3), in each of the four rotations and mirrored, and hands the
// best-fitting matrices to qrdecode until one decodes.
func readQuad(gray gocv.Mat, quad [4]gocv.Point2f) (string, error) {
	side := 0.0
	for i := range quad {
		a, b := quad[i], quad[(i+1)%4]
		side = math.Max(side, math.Hypot(float64(a.X-b.X), float64(a.Y-b.Y)))
	}
	size := int(math.Ceil(side))
	if size < 21 {
		return "", errors.New("qrscan: code too small")
	}
	// Oversample small codes so that every module spans a few pixels after straightening.
	size = max(size, 400)
	from := gocv.NewPoint2fVectorFromPoints(quad[:])
	defer from.Close()
	s := float32(size)
	to := gocv.NewPoint2fVectorFromPoints([]gocv.Point2f{{X: 0, Y: 0}, {X: s, Y: 0}, {X: s, Y: s}, {X: 0, Y: s}})
	defer to.Close()
	h := gocv.GetPerspectiveTransform2f(from, to)
	defer h.Close()
	straight := gocv.NewMat()
	defer straight.Close()
	gocv.WarpPerspectiveWithParams(gray, &straight, h, image.Pt(size, size), gocv.InterpolationLinear, gocv.BorderReplicate, colorBlack)
	bin := gocv.NewMat()
	defer bin.Close()
	gocv.Threshold(straight, &bin, 0, 255, gocv.ThresholdBinary|gocv.ThresholdOtsu)
	px := bin.ToBytes()
	if len(px) != size*size {
		return "", fmt.Errorf("qrscan: straightened code of %d bytes", len(px))
	}
	type cand struct {
		m     qrdecode.Matrix
		score float64
		v, o  int
	}
	var cands []cand
	for v := 1; v <= 40; v++ {
		n := qrdecode.Size(v)
		cell := float64(size) / float64(n)
		if cell < 2 {
			break
		}
		m := sample(px, size, n, cell)
		for o := 0; o < 8; o++ {
			om := orient(m, o)
			if sc := patternScore(om); sc >= 0.8 {
				cands = append(cands, cand{om, sc, v, o})
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	var last error = errors.New("qrscan: no module grid fits")
	for i, c := range cands {
		if i == 6 {
			break
		}
		text, _, err := qrdecode.Decode(c.m)
		if err == nil {
			return text, nil
		}
		last = err
		// The detector's fourth corner (the one without a finder pattern) is an estimate;
		// under perspective it drifts. Re-fit the grid on the bottom-right alignment pattern.
		if rm, ok := refine(px, size, c.v, c.o); ok {
			if text, _, err := qrdecode.Decode(rm); err == nil {
				return text, nil
			}
		}
	}
	return "", last
}

var colorBlack = colorRGBA(0, 0, 0)

// sample reads an n×n module grid from a binarised size×size image (0 = dark): each module is
// the majority of the pixels in the middle third of its cell.
func sample(px []byte, size, n int, cell float64) qrdecode.Matrix {
	m := make(qrdecode.Matrix, n)
	r := max(int(cell/6), 0)
	for y := 0; y < n; y++ {
		m[y] = make([]bool, n)
		cy := int((float64(y) + 0.5) * cell)
		for x := 0; x < n; x++ {
			cx := int((float64(x) + 0.5) * cell)
			dark, all := 0, 0
			for yy := max(cy-r, 0); yy <= min(cy+r, size-1); yy++ {
				for xx := max(cx-r, 0); xx <= min(cx+r, size-1); xx++ {
					all++
					if px[yy*size+xx] == 0 {
						dark++
					}
				}
			}
			m[y][x] = 2*dark > all
		}
	}
	return m
}

// orient returns m rotated by o%4 quarter turns, transposed first when o ≥ 4 (a mirrored view).
func orient(m qrdecode.Matrix, o int) qrdecode.Matrix {
	n := len(m)
	out := make(qrdecode.Matrix, n)
	for y := range out {
		out[y] = make([]bool, n)
		for x := range out[y] {
			sy, sx := y, x
			for k := 0; k < o%4; k++ {
				sy, sx = n-1-sx, sy
			}
			if o >= 4 {
				sy, sx = sx, sy
			}
			out[y][x] = m[sy][sx]
		}
	}
	return out
}

// patternScore is the fraction of finder-pattern and timing modules that match a symbol of this
// size in its upright orientation.
func patternScore(m qrdecode.Matrix) float64 {
	n := len(m)
	good, all := 0, 0
	finder := func(r0, c0 int) {
		for r := 0; r < 7; r++ {
			for c := 0; c < 7; c++ {
				ring := max(abs(r-3), abs(c-3))
				want := ring != 2 // dark centre 3×3, light ring, dark border (§6.3.3)
				all++
				if m[r0+r][c0+c] == want {
					good++
				}
			}
		}
	}
	finder(0, 0)
	finder(0, n-7)
	finder(n-7, 0)
	for i := 8; i < n-8; i++ {
		want := i%2 == 0 // timing patterns start and end dark (§6.3.5)
		all += 2
		if m[6][i] == want {
			good++
		}
		if m[i][6] == want {
			good++
		}
	}
	return float64(good) / float64(all)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func colorRGBA(r, g, b uint8) color.RGBA { return color.RGBA{R: r, G: g, B: b, A: 255} }

// gridIndex maps upright module coordinates (row y, column x) to the sampled grid's coordinates
// for orientation o (the inverse of what orient applies).
func gridIndex(y, x float64, n, o int) (float64, float64) {
	last := float64(n - 1)
	for k := 0; k < o%4; k++ {
		y, x = last-x, y
	}
	if o >= 4 {
		y, x = x, y
	}
	return y, x
}

// refine finds the bottom-right alignment pattern (ISO/IEC 18004 §6.3.6: 5×5, dark centre, light
// ring, dark ring) near where the quadrangle puts it, then samples the grid through the
// perspective transform fitted to the three finder-pattern centres and that alignment centre.
func refine(px []byte, size, version, o int) (qrdecode.Matrix, bool) {
	if version < 2 {
		return nil, false
	}
	n := qrdecode.Size(version)
	cell := float64(size) / float64(n)
	dark := func(x, y float64) bool {
		xi, yi := int(x), int(y)
		return xi >= 0 && yi >= 0 && xi < size && yi < size && px[yi*size+xi] == 0
	}
	ay, ax := gridIndex(float64(n-7), float64(n-7), n, o)
	cx, cy := (ax+0.5)*cell, (ay+0.5)*cell
	best, bx, by := -1, cx, cy
	step := cell / 4
	for dy := -2.5 * cell; dy <= 2.5*cell; dy += step {
		for dx := -2.5 * cell; dx <= 2.5*cell; dx += step {
			score := 0
			for r := -2; r <= 2; r++ {
				for c := -2; c <= 2; c++ {
					want := max(abs(r), abs(c)) != 1
					if dark(cx+dx+float64(c)*cell, cy+dy+float64(r)*cell) == want {
						score++
					}
				}
			}
			if score > best {
				best, bx, by = score, cx+dx, cy+dy
			}
		}
	}
	if best < 23 { // of 25 modules
		return nil, false
	}
	var src, dst []gocv.Point2f
	for _, p := range [][2]float64{{3, 3}, {3, float64(n - 4)}, {float64(n - 4), 3}} {
		gy, gx := gridIndex(p[0], p[1], n, o)
		src = append(src, gocv.Point2f{X: float32(gx), Y: float32(gy)})
		dst = append(dst, gocv.Point2f{X: float32((gx + 0.5) * cell), Y: float32((gy + 0.5) * cell)})
	}
	src = append(src, gocv.Point2f{X: float32(ax), Y: float32(ay)})
	dst = append(dst, gocv.Point2f{X: float32(bx), Y: float32(by)})
	sv, dv := gocv.NewPoint2fVectorFromPoints(src), gocv.NewPoint2fVectorFromPoints(dst)
	defer sv.Close()
	defer dv.Close()
	h := gocv.GetPerspectiveTransform2f(sv, dv)
	defer h.Close()
	if h.Rows() != 3 || h.Cols() != 3 || h.Type() != gocv.MatTypeCV64F {
		return nil, false
	}
	var hm [9]float64
	for i := range hm {
		hm[i] = h.GetDoubleAt(i/3, i%3)
	}
	m := make(qrdecode.Matrix, n)
	for y := 0; y < n; y++ {
		m[y] = make([]bool, n)
		for x := 0; x < n; x++ {
			fx, fy := float64(x), float64(y)
			w := hm[6]*fx + hm[7]*fy + hm[8]
			if w == 0 {
				return nil, false
			}
			m[y][x] = dark((hm[0]*fx+hm[1]*fy+hm[2])/w, (hm[3]*fx+hm[4]*fy+hm[5])/w)
		}
	}
	return orient(m, o), true
}
