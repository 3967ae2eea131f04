package nn

import (
	"fmt"
	"math"
)

// broadcastShape follows NumPy/TensorFlow broadcasting: shapes are aligned at the right and a
// dimension of 1 stretches.
func broadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastStrides gives, for each output dimension, the stride into t (0 where t broadcasts).
func broadcastStrides(t, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(t) - len(out) + i
		if j >= 0 && t[j] != 1 {
			st[i] = s
		}
		if j >= 0 {
			s *= t[j]
		}
	}
	return st
}

// broadcastOp applies op elementwise with broadcasting. Fast paths: equal shapes, a scalar on
// either side, and a vector that runs along the last dimension (a per-channel constant in NHWC);
// they run one tight loop per operation. dst, when not nil, receives the result (it may alias a).
func broadcastOp(a, b *Tensor, op string, dst *Tensor) (*Tensor, error) {
	f, ok := binaryOps[op]
	if !ok {
		return nil, fmt.Errorf("op %s not supported", op)
	}
	shape, err := broadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	n := numElements(shape)
	out := dst
	if out == nil || len(out.Data) != n || !sameShape(out.Shape, shape) {
		out = &Tensor{Shape: shape, Data: make([]float32, n)}
	}
	na, nb := len(a.Data), len(b.Data)
	switch {
	case sameShape(a.Shape, b.Shape):
		binLoop(op, out.Data, a.Data, b.Data[:na], false)
		return out, nil
	case na == n && len(shape) > 0 && (nb == 1 || (nb == shape[len(shape)-1] && trailingVector(b.Shape))):
		for base := 0; base < n; base += nb {
			binLoop(op, out.Data[base:base+nb], a.Data[base:base+nb], b.Data, false)
		}
		return out, nil
	case nb == n && len(shape) > 0 && (na == 1 || (na == shape[len(shape)-1] && trailingVector(a.Shape))):
		for base := 0; base < n; base += na {
			binLoop(op, out.Data[base:base+na], b.Data[base:base+na], a.Data, true)
		}
		return out, nil
	case na == 1 && nb == 1:
		out.Data[0] = f(a.Data[0], b.Data[0])
		return out, nil
	}
	sa, sb := broadcastStrides(a.Shape, shape), broadcastStrides(b.Shape, shape)
	idx := make([]int, len(shape))
	ia, ib := 0, 0
	for i := range out.Data {
		out.Data[i] = f(a.Data[ia], b.Data[ib])
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			ia += sa[d]
			ib += sb[d]
			if idx[d] < shape[d] {
				break
			}
			ia -= sa[d] * shape[d]
			ib -= sb[d] * shape[d]
			idx[d] = 0
		}
	}
	return out, nil
}

// binLoop: d[i] = x[i] op y[i mod len(y)] (y is either as long as x or one value). swapped means
// the operands were exchanged, which matters for Sub and RealDiv only.
func binLoop(op string, d, x, y []float32, swapped bool) {
	d = d[:len(x)]
	if len(y) == 1 {
		v := y[0]
		switch {
		case op == "Add" || op == "AddV2":
			for i, a := range x {
				d[i] = a + v
			}
		case op == "Mul":
			for i, a := range x {
				d[i] = a * v
			}
		case op == "Maximum":
			for i, a := range x {
				d[i] = max(a, v)
			}
		case op == "Minimum":
			for i, a := range x {
				d[i] = min(a, v)
			}
		case op == "Sub" && !swapped:
			for i, a := range x {
				d[i] = a - v
			}
		default:
			f := binaryOps[op]
			for i, a := range x {
				if swapped {
					d[i] = f(v, a)
				} else {
					d[i] = f(a, v)
				}
			}
		}
		return
	}
	y = y[:len(x)]
	switch {
	case op == "Prelu" && !swapped:
		for i, a := range x {
			if a < 0 {
				a *= y[i]
			}
			d[i] = a
		}
	case op == "Add" || op == "AddV2":
		for i, a := range x {
			d[i] = a + y[i]
		}
	case op == "Mul":
		for i, a := range x {
			d[i] = a * y[i]
		}
	case op == "Maximum":
		for i, a := range x {
			d[i] = max(a, y[i])
		}
	case op == "Minimum":
		for i, a := range x {
			d[i] = min(a, y[i])
		}
	case op == "Sub" && !swapped:
		for i, a := range x {
			d[i] = a - y[i]
		}
	case op == "Sub":
		for i, a := range x {
			d[i] = y[i] - a
		}
	default:
		f := binaryOps[op]
		for i, a := range x {
			if swapped {
				d[i] = f(y[i], a)
			} else {
				d[i] = f(a, y[i])
			}
		}
	}
}

// trailingVector: every dimension but the last is 1.
func trailingVector(s []int) bool {
	for _, d := range s[:max(len(s)-1, 0)] {
		if d != 1 {
			return false
		}
	}
	return len(s) > 0
}

var binaryOps = map[string]func(x, y float32) float32{
	"Add":     func(x, y float32) float32 { return x + y },
	"AddV2":   func(x, y float32) float32 { return x + y },
	"Sub":     func(x, y float32) float32 { return x - y },
	"Mul":     func(x, y float32) float32 { return x * y },
	"RealDiv": func(x, y float32) float32 { return x / y },
	"Maximum": func(x, y float32) float32 { return max(x, y) },
	"Minimum": func(x, y float32) float32 { return min(x, y) },
	// Prelu: x where x ≥ 0, else slope·x (ONNX PRelu; the slope broadcasts per channel).
	"Prelu": func(x, a float32) float32 {
		if x < 0 {
			return x * a
		}
		return x
	},
}

var unaryOps = map[string]func(x float32) float32{
	"Relu":     func(x float32) float32 { return max(x, 0) },
	"Relu6":    func(x float32) float32 { return min(max(x, 0), 6) },
	"Abs":      func(x float32) float32 { return float32(math.Abs(float64(x))) },
	"Neg":      func(x float32) float32 { return -x },
	"Square":   func(x float32) float32 { return x * x },
	"Sqrt":     func(x float32) float32 { return float32(math.Sqrt(float64(x))) },
	"Rsqrt":    func(x float32) float32 { return float32(1 / math.Sqrt(float64(x))) },
	"Exp":      func(x float32) float32 { return float32(math.Exp(float64(x))) },
	"Sigmoid":  func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) },
	"Tanh":     func(x float32) float32 { return float32(math.Tanh(float64(x))) },
	"Identity": func(x float32) float32 { return x },
}

// unary applies op to every element; dst, when not nil, receives the result (it may alias a).
func unary(a *Tensor, op string, dst *Tensor) *Tensor {
	out := dst
	if out == nil || len(out.Data) != len(a.Data) {
		out = &Tensor{Shape: append([]int(nil), a.Shape...), Data: make([]float32, len(a.Data))}
	}
	d := out.Data[:len(a.Data)]
	switch op {
	case "Relu":
		for i, x := range a.Data {
			d[i] = max(x, 0)
		}
	case "Abs":
		for i, x := range a.Data {
			d[i] = float32(math.Abs(float64(x)))
		}
	default:
		f := unaryOps[op]
		for i, x := range a.Data {
			d[i] = f(x)
		}
	}
	return out
}

// reduce sums (or averages) over axes; negative axes count from the end (tf.reduce_sum/mean).
func reduce(x *Tensor, axesT *Tensor, keepDims, mean bool) (*Tensor, error) {
	rank := len(x.Shape)
	red := make([]bool, rank)
	for _, a := range axesT.ints() {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return nil, fmt.Errorf("reduce: axis out of range for rank %d", rank)
		}
		red[a] = true
	}
	var outShape, keptShape []int
	count := 1
	for i, d := range x.Shape {
		if red[i] {
			count *= d
			keptShape = append(keptShape, 1)
			if keepDims {
				outShape = append(outShape, 1)
			}
			continue
		}
		keptShape = append(keptShape, d)
		outShape = append(outShape, d)
	}
	acc := make([]float64, numElements(keptShape))
	st := broadcastStrides(keptShape, x.Shape)
	idx := make([]int, rank)
	o := 0
	for _, v := range x.Data {
		acc[o] += float64(v)
		for d := rank - 1; d >= 0; d-- {
			idx[d]++
			o += st[d]
			if idx[d] < x.Shape[d] {
				break
			}
			o -= st[d] * x.Shape[d]
			idx[d] = 0
		}
	}
	out := &Tensor{Shape: outShape, Data: make([]float32, len(acc))}
	for i, v := range acc {
		if mean && count > 0 {
			v /= float64(count)
		}
		out.Data[i] = float32(v)
	}
	return out, nil
}

// softmax over the last axis, shifted by the maximum for stability.
func softmax(x *Tensor) (*Tensor, error) {
	if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] == 0 {
		return nil, fmt.Errorf("softmax: empty last axis")
	}
	n := x.Shape[len(x.Shape)-1]
	out := &Tensor{Shape: append([]int(nil), x.Shape...), Data: make([]float32, len(x.Data))}
	for base := 0; base < len(x.Data); base += n {
		row := x.Data[base : base+n]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for j, v := range row {
			e := math.Exp(float64(v - m))
			out.Data[base+j] = float32(e)
			s += e
		}
		for j := range row {
			out.Data[base+j] = float32(float64(out.Data[base+j]) / s)
		}
	}
	return out, nil
}

// pad with a constant; paddings is [rank,2] (before, after) as tf.pad takes it.
func pad(x, paddings *Tensor, value float32) (*Tensor, error) {
	rank := len(x.Shape)
	p := paddings.ints()
	if len(p) != 2*rank {
		return nil, fmt.Errorf("pad: %d paddings for rank %d", len(p), rank)
	}
	shape := make([]int, rank)
	for i := range shape {
		if p[2*i] < 0 || p[2*i+1] < 0 {
			return nil, fmt.Errorf("pad: negative padding")
		}
		shape[i] = x.Shape[i] + p[2*i] + p[2*i+1]
	}
	if numElements(shape) > maxElements {
		return nil, fmt.Errorf("pad: result too large")
	}
	out := &Tensor{Shape: shape, Data: make([]float32, numElements(shape))}
	if value != 0 {
		for i := range out.Data {
			out.Data[i] = value
		}
	}
	if len(x.Data) == 0 {
		return out, nil
	}
	// Copy innermost rows: iterate over every index of x but the last dimension.
	inner := x.Shape[rank-1]
	outStr := make([]int, rank)
	s := 1
	for i := rank - 1; i >= 0; i-- {
		outStr[i] = s
		s *= shape[i]
	}
	idx := make([]int, rank)
	for src := 0; src < len(x.Data); src += inner {
		dst := 0
		for d := 0; d < rank; d++ {
			dst += (idx[d] + p[2*d]) * outStr[d]
		}
		copy(out.Data[dst:dst+inner], x.Data[src:src+inner])
		for d := rank - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < x.Shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// reshape with at most one -1 (tf.reshape); 0 is not special in TensorFlow.
func reshape(x *Tensor, shapeT *Tensor) (*Tensor, error) {
	shape := shapeT.ints()
	known, infer := 1, -1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return nil, fmt.Errorf("reshape: bad dimension %d", d)
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || len(x.Data)%known != 0 {
			return nil, fmt.Errorf("reshape: %d elements do not fit %v", len(x.Data), shape)
		}
		shape[infer] = len(x.Data) / known
	}
	if numElements(shape) != len(x.Data) {
		return nil, fmt.Errorf("reshape: %d elements into %v", len(x.Data), shape)
	}
	return &Tensor{Shape: shape, Data: x.Data}, nil
}

// squeeze drops the listed size-1 dimensions (all size-1 dimensions when none are listed).
func squeeze(x *Tensor, dims []int) (*Tensor, error) {
	rank := len(x.Shape)
	drop := make([]bool, rank)
	for _, d := range dims {
		if d < 0 {
			d += rank
		}
		if d < 0 || d >= rank || x.Shape[d] != 1 {
			return nil, fmt.Errorf("squeeze: dimension %d of %v is not 1", d, x.Shape)
		}
		drop[d] = true
	}
	var shape []int
	for i, d := range x.Shape {
		if drop[i] || (len(dims) == 0 && d == 1) {
			continue
		}
		shape = append(shape, d)
	}
	return &Tensor{Shape: shape, Data: x.Data}, nil
}

// reshapeONNX follows ONNX Reshape: 0 copies the input's dimension at that position, -1 infers.
func reshapeONNX(x *Tensor, shapeT *Tensor) (*Tensor, error) {
	shape := shapeT.ints()
	for i, d := range shape {
		if d == 0 {
			if i >= len(x.Shape) {
				return nil, fmt.Errorf("reshape: 0 at %d beyond rank %d", i, len(x.Shape))
			}
			shape[i] = x.Shape[i]
		}
	}
	t := &Tensor{Shape: []int{len(shape)}, Data: make([]float32, len(shape))}
	for i, d := range shape {
		t.Data[i] = float32(d)
	}
	return reshape(x, t)
}

// toNCHW permutes a 4-D NHWC tensor into NCHW order.
func toNCHW(x *Tensor) (*Tensor, error) {
	if len(x.Shape) != 4 {
		return nil, fmt.Errorf("to NCHW: rank %d", len(x.Shape))
	}
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := NewTensor(n, c, h, w)
	for b := 0; b < n; b++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				for ch := 0; ch < c; ch++ {
					out.Data[((b*c+ch)*h+y)*w+xx] = x.Data[((b*h+y)*w+xx)*c+ch]
				}
			}
		}
	}
	return out, nil
}
