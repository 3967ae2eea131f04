#include "textflag.h"

// func pairScoresPOPCNT(pc, rare, codes *uint64, n int, out *int32)
//
// For each of the n codes at codes (608 words apart): out[i] = popcount(pc AND code) +
// popcount(rare AND code) over the code's first 256 words (the first grid), 8 words per
// instruction with VPOPCNTQ (AVX512_VPOPCNTDQ).
TEXT ·pairScoresPOPCNT(SB), NOSPLIT, $0-40
	MOVQ pc+0(FP), SI
	MOVQ rare+8(FP), R8
	MOVQ codes+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DX

code:
	TESTQ CX, CX
	JZ    done
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	XORQ   AX, AX

word:
	VMOVDQU64 (DI)(AX*8), Z0
	VPANDQ    (SI)(AX*8), Z0, Z1
	VPANDQ    (R8)(AX*8), Z0, Z2
	VPOPCNTQ  Z1, Z1
	VPOPCNTQ  Z2, Z2
	VPADDQ    Z1, Z3, Z3
	VPADDQ    Z2, Z4, Z4
	ADDQ      $8, AX
	CMPQ      AX, $256
	JLT       word

	VPADDQ        Z4, Z3, Z3
	VEXTRACTI64X4 $1, Z3, Y4
	VPADDQ        Y4, Y3, Y3
	VEXTRACTI128  $1, Y3, X4
	VPADDQ        X4, X3, X3
	VPSHUFD       $0x4e, X3, X4
	VPADDQ        X4, X3, X3
	VMOVQ         X3, BX
	MOVL          BX, (DX)
	ADDQ          $4, DX
	ADDQ          $4864, DI
	DECQ          CX
	JMP           code

done:
	VZEROUPPER
	RET
