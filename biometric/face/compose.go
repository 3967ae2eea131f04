package face

import (
	"context"
	"fmt"
	"image"
	"path/filepath"

	"gocv.io/x/gocv"
)

// ComposeFrame builds a 1280×720 camera-like frame from a real photo: the photo is scaled so
// that its subject's face box is faceWidth pixels wide and pasted with the face's centre at
// (cx, cy) on a plain wall. Used for the simulated camera (demo clips, tests, benchmarks). The
// caller closes the Mat.
func (e *Engine) ComposeFrame(ctx context.Context, photo gocv.Mat, faceWidth, cx, cy int) (gocv.Mat, error) {
	a, err := e.AnalyzePhoto(ctx, photo)
	if err != nil {
		return gocv.NewMat(), err
	}
	subj, ok := a.Subject()
	if !ok {
		return gocv.NewMat(), fmt.Errorf("compose frame: %w", ErrNoFace)
	}
	s := float64(faceWidth) / float64(subj.Rect.Dx())
	scaled := gocv.NewMat()
	defer scaled.Close()
	gocv.Resize(photo, &scaled, image.Pt(0, 0), s, s, gocv.InterpolationArea)
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(150, 160, 170, 0), 720, 1280, gocv.MatTypeCV8UC3)
	fx := int(float64(subj.Rect.Min.X+subj.Rect.Max.X) / 2 * s)
	fy := int(float64(subj.Rect.Min.Y+subj.Rect.Max.Y) / 2 * s)
	dst := image.Rect(cx-fx, cy-fy, cx-fx+scaled.Cols(), cy-fy+scaled.Rows()).Intersect(image.Rect(0, 0, 1280, 720))
	if dst.Empty() {
		frame.Close()
		return gocv.NewMat(), fmt.Errorf("compose frame: face centre (%d,%d) puts the photo outside the frame", cx, cy)
	}
	from := scaled.Region(dst.Sub(image.Pt(cx-fx, cy-fy)))
	defer from.Close()
	to := frame.Region(dst)
	defer to.Close()
	from.CopyTo(&to)
	return frame, nil
}

// WriteClip writes frames as an MJPEG AVI (OpenCV's built-in writer, no codec packages needed).
func WriteClip(path string, frames []gocv.Mat, fps float64) error {
	if len(frames) == 0 {
		return fmt.Errorf("write clip %s: no frames", path)
	}
	vw, err := gocv.VideoWriterFile(path, "MJPG", fps, frames[0].Cols(), frames[0].Rows(), true)
	if err != nil {
		return fmt.Errorf("write clip %s: %w", path, err)
	}
	for _, f := range frames {
		if err := vw.Write(f); err != nil {
			vw.Close()
			return fmt.Errorf("write clip %s: %w", path, err)
		}
	}
	return vw.Close()
}

// HeadTurnShot is one still of a head-turn clip and how many frames it is held.
type HeadTurnShot struct {
	Photo  string // relative to the testdata folder (../shared/testdata)
	Frames int
}

// HeadTurnClip is a real person whose head pose really changes as the liveness challenge asks:
// LFW photos of Hans Blix looking straight (0003), turned to his left (0004, 0005) and to his
// right (0001), at 10 fps. The demo's simulated camera and the liveness tests use it.
var HeadTurnClip = []HeadTurnShot{
	{"faces/lfw/Hans_Blix/Hans_Blix_0003.jpg", 4}, {"faces/lfw/Hans_Blix/Hans_Blix_0004.jpg", 3},
	{"faces/lfw/Hans_Blix/Hans_Blix_0005.jpg", 2}, {"faces/lfw/Hans_Blix/Hans_Blix_0003.jpg", 2},
	{"faces/lfw/Hans_Blix/Hans_Blix_0001.jpg", 4}, {"faces/lfw/Hans_Blix/Hans_Blix_0003.jpg", 2},
}

// WriteHeadTurnClip renders HeadTurnClip from testdata into an AVI at path (10 fps, 1280×720,
// faces 250 px wide).
func (e *Engine) WriteHeadTurnClip(ctx context.Context, testdata, path string) error {
	var frames []gocv.Mat
	defer func() {
		for _, f := range frames {
			f.Close()
		}
	}()
	for _, s := range HeadTurnClip {
		src := gocv.IMRead(filepath.Join(testdata, s.Photo), gocv.IMReadColor)
		if src.Empty() {
			return fmt.Errorf("head-turn clip: cannot read %s", filepath.Join(testdata, s.Photo))
		}
		f, err := e.ComposeFrame(ctx, src, 250, 640, 330)
		src.Close()
		if err != nil {
			return fmt.Errorf("head-turn clip: %s: %w", s.Photo, err)
		}
		for i := 0; i < s.Frames; i++ {
			frames = append(frames, f.Clone())
		}
		f.Close()
	}
	return WriteClip(path, frames, 10)
}
