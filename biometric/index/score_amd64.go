//go:build amd64

package index

import "golang.org/x/sys/cpu"

// haveVNNI selects the AVX512-VNNI kernel (x/sys/cpu also checks that the OS saves the ZMM
// state); elsewhere the portable loop computes the same integers.
var haveVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI

// haveAVX2 selects the AVX2 kernels where VNNI is missing: the desks' Intel Core client chips
// have AVX2 but no AVX-512, and the portable loop is several times slower than the memory.
var haveAVX2 = cpu.X86.HasAVX2

//go:noescape
func scoreBlocksAVX2(q *int8, blocks *uint8, norms *int32, nblocks int, out *int32)

//go:noescape
func scoreBlocks4AVX2(q *int8, blocks *uint8, norms *int32, nblocks int, out *int32, pairs int)

//go:noescape
func scoreBlocksVNNI(q *int8, blocks *uint8, norms *int32, nblocks int, out *int32)

// scoreBlocks writes norms[i] - 2·Σ_j (code_ij+128)·q_j for every code of the nblocks blocks.
func scoreBlocks(q []int8, blocks []uint8, norms []int32, out []int32) {
	nb := len(out) / blockLanes
	if nb == 0 {
		return
	}
	_ = q[Dim-1]
	_ = blocks[nb*blockBytes-1]
	_ = norms[nb*blockLanes-1]
	if haveVNNI {
		scoreBlocksVNNI(&q[0], &blocks[0], &norms[0], nb, &out[0])
		return
	}
	if haveAVX2 {
		scoreBlocksAVX2(&q[0], &blocks[0], &norms[0], nb, &out[0])
		return
	}
	scoreBlocksGeneric(q, blocks, norms, out)
}

//go:noescape
func scoreBlocks4VNNI(q *int8, blocks *uint8, norms *int32, nblocks int, out *int32, pairs int)

// scoreBlocks4 writes norms[i] − 2·Σ_j (code_ij+8)·q_j for every 4-bit code of the blocks of a
// dim-dimensional gallery.
func scoreBlocks4(q []int8, blocks []uint8, norms []int32, out []int32, dim int) {
	nb := len(out) / blockLanes
	if nb == 0 {
		return
	}
	_ = q[dim-1]
	_ = blocks[nb*blockLanes*dim/2-1]
	_ = norms[nb*blockLanes-1]
	if haveVNNI {
		scoreBlocks4VNNI(&q[0], &blocks[0], &norms[0], nb, &out[0], dim/8)
		return
	}
	if haveAVX2 {
		scoreBlocks4AVX2(&q[0], &blocks[0], &norms[0], nb, &out[0], dim/8)
		return
	}
	scoreBlocks4Generic(q, blocks, norms, out, dim)
}
