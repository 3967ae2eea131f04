package nn

import (
	"fmt"
	"strings"
)

// maxElements bounds any tensor the executor creates or loads (256 M floats = 1 GiB), so that a
// corrupt model fails with an error instead of exhausting memory.
const maxElements = 1 << 28

// Node is one operation of an inference graph, with the attributes the supported ops use already
// decoded from TensorFlow's NodeDef attributes.
type Node struct {
	Name       string   `json:"name"`
	Op         string   `json:"op"`
	Inputs     []string `json:"inputs,omitempty"`
	Strides    []int    `json:"strides,omitempty"`
	KSize      []int    `json:"ksize,omitempty"`
	Padding    string   `json:"padding,omitempty"`
	Fused      []string `json:"fused,omitempty"`
	Dims       []int    `json:"dims,omitempty"` // Squeeze
	KeepDims   bool     `json:"keep_dims,omitempty"`
	TransposeA bool     `json:"transpose_a,omitempty"`
	TransposeB bool     `json:"transpose_b,omitempty"`
	Alpha      float32  `json:"alpha,omitempty"` // LeakyRelu
}

// Input is a graph placeholder; a dimension of -1 accepts any size (the batch).
type Input struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Graph is a model: placeholders, constant tensors (weights) and operation nodes.
type Graph struct {
	Inputs  []Input            `json:"inputs"`
	Outputs []string           `json:"outputs"`
	Nodes   []Node             `json:"nodes"`
	Consts  map[string]*Tensor `json:"-"`
}

// supportedOps lists every operation Run implements with the number of inputs it takes
// (-1: checked by the op itself).
var supportedOps = map[string]int{
	"Conv2D": 2, "_FusedConv2D": -1, "DepthwiseConv2dNative": 2, "FusedDepthwiseConv2dNative": -1,
	"MatMul": 2, "_FusedMatMul": -1, "MaxPool": 1, "Pad": 2, "PadV2": 3, "Reshape": 2, "Squeeze": 1,
	"Mean": 2, "Sum": 2, "Softmax": 1, "LeakyRelu": 1,
	"Add": 2, "AddV2": 2, "Sub": 2, "Mul": 2, "RealDiv": 2, "Maximum": 2, "Minimum": 2,
	"Relu": 1, "Relu6": 1, "Abs": 1, "Neg": 1, "Square": 1, "Sqrt": 1, "Rsqrt": 1, "Exp": 1,
	"Sigmoid": 1, "Tanh": 1, "Identity": 1, "Prelu": 2, "ToNCHW": 1, "ReshapeONNX": 2,
}

// Model is a compiled graph, safe for concurrent use by several goroutines.
type Model struct {
	g       *Graph
	steps   []step
	nvals   int
	inputs  []int // value slots of the placeholders
	outputs []int // value slots of the outputs
}

type step struct {
	node    *Node
	args    []int // value slots
	out     int
	release []int // slots whose last use is this step
	inplace bool  // the first argument is an intermediate that dies here and shares no data
}

// aliasOps return a tensor that shares its input's data.
var aliasOps = map[string]bool{"Reshape": true, "ReshapeONNX": true, "Squeeze": true}

// baseName strips TensorFlow's ":0" output suffix.
func baseName(in string) (string, error) {
	if i := strings.LastIndexByte(in, ':'); i >= 0 {
		if in[i+1:] != "0" {
			return "", fmt.Errorf("input %q: only the first output of a node is supported", in)
		}
		return in[:i], nil
	}
	return in, nil
}

// Compile checks the graph (every op supported, every input defined, no cycle) and orders the
// nodes the outputs need.
func (g *Graph) Compile() (*Model, error) {
	if len(g.Inputs) == 0 || len(g.Outputs) == 0 {
		return nil, fmt.Errorf("compile: graph needs inputs and outputs")
	}
	nodes := make(map[string]*Node, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if _, dup := nodes[n.Name]; dup {
			return nil, fmt.Errorf("compile: node %q defined twice", n.Name)
		}
		if _, isConst := g.Consts[n.Name]; isConst {
			return nil, fmt.Errorf("compile: node %q is also a constant", n.Name)
		}
		nodes[n.Name] = n
	}
	m := &Model{g: g}
	slot := map[string]int{}
	for _, in := range g.Inputs {
		if _, dup := slot[in.Name]; dup {
			return nil, fmt.Errorf("compile: input %q twice", in.Name)
		}
		slot[in.Name] = m.nvals
		m.inputs = append(m.inputs, m.nvals)
		m.nvals++
	}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var visit func(name string, depth int) (int, error)
	visit = func(name string, depth int) (int, error) {
		if s, ok := slot[name]; ok && state[name] != visiting {
			return s, nil
		}
		if depth > 100000 {
			return 0, fmt.Errorf("graph too deep")
		}
		if c, ok := g.Consts[name]; ok {
			if c == nil {
				return 0, fmt.Errorf("constant %q is empty", name)
			}
			slot[name] = m.nvals
			m.nvals++
			return slot[name], nil
		}
		n, ok := nodes[name]
		if !ok {
			return 0, fmt.Errorf("%q is not defined", name)
		}
		if state[name] == visiting {
			return 0, fmt.Errorf("cycle through %q", name)
		}
		want, ok := supportedOps[n.Op]
		if !ok {
			return 0, fmt.Errorf("node %q: op %s not supported", n.Name, n.Op)
		}
		if want >= 0 && len(n.Inputs) != want {
			return 0, fmt.Errorf("node %q: %s takes %d inputs, has %d", n.Name, n.Op, want, len(n.Inputs))
		}
		state[name] = visiting
		st := step{node: n}
		for _, in := range n.Inputs {
			b, err := baseName(in)
			if err != nil {
				return 0, fmt.Errorf("node %q: %w", n.Name, err)
			}
			s, err := visit(b, depth+1)
			if err != nil {
				return 0, err
			}
			st.args = append(st.args, s)
		}
		state[name] = done
		st.out = m.nvals
		slot[name] = m.nvals
		m.nvals++
		m.steps = append(m.steps, st)
		return st.out, nil
	}
	for _, o := range g.Outputs {
		b, err := baseName(o)
		if err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
		s, err := visit(b, 0)
		if err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
		m.outputs = append(m.outputs, s)
	}
	// Release each intermediate after its last use, unless it is an output.
	keep := map[int]bool{}
	for _, s := range m.outputs {
		keep[s] = true
	}
	last := map[int]int{}
	for i, st := range m.steps {
		for _, a := range st.args {
			last[a] = i
		}
	}
	for s, i := range last {
		if !keep[s] {
			m.steps[i].release = append(m.steps[i].release, s)
		}
	}
	// In place: an elementwise step may overwrite its first argument when that is an intermediate
	// (not a constant, not a caller's input) produced by a non-aliasing op, consumed by no
	// aliasing op, used only once in this step, and dead after it.
	producer := map[int]*Node{}
	aliased := map[int]bool{}
	for _, st := range m.steps {
		producer[st.out] = st.node
		if aliasOps[st.node.Op] {
			for _, a := range st.args {
				aliased[a] = true
			}
		}
	}
	for i := range m.steps {
		st := &m.steps[i]
		_, bin := binaryOps[st.node.Op]
		_, un := unaryOps[st.node.Op]
		if (!bin && !un) || len(st.args) == 0 {
			continue
		}
		a0 := st.args[0]
		p, ok := producer[a0]
		if !ok || aliasOps[p.Op] || aliased[a0] || keep[a0] || last[a0] != i {
			continue
		}
		if len(st.args) == 2 && st.args[1] == a0 {
			continue
		}
		st.inplace = true
	}
	return m, nil
}

// Graph returns the graph the model was compiled from.
func (m *Model) Graph() *Graph { return m.g }

// Run executes the model on one tensor per placeholder and returns the outputs in the order of
// Graph.Outputs.
func (m *Model) Run(inputs ...*Tensor) ([]*Tensor, error) {
	if len(inputs) != len(m.g.Inputs) {
		return nil, fmt.Errorf("run: %d inputs, model takes %d", len(inputs), len(m.g.Inputs))
	}
	vals := make([]*Tensor, m.nvals)
	for i, in := range inputs {
		spec := m.g.Inputs[i]
		if in == nil || len(in.Shape) != len(spec.Shape) || len(in.Data) != numElements(in.Shape) {
			return nil, fmt.Errorf("run: input %q: bad tensor", spec.Name)
		}
		for d, want := range spec.Shape {
			if want >= 0 && in.Shape[d] != want {
				return nil, fmt.Errorf("run: input %q has shape %v, want %v", spec.Name, in.Shape, spec.Shape)
			}
		}
		vals[m.inputs[i]] = in
	}
	// Constants take their slots lazily: look them up by the step arguments.
	for _, st := range m.steps {
		args := make([]*Tensor, len(st.args))
		for j, s := range st.args {
			if vals[s] == nil {
				name, _ := baseName(st.node.Inputs[j])
				c, ok := m.g.Consts[name]
				if !ok {
					return nil, fmt.Errorf("run: node %q: input %q has no value", st.node.Name, name)
				}
				vals[s] = c
			}
			args[j] = vals[s]
		}
		var dst *Tensor
		if st.inplace {
			dst = args[0]
		}
		out, err := exec(st.node, args, dst)
		if err != nil {
			return nil, fmt.Errorf("run: node %q (%s): %w", st.node.Name, st.node.Op, err)
		}
		vals[st.out] = out
		for _, r := range st.release {
			vals[r] = nil
		}
	}
	outs := make([]*Tensor, len(m.outputs))
	for i, s := range m.outputs {
		outs[i] = vals[s]
	}
	return outs, nil
}

// exec runs one node. dst, when not nil, is a tensor the node may overwrite with its result
// (its first argument, dead after this step); elementwise ops use it to work in place.
func exec(n *Node, a []*Tensor, dst *Tensor) (*Tensor, error) {
	if _, ok := binaryOps[n.Op]; ok {
		return broadcastOp(a[0], a[1], n.Op, dst)
	}
	if _, ok := unaryOps[n.Op]; ok {
		return unary(a[0], n.Op, dst), nil
	}
	switch n.Op {
	case "Conv2D":
		return conv2D(a[0], a[1], n.Strides, n.Padding, nil)
	case "DepthwiseConv2dNative":
		return depthwiseConv2D(a[0], a[1], n.Strides, n.Padding, nil)
	case "_FusedConv2D", "FusedDepthwiseConv2dNative":
		if len(a) < 2 {
			return nil, fmt.Errorf("needs input and filter")
		}
		ep, err := fusedEpilogue(n, a[2:], a[1].Shape[len(a[1].Shape)-1]*depthMult(n, a[1]))
		if err != nil {
			return nil, err
		}
		if n.Op == "_FusedConv2D" {
			return conv2D(a[0], a[1], n.Strides, n.Padding, ep)
		}
		return depthwiseConv2D(a[0], a[1], n.Strides, n.Padding, ep)
	case "MatMul":
		return matMul(a[0], a[1], n.TransposeA, n.TransposeB, nil)
	case "_FusedMatMul":
		if len(a) < 2 || len(a[1].Shape) != 2 {
			return nil, fmt.Errorf("needs two matrices")
		}
		cols := a[1].Shape[1]
		if n.TransposeB {
			cols = a[1].Shape[0]
		}
		ep, err := fusedEpilogue(n, a[2:], cols)
		if err != nil {
			return nil, err
		}
		return matMul(a[0], a[1], n.TransposeA, n.TransposeB, ep)
	case "MaxPool":
		return maxPool(a[0], n.KSize, n.Strides, n.Padding)
	case "Pad":
		return pad(a[0], a[1], 0)
	case "PadV2":
		if len(a[2].Data) != 1 {
			return nil, fmt.Errorf("pad value must be a scalar")
		}
		return pad(a[0], a[1], a[2].Data[0])
	case "Reshape":
		return reshape(a[0], a[1])
	case "ReshapeONNX":
		return reshapeONNX(a[0], a[1])
	case "ToNCHW":
		return toNCHW(a[0])
	case "Squeeze":
		return squeeze(a[0], n.Dims)
	case "Mean":
		return reduce(a[0], a[1], n.KeepDims, true)
	case "Sum":
		return reduce(a[0], a[1], n.KeepDims, false)
	case "Softmax":
		return softmax(a[0])
	case "LeakyRelu":
		alpha := n.Alpha
		out := NewTensor(a[0].Shape...)
		for i, x := range a[0].Data {
			if x < 0 {
				x *= alpha
			}
			out.Data[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("op %s not supported", n.Op)
}

// depthMult: a depthwise filter [kh,kw,cin,mult] yields cin·mult channels.
func depthMult(n *Node, w *Tensor) int {
	if n.Op == "FusedDepthwiseConv2dNative" && len(w.Shape) == 4 {
		return w.Shape[2]
	}
	return 1
}

// fusedEpilogue decodes the fused_ops of TensorFlow's grappler-remapped kernels (_FusedConv2D,
// _FusedMatMul, FusedDepthwiseConv2dNative): BiasAdd optionally followed by an activation.
func fusedEpilogue(n *Node, extra []*Tensor, channels int) (*epilogue, error) {
	ep := &epilogue{}
	args := extra
	for i, op := range n.Fused {
		switch {
		case op == "BiasAdd" && i == 0:
			if len(args) == 0 || len(args[0].Data) != channels {
				return nil, fmt.Errorf("BiasAdd needs %d biases", channels)
			}
			ep.bias = args[0].Data
			args = args[1:]
		case (op == "Relu" || op == "Relu6") && i == len(n.Fused)-1:
			ep.act = op
		case op == "Prelu" && i == len(n.Fused)-1:
			if len(args) == 0 || (len(args[0].Data) != channels && len(args[0].Data) != 1) {
				return nil, fmt.Errorf("prelu needs %d alphas", channels)
			}
			ep.act, ep.alpha = op, args[0].Data
			args = args[1:]
		case op == "LeakyRelu" && i == len(n.Fused)-1:
			ep.act, ep.leaky = op, n.Alpha
		default:
			return nil, fmt.Errorf("fused ops %v not supported", n.Fused)
		}
	}
	if len(args) != 0 {
		return nil, fmt.Errorf("fused ops %v: %d unused arguments", n.Fused, len(args))
	}
	return ep, nil
}

// Prune drops the nodes and constants the outputs do not need.
func (g *Graph) Prune() error {
	m, err := g.Compile()
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	keep := map[*Node]bool{}
	usedConst := map[string]bool{}
	for _, st := range m.steps {
		keep[st.node] = true
		for _, in := range st.node.Inputs {
			b, _ := baseName(in)
			if _, ok := g.Consts[b]; ok {
				usedConst[b] = true
			}
		}
	}
	var nodes []Node
	for i := range g.Nodes {
		if keep[&g.Nodes[i]] {
			nodes = append(nodes, g.Nodes[i])
		}
	}
	g.Nodes = nodes
	for name := range g.Consts {
		if !usedConst[name] {
			delete(g.Consts, name)
		}
	}
	return nil
}
