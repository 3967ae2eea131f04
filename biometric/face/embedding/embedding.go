// Package embedding is the seam between face detection/alignment and the engines that turn an
// aligned face into a descriptor: dlib's ResNet through go-face (package face) today, others (e.g.
// an ONNX/TF model through gocv's DNN module) beside it. It is pure Go: no cgo, so matchers,
// calibration and the 1:N index can use it with CGO_ENABLED=0.
package embedding

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
)

// Face is one detected face in an image, in that image's pixel coordinates.
type Face struct {
	// Rect is the detector's box.
	Rect image.Rectangle
	// Landmarks are the shape predictor's points: 5 (dlib's 5-point model: 0–1 one eye's
	// corners on the image's right, 2–3 the other eye's corners, 4 below the nose) or 68 (iBUG
	// 300-W layout: jaw 0–16, brows 17–26, nose 27–35, eyes 36–41 and 42–47, mouth 48–67).
	Landmarks []image.Point
}

// Embedder turns one face of an image into a fixed-length descriptor. Descriptors of different
// engines are not comparable; Name identifies the engine and its pipeline settings (jitter,
// mirroring, model files) so that calibrations and galleries are kept per engine.
//
// Implementations must be safe for concurrent use, honour ctx before expensive work, and return
// an error (never a zero descriptor) when the face cannot be embedded.
type Embedder interface {
	Name() string
	Dim() int
	Embed(ctx context.Context, img image.Image, face Face) ([]float32, error)
}

// ErrDimension reports descriptors of different lengths.
var ErrDimension = errors.New("descriptor length mismatch")

// Distance is the Euclidean distance between two descriptors (dlib's metric: its ResNet was
// trained so that the same person lies within about 0.6). Note go-face's ClassifyThreshold
// compares squared distances; this is the plain distance.
func Distance(a, b []float32) (float64, error) {
	if len(a) != len(b) || len(a) == 0 {
		return 0, fmt.Errorf("%w: %d vs %d", ErrDimension, len(a), len(b))
	}
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s), nil
}

// EyeCentres returns the centres of the two eyes, the one with the smaller x first (the
// subject's right eye on a non-mirrored photo), from 5- or 68-point landmarks.
func EyeCentres(lm []image.Point) (a, b image.Point, ok bool) {
	var e1, e2 image.Point
	switch len(lm) {
	case 5:
		e1, e2 = mid(lm[0], lm[1]), mid(lm[2], lm[3])
	case 68:
		e1, e2 = mean(lm[36:42]), mean(lm[42:48])
	default:
		return image.Point{}, image.Point{}, false
	}
	if e1.X > e2.X {
		e1, e2 = e2, e1
	}
	return e1, e2, true
}

// NoseTip returns the nose landmark: the point under the nose for 5 points, the tip (30) for 68.
func NoseTip(lm []image.Point) (image.Point, bool) {
	switch len(lm) {
	case 5:
		return lm[4], true
	case 68:
		return lm[30], true
	}
	return image.Point{}, false
}

func mid(p, q image.Point) image.Point { return image.Pt((p.X+q.X)/2, (p.Y+q.Y)/2) }

func mean(ps []image.Point) image.Point {
	var x, y int
	for _, p := range ps {
		x += p.X
		y += p.Y
	}
	return image.Pt(x/len(ps), y/len(ps))
}
