package nn

import (
	"fmt"
	"runtime"
	"sync"
)

// convGeom is the geometry of a 2-D convolution or pooling window over an NHWC tensor.
type convGeom struct {
	n, h, w, c     int // input
	kh, kw         int
	sh, sw         int
	oh, ow         int
	padTop, padLft int
}

// windowGeom follows TensorFlow's padding rules (tf.nn.conv2d): VALID uses no padding and
// out = ceil((in-k+1)/s); SAME gives out = ceil(in/s) and pads max((out-1)·s+k-in, 0) in total,
// the smaller half before (top/left).
func windowGeom(in []int, kh, kw, sh, sw int, padding string) (convGeom, error) {
	if len(in) != 4 {
		return convGeom{}, fmt.Errorf("input rank %d, want 4 (NHWC)", len(in))
	}
	if kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 {
		return convGeom{}, fmt.Errorf("bad window %dx%d stride %dx%d", kh, kw, sh, sw)
	}
	g := convGeom{n: in[0], h: in[1], w: in[2], c: in[3], kh: kh, kw: kw, sh: sh, sw: sw}
	switch padding {
	case "VALID":
		if g.h < kh || g.w < kw {
			return convGeom{}, fmt.Errorf("window %dx%d larger than input %dx%d", kh, kw, g.h, g.w)
		}
		g.oh = (g.h-kh)/sh + 1
		g.ow = (g.w-kw)/sw + 1
	case "SAME":
		g.oh = (g.h + sh - 1) / sh
		g.ow = (g.w + sw - 1) / sw
		g.padTop = max((g.oh-1)*sh+kh-g.h, 0) / 2
		g.padLft = max((g.ow-1)*sw+kw-g.w, 0) / 2
	default:
		return convGeom{}, fmt.Errorf("padding %q not supported", padding)
	}
	return g, nil
}

// epilogue is what the fused TensorFlow kernels apply after the convolution or matmul.
type epilogue struct {
	bias  []float32 // per output channel, or nil
	act   string    // "", "Relu", "Relu6", "Prelu", "LeakyRelu"
	alpha []float32 // Prelu: per channel (len = channels) or one value
	leaky float32
}

func (e *epilogue) apply(out []float32, channels int) {
	if e == nil || (e.bias == nil && e.act == "") {
		return
	}
	bias := e.bias
	if bias == nil {
		bias = make([]float32, channels)
	}
	bias = bias[:channels]
	alpha := e.alpha
	if e.act == "Prelu" && len(alpha) != channels {
		alpha = make([]float32, channels)
		for j := range alpha {
			alpha[j] = e.alpha[0]
		}
	}
	for base := 0; base+channels <= len(out); base += channels {
		row := out[base : base+channels]
		switch e.act {
		case "":
			addBias(row, bias)
		case "Relu":
			for j, b := range bias {
				row[j] = max(row[j]+b, 0)
			}
		case "Relu6":
			for j, b := range bias {
				row[j] = min(max(row[j]+b, 0), 6)
			}
		case "Prelu":
			biasPrelu(row, bias, alpha[:channels])
		case "LeakyRelu":
			for j, b := range bias {
				v := row[j] + b
				if v < 0 {
					v *= e.leaky
				}
				row[j] = v
			}
		}
	}
}

// conv2D: x NHWC, w HWIO [kh,kw,cin,cout]. A 1×1 stride-1 convolution is one GEMM on the input
// as it is; anything else goes through im2col (one row per output pixel, laid out kh,kw,cin like
// the weights) and a GEMM.
func conv2D(x, w *Tensor, strides []int, padding string, ep *epilogue) (*Tensor, error) {
	if len(w.Shape) != 4 {
		return nil, fmt.Errorf("conv2d: filter rank %d, want 4", len(w.Shape))
	}
	kh, kw, cin, cout := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	sh, sw, err := hwStrides(strides)
	if err != nil {
		return nil, fmt.Errorf("conv2d: %w", err)
	}
	g, err := windowGeom(x.Shape, kh, kw, sh, sw, padding)
	if err != nil {
		return nil, fmt.Errorf("conv2d: %w", err)
	}
	if g.c != cin {
		return nil, fmt.Errorf("conv2d: input has %d channels, filter wants %d", g.c, cin)
	}
	out := NewTensor(g.n, g.oh, g.ow, cout)
	rows := g.oh * g.ow
	kk := kh * kw * cin
	for b := 0; b < g.n; b++ {
		in := x.Data[b*g.h*g.w*g.c : (b+1)*g.h*g.w*g.c]
		o := out.Data[b*rows*cout : (b+1)*rows*cout]
		if kh == 1 && kw == 1 && sh == 1 && sw == 1 {
			gemm(rows, cout, kk, in, w.Data, o, ep)
		} else {
			col := make([]float32, rows*kk)
			im2col(in, g, col)
			gemm(rows, cout, kk, col, w.Data, o, ep)
		}
	}
	return out, nil
}

func im2col(in []float32, g convGeom, col []float32) {
	kk := g.kh * g.kw * g.c
	for oy := 0; oy < g.oh; oy++ {
		for ox := 0; ox < g.ow; ox++ {
			dst := col[(oy*g.ow+ox)*kk : (oy*g.ow+ox+1)*kk]
			p := 0
			for ky := 0; ky < g.kh; ky++ {
				iy := oy*g.sh + ky - g.padTop
				for kx := 0; kx < g.kw; kx++ {
					ix := ox*g.sw + kx - g.padLft
					seg := dst[p : p+g.c]
					if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
						clear(seg)
					} else {
						copy(seg, in[(iy*g.w+ix)*g.c:(iy*g.w+ix+1)*g.c])
					}
					p += g.c
				}
			}
		}
	}
}

func hwStrides(s []int) (int, int, error) {
	switch len(s) {
	case 0:
		return 1, 1, nil
	case 4:
		if s[0] != 1 || s[3] != 1 {
			return 0, 0, fmt.Errorf("strides %v: only spatial strides supported", s)
		}
		return s[1], s[2], nil
	case 2:
		return s[0], s[1], nil
	}
	return 0, 0, fmt.Errorf("strides %v", s)
}

// depthwiseConv2D: x NHWC, w [kh,kw,cin,mult]; output channel c·mult+m (tf.nn.depthwise_conv2d).
// Output rows are split across cores.
func depthwiseConv2D(x, w *Tensor, strides []int, padding string, ep *epilogue) (*Tensor, error) {
	if len(w.Shape) != 4 {
		return nil, fmt.Errorf("depthwise: filter rank %d, want 4", len(w.Shape))
	}
	kh, kw, cin, mult := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	sh, sw, err := hwStrides(strides)
	if err != nil {
		return nil, fmt.Errorf("depthwise: %w", err)
	}
	g, err := windowGeom(x.Shape, kh, kw, sh, sw, padding)
	if err != nil {
		return nil, fmt.Errorf("depthwise: %w", err)
	}
	if g.c != cin {
		return nil, fmt.Errorf("depthwise: input has %d channels, filter wants %d", g.c, cin)
	}
	cout := cin * mult
	out := NewTensor(g.n, g.oh, g.ow, cout)
	rowFn := func(b, oy int) {
		in := x.Data[b*g.h*g.w*cin : (b+1)*g.h*g.w*cin]
		for ox := 0; ox < g.ow; ox++ {
			o := out.Data[((b*g.oh+oy)*g.ow+ox)*cout : ((b*g.oh+oy)*g.ow+ox+1)*cout]
			for ky := 0; ky < kh; ky++ {
				iy := oy*sh + ky - g.padTop
				if iy < 0 || iy >= g.h {
					continue
				}
				for kx := 0; kx < kw; kx++ {
					ix := ox*sw + kx - g.padLft
					if ix < 0 || ix >= g.w {
						continue
					}
					px := in[(iy*g.w+ix)*cin : (iy*g.w+ix+1)*cin]
					wt := w.Data[(ky*kw+kx)*cin*mult : (ky*kw+kx+1)*cin*mult]
					if mult == 1 {
						mulAdd(o[:len(px)], px, wt[:len(px)])
						continue
					}
					for c, v := range px {
						for m := 0; m < mult; m++ {
							o[c*mult+m] += v * wt[c*mult+m]
						}
					}
				}
			}
		}
		// The epilogue on the row just computed, by the worker that computed it.
		ep.apply(out.Data[(b*g.oh+oy)*g.ow*cout:(b*g.oh+oy+1)*g.ow*cout], cout)
	}
	parallelRows(g.n*g.oh, g.oh*g.ow*cout*kh*kw, func(r int) { rowFn(r/g.oh, r%g.oh) })
	return out, nil
}

// parallelRows runs fn(0..rows-1) on all cores when the work (multiply-adds per row × rows) is
// large enough to pay for the goroutines.
func parallelRows(rows, workPerRow int, fn func(r int)) {
	workers := min(runtime.GOMAXPROCS(0), rows)
	if workers <= 1 || rows*workPerRow < 1<<15 {
		for r := 0; r < rows; r++ {
			fn(r)
		}
		return
	}
	var wg sync.WaitGroup
	per := (rows + workers - 1) / workers
	for lo := 0; lo < rows; lo += per {
		hi := min(lo+per, rows)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := lo; r < hi; r++ {
				fn(r)
			}
		}()
	}
	wg.Wait()
}

// maxPool follows tf.nn.max_pool: padded positions never win.
func maxPool(x *Tensor, ksize, strides []int, padding string) (*Tensor, error) {
	kh, kw, err := hwStrides(ksize)
	if err != nil {
		return nil, fmt.Errorf("maxpool ksize: %w", err)
	}
	sh, sw, err := hwStrides(strides)
	if err != nil {
		return nil, fmt.Errorf("maxpool: %w", err)
	}
	g, err := windowGeom(x.Shape, kh, kw, sh, sw, padding)
	if err != nil {
		return nil, fmt.Errorf("maxpool: %w", err)
	}
	out := NewTensor(g.n, g.oh, g.ow, g.c)
	for b := 0; b < g.n; b++ {
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				o := out.Data[((b*g.oh+oy)*g.ow+ox)*g.c : ((b*g.oh+oy)*g.ow+ox+1)*g.c]
				first := true
				for ky := 0; ky < kh; ky++ {
					iy := oy*sh + ky - g.padTop
					if iy < 0 || iy >= g.h {
						continue
					}
					for kx := 0; kx < kw; kx++ {
						ix := ox*sw + kx - g.padLft
						if ix < 0 || ix >= g.w {
							continue
						}
						px := x.Data[((b*g.h+iy)*g.w+ix)*g.c : ((b*g.h+iy)*g.w+ix+1)*g.c]
						if first {
							copy(o, px)
							first = false
							continue
						}
						for c, v := range px {
							if v > o[c] {
								o[c] = v
							}
						}
					}
				}
			}
		}
	}
	return out, nil
}

// matMul: a [m,k] (or [k,m] transposed), b [k,n] (or [n,k] transposed).
func matMul(a, b *Tensor, ta, tb bool, ep *epilogue) (*Tensor, error) {
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, fmt.Errorf("matmul: ranks %d and %d, want 2", len(a.Shape), len(b.Shape))
	}
	m, k := a.Shape[0], a.Shape[1]
	ad := a.Data
	if ta {
		m, k = k, m
		ad = transpose2(a.Data, a.Shape[0], a.Shape[1])
	}
	k2, n := b.Shape[0], b.Shape[1]
	bd := b.Data
	if tb {
		k2, n = n, k2
		bd = transpose2(b.Data, b.Shape[0], b.Shape[1])
	}
	if k != k2 {
		return nil, fmt.Errorf("matmul: inner dimensions %d and %d differ", k, k2)
	}
	out := NewTensor(m, n)
	gemm(m, n, k, ad, bd, out.Data, ep)
	return out, nil
}

func transpose2(d []float32, r, c int) []float32 {
	out := make([]float32, len(d))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = d[i*c+j]
		}
	}
	return out
}
