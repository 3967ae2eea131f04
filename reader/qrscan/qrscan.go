// Package qrscan reads the QR code printed on the front of a CCCD from a camera frame, with
// OpenCV's QR detector through gocv, and turns it into the chip's access keys (reader.ParseQR and
// QRData.Keys). It is a cgo package of its own so that reader/ stays pure Go.
//
// The officer holds the card under the desk camera; Scan reads frames until one carries a QR code
// whose text is a CCCD payload (ID|old ID|name|ddmmyyyy birth|sex|address|ddmmyyyy issue). Codes
// that are not CCCD payloads (a URL, another document) are skipped, never mistaken for one.
package qrscan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"

	"enrolldesk/reader"
)

// ErrNoCode means no QR code was found (or none could be decoded) in the frame.
var ErrNoCode = errors.New("qrscan: no QR code found")

// ErrNotCCCD means a QR code was decoded but its text is not a CCCD front payload.
var ErrNotCCCD = errors.New("qrscan: QR code is not a CCCD payload")

// OpenCV 4.6's detector finds codes whose modules span about 3 pixels or more. A card held at
// arm's length gives a code (about 13 mm on the card) of 2–3 pixels per module at 1280×720, so
// frames up to maxUpscaled lines get a last, slower attempt upscaled by upscale (measured on the
// synthetic card frames of the tests: 2× still misses codes that 2.5× finds).
const (
	maxUpscaled = 1080
	upscale     = 2.5
)

// Scanner holds one OpenCV QR detector. It is not safe for concurrent use; Close frees it.
type Scanner struct {
	det gocv.QRCodeDetector
}

// New returns a Scanner.
func New() *Scanner { return &Scanner{det: gocv.NewQRCodeDetector()} }

// Close frees the detector.
func (s *Scanner) Close() error { return s.det.Close() }

// Decode finds and decodes one QR code in frame (8-bit BGR, BGRA or gray). OpenCV's detector
// is fickle on camera frames (the card's guilloche print, glare, noise), so it is asked in turn
// about an Otsu-binarised copy (the most often successful on the test frames), the luminance, a
// slightly blurred copy and, for small frames, an upscaled copy; the module grid is always sampled
// from the luminance.
func (s *Scanner) Decode(frame gocv.Mat) (string, error) {
	if frame.Empty() {
		return "", fmt.Errorf("%w: empty frame", ErrNoCode)
	}
	gray := gocv.NewMat()
	defer gray.Close()
	switch frame.Channels() {
	case 1:
		frame.CopyTo(&gray)
	case 3:
		gocv.CvtColor(frame, &gray, gocv.ColorBGRToGray)
	case 4:
		gocv.CvtColor(frame, &gray, gocv.ColorBGRAToGray)
	default:
		return "", fmt.Errorf("qrscan: frame with %d channels", frame.Channels())
	}
	if gray.Type() != gocv.MatTypeCV8U {
		return "", fmt.Errorf("qrscan: frame of type %v, want 8-bit", frame.Type())
	}
	work := gocv.NewMat()
	defer work.Close()
	gocv.Threshold(gray, &work, 0, 255, gocv.ThresholdBinary|gocv.ThresholdOtsu)
	if text := s.try(gray, work, 1); text != "" {
		return text, nil
	}
	if text := s.try(gray, gray, 1); text != "" {
		return text, nil
	}
	gocv.GaussianBlur(gray, &work, image.Point{}, 1, 1, gocv.BorderDefault)
	if text := s.try(gray, work, 1); text != "" {
		return text, nil
	}
	if min(gray.Rows(), gray.Cols()) <= maxUpscaled {
		gocv.Resize(gray, &work, image.Point{}, upscale, upscale, gocv.InterpolationLinear)
		gocv.GaussianBlur(work, &work, image.Point{}, 1, 1, gocv.BorderDefault)
		if text := s.try(gray, work, upscale); text != "" {
			return text, nil
		}
	}
	return "", ErrNoCode
}

// try locates a code in view (gray, or a processed copy of it scaled by scale) with OpenCV's
// detector and reads the module grid from gray with qrdecode.
func (s *Scanner) try(gray, view gocv.Mat, scale float64) string {
	pts := gocv.NewMat()
	defer pts.Close()
	if !s.det.Detect(view, &pts) || pts.Total() != 4 || pts.Type() != gocv.MatTypeCV32FC2 {
		return ""
	}
	b := pts.ToBytes()
	var quad [4]gocv.Point2f
	for i := range quad {
		quad[i].X = math.Float32frombits(binary.NativeEndian.Uint32(b[8*i:])) / float32(scale)
		quad[i].Y = math.Float32frombits(binary.NativeEndian.Uint32(b[8*i+4:])) / float32(scale)
	}
	text, err := readQuad(gray, quad)
	if err != nil {
		return ""
	}
	return text
}

// Card decodes the QR code in frame and parses it as a CCCD payload. A decoded code that is not
// a CCCD payload gives an error wrapping ErrNotCCCD (and the parser's reason), never data.
func (s *Scanner) Card(frame gocv.Mat) (*reader.QRData, error) {
	text, err := s.Decode(frame)
	if err != nil {
		return nil, err
	}
	q, err := reader.ParseQR(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotCCCD, err)
	}
	return q, nil
}

// CardImage is Card on a Go image (a still photo rather than a capture frame).
func (s *Scanner) CardImage(img image.Image) (*reader.QRData, error) {
	m, err := gocv.ImageToMatRGB(img)
	if err != nil {
		return nil, fmt.Errorf("qrscan: image to matrix: %w", err)
	}
	defer m.Close()
	// ImageToMatRGB fills the channels in BGR order (OpenCV's), whatever its name says.
	return s.Card(m)
}

// Frames is a source of camera frames: *gocv.VideoCapture on a V4L2 device, a video file or an
// image sequence. Read returns false when no frame is available (end of a file, camera gone).
type Frames interface {
	Read(m *gocv.Mat) bool
}

// Scan reads frames from src until one carries a CCCD QR code, ctx ends, or src stops giving
// frames. Frames without a code and codes that are not CCCD payloads are skipped; when src ends,
// the error says whether a foreign code was seen. It returns the payload and the number of frames
// read.
func (s *Scanner) Scan(ctx context.Context, src Frames) (*reader.QRData, int, error) {
	frame := gocv.NewMat()
	defer frame.Close()
	n := 0
	var foreign error
	for {
		if err := ctx.Err(); err != nil {
			return nil, n, fmt.Errorf("qrscan: %w", err)
		}
		if !src.Read(&frame) || frame.Empty() {
			if foreign != nil {
				return nil, n, fmt.Errorf("qrscan: no CCCD code in %d frames (last code seen: %w)", n, foreign)
			}
			return nil, n, fmt.Errorf("%w in %d frames", ErrNoCode, n)
		}
		n++
		q, err := s.Card(frame)
		switch {
		case err == nil:
			return q, n, nil
		case errors.Is(err, ErrNotCCCD):
			foreign = err
		case errors.Is(err, ErrNoCode):
		default:
			return nil, n, err
		}
	}
}
