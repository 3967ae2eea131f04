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
	return e.CaptureBestWith(ctx, frames, th, burst, BurstOptions{})
}

// Observer sees each analysed frame of a capture on the capturing goroutine, before the frame is
// closed: a: the faces found (Subject first), q: the quality gate's report on the subject (nil
// when the frame has no face, or when the caller did not run the gate, as during liveness). It
// must not keep f.Mat and should return quickly (the GUI preview encodes a few frames a second).
type Observer func(f Frame, a Analysis, q *quality.Report)

// BurstOptions tune CaptureBestWith; the zero value is CaptureBest.
type BurstOptions struct {
	// MinScore, when > 0, is the lowest quality score (quality.Report.Score) a frame that passes
	// the gate needs to count for the burst: the desk's thresholds.face_min_quality. The report
	// then carries a "quality_score" check with it, so the officer is told why frames are refused.
	MinScore float64
	// Observe, when set, sees every analysed frame (the window's live preview).
	Observe Observer
}

// QualityScoreCheck is the name of the check BurstOptions.MinScore adds to the gate's report.
const QualityScoreCheck = "quality_score"

// CaptureBestWith is CaptureBest with a minimum quality score and an observer.
func (e *Engine) CaptureBestWith(ctx context.Context, frames <-chan Frame, th quality.Thresholds, burst int, o BurstOptions) (Capture, error) {
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
		if err == nil && o.MinScore > 0 {
			r.Quality = withMinScore(r.Quality, o.MinScore)
		}
		if o.Observe != nil {
			var q *quality.Report
			if err == nil {
				q = &r.Quality
			}
			o.Observe(f, r.Analysis, q)
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

// withMinScore adds the quality_score check (the frame's score against the desk's minimum) to a
// report; a frame below it fails the gate.
func withMinScore(r quality.Report, min float64) quality.Report {
	c := quality.Check{Name: QualityScoreCheck, Value: r.Score, Min: &min, Unit: "score", Status: quality.Pass}
	if r.Score < min {
		c.Status, c.Reason = quality.Fail, "portrait quality below the desk's minimum: hold still, more light on the face"
		r.Pass = false
	}
	r.Checks = append(append([]quality.Check(nil), r.Checks...), c)
	return r
}
