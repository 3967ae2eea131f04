package wire

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"enrolldesk/biometric/face/modelset"
	"enrolldesk/desk/settings"
)

// The gallery's engine is known without loading the face pipeline, and it is the one the loaded
// pipeline decides with.
func TestDedupEngineDoesNotLoadThePipeline(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{settings.FaceEngineFacenet, settings.FaceEngineDlib} {
		c := &CameraFace{Models: filepath.Join("..", "..", "models"), Engine: name}
		got, cal, err := c.DedupEngine(ctx)
		if err != nil || got != name {
			t.Fatalf("%s: %q %v", name, got, err)
		}
		if c.eng != nil || c.net != nil {
			t.Fatalf("%s: DedupEngine loaded the face pipeline", name)
		}
		sel, err := c.selectEngine(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cal.Engine != sel.engine || cal.ModelSetID != sel.modelSet || cal != sel.cal {
			t.Fatalf("%s: without the pipeline %s@%s, loaded %s@%s", name, cal.Engine, cal.ModelSetID, sel.engine, sel.modelSet)
		}
	}
}

// Models that are not the shipped files have no calibration: the gallery is refused, never
// opened in a guessed space.
func TestDedupEngineRefusesUnknownModels(t *testing.T) {
	dir := t.TempDir()
	for _, n := range modelset.FileNames {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("not a model"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := &CameraFace{Models: dir, Engine: settings.FaceEngineDlib}
	if _, _, err := c.DedupEngine(context.Background()); !errors.Is(err, modelset.ErrModels) {
		t.Fatalf("dlib over wrong files: %v", err)
	}
	c = &CameraFace{Models: dir, Engine: settings.FaceEngineFacenet}
	if _, _, err := c.DedupEngine(context.Background()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("facenet without its model: %v", err)
	}
}
