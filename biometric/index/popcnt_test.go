package index

import (
	"math/rand/v2"
	"testing"
)

// TestPairScoresKernel checks the pair-code scan (AVX512_VPOPCNTDQ where the CPU has it) against
// the portable loop on random codes of several densities.
func TestPairScoresKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 37
	codes := make([]uint64, n*pairWords)
	for i := range codes {
		codes[i] = rng.Uint64() & rng.Uint64() & rng.Uint64()
		if i%5 == 0 {
			codes[i] = ^uint64(0)
		}
	}
	var pc, rare pairCode
	for w := range pc {
		pc[w] = rng.Uint64()
		rare[w] = pc[w] & rng.Uint64()
	}
	got, want := make([]int32, n), make([]int32, n)
	pairScores(&pc, &rare, codes, got)
	pairScoresGeneric(&pc, &rare, codes, pairWordsA, want)
	for i := range want {
		if got[i] != want[i] || want[i] == 0 {
			t.Fatalf("code %d: kernel %d, portable %d", i, got[i], want[i])
		}
	}
}

// BenchmarkPairScan is the pre-selection scan of 10,000 codes on one core.
func BenchmarkPairScan(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 10_000
	codes := make([]uint64, n*pairWords)
	for i := range codes {
		codes[i] = rng.Uint64() & rng.Uint64() & rng.Uint64()
	}
	var pc, rare pairCode
	for w := range pc {
		pc[w] = rng.Uint64() & rng.Uint64()
		rare[w] = pc[w] & rng.Uint64()
	}
	out := make([]int32, n)
	b.SetBytes(int64(len(codes) * 8))
	for b.Loop() {
		pairScores(&pc, &rare, codes, out)
	}
}
