// Package nn is a small, cgo-free executor for the inference graphs of face-embedding models: the
// subset of TensorFlow operations that TF.js graph models (model.json + weight shards) use for
// MobileNet/MobileFaceNet-style networks, in NHWC layout and float32. It reads the TF.js format,
// converts it to the project's own single-file format (see format.go) and runs it on all cores.
package nn

import (
	"fmt"
	"strings"
)

// Tensor is a dense float32 tensor in row-major order. Integer constants (shapes, axes, paddings)
// are stored as float32 too: they are small and exact in float32.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zeroed tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numElements(shape))}
}

// Size is the number of elements.
func (t *Tensor) Size() int { return numElements(t.Shape) }

// String prints the shape only (never the values: they may be biometric).
func (t *Tensor) String() string {
	s := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		s[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(s, "x") + "]"
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ints converts a small integer tensor (shape, axes) to ints.
func (t *Tensor) ints() []int {
	out := make([]int, len(t.Data))
	for i, v := range t.Data {
		out[i] = int(v)
	}
	return out
}
