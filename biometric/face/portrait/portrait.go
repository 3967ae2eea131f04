// Package portrait makes the token face image that goes into the issuance record: the face
// rotated upright, scaled and cropped to the token geometry of ISO/IEC 19794-5:2005 §8.4
// (width W, height W/0.75, i.e. 3:4 portrait; eye centres on a horizontal line at 0.6·W from
// the top, their midpoint at 0.5·W; inter-eye distance 0.25·W; W ≥ 240 so that the eyes are at
// least 60 px apart), encoded as baseline JPEG no larger than the record allows. Pure Go.
package portrait

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"

	"enrolldesk/biometric/face/embedding"
)

// MinWidth is the smallest token width (ISO/IEC 19794-5 §8.4: eye distance ≥ 60 px).
const MinWidth = 240

// MaxBytes is the size limit of the portrait in the issuance record.
const MaxBytes = 20 * 1024

// Token is an encoded token portrait.
type Token struct {
	JPEG    []byte
	Image   *image.RGBA
	Quality int
}

// ErrTooLarge means no JPEG quality down to the floor fitted the size limit.
var ErrTooLarge = errors.New("portrait does not fit the size limit")

// Make builds the token portrait of width w (≥ MinWidth) from img and the face's landmarks,
// and encodes it at the highest JPEG quality (from 90 down to 40) that fits maxBytes.
func Make(img image.Image, face embedding.Face, w, maxBytes int) (Token, error) {
	if w < MinWidth {
		return Token{}, fmt.Errorf("portrait: width %d below the token minimum %d", w, MinWidth)
	}
	e1, e2, ok := embedding.EyeCentres(face.Landmarks)
	if !ok {
		return Token{}, fmt.Errorf("portrait: %d landmarks, need 5 or 68", len(face.Landmarks))
	}
	dx, dy := float64(e2.X-e1.X), float64(e2.Y-e1.Y)
	ied := math.Hypot(dx, dy)
	if ied < 8 {
		return Token{}, errors.New("portrait: eyes too close together to align")
	}
	h := int(math.Round(float64(w) / 0.75))
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	// Output → source similarity: scale s = ied / (0.25 w), rotation by the eye line's angle,
	// output eye midpoint (0.5 w, 0.6 w) ↦ source eye midpoint.
	s := ied / (0.25 * float64(w))
	cos, sin := dx/ied, dy/ied
	mx, my := float64(e1.X+e2.X)/2, float64(e1.Y+e2.Y)/2
	ox, oy := 0.5*float64(w), 0.6*float64(w)
	b := img.Bounds()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u, v := (float64(x)+0.5-ox)*s, (float64(y)+0.5-oy)*s
			sx := mx + u*cos - v*sin - 0.5
			sy := my + u*sin + v*cos - 0.5
			out.SetRGBA(x, y, bilinear(img, b, sx, sy))
		}
	}
	var buf bytes.Buffer
	for q := 90; q >= 40; q -= 5 {
		buf.Reset()
		if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: q}); err != nil {
			return Token{}, fmt.Errorf("portrait: encode: %w", err)
		}
		if buf.Len() <= maxBytes {
			return Token{JPEG: append([]byte(nil), buf.Bytes()...), Image: out, Quality: q}, nil
		}
	}
	return Token{}, fmt.Errorf("%w: %d bytes at quality 40, limit %d", ErrTooLarge, buf.Len(), maxBytes)
}

// bilinear samples img at (x, y); outside the image it repeats the border (a plain background
// rather than black wedges when the face was near an edge or rotated).
func bilinear(img image.Image, b image.Rectangle, x, y float64) color.RGBA {
	x = math.Max(float64(b.Min.X), math.Min(x, float64(b.Max.X-1)))
	y = math.Max(float64(b.Min.Y), math.Min(y, float64(b.Max.Y-1)))
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	x1, y1 := min(x0+1, b.Max.X-1), min(y0+1, b.Max.Y-1)
	fx, fy := x-float64(x0), y-float64(y0)
	c00, c10, c01, c11 := rgba(img, x0, y0), rgba(img, x1, y0), rgba(img, x0, y1), rgba(img, x1, y1)
	mix := func(a, b, c, d float64) uint8 {
		v := a*(1-fx)*(1-fy) + b*fx*(1-fy) + c*(1-fx)*fy + d*fx*fy
		return uint8(math.Max(0, math.Min(255, math.Round(v))))
	}
	return color.RGBA{
		mix(c00[0], c10[0], c01[0], c11[0]),
		mix(c00[1], c10[1], c01[1], c11[1]),
		mix(c00[2], c10[2], c01[2], c11[2]),
		255,
	}
}

func rgba(img image.Image, x, y int) [3]float64 {
	if m, ok := img.(*image.RGBA); ok {
		i := m.PixOffset(x, y)
		return [3]float64{float64(m.Pix[i]), float64(m.Pix[i+1]), float64(m.Pix[i+2])}
	}
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]float64{float64(r >> 8), float64(g >> 8), float64(b >> 8)}
}
