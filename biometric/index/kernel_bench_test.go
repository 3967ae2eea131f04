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
