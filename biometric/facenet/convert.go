package facenet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"enrolldesk/biometric/facenet/nn"
)

// Convert reads the TF.js graph model srcDir/<name>.json (+ shards), keeps the part of the graph
// the given outputs need, checks that every op is one the executor runs, and writes the EDNN file
// atomically (temp file + rename). The source files' SHA-256 go into the file's metadata.
func Convert(srcDir, name string, outputs []string, dst string) error {
	files := []string{name + ".json", name + ".bin"}
	pkg := SourcePackage + " models/" + name + ".json"
	var g *nn.Graph
	var err error
	onnx := AuxONNX[name]
	if s, ok := Specs[name]; ok && s.ONNX != "" {
		onnx = s.ONNX
	}
	if onnx != "" {
		files = []string{onnx}
		pkg = ONNXPackage + " model/" + onnx
		g, err = nn.LoadONNX(filepath.Join(srcDir, onnx))
	} else {
		g, err = nn.LoadTFJS(filepath.Join(srcDir, name+".json"))
	}
	if err != nil {
		return fmt.Errorf("convert %s: %w", name, err)
	}
	if len(outputs) > 0 {
		g.Outputs = outputs
	}
	if err := g.Prune(); err != nil {
		return fmt.Errorf("convert %s: %w", name, err)
	}
	meta := map[string]string{"source": pkg, "converter": "enrolldesk/biometric/facenet"}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(srcDir, f))
		if err != nil {
			return fmt.Errorf("convert %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		meta["sha256 "+f] = hex.EncodeToString(sum[:])
	}
	var buf bytes.Buffer
	if err := nn.Write(&buf, g, meta); err != nil {
		return fmt.Errorf("convert %s: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("convert %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".convert-*")
	if err != nil {
		return fmt.Errorf("convert %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("convert %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("convert %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("convert %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("convert %s: %w", name, err)
	}
	return nil
}

// ConvertAll converts every embedding model of Specs and the auxiliary models, reading the
// sources from modelsDir/<Spec.SrcDir> and writing modelsDir/facenet/<name>.ednn.
func ConvertAll(modelsDir string) error {
	for name, s := range Specs {
		if err := Convert(filepath.Join(modelsDir, s.SrcDir), name, []string{s.Output}, ModelFile(modelsDir, name)); err != nil {
			return err
		}
	}
	for _, name := range AuxModels {
		if err := Convert(filepath.Join(modelsDir, HumanModelsDir), name, nil, ModelFile(modelsDir, name)); err != nil {
			return err
		}
	}
	for name := range AuxONNX {
		if err := Convert(filepath.Join(modelsDir, FacepluginDir), name, nil, ModelFile(modelsDir, name)); err != nil {
			return err
		}
	}
	return nil
}
