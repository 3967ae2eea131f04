package wire

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"

	"gocv.io/x/gocv"
	"rsc.io/qr"

	"enrolldesk/biometric/face"
	"enrolldesk/desk/app"
	"enrolldesk/reader"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/qrscan"
)

// ScanCardQR implements app.CardQRScanner on the desk camera: frames from the same source the
// face step uses go to reader/qrscan (OpenCV's QR detector, then the module grid decoded in pure
// Go) until one carries a CCCD front payload, ctx ends or the source ends. Errors are coded for
// the window: no camera (device_missing), no code (qr_none), only foreign codes (qr_not_cccd).
func (c *CameraFace) ScanCardQR(ctx context.Context) (*reader.QRData, error) {
	if c.Source.Name == "" {
		return nil, missing(errors.New("no camera configured"))
	}
	sctx, stop := context.WithCancel(ctx)
	cam := face.NewCamera(c.Source)
	frames := cam.Stream(sctx)
	defer func() {
		stop()
		for f := range frames { // the stream ends once stopped; free what it still holds
			f.Close()
		}
	}()
	s := qrscan.New()
	defer s.Close()
	q, n, err := s.Scan(sctx, chanFrames(frames))
	if err == nil {
		return q, nil
	}
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("scan card QR: %w", ctx.Err())
	case cam.Err() != nil:
		return nil, missing(fmt.Errorf("camera %s: %w", c.Source.Name, cam.Err()))
	case errors.Is(err, qrscan.ErrNotCCCD):
		return nil, &app.CodedError{Code: app.CodeQRNotCCCD, Err: err}
	case n == 0:
		return nil, missing(fmt.Errorf("camera %s: no frame", c.Source.Name))
	}
	return nil, &app.CodedError{Code: app.CodeQRNone, Err: err}
}

// chanFrames adapts a camera stream to qrscan.Frames.
type chanFrames <-chan face.Frame

func (ch chanFrames) Read(m *gocv.Mat) bool {
	f, ok := <-ch
	if !ok {
		return false
	}
	f.Mat.CopyTo(m)
	f.Close()
	return true
}

// CCCDQRText is the text of the QR code on the front of a CCCD for the chip's DG13 data (DESIGN.md,
// "CCCD chip access"): ID|old ID|name|ddmmyyyy birth|sex|address|ddmmyyyy issue, pipe separated,
// UTF-8. The simulated camera shows it; dates in DG13 are dd/mm/yyyy.
func CCCDQRText(v lds.VNData) string {
	date := func(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "/", "") }
	return strings.Join([]string{v.IDNumber, v.OldIDNumber, v.FullName, date(v.DateOfBirth), v.Sex,
		v.PlaceOfResidence, date(v.DateOfIssue)}, "|")
}

// The card front as the simulated camera shows it: an ISO/IEC 7810 ID-1 card (85.6 × 54 mm)
// drawn at 10 px/mm, the QR code at the top right as on the CCCD (module qrModule px, a quiet
// zone of 4 modules, ISO/IEC 18004 §6.3.8), held about 15 cm from a 1280×720 desk camera.
const (
	cardW, cardH = 856, 540
	qrModule     = 4
	frameW       = 1280
	frameH       = 720
	cardInFrame  = 900 // the card's width in the frame, px
)

// CardFront is the card the simulated camera shows before the face clip: the QR text
// (CCCDQRText) and the holder's photo printed on it.
type CardFront struct {
	QR     string
	Photo  string // JPEG of the holder (the chip photo's face)
	Frames int    // how many frames the card is held (slightly moving); 0 means 10
}

// renderCard draws the card front: a pale security print, the red header, the photo, bars for
// the printed text and the QR code (none when text is empty: a card held upside down, say).
func renderCard(text, photo string) (gocv.Mat, error) {
	card := image.NewRGBA(image.Rect(0, 0, cardW, cardH))
	for y := 0; y < cardH; y++ {
		for x := 0; x < cardW; x++ {
			w := math.Sin(float64(x)/9+6*math.Sin(float64(y)/37)) * math.Sin(float64(y)/7+4*math.Sin(float64(x)/53))
			v := 228 + 14*w
			o := card.PixOffset(x, y)
			card.Pix[o], card.Pix[o+1], card.Pix[o+2], card.Pix[o+3] = uint8(v-10), uint8(v), uint8(v+8), 255
		}
	}
	draw.Draw(card, image.Rect(0, 0, cardW, 70), &image.Uniform{color.RGBA{178, 34, 34, 255}}, image.Point{}, draw.Src)
	for i := 0; i < 9; i++ {
		y := 300 + i*24
		draw.Draw(card, image.Rect(280, y, 280+160+(i*97)%360, y+11), &image.Uniform{color.RGBA{40, 40, 60, 255}}, image.Point{}, draw.Src)
	}
	if text != "" {
		code, err := qr.Encode(text, qr.M)
		if err != nil {
			return gocv.Mat{}, fmt.Errorf("card front: QR code: %w", err)
		}
		side := (code.Size + 8) * qrModule
		x0, y0 := cardW-40-side, 90
		draw.Draw(card, image.Rect(x0, y0, x0+side, y0+side), image.White, image.Point{}, draw.Src)
		for y := 0; y < code.Size; y++ {
			for x := 0; x < code.Size; x++ {
				if code.Black(x, y) {
					mx, my := x0+(x+4)*qrModule, y0+(y+4)*qrModule
					draw.Draw(card, image.Rect(mx, my, mx+qrModule, my+qrModule), &image.Uniform{color.RGBA{20, 20, 25, 255}}, image.Point{}, draw.Src)
				}
			}
		}
	}
	m, err := gocv.ImageToMatRGB(card)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("card front: %w", err)
	}
	if photo != "" {
		p := gocv.IMRead(photo, gocv.IMReadColor)
		if p.Empty() {
			m.Close()
			return gocv.Mat{}, fmt.Errorf("card front: read photo %s", photo)
		}
		dst := m.Region(image.Rect(40, 150, 240, 400))
		gocv.Resize(p, &dst, image.Pt(200, 250), 0, 0, gocv.InterpolationArea)
		dst.Close()
		p.Close()
	}
	return m, nil
}

// CardFrames renders the card front held in front of the desk camera for f.Frames frames: the card
// centred over a plain desk, turning by a degree or two from frame to frame.
func CardFrames(f CardFront) ([]gocv.Mat, error) {
	card, err := renderCard(f.QR, f.Photo)
	if err != nil {
		return nil, err
	}
	defer card.Close()
	n := f.Frames
	if n <= 0 {
		n = 10
	}
	from := gocv.NewPointVectorFromPoints([]image.Point{{0, 0}, {cardW, 0}, {cardW, cardH}, {0, cardH}})
	defer from.Close()
	var out []gocv.Mat
	for i := 0; i < n; i++ {
		deg := 2 * math.Sin(float64(i)/2)
		w := float64(cardInFrame)
		h := w * cardH / cardW
		s, c := math.Sincos(deg * math.Pi / 180)
		var pts []image.Point
		for _, v := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
			x, y := v[0]*w/2, v[1]*h/2
			pts = append(pts, image.Pt(int(frameW/2+x*c-y*s), int(frameH/2+x*s+y*c)))
		}
		to := gocv.NewPointVectorFromPoints(pts)
		m := gocv.GetPerspectiveTransform(from, to)
		frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(70, 90, 110, 0), frameH, frameW, gocv.MatTypeCV8UC3)
		gocv.WarpPerspectiveWithParams(card, &frame, m, image.Pt(frameW, frameH), gocv.InterpolationLinear, gocv.BorderTransparent, color.RGBA{})
		m.Close()
		to.Close()
		out = append(out, frame)
	}
	return out, nil
}

// WriteCardClip writes the simulated camera showing only the card front (tests of the QR step).
func WriteCardClip(path string, f CardFront, fps float64) error {
	frames, err := CardFrames(f)
	if err != nil {
		return err
	}
	defer func() {
		for _, m := range frames {
			m.Close()
		}
	}()
	return face.WriteClip(path, frames, fps)
}

// WriteClipWithCard writes the demo's and the end-to-end suite's simulated camera: the officer
// first holds the citizen's card front under the camera (its QR code gives the chip's access
// key), then the citizen sits for the face step (seq, as WriteClip composes it).
func (c *CameraFace) WriteClipWithCard(ctx context.Context, path string, card CardFront, seq []ClipFrame, fps float64) error {
	frames, err := CardFrames(card)
	if err != nil {
		return err
	}
	return c.writeClip(ctx, path, frames, seq, fps)
}
