package nn

import (
	"runtime"
	"sync"
)

// gemm computes C[m×n] = A[m×k] · B[k×n] (row-major, C overwritten). Rows of C are split across
// the available cores. Each worker walks K in blocks and, inside a block, 16-column panels of B
// (kBlock×16 floats = 16 KiB, resident in L1 while every group of four rows of A passes over
// it); the 4×16 micro-kernel keeps its block of C in registers for the whole K block (AVX2+FMA
// assembly on amd64, see gemm_amd64.s; the same arithmetic in Go elsewhere). The epilogue (bias,
// activation; nil for none) is applied by each worker to its own rows while they are in cache.
func gemm(m, n, k int, a, b, c []float32, ep *epilogue) {
	if m == 0 || n == 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	if m*n*k < 1<<17 || workers == 1 || m < 8 {
		gemmRange(0, m, n, k, a, b, c)
		ep.apply(c[:m*n], n)
		return
	}
	workers = min(workers, m/4)
	rowsPer := (m + workers - 1) / workers
	rowsPer = (rowsPer + 3) &^ 3
	var wg sync.WaitGroup
	for lo := 0; lo < m; lo += rowsPer {
		hi := min(lo+rowsPer, m)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			gemmRange(lo, hi, n, k, a, b, c)
			ep.apply(c[lo*n:hi*n], n)
		}(lo, hi)
	}
	wg.Wait()
}

const kBlock = 256

// gemmRange computes rows [lo,hi) of C, overwriting them: the first K block's micro-kernels
// start from zero instead of C (no separate pass clearing C), the scalar edges clear their cells.
func gemmRange(lo, hi, n, k int, a, b, c []float32) {
	if k == 0 {
		clear(c[lo*n : hi*n])
		return
	}
	n16 := n &^ 15
	for k0 := 0; k0 < k; k0 += kBlock {
		kc := min(kBlock, k-k0)
		first := k0 == 0
		for j := 0; j < n16; j += 16 {
			i := lo
			for ; i+4 <= hi; i += 4 {
				kernel4x16(a[i*k+k0:], k, b[k0*n+j:], n, kc, c[i*n+j:], n, first)
			}
			for ; i < hi; i++ {
				if first {
					clear(c[i*n+j : i*n+j+16])
				}
				dotCols(a[i*k+k0:i*k+k0+kc], b[k0*n+j:], n, c[i*n+j:i*n+j+16])
			}
		}
		if n16 < n {
			for i := lo; i < hi; i++ {
				if first {
					clear(c[i*n+n16 : i*n+n])
				}
				dotCols(a[i*k+k0:i*k+k0+kc], b[k0*n+n16:], n, c[i*n+n16:i*n+n])
			}
		}
	}
}

// dotCols adds a·B[:, 0:len(c)] to c, for one row a (B with row stride ldb).
func dotCols(a, b []float32, ldb int, c []float32) {
	for p, av := range a {
		row := b[p*ldb : p*ldb+len(c)]
		for j, bv := range row {
			c[j] += av * bv
		}
	}
}

// kernel4x16Generic: C[0:4, 0:16] += A[0:4, 0:kc] · B[0:kc, 0:16] with row strides lda, ldb, ldc
// (with zero, C = the product: its old values are not read).
func kernel4x16Generic(a []float32, lda int, b []float32, ldb, kc int, c []float32, ldc int, zero bool) {
	for r := 0; r < 4; r++ {
		ar := a[r*lda : r*lda+kc]
		var acc [16]float32
		if !zero {
			copy(acc[:], c[r*ldc:r*ldc+16])
		}
		for p, av := range ar {
			row := b[p*ldb : p*ldb+16]
			for j := range acc {
				acc[j] += av * row[j]
			}
		}
		copy(c[r*ldc:r*ldc+16], acc[:])
	}
}

// mulAddGeneric: o[i] += x[i]·w[i] (the depthwise convolution's inner loop over channels).
func mulAddGeneric(o, x, w []float32) {
	w = w[:len(x)]
	o = o[:len(x)]
	for i, v := range x {
		o[i] += v * w[i]
	}
}

// addBiasGeneric: row[j] += bias[j].
func addBiasGeneric(row, bias []float32) {
	bias = bias[:len(row)]
	for j, b := range bias {
		row[j] += b
	}
}

// biasPreluGeneric: v = row[j] + bias[j]; row[j] = v if v ≥ 0, else alpha[j]·v (PReLU).
func biasPreluGeneric(row, bias, alpha []float32) {
	bias, alpha = bias[:len(row)], alpha[:len(row)]
	for j, b := range bias {
		v := row[j] + b
		if v < 0 {
			v *= alpha[j]
		}
		row[j] = v
	}
}
