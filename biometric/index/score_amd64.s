#include "textflag.h"

// func scoreBlocksVNNI(q *int8, blocks *uint8, norms *int32, nblocks int, out *int32)
//
// Blocked layout: a block holds 16 codes; group g (dimensions 4g..4g+3) of the block is 64 bytes,
// lane l at bytes [4l, 4l+4), each byte the code plus 128 (unsigned). VPDPBUSD (AVX512-VNNI)
// multiplies the 64 unsigned code bytes by the 4 signed query bytes broadcast to every lane and
// adds each lane's four products into its int32, so 32 instructions give the 16 dot products of
// a block with no horizontal sums. out[l] = norms[l] - 2*dot[l], where dot = Σ (x+128)·q and the
// caller removes the 128·Σq offset (a constant per query, so it does not change the order).
// Bounds: |dot| ≤ 128·255·127 < 2^23, no int32 overflow.
TEXT ·scoreBlocksVNNI(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), SI
	MOVQ blocks+8(FP), DI
	MOVQ norms+16(FP), BX
	MOVQ nblocks+24(FP), CX
	MOVQ out+32(FP), DX

loop:
	TESTQ CX, CX
	JZ    done
	PREFETCHT0 4096(DI)
	PREFETCHT0 4160(DI)
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VMOVDQU32 0(DI), Z4
	VPDPBUSD.BCST 0(SI), Z4, Z0
	VMOVDQU32 64(DI), Z5
	VPDPBUSD.BCST 4(SI), Z5, Z1
	VMOVDQU32 128(DI), Z6
	VPDPBUSD.BCST 8(SI), Z6, Z2
	VMOVDQU32 192(DI), Z7
	VPDPBUSD.BCST 12(SI), Z7, Z3
	VMOVDQU32 256(DI), Z8
	VPDPBUSD.BCST 16(SI), Z8, Z0
	VMOVDQU32 320(DI), Z9
	VPDPBUSD.BCST 20(SI), Z9, Z1
	VMOVDQU32 384(DI), Z10
	VPDPBUSD.BCST 24(SI), Z10, Z2
	VMOVDQU32 448(DI), Z11
	VPDPBUSD.BCST 28(SI), Z11, Z3
	VMOVDQU32 512(DI), Z4
	VPDPBUSD.BCST 32(SI), Z4, Z0
	VMOVDQU32 576(DI), Z5
	VPDPBUSD.BCST 36(SI), Z5, Z1
	VMOVDQU32 640(DI), Z6
	VPDPBUSD.BCST 40(SI), Z6, Z2
	VMOVDQU32 704(DI), Z7
	VPDPBUSD.BCST 44(SI), Z7, Z3
	VMOVDQU32 768(DI), Z8
	VPDPBUSD.BCST 48(SI), Z8, Z0
	VMOVDQU32 832(DI), Z9
	VPDPBUSD.BCST 52(SI), Z9, Z1
	VMOVDQU32 896(DI), Z10
	VPDPBUSD.BCST 56(SI), Z10, Z2
	VMOVDQU32 960(DI), Z11
	VPDPBUSD.BCST 60(SI), Z11, Z3
	VMOVDQU32 1024(DI), Z4
	VPDPBUSD.BCST 64(SI), Z4, Z0
	VMOVDQU32 1088(DI), Z5
	VPDPBUSD.BCST 68(SI), Z5, Z1
	VMOVDQU32 1152(DI), Z6
	VPDPBUSD.BCST 72(SI), Z6, Z2
	VMOVDQU32 1216(DI), Z7
	VPDPBUSD.BCST 76(SI), Z7, Z3
	VMOVDQU32 1280(DI), Z8
	VPDPBUSD.BCST 80(SI), Z8, Z0
	VMOVDQU32 1344(DI), Z9
	VPDPBUSD.BCST 84(SI), Z9, Z1
	VMOVDQU32 1408(DI), Z10
	VPDPBUSD.BCST 88(SI), Z10, Z2
	VMOVDQU32 1472(DI), Z11
	VPDPBUSD.BCST 92(SI), Z11, Z3
	VMOVDQU32 1536(DI), Z4
	VPDPBUSD.BCST 96(SI), Z4, Z0
	VMOVDQU32 1600(DI), Z5
	VPDPBUSD.BCST 100(SI), Z5, Z1
	VMOVDQU32 1664(DI), Z6
	VPDPBUSD.BCST 104(SI), Z6, Z2
	VMOVDQU32 1728(DI), Z7
	VPDPBUSD.BCST 108(SI), Z7, Z3
	VMOVDQU32 1792(DI), Z8
	VPDPBUSD.BCST 112(SI), Z8, Z0
	VMOVDQU32 1856(DI), Z9
	VPDPBUSD.BCST 116(SI), Z9, Z1
	VMOVDQU32 1920(DI), Z10
	VPDPBUSD.BCST 120(SI), Z10, Z2
	VMOVDQU32 1984(DI), Z11
	VPDPBUSD.BCST 124(SI), Z11, Z3
	VPADDD Z1, Z0, Z0
	VPADDD Z3, Z2, Z2
	VPADDD Z2, Z0, Z0
	VPSLLD $1, Z0, Z0
	VMOVDQU32 (BX), Z1
	VPSUBD Z0, Z1, Z1
	VMOVDQU32 Z1, (DX)
	ADDQ $2048, DI
	ADDQ $64, BX
	ADDQ $64, DX
	DECQ CX
	JMP  loop

done:
	VZEROUPPER
	RET

// func scoreBlocks4VNNI(q *int8, blocks *uint8, norms *int32, nblocks int, out *int32, pairs int)
//
// 4-bit layout (nibbleOffset): a block holds 16 codes; pair h (dimensions 8h..8h+7) is 64 bytes,
// lane l at bytes [4l, 4l+4), byte t holding dimension 8h+t in its low nibble and 8h+4+t in its
// high nibble, each the code plus 8 (unsigned 0..15). Per 64-byte load: the low nibbles (AND
// 0x0F) and the high nibbles (shift right 4, AND) each go through one VPDPBUSD with 4 query bytes
// broadcast, into two accumulators. out[l] = norms[l] - 2*dot[l]; the caller's order ignores the
// constant 8·Σq. Bounds: |dot| ≤ 15·112·4096 < 2^23, no int32 overflow.
TEXT ·scoreBlocks4VNNI(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ blocks+8(FP), DI
	MOVQ norms+16(FP), BX
	MOVQ nblocks+24(FP), CX
	MOVQ out+32(FP), DX
	MOVQ pairs+40(FP), R8
	MOVL $0x0F0F0F0F, AX
	VPBROADCASTD AX, Z15

block4:
	TESTQ CX, CX
	JZ    done4
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ SI, R9
	MOVQ R8, R10

pairs2:
	CMPQ R10, $2
	JLT  pair1
	PREFETCHT0 4096(DI)
	VMOVDQU32 0(DI), Z4
	VPANDD Z15, Z4, Z5
	VPSRLW $4, Z4, Z6
	VPANDD Z15, Z6, Z6
	VPDPBUSD.BCST 0(R9), Z5, Z0
	VPDPBUSD.BCST 4(R9), Z6, Z1
	VMOVDQU32 64(DI), Z7
	VPANDD Z15, Z7, Z8
	VPSRLW $4, Z7, Z9
	VPANDD Z15, Z9, Z9
	VPDPBUSD.BCST 8(R9), Z8, Z2
	VPDPBUSD.BCST 12(R9), Z9, Z3
	ADDQ $128, DI
	ADDQ $16, R9
	SUBQ $2, R10
	JMP  pairs2

pair1:
	TESTQ R10, R10
	JZ    sum4
	VMOVDQU32 0(DI), Z4
	VPANDD Z15, Z4, Z5
	VPSRLW $4, Z4, Z6
	VPANDD Z15, Z6, Z6
	VPDPBUSD.BCST 0(R9), Z5, Z0
	VPDPBUSD.BCST 4(R9), Z6, Z1
	ADDQ $64, DI

sum4:
	VPADDD Z1, Z0, Z0
	VPADDD Z3, Z2, Z2
	VPADDD Z2, Z0, Z0
	VPSLLD $1, Z0, Z0
	VMOVDQU32 (BX), Z1
	VPSUBD Z0, Z1, Z1
	VMOVDQU32 Z1, (DX)
	ADDQ $64, BX
	ADDQ $64, DX
	DECQ CX
	JMP  block4

done4:
	VZEROUPPER
	RET
