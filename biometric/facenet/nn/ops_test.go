package nn

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

func tensor(shape []int, data ...float32) *Tensor {
	return &Tensor{Shape: shape, Data: data}
}

func near(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > tol*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("%s: [%d] = %g, want %g (all: %v)", what, i, got[i], want[i], got)
		}
	}
}

func shapeIs(t *testing.T, what string, got *Tensor, want ...int) {
	t.Helper()
	if !sameShape(got.Shape, want) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want)
	}
}

// A 3×3 image 1..9 and the 2×2 filter [[1,0],[0,1]]: each output is x(y,x) + x(y+1,x+1).
func TestConv2DHandComputed(t *testing.T) {
	x := tensor([]int{1, 3, 3, 1}, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	w := tensor([]int{2, 2, 1, 1}, 1, 0, 0, 1)
	cases := []struct {
		pad     string
		strides []int
		shape   []int
		want    []float32
	}{
		// SAME, stride 1: total padding 1, all of it after (bottom/right).
		{"SAME", []int{1, 1, 1, 1}, []int{1, 3, 3, 1}, []float32{6, 8, 3, 12, 14, 6, 7, 8, 9}},
		// SAME, stride 2: out 2×2, padding (2-1)·2+2-3 = 1, again after.
		{"SAME", []int{1, 2, 2, 1}, []int{1, 2, 2, 1}, []float32{6, 3, 7, 9}},
		{"VALID", []int{1, 1, 1, 1}, []int{1, 2, 2, 1}, []float32{6, 8, 12, 14}},
		{"VALID", []int{1, 2, 2, 1}, []int{1, 1, 1, 1}, []float32{6}},
	}
	for _, c := range cases {
		got, err := conv2D(x, w, c.strides, c.pad, nil)
		if err != nil {
			t.Fatal(err)
		}
		shapeIs(t, c.pad, got, c.shape...)
		near(t, c.pad, got.Data, c.want, 0)
	}
}

// 1×1 convolution with two channels, bias and ReLU: pixel [a,b] → [a+3b, 2a+4b] + bias.
func TestConv2DFusedBiasRelu(t *testing.T) {
	x := tensor([]int{1, 1, 2, 2}, 1, 1, -1, 0)
	w := tensor([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	got, err := conv2D(x, w, nil, "VALID", &epilogue{bias: []float32{10, 20}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "bias", got.Data, []float32{14, 26, 9, 18}, 0)
	got, err = conv2D(x, w, nil, "VALID", &epilogue{bias: []float32{-5, 0}, act: "Relu"})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "bias+relu", got.Data, []float32{0, 6, 0, 0}, 0)
	got, err = conv2D(x, w, nil, "VALID", &epilogue{bias: []float32{-5, 0}, act: "Prelu", alpha: []float32{0.5, 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "bias+prelu", got.Data, []float32{-0.5, 6, -3, -0.5}, 0)
}

func TestDepthwiseHandComputed(t *testing.T) {
	// Channel 0 = 1,2,3,4; channel 1 = 10,20,30,40 (NHWC interleaved).
	x := tensor([]int{1, 2, 2, 2}, 1, 10, 2, 20, 3, 30, 4, 40)
	// Filter channel 0: all ones (sum), channel 1: only the top-left tap.
	w := tensor([]int{2, 2, 2, 1}, 1, 1, 1, 0, 1, 0, 1, 0)
	got, err := depthwiseConv2D(x, w, nil, "VALID", nil)
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "depthwise", got, 1, 1, 1, 2)
	near(t, "depthwise", got.Data, []float32{10, 10}, 0)
	// Channel multiplier 2: output channel c·2+m; weights [1,1,2,2] = c0:(1,2) c1:(3,4).
	w2 := tensor([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	got, err = depthwiseConv2D(tensor([]int{1, 1, 1, 2}, 5, 7), w2, nil, "VALID", &epilogue{bias: []float32{0, 0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "multiplier", got.Data, []float32{5, 10, 21, 29}, 0)
}

// naiveConv is the textbook definition (tf.nn.conv2d / depthwise_conv2d), used to check the
// im2col+GEMM path and the parallel depthwise loop on random shapes.
func naiveConv(x, w *Tensor, sh, sw int, padding string, depthwise bool) *Tensor {
	kh, kw, cin, co := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	g, err := windowGeom(x.Shape, kh, kw, sh, sw, padding)
	if err != nil {
		panic(err)
	}
	cout := co
	if depthwise {
		cout = cin * co
	}
	out := NewTensor(g.n, g.oh, g.ow, cout)
	for b := 0; b < g.n; b++ {
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				for oc := 0; oc < cout; oc++ {
					var s float64
					for ky := 0; ky < kh; ky++ {
						for kx := 0; kx < kw; kx++ {
							iy, ix := oy*sh+ky-g.padTop, ox*sw+kx-g.padLft
							if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
								continue
							}
							if depthwise {
								c, m := oc/co, oc%co
								s += float64(x.Data[((b*g.h+iy)*g.w+ix)*cin+c]) * float64(w.Data[((ky*kw+kx)*cin+c)*co+m])
								continue
							}
							for c := 0; c < cin; c++ {
								s += float64(x.Data[((b*g.h+iy)*g.w+ix)*cin+c]) * float64(w.Data[((ky*kw+kx)*cin+c)*co+oc])
							}
						}
					}
					out.Data[((b*g.oh+oy)*g.ow+ox)*cout+oc] = float32(s)
				}
			}
		}
	}
	return out
}

func random(r *rand.Rand, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func TestConvAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, c := range []struct{ n, h, w, cin, cout, k, s int }{
		{1, 7, 5, 3, 4, 3, 1}, {2, 9, 9, 5, 7, 3, 2}, {1, 16, 16, 16, 33, 1, 1}, {1, 28, 28, 32, 64, 3, 2},
		{1, 4, 4, 2, 3, 4, 1}, {1, 6, 6, 3, 2, 1, 2}, {1, 40, 40, 24, 48, 1, 1},
	} {
		for _, padding := range []string{"SAME", "VALID"} {
			x := random(r, c.n, c.h, c.w, c.cin)
			w := random(r, c.k, c.k, c.cin, c.cout)
			got, err := conv2D(x, w, []int{1, c.s, c.s, 1}, padding, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := naiveConv(x, w, c.s, c.s, padding, false)
			shapeIs(t, "conv", got, want.Shape...)
			near(t, "conv", got.Data, want.Data, 1e-4)
			dw := random(r, c.k, c.k, c.cin, 1+c.s%2)
			got, err = depthwiseConv2D(x, dw, []int{1, c.s, c.s, 1}, padding, nil)
			if err != nil {
				t.Fatal(err)
			}
			want = naiveConv(x, dw, c.s, c.s, padding, true)
			near(t, "depthwise", got.Data, want.Data, 1e-4)
		}
	}
}

func TestGEMMAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, c := range []struct{ m, n, k int }{{1, 1, 1}, {3, 5, 7}, {4, 4, 4}, {13, 17, 300}, {130, 64, 96}, {3136, 64, 27}, {7, 1024, 513}} {
		a, b := random(r, c.m, c.k), random(r, c.k, c.n)
		got := make([]float32, c.m*c.n)
		for i := range got {
			got[i] = 99 // gemm overwrites C
		}
		gemm(c.m, c.n, c.k, a.Data, b.Data, got, nil)
		for i := 0; i < c.m; i++ {
			for j := 0; j < c.n; j++ {
				var s float64
				for p := 0; p < c.k; p++ {
					s += float64(a.Data[i*c.k+p]) * float64(b.Data[p*c.n+j])
				}
				if d := math.Abs(float64(got[i*c.n+j]) - s); d > 1e-4*math.Max(1, math.Abs(s)) {
					t.Fatalf("%v: C[%d,%d] = %g, want %g", c, i, j, got[i*c.n+j], s)
				}
			}
		}
	}
}

func TestMatMulTranspose(t *testing.T) {
	a := tensor([]int{2, 2}, 1, 2, 3, 4)
	b := tensor([]int{2, 2}, 5, 6, 7, 8)
	for _, c := range []struct {
		ta, tb bool
		want   []float32
	}{
		{false, false, []float32{19, 22, 43, 50}},
		{true, false, []float32{26, 30, 38, 44}},
		{false, true, []float32{17, 23, 39, 53}},
	} {
		got, err := matMul(a, b, c.ta, c.tb, nil)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "matmul", got.Data, c.want, 0)
	}
	if _, err := matMul(a, tensor([]int{3, 1}, 1, 2, 3), false, false, nil); err == nil {
		t.Fatal("inner dimension mismatch accepted")
	}
}

func TestBroadcast(t *testing.T) {
	add := "Add"
	got, err := broadcastOp(tensor([]int{2, 3}, 1, 2, 3, 4, 5, 6), tensor([]int{3}, 10, 20, 30), add, nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "row vector", got.Data, []float32{11, 22, 33, 14, 25, 36}, 0)
	got, err = broadcastOp(tensor([]int{2, 1}, 1, 2), tensor([]int{1, 3}, 1, 10, 100), "Mul", nil)
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "outer", got, 2, 3)
	near(t, "outer", got.Data, []float32{1, 10, 100, 2, 20, 200}, 0)
	got, err = broadcastOp(tensor(nil, 10), tensor([]int{2}, 1, 2), "Sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "scalar-vector", got.Data, []float32{9, 8}, 0)
	got, err = broadcastOp(tensor([]int{2, 1, 2}, 1, 2, 3, 4), tensor([]int{3, 1}, 0, 10, 20), "Maximum", nil)
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "3d", got, 2, 3, 2)
	near(t, "3d", got.Data, []float32{1, 2, 10, 10, 20, 20, 3, 4, 10, 10, 20, 20}, 0)
	got, err = broadcastOp(tensor([]int{3}, 10, 20, 30), tensor([]int{2, 3}, 1, 2, 3, 4, 5, 6), "Sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "vector minus matrix", got.Data, []float32{9, 18, 27, 6, 15, 24}, 0)
	got, err = broadcastOp(tensor([]int{3}, 1, 2, 4), tensor([]int{2, 3}, 1, 2, 3, 4, 5, 6), "RealDiv", nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "vector over matrix", got.Data, []float32{1, 1, 4.0 / 3, 0.25, 0.4, 4.0 / 6}, 1e-7)
	if _, err := broadcastOp(tensor([]int{2, 3}, 1, 2, 3, 4, 5, 6), tensor([]int{2}, 1, 2), add, nil); err == nil {
		t.Fatal("[2,3]+[2] accepted")
	}
}

func TestUnaryOps(t *testing.T) {
	x := tensor([]int{4}, -2, -0.5, 0, 4)
	for op, want := range map[string][]float32{
		"Relu":    {0, 0, 0, 4},
		"Relu6":   {0, 0, 0, 4},
		"Abs":     {2, 0.5, 0, 4},
		"Square":  {4, 0.25, 0, 16},
		"Neg":     {2, 0.5, 0, -4},
		"Sigmoid": {0.11920292, 0.37754067, 0.5, 0.98201376},
	} {
		near(t, op, unary(x, op, nil).Data, want, 1e-6)
	}
	near(t, "Rsqrt", unary(tensor([]int{2}, 4, 0.25), "Rsqrt", nil).Data, []float32{0.5, 2}, 1e-7)
}

func TestReduceSoftmaxPad(t *testing.T) {
	x := tensor([]int{1, 2, 2, 1}, 1, 2, 3, 4)
	got, err := reduce(x, tensor([]int{2}, 1, 2), false, true)
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "mean", got, 1, 1)
	near(t, "mean", got.Data, []float32{2.5}, 0)
	got, err = reduce(tensor([]int{2, 3}, 1, 2, 3, 4, 5, 6), tensor(nil, -1), true, false)
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "sum", got, 2, 1)
	near(t, "sum", got.Data, []float32{6, 15}, 0)
	if _, err := reduce(x, tensor(nil, 4), false, false); err == nil {
		t.Fatal("axis 4 of rank 4 accepted")
	}

	got, err = softmax(tensor([]int{2, 2}, 0, float32(math.Log(3)), 5, 5))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "softmax", got.Data, []float32{0.25, 0.75, 0.5, 0.5}, 1e-6)

	got, err = pad(tensor([]int{1, 2}, 1, 2), tensor([]int{2, 2}, 1, 0, 0, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "pad", got, 2, 3)
	near(t, "pad", got.Data, []float32{0, 0, 0, 1, 2, 0}, 0)
	got, err = pad(tensor([]int{1, 1, 1, 1}, 7), tensor([]int{4, 2}, 0, 0, 1, 1, 1, 1, 0, 0), -1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "pad value", got.Data, []float32{-1, -1, -1, -1, 7, -1, -1, -1, -1}, 0)
}

func TestMaxPool(t *testing.T) {
	got, err := maxPool(tensor([]int{1, 2, 2, 1}, 1, 5, 3, 2), []int{1, 2, 2, 1}, []int{1, 2, 2, 1}, "VALID")
	if err != nil {
		t.Fatal(err)
	}
	near(t, "valid", got.Data, []float32{5}, 0)
	// Padded positions never win, even over negative values.
	got, err = maxPool(tensor([]int{1, 2, 2, 1}, -1, -5, -3, -2), []int{1, 3, 3, 1}, []int{1, 1, 1, 1}, "SAME")
	if err != nil {
		t.Fatal(err)
	}
	near(t, "same", got.Data, []float32{-1, -1, -1, -1}, 0)
}

func TestReshapeSqueeze(t *testing.T) {
	x := tensor([]int{1, 1, 1, 6}, 1, 2, 3, 4, 5, 6)
	got, err := reshape(x, tensor([]int{2}, -1, 3))
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "reshape", got, 2, 3)
	if _, err := reshape(x, tensor([]int{2}, -1, 4)); err == nil {
		t.Fatal("6 elements into [-1,4] accepted")
	}
	got, err = squeeze(x, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, "squeeze", got, 1, 6)
	if _, err := squeeze(x, []int{3}); err == nil || !strings.Contains(err.Error(), "not 1") {
		t.Fatalf("squeeze of a 6-wide dimension: %v", err)
	}
}

func TestHalfToFloat(t *testing.T) {
	for h, want := range map[uint16]float32{
		0x3C00: 1, 0xC000: -2, 0x7BFF: 65504, 0x0001: 1.0 / (1 << 24), 0x3555: 0.33325195, 0x8000: 0,
	} {
		if got := halfToFloat(h); got != want {
			t.Errorf("half %#04x = %g, want %g", h, got, want)
		}
	}
	if !math.IsInf(float64(halfToFloat(0x7C00)), 1) || !math.IsNaN(float64(halfToFloat(0x7E00))) {
		t.Error("infinity/NaN")
	}
}

// mulAdd (AVX2+FMA on amd64) equals the scalar loop for every length around the 8-lane blocks.
func TestMulAdd(t *testing.T) {
	for n := 0; n <= 37; n++ {
		x, w, o := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], w[i], o[i] = float32(i)*0.5-3, float32(n-i)*0.25, float32(i%5)
		}
		want := append([]float32(nil), o...)
		mulAddGeneric(want, x, w)
		mulAdd(o, x, w)
		for i := range o {
			if math.Abs(float64(o[i]-want[i])) > 1e-5 {
				t.Fatalf("n=%d: o[%d] = %v, want %v", n, i, o[i], want[i])
			}
		}
	}
}

// The bias and PReLU epilogues (AVX2 on amd64) equal the scalar loops for every length.
func TestBiasPrelu(t *testing.T) {
	for n := 0; n <= 37; n++ {
		row, bias, alpha := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range row {
			row[i], bias[i], alpha[i] = float32(i%7)-3.5, float32(i%3)-1, 0.1*float32(i%4)
		}
		want, got := append([]float32(nil), row...), append([]float32(nil), row...)
		biasPreluGeneric(want, bias, alpha)
		biasPrelu(got, bias, alpha)
		wantB, gotB := append([]float32(nil), row...), append([]float32(nil), row...)
		addBiasGeneric(wantB, bias)
		addBias(gotB, bias)
		for i := range got {
			if got[i] != want[i] || gotB[i] != wantB[i] {
				t.Fatalf("n=%d [%d]: prelu %v want %v, bias %v want %v", n, i, got[i], want[i], gotB[i], wantB[i])
			}
		}
	}
}
