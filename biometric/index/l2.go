package index

// Codes are stored in blocks of blockLanes codes, interleaved by groups of 4 dimensions so that
// one 64-byte group holds the same 4 dimensions of all 16 codes (see score_amd64.s).
const (
	blockLanes = 16
	blockBytes = blockLanes * Dim // one block of 16 int8 codes of 128 dimensions
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

// nibbleOffset is the byte of dimension j of slot i in the 4-bit code array of a dim-dimensional
// gallery, and whether it is the byte's high nibble: a block holds 16 codes; pair h (dimensions
// 8h..8h+7) of the block is 64 bytes, lane l at bytes [4l, 4l+4), byte t holding dimension 8h+t
// in its low nibble and 8h+4+t in its high nibble (see score_amd64.s).
func nibbleOffset(i, j, dim int) (int, bool) {
	return (i/blockLanes)*(blockLanes*dim/2) + (j/8)*64 + (i%blockLanes)*4 + j%4, j%8 >= 4
}

// scoreBlocks4Generic is the portable 4-bit kernel: out = norms − 2·Σ_j (code_j+8)·q_j for every
// code of the blocks, the same integers as the assembly one.
func scoreBlocks4Generic(q []int8, blocks []uint8, norms []int32, out []int32, dim int) {
	bb := blockLanes * dim / 2
	nb := len(out) / blockLanes
	for b := 0; b < nb; b++ {
		blk := blocks[b*bb : (b+1)*bb : (b+1)*bb]
		for l := 0; l < blockLanes; l++ {
			var dot int32
			for h := 0; h < dim/8; h++ {
				c := blk[h*64+l*4 : h*64+l*4+4 : h*64+l*4+4]
				qq := q[8*h : 8*h+8 : 8*h+8]
				for t := 0; t < 4; t++ {
					dot += int32(c[t]&0x0F)*int32(qq[t]) + int32(c[t]>>4)*int32(qq[4+t])
				}
			}
			out[b*blockLanes+l] = norms[b*blockLanes+l] - 2*dot
		}
	}
}

// l2Float32 is the exact squared Euclidean distance used for the re-rank and for exact search
// (len(a) a multiple of 4, b at least as long).
func l2Float32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for j := 0; j+3 < len(a); j += 4 {
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
