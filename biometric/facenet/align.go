package facenet

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
)

// Point is a landmark in image pixel coordinates.
type Point struct{ X, Y float64 }

// Similarity is x' = A·x − B·y + Tx, y' = B·x + A·y + Ty: rotation, uniform scale, translation.
type Similarity struct{ A, B, Tx, Ty float64 }

// Apply maps a point.
func (s Similarity) Apply(p Point) Point {
	return Point{s.A*p.X - s.B*p.Y + s.Tx, s.B*p.X + s.A*p.Y + s.Ty}
}

// Invert returns the inverse transform.
func (s Similarity) Invert() (Similarity, error) {
	d := s.A*s.A + s.B*s.B
	if d < 1e-12 {
		return Similarity{}, errors.New("similarity: degenerate transform")
	}
	a, b := s.A/d, -s.B/d
	return Similarity{A: a, B: b, Tx: -(a*s.Tx - b*s.Ty), Ty: -(b*s.Tx + a*s.Ty)}, nil
}

// EstimateSimilarity is the least-squares similarity taking src onto dst (Umeyama 1991 without
// reflection; for 2-D the closed form below): the transform InsightFace and dlib use to align
// faces to a landmark template.
func EstimateSimilarity(src, dst []Point) (Similarity, error) {
	n := len(src)
	if n < 2 || len(dst) != n {
		return Similarity{}, fmt.Errorf("similarity: need ≥ 2 point pairs, have %d/%d", len(src), len(dst))
	}
	var sx, sy, dx, dy float64
	for i := range src {
		sx += src[i].X
		sy += src[i].Y
		dx += dst[i].X
		dy += dst[i].Y
	}
	fn := float64(n)
	sx, sy, dx, dy = sx/fn, sy/fn, dx/fn, dy/fn
	var num1, num2, den float64
	for i := range src {
		px, py := src[i].X-sx, src[i].Y-sy
		qx, qy := dst[i].X-dx, dst[i].Y-dy
		num1 += px*qx + py*qy
		num2 += px*qy - py*qx
		den += px*px + py*py
	}
	if den < 1e-9 || math.IsNaN(den) || math.IsInf(den, 0) {
		return Similarity{}, errors.New("similarity: source points coincide")
	}
	a, b := num1/den, num2/den
	return Similarity{A: a, B: b, Tx: dx - (a*sx - b*sy), Ty: dy - (b*sx + a*sy)}, nil
}

// Chip is an aligned face crop, RGB, values 0..255, row-major HWC.
type Chip struct {
	Size int
	Pix  []float32 // Size·Size·3
}

// WarpChip samples img through the inverse of toChip (image → chip coordinates) with bilinear
// interpolation; chip pixels that fall outside the image are black (as OpenCV's warpAffine with
// a constant border, which InsightFace's norm_crop uses).
func WarpChip(img image.Image, toChip Similarity, size int) (Chip, error) {
	inv, err := toChip.Invert()
	if err != nil {
		return Chip{}, err
	}
	b := img.Bounds()
	if b.Empty() {
		return Chip{}, errors.New("warp: empty image")
	}
	px := pixelReader(img)
	chip := Chip{Size: size, Pix: make([]float32, size*size*3)}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			// Pixel centres map to pixel centres: OpenCV's convention of integer pixel coordinates.
			s := inv.Apply(Point{float64(x), float64(y)})
			x0, y0 := math.Floor(s.X), math.Floor(s.Y)
			fx, fy := s.X-x0, s.Y-y0
			// Landmarks and the transform are in img's own coordinates (a sub-image keeps those
			// of its parent), so no offset by Bounds().Min.
			ix, iy := int(x0), int(y0)
			var acc [3]float64
			for _, t := range [4]struct {
				dx, dy int
				w      float64
			}{{0, 0, (1 - fx) * (1 - fy)}, {1, 0, fx * (1 - fy)}, {0, 1, (1 - fx) * fy}, {1, 1, fx * fy}} {
				if t.w == 0 {
					continue
				}
				qx, qy := ix+t.dx, iy+t.dy
				if qx < b.Min.X || qx >= b.Max.X || qy < b.Min.Y || qy >= b.Max.Y {
					continue
				}
				r, g, bl := px(qx, qy)
				acc[0] += t.w * r
				acc[1] += t.w * g
				acc[2] += t.w * bl
			}
			o := (y*size + x) * 3
			chip.Pix[o], chip.Pix[o+1], chip.Pix[o+2] = float32(acc[0]), float32(acc[1]), float32(acc[2])
		}
	}
	return chip, nil
}

// pixelReader returns a fast 8-bit RGB accessor for the common image types.
func pixelReader(img image.Image) func(x, y int) (r, g, b float64) {
	switch m := img.(type) {
	case *image.RGBA:
		return func(x, y int) (float64, float64, float64) {
			i := m.PixOffset(x, y)
			return float64(m.Pix[i]), float64(m.Pix[i+1]), float64(m.Pix[i+2])
		}
	case *image.NRGBA:
		return func(x, y int) (float64, float64, float64) {
			i := m.PixOffset(x, y)
			return float64(m.Pix[i]), float64(m.Pix[i+1]), float64(m.Pix[i+2])
		}
	case *image.YCbCr:
		return func(x, y int) (float64, float64, float64) {
			yi, ci := m.YOffset(x, y), m.COffset(x, y)
			r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			return float64(r), float64(g), float64(b)
		}
	case *image.Gray:
		return func(x, y int) (float64, float64, float64) {
			v := float64(m.Pix[m.PixOffset(x, y)])
			return v, v, v
		}
	}
	return func(x, y int) (float64, float64, float64) {
		r, g, b, _ := img.At(x, y).RGBA()
		return float64(r >> 8), float64(g >> 8), float64(b >> 8)
	}
}
