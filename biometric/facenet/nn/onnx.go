package nn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// ONNX import (onnx/onnx.proto, IR version ≥ 3): a ModelProto is decoded straight from the
// protobuf wire format (encoding rules: protobuf "Encoding" documentation; varint, 64-bit, length
// -delimited and 32-bit fields). The importer supports what convolutional face-embedding networks
// exported from PyTorch use: Conv (plain and depthwise, explicit pads, optional bias), PRelu,
// Add, Mul, Relu, BatchNormalization-free graphs, Flatten/Reshape and Gemm. ONNX tensors are NCHW;
// the executor works in NHWC, so weights are transposed at import and a flatten goes through an
// explicit NHWC→NCHW transpose to keep ONNX's element order.

type pbField struct {
	num  int
	wire int
	v    uint64 // varint / fixed values
	b    []byte // length-delimited
}

func pbFields(b []byte) ([]pbField, error) {
	var out []pbField
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("protobuf: bad key")
		}
		b = b[n:]
		f := pbField{num: int(key >> 3), wire: int(key & 7)}
		switch f.wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, errors.New("protobuf: bad varint")
			}
			f.v, b = v, b[n:]
		case 1:
			if len(b) < 8 {
				return nil, errors.New("protobuf: truncated fixed64")
			}
			f.v, b = binary.LittleEndian.Uint64(b), b[8:]
		case 5:
			if len(b) < 4 {
				return nil, errors.New("protobuf: truncated fixed32")
			}
			f.v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return nil, errors.New("protobuf: bad length")
			}
			f.b, b = b[n:n+int(l)], b[n+int(l):]
		default:
			return nil, fmt.Errorf("protobuf: wire type %d not supported", f.wire)
		}
		out = append(out, f)
	}
	return out, nil
}

// pbInts decodes a repeated int64 field that may be packed or not.
func pbInts(f pbField) ([]int64, error) {
	if f.wire == 0 {
		return []int64{int64(f.v)}, nil
	}
	if f.wire != 2 {
		return nil, errors.New("protobuf: ints of wrong wire type")
	}
	var out []int64
	b := f.b
	for len(b) > 0 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("protobuf: bad packed varint")
		}
		out = append(out, int64(v))
		b = b[n:]
	}
	return out, nil
}

type onnxNode struct {
	inputs, outputs []string
	op              string
	ints            map[string][]int64
	floats          map[string]float32
	tensor          *onnxTensor // a Constant node's value attribute
}

type onnxTensor struct {
	name string
	dims []int
	data []float32
}

func parseTensorProto(b []byte) (onnxTensor, error) {
	fs, err := pbFields(b)
	if err != nil {
		return onnxTensor{}, err
	}
	var t onnxTensor
	dtype := 0
	var raw []byte
	var floats []float32
	var ints []int64
	for _, f := range fs {
		switch f.num {
		case 1:
			ds, err := pbInts(f)
			if err != nil {
				return t, err
			}
			for _, d := range ds {
				if d < 0 || d > maxElements {
					return t, errors.New("tensor: bad dimension")
				}
				t.dims = append(t.dims, int(d))
			}
		case 2:
			dtype = int(f.v)
		case 4: // float_data, packed
			if f.wire == 5 {
				floats = append(floats, math.Float32frombits(uint32(f.v)))
				continue
			}
			for i := 0; i+4 <= len(f.b); i += 4 {
				floats = append(floats, math.Float32frombits(binary.LittleEndian.Uint32(f.b[i:])))
			}
		case 7: // int64_data
			vs, err := pbInts(f)
			if err != nil {
				return t, err
			}
			ints = append(ints, vs...)
		case 8:
			t.name = string(f.b)
		case 9:
			raw = f.b
		}
	}
	n := 1
	for _, d := range t.dims {
		if d > 0 && n > maxElements/d {
			return t, errors.New("tensor: too large")
		}
		n *= d
	}
	switch dtype {
	case 1: // FLOAT
		if raw != nil {
			if len(raw) != 4*n {
				return t, fmt.Errorf("tensor %q: %d raw bytes for %d floats", t.name, len(raw), n)
			}
			t.data = make([]float32, n)
			for i := range t.data {
				t.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			if len(floats) != n {
				return t, fmt.Errorf("tensor %q: %d floats for %d elements", t.name, len(floats), n)
			}
			t.data = floats
		}
	case 7: // INT64
		if raw != nil {
			if len(raw) != 8*n {
				return t, fmt.Errorf("tensor %q: %d raw bytes for %d int64", t.name, len(raw), n)
			}
			for i := 0; i < n; i++ {
				ints = append(ints, int64(binary.LittleEndian.Uint64(raw[8*i:])))
			}
		}
		if len(ints) != n {
			return t, fmt.Errorf("tensor %q: %d int64 for %d elements", t.name, len(ints), n)
		}
		t.data = make([]float32, n)
		for i, v := range ints {
			t.data[i] = float32(v)
		}
	default:
		return t, fmt.Errorf("tensor %q: data type %d not supported", t.name, dtype)
	}
	return t, nil
}

func parseNodeProto(b []byte) (onnxNode, error) {
	fs, err := pbFields(b)
	if err != nil {
		return onnxNode{}, err
	}
	n := onnxNode{ints: map[string][]int64{}, floats: map[string]float32{}}
	for _, f := range fs {
		switch f.num {
		case 1:
			n.inputs = append(n.inputs, string(f.b))
		case 2:
			n.outputs = append(n.outputs, string(f.b))
		case 4:
			n.op = string(f.b)
		case 5:
			afs, err := pbFields(f.b)
			if err != nil {
				return n, err
			}
			var name string
			var ints []int64
			var fl *float32
			for _, a := range afs {
				switch a.num {
				case 5: // t: a tensor (Constant's value)
					t, err := parseTensorProto(a.b)
					if err != nil {
						return n, err
					}
					n.tensor = &t
				case 1:
					name = string(a.b)
				case 2:
					v := math.Float32frombits(uint32(a.v))
					fl = &v
				case 3:
					ints = append(ints, int64(a.v))
				case 8:
					vs, err := pbInts(a)
					if err != nil {
						return n, err
					}
					ints = append(ints, vs...)
				}
			}
			if fl != nil {
				n.floats[name] = *fl
			}
			if ints != nil {
				n.ints[name] = ints
			}
		}
	}
	return n, nil
}

// LoadONNX reads an ONNX model file into a graph (see ParseONNX).
func LoadONNX(path string) (*Graph, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read onnx model: %w", err)
	}
	return ParseONNX(b)
}

// ParseONNX converts an ONNX ModelProto with one 4-D NCHW image input into an NHWC graph: the
// graph's input is [N, H, W, C].
func ParseONNX(b []byte) (*Graph, error) {
	top, err := pbFields(b)
	if err != nil {
		return nil, fmt.Errorf("parse onnx: %w", err)
	}
	var graphBytes []byte
	for _, f := range top {
		if f.num == 7 && f.wire == 2 {
			graphBytes = f.b
		}
	}
	if graphBytes == nil {
		return nil, errors.New("parse onnx: no graph")
	}
	gfs, err := pbFields(graphBytes)
	if err != nil {
		return nil, fmt.Errorf("parse onnx graph: %w", err)
	}
	inits := map[string]onnxTensor{}
	var nodes []onnxNode
	var inputs []Input
	var outputs []string
	for _, f := range gfs {
		switch f.num {
		case 1:
			n, err := parseNodeProto(f.b)
			if err != nil {
				return nil, fmt.Errorf("parse onnx node: %w", err)
			}
			nodes = append(nodes, n)
		case 5:
			t, err := parseTensorProto(f.b)
			if err != nil {
				return nil, fmt.Errorf("parse onnx initializer: %w", err)
			}
			inits[t.name] = t
		case 11:
			in, err := parseValueInfo(f.b)
			if err != nil {
				return nil, fmt.Errorf("parse onnx input: %w", err)
			}
			inputs = append(inputs, in)
		case 12:
			out, err := parseValueInfo(f.b)
			if err != nil {
				return nil, fmt.Errorf("parse onnx output: %w", err)
			}
			outputs = append(outputs, out.Name)
		}
	}
	g := &Graph{Consts: map[string]*Tensor{}, Outputs: outputs}
	for _, in := range inputs {
		if _, isInit := inits[in.Name]; isInit {
			continue // older exporters list initializers as inputs too
		}
		if len(in.Shape) != 4 {
			return nil, fmt.Errorf("parse onnx: input %q has rank %d, want 4 (NCHW)", in.Name, len(in.Shape))
		}
		s := in.Shape
		g.Inputs = append(g.Inputs, Input{Name: in.Name, Shape: []int{s[0], s[2], s[3], s[1]}})
	}
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("parse onnx: %d image inputs, want 1", len(g.Inputs))
	}
	// PyTorch's x.view(x.size(0), -1) exports as Shape → Gather(0) → Unsqueeze → Concat(·, [-1])
	// → Reshape: followed symbolically, it is a flatten.
	shapeOf := map[string]string{}
	batchDim, flattenShape := map[string]bool{}, map[string]bool{}
	constOf := func(name string) (onnxTensor, bool) {
		t, ok := inits[name]
		return t, ok
	}
	// addConst registers a constant under a fresh name.
	addConst := func(name string, t *Tensor) string {
		g.Consts[name] = t
		return name
	}
	// channelVector turns an NCHW per-channel constant ([C], [C,1,1] or [1,C,1,1]) into [C].
	channelVector := func(t onnxTensor) (*Tensor, bool) {
		nonOne := 0
		for _, d := range t.dims {
			if d != 1 {
				nonOne++
			}
		}
		if nonOne > 1 {
			return nil, false
		}
		if len(t.dims) >= 3 && t.dims[len(t.dims)-1] != 1 && len(t.data) > 1 {
			return nil, false // varies along W: not a per-channel constant
		}
		return &Tensor{Shape: []int{len(t.data)}, Data: t.data}, true
	}
	for i, n := range nodes {
		if len(n.outputs) != 1 {
			return nil, fmt.Errorf("parse onnx: node %d (%s) has %d outputs", i, n.op, len(n.outputs))
		}
		name := n.outputs[0]
		if len(n.inputs) == 0 && n.op != "Constant" {
			return nil, fmt.Errorf("parse onnx: node %q (%s) has no inputs", name, n.op)
		}
		switch n.op {
		case "Constant":
			if n.tensor == nil {
				return nil, fmt.Errorf("parse onnx: constant %q has no tensor value", name)
			}
			t := *n.tensor
			t.name = name
			inits[name] = t
		case "Shape":
			shapeOf[name] = n.inputs[0]
		case "Gather":
			// Shape(x)[0]: the batch size, the first half of PyTorch's x.view(x.size(0), -1).
			idx, ok := constOf(n.inputs[len(n.inputs)-1])
			if _, isShape := shapeOf[n.inputs[0]]; !isShape || !ok || len(idx.data) != 1 || idx.data[0] != 0 || len(n.inputs) != 2 {
				return nil, fmt.Errorf("parse onnx: gather %q: only the batch dimension of a Shape", name)
			}
			batchDim[name] = true
		case "Unsqueeze":
			if !batchDim[n.inputs[0]] {
				return nil, fmt.Errorf("parse onnx: unsqueeze %q: only of the batch dimension", name)
			}
			batchDim[name] = true
		case "Concat":
			rest, ok := constOf(n.inputs[len(n.inputs)-1])
			if len(n.inputs) != 2 || !batchDim[n.inputs[0]] || !ok || len(rest.data) != 1 || rest.data[0] != -1 {
				return nil, fmt.Errorf("parse onnx: concat %q: only [batch, -1] shapes", name)
			}
			flattenShape[name] = true
		case "GlobalAveragePool":
			// NCHW → [N, C, 1, 1] is, in the executor's NHWC, the mean over H and W kept as 1s.
			axes := addConst(name+"/axes", &Tensor{Shape: []int{2}, Data: []float32{1, 2}})
			g.Nodes = append(g.Nodes, Node{Name: name, Op: "Mean", Inputs: []string{n.inputs[0], axes}, KeepDims: true})
		case "MatMul":
			if len(n.inputs) != 2 {
				return nil, fmt.Errorf("parse onnx: matmul %q needs 2 inputs", name)
			}
			t, ok := constOf(n.inputs[1])
			if !ok || len(t.dims) != 2 {
				return nil, fmt.Errorf("parse onnx: matmul %q: B must be a constant matrix", name)
			}
			g.Nodes = append(g.Nodes, Node{Name: name, Op: "MatMul", Inputs: []string{n.inputs[0], addConst(name+"/B", &Tensor{Shape: t.dims, Data: t.data})}})
		case "BatchNormalization":
			// Inference form on features: y = (x − mean)/√(var + ε)·scale + bias, one multiply and
			// one add per feature (ONNX operators, BatchNormalization).
			if len(n.inputs) != 5 {
				return nil, fmt.Errorf("parse onnx: batchnorm %q: needs 5 inputs", name)
			}
			var ps [4]onnxTensor
			for j := range ps {
				t, ok := constOf(n.inputs[j+1])
				if !ok || (j > 0 && len(t.data) != len(ps[0].data)) {
					return nil, fmt.Errorf("parse onnx: batchnorm %q: parameters must be constants of one length", name)
				}
				ps[j] = t
			}
			eps := float32(1e-5)
			if e, ok := n.floats["epsilon"]; ok {
				eps = e
			}
			k := len(ps[0].data)
			mul, add := &Tensor{Shape: []int{k}, Data: make([]float32, k)}, &Tensor{Shape: []int{k}, Data: make([]float32, k)}
			for j := 0; j < k; j++ {
				m := ps[0].data[j] / float32(math.Sqrt(float64(ps[3].data[j]+eps)))
				mul.Data[j], add.Data[j] = m, ps[1].data[j]-ps[2].data[j]*m
			}
			g.Nodes = append(g.Nodes, Node{Name: name + "/scale", Op: "Mul", Inputs: []string{n.inputs[0], addConst(name+"/mul", mul)}},
				Node{Name: name, Op: "Add", Inputs: []string{name + "/scale", addConst(name+"/add", add)}})
		case "Conv":
			node, err := importConv(n, inits, addConst)
			if err != nil {
				return nil, fmt.Errorf("parse onnx: conv %q: %w", name, err)
			}
			g.Nodes = append(g.Nodes, node...)
		case "PRelu", "Add", "Mul", "Sub":
			if len(n.inputs) != 2 {
				return nil, fmt.Errorf("parse onnx: %s %q needs 2 inputs", n.op, name)
			}
			ins := append([]string{}, n.inputs...)
			for j, in := range ins {
				if t, ok := constOf(in); ok {
					v, ok := channelVector(t)
					if !ok {
						return nil, fmt.Errorf("parse onnx: %s %q: constant %v is not per-channel", n.op, name, t.dims)
					}
					ins[j] = addConst(name+"/const"+fmt.Sprint(j), v)
				}
			}
			op := n.op
			if op == "PRelu" {
				op = "Prelu"
			}
			g.Nodes = append(g.Nodes, Node{Name: name, Op: op, Inputs: ins})
		case "Relu", "Sigmoid":
			g.Nodes = append(g.Nodes, Node{Name: name, Op: n.op, Inputs: n.inputs[:1]})
		case "Flatten", "Reshape":
			// Restore NCHW element order, then flatten/reshape as ONNX does.
			tr := name + "/to_nchw"
			g.Nodes = append(g.Nodes, Node{Name: tr, Op: "ToNCHW", Inputs: n.inputs[:1]})
			var shape *Tensor
			if n.op == "Flatten" {
				if a, ok := n.ints["axis"]; ok && (len(a) != 1 || a[0] != 1) {
					return nil, fmt.Errorf("parse onnx: flatten %q: only axis 1", name)
				}
				shape = &Tensor{Shape: []int{2}, Data: []float32{0, -1}}
			} else {
				if len(n.inputs) != 2 {
					return nil, fmt.Errorf("parse onnx: reshape %q: needs data and shape", name)
				}
				t, ok := constOf(n.inputs[1])
				if flattenShape[n.inputs[1]] {
					t, ok = onnxTensor{dims: []int{2}, data: []float32{0, -1}}, true
				}
				if !ok {
					return nil, fmt.Errorf("parse onnx: reshape %q: shape must be a constant", name)
				}
				shape = &Tensor{Shape: []int{len(t.data)}, Data: append([]float32{}, t.data...)}
			}
			g.Nodes = append(g.Nodes, Node{Name: name, Op: "ReshapeONNX", Inputs: []string{tr, addConst(name+"/shape", shape)}})
		case "Gemm":
			if len(n.inputs) < 2 || len(n.inputs) > 3 {
				return nil, fmt.Errorf("parse onnx: gemm %q: needs 2 or 3 inputs", name)
			}
			t, ok := constOf(n.inputs[1])
			if !ok || len(t.dims) != 2 {
				return nil, fmt.Errorf("parse onnx: gemm %q: B must be a constant matrix", name)
			}
			if a, ok := n.floats["alpha"]; ok && a != 1 {
				return nil, fmt.Errorf("parse onnx: gemm %q: alpha %g", name, a)
			}
			tb := n.ints["transB"]
			w := &Tensor{Shape: t.dims, Data: t.data}
			node := Node{Name: name, Op: "MatMul", Inputs: []string{n.inputs[0], addConst(name+"/B", w)},
				TransposeA: len(n.ints["transA"]) == 1 && n.ints["transA"][0] == 1, TransposeB: len(tb) == 1 && tb[0] == 1}
			if len(n.inputs) == 3 {
				c, ok := constOf(n.inputs[2])
				if !ok {
					return nil, fmt.Errorf("parse onnx: gemm %q: C must be a constant", name)
				}
				node.Op = "_FusedMatMul"
				node.Fused = []string{"BiasAdd"}
				node.Inputs = append(node.Inputs, addConst(name+"/C", &Tensor{Shape: []int{len(c.data)}, Data: c.data}))
			}
			g.Nodes = append(g.Nodes, node)
		default:
			return nil, fmt.Errorf("parse onnx: op %s (node %q) not supported", n.op, name)
		}
	}
	fusePrelu(g)
	return g, nil
}

// fusePrelu folds a PRelu with a constant per-channel slope into the convolution that feeds it
// (when nothing else reads the convolution's output): the fused kernels apply bias and PReLU in
// one pass over the output (see epilogue).
func fusePrelu(g *Graph) {
	uses := map[string]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			uses[in]++
		}
	}
	for _, o := range g.Outputs {
		uses[o]++
	}
	byName := map[string]int{}
	for i, n := range g.Nodes {
		byName[n.Name] = i
	}
	drop := map[int]bool{}
	for i, n := range g.Nodes {
		if n.Op != "Prelu" || len(n.Inputs) != 2 {
			continue
		}
		if _, ok := g.Consts[n.Inputs[1]]; !ok {
			continue
		}
		ci, ok := byName[n.Inputs[0]]
		if !ok || uses[n.Inputs[0]] != 1 {
			continue
		}
		c := &g.Nodes[ci]
		if (c.Op != "_FusedConv2D" && c.Op != "FusedDepthwiseConv2dNative") || len(c.Fused) != 1 || c.Fused[0] != "BiasAdd" {
			continue
		}
		c.Fused = []string{"BiasAdd", "Prelu"}
		c.Inputs = append(c.Inputs, n.Inputs[1])
		// The convolution takes over the PReLU's name, so its consumers need no change.
		c.Name = n.Name
		drop[i] = true
	}
	if len(drop) == 0 {
		return
	}
	nodes := g.Nodes[:0]
	for i, n := range g.Nodes {
		if !drop[i] {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
}

func parseValueInfo(b []byte) (Input, error) {
	fs, err := pbFields(b)
	if err != nil {
		return Input{}, err
	}
	var in Input
	for _, f := range fs {
		switch f.num {
		case 1:
			in.Name = string(f.b)
		case 2: // TypeProto → tensor_type (1) → shape (2) → dim (1) → dim_value (1)
			tfs, err := pbFields(f.b)
			if err != nil {
				return in, err
			}
			for _, tf := range tfs {
				if tf.num != 1 {
					continue
				}
				tts, err := pbFields(tf.b)
				if err != nil {
					return in, err
				}
				for _, tt := range tts {
					if tt.num != 2 {
						continue
					}
					dims, err := pbFields(tt.b)
					if err != nil {
						return in, err
					}
					for _, d := range dims {
						if d.num != 1 {
							continue
						}
						dv, err := pbFields(d.b)
						if err != nil {
							return in, err
						}
						size := -1 // symbolic (dim_param): any size
						for _, x := range dv {
							if x.num == 1 && x.wire == 0 {
								size = int(int64(x.v))
							}
						}
						in.Shape = append(in.Shape, size)
					}
				}
			}
		}
	}
	return in, nil
}

// importConv maps an ONNX Conv (weights [O, I/group, kh, kw]) to Conv2D (HWIO) when group is 1 or
// to a depthwise convolution ([kh, kw, C, 1]) when group equals the channels and O = C.
func importConv(n onnxNode, inits map[string]onnxTensor, addConst func(string, *Tensor) string) ([]Node, error) {
	if len(n.inputs) < 2 || len(n.inputs) > 3 {
		return nil, errors.New("needs 2 or 3 inputs")
	}
	w, ok := inits[n.inputs[1]]
	if !ok || len(w.dims) != 4 {
		return nil, errors.New("weights must be a 4-D constant")
	}
	for _, d := range n.ints["dilations"] {
		if d != 1 {
			return nil, errors.New("dilation not supported")
		}
	}
	o, ipg, kh, kw := w.dims[0], w.dims[1], w.dims[2], w.dims[3]
	if ks := n.ints["kernel_shape"]; len(ks) == 2 && (int(ks[0]) != kh || int(ks[1]) != kw) {
		return nil, errors.New("kernel_shape disagrees with the weights")
	}
	group := 1
	if gr := n.ints["group"]; len(gr) == 1 {
		group = int(gr[0])
	}
	strides := []int{1, 1, 1, 1}
	if s := n.ints["strides"]; len(s) == 2 {
		strides = []int{1, int(s[0]), int(s[1]), 1}
	}
	pads := []int{0, 0, 0, 0} // ONNX: top, left, bottom, right
	if p := n.ints["pads"]; len(p) == 4 {
		for i, v := range p {
			if v < 0 || v > 64 {
				return nil, errors.New("bad pads")
			}
			pads[i] = int(v)
		}
	}
	if ap, ok := n.ints["auto_pad"]; ok && len(ap) > 0 {
		return nil, errors.New("auto_pad not supported")
	}
	name := n.outputs[0]
	var wt *Tensor
	var op string
	switch {
	case group == 1:
		wt = NewTensor(kh, kw, ipg, o)
		for oc := 0; oc < o; oc++ {
			for ic := 0; ic < ipg; ic++ {
				for y := 0; y < kh; y++ {
					for x := 0; x < kw; x++ {
						wt.Data[((y*kw+x)*ipg+ic)*o+oc] = w.data[((oc*ipg+ic)*kh+y)*kw+x]
					}
				}
			}
		}
		op = "Conv2D"
	case ipg == 1 && group == o:
		wt = NewTensor(kh, kw, o, 1)
		for c := 0; c < o; c++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					wt.Data[(y*kw+x)*o+c] = w.data[(c*kh+y)*kw+x]
				}
			}
		}
		op = "DepthwiseConv2dNative"
	default:
		return nil, fmt.Errorf("grouped convolution (group %d) not supported", group)
	}
	in := n.inputs[0]
	var out []Node
	if pads[0]+pads[1]+pads[2]+pads[3] > 0 {
		p := &Tensor{Shape: []int{4, 2}, Data: []float32{0, 0, float32(pads[0]), float32(pads[2]), float32(pads[1]), float32(pads[3]), 0, 0}}
		out = append(out, Node{Name: name + "/pad", Op: "Pad", Inputs: []string{in, addConst(name+"/pads", p)}})
		in = name + "/pad"
	}
	node := Node{Name: name, Op: op, Inputs: []string{in, addConst(name+"/w", wt)}, Strides: strides, Padding: "VALID"}
	if len(n.inputs) == 3 {
		b, ok := inits[n.inputs[2]]
		if !ok || len(b.data) != o {
			return nil, errors.New("bias must be a constant of one value per output channel")
		}
		node.Inputs = append(node.Inputs, addConst(name+"/b", &Tensor{Shape: []int{o}, Data: b.data}))
		node.Fused = []string{"BiasAdd"}
		if op == "Conv2D" {
			node.Op = "_FusedConv2D"
		} else {
			node.Op = "FusedDepthwiseConv2dNative"
		}
	}
	return append(out, node), nil
}
