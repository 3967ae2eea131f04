package facenet

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"enrolldesk/biometric/facenet/nn"
)

// repoModels is the models directory `make setup` fills (build/models-convert).
var repoModels = filepath.Join("..", "..", "models")

type goldenFixture struct {
	TFJS    string `json:"tfjs"`
	Backend string `json:"backend"`
	Models  map[string]struct {
		Size   int     `json:"size"`
		Lo     float64 `json:"lo"`
		Hi     float64 `json:"hi"`
		Output string  `json:"output"`
		Cases  []struct {
			Kind   int       `json:"kind"`
			Output []float64 `json:"output"`
			Shape  []int     `json:"shape"`
		} `json:"cases"`
	} `json:"models"`
}

// goldenInput regenerates bit for bit the inputs of golden/golden.mjs (see input() there).
func goldenInput(kind, size int, lo, hi float64) *nn.Tensor {
	t := nn.NewTensor(1, size, size, 3)
	s := uint32(12345 + kind)
	for i := range t.Data {
		var u float64
		if kind == 0 {
			s = s*1664525 + 1013904223
			u = float64(s>>8) / 16777216
		} else {
			c, x, y := i%3, (i/3)%size, i/3/size
			u = float64((x*7+y*13+c*50)%256) / 256
		}
		t.Data[i] = float32(lo + u*(hi-lo))
	}
	return t
}

// TestGoldenTFJS: every converted model, run by the Go executor, reproduces the outputs that the
// original model gave on the same inputs, to 1e-4: the TF.js models under @tensorflow/tfjs (CPU
// backend), the ONNX model under onnxruntime-web.
func TestGoldenTFJS(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("golden", "testdata", "golden.json"))
	if err != nil {
		t.Fatalf("golden fixture missing (regenerate with `npm run golden` in golden/): %v", err)
	}
	var fx goldenFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatalf("golden fixture: %v", err)
	}
	want := append(append([]string{}, AuxModels...), "mobilefacenet", "mobileface", "faceres", "faceres-deep", "frfeature", "frliveness")
	for _, name := range want {
		gm, ok := fx.Models[name]
		if !ok || len(gm.Cases) == 0 {
			t.Fatalf("golden fixture has no cases for %s", name)
		}
		t.Run(name, func(t *testing.T) {
			m, _, err := nn.ReadFile(ModelFile(repoModels, name))
			if err != nil {
				t.Fatalf("converted model missing (run make setup): %v", err)
			}
			for _, c := range gm.Cases {
				outs, err := m.Run(goldenInput(c.Kind, gm.Size, gm.Lo, gm.Hi))
				if err != nil {
					t.Fatal(err)
				}
				got := outs[0]
				if len(got.Data) != len(c.Output) {
					t.Fatalf("case %d: %d values, tfjs gave %d", c.Kind, len(got.Data), len(c.Output))
				}
				worst, at := 0.0, 0
				for i, w := range c.Output {
					if d := math.Abs(float64(got.Data[i]) - w); d > worst {
						worst, at = d, i
					}
				}
				t.Logf("case %d: max |go - tfjs| = %.2g (at %d of %d)", c.Kind, worst, at, len(c.Output))
				if worst > 1e-4 {
					t.Errorf("case %d: output %d is %g, tfjs %g", c.Kind, at, got.Data[at], c.Output[at])
				}
			}
		})
	}
}
