package wire

import (
	"context"
	"fmt"
	"sync"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/face/modelset"
	"enrolldesk/biometric/facenet"
	"enrolldesk/desk/settings"
)

// engineKeys caches, per face-engine setting, the engine name and model set the pipeline would
// report once loaded. It has its own lock: a gallery search must not wait for a capture holding
// the camera's.
type engineKeys struct {
	mu   sync.Mutex
	cals *match.Table
	byID map[string]match.Calibration // settings.FaceEngine* -> shipped calibration
}

// DedupEngine is app.IndexDedup.FaceEngine (through app.Options.FaceEngine): the selected face
// engine (settings.FaceEngine*, the names index.SpaceFor takes) and its shipped calibration, so
// the de-duplication gallery is searched in the space of the descriptors Capture returns.
//
// It never loads the face pipeline (dlib's pool and the facenet model, seconds and hundreds of
// megabytes): the galleries open when the desk is unlocked, and unlocking must neither pay for
// nor depend on the camera's models. The calibration key is computed the way the loaded engines
// compute it (the engine's Name from its options, the model set's ID from the files' SHA-256),
// once per engine per process; Capture verifies the same files when it loads them.
func (c *CameraFace) DedupEngine(ctx context.Context) (string, match.Calibration, error) {
	name, err := c.engineName(ctx)
	if err != nil {
		return "", match.Calibration{}, err
	}
	cal, err := c.keys.calibration(c.Models, name)
	if err != nil {
		return "", match.Calibration{}, err
	}
	return name, cal, nil
}

func (k *engineKeys) calibration(modelsDir, name string) (match.Calibration, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cal, ok := k.byID[name]; ok {
		return cal, nil
	}
	if k.cals == nil {
		t, err := match.Shipped()
		if err != nil {
			return match.Calibration{}, fmt.Errorf("face calibration: %w", err)
		}
		k.cals = &t
	}
	engine, id, err := engineKey(modelsDir, name)
	if err != nil {
		return match.Calibration{}, err
	}
	cal, err := k.cals.Lookup(id, engine)
	if err != nil {
		return match.Calibration{}, fmt.Errorf("face calibration: %w", err)
	}
	if k.byID == nil {
		k.byID = map[string]match.Calibration{}
	}
	k.byID[name] = cal
	return cal, nil
}

// engineKey is what selectEngine's loaded engines report as Name and model-set ID.
func engineKey(modelsDir, name string) (engine, modelSet string, err error) {
	if name == settings.FaceEngineFacenet {
		spec, err := facenet.Lookup(facenet.DefaultModel)
		if err != nil {
			return "", "", fmt.Errorf("face engine: %w", err)
		}
		id, err := facenet.ModelFileID(modelsDir, facenet.DefaultModel)
		if err != nil {
			return "", "", fmt.Errorf("face engine: %w", err)
		}
		return facenet.EngineName(spec, facenet.DefaultOptions), id, nil
	}
	v, err := modelset.Verify(modelsDir)
	if err != nil {
		return "", "", fmt.Errorf("face engine: %w", err)
	}
	return face.EngineName(face.Shipped), v.ID, nil
}
