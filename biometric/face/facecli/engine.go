package facecli

import (
	"context"
	"fmt"
	"image"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/facenet"
	"enrolldesk/desk/settings"
)

// Engines the -engine flag names (settings.Policy.FaceEngine's values).
const (
	EngineDlib    = settings.FaceEngineDlib
	EngineFacenet = settings.FaceEngineFacenet
)

// DefaultEngine is the desk policy's default face engine (settings.Defaults).
func DefaultEngine() string { return settings.Defaults().Policy.FaceEngine }

// Describer turns a photo into the 1:1 descriptor of the selected engine, as the desk's face step
// (desk/wire) does: the face pipeline (go-face) finds the subject and its landmarks; with
// facenet the same face is then aligned from those landmarks and embedded by biometric/facenet's
// shipped model (facenet.DefaultModel, facenet.DefaultOptions).
type Describer struct {
	Pipeline *face.Engine
	Net      *facenet.Engine // nil: dlib's descriptor from the pipeline
}

// NewDescriber loads the engine named by engine ("dlib" or "facenet"); opts configure the face
// pipeline. Close releases it.
func NewDescriber(models, engine string, opts face.Options) (*Describer, error) {
	if engine != EngineDlib && engine != EngineFacenet {
		return nil, fmt.Errorf("face engine %q: unknown (want %q or %q)", engine, EngineDlib, EngineFacenet)
	}
	eng, err := face.NewEngine(models, opts)
	if err != nil {
		return nil, err
	}
	d := &Describer{Pipeline: eng}
	if engine == EngineFacenet {
		if d.Net, err = facenet.NewEngine(models, facenet.DefaultModel, facenet.DefaultOptions); err != nil {
			eng.Close()
			return nil, fmt.Errorf("face engine: %w", err)
		}
	}
	return d, nil
}

// Name is the descriptor pipeline's name, the calibration table's engine key.
func (d *Describer) Name() string {
	if d.Net != nil {
		return d.Net.Name()
	}
	return d.Pipeline.Name()
}

// ModelSetID is the calibration table's model-set key of the descriptors.
func (d *Describer) ModelSetID() string {
	if d.Net != nil {
		return d.Net.ModelSetID()
	}
	return d.Pipeline.Models().ID
}

// Close releases the pipeline.
func (d *Describer) Close() error { return d.Pipeline.Close() }

// Photo describes the subject of an encoded photo (face.ErrNoFace when none is found).
func (d *Describer) Photo(ctx context.Context, data []byte) ([]float32, error) {
	m, err := face.DecodeImage(data)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	a, err := d.Pipeline.AnalyzePhoto(ctx, m)
	if err != nil {
		return nil, err
	}
	f, ok := a.Subject()
	if !ok {
		return nil, face.ErrNoFace
	}
	if d.Net == nil {
		return f.Descriptor, nil
	}
	img, err := face.MatToImage(m, image.Rect(0, 0, m.Cols(), m.Rows()))
	if err != nil {
		return nil, err
	}
	v, err := d.Net.Embed(ctx, img, f.Face)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Net.Name(), err)
	}
	return v, nil
}

// Live describes a captured face: region holds the pixels around it in frame coordinates.
func (d *Describer) Live(ctx context.Context, region image.Image, subj face.Found) ([]float32, error) {
	if d.Net == nil {
		return subj.Descriptor, nil
	}
	v, err := d.Net.Embed(ctx, region, subj.Face)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Net.Name(), err)
	}
	return v, nil
}
