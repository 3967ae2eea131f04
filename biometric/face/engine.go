package face

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"runtime"
	"sort"
	"sync"

	goface "github.com/Kagami/go-face"
	"gocv.io/x/gocv"

	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/modelset"
)

// Options tunes an Engine. Zero values pick the defaults.
type Options struct {
	// Recognizers is the pool size: one go-face Recognizer per core (each loads the models
	// once, ~200 MB with the 68-point predictor). Default runtime.NumCPU().
	Recognizers int
	// Mirror also describes the horizontally mirrored face and averages the two descriptors:
	// twice the descriptor time, fewer false non-matches. Part of the engine name, so
	// calibrations with and without it are kept apart.
	Mirror bool
	// Normalize scales every descriptor to unit length (distance then depends only on the
	// angle): on faces/lfw it lowers FNMR at FMR 0.1 % from 6.3 % to 4.6 % at no cost. Part of
	// the engine name.
	Normalize bool
	// FrameHeight is the height frames are downscaled to for detection (default 320: a face of
	// ~250 px in a 720-line frame becomes ~110 px, above HOG's ~80 px; a frame where nothing is
	// found there is tried at full size).
	FrameHeight int
}

// Engine detects faces and computes dlib descriptors with a pool of go-face Recognizers. It is
// safe for concurrent use; Close it on shutdown.
type Engine struct {
	opts   Options
	models modelset.Verified
	pool   chan *goface.Recognizer
	all    []*goface.Recognizer

	closeOnce sync.Once
	closed    chan struct{}
	inflight  sync.WaitGroup
}

// ErrClosed is returned by an Engine used after Close.
var ErrClosed = errors.New("face engine closed")

// ErrNoFace means no face was found where one was needed.
var ErrNoFace = errors.New("no face found")

// NewEngine verifies the model directory against the known model sets (a missing or wrong file
// is refused with a message naming it, wrapping modelset.ErrModels) and loads the Recognizers.
func NewEngine(modelDir string, opts Options) (*Engine, error) {
	v, err := modelset.Verify(modelDir)
	if err != nil {
		return nil, fmt.Errorf("face capture unavailable: %w", err)
	}
	if opts.Recognizers <= 0 {
		opts.Recognizers = runtime.NumCPU()
	}
	if opts.FrameHeight <= 0 {
		opts.FrameHeight = 320
	}
	e := &Engine{opts: opts, models: v, pool: make(chan *goface.Recognizer, opts.Recognizers), closed: make(chan struct{})}
	for i := 0; i < opts.Recognizers; i++ {
		r, err := goface.NewRecognizer(modelDir)
		if err != nil {
			for _, r := range e.all {
				r.Close()
			}
			return nil, fmt.Errorf("load face models from %s: %w", modelDir, err)
		}
		e.all = append(e.all, r)
		e.pool <- r
	}
	return e, nil
}

// Models returns the verified model set (its ID keys the calibrations).
func (e *Engine) Models() modelset.Verified { return e.models }

// Landmarks is the number of points the loaded shape predictor gives (5 or 68).
func (e *Engine) Landmarks() int { return e.models.Landmarks }

// Name identifies the descriptor pipeline for calibrations and galleries (embedding.Embedder).
func (e *Engine) Name() string { return EngineName(e.opts) }

// EngineName is the Name of an Engine built with opts, known without loading the models: the
// de-duplication gallery and the calibration table are keyed by it before any capture.
func EngineName(opts Options) string {
	n := "dlib-resnet-v1"
	if opts.Mirror {
		n += "+mirror"
	}
	if opts.Normalize {
		n += "+l2"
	}
	return n
}

// Dim is the descriptor length (embedding.Embedder).
func (e *Engine) Dim() int { return 128 }

// Close frees every Recognizer's C memory after in-flight calls finish. It is idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		close(e.closed)
		e.inflight.Wait()
		for _, r := range e.all {
			r.Close()
		}
	})
	return nil
}

func (e *Engine) acquire(ctx context.Context) (*goface.Recognizer, error) {
	select {
	case <-e.closed:
		return nil, ErrClosed
	default:
	}
	e.inflight.Add(1)
	select {
	case r := <-e.pool:
		return r, nil
	case <-ctx.Done():
		e.inflight.Done()
		return nil, ctx.Err()
	case <-e.closed:
		e.inflight.Done()
		return nil, ErrClosed
	}
}

func (e *Engine) release(r *goface.Recognizer) {
	e.pool <- r
	e.inflight.Done()
}

// recognize runs go-face on a BGR Mat (re-encoded as colour JPEG, the only input go-face reads)
// with HOG detection, or with dlib's CNN (MMOD) detector when cnn is set.
func (e *Engine) recognize(ctx context.Context, bgr gocv.Mat, cnn ...bool) ([]goface.Face, error) {
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, bgr, []int{gocv.IMWriteJpegQuality, 95})
	if err != nil {
		return nil, fmt.Errorf("encode JPEG for go-face: %w", err)
	}
	defer buf.Close()
	r, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.release(r)
	var faces []goface.Face
	if len(cnn) > 0 && cnn[0] {
		faces, err = r.RecognizeCNN(buf.GetBytes())
	} else {
		faces, err = r.Recognize(buf.GetBytes())
	}
	if err != nil {
		return nil, fmt.Errorf("go-face: %w", err)
	}
	return faces, nil
}

// Found is one face found in an image, in the coordinates of the image given to Analyze.
type Found struct {
	embedding.Face
	Descriptor []float32
}

// Analysis is the result of Analyze.
type Analysis struct {
	// Faces are all faces found, largest first. Faces[0] is the subject.
	Faces []Found
	// Size is the analysed image's size.
	Size image.Point
	// Scale is the factor the image was resized by for detection.
	Scale float64
}

// Subject returns the largest face, or false when there is none.
func (a Analysis) Subject() (Found, bool) {
	if len(a.Faces) == 0 {
		return Found{}, false
	}
	return a.Faces[0], true
}

// AnalyzeFrame finds the faces of a camera frame (BGR): detection, landmarks and descriptors on a
// copy downscaled to Options.FrameHeight; if nothing is found there and the frame is larger, at
// full size (a small face far from the camera).
func (e *Engine) AnalyzeFrame(ctx context.Context, frame gocv.Mat) (Analysis, error) {
	s := math.Min(1, float64(e.opts.FrameHeight)/float64(frame.Rows()))
	scales := []float64{s}
	if s < 1 {
		scales = append(scales, 1)
	}
	return e.analyze(ctx, frame, scales, byArea, false)
}

// AnalyzePhoto finds the faces of a still photo (chip photo, enrolment or evaluation image):
// large photos are reduced to at most 1000 px on the long side; small ones are tried as they are
// and then enlarged 2× (LFW-sized faces of ~100 px are at the edge of what HOG finds); when HOG
// finds nothing, dlib's CNN detector (slower, finds turned and dim faces) gets a last try. The
// subject is the face that is both large and central (a portrait's subject is centred; a
// bystander at the edge loses even when a little larger).
func (e *Engine) AnalyzePhoto(ctx context.Context, photo gocv.Mat) (Analysis, error) {
	long := math.Max(float64(photo.Cols()), float64(photo.Rows()))
	s := math.Min(1, 1000/long)
	scales := []float64{s, 2 * s}
	return e.analyze(ctx, photo, scales, byAreaAndCentre(photo.Cols(), photo.Rows()), true)
}

// maxCNNPixels bounds the image given to the CNN detector (~10 s per megapixel on 2 cores).
const maxCNNPixels = 400_000

func byArea(f Found) float64 { return float64(area(f.Rect)) }

func byAreaAndCentre(w, h int) func(Found) float64 {
	cx, cy, diag := float64(w)/2, float64(h)/2, math.Hypot(float64(w), float64(h))
	return func(f Found) float64 {
		fx, fy := float64(f.Rect.Min.X+f.Rect.Max.X)/2, float64(f.Rect.Min.Y+f.Rect.Max.Y)/2
		d := math.Hypot(fx-cx, fy-cy) / (0.25 * diag)
		return float64(area(f.Rect)) * math.Exp(-d*d)
	}
}

func (e *Engine) analyze(ctx context.Context, img gocv.Mat, scales []float64, rank func(Found) float64, cnn bool) (Analysis, error) {
	if img.Empty() {
		return Analysis{}, errors.New("analyze: empty image")
	}
	bgr, err := toBGR(img)
	if err != nil {
		return Analysis{}, err
	}
	if bgr.Ptr() != img.Ptr() {
		defer bgr.Close()
	}
	a := Analysis{Size: image.Pt(img.Cols(), img.Rows())}
	for _, s := range scales {
		if err := ctx.Err(); err != nil {
			return Analysis{}, err
		}
		work := bgr
		if s != 1 {
			work = gocv.NewMat()
			interp := gocv.InterpolationArea
			if s > 1 {
				interp = gocv.InterpolationLinear
			}
			gocv.Resize(bgr, &work, image.Pt(0, 0), s, s, interp)
			defer work.Close()
		}
		faces, mirrored, err := e.recognizeBoth(ctx, work, false)
		if err != nil {
			return Analysis{}, err
		}
		if len(faces) == 0 {
			continue
		}
		return e.collect(a, work, s, faces, mirrored, rank), nil
	}
	if !cnn {
		return a, nil
	}
	// Last try: the CNN detector on an image of at most maxCNNPixels.
	s := math.Min(scales[0], math.Sqrt(maxCNNPixels/float64(bgr.Cols()*bgr.Rows())))
	work := gocv.NewMat()
	defer work.Close()
	gocv.Resize(bgr, &work, image.Pt(0, 0), s, s, gocv.InterpolationArea)
	faces, mirrored, err := e.recognizeBoth(ctx, work, true)
	if err != nil || len(faces) == 0 {
		return a, err
	}
	return e.collect(a, work, s, faces, mirrored, rank), nil
}

// recognizeBoth runs go-face on work and, with Options.Mirror, on its mirror image at the same
// time on a second Recognizer of the pool (both cores work on one frame).
func (e *Engine) recognizeBoth(ctx context.Context, work gocv.Mat, cnn bool) (faces, mirrored []goface.Face, err error) {
	if !e.opts.Mirror {
		faces, err = e.recognize(ctx, work, cnn)
		return faces, nil, err
	}
	flipped := gocv.NewMat()
	gocv.Flip(work, &flipped, 1)
	done := make(chan error, 1)
	go func() {
		defer flipped.Close()
		var err error
		mirrored, err = e.recognize(ctx, flipped, cnn)
		done <- err
	}()
	faces, err = e.recognize(ctx, work, cnn)
	if merr := <-done; err == nil {
		err = merr
	}
	return faces, mirrored, err
}

func (e *Engine) collect(a Analysis, work gocv.Mat, s float64, faces, mirrored []goface.Face, rank func(Found) float64) Analysis {
	a.Scale = s
	for _, f := range faces {
		a.Faces = append(a.Faces, Found{Face: unscale(f, s), Descriptor: append([]float32(nil), f.Descriptor[:]...)})
	}
	sort.SliceStable(a.Faces, func(i, j int) bool { return rank(a.Faces[i]) > rank(a.Faces[j]) })
	if e.opts.Mirror {
		mirrorAverage(work.Cols(), s, &a.Faces[0], mirrored)
	}
	if e.opts.Normalize {
		for i := range a.Faces {
			normalize(a.Faces[i].Descriptor)
		}
	}
	return a
}

// mirrorAverage averages the subject's descriptor with the descriptor of the same face found in
// the mirror image (the face whose mirrored box centre is nearest to the subject's). When the
// mirrored face was not found the plain descriptor stays.
func mirrorAverage(workWidth int, s float64, subj *Found, mirrored []goface.Face) {
	r := subj.Rect
	wx := float64(workWidth) - float64(r.Min.X+r.Max.X)/2*s
	wy := float64(r.Min.Y+r.Max.Y) / 2 * s
	best, bestD := -1, math.Inf(1)
	for i, f := range mirrored {
		cx, cy := float64(f.Rectangle.Min.X+f.Rectangle.Max.X)/2, float64(f.Rectangle.Min.Y+f.Rectangle.Max.Y)/2
		if d := math.Hypot(cx-wx, cy-wy); d < bestD {
			best, bestD = i, d
		}
	}
	if best < 0 || bestD > float64(r.Dx())*s/3 {
		return
	}
	for k := range subj.Descriptor {
		subj.Descriptor[k] = (subj.Descriptor[k] + mirrored[best].Descriptor[k]) / 2
	}
}

func unscale(f goface.Face, s float64) embedding.Face {
	sc := func(p image.Point) image.Point {
		return image.Pt(int(math.Round(float64(p.X)/s)), int(math.Round(float64(p.Y)/s)))
	}
	out := embedding.Face{Rect: image.Rectangle{Min: sc(f.Rectangle.Min), Max: sc(f.Rectangle.Max)}}
	out.Landmarks = make([]image.Point, len(f.Shapes))
	for i, p := range f.Shapes {
		out.Landmarks[i] = sc(p)
	}
	return out
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

// toBGR returns img as 8-bit 3-channel BGR; the result is img itself when it already is.
func toBGR(img gocv.Mat) (gocv.Mat, error) {
	switch img.Type() {
	case gocv.MatTypeCV8UC3:
		return img, nil
	case gocv.MatTypeCV8UC1:
		out := gocv.NewMat()
		gocv.CvtColor(img, &out, gocv.ColorGrayToBGR)
		return out, nil
	case gocv.MatTypeCV8UC4:
		out := gocv.NewMat()
		gocv.CvtColor(img, &out, gocv.ColorBGRAToBGR)
		return out, nil
	}
	return gocv.Mat{}, fmt.Errorf("unsupported image type %v", img.Type())
}

// DecodeImage decodes a photo in any format OpenCV reads (JPEG, JPEG 2000 as in ICAO 9303 DG2,
// PNG, grayscale or colour) into a BGR Mat. The caller closes it.
func DecodeImage(data []byte) (gocv.Mat, error) {
	if len(data) == 0 {
		return gocv.NewMat(), errors.New("decode image: empty")
	}
	m, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		return m, fmt.Errorf("decode image: %w", err)
	}
	if m.Empty() {
		m.Close()
		return gocv.NewMat(), errors.New("decode image: format not recognised or data corrupt")
	}
	return m, nil
}

// DescribePhoto decodes a photo (e.g. the chip's DG2 image) and returns its subject's face and
// descriptor; ErrNoFace when none is found.
func (e *Engine) DescribePhoto(ctx context.Context, data []byte) (Found, error) {
	m, err := DecodeImage(data)
	if err != nil {
		return Found{}, err
	}
	defer m.Close()
	a, err := e.AnalyzePhoto(ctx, m)
	if err != nil {
		return Found{}, err
	}
	f, ok := a.Subject()
	if !ok {
		return Found{}, ErrNoFace
	}
	return f, nil
}

// Embed implements embedding.Embedder for dlib: it describes the face of img nearest to face.Rect
// (go-face detects and aligns by itself, so the crop around the box is analysed).
func (e *Engine) Embed(ctx context.Context, img image.Image, face embedding.Face) ([]float32, error) {
	r := face.Rect
	m := r.Dx()
	crop := image.Rect(r.Min.X-m, r.Min.Y-m, r.Max.X+m, r.Max.Y+m).Intersect(img.Bounds())
	if crop.Empty() {
		return nil, fmt.Errorf("embed: face box %v outside the image", r)
	}
	mat, err := ImageToBGR(subImage(img, crop))
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	defer mat.Close()
	a, err := e.AnalyzePhoto(ctx, mat)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	want := r.Sub(crop.Min)
	best, bestD := -1, math.Inf(1)
	for i, f := range a.Faces {
		d := math.Hypot(float64(f.Rect.Min.X+f.Rect.Max.X-want.Min.X-want.Max.X)/2, float64(f.Rect.Min.Y+f.Rect.Max.Y-want.Min.Y-want.Max.Y)/2)
		if d < bestD {
			best, bestD = i, d
		}
	}
	if best < 0 || bestD > float64(m)/2 {
		return nil, fmt.Errorf("embed: %w near %v", ErrNoFace, r)
	}
	return a.Faces[best].Descriptor, nil
}

// ImageToBGR converts any image.Image to a BGR Mat (the caller closes it). gocv's own converter
// mishandles sub-images (it reuses Pix without the stride), so the pixels are copied first.
func ImageToBGR(img image.Image) (gocv.Mat, error) {
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	src, err := gocv.NewMatFromBytes(b.Dy(), b.Dx(), gocv.MatTypeCV8UC4, rgba.Pix)
	if err != nil {
		return gocv.NewMat(), fmt.Errorf("image to Mat: %w", err)
	}
	defer src.Close()
	dst := gocv.NewMat()
	gocv.CvtColor(src, &dst, gocv.ColorRGBAToBGR)
	return dst, nil
}

// MatToImage converts a region of a BGR (or gray) Mat to an image.Image (a copy).
func MatToImage(m gocv.Mat, r image.Rectangle) (image.Image, error) {
	r = r.Intersect(image.Rect(0, 0, m.Cols(), m.Rows()))
	if r.Empty() {
		return nil, errors.New("mat to image: empty region")
	}
	reg := m.Region(r)
	defer reg.Close()
	c := reg.Clone()
	defer c.Close()
	return c.ToImage()
}

type subImager interface {
	SubImage(image.Rectangle) image.Image
}

func subImage(img image.Image, r image.Rectangle) image.Image {
	if s, ok := img.(subImager); ok {
		return s.SubImage(r)
	}
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			out.Set(x-r.Min.X, y-r.Min.Y, img.At(x, y))
		}
	}
	return out
}

var _ embedding.Embedder = (*Engine)(nil)

// Shipped is the desk's descriptor pipeline; the shipped calibration (match.Shipped) is for it.
var Shipped = Options{Mirror: true, Normalize: true}

func normalize(d []float32) {
	var s float64
	for _, v := range d {
		s += float64(v) * float64(v)
	}
	if s == 0 {
		return
	}
	k := float32(1 / math.Sqrt(s))
	for i := range d {
		d[i] *= k
	}
}
