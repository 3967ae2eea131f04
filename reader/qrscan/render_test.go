package qrscan_test

import (
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"gocv.io/x/gocv"
	"rsc.io/qr"
)

// The test frames are made here: an independent encoder (rsc.io/qr) draws the QR code, the code
// is printed on a synthetic CCCD front (85.6 × 54 mm at 10 px/mm, ISO/IEC 7810 ID-1) with a real
// face photo from ../shared/testdata and a guilloche-like background, and the card is warped into
// a 1280×720 camera frame in a given pose, blurred, given sensor noise and JPEG-compressed the way
// a webcam's MJPEG stream is.

const cardW, cardH = 856, 540

func testdata(t testing.TB, rel ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(append([]string{filepath.Dir(file), "..", "..", "..", "shared", "testdata"}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data missing: %v", err)
	}
	return p
}

// renderCard draws a CCCD front carrying text as its QR code (module size px pixels).
func renderCard(t testing.TB, text string, px int) *image.RGBA {
	t.Helper()
	card := image.NewRGBA(image.Rect(0, 0, cardW, cardH))
	// Pale background with fine wavy lines, like the card's security print.
	for y := 0; y < cardH; y++ {
		for x := 0; x < cardW; x++ {
			w := math.Sin(float64(x)/9+6*math.Sin(float64(y)/37)) * math.Sin(float64(y)/7+4*math.Sin(float64(x)/53))
			v := 228 + 14*w
			o := card.PixOffset(x, y)
			card.Pix[o], card.Pix[o+1], card.Pix[o+2], card.Pix[o+3] = uint8(v-10), uint8(v), uint8(v+8), 255
		}
	}
	// Header band and text lines (dark bars of varying length).
	draw.Draw(card, image.Rect(0, 0, cardW, 70), &image.Uniform{color.RGBA{178, 34, 34, 255}}, image.Point{}, draw.Src)
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 9; i++ {
		y := 300 + i*24
		draw.Draw(card, image.Rect(280, y, 280+120+r.Intn(400), y+11), &image.Uniform{color.RGBA{40, 40, 60, 255}}, image.Point{}, draw.Src)
	}
	// The holder's photo.
	f, err := os.Open(testdata(t, "faces", "lfw", "Hu_Jintao", "Hu_Jintao_0001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	face, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	dst := image.Rect(40, 150, 240, 400)
	fb := face.Bounds()
	for y := dst.Min.Y; y < dst.Max.Y; y++ {
		for x := dst.Min.X; x < dst.Max.X; x++ {
			sx := fb.Min.X + 50 + (x-dst.Min.X)*150/dst.Dx()
			sy := fb.Min.Y + 40 + (y-dst.Min.Y)*187/dst.Dy()
			card.Set(x, y, face.At(sx, sy))
		}
	}
	if text == "" {
		return card
	}
	// The QR code, top right, on a white quiet zone of 4 modules (ISO/IEC 18004 §6.3.8).
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	side := (code.Size + 8) * px
	x0, y0 := cardW-40-side, 90
	draw.Draw(card, image.Rect(x0, y0, x0+side, y0+side), image.White, image.Point{}, draw.Src)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				mx, my := x0+(x+4)*px, y0+(y+4)*px
				draw.Draw(card, image.Rect(mx, my, mx+px, my+px), &image.Uniform{color.RGBA{20, 20, 25, 255}}, image.Point{}, draw.Src)
			}
		}
	}
	return card
}

// pose is where the card's corners land in the frame (top-left, top-right, bottom-right,
// bottom-left).
type pose [4]image.Point

// frontal places the card centred, width w, rotated by deg degrees.
func frontal(w int, deg float64) pose {
	h := float64(w) * cardH / cardW
	cx, cy := 640.0, 360.0
	s, c := math.Sincos(deg * math.Pi / 180)
	var p pose
	for i, v := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		x, y := v[0]*float64(w)/2, v[1]*h/2
		p[i] = image.Pt(int(cx+x*c-y*s), int(cy+x*s+y*c))
	}
	return p
}

// photograph warps card into a 1280×720 frame at p over a textured desk, then blurs, adds noise
// and JPEG-compresses it. It returns the frame as OpenCV BGR.
func photograph(t testing.TB, card *image.RGBA, p pose, seed int64) gocv.Mat {
	t.Helper()
	src, err := gocv.ImageToMatRGB(card)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	desk := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	r := rand.New(rand.NewSource(seed))
	for y := 0; y < 720; y++ {
		for x := 0; x < 1280; x++ {
			v := 90 + 30*math.Sin(float64(x)/23+float64(y)/300) + float64(r.Intn(12))
			o := desk.PixOffset(x, y)
			desk.Pix[o], desk.Pix[o+1], desk.Pix[o+2], desk.Pix[o+3] = uint8(v+30), uint8(v+10), uint8(v-10), 255
		}
	}
	frame, err := gocv.ImageToMatRGB(desk)
	if err != nil {
		t.Fatal(err)
	}
	defer frame.Close()
	from := gocv.NewPointVectorFromPoints([]image.Point{{0, 0}, {cardW, 0}, {cardW, cardH}, {0, cardH}})
	defer from.Close()
	to := gocv.NewPointVectorFromPoints(p[:])
	defer to.Close()
	m := gocv.GetPerspectiveTransform(from, to)
	defer m.Close()
	gocv.WarpPerspectiveWithParams(src, &frame, m, image.Pt(1280, 720), gocv.InterpolationLinear, gocv.BorderTransparent, color.RGBA{})
	blurred := gocv.NewMat()
	defer blurred.Close()
	gocv.GaussianBlur(frame, &blurred, image.Pt(0, 0), 0.8, 0.8, gocv.BorderDefault)
	b := blurred.ToBytes()
	for i := range b {
		v := int(b[i]) + int(r.NormFloat64()*4)
		b[i] = uint8(max(0, min(255, v)))
	}
	noisy, err := gocv.NewMatFromBytes(720, 1280, gocv.MatTypeCV8UC3, b)
	if err != nil {
		t.Fatal(err)
	}
	defer noisy.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, noisy, []int{gocv.IMWriteJpegQuality, 80})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	out, err := gocv.IMDecode(buf.GetBytes(), gocv.IMReadColor)
	if err != nil || out.Empty() {
		t.Fatalf("decode frame: %v", err)
	}
	return out
}
