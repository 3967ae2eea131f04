package wsq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
)

// Options of the encoder.
type Options struct {
	// BitRate is the target in bits per pixel (0 means 0.75, the FBI's setting for 500 ppi
	// prints, about 15:1).
	BitRate float64
	// PPI is the scan resolution written to the NISTCOM comment (0 means 500).
	PPI int
}

// MinSize is the smallest side Encode accepts: the deepest subbands are 1/32 of a side.
const MinSize = 32

// Encoder constants of the specification's encoder side.
const (
	binCenter     = 0.44 // C, written to the DQT
	zeroBinFactor = 1.2  // Z = 1.2·Q
	varThreshold  = 1.01 // subbands with a smaller variance are not coded
)

// Encode compresses an 8-bit grey image.
func Encode(img *image.Gray, o *Options) ([]byte, error) {
	var opt Options
	if o != nil {
		opt = *o
	}
	if opt.BitRate == 0 {
		opt.BitRate = 0.75
	}
	if opt.PPI == 0 {
		opt.PPI = 500
	}
	if opt.BitRate < 0 || opt.BitRate > 8 || math.IsNaN(opt.BitRate) {
		return nil, fmt.Errorf("wsq: bit rate %g", opt.BitRate)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < MinSize || h < MinSize || w > 0xFFFF || h > 0xFFFF || w*h > MaxPixels {
		return nil, fmt.Errorf("wsq: cannot encode a %d×%d image (sides %d to 65535, at most %d pixels)", w, h, MinSize, MaxPixels)
	}
	// Shift and scale to about ±128 (the specification's M = mean, R = the larger distance from
	// the mean to the darkest or lightest pixel, / 128), as stored in the frame header.
	sum, lowest, highest := 0, 255, 0
	for y := 0; y < h; y++ {
		for _, p := range img.Pix[(b.Min.Y+y-img.Rect.Min.Y)*img.Stride+b.Min.X-img.Rect.Min.X:][:w] {
			sum += int(p)
			lowest = min(lowest, int(p))
			highest = max(highest, int(p))
		}
	}
	mean := float64(sum) / float64(w*h)
	r := math.Max(mean-float64(lowest), float64(highest)-mean) / 128
	if r == 0 {
		r = 1
	}
	mExp, mVal, err := toScaled(mean, 0xFFFF)
	if err != nil {
		return nil, fmt.Errorf("wsq: shift: %w", err)
	}
	rExp, rVal, err := toScaled(r, 0xFFFF)
	if err != nil {
		return nil, fmt.Errorf("wsq: scale: %w", err)
	}
	shift, scale := scaled(mExp, uint64(mVal)), scaled(rExp, uint64(rVal))
	plane := make([]float32, w*h)
	for y := 0; y < h; y++ {
		row := img.Pix[(b.Min.Y+y-img.Rect.Min.Y)*img.Stride+b.Min.X-img.Rect.Min.X:][:w]
		for x, p := range row {
			plane[y*w+x] = float32((float64(p) - shift) / scale)
		}
	}
	t := newTree(w, h)
	decompose(plane, w, t, analysisLo, analysisHi)

	qt, err := quantisation(plane, w, t, opt.BitRate)
	if err != nil {
		return nil, err
	}
	coeffs := quantise(plane, w, t, qt)
	var sizes [3]int
	for k := 0; k < numSubbands; k++ {
		if qt.q[k] != 0 {
			sizes[blockOf(k)] += t.sub[k].area()
		}
	}
	blocks := [3][]int32{coeffs[:sizes[0]], coeffs[sizes[0] : sizes[0]+sizes[1]], coeffs[sizes[0]+sizes[1]:]}

	out := []byte{0xFF, 0xA0}
	out = appendSegment(out, markerCOM, []byte(fmt.Sprintf(
		"NIST_COM 9\nPIX_WIDTH %d\nPIX_HEIGHT %d\nPIX_DEPTH 8\nPPI %d\nLOSSY 1\nCOLORSPACE GRAY\nCOMPRESSION WSQ\nWSQ_BITRATE %f", w, h, opt.PPI, opt.BitRate)))
	dtt, err := dttPayload()
	if err != nil {
		return nil, err
	}
	out = appendSegment(out, markerDTT, dtt)
	out = appendSegment(out, markerDQT, qt.payload)
	sof := []byte{0, 255, byte(h >> 8), byte(h), byte(w >> 8), byte(w), mExp, byte(mVal >> 8), byte(mVal), rExp, byte(rVal >> 8), byte(rVal), 2, 0, 0}
	out = appendSegment(out, markerSOF, sof)
	// Block 1 has table 0; blocks 2 and 3 share table 1.
	var f0, f1 [maxHuffVals]int
	count := func(f *[maxHuffVals]int, c []int32) {
		symbols(c, func(cat int, _ uint32, _ uint) { f[cat]++ })
	}
	count(&f0, blocks[0])
	count(&f1, blocks[1])
	count(&f1, blocks[2])
	tables := [2]*huffTable{buildTable(&f0), buildTable(&f1)}
	for i, blk := range blocks {
		id := min(i, 1)
		if i < 2 {
			out = appendSegment(out, markerDHT, dhtPayload(id, tables[id]))
		}
		out = appendSegment(out, markerSOB, []byte{byte(id)})
		code, size := tables[id].codes()
		bw := &bitWriter{out: out}
		symbols(blk, func(cat int, extra uint32, n uint) {
			bw.write(uint32(code[cat]), uint(size[cat]))
			if n > 0 {
				bw.write(extra, n)
			}
		})
		bw.flush()
		out = bw.out
	}
	return append(out, 0xFF, 0xA1), nil
}

func blockOf(k int) int {
	switch {
	case k < block2Start:
		return 0
	case k < block3Start:
		return 1
	}
	return 2
}

func appendSegment(out []byte, marker int, payload []byte) []byte {
	out = binary.BigEndian.AppendUint16(out, uint16(marker))
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
	return append(out, payload...)
}

// toScaled writes v ≥ 0 as the specification's (exponent, integer) pair with as many decimal
// digits as fit under limit.
func toScaled(v float64, limit float64) (byte, uint32, error) {
	if v < 0 || math.IsNaN(v) || v >= limit {
		return 0, 0, fmt.Errorf("value %g out of range", v)
	}
	if v == 0 {
		return 0, 0, nil
	}
	exp := 0
	for v*10 < limit && exp < 250 {
		v *= 10
		exp++
	}
	return byte(exp), uint32(math.Round(v)), nil
}

func dttPayload() ([]byte, error) {
	p := []byte{byte(2*len(analysisLo) - 1), byte(2*len(analysisHi) - 1)}
	for _, f := range [][]float64{analysisLo, analysisHi} {
		for _, v := range f {
			sign := byte(0)
			if v < 0 {
				sign, v = 1, -v
			}
			exp, val, err := toScaled(v, math.MaxUint32)
			if err != nil {
				return nil, fmt.Errorf("wsq: DTT: %w", err)
			}
			p = append(p, sign, exp)
			p = binary.BigEndian.AppendUint32(p, val)
		}
	}
	return p, nil
}

func dhtPayload(id int, t *huffTable) []byte {
	p := []byte{byte(id)}
	for l := 1; l <= maxHuffBits; l++ {
		p = append(p, byte(t.bits[l]))
	}
	return append(p, t.values...)
}

// encoderQuant is the quantisation the encoder chose: the values as stored in the DQT (the
// encoder quantises with exactly what the decoder will read) and the payload.
type encoderQuant struct {
	q, z    [maxSubbands]float64
	payload []byte
}

// variances computes the subband variances as the specification's encoder does: over a central
// window (from 1/8 of the width and 9/32 of the height, 3/4 wide and 7/16 high) unless the four
// lowest subbands' windowed variances sum below 20,000, then over the whole subbands.
func variances(plane []float32, w int, t *tree) [numSubbands]float64 {
	var v [numSubbands]float64
	variance := func(r rect, window bool) float64 {
		if window {
			wr := rect{r.x + r.w/8, r.y + 9*r.h/32, 3 * r.w / 4, 7 * r.h / 16}
			if wr.area() >= 2 {
				r = wr
			}
		}
		n := float64(r.area())
		if n < 2 {
			return 0
		}
		var s, ss float64
		for y := r.y; y < r.y+r.h; y++ {
			for _, c := range plane[y*w+r.x : y*w+r.x+r.w] {
				s += float64(c)
				ss += float64(c) * float64(c)
			}
		}
		return (ss - s*s/n) / (n - 1)
	}
	sum := 0.0
	for k := 0; k < 4; k++ {
		v[k] = variance(t.sub[k], true)
		sum += v[k]
	}
	if sum < 20000 {
		for k := 0; k < numSubbands; k++ {
			v[k] = variance(t.sub[k], false)
		}
	} else {
		for k := 4; k < numSubbands; k++ {
			v[k] = variance(t.sub[k], true)
		}
	}
	return v
}

// quantisation chooses the bin widths for the target bit rate r (the specification's encoder
// bit allocation): relative widths Q'ₖ = 1 for the four lowest subbands and 10/(Aₖ·ln σ²ₖ) for
// the others, scaled by 1/q where q makes the subbands' estimated bits meet r, iterating after
// dropping subbands whose bit rate would not be positive.
func quantisation(plane []float32, w int, t *tree, rate float64) (*encoderQuant, error) {
	variance := variances(plane, w, t)
	var a [numSubbands]float64
	for k := range a {
		a[k] = 1
	}
	copy(a[52:], []float64{1.32, 1.08, 1.42, 1.08, 1.32, 1.42, 1.08, 1.08})
	// m: the subband's share of the image (the reciprocal of the specification's mₖ).
	var m [numSubbands]float64
	for k := range m {
		switch {
		case k < 4:
			m[k] = 1.0 / 1024
		case k < 51:
			m[k] = 1.0 / 256
		default:
			m[k] = 1.0 / 16
		}
	}
	var qp, sigma [numSubbands]float64
	var k0 []int
	for k := 0; k < numSubbands; k++ {
		if variance[k] < varThreshold {
			continue
		}
		if k < 4 {
			qp[k] = 1
		} else {
			qp[k] = 10 / (a[k] * math.Log(variance[k]))
		}
		sigma[k] = math.Sqrt(variance[k])
		k0 = append(k0, k)
	}
	set := append([]int(nil), k0...)
	q := 1.0
	for len(set) > 0 {
		s, logP := 0.0, 0.0
		for _, k := range set {
			s += m[k]
			logP += m[k] * math.Log(sigma[k]/qp[k])
		}
		q = math.Pow(2, rate/s-1) / 2.5 / math.Exp(logP/s)
		var keep []int
		for _, k := range set {
			if qp[k]/q < 5*sigma[k] {
				keep = append(keep, k)
			}
		}
		if len(keep) == len(set) {
			break
		}
		set = keep
	}
	if q <= 0 || math.IsInf(q, 0) || math.IsNaN(q) {
		return nil, fmt.Errorf("wsq: bit allocation failed (q = %g)", q)
	}
	eq := &encoderQuant{}
	p := []byte{2, 0, 44} // C = 44 / 10²
	if scaled(2, 44) != binCenter {
		return nil, errors.New("wsq: bin centre")
	}
	inK0 := map[int]bool{}
	for _, k := range k0 {
		inK0[k] = true
	}
	for k := 0; k < maxSubbands; k++ {
		var qe, ze byte
		var qv, zv uint32
		if k < numSubbands && inK0[k] {
			var err error
			if qe, qv, err = toScaled(qp[k]/q, 0xFFFF); err != nil {
				return nil, fmt.Errorf("wsq: bin width of subband %d: %w", k, err)
			}
			if ze, zv, err = toScaled(zeroBinFactor*qp[k]/q, 0xFFFF); err != nil {
				return nil, fmt.Errorf("wsq: zero bin of subband %d: %w", k, err)
			}
		}
		eq.q[k], eq.z[k] = scaled(qe, uint64(qv)), scaled(ze, uint64(zv))
		p = append(p, qe, byte(qv>>8), byte(qv), ze, byte(zv>>8), byte(zv))
	}
	eq.payload = p
	return eq, nil
}

// quantise maps each coded subband's coefficients to bins, subband by subband in raster order:
// 0 inside the zero bin (|c| ≤ Z/2), else ±(⌊(|c| − Z/2)/Q⌋ + 1).
func quantise(plane []float32, w int, t *tree, qt *encoderQuant) []int32 {
	var out []int32
	for k := 0; k < numSubbands; k++ {
		q, z := qt.q[k], qt.z[k]/2
		if q == 0 {
			continue
		}
		r := t.sub[k]
		for y := r.y; y < r.y+r.h; y++ {
			for _, c := range plane[y*w+r.x : y*w+r.x+r.w] {
				f := float64(c)
				var v float64
				switch {
				case f > z:
					v = math.Trunc((f-z)/q + 1)
				case f < -z:
					v = math.Trunc((f+z)/q - 1)
				}
				out = append(out, int32(math.Max(-0xFFFF, math.Min(0xFFFF, v))))
			}
		}
	}
	return out
}
