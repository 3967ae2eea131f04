package portrait

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"enrolldesk/biometric/face/embedding"
)

// lfwPhoto decodes a real photo from ../shared/testdata (an RGB JPEG with texture, so the JPEG
// size limit is exercised on real content).
func lfwPhoto(t *testing.T) image.Image {
	t.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", "testdata", "faces", "lfw", "Hans_Blix", "Hans_Blix_0003.jpg")
	f, err := os.Open(p)
	if err != nil {
		t.Fatalf("test data: %v", err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// A dark dot at each eye position lets the test find where the eyes ended up.
func marked(img image.Image, eyes [2]image.Point) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	for _, e := range eyes {
		for y := -2; y <= 2; y++ {
			for x := -2; x <= 2; x++ {
				out.Set(e.X+x, e.Y+y, color.RGBA{255, 0, 255, 255})
			}
		}
	}
	return out
}

func magentaCentre(img *image.RGBA, half image.Rectangle) (float64, float64) {
	var sx, sy, n float64
	for y := half.Min.Y; y < half.Max.Y; y++ {
		for x := half.Min.X; x < half.Max.X; x++ {
			c := img.RGBAAt(x, y)
			if c.R > 200 && c.B > 200 && c.G < 80 {
				sx, sy, n = sx+float64(x), sy+float64(y), n+1
			}
		}
	}
	return sx / n, sy / n
}

func TestTokenGeometryAndSize(t *testing.T) {
	// Eyes tilted by ~8° (a rolled head): the token must be upright.
	eyes := [2]image.Point{{100, 112}, {150, 119}}
	img := marked(lfwPhoto(t), eyes)
	lm := []image.Point{{155, 119}, {145, 119}, {95, 112}, {105, 112}, {125, 150}} // 5-point layout
	tok, err := Make(img, embedding.Face{Landmarks: lm}, MinWidth, MaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	if b := tok.Image.Bounds(); b.Dx() != 240 || b.Dy() != 320 {
		t.Fatalf("token %v, want 240×320 (3:4)", b)
	}
	if len(tok.JPEG) > MaxBytes {
		t.Fatalf("%d bytes", len(tok.JPEG))
	}
	dec, err := jpeg.Decode(bytes.NewReader(tok.JPEG))
	if err != nil || dec.Bounds().Dx() != 240 {
		t.Fatalf("decode: %v", err)
	}
	lx, ly := magentaCentre(tok.Image, image.Rect(0, 0, 120, 320))
	rx, ry := magentaCentre(tok.Image, image.Rect(120, 0, 240, 320))
	// ISO/IEC 19794-5 §8.4: eyes at y = 0.6·W = 144, x = 0.5·W ∓ 0.125·W = 90 and 150.
	for _, v := range []struct{ got, want float64 }{{lx, 90}, {rx, 150}, {ly, 144}, {ry, 144}} {
		if math.Abs(v.got-v.want) > 2.5 {
			t.Fatalf("eyes at (%.1f,%.1f) (%.1f,%.1f), want (90,144) (150,144)", lx, ly, rx, ry)
		}
	}
}

func TestTokenRefusals(t *testing.T) {
	img := lfwPhoto(t)
	lm := []image.Point{{155, 119}, {145, 119}, {95, 112}, {105, 112}, {125, 150}}
	if _, err := Make(img, embedding.Face{Landmarks: lm}, 200, MaxBytes); err == nil {
		t.Fatal("width below 240 accepted")
	}
	if _, err := Make(img, embedding.Face{Landmarks: lm[:3]}, 240, MaxBytes); err == nil {
		t.Fatal("3 landmarks accepted")
	}
	if _, err := Make(img, embedding.Face{Landmarks: lm}, 240, 500); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("500-byte limit: %v", err)
	}
}
