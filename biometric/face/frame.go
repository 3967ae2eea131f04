package face

import (
	"context"
	"errors"
	"fmt"
	"image"

	"gocv.io/x/gocv"

	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/quality"
)

// FrameResult is one camera frame through the pipeline: faces, the subject's descriptor and the
// quality gate's report.
type FrameResult struct {
	Analysis
	Quality quality.Report
}

// Subject returns the chosen face.
func (r FrameResult) Subject() (Found, bool) { return r.Analysis.Subject() }

// ProcessFrame runs detection (on the downscaled frame), landmarks, the descriptor and the
// quality gate on one BGR frame. A frame without a face returns ErrNoFace with an empty result.
func (e *Engine) ProcessFrame(ctx context.Context, frame gocv.Mat, th quality.Thresholds) (FrameResult, error) {
	a, err := e.AnalyzeFrame(ctx, frame)
	if err != nil {
		return FrameResult{}, err
	}
	res := FrameResult{Analysis: a}
	subj, ok := a.Subject()
	if !ok {
		return res, ErrNoFace
	}
	q, err := assessFrame(frame, subj, a.Faces[1:], th)
	if err != nil {
		return res, err
	}
	res.Quality = q
	return res, nil
}

// assessFrame converts only the face's region of the frame (not the whole frame) and runs the
// gate with the frame's geometry.
func assessFrame(frame gocv.Mat, subj Found, others []Found, th quality.Thresholds) (quality.Report, error) {
	full := image.Rect(0, 0, frame.Cols(), frame.Rows())
	r := subj.Rect
	region := r.Intersect(full)
	if region.Empty() {
		return quality.Report{}, errors.New("quality: face box outside the frame")
	}
	img, err := MatToImage(frame, region)
	if err != nil {
		return quality.Report{}, fmt.Errorf("quality: %w", err)
	}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		return quality.Report{}, fmt.Errorf("quality: unexpected image type %T", img)
	}
	rgba.Rect = region // same pixels, frame coordinates
	in := quality.Input{Image: rgba, Frame: full, Subject: subj.Face}
	for _, o := range others {
		in.Others = append(in.Others, o.Face)
	}
	return quality.Assess(in, th), nil
}

// AssessPhoto runs the quality gate on a whole still image (e.g. the chip photo or a saved
// capture).
func AssessPhoto(img gocv.Mat, subj embedding.Face, others []embedding.Face, th quality.Thresholds) (quality.Report, error) {
	var os []Found
	for _, o := range others {
		os = append(os, Found{Face: o})
	}
	return assessFrame(img, Found{Face: subj}, os, th)
}
