package finger

import (
	"errors"
	"fmt"
	"math"
)

// The orientation field is the second feature a template carries besides its minutiae: the ridge
// orientation on a coarse grid of FieldCell×FieldCell pixel cells, with the fingerprint's foreground.
// Minutiae alone let a chance alignment of two different fingers pair a handful of minutiae by
// coincidence; the ridge flow around them then disagrees. The matcher compares the two fields under the
// alignment its minutiae found and weighs the minutiae score by their agreement (orientation-field
// fusion as in Gu, Zhou, Yang, "Fingerprint recognition by combining global structure and local cues",
// IEEE TIP 15(7), 2006). The field also measures the common area of two impressions better than the
// minutiae's convex hulls.
const (
	FieldCell   = 16 // pixels per field cell side (2×2 extractor blocks)
	FieldLevels = 15 // orientation levels over π; a cell holds 0 (background) or 1 + level
	fieldFloor  = 0.5
)

// Field is a template's coarse orientation field, W×H cells in row order, FieldCell pixels apart.
type Field struct {
	W, H  int
	Cells []uint8 // 0: background; 1..FieldLevels: ridge orientation (k-1)·π/FieldLevels, image axes, y down
}

// field builds the coarse orientation field from the block field (doubled-angle gradient vectors,
// already smoothed) and the foreground mask.
func (e *extractor) field() *Field {
	const k = FieldCell / blk
	f := &Field{W: (e.bw + k - 1) / k, H: (e.bh + k - 1) / k}
	f.Cells = make([]uint8, f.W*f.H)
	for cy := range f.H {
		for cx := range f.W {
			var vx, vy float64
			fg, n := 0, 0
			for by := cy * k; by < min((cy+1)*k, e.bh); by++ {
				for bx := cx * k; bx < min((cx+1)*k, e.bw); bx++ {
					bi := by*e.bw + bx
					n++
					if e.mask[bi] {
						fg++
						vx += float64(e.ocos[bi])
						vy += float64(e.osin[bi])
					}
				}
			}
			if 2*fg <= n || vx == 0 && vy == 0 {
				continue
			}
			t := 0.5*math.Atan2(vy, vx) + math.Pi/2 // ridges run across the gradient
			l := int(math.Round(t/math.Pi*FieldLevels)) % FieldLevels
			if l < 0 {
				l += FieldLevels
			}
			f.Cells[cy*f.W+cx] = uint8(1 + l)
		}
	}
	return f
}

// pfield is the prepared form: per foreground cell its centre and doubled-angle unit vector.
type pfield struct {
	w, h   int
	cells  []uint8
	x, y   []float32 // centres of foreground cells
	c2, s2 []float32 // cos 2θ, sin 2θ of foreground cells
	lc, ls [FieldLevels + 1]float32
}

func newPField(f *Field) *pfield {
	if f == nil || f.W <= 0 || f.H <= 0 || len(f.Cells) != f.W*f.H {
		return nil
	}
	p := &pfield{w: f.W, h: f.H, cells: f.Cells}
	for l := 1; l <= FieldLevels; l++ {
		t := 2 * float64(l-1) * math.Pi / FieldLevels
		p.lc[l], p.ls[l] = float32(math.Cos(t)), float32(math.Sin(t))
	}
	for cy := range f.H {
		for cx := range f.W {
			v := f.Cells[cy*f.W+cx]
			if v == 0 || v > FieldLevels {
				continue
			}
			p.x = append(p.x, float32(cx*FieldCell+FieldCell/2))
			p.y = append(p.y, float32(cy*FieldCell+FieldCell/2))
			p.c2 = append(p.c2, p.lc[v])
			p.s2 = append(p.s2, p.ls[v])
		}
	}
	return p
}

// at returns the level of the cell holding image point (x, y), 0 outside the field.
func (p *pfield) at(x, y float64) uint8 {
	if x < 0 || y < 0 {
		return 0
	}
	cx, cy := int(x)/FieldCell, int(y)/FieldCell
	if cx >= p.w || cy >= p.h {
		return 0
	}
	return p.cells[cy*p.w+cx]
}

// agreement maps p's foreground cells through al onto q and returns the number of cells that land on
// q's foreground and the mean cos 2Δθ of their orientations (1: parallel everywhere, 0: unrelated).
func (p *pfield) agreement(q *pfield, al align) (int, float64) {
	rc, rs := math.Cos(al.rot), math.Sin(al.rot)
	c2, s2 := float32(math.Cos(2*al.rot)), float32(math.Sin(2*al.rot))
	n := 0
	var sum float32
	for i := range p.x {
		dx, dy := float64(p.x[i])-al.ax, float64(p.y[i])-al.ay
		v := q.at(al.bx+dx*rc-dy*rs, al.by+dx*rs+dy*rc)
		if v == 0 {
			continue
		}
		// p's doubled angle rotated by 2·rot, against q's
		a, b := p.c2[i]*c2-p.s2[i]*s2, p.s2[i]*c2+p.c2[i]*s2
		sum += a*q.lc[v] + b*q.ls[v]
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return n, float64(sum) / float64(n)
}

// fieldWeight is how well the orientation fields of p and q agree under al, as a factor for a
// minutiae score: ((A-½)/½)² for a mean agreement A = cos 2Δθ, zero at or below ½ (flows 30° apart on
// average), 1 when they are parallel everywhere. Without a field on both sides it is 1.
func fieldWeight(p, q *Probe, al align) float64 {
	if p.field == nil || q.field == nil {
		return 1
	}
	_, a := p.field.agreement(q.field, al)
	g := math.Max(0, math.Min(1, (a-fieldFloor)/(1-fieldFloor)))
	return g * g
}

// appendField appends f as width u8 | height u8 | cells at 4 bits each, high nibble first, a final
// unused nibble zero (the form both the compact template and the ISO/ANSI extended data use).
func appendField(b []byte, f *Field) ([]byte, error) {
	if f.W <= 0 || f.H <= 0 || f.W > 255 || f.H > 255 || len(f.Cells) != f.W*f.H {
		return nil, fmt.Errorf("orientation field %dx%d with %d cells", f.W, f.H, len(f.Cells))
	}
	b = append(b, uint8(f.W), uint8(f.H))
	for i := 0; i < len(f.Cells); i += 2 {
		hi, lo := f.Cells[i], uint8(0)
		if i+1 < len(f.Cells) {
			lo = f.Cells[i+1]
		}
		if hi > FieldLevels || lo > FieldLevels {
			return nil, fmt.Errorf("orientation field cell %d out of range", i)
		}
		b = append(b, hi<<4|lo)
	}
	return b, nil
}

// parseField decodes exactly the bytes appendField writes.
func parseField(b []byte) (*Field, error) {
	if len(b) < 2 {
		return nil, errors.New("orientation field: truncated")
	}
	w, h := int(b[0]), int(b[1])
	cells := w * h
	if w == 0 || h == 0 || len(b) != 2+(cells+1)/2 {
		return nil, fmt.Errorf("orientation field: %d bytes for %dx%d cells", len(b), w, h)
	}
	f := &Field{W: w, H: h, Cells: make([]uint8, cells)}
	for i := range f.Cells {
		v := b[2+i/2]
		if i%2 == 0 {
			v >>= 4
		}
		f.Cells[i] = v & 0x0F
	}
	if cells%2 == 1 && b[len(b)-1]&0x0F != 0 {
		return nil, errors.New("orientation field: padding not zero")
	}
	return f, nil
}
