// Package wire builds the desk window's face backend (biometric/face over gocv and go-face,
// biometric/facenet). It lives apart from desk/app so that desk/app's tests do not load the face
// models (hundreds of MB); main.go and the bridge pass these values in app.Options.
package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/liveness"
	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/face/portrait"
	"enrolldesk/biometric/face/quality"
	"enrolldesk/biometric/facenet"
	"enrolldesk/desk/app"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/settings"
	"enrolldesk/sync/record"

	"gocv.io/x/gocv"
)

// CameraFace is the app.FaceCapturer over biometric/face: the head-turn liveness challenge on
// the camera, then the best of a burst of frames through the ICAO quality gate, its descriptor
// compared 1:1 with the chip photo's (DG2, ICAO 9303 part 10) under the calibration of the
// selected face engine, and the ISO/IEC 19794-5 token portrait of the captured frame.
//
// Detection, landmarks, quality and liveness are the face pipeline's (go-face) whatever the
// engine. The engine (settings.Policy.FaceEngine) makes the 1:1 descriptors: with
// settings.FaceEngineFacenet the chip photo and the live face are both aligned from their
// landmarks and embedded by biometric/facenet's shipped model, and the decision uses that
// model's calibration; with settings.FaceEngineDlib both are dlib descriptors under dlib's. The
// descriptor of the live face returned in enroll.Face.Descriptor is the deciding engine's, named
// by enroll.Face.Engine and ModelSet (the engine's Name and its verified model set), so the
// operator check (desk/opcheck) compares it only with an officer profile of the same engine, and
// the de-duplication gallery searches it in that engine's space (DedupEngine for
// app.IndexDedup.FaceEngine).
type CameraFace struct {
	Models string      // model directory (NewEngine checks every file)
	Source face.Source // device index, /dev/videoN, a video file or an image folder
	Burst  int         // frames that must pass the gate; 0 means 3
	// Challenge is the liveness challenge; zero means liveness.Default().
	Challenge liveness.Challenge
	// Engine fixes the face engine (settings.FaceEngineFacenet or settings.FaceEngineDlib).
	// Empty: EngineSetting is asked at every capture, and without it the default policy
	// (settings.Defaults) applies.
	Engine string
	// EngineSetting returns the desk's current policy.face_engine (e.g. from settings.Store's
	// Load); read at every capture, so a registry settings change applies to the next one.
	EngineSetting func(ctx context.Context) (string, error)
	// Prompt, when set, is told which liveness step the capture now waits for: step i of steps
	// (the challenge's directions, as LivenessSteps names them) as soon as the steps before it
	// are done, and step = len(steps) when the photo burst starts. In the window it is
	// app.FacePrompter(desk.Events). It is called on the capturing goroutine and must not block.
	Prompt func(steps []string, step int)
	// Preview, when set, receives the live preview (app.FacePreview: a small JPEG, the face box,
	// the quality checks) at most app.MaxPreviewFPS a second during the liveness challenge and
	// the photo burst. In the window it is app.FacePreviewer(desk.Events); app.New sets it
	// (app.FaceTuner). Called on the capturing goroutine.
	Preview func(app.FacePreview)
	// MinQuality reads thresholds.face_min_quality (0..1) at every capture: a burst frame counts
	// only when its quality score reaches that share of the best score (see minScore). Nil or
	// 0: the ICAO gate alone. app.New sets it from the desk's settings (app.FaceTuner).
	MinQuality func(ctx context.Context) (float64, error)

	mu   sync.Mutex
	eng  *face.Engine
	cals match.Table
	net  *facenet.Engine

	keys engineKeys // DedupEngine's answers, without the pipeline (dedupengine.go)
}

// engine loads the face pipeline once (about 400 MB for the pool); a failure is retried next
// time.
func (c *CameraFace) engine() (*face.Engine, *match.Calibration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadPipeline(); err != nil {
		return nil, nil, err
	}
	cal, err := c.cals.Lookup(c.eng.Models().ID, c.eng.Name())
	if err != nil {
		return nil, nil, fmt.Errorf("face calibration: %w", err)
	}
	return c.eng, &cal, nil
}

// GalleryCalibration is the calibration of the descriptor Capture returns in
// enroll.Face.Descriptor: the selected face engine's (policy.face_engine, read now), what the
// operator check (desk/app's approval) and any other comparison of those descriptors must use.
// It has no context of its own (the approval's interface): reading the setting and loading the
// engine are bounded by galleryTimeout.
func (c *CameraFace) GalleryCalibration() (match.Calibration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), galleryTimeout)
	defer cancel()
	sel, err := c.selectEngine(ctx)
	if err != nil {
		return match.Calibration{}, err
	}
	return sel.cal, nil
}

// galleryTimeout bounds GalleryCalibration (loading the facenet model the first time is the
// slow part, a few seconds).
const galleryTimeout = time.Minute

func (c *CameraFace) loadPipeline() error {
	if c.eng != nil {
		return nil
	}
	table, err := match.Shipped()
	if err != nil {
		return fmt.Errorf("face calibration: %w", err)
	}
	eng, err := face.NewEngine(c.Models, face.Shipped)
	if err != nil {
		return fmt.Errorf("face engine: %w", err)
	}
	c.eng, c.cals = eng, table
	return nil
}

// selected is the face engine of the 1:1 decision for one capture: the pipeline, the facenet
// engine (nil for dlib) and the calibration the decision uses.
type selected struct {
	name string // settings.FaceEngine*
	// engine and modelSet name the descriptors' engine (its Name) and verified model set, as
	// enroll.Face.Engine and ModelSet carry them.
	engine, modelSet string
	eng              *face.Engine
	net              *facenet.Engine
	cal              match.Calibration
}

// FaceEngineSetting reads policy.face_engine from the desk's settings, for
// CameraFace.EngineSetting: after app.Open, `cam.EngineSetting =
// wire.FaceEngineSetting(settings.New(desk.DB, desk.Audit, nil))`.
func FaceEngineSetting(s *settings.Store) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		st, err := s.Load(ctx)
		if err != nil {
			return "", err
		}
		return st.Policy.FaceEngine, nil
	}
}

// engineName resolves the face-engine setting.
func (c *CameraFace) engineName(ctx context.Context) (string, error) {
	name := c.Engine
	if name == "" && c.EngineSetting != nil {
		v, err := c.EngineSetting(ctx)
		if err != nil {
			return "", fmt.Errorf("face engine setting: %w", err)
		}
		name = v
	}
	if name == "" {
		name = settings.Defaults().Policy.FaceEngine
	}
	if name != settings.FaceEngineFacenet && name != settings.FaceEngineDlib {
		return "", fmt.Errorf("face engine %q: unknown (want %q or %q)", name, settings.FaceEngineFacenet, settings.FaceEngineDlib)
	}
	return name, nil
}

// selectEngine loads what the selected engine needs and finds its calibration; an engine without
// a calibration for its exact model set is refused (match.ErrUncalibrated), never guessed.
func (c *CameraFace) selectEngine(ctx context.Context) (selected, error) {
	name, err := c.engineName(ctx)
	if err != nil {
		return selected{}, err
	}
	return c.selectNamed(name)
}

// selectNamed loads the named engine (settings.FaceEngine*) and finds its calibration.
func (c *CameraFace) selectNamed(name string) (selected, error) {
	var err error
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadPipeline(); err != nil {
		return selected{}, err
	}
	s := selected{name: name, eng: c.eng}
	id, en := c.eng.Models().ID, c.eng.Name()
	if name == settings.FaceEngineFacenet {
		if c.net == nil {
			net, err := facenet.NewEngine(c.Models, facenet.DefaultModel, facenet.DefaultOptions)
			if err != nil {
				return selected{}, fmt.Errorf("face engine: %w", err)
			}
			c.net = net
		}
		s.net = c.net
		id, en = c.net.ModelSetID(), c.net.Name()
	}
	s.engine, s.modelSet = en, id
	if s.cal, err = c.cals.Lookup(id, en); err != nil {
		return selected{}, fmt.Errorf("face calibration: %w", err)
	}
	return s, nil
}

// describeChip returns the chip photo's subject and its 1:1 descriptor under the selected engine.
func (s selected) describeChip(ctx context.Context, photo []byte) (face.Found, []float32, error) {
	m, err := face.DecodeImage(photo)
	if err != nil {
		return face.Found{}, nil, err
	}
	defer m.Close()
	a, err := s.eng.AnalyzePhoto(ctx, m)
	if err != nil {
		return face.Found{}, nil, err
	}
	f, ok := a.Subject()
	if !ok {
		return face.Found{}, nil, face.ErrNoFace
	}
	if s.net == nil {
		return f, f.Descriptor, nil
	}
	img, err := face.MatToImage(m, image.Rect(0, 0, m.Cols(), m.Rows()))
	if err != nil {
		return face.Found{}, nil, err
	}
	d, err := s.net.Embed(ctx, img, f.Face)
	if err != nil {
		return face.Found{}, nil, fmt.Errorf("%s: %w", s.net.Name(), err)
	}
	return f, d, nil
}

// describeLive returns the live face's 1:1 descriptor under the selected engine: region holds
// the pixels around the face in frame coordinates, subj the face found in the frame.
func (s selected) describeLive(ctx context.Context, region image.Image, subj face.Found) ([]float32, error) {
	if s.net == nil {
		return subj.Descriptor, nil
	}
	d, err := s.net.Embed(ctx, region, subj.Face)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.net.Name(), err)
	}
	return d, nil
}

// Close releases the engine.
func (c *CameraFace) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eng == nil {
		return nil
	}
	err := c.eng.Close()
	c.eng = nil
	return err
}

// Status implements app.FaceCapturer: the source must exist (a device node, a file or a folder).
func (c *CameraFace) Status(ctx context.Context) app.DeviceStatus {
	st := app.DeviceStatus{Kind: "camera", Name: c.Source.Name}
	path := c.Source.Name
	if c.Source.IsDevice() && !strings.HasPrefix(path, "/dev/") {
		path = "/dev/video" + path
	}
	switch _, err := os.Stat(path); {
	case c.Source.Name == "":
		st.State, st.Detail = app.DeviceMissing, "no camera configured"
	case err != nil:
		st.State, st.Detail = app.DeviceMissing, err.Error()
	default:
		st.State = app.DeviceReady
	}
	return st
}

func missing(err error) error {
	return &app.CodedError{Code: app.CodeDeviceMissing, Params: map[string]string{"device": "camera"}, Err: err}
}

// Capture implements app.FaceCapturer. With chipPhoto nil there is no reference: the live face
// is captured and described only (Score, Threshold and Decision stay empty) and Alternates holds
// it under the desk's other calibrated engines.
func (c *CameraFace) Capture(ctx context.Context, chipPhoto []byte) (enroll.Face, error) {
	if c.Source.Name == "" {
		return enroll.Face{}, missing(errors.New("no camera configured"))
	}
	sel, err := c.selectEngine(ctx)
	if err != nil {
		return enroll.Face{}, &app.CodedError{Code: app.CodeUnavailable, Err: err}
	}
	eng := sel.eng
	var ref []float32
	if chipPhoto != nil {
		if _, ref, err = sel.describeChip(ctx, chipPhoto); err != nil {
			return enroll.Face{}, fmt.Errorf("chip photo: %w", err)
		}
	}

	send, readMin := c.tuning()
	th := quality.Default()
	opts := face.BurstOptions{}
	if readMin != nil {
		q, err := readMin(ctx)
		if err != nil {
			return enroll.Face{}, fmt.Errorf("face_min_quality setting: %w", err)
		}
		opts.MinScore = minScore(q, th)
	}
	rate := &app.PreviewRate{}
	pv := func(phase string) face.Observer {
		if send == nil {
			return nil
		}
		p := &previewer{send: send, phase: phase, th: th, rate: rate, now: time.Now}
		return p.observe
	}

	// Liveness first, on its own stream: a file source is then replayed from its start for
	// the capture, a device simply goes on.
	ch := c.challenge()
	names := stepNames(ch)
	alive, err := c.liveness(ctx, eng, ch, names, pv(app.PreviewLiveness))
	if err != nil {
		return enroll.Face{}, err
	}
	c.prompt(names, len(names))
	opts.Observe = pv(app.PreviewCapture)

	burst := c.Burst
	if burst <= 0 {
		burst = 3
	}
	camCtx, stop := context.WithCancel(ctx)
	defer stop()
	cam := face.NewCamera(c.Source)
	capt, err := eng.CaptureBestWith(ctx, cam.Stream(camCtx), th, burst, opts)
	if err != nil {
		var nc face.ErrNoCapture
		switch {
		case errors.As(err, &nc) && cam.Err() != nil && ctx.Err() == nil:
			return enroll.Face{}, missing(fmt.Errorf("camera %s: %w", c.Source.Name, cam.Err()))
		case errors.As(err, &nc) && ctx.Err() == nil:
			// The stream ended before a frame passed the ICAO quality gate (ISO/IEC 19794-5
			// §7.2-7.4 via biometric/face/quality): the citizen must sit closer, look straight.
			return enroll.Face{}, &app.CodedError{Code: app.CodeFaceQuality, Err: fmt.Errorf("capture face: %w", err)}
		}
		return enroll.Face{}, fmt.Errorf("capture face: %w", err)
	}
	stop()
	live, err := sel.describeLive(ctx, capt.Region, capt.Subject)
	if err != nil {
		return enroll.Face{}, fmt.Errorf("live face: %w", err)
	}
	tok, err := portrait.Make(capt.Region, capt.Subject.Face, portrait.MinWidth, portrait.MaxBytes)
	if err != nil {
		return enroll.Face{}, fmt.Errorf("token portrait: %w", err)
	}
	f := enroll.Face{Liveness: record.Fail, Portrait: tok.JPEG, Descriptor: live, Engine: sel.engine, ModelSet: sel.modelSet}
	if alive.Live {
		f.Liveness = record.Pass
	}
	if chipPhoto == nil {
		// No reference (an officer's own enrollment): nothing to decide, and the face is kept
		// under every calibrated engine so the operator check survives a policy.face_engine change.
		if f.Alternates, err = c.alternates(ctx, sel, capt.Region, capt.Subject); err != nil {
			return enroll.Face{}, err
		}
		return f, nil
	}
	dist, err := embedding.Distance(ref, live)
	if err != nil {
		return enroll.Face{}, fmt.Errorf("compare with the chip photo: %w", err)
	}
	d := sel.cal.Decide(dist)
	f.Score, f.Threshold, f.Decision = dist, d.MatchThreshold, outcome(d.Outcome)
	return f, nil
}

// shippedEngines are the face engines a desk may select (settings.Policy.FaceEngine).
var shippedEngines = []string{settings.FaceEngineFacenet, settings.FaceEngineDlib}

// alternates describes the captured face under every shipped engine other than sel that has a
// calibration for its installed model set (an uncalibrated one could never be compared, see
// selectEngine); an engine that fails to load is an error, as it would be once selected.
func (c *CameraFace) alternates(ctx context.Context, sel selected, region image.Image, subj face.Found) ([]enroll.Descriptor, error) {
	var out []enroll.Descriptor
	for _, name := range shippedEngines {
		if name == sel.name {
			continue
		}
		other, err := c.selectNamed(name)
		if errors.Is(err, match.ErrUncalibrated) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("face engine %s: %w", name, err)
		}
		d, err := other.describeLive(ctx, region, subj)
		if err != nil {
			return nil, fmt.Errorf("live face under %s: %w", name, err)
		}
		out = append(out, enroll.Descriptor{Engine: other.engine, ModelSet: other.modelSet, Descriptor: d})
	}
	return out, nil
}

// challenge is the liveness challenge Capture runs.
func (c *CameraFace) challenge() liveness.Challenge {
	if c.Challenge.Steps == nil {
		return liveness.Default()
	}
	return c.Challenge
}

// LivenessSteps implements app.LivenessTeller: the directions of the challenge Capture runs, so
// the window's first prompt names the same steps as Prompt's.
func (c *CameraFace) LivenessSteps() []string { return stepNames(c.challenge()) }

func stepNames(ch liveness.Challenge) []string {
	out := make([]string, len(ch.Steps))
	for i, d := range ch.Steps {
		out[i] = string(d)
	}
	return out
}

func (c *CameraFace) prompt(steps []string, step int) {
	if c.Prompt != nil {
		c.Prompt(steps, step)
	}
}

func (c *CameraFace) liveness(ctx context.Context, eng *face.Engine, ch liveness.Challenge, names []string, observe face.Observer) (liveness.Result, error) {
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	cam := face.NewCamera(c.Source)
	r, err := eng.CheckLivenessObserving(lctx, cam.Stream(lctx), ch, func(step int) { c.prompt(names, step) }, observe)
	if err != nil {
		if cam.Err() != nil && ctx.Err() == nil {
			return r, missing(fmt.Errorf("camera %s: %w", c.Source.Name, cam.Err()))
		}
		return r, fmt.Errorf("liveness: %w", err)
	}
	return r, nil
}

// checkLiveness runs the challenge on eng, telling awaiting which step it waits for.
func checkLiveness(ctx context.Context, eng *face.Engine, frames <-chan face.Frame, ch liveness.Challenge, awaiting func(step int)) (liveness.Result, error) {
	return eng.CheckLivenessPrompting(ctx, frames, ch, awaiting)
}

// outcome maps the calibrated decision onto the enrollment's words.
func outcome(o match.Outcome) string {
	switch o {
	case match.Match:
		return enroll.Match
	case match.Review:
		return enroll.Review
	default:
		return enroll.NoMatch
	}
}

// ClipFrame is one pose of the simulated camera: a real photo held for Frames frames.
type ClipFrame struct {
	Photo  string
	Frames int
}

// WriteClip builds the simulated camera for tests and the demo: each photo is composed at desk
// scale (a 250 px face in a 1280×720 frame) and held for its frames, written as an MJPEG AVI at
// fps. A sequence of real photos of one person looking straight, to one side and to the other
// passes the head-turn challenge for real; one still photo does not.
func (c *CameraFace) WriteClip(ctx context.Context, path string, seq []ClipFrame, fps float64) error {
	return c.writeClip(ctx, path, nil, seq, fps)
}

// writeClip writes lead (frames it takes ownership of and closes) followed by seq's composed
// photos.
func (c *CameraFace) writeClip(ctx context.Context, path string, frames []gocv.Mat, seq []ClipFrame, fps float64) error {
	defer func() {
		for _, f := range frames {
			f.Close()
		}
	}()
	eng, _, err := c.engine()
	if err != nil {
		return err
	}
	for _, s := range seq {
		src := gocv.IMRead(s.Photo, gocv.IMReadColor)
		if src.Empty() {
			return fmt.Errorf("simulated camera: read %s", s.Photo)
		}
		f, err := eng.ComposeFrame(ctx, src, 250, 640, 330)
		src.Close()
		if err != nil {
			return fmt.Errorf("simulated camera: %s: %w", s.Photo, err)
		}
		for i := 0; i < s.Frames; i++ {
			frames = append(frames, f.Clone())
		}
		f.Close()
	}
	return face.WriteClip(path, frames, fps)
}

// ParseClip reads a simulated camera's script, "photo:frames,photo:frames,..." (a photo without
// ":frames" is held for one frame), for the bridge's and the demo's -camera-clip flag.
func ParseClip(s string) ([]ClipFrame, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("camera clip: empty")
	}
	var out []ClipFrame
	for _, part := range strings.Split(s, ",") {
		photo, n := strings.TrimSpace(part), 1
		if i := strings.LastIndexByte(photo, ':'); i >= 0 {
			v, err := strconv.Atoi(photo[i+1:])
			if err != nil || v < 1 || v > 250 {
				return nil, fmt.Errorf("camera clip: %q: frames must be 1..250", part)
			}
			photo, n = photo[:i], v
		}
		if photo == "" {
			return nil, fmt.Errorf("camera clip: %q: no photo", part)
		}
		out = append(out, ClipFrame{Photo: photo, Frames: n})
	}
	return out, nil
}

// Snapshot implements app.EvidenceCamera: one still photo (JPEG) from the desk camera, the first
// frame its source gives (the simulated clip's first frame in tests), for the evidence photo of a
// declared finger exception. Bounded by ctx; without a camera it answers device_missing.
func (c *CameraFace) Snapshot(ctx context.Context) ([]byte, error) {
	if c.Source.Name == "" {
		return nil, missing(errors.New("evidence photo: no camera configured"))
	}
	sctx, cancel := context.WithCancel(ctx)
	cam := face.NewCamera(c.Source)
	frames := cam.Stream(sctx)
	defer func() {
		cancel()
		for f := range frames {
			f.Close()
		}
	}()
	select {
	case f, ok := <-frames:
		if ok {
			buf, err := gocv.IMEncode(gocv.JPEGFileExt, f.Mat)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("evidence photo: encode: %w", err)
			}
			b := bytes.Clone(buf.GetBytes())
			buf.Close()
			return b, nil
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("evidence photo: %w", ctx.Err())
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evidence photo: %w", err)
	}
	if err := cam.Err(); err != nil {
		return nil, missing(fmt.Errorf("evidence photo: camera %s: %w", c.Source.Name, err))
	}
	return nil, missing(errors.New("evidence photo: the camera gave no frame"))
}
