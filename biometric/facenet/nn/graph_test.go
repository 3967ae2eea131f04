package nn

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// A TF.js graph model written by hand: y = PReLU(conv1x1(x) + bias) with alpha 0.25, the way
// MobileFaceNet spells PReLU (relu(x) + alpha·(x-|x|)·0.5), then Mean over H,W. Weights: the 1×1
// filter as uint8-quantised (min -1, scale 0.5: q 4 → 1), the bias as float16, alpha as float32.
var tinyModelJSON = `{
 "format": "graph-model",
 "modelTopology": {"node": [
  {"name": "x", "op": "Placeholder", "attr": {"shape": {"shape": {"dim": [{"size": "-1"}, {"size": "2"}, {"size": "2"}, {"size": "1"}]}}}},
  {"name": "w", "op": "Const"}, {"name": "bias", "op": "Const"}, {"name": "alpha", "op": "Const"},
  {"name": "half", "op": "Const"}, {"name": "axes", "op": "Const"},
  {"name": "conv", "op": "_FusedConv2D", "input": ["x", "w", "bias", "^w"], "attr": {
    "padding": {"s": "` + b64("VALID") + `"}, "strides": {"list": {"i": ["1", "1", "1", "1"]}},
    "data_format": {"s": "` + b64("NHWC") + `"}, "dilations": {"list": {"i": ["1", "1", "1", "1"]}},
    "fused_ops": {"list": {"s": ["` + b64("BiasAdd") + `"]}}}},
  {"name": "relu", "op": "Relu", "input": ["conv"]},
  {"name": "abs", "op": "Abs", "input": ["conv"]},
  {"name": "sub", "op": "Sub", "input": ["conv", "abs"]},
  {"name": "mul", "op": "Mul", "input": ["alpha", "half"]},
  {"name": "mul1", "op": "Mul", "input": ["sub", "mul"]},
  {"name": "prelu", "op": "AddV2", "input": ["relu", "mul1:0"]},
  {"name": "mean", "op": "Mean", "input": ["prelu", "axes"], "attr": {"keep_dims": {"b": false}}}
 ]},
 "userDefinedMetadata": {"signature": {"outputs": {"y": {"name": "mean"}}}},
 "weightsManifest": [{"paths": ["tiny.bin"], "weights": [
  {"name": "w", "shape": [1, 1, 1, 1], "dtype": "float32", "quantization": {"dtype": "uint8", "min": -1, "scale": 0.5}},
  {"name": "bias", "shape": [1], "dtype": "float32", "quantization": {"dtype": "float16"}},
  {"name": "alpha", "shape": [1], "dtype": "float32"},
  {"name": "half", "shape": [], "dtype": "float32"},
  {"name": "axes", "shape": [2], "dtype": "int32"}
 ]}]
}`

func tinyShard() []byte {
	var b bytes.Buffer
	b.WriteByte(4)                                                    // w: -1 + 4·0.5 = 1
	_ = binary.Write(&b, binary.LittleEndian, uint16(0xBC00))         // bias: -1 in binary16
	_ = binary.Write(&b, binary.LittleEndian, math.Float32bits(0.25)) // alpha
	_ = binary.Write(&b, binary.LittleEndian, math.Float32bits(0.5))  // half
	_ = binary.Write(&b, binary.LittleEndian, []int32{1, 2})          // axes
	return b.Bytes()
}

func parseTiny(t *testing.T) *Graph {
	t.Helper()
	g, err := ParseTFJS([]byte(tinyModelJSON), func(name string) ([]byte, error) {
		if name != "tiny.bin" {
			t.Fatalf("asked for shard %q", name)
		}
		return tinyShard(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// x = [1, 2, -3, 5] → conv·1 - 1 = [0, 1, -4, 4] → PReLU(0.25) = [0, 1, -1, 4] → mean 1.
func TestTFJSGraphEndToEnd(t *testing.T) {
	g := parseTiny(t)
	if got := g.Consts["w"].Data[0]; got != 1 {
		t.Fatalf("uint8 de-quantisation: %g", got)
	}
	if got := g.Consts["bias"].Data[0]; got != -1 {
		t.Fatalf("float16 de-quantisation: %g", got)
	}
	m, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(tensor([]int{1, 2, 2, 1}, 1, 2, -3, 5))
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "mean", out[0], 1, 1)
	near(t, "prelu mean", out[0].Data, []float32{1}, 1e-7)
	// Batch of two: the second image is the first negated → [-2,-3,2,-6] → [-0.5,-0.75,2,-1.5].
	out, err = m.Run(tensor([]int{2, 2, 2, 1}, 1, 2, -3, 5, -1, -2, 3, -5))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "batch", out[0].Data, []float32{1, -0.1875}, 1e-7)
	if _, err := m.Run(tensor([]int{1, 3, 2, 1}, 1, 2, 3, 4, 5, 6)); err == nil {
		t.Fatal("wrong input shape accepted")
	}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		name, want string
		edit       func(g *Graph)
	}{
		{"unknown op", "not supported", func(g *Graph) { g.Nodes[0].Op = "FancyOp" }},
		{"missing input", "not defined", func(g *Graph) { g.Nodes[1].Inputs[0] = "nowhere" }},
		{"cycle", "cycle", func(g *Graph) { g.Nodes[1].Inputs[0] = "prelu" }},
		{"second output", "first output", func(g *Graph) { g.Nodes[1].Inputs[0] = "conv:1" }},
		{"arity", "takes 1 inputs", func(g *Graph) { g.Nodes[1].Inputs = append(g.Nodes[1].Inputs, "x") }},
	} {
		g := parseTiny(t)
		c.edit(g)
		if _, err := g.Compile(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	// A fused op the executor does not know fails at run time with the node named.
	g := parseTiny(t)
	g.Nodes[0].Fused = []string{"BiasAdd", "Elu"}
	m, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(tensor([]int{1, 2, 2, 1}, 1, 2, 3, 4)); err == nil || !strings.Contains(err.Error(), `"conv"`) {
		t.Fatalf("unsupported fused op: %v", err)
	}
}

func TestTFJSShardErrors(t *testing.T) {
	short := tinyShard()[:5]
	if _, err := ParseTFJS([]byte(tinyModelJSON), func(string) ([]byte, error) { return short, nil }); err == nil ||
		!strings.Contains(err.Error(), "too short") {
		t.Fatalf("short shard: %v", err)
	}
	if _, err := LoadTFJS("testdata/does-not-exist.json"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestFormatRoundTripAndCorruption(t *testing.T) {
	g := parseTiny(t)
	var buf bytes.Buffer
	if err := Write(&buf, g, map[string]string{"source": "hand-written"}); err != nil {
		t.Fatal(err)
	}
	g2, meta, err := Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if meta["source"] != "hand-written" || len(g2.Consts) != len(g.Consts) {
		t.Fatalf("meta %v, %d consts", meta, len(g2.Consts))
	}
	m, err := g2.Compile()
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(tensor([]int{1, 2, 2, 1}, 1, 2, -3, 5))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "round trip", out[0].Data, []float32{1}, 1e-7)

	b := buf.Bytes()
	for _, at := range []int{0, 8, len(b) / 2, len(b) - 40, len(b) - 1} {
		bad := append([]byte{}, b...)
		bad[at] ^= 0x40
		if _, _, err := Read(bad); err == nil {
			t.Errorf("flipped byte %d accepted", at)
		}
	}
	if _, _, err := Read(b[:len(b)-1]); err == nil {
		t.Error("truncated file accepted")
	}
}

// In-place execution must not corrupt a tensor that a Reshape aliases: r = Reshape(c) shares c's
// data, so Relu(c) may not overwrite c while r is still to be used.
func TestInPlaceRespectsAliases(t *testing.T) {
	g := &Graph{
		Inputs:  []Input{{Name: "x", Shape: []int{4}}},
		Outputs: []string{"out"},
		Consts:  map[string]*Tensor{"shape": tensor([]int{2}, 2, 2), "one": tensor(nil, 1)},
		Nodes: []Node{
			{Name: "c", Op: "Sub", Inputs: []string{"x", "one"}},
			{Name: "r", Op: "Reshape", Inputs: []string{"c", "shape"}},
			{Name: "relu", Op: "Relu", Inputs: []string{"c"}},
			{Name: "flat", Op: "Reshape", Inputs: []string{"relu", "shape"}},
			{Name: "out", Op: "Add", Inputs: []string{"r", "flat"}},
		},
	}
	m, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	x := tensor([]int{4}, -1, 0, 2, 3)
	out, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	// c = [-2,-1,1,2]; relu = [0,0,1,2]; out = c + relu.
	near(t, "aliased", out[0].Data, []float32{-2, -1, 2, 4}, 0)
	near(t, "caller's input untouched", x.Data, []float32{-1, 0, 2, 3}, 0)
}
