//go:build !amd64

package index

// scoreBlocks writes norms[i] - 2·Σ_j (code_ij+128)·q_j for every code of the blocks.
func scoreBlocks(q []int8, blocks []uint8, norms []int32, out []int32) {
	scoreBlocksGeneric(q, blocks, norms, out)
}

// scoreBlocks4 writes norms[i] − 2·Σ_j (code_ij+8)·q_j for every 4-bit code of the blocks.
func scoreBlocks4(q []int8, blocks []uint8, norms []int32, out []int32, dim int) {
	scoreBlocks4Generic(q, blocks, norms, out, dim)
}
