package nn

import (
	"runtime"
	"sync"
)

// gemm computes C[m×n] = A[m×k] · B[k×n] (row-major, C overwritten). Rows of C are split across
// the available cores; each worker runs a 4-row kernel that streams one row of B against four
// accumulating rows of C, so the hot loop is a contiguous multiply-add the compiler keeps free of
// bounds checks (and which sgemmRows4 may run with SIMD, see gemm_amd64.go).
func gemm(m, n, k int, a, b, c []float32) {
	if m == 0 || n == 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	flops := m * n * k
	if flops < 1<<17 || workers == 1 || m < 8 {
		gemmRange(0, m, n, k, a, b, c)
		return
	}
	if workers > m/4 {
		workers = m / 4
	}
	rowsPer := (m + workers - 1) / workers
	rowsPer = (rowsPer + 3) &^ 3
	var wg sync.WaitGroup
	for lo := 0; lo < m; lo += rowsPer {
		hi := min(lo+rowsPer, m)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			gemmRange(lo, hi, n, k, a, b, c)
		}(lo, hi)
	}
	wg.Wait()
}

// gemmRange computes rows [lo,hi) of C. K is blocked so that the slice of B being streamed stays
// in cache while it is reused by every group of four rows.
func gemmRange(lo, hi, n, k int, a, b, c []float32) {
	const kBlock = 256
	cRows := c[lo*n : hi*n]
	clear(cRows)
	for k0 := 0; k0 < k; k0 += kBlock {
		k1 := min(k0+kBlock, k)
		i := lo
		for ; i+4 <= hi; i += 4 {
			c0 := c[i*n : i*n+n]
			c1 := c[(i+1)*n : (i+1)*n+n]
			c2 := c[(i+2)*n : (i+2)*n+n]
			c3 := c[(i+3)*n : (i+3)*n+n]
			a0 := a[i*k : i*k+k]
			a1 := a[(i+1)*k : (i+1)*k+k]
			a2 := a[(i+2)*k : (i+2)*k+k]
			a3 := a[(i+3)*k : (i+3)*k+k]
			for p := k0; p < k1; p++ {
				axpy4(a0[p], a1[p], a2[p], a3[p], b[p*n:p*n+n], c0, c1, c2, c3)
			}
		}
		for ; i < hi; i++ {
			ci := c[i*n : i*n+n]
			ai := a[i*k : i*k+k]
			for p := k0; p < k1; p++ {
				axpy1(ai[p], b[p*n:p*n+n], ci)
			}
		}
	}
}

// axpy4Generic: c_r += a_r · b for four rows r.
func axpy4Generic(a0, a1, a2, a3 float32, b, c0, c1, c2, c3 []float32) {
	n := len(b)
	c0, c1, c2, c3 = c0[:n], c1[:n], c2[:n], c3[:n]
	for j, bv := range b {
		c0[j] += a0 * bv
		c1[j] += a1 * bv
		c2[j] += a2 * bv
		c3[j] += a3 * bv
	}
}

// axpy1Generic: c += a · b.
func axpy1Generic(a float32, b, c []float32) {
	c = c[:len(b)]
	for j, bv := range b {
		c[j] += a * bv
	}
}
