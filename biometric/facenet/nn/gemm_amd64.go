//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel4x16AVX2 is gemm_amd64.s. It reads A[r·lda + p] and B[p·ldb + j] for r<4, p<kc, j<16 and
// updates (zero ≠ 0: overwrites) C[r·ldc + j]; the Go wrapper checks those bounds first.
//
//go:noescape
func kernel4x16AVX2(a *float32, lda int, b *float32, ldb, kc int, c *float32, ldc int, zero int)

func kernel4x16(a []float32, lda int, b []float32, ldb, kc int, c []float32, ldc int, zero bool) {
	if !useAVX2 || kc == 0 {
		kernel4x16Generic(a, lda, b, ldb, kc, c, ldc, zero)
		return
	}
	z := 0
	if zero {
		z = 1
	}
	// Bounds the assembly relies on (a panic here is a bug in gemmRange, never input-driven).
	_ = a[3*lda+kc-1]
	_ = b[(kc-1)*ldb+15]
	_ = c[3*ldc+15]
	kernel4x16AVX2(&a[0], lda, &b[0], ldb, kc, &c[0], ldc, z)
}

// mulAddAVX2 is gemm_amd64.s: o[i] += x[i]·w[i] for i < n, n a multiple of 8.
//
//go:noescape
func mulAddAVX2(o, x, w *float32, n int)

// mulAdd: o[i] += x[i]·w[i] for i < len(x) (o and w at least as long), eight lanes at a time
// with FMA, the tail in Go.
func mulAdd(o, x, w []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	_ = o[n-1] // bounds the assembly relies on
	_ = w[n-1]
	n8 := n &^ 7
	if useAVX2 && n8 > 0 {
		mulAddAVX2(&o[0], &x[0], &w[0], n8)
	}
	mulAddGeneric(o[n8:n], x[n8:], w[n8:n])
}

// biasPreluAVX2 is gemm_amd64.s: v = row+bias; row = max(v,0) + alpha·min(v,0), n a multiple
// of 8. With alpha nil (a zero pointer) it only adds the bias.
//
//go:noescape
func biasPreluAVX2(row, bias, alpha *float32, n int)

// addBias: row[j] += bias[j] (bias at least as long as row).
func addBias(row, bias []float32) {
	n := len(row)
	n8 := n &^ 7
	if useAVX2 && n8 > 0 {
		_ = bias[n-1]
		biasPreluAVX2(&row[0], &bias[0], nil, n8)
	}
	addBiasGeneric(row[n8:], bias[n8:n])
}

// biasPrelu: v = row[j]+bias[j]; row[j] = v ≥ 0 ? v : alpha[j]·v (bias, alpha at least as long
// as row). max(v,0) + alpha·min(v,0) is the same value for every v (no rounding: one of the two
// terms is zero).
func biasPrelu(row, bias, alpha []float32) {
	n := len(row)
	n8 := n &^ 7
	if useAVX2 && n8 > 0 {
		_, _ = bias[n-1], alpha[n-1]
		biasPreluAVX2(&row[0], &bias[0], &alpha[0], n8)
	}
	biasPreluGeneric(row[n8:], bias[n8:n], alpha[n8:n])
}
