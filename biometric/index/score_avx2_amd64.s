#include "textflag.h"

// AVX2 kernels for CPUs without AVX512-VNNI (the desks' Intel Core client chips): the same
// layouts and the same integers as the VNNI kernels in score_amd64.s and the portable loops in
// l2.go. A YMM register holds 8 lanes of a 64-byte group, so each group takes two halves.

// GROUP8 scores group g (dimensions 4g..4g+3, 64 bytes at off(DI)) of an 8-bit block: VPMADDUBSW
// would saturate (255·128·2 > 32767), so the codes are zero-extended to int16 (4 lanes per
// register) and VPMADDWD multiplies them by the query's 4 int16 broadcast to every lane, adding
// pairs into int32: each lane gets two partial sums (dimensions 4g,4g+1 and 4g+2,4g+3).
// Each group prefetches its line 4 KiB ahead (a two-core scan of 128 MB: 6.8-7.4 ms → 6.1-6.8 ms).
#define GROUP8(off, qoff) \
	PREFETCHT0 off+4096(DI); \
	VPBROADCASTQ qoff(SP), Y8; \
	VPMOVZXBW off(DI), Y4; \
	VPMOVZXBW off+16(DI), Y5; \
	VPMOVZXBW off+32(DI), Y6; \
	VPMOVZXBW off+48(DI), Y7; \
	VPMADDWD Y8, Y4, Y4; \
	VPMADDWD Y8, Y5, Y5; \
	VPMADDWD Y8, Y6, Y6; \
	VPMADDWD Y8, Y7, Y7; \
	VPADDD Y4, Y0, Y0; \
	VPADDD Y5, Y1, Y1; \
	VPADDD Y6, Y2, Y2; \
	VPADDD Y7, Y3, Y3

// func scoreBlocksAVX2(q *int8, blocks *uint8, norms *int32, nblocks int, out *int32)
//
// Layout as scoreBlocksVNNI: group g of a block is 64 bytes, lane l at bytes [4l, 4l+4), each
// byte the code plus 128. The query is widened once to int16 in the frame (256 bytes), so a
// group's 4 query values are one 8-byte broadcast. Y0..Y3 accumulate lanes 0-3, 4-7, 8-11,
// 12-15 as two int32 partials per lane; VPHADDD adds the partials (within 128-bit halves, so
// lanes come out as 0,1,4,5 | 2,3,6,7 and VPERMQ $0xD8 restores 0..7). out[l] = norms[l] -
// 2*dot[l]; bounds as the VNNI kernel: |dot| ≤ 128·255·128 < 2^23, and each VPMADDWD pair
// sum |255·128·2| < 2^31.
TEXT ·scoreBlocksAVX2(SB), NOSPLIT, $256-40
	MOVQ q+0(FP), SI
	MOVQ blocks+8(FP), DI
	MOVQ norms+16(FP), BX
	MOVQ nblocks+24(FP), CX
	MOVQ out+32(FP), DX
	VPMOVSXBW 0(SI), Y0
	VMOVDQU Y0, 0(SP)
	VPMOVSXBW 16(SI), Y0
	VMOVDQU Y0, 32(SP)
	VPMOVSXBW 32(SI), Y0
	VMOVDQU Y0, 64(SP)
	VPMOVSXBW 48(SI), Y0
	VMOVDQU Y0, 96(SP)
	VPMOVSXBW 64(SI), Y0
	VMOVDQU Y0, 128(SP)
	VPMOVSXBW 80(SI), Y0
	VMOVDQU Y0, 160(SP)
	VPMOVSXBW 96(SI), Y0
	VMOVDQU Y0, 192(SP)
	VPMOVSXBW 112(SI), Y0
	VMOVDQU Y0, 224(SP)

block8:
	TESTQ CX, CX
	JZ    done8
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	GROUP8(0, 0)
	GROUP8(64, 8)
	GROUP8(128, 16)
	GROUP8(192, 24)
	GROUP8(256, 32)
	GROUP8(320, 40)
	GROUP8(384, 48)
	GROUP8(448, 56)
	GROUP8(512, 64)
	GROUP8(576, 72)
	GROUP8(640, 80)
	GROUP8(704, 88)
	GROUP8(768, 96)
	GROUP8(832, 104)
	GROUP8(896, 112)
	GROUP8(960, 120)
	GROUP8(1024, 128)
	GROUP8(1088, 136)
	GROUP8(1152, 144)
	GROUP8(1216, 152)
	GROUP8(1280, 160)
	GROUP8(1344, 168)
	GROUP8(1408, 176)
	GROUP8(1472, 184)
	GROUP8(1536, 192)
	GROUP8(1600, 200)
	GROUP8(1664, 208)
	GROUP8(1728, 216)
	GROUP8(1792, 224)
	GROUP8(1856, 232)
	GROUP8(1920, 240)
	GROUP8(1984, 248)
	VPHADDD Y1, Y0, Y0
	VPHADDD Y3, Y2, Y2
	VPERMQ  $0xD8, Y0, Y0
	VPERMQ  $0xD8, Y2, Y2
	VPSLLD  $1, Y0, Y0
	VPSLLD  $1, Y2, Y2
	VMOVDQU 0(BX), Y4
	VMOVDQU 32(BX), Y5
	VPSUBD  Y0, Y4, Y4
	VPSUBD  Y2, Y5, Y5
	VMOVDQU Y4, 0(DX)
	VMOVDQU Y5, 32(DX)
	ADDQ $2048, DI
	ADDQ $64, BX
	ADDQ $64, DX
	DECQ CX
	JMP  block8

done8:
	VZEROUPPER
	RET

// PAIR4 adds pair h (dimensions 8h..8h+7, 64 bytes at off(DI), query bytes at qoff(R9)) of a
// 4-bit block into the int16 accumulators Y0 (lanes 0-7) and Y1 (lanes 8-15): low nibbles
// (AND 0x0F) times the 4 query bytes of dimensions 8h..8h+3, high nibbles (shift right 4, AND)
// times those of 8h+4..8h+7, by VPMADDUBSW (unsigned code ≤ 15 × signed query byte, each word
// the sum of two products: |·| ≤ 2·15·128 = 3840, no saturation).
#define PAIR4(off, qoff) \
	VPBROADCASTD qoff(R9), Y2; \
	VPBROADCASTD qoff+4(R9), Y3; \
	VMOVDQU off(DI), Y4; \
	VMOVDQU off+32(DI), Y5; \
	VPSRLW $4, Y4, Y6; \
	VPSRLW $4, Y5, Y7; \
	VPAND Y15, Y4, Y4; \
	VPAND Y15, Y5, Y5; \
	VPAND Y15, Y6, Y6; \
	VPAND Y15, Y7, Y7; \
	VPMADDUBSW Y2, Y4, Y4; \
	VPMADDUBSW Y2, Y5, Y5; \
	VPMADDUBSW Y3, Y6, Y6; \
	VPMADDUBSW Y3, Y7, Y7; \
	VPADDW Y4, Y0, Y0; \
	VPADDW Y5, Y1, Y1; \
	VPADDW Y6, Y0, Y0; \
	VPADDW Y7, Y1, Y1

// FLUSH4 widens the int16 accumulators to int32 (VPMADDWD by ones adds each lane's two words)
// into Y10 (lanes 0-7) and Y11 (lanes 8-15).
#define FLUSH4 \
	VPMADDWD Y14, Y0, Y0; \
	VPMADDWD Y14, Y1, Y1; \
	VPADDD Y0, Y10, Y10; \
	VPADDD Y1, Y11, Y11

// func scoreBlocks4AVX2(q *int8, blocks *uint8, norms *int32, nblocks int, out *int32, pairs int)
//
// Layout as scoreBlocks4VNNI (nibbleOffset): pair h of a block is 64 bytes, lane l at bytes
// [4l, 4l+4), byte t holding dimension 8h+t in its low nibble and 8h+4+t in its high nibble,
// each the code plus 8. A pair adds at most 2·3840 to a word (low and high nibbles), so the
// int16 accumulators take 4 pairs (4·2·3840 = 30720 < 32767) before FLUSH4 widens them. out[l] = norms[l] - 2*dot[l];
// |dot| ≤ 15·128·4096 < 2^23.
TEXT ·scoreBlocks4AVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ blocks+8(FP), DI
	MOVQ norms+16(FP), BX
	MOVQ nblocks+24(FP), CX
	MOVQ out+32(FP), DX
	MOVQ pairs+40(FP), R8
	MOVL $0x0F0F0F0F, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x00010001, AX
	MOVQ AX, X14
	VPBROADCASTD X14, Y14

block4:
	TESTQ CX, CX
	JZ    done4
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	MOVQ SI, R9
	MOVQ R8, R10

quad4:
	CMPQ R10, $4
	JLT  tail4
	// 4 KiB ahead, one line per 64 bytes as the VNNI kernels: the hardware prefetcher alone left
	// a two-core scan of 256 MB at 15-17 ms, 12.4-14 ms with these (2026-11-23, AVX2-only EPYC).
	PREFETCHT0 4096(DI)
	PREFETCHT0 4160(DI)
	PREFETCHT0 4224(DI)
	PREFETCHT0 4288(DI)
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	PAIR4(0, 0)
	PAIR4(64, 8)
	PAIR4(128, 16)
	PAIR4(192, 24)
	FLUSH4
	ADDQ $256, DI
	ADDQ $32, R9
	SUBQ $4, R10
	JMP  quad4

tail4:
	TESTQ R10, R10
	JZ    sum4
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1

tail4pair:
	PAIR4(0, 0)
	ADDQ $64, DI
	ADDQ $8, R9
	DECQ R10
	JNZ  tail4pair
	FLUSH4

sum4:
	VPSLLD  $1, Y10, Y10
	VPSLLD  $1, Y11, Y11
	VMOVDQU 0(BX), Y4
	VMOVDQU 32(BX), Y5
	VPSUBD  Y10, Y4, Y4
	VPSUBD  Y11, Y5, Y5
	VMOVDQU Y4, 0(DX)
	VMOVDQU Y5, 32(DX)
	ADDQ $64, BX
	ADDQ $64, DX
	DECQ CX
	JMP  block4

done4:
	VZEROUPPER
	RET
