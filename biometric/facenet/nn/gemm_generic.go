//go:build !amd64 || purego

package nn

func kernel4x16(a []float32, lda int, b []float32, ldb, kc int, c []float32, ldc int, zero bool) {
	kernel4x16Generic(a, lda, b, ldb, kc, c, ldc, zero)
}

func mulAdd(o, x, w []float32) { mulAddGeneric(o, x, w) }

func addBias(row, bias []float32) { addBiasGeneric(row, bias) }

func biasPrelu(row, bias, alpha []float32) { biasPreluGeneric(row, bias, alpha) }
