package face

import (
	"context"
	"errors"
	"image"

	"enrolldesk/biometric/face/quality"
)

// Capture is the best frame of a burst that passed the quality gate.
type Capture struct {
	Result FrameResult
	// Subject is the chosen face with its descriptor, in frame coordinates.
	Subject Found
	// Region holds the pixels around the face (1.5 face widths each side, clipped to the frame),
	// in frame coordinates: enough for the token portrait and the record.
	Region *image.RGBA
	Seq    uint64
}

// ErrNoCapture means the stream ended before any frame passed the quality gate; Last holds the
// last frame's report so the officer can be told why.
type ErrNoCapture struct{ Last quality.Report }

func (e ErrNoCapture) Error() string {
	for _, c := range e.Last.Failed() {
		return "no frame passed the quality gate: " + c.Reason
	}
	return "no frame passed the quality gate: no face seen"
}

// CaptureBest reads frames until burst frames have passed the quality gate and returns the best
// of them (highest quality score), or ErrNoCapture when the stream ends first. Frames are
// closed as they are consumed; frames still queued are left to the camera's owner, who cancels
// the camera's context when done.
func (e *Engine) CaptureBest(ctx context.Context, frames <-chan Frame, th quality.Thresholds, burst int) (Capture, error) {
	if burst < 1 {
		burst = 1
	}
	var best *Capture
	var last quality.Report
	passed := 0
	for passed < burst {
		var f Frame
		var ok bool
		select {
		case f, ok = <-frames:
		case <-ctx.Done():
			return Capture{}, ctx.Err()
		}
		if !ok {
			break
		}
		r, err := e.ProcessFrame(ctx, f.Mat, th)
		if err != nil && !errors.Is(err, ErrNoFace) {
			f.Close()
			return Capture{}, err
		}
		last = r.Quality
		if err == nil && r.Quality.Pass {
			passed++
			if best == nil || r.Quality.Score > best.Result.Quality.Score {
				s, _ := r.Subject()
				c := Capture{Result: r, Subject: s, Seq: f.Seq}
				if c.Region, err = region(f, s); err != nil {
					f.Close()
					return Capture{}, err
				}
				best = &c
			}
		}
		f.Close()
	}
	if best == nil {
		return Capture{}, ErrNoCapture{Last: last}
	}
	return *best, nil
}

func region(f Frame, s Found) (*image.RGBA, error) {
	m := s.Rect.Dx() * 3 / 2
	r := image.Rect(s.Rect.Min.X-m, s.Rect.Min.Y-m, s.Rect.Max.X+m, s.Rect.Max.Y+m).Intersect(image.Rect(0, 0, f.Mat.Cols(), f.Mat.Rows()))
	img, err := MatToImage(f.Mat, r)
	if err != nil {
		return nil, err
	}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		return nil, errors.New("capture: unexpected image type")
	}
	rgba.Rect = r
	return rgba, nil
}
