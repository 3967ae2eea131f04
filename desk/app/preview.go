package app

import (
	"context"
	"fmt"
	"sync"

	"enrolldesk/desk/settings"
)

// The face step's live preview: while the camera captures (the liveness challenge, then the
// photo burst), the capturer emits EventFacePreview a few times a second with a small JPEG of
// the frame, the face box the detector found and every quality check of the ICAO gate
// (biometric/face/quality: one face, inter-eye distance, pose, centring, margins, sharpness,
// exposure, contrast, uniformity, eyes open) with its measured value, bounds and verdict. The
// preview goes only to the window through the Events hub (Wails' runtime, or the bridge's
// loopback event stream); it is never stored or logged.

// Preview phases (FacePreview.Phase).
const (
	PreviewLiveness = "liveness" // the citizen follows the head-turn challenge
	PreviewCapture  = "capture"  // the photo burst through the quality gate
)

// MaxPreviewFPS bounds the preview rate, MaxPreviewWidth the preview's width in pixels: enough
// to place the face in the frame, small enough for an event (≈ 15 KB a frame).
const (
	MaxPreviewFPS   = 8
	MaxPreviewWidth = 320
)

// FacePreview is the EventFacePreview payload.
type FacePreview struct {
	Phase string `json:"phase"`
	Seq   uint64 `json:"seq"` // the camera frame's sequence number
	// Image is the downscaled frame, a data:image/jpeg;base64 URL; Width × Height its size.
	Image  string `json:"image"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	// Box is the subject's face box in preview coordinates; nil when no face was found.
	Box *PreviewBox `json:"box,omitempty"`
	// Faces counts the faces found in the frame.
	Faces int `json:"faces"`
	// Checks are the quality gate's checks on the subject (empty without a face); Pass is the
	// gate's verdict on this frame.
	Checks []PreviewCheck `json:"checks"`
	Pass   bool           `json:"pass"`
}

// PreviewBox is a rectangle in preview pixels.
type PreviewBox struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// PreviewCheck is one quality check as the window shows it: the window translates Name
// (face.check.<name> in frontend/src/i18n.ts).
type PreviewCheck struct {
	Name   string   `json:"name"`
	Value  float64  `json:"value"`
	Min    *float64 `json:"min,omitempty"`
	Max    *float64 `json:"max,omitempty"`
	Unit   string   `json:"unit"`
	Status string   `json:"status"` // pass, fail, not_measured
}

// FacePreviewer returns the sink a FaceCapturer sends its previews to: it emits EventFacePreview
// on the hub.
func FacePreviewer(h *Hub) func(FacePreview) {
	return func(p FacePreview) { h.Emit(EventFacePreview, p) }
}

// FaceTuner is the optional side of a FaceCapturer that takes the window's preview sink and the
// desk's face thresholds. New hands them over, so every build that opens the desk (the window,
// the bridge) gets the preview and the settings without wiring of its own.
type FaceTuner interface {
	// SetPreview sets where previews go (nil: none).
	SetPreview(func(FacePreview))
	// SetMinQuality sets how the capturer reads thresholds.face_min_quality (0..1) at each
	// capture.
	SetMinQuality(func(ctx context.Context) (float64, error))
}

// tuneFace hands the preview sink and the face threshold to a capturer that takes them.
func tuneFace(f FaceCapturer, hub *Hub, minQuality func(ctx context.Context) (float64, error)) {
	t, ok := f.(FaceTuner)
	if !ok {
		return
	}
	t.SetPreview(FacePreviewer(hub))
	if minQuality != nil {
		t.SetMinQuality(minQuality)
	}
}

// PreviewRate admits at most MaxFPS previews a second (a capture's frames arrive faster than
// the window needs them). The zero value admits MaxPreviewFPS; it is safe for concurrent use.
type PreviewRate struct {
	MaxFPS float64
	mu     sync.Mutex
	last   int64 // unix nanoseconds of the last admitted preview
}

// Admit reports whether a preview may be sent at now (unix nanoseconds), and if so records it.
func (r *PreviewRate) Admit(now int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.due(now) {
		return false
	}
	r.last = now
	return true
}

// Due reports whether a preview would be admitted at now, without recording it: a sender checks
// it before the costly encoding and calls Admit when the preview is ready, so the gap the window
// sees is measured between sends, whatever each encoding took.
func (r *PreviewRate) Due(now int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.due(now)
}

func (r *PreviewRate) due(now int64) bool {
	fps := r.MaxFPS
	if fps <= 0 {
		fps = MaxPreviewFPS
	}
	return r.last == 0 || now-r.last >= int64(1e9/fps)
}

// faceMinQuality reads thresholds.face_min_quality from the desk's settings (desk/settings, the
// store desk operations use); a build without them applies the default.
func faceMinQuality(o *Ops) func(ctx context.Context) (float64, error) {
	return func(ctx context.Context) (float64, error) {
		if o == nil || o.svc == nil {
			return settings.Defaults().Thresholds.FaceMinQuality, nil
		}
		st, err := o.svc.Settings.Load(ctx)
		if err != nil {
			return 0, fmt.Errorf("desk settings: %w", err)
		}
		return st.Thresholds.FaceMinQuality, nil
	}
}
