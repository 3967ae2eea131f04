//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel4x16AVX2 is gemm_amd64.s. It reads A[r·lda + p] and B[p·ldb + j] for r<4, p<kc, j<16 and
// updates C[r·ldc + j]; the Go wrapper checks those bounds first.
//
//go:noescape
func kernel4x16AVX2(a *float32, lda int, b *float32, ldb, kc int, c *float32, ldc int)

func kernel4x16(a []float32, lda int, b []float32, ldb, kc int, c []float32, ldc int) {
	if !useAVX2 || kc == 0 {
		kernel4x16Generic(a, lda, b, ldb, kc, c, ldc)
		return
	}
	// Bounds the assembly relies on (a panic here is a bug in gemmRange, never input-driven).
	_ = a[3*lda+kc-1]
	_ = b[(kc-1)*ldb+15]
	_ = c[3*ldc+15]
	kernel4x16AVX2(&a[0], lda, &b[0], ldb, kc, &c[0], ldc)
}
