//go:build !amd64

package index

// pairScores writes popcount(pc∧c) + popcount(rare∧c) over the first grid (pairWordsA words) of
// every code c of codes into out.
func pairScores(pc, rare *pairCode, codes []uint64, out []int32) {
	pairScoresGeneric(pc, rare, codes, pairWordsA, out)
}
