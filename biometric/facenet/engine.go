package facenet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"

	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/facenet/nn"
)

// Options tunes an Engine.
type Options struct {
	// Mirror also embeds the horizontally mirrored chip and averages the two descriptors (twice
	// the time). Part of the engine name, so calibrations with and without it stay apart.
	Mirror bool
}

// Engine computes face descriptors with one converted model. It implements embedding.Embedder
// and is safe for concurrent use (the compiled model holds no per-run state).
type Engine struct {
	spec    Spec
	model   *nn.Model
	opts    Options
	modelID string
}

// NewEngine loads models/facenet/<name>.ednn (written by `make setup`, build/models-convert).
func NewEngine(modelsDir, name string, opts Options) (*Engine, error) {
	spec, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	path := ModelFile(modelsDir, name)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("facenet %s: model not installed (run make setup): %w", name, err)
	}
	g, _, err := nn.Read(raw)
	if err != nil {
		return nil, fmt.Errorf("facenet %s: %w", name, err)
	}
	m, err := g.Compile()
	if err != nil {
		return nil, fmt.Errorf("facenet %s: %w", name, err)
	}
	if len(g.Inputs) != 1 || len(g.Inputs[0].Shape) != 4 || g.Inputs[0].Shape[1] != spec.Size || g.Inputs[0].Shape[2] != spec.Size {
		return nil, fmt.Errorf("facenet %s: model input %v does not match %dx%d", name, g.Inputs, spec.Size, spec.Size)
	}
	sum := sha256.Sum256(raw)
	return &Engine{spec: spec, model: m, opts: opts, modelID: hex.EncodeToString(sum[:])}, nil
}

// Name identifies the descriptor pipeline (embedding.Embedder): model, alignment version, mirror.
func (e *Engine) Name() string { return EngineName(e.spec, e.opts) }

// EngineName is the Name of an Engine of spec built with opts, known without loading the model.
func EngineName(spec Spec, opts Options) string {
	n := "facenet-" + spec.Name + "-" + PipelineVersion
	if opts.Mirror {
		n += "+mirror"
	}
	return n
}

// ModelFileID is the ModelSetID an Engine loaded from models/facenet/<name>.ednn would have,
// computed by hashing the file without compiling it.
func ModelFileID(modelsDir, name string) (string, error) {
	f, err := os.Open(ModelFile(modelsDir, name))
	if err != nil {
		return "", fmt.Errorf("facenet %s: model not installed (run make setup): %w", name, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("facenet %s: hash model: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Dim is the descriptor length (embedding.Embedder).
func (e *Engine) Dim() int { return e.spec.Dim }

// Spec is the model's description.
func (e *Engine) Spec() Spec { return e.spec }

// ModelSetID is the SHA-256 of the converted model file: calibrations are kept per model set.
func (e *Engine) ModelSetID() string { return e.modelID }

// PipelineVersion names the preprocessing (alignment, sampling, channel order, normalisation):
// it is part of Name, so a change here never reuses an old calibration or gallery.
const PipelineVersion = "p2"

// ErrLandmarks means the face's landmarks cannot drive the alignment.
var ErrLandmarks = errors.New("facenet: need 5 or 68 landmarks")

// FivePoints returns the alignment points of a face from dlib's landmarks, in the template's
// order (eye, eye, nose tip, mouth corner, mouth corner, image-left first), and how many of the
// five are real: 68 points (iBUG 300-W) give all five (eyes = mean of 36–41 and 42–47, nose tip
// 30, mouth corners 48 and 54); dlib's 5-point model gives the two eyes (mean of each pair of
// corners) and the point under the nose, which stands in for the nose tip with a template point
// moved down accordingly (see templateFor).
func FivePoints(lm []image.Point) ([]Point, error) {
	p := func(q image.Point) Point { return Point{float64(q.X), float64(q.Y)} }
	meanOf := func(qs []image.Point) Point {
		var s Point
		for _, q := range qs {
			s.X += float64(q.X)
			s.Y += float64(q.Y)
		}
		return Point{s.X / float64(len(qs)), s.Y / float64(len(qs))}
	}
	switch len(lm) {
	case 68:
		e1, e2 := meanOf(lm[36:42]), meanOf(lm[42:48])
		m1, m2 := p(lm[48]), p(lm[54])
		if e1.X > e2.X {
			e1, e2 = e2, e1
		}
		if m1.X > m2.X {
			m1, m2 = m2, m1
		}
		return []Point{e1, e2, p(lm[30]), m1, m2}, nil
	case 5:
		e1, e2 := meanOf(lm[0:2]), meanOf(lm[2:4])
		if e1.X > e2.X {
			e1, e2 = e2, e1
		}
		return []Point{e1, e2, p(lm[4])}, nil
	}
	return nil, fmt.Errorf("%w, have %d", ErrLandmarks, len(lm))
}

// templateFor returns the reference points matching FivePoints' output. For dlib's 5-point
// layout the third point is the base of the nose, about a third of the way from the nose tip to
// the mouth line in the reference face.
func (s Spec) templateFor(n int) []Point {
	t := make([]Point, 0, 5)
	for _, q := range s.Template {
		t = append(t, Point{q[0], q[1]})
	}
	if n == 3 {
		mouthY := (t[3].Y + t[4].Y) / 2
		return []Point{t[0], t[1], {t[2].X, t[2].Y + (mouthY-t[2].Y)/3}}
	}
	return t
}

// Align returns the model's input chip for a face with the given alignment points.
func (e *Engine) Align(img image.Image, pts []Point) (Chip, error) {
	tr, err := EstimateSimilarity(pts, e.spec.templateFor(len(pts)))
	if err != nil {
		return Chip{}, fmt.Errorf("align: %w", err)
	}
	return WarpChip(img, tr, e.spec.Size)
}

// Embed implements embedding.Embedder: align the face by its landmarks, run the network, return
// the L2-normalised descriptor (so the Euclidean distance lies in [0, 2] and is a monotone
// function of the cosine similarity).
func (e *Engine) Embed(ctx context.Context, img image.Image, face embedding.Face) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pts, err := FivePoints(face.Landmarks)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	chip, err := e.Align(img, pts)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	return e.EmbedChip(ctx, chip)
}

// EmbedChip embeds an already aligned chip.
func (e *Engine) EmbedChip(ctx context.Context, chip Chip) ([]float32, error) {
	if chip.Size != e.spec.Size || len(chip.Pix) != chip.Size*chip.Size*3 {
		return nil, fmt.Errorf("embed: chip %d, model wants %d", chip.Size, e.spec.Size)
	}
	if !e.opts.Mirror {
		d, err := e.run(chip.Pix)
		if err != nil {
			return nil, err
		}
		if !normalise(d) {
			return nil, errors.New("embed: network gave a zero descriptor")
		}
		return d, nil
	}
	// The chip and its mirror image run at the same time: the network's small layers stay on
	// one core each, so two passes side by side use both cores better than one after the other.
	type result struct {
		d   []float32
		err error
	}
	mc := make(chan result, 1)
	go func() {
		m, err := e.run(mirror(chip))
		mc <- result{m, err}
	}()
	d, err := e.run(chip.Pix)
	m := <-mc
	if err != nil {
		return nil, err
	}
	if m.err != nil {
		return nil, m.err
	}
	for i := range d {
		d[i] += m.d[i]
	}
	if !normalise(d) {
		return nil, errors.New("embed: network gave a zero descriptor")
	}
	return d, nil
}

func (e *Engine) run(pix []float32) ([]float32, error) {
	s := e.spec.Size
	x := nn.NewTensor(1, s, s, 3)
	for i := 0; i+2 < len(pix); i += 3 {
		r, g, b := pix[i], pix[i+1], pix[i+2]
		if e.spec.BGR {
			r, b = b, r
		}
		x.Data[i] = r*e.spec.Scale + e.spec.Offset
		x.Data[i+1] = g*e.spec.Scale + e.spec.Offset
		x.Data[i+2] = b*e.spec.Scale + e.spec.Offset
	}
	out, err := e.model.Run(x)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if len(out[0].Data) != e.spec.Dim {
		return nil, fmt.Errorf("embed: network gave %d values, want %d", len(out[0].Data), e.spec.Dim)
	}
	return append([]float32(nil), out[0].Data...), nil
}

func mirror(c Chip) []float32 {
	out := make([]float32, len(c.Pix))
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; x++ {
			copy(out[(y*c.Size+x)*3:(y*c.Size+x)*3+3], c.Pix[(y*c.Size+c.Size-1-x)*3:(y*c.Size+c.Size-x)*3])
		}
	}
	return out
}

func normalise(d []float32) bool {
	var s float64
	for _, v := range d {
		s += float64(v) * float64(v)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return false
	}
	inv := 1 / math.Sqrt(s)
	for i := range d {
		d[i] = float32(float64(d[i]) * inv)
	}
	return true
}

var _ embedding.Embedder = (*Engine)(nil)

// RunRaw runs the network on an already normalised input (Size·Size·3 values) and returns the
// L2-normalised output; for experiments with input conventions.
func (e *Engine) RunRaw(x []float32) ([]float32, error) {
	s := e.spec.Size
	t := nn.NewTensor(1, s, s, 3)
	if len(x) != len(t.Data) {
		return nil, fmt.Errorf("run: %d values, want %d", len(x), len(t.Data))
	}
	copy(t.Data, x)
	out, err := e.model.Run(t)
	if err != nil {
		return nil, err
	}
	d := append([]float32(nil), out[0].Data...)
	if !normalise(d) {
		return nil, errors.New("zero descriptor")
	}
	return d, nil
}

// Options returns the engine's options.
func (e *Engine) Options() Options { return e.opts }
