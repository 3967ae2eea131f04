package wire

import (
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"time"

	"gocv.io/x/gocv"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/quality"
	"enrolldesk/desk/app"
)

// previewer turns the frames a capture analyses into the window's live preview
// (app.EventFacePreview): at most app.MaxPreviewFPS a second, each frame downscaled to
// app.MaxPreviewWidth and JPEG-encoded in memory, with the subject's face box scaled to the
// preview and the quality gate's checks. Frames it does not admit cost one clock read. Nothing
// of a frame is written anywhere but to send.
type previewer struct {
	send  func(app.FacePreview)
	phase string
	th    quality.Thresholds
	rate  *app.PreviewRate
	now   func() time.Time
}

// observe is a face.Observer: q is the gate's report when the capture ran it (the photo burst);
// during liveness (q nil) the gate runs here, on admitted frames only.
func (p *previewer) observe(f face.Frame, a face.Analysis, q *quality.Report) {
	if p.send == nil || !p.rate.Due(p.now().UnixNano()) {
		return
	}
	pv, err := p.frame(f, a, q)
	if err != nil {
		// A preview is a convenience: the capture goes on without it.
		return
	}
	if p.rate.Admit(p.now().UnixNano()) {
		p.send(pv)
	}
}

// frame builds one preview.
func (p *previewer) frame(f face.Frame, a face.Analysis, q *quality.Report) (app.FacePreview, error) {
	cols, rows := f.Mat.Cols(), f.Mat.Rows()
	if cols <= 0 || rows <= 0 {
		return app.FacePreview{}, fmt.Errorf("preview: empty frame")
	}
	w := min(app.MaxPreviewWidth, cols)
	h := max(1, rows*w/cols)
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(f.Mat, &small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, small, []int{gocv.IMWriteJpegQuality, 75})
	if err != nil {
		return app.FacePreview{}, fmt.Errorf("preview: encode: %w", err)
	}
	defer buf.Close()
	pv := app.FacePreview{Phase: p.phase, Seq: f.Seq, Width: w, Height: h, Faces: len(a.Faces), Checks: []app.PreviewCheck{},
		Image: "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.GetBytes())}
	subj, ok := a.Subject()
	if !ok {
		return pv, nil
	}
	s := float64(w) / float64(cols)
	r := subj.Rect
	pv.Box = &app.PreviewBox{X: int(float64(r.Min.X) * s), Y: int(float64(r.Min.Y) * s), W: int(float64(r.Dx()) * s), H: int(float64(r.Dy()) * s)}
	if q == nil {
		rep, err := assess(f.Mat, subj, a.Faces[1:], p.th)
		if err != nil {
			return pv, nil // the box without the checks
		}
		q = &rep
	}
	pv.Pass = q.Pass
	for _, c := range q.Checks {
		pv.Checks = append(pv.Checks, app.PreviewCheck{Name: c.Name, Value: c.Value, Min: c.Min, Max: c.Max, Unit: c.Unit, Status: string(c.Status)})
	}
	return pv, nil
}

// assess runs the quality gate on the subject of a whole frame.
func assess(frame gocv.Mat, subj face.Found, others []face.Found, th quality.Thresholds) (quality.Report, error) {
	o := make([]embedding.Face, 0, len(others))
	for _, f := range others {
		o = append(o, f.Face)
	}
	return face.AssessPhoto(frame, subj.Face, o, th)
}

// SetPreview implements app.FaceTuner.
func (c *CameraFace) SetPreview(send func(app.FacePreview)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Preview = send
}

// SetMinQuality implements app.FaceTuner.
func (c *CameraFace) SetMinQuality(read func(ctx context.Context) (float64, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.MinQuality = read
}

// tuning returns the preview sink and the face_min_quality reader under the lock.
func (c *CameraFace) tuning() (func(app.FacePreview), func(ctx context.Context) (float64, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Preview, c.MinQuality
}

// minScore turns thresholds.face_min_quality (0..1) into the lowest quality.Report.Score a burst
// frame needs. quality.Assess scores a frame min(sharpness, 4 × MinSharpness) · cos(yaw) · cos(roll),
// so its maximum is 4 × MinSharpness: 0.5 asks for a frontal face at least twice as sharp as the
// gate's minimum, 0 adds nothing to the gate, 1 for the sharpest frontal face.
func minScore(q float64, th quality.Thresholds) float64 {
	return q * 4 * th.MinSharpness
}

// SetCameraSource implements app.CameraSourceSetter: the camera a supervisor chose, by index,
// device path, video file or image folder, with the resolution to ask a device for (0: the
// driver's). Files and folders play at a camera's pace, 10 frames a second. Call it before the
// first capture (app.New does): captures read Source without the lock.
func (c *CameraFace) SetCameraSource(name string, width, height int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	src := face.Source{Name: name, Width: width, Height: height, Live: c.Source.Live}
	if !src.IsDevice() {
		src.FPS = 10
	}
	c.Source = src
}
