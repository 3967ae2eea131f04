package index

import "testing"

// BenchmarkScoreKernel measures the code scoring kernel alone on cache-resident blocks.
func BenchmarkScoreKernel(b *testing.B) {
	const nb = 256
	blocks := make([]uint8, nb*blockBytes)
	norms := make([]int32, nb*blockLanes)
	out := make([]int32, nb*blockLanes)
	q := make([]int8, Dim)
	b.SetBytes(nb * blockBytes)
	for b.Loop() {
		scoreBlocks(q, blocks, norms, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nb*blockLanes), "ns/code")
}

func BenchmarkScoreKernelGeneric(b *testing.B) {
	const nb = 256
	blocks := make([]uint8, nb*blockBytes)
	norms := make([]int32, nb*blockLanes)
	out := make([]int32, nb*blockLanes)
	q := make([]int8, Dim)
	b.SetBytes(nb * blockBytes)
	for b.Loop() {
		scoreBlocksGeneric(q, blocks, norms, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nb*blockLanes), "ns/code")
}

// The AVX2 kernels' benchmarks (BenchmarkScoreKernelAVX2, BenchmarkScoreKernel4AVX2) are in
// kernel_avx2_amd64_test.go: they call amd64 assembly.

// BenchmarkScoreKernel4 measures the 4-bit (facenet space) kernel alone on cache-resident blocks.
func BenchmarkScoreKernel4(b *testing.B) {
	const nb, dim = 64, FacenetDim
	blocks := make([]uint8, nb*blockLanes*dim/2)
	norms := make([]int32, nb*blockLanes)
	out := make([]int32, nb*blockLanes)
	q := make([]int8, dim)
	b.SetBytes(int64(len(blocks)))
	for b.Loop() {
		scoreBlocks4(q, blocks, norms, out, dim)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nb*blockLanes), "ns/code")
}

func BenchmarkScoreKernel4Generic(b *testing.B) {
	const nb, dim = 64, FacenetDim
	blocks := make([]uint8, nb*blockLanes*dim/2)
	norms := make([]int32, nb*blockLanes)
	out := make([]int32, nb*blockLanes)
	q := make([]int8, dim)
	b.SetBytes(int64(len(blocks)))
	for b.Loop() {
		scoreBlocks4Generic(q, blocks, norms, out, dim)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nb*blockLanes), "ns/code")
}
