package index

// Codes are stored in blocks of blockLanes codes, interleaved by groups of 4 dimensions so that
// one 64-byte group holds the same 4 dimensions of all 16 codes (see score_amd64.s).
const (
	blockLanes = 16
	blockBytes = blockLanes * Dim
)

// codeOffset is the byte of dimension j of slot i in the blocked code array.
func codeOffset(i, j int) int {
	return (i/blockLanes)*blockBytes + (j/4)*64 + (i%blockLanes)*4 + j%4
}

// scoreBlocksGeneric is the portable kernel: the same integers as the assembly one.
func scoreBlocksGeneric(q []int8, blocks []uint8, norms []int32, out []int32) {
	var qq [Dim]int32
	for j := range qq {
		qq[j] = int32(q[j])
	}
	nb := len(out) / blockLanes
	for b := 0; b < nb; b++ {
		blk := blocks[b*blockBytes : (b+1)*blockBytes : (b+1)*blockBytes]
		for l := 0; l < blockLanes; l++ {
			var dot int32
			for g := 0; g < Dim/4; g++ {
				c := blk[g*64+l*4 : g*64+l*4+4 : g*64+l*4+4]
				dot += int32(c[0])*qq[4*g] + int32(c[1])*qq[4*g+1] + int32(c[2])*qq[4*g+2] + int32(c[3])*qq[4*g+3]
			}
			out[b*blockLanes+l] = norms[b*blockLanes+l] - 2*dot
		}
	}
}

// l2Float32 is the exact squared Euclidean distance used for the re-rank and for exact search.
func l2Float32(a, b []float32) float32 {
	a = a[:Dim]
	b = b[:Dim]
	var s0, s1, s2, s3 float32
	for j := 0; j < Dim; j += 4 {
		d0 := a[j] - b[j]
		d1 := a[j+1] - b[j+1]
		d2 := a[j+2] - b[j+2]
		d3 := a[j+3] - b[j+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	return (s0 + s1) + (s2 + s3)
}
