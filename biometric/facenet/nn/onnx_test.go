package nn

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// A minimal protobuf writer for building ONNX models in tests.
type pb []byte

func (p pb) key(num, wire int) pb { return binary.AppendUvarint(p, uint64(num<<3|wire)) }
func (p pb) varint(num int, v int64) pb {
	return binary.AppendUvarint(p.key(num, 0), uint64(v))
}
func (p pb) bytes(num int, b []byte) pb {
	p = binary.AppendUvarint(p.key(num, 2), uint64(len(b)))
	return append(p, b...)
}
func (p pb) str(num int, s string) pb { return p.bytes(num, []byte(s)) }

func onnxFloatTensor(name string, dims []int64, vals []float32) pb {
	var t pb
	for _, d := range dims {
		t = t.varint(1, d)
	}
	t = t.varint(2, 1).str(8, name)
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return t.bytes(9, raw)
}

func onnxInt64Tensor(name string, vals []int64) pb {
	t := pb{}.varint(1, int64(len(vals))).varint(2, 7).str(8, name)
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return t.bytes(9, raw)
}

func onnxNodeProto(op string, in []string, out string, ints map[string][]int64) pb {
	var n pb
	for _, i := range in {
		n = n.str(1, i)
	}
	n = n.str(2, out).str(3, out).str(4, op)
	for name, vs := range ints {
		a := pb{}.str(1, name)
		if len(vs) == 1 && name == "group" {
			a = a.varint(3, vs[0]).varint(20, 2)
		} else {
			var packed pb
			for _, v := range vs {
				packed = binary.AppendUvarint(packed, uint64(v))
			}
			a = a.bytes(8, packed).varint(20, 7)
		}
		n = n.bytes(5, a)
	}
	return n
}

func onnxValueInfo(name string, dims []int64) pb {
	var shape pb
	for _, d := range dims {
		shape = shape.bytes(1, pb{}.varint(1, d))
	}
	tt := pb{}.varint(1, 1).bytes(2, shape)
	return pb{}.str(1, name).bytes(2, pb{}.bytes(1, tt))
}

// tinyONNX: Conv 1×1 (+bias) → PRelu ([C,1,1] slope) → depthwise 3×3 Conv (group 2, pads 1)
// → Add → Reshape [1,-1] (NCHW flatten).
func tinyONNX() []byte {
	g := pb{}.
		bytes(1, onnxNodeProto("Conv", []string{"x", "w1", "b1"}, "c1", map[string][]int64{"kernel_shape": {1, 1}})).
		bytes(1, onnxNodeProto("PRelu", []string{"c1", "slope"}, "p", nil)).
		bytes(1, onnxNodeProto("Conv", []string{"p", "w2"}, "c3", map[string][]int64{"group": {2}, "pads": {1, 1, 1, 1}, "strides": {1, 1}})).
		bytes(1, onnxNodeProto("Add", []string{"c3", "p"}, "a", nil)).
		bytes(1, onnxNodeProto("Reshape", []string{"a", "shape"}, "y", nil)).
		str(2, "tiny").
		bytes(5, onnxFloatTensor("w1", []int64{2, 2, 1, 1}, []float32{1, 2, 3, 4})).
		bytes(5, onnxFloatTensor("b1", []int64{2}, []float32{0, -10})).
		bytes(5, onnxFloatTensor("slope", []int64{2, 1, 1}, []float32{0.5, 0.25})).
		bytes(5, onnxFloatTensor("w2", []int64{2, 1, 3, 3}, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0})).
		bytes(5, onnxInt64Tensor("shape", []int64{1, -1})).
		bytes(11, onnxValueInfo("x", []int64{1, 2, 2, 2})).
		bytes(12, onnxValueInfo("y", []int64{1, 8}))
	return pb{}.varint(1, 7).bytes(8, pb{}.str(1, "").varint(2, 9)).bytes(7, g)
}

// Hand-computed: NCHW input ch0 = [1,2,3,4], ch1 = [0,1,0,-1]. Conv 1×1: o0 = x0+2x1,
// o1 = 3x0+4x1-10 → o0 = [1,4,3,2], o1 = [-7,0,-1,-2]; PRelu → o1 = [-1.75,0,-0.25,-0.5];
// depthwise: ch0 sums the whole 2×2 image (10), ch1 is the identity; Add → ch0 [11,14,13,12],
// ch1 [-3.5,0,-0.5,-1]; flatten in NCHW order.
func TestONNXHandComputed(t *testing.T) {
	g, err := ParseONNX(tinyONNX())
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Inputs) != 1 || !sameShape(g.Inputs[0].Shape, []int{1, 2, 2, 2}) || g.Outputs[0] != "y" {
		t.Fatalf("inputs %v outputs %v", g.Inputs, g.Outputs)
	}
	m, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	// NHWC: pixel by pixel (ch0, ch1).
	out, err := m.Run(tensor([]int{1, 2, 2, 2}, 1, 0, 2, 1, 3, 0, 4, -1))
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "y", out[0], 1, 8)
	near(t, "y", out[0].Data, []float32{11, 14, 13, 12, -3.5, 0, -0.5, -1}, 1e-6)
}

// seONNX: the ops of a MiniFASNet-style classifier (Faceplugin's fr_liveness): a
// squeeze-excitation scaling (GlobalAveragePool, Mul by a computed tensor), PyTorch's
// x.view(x.size(0), -1) (Shape → Gather of a Constant 0 → Unsqueeze → Concat with [-1] →
// Reshape), a MatMul and a BatchNormalization on the features.
func seONNX() []byte {
	zero := onnxNodeProto("Constant", nil, "zero", nil).
		bytes(5, pb{}.str(1, "value").bytes(5, onnxInt64Tensor("", []int64{0})).varint(20, 4))
	b := make([]float32, 16) // [8, 2]: column 0 sums the first four features, column 1 takes the first
	for i := 0; i < 4; i++ {
		b[2*i] = 1
	}
	b[1] = 1
	g := pb{}.
		bytes(1, onnxNodeProto("GlobalAveragePool", []string{"x"}, "gap", nil)).
		bytes(1, onnxNodeProto("Mul", []string{"x", "gap"}, "se", nil)).
		bytes(1, onnxNodeProto("Shape", []string{"se"}, "shp", nil)).
		bytes(1, zero).
		bytes(1, onnxNodeProto("Gather", []string{"shp", "zero"}, "n", nil)).
		bytes(1, onnxNodeProto("Unsqueeze", []string{"n"}, "n1", map[string][]int64{"axes": {0}})).
		bytes(1, onnxNodeProto("Concat", []string{"n1", "minus1"}, "newshape", map[string][]int64{"axis": {0}})).
		bytes(1, onnxNodeProto("Reshape", []string{"se", "newshape"}, "flat", nil)).
		bytes(1, onnxNodeProto("MatMul", []string{"flat", "B"}, "mm", nil)).
		bytes(1, onnxNodeProto("BatchNormalization", []string{"mm", "bnw", "bnb", "bnm", "bnv"}, "y", nil)).
		bytes(5, onnxInt64Tensor("minus1", []int64{-1})).
		bytes(5, onnxFloatTensor("B", []int64{8, 2}, b)).
		bytes(5, onnxFloatTensor("bnw", []int64{2}, []float32{2, 1})).
		bytes(5, onnxFloatTensor("bnb", []int64{2}, []float32{1, 0})).
		bytes(5, onnxFloatTensor("bnm", []int64{2}, []float32{5, 0.5})).
		bytes(5, onnxFloatTensor("bnv", []int64{2}, []float32{4, 1})).
		bytes(11, onnxValueInfo("x", []int64{1, 2, 2, 2})).
		bytes(12, onnxValueInfo("y", []int64{1, 2}))
	return pb{}.varint(1, 7).bytes(7, g)
}

// Hand-computed: ch0 = [1,2,3,4] (mean 2.5), ch1 = [0,1,0,-1] (mean 0); SE → ch0 [2.5,5,7.5,10],
// ch1 zeros; flatten (NCHW) → MatMul → [25, 2.5]; BatchNormalization (ε 1e-5):
// (25−5)/√4·2+1 = 21, (2.5−0.5)/√1 = 2.
func TestONNXSqueezeExcitationFlattenBatchNorm(t *testing.T) {
	g, err := ParseONNX(seONNX())
	if err != nil {
		t.Fatal(err)
	}
	m, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(tensor([]int{1, 2, 2, 2}, 1, 0, 2, 1, 3, 0, 4, -1))
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "y", out[0], 1, 2)
	near(t, "y", out[0].Data, []float32{21, 2}, 1e-4)
	// Gathering any dimension but the batch is not the flatten idiom: refused.
	bad := pb{}.bytes(7, pb{}.
		bytes(1, onnxNodeProto("Shape", []string{"x"}, "shp", nil)).
		bytes(1, onnxNodeProto("Gather", []string{"shp", "one"}, "n", nil)).
		bytes(5, onnxInt64Tensor("one", []int64{1})).
		bytes(11, onnxValueInfo("x", []int64{1, 2, 2, 2})))
	if _, err := ParseONNX(bad); err == nil || !strings.Contains(err.Error(), "batch dimension") {
		t.Fatalf("gather of dimension 1: %v", err)
	}
}

func TestONNXErrors(t *testing.T) {
	for _, c := range []struct {
		name, want string
		model      []byte
	}{
		{"garbage", "protobuf", []byte{0xff, 0xff, 0xff}},
		{"no graph", "no graph", pb{}.varint(1, 7)},
		{"unsupported op", "not supported", pb{}.bytes(7, pb{}.
			bytes(1, onnxNodeProto("LSTM", []string{"x"}, "y", nil)).
			bytes(11, onnxValueInfo("x", []int64{1, 3, 4, 4})))},
		{"grouped conv", "group", pb{}.bytes(7, pb{}.
			bytes(1, onnxNodeProto("Conv", []string{"x", "w"}, "y", map[string][]int64{"group": {2}})).
			bytes(5, onnxFloatTensor("w", []int64{4, 2, 1, 1}, make([]float32, 8))).
			bytes(11, onnxValueInfo("x", []int64{1, 4, 4, 4})))},
		{"short raw data", "raw bytes", pb{}.bytes(7, pb{}.
			bytes(5, onnxFloatTensor("w", []int64{4, 2}, make([]float32, 3))).
			bytes(11, onnxValueInfo("x", []int64{1, 4, 4, 4})))},
	} {
		if _, err := ParseONNX(c.model); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzParseONNX: any bytes either import into a graph (that then compiles and runs on a small
// input or fails cleanly) or give an error; never a panic.
func FuzzParseONNX(f *testing.F) {
	f.Add(tinyONNX())
	f.Add(seONNX())
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseONNX(b)
		if err != nil {
			return
		}
		runSmall(g)
	})
}
