package sensor

import (
	"fmt"
	"image"
)

// The R30x image buffer is 256 × 288 pixels at 500 dpi, uploaded at 4 bits per pixel with the left
// pixel of each pair in the high nibble (R30x manual, UpImage): 36,864 bytes.
const (
	ImageWidth  = 256
	ImageHeight = 288
	ImageBytes  = ImageWidth * ImageHeight / 2
)

// Pack quantises a 256×288 gray image to 4 bits per pixel, high nibble first.
func Pack(img *image.Gray) ([]byte, error) {
	b := img.Bounds()
	if b.Dx() != ImageWidth || b.Dy() != ImageHeight {
		return nil, fmt.Errorf("sensor: image %dx%d, want %dx%d", b.Dx(), b.Dy(), ImageWidth, ImageHeight)
	}
	out := make([]byte, 0, ImageBytes)
	for y := 0; y < ImageHeight; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < ImageWidth; x += 2 {
			out = append(out, row[x]&0xF0|row[x+1]>>4)
		}
	}
	return out, nil
}

// Unpack expands an uploaded 4-bit image to 8 bits (each nibble n becomes n × 17, so 0 → 0, 15 → 255).
func Unpack(b []byte) (*image.Gray, error) {
	if len(b) != ImageBytes {
		return nil, fmt.Errorf("sensor: image data %d bytes, want %d", len(b), ImageBytes)
	}
	img := image.NewGray(image.Rect(0, 0, ImageWidth, ImageHeight))
	for i, v := range b {
		img.Pix[2*i] = (v >> 4) * 17
		img.Pix[2*i+1] = (v & 0x0F) * 17
	}
	return img, nil
}

// FromImage turns a 500 dpi fingerprint image of any size into the sensor's 256×288 frame without
// rescaling (both are 500 dpi): the frame is centred on the darkness-weighted centroid of the print and
// padded with white where the source is smaller.
func FromImage(src *image.Gray) *image.Gray {
	b := src.Bounds()
	var sx, sy, sw float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := src.Pix[(y-b.Min.Y)*src.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			w := float64(255 - row[x-b.Min.X])
			sx += w * float64(x)
			sy += w * float64(y)
			sw += w
		}
	}
	cx, cy := (b.Min.X+b.Max.X)/2, (b.Min.Y+b.Max.Y)/2
	if sw > 0 {
		cx, cy = int(sx/sw), int(sy/sw)
	}
	x0 := clamp(cx-ImageWidth/2, b.Min.X, max(b.Min.X, b.Max.X-ImageWidth))
	y0 := clamp(cy-ImageHeight/2, b.Min.Y, max(b.Min.Y, b.Max.Y-ImageHeight))
	if b.Dx() < ImageWidth {
		x0 = b.Min.X - (ImageWidth-b.Dx())/2
	}
	if b.Dy() < ImageHeight {
		y0 = b.Min.Y - (ImageHeight-b.Dy())/2
	}
	out := image.NewGray(image.Rect(0, 0, ImageWidth, ImageHeight))
	for y := 0; y < ImageHeight; y++ {
		for x := 0; x < ImageWidth; x++ {
			v := uint8(255)
			if p := (image.Point{X: x0 + x, Y: y0 + y}); p.In(b) {
				v = src.GrayAt(p.X, p.Y).Y
			}
			out.Pix[y*out.Stride+x] = v
		}
	}
	return out
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
