//go:build amd64

package index

import "golang.org/x/sys/cpu"

// havePOPCNT512 selects the AVX512_VPOPCNTDQ kernel of the pair-code scan.
var havePOPCNT512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VPOPCNTDQ

// The kernel's loop bounds are written for these sizes: it scores the first 256 words (the first
// grid) of codes 608 words apart.
var (
	_ [pairWords - 608]struct{}
	_ [608 - pairWords]struct{}
	_ [pairWordsA - 256]struct{}
	_ [256 - pairWordsA]struct{}
)

//go:noescape
func pairScoresPOPCNT(pc, rare, codes *uint64, n int, out *int32)

// pairScores writes popcount(pc∧c) + popcount(rare∧c) over the first grid (pairWordsA words) of
// every code c of codes into out.
func pairScores(pc, rare *pairCode, codes []uint64, out []int32) {
	n := len(out)
	if n == 0 {
		return
	}
	_ = codes[n*pairWords-1]
	if havePOPCNT512 {
		pairScoresPOPCNT(&pc[0], &rare[0], &codes[0], n, &out[0])
		return
	}
	pairScoresGeneric(pc, rare, codes, pairWordsA, out)
}
