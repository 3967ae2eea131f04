package index

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// requireAVX2 fails rather than skips: the desks and CI have AVX2, and a machine without it would
// leave the AVX2 kernels untested while the suite passed.
func requireAVX2(tb testing.TB) {
	tb.Helper()
	if !cpu.X86.HasAVX2 {
		tb.Fatal("the CPU lacks AVX2 (or the OS does not save the YMM state): the AVX2 kernels cannot run here and stay untested")
	}
}

// sentinel fills the lanes past the kernel's output, which it must leave alone.
const sentinel = int32(-0x5A5A5A5A)

// avx2Score runs the 8-bit AVX2 kernel on n blocks and checks it wrote only their 16·n results.
func avx2Score(t *testing.T, q []int8, blocks []uint8, norms []int32, n int) []int32 {
	t.Helper()
	_ = q[Dim-1]
	_ = blocks[n*blockBytes-1]
	_ = norms[n*blockLanes-1]
	out := make([]int32, (n+1)*blockLanes)
	for i := range out {
		out[i] = sentinel
	}
	scoreBlocksAVX2(&q[0], &blocks[0], &norms[0], n, &out[0])
	for i, v := range out[n*blockLanes:] {
		if v != sentinel {
			t.Fatalf("%d blocks: the kernel wrote %d past its output (lane %d)", n, v, i)
		}
	}
	return out[:n*blockLanes]
}

// avx2Score4 is avx2Score for the 4-bit kernel of a dim-dimensional gallery.
func avx2Score4(t *testing.T, q []int8, blocks []uint8, norms []int32, n, dim int) []int32 {
	t.Helper()
	_ = q[dim-1]
	_ = blocks[n*blockLanes*dim/2-1]
	_ = norms[n*blockLanes-1]
	out := make([]int32, (n+1)*blockLanes)
	for i := range out {
		out[i] = sentinel
	}
	scoreBlocks4AVX2(&q[0], &blocks[0], &norms[0], n, &out[0], dim/8)
	for i, v := range out[n*blockLanes:] {
		if v != sentinel {
			t.Fatalf("dim %d, %d blocks: the kernel wrote %d past its output (lane %d)", dim, n, v, i)
		}
	}
	return out[:n*blockLanes]
}

// extremeByte draws a byte that is often one of the given extremes.
func extremeByte(rng *rand.Rand, extremes ...uint8) uint8 {
	if rng.IntN(3) == 0 {
		return extremes[rng.IntN(len(extremes))]
	}
	return uint8(rng.IntN(256))
}

// extremeQuery draws a query whose values are often −128 or 127 (the int8 extremes, beyond what
// quantiseQuery produces, so the kernels' bounds are checked with margin).
func extremeQuery(rng *rand.Rand, dim int) []int8 {
	q := make([]int8, dim)
	for j := range q {
		switch rng.IntN(4) {
		case 0:
			q[j] = -128
		case 1:
			q[j] = 127
		default:
			q[j] = int8(rng.IntN(256) - 128)
		}
	}
	return q
}

// The 8-bit AVX2 kernel (dlib's space, DlibDim via Dim) computes the generic loop's integers on
// random blocks, odd numbers of blocks and all-extreme codes and queries.
func TestScoreKernelAVX2MatchesGeneric(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(7, 8))
	const nb = 71
	blocks := make([]uint8, nb*blockBytes)
	for i := range blocks {
		blocks[i] = extremeByte(rng, 0, 255)
	}
	norms := make([]int32, nb*blockLanes)
	for i := range norms {
		norms[i] = int32(rng.IntN(1<<22)) - 1<<21
	}
	for trial := range 8 {
		q := extremeQuery(rng, Dim)
		for _, n := range []int{nb, 1, 3, 33} {
			got := avx2Score(t, q, blocks, norms, n)
			want := make([]int32, n*blockLanes)
			scoreBlocksGeneric(q, blocks, norms, want)
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("query %d, %d blocks, code %d: AVX2 %d, generic %d", trial, n, i, got[i], want[i])
			}
		}
	}
	// The largest dot products of either sign: every code 255 (x = 127) against q = ±extreme,
	// and codes 0 against −128, lane by lane.
	ext := make([]uint8, 2*blockBytes)
	for i := range blockLanes {
		for j := range Dim {
			if i%2 == 0 {
				ext[codeOffset(i, j)] = 255
			}
			ext[codeOffset(blockLanes+i, j)] = uint8(255 * (j % 2))
		}
	}
	for _, v := range []int8{-128, 127} {
		q := make([]int8, Dim)
		for j := range q {
			q[j] = v
		}
		got := avx2Score(t, q, ext, norms, 2)
		want := make([]int32, 2*blockLanes)
		scoreBlocksGeneric(q, ext, norms, want)
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("q all %d, code %d: AVX2 %d, generic %d", v, i, got[i], want[i])
		}
		if w := norms[0] - 2*Dim*255*int32(v); got[0] != w {
			t.Fatalf("q all %d: extreme score %d, want %d", v, got[0], w)
		}
		if got[1] != norms[1] {
			t.Fatalf("q all %d: zero codes score %d, want the norm %d", v, got[1], norms[1])
		}
	}
}

// The 4-bit AVX2 kernel (facenet's space) computes the generic loop's integers at FacenetDim and
// DlibDim, at numbers of 8-dimension pairs that leave 1–3 after the 4-pair steps, on odd numbers
// of blocks, with nibbles 0 and 15 and query bytes −128 and 127.
func TestScoreKernel4AVX2MatchesGeneric(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(9, 10))
	const nb = 37
	blocks := make([]uint8, nb*blockLanes*FacenetDim/2)
	for i := range blocks {
		blocks[i] = extremeByte(rng, 0x00, 0xFF, 0x0F, 0xF0)
	}
	norms := make([]int32, nb*blockLanes*FacenetDim/8)
	for i := range norms {
		norms[i] = int32(rng.IntN(1<<20)) - 1<<19
	}
	for _, d := range []int{FacenetDim, DlibDim, 8, 24, 40, 56, 72} {
		for trial := range 4 {
			q := extremeQuery(rng, d)
			for _, n := range []int{nb * FacenetDim / d, nb, 1, 3} {
				got := avx2Score4(t, q, blocks, norms, n, d)
				want := make([]int32, n*blockLanes)
				scoreBlocks4Generic(q, blocks, norms, want, d)
				if i := firstDiff(got, want); i >= 0 {
					t.Fatalf("dim %d, query %d, %d blocks, code %d: AVX2 %d, generic %d", d, trial, n, i, got[i], want[i])
				}
			}
		}
	}
	// Every nibble 15 against every query byte −128, then 127: the int16 accumulators' extremes
	// (8 products of 15·128 per word before they are widened).
	ext := make([]uint8, blockLanes*FacenetDim/2)
	for i := range ext {
		ext[i] = 0xFF
	}
	for _, v := range []int8{-128, 127} {
		q := make([]int8, FacenetDim)
		for j := range q {
			q[j] = v
		}
		got := avx2Score4(t, q, ext, norms, 1, FacenetDim)
		w := norms[0] - 2*FacenetDim*15*int32(v)
		if got[0] != w || got[blockLanes-1] != norms[blockLanes-1]-2*FacenetDim*15*int32(v) {
			t.Fatalf("q all %d: extreme scores %d, %d, want %d, %d", v, got[0], got[blockLanes-1], w, norms[blockLanes-1]-2*FacenetDim*15*int32(v))
		}
	}
}

// firstDiff is the first index where a and b differ, or −1.
func firstDiff(a, b []int32) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// BenchmarkScoreKernelAVX2 is BenchmarkScoreKernel (kernel_bench_test.go) on the AVX2 kernel
// whatever the CPU's best: what a desk without AVX-512 runs.
func BenchmarkScoreKernelAVX2(b *testing.B) {
	requireAVX2(b)
	const nb = 256
	blocks := make([]uint8, nb*blockBytes)
	norms := make([]int32, nb*blockLanes)
	out := make([]int32, nb*blockLanes)
	q := make([]int8, Dim)
	b.SetBytes(nb * blockBytes)
	for b.Loop() {
		scoreBlocksAVX2(&q[0], &blocks[0], &norms[0], nb, &out[0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nb*blockLanes), "ns/code")
}

// BenchmarkScoreKernel4AVX2 is BenchmarkScoreKernel4 on the AVX2 kernel.
func BenchmarkScoreKernel4AVX2(b *testing.B) {
	requireAVX2(b)
	const nb, dim = 64, FacenetDim
	blocks := make([]uint8, nb*blockLanes*dim/2)
	norms := make([]int32, nb*blockLanes)
	out := make([]int32, nb*blockLanes)
	q := make([]int8, dim)
	b.SetBytes(int64(len(blocks)))
	for b.Loop() {
		scoreBlocks4AVX2(&q[0], &blocks[0], &norms[0], nb, &out[0], dim/8)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nb*blockLanes), "ns/code")
}
