package wsq

// The filter bank. A filter is kept as its half: h[0] is the centre tap and h[m] = h[−m] (the
// specification's filters are symmetric and of odd length, 9 taps low-pass and 7 high-pass).

// Analysis filters of the FBI encoder (the CDF 9/7 biorthogonal pair, normalised so the low-pass
// taps sum to √2), written to every file's DTT.
var (
	analysisLo = []float64{0.85269867900940344, 0.37740285561265380, -0.11062440441842342, -0.02384946501938000, 0.03782845550699546}
	analysisHi = []float64{0.78848561640566439, -0.41809227322221221, -0.04068941760955844, 0.06453888262893845}
)

// pad is the symmetric extension kept on each side of a line: more than the longest half filter
// the DTT may declare (maxFilterTaps/2).
const pad = maxFilterTaps/2 + 2

// reflect maps an index outside [0, n) into it by whole-sample symmetric extension
// (x[−i] = x[i], x[n−1+i] = x[n−1−i]).
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	p := 2 * (n - 1)
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - i
	}
	return i
}

// lines holds the work buffers of one 2-D transform.
type lines struct {
	ext []float64 // the line with pad samples of symmetric extension each side
	out []float64
}

func newLines(n int) *lines {
	return &lines{ext: make([]float64, n+2*pad), out: make([]float64, n)}
}

// load copies n samples of img starting at off with the given step into the extended buffer.
func (l *lines) load(img []float32, off, step, n int) []float64 {
	e := l.ext[:n+2*pad]
	if n == 0 {
		return e
	}
	for i := 0; i < n; i++ {
		e[pad+i] = float64(img[off+i*step])
	}
	for i := 1; i <= pad; i++ {
		e[pad-i] = e[pad+reflect(-i, n)]
		e[pad+n-1+i] = e[pad+reflect(n-1+i, n)]
	}
	return e
}

func (l *lines) store(img []float32, off, step, n int) {
	for i := 0; i < n; i++ {
		img[off+i*step] = float32(l.out[i])
	}
}

// analyse splits one extended line of n samples into its low-pass half (samples 0, 2, …) and
// high-pass half (samples 1, 3, …), low first unless inv.
func (l *lines) analyse(e []float64, n int, lo, hi []float64, inv bool) {
	nl, nh := (n+1)/2, n/2
	loAt, hiAt := 0, nl
	if inv {
		loAt, hiAt = nh, 0
	}
	x := e[pad:]
	for k := 0; k < nl; k++ {
		c := 2 * k
		s := lo[0] * x[c]
		for m := 1; m < len(lo); m++ {
			s += lo[m] * (e[pad+c-m] + x[c+m])
		}
		l.out[loAt+k] = s
	}
	for k := 0; k < nh; k++ {
		c := 2*k + 1
		s := hi[0] * x[c]
		for m := 1; m < len(hi); m++ {
			s += hi[m] * (e[pad+c-m] + x[c+m])
		}
		l.out[hiAt+k] = s
	}
}

// synthesis holds the two interleaved synthesis filters: even[j] weighs the neighbour j away from
// an even output sample, odd[j] from an odd one. The synthesis low-pass filter is the analysis
// high-pass one modulated by (−1)^j and the synthesis high-pass the modulated analysis low-pass;
// a neighbour at an even position is a low-pass coefficient.
type synthesis struct{ even, odd []float64 }

func newSynthesis(lo, hi []float64) synthesis {
	r := len(lo)
	if len(hi) > r {
		r = len(hi)
	}
	s := synthesis{even: make([]float64, r), odd: make([]float64, r)}
	tap := func(h []float64, j int) float64 {
		if j >= len(h) {
			return 0
		}
		if j%2 == 1 {
			return -h[j]
		}
		return h[j]
	}
	for j := 0; j < r; j++ {
		if j%2 == 0 { // even output, even distance: a low-pass neighbour
			s.even[j] = tap(hi, j)
			s.odd[j] = tap(lo, j)
		} else {
			s.even[j] = tap(lo, j)
			s.odd[j] = tap(hi, j)
		}
	}
	return s
}

// interleave loads a line stored as two halves (low then high, or high then low if inv) into the
// extended buffer in sample order, so that the halves' symmetric extensions are the line's.
func (l *lines) interleave(img []float32, off, step, n int, inv bool) []float64 {
	nl, nh := (n+1)/2, n/2
	loAt, hiAt := 0, nl
	if inv {
		loAt, hiAt = nh, 0
	}
	e := l.ext[:n+2*pad]
	if n == 0 {
		return e
	}
	for k := 0; k < nl; k++ {
		e[pad+2*k] = float64(img[off+(loAt+k)*step])
	}
	for k := 0; k < nh; k++ {
		e[pad+2*k+1] = float64(img[off+(hiAt+k)*step])
	}
	for i := 1; i <= pad; i++ {
		e[pad-i] = e[pad+reflect(-i, n)]
		e[pad+n-1+i] = e[pad+reflect(n-1+i, n)]
	}
	return e
}

func (l *lines) synthesise(e []float64, n int, s synthesis) {
	out := l.out[:n]
	for par, f := range [2][]float64{s.even, s.odd} {
		for i := par; i < n; i += 2 {
			c := pad + i
			v := f[0] * e[c]
			for j := 1; j < len(f); j++ {
				v += f[j] * (e[c-j] + e[c+j])
			}
			out[i] = v
		}
	}
}

// decompose runs the analysis over the tree's nodes in order: rows, then columns, of each node.
func decompose(img []float32, width int, t *tree, lo, hi []float64) {
	l := newLines(max(t.node[0].w, t.node[0].h))
	for n := 0; n < numNodes; n++ {
		r := t.node[n]
		if r.w == 0 || r.h == 0 {
			continue
		}
		for y := r.y; y < r.y+r.h; y++ {
			off := y*width + r.x
			l.analyse(l.load(img, off, 1, r.w), r.w, lo, hi, invRow[n])
			l.store(img, off, 1, r.w)
		}
		for x := r.x; x < r.x+r.w; x++ {
			off := r.y*width + x
			l.analyse(l.load(img, off, width, r.h), r.h, lo, hi, invCol[n])
			l.store(img, off, width, r.h)
		}
	}
}

// reconstruct undoes decompose: nodes in reverse order, columns then rows.
func reconstruct(img []float32, width int, t *tree, s synthesis) {
	l := newLines(max(t.node[0].w, t.node[0].h))
	for n := numNodes - 1; n >= 0; n-- {
		r := t.node[n]
		if r.w == 0 || r.h == 0 {
			continue
		}
		for x := r.x; x < r.x+r.w; x++ {
			off := r.y*width + x
			l.synthesise(l.interleave(img, off, width, r.h, invCol[n]), r.h, s)
			l.store(img, off, width, r.h)
		}
		for y := r.y; y < r.y+r.h; y++ {
			off := y*width + r.x
			l.synthesise(l.interleave(img, off, 1, r.w, invRow[n]), r.w, s)
			l.store(img, off, 1, r.w)
		}
	}
}

// maxFilterTaps bounds the filter lengths a DTT may declare (the specification's are 9 and 7).
const maxFilterTaps = 31
