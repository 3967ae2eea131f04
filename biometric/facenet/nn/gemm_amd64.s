//go:build amd64 && !purego

#include "textflag.h"

// func kernel4x16AVX2(a *float32, lda int, b *float32, ldb, kc int, c *float32, ldc int, zero int)
// C[r][0:16] += sum_p A[r][p] * B[p][0:16] for r = 0..3 (with zero ≠ 0: C[r][0:16] = the sum,
// C's old values never read): eight YMM accumulators (two per row) stay in registers over the
// whole K loop; each step loads one 16-float row of B and broadcasts one value of each of the
// four rows of A.
TEXT ·kernel4x16AVX2(SB), NOSPLIT, $0-64
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R12
	SHLQ $2, R12
	MOVQ b+16(FP), BX
	MOVQ ldb+24(FP), DX
	SHLQ $2, DX
	MOVQ kc+32(FP), CX
	MOVQ c+40(FP), R10
	MOVQ ldc+48(FP), R11
	SHLQ $2, R11

	LEAQ (SI)(R12*1), DI
	LEAQ (DI)(R12*1), R8
	LEAQ (R8)(R12*1), R9

	LEAQ (R10)(R11*1), R13
	LEAQ (R13)(R11*1), R14
	LEAQ (R14)(R11*1), R15

	MOVQ  zero+56(FP), AX
	TESTQ AX, AX
	JNZ   zeroacc

	VMOVUPS (R10), Y0
	VMOVUPS 32(R10), Y1
	VMOVUPS (R13), Y2
	VMOVUPS 32(R13), Y3
	VMOVUPS (R14), Y4
	VMOVUPS 32(R14), Y5
	VMOVUPS (R15), Y6
	VMOVUPS 32(R15), Y7
	JMP     loop

zeroacc:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

loop:
	VMOVUPS (BX), Y8
	VMOVUPS 32(BX), Y9
	VBROADCASTSS (SI), Y10
	VBROADCASTSS (DI), Y11
	VBROADCASTSS (R8), Y12
	VBROADCASTSS (R9), Y13
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y9, Y11, Y3
	VFMADD231PS Y8, Y12, Y4
	VFMADD231PS Y9, Y12, Y5
	VFMADD231PS Y8, Y13, Y6
	VFMADD231PS Y9, Y13, Y7
	ADDQ $4, SI
	ADDQ $4, DI
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ DX, BX
	DECQ CX
	JNZ  loop

	VMOVUPS Y0, (R10)
	VMOVUPS Y1, 32(R10)
	VMOVUPS Y2, (R13)
	VMOVUPS Y3, 32(R13)
	VMOVUPS Y4, (R14)
	VMOVUPS Y5, 32(R14)
	VMOVUPS Y6, (R15)
	VMOVUPS Y7, 32(R15)
	VZEROUPPER
	RET

// func mulAddAVX2(o, x, w *float32, n int)
// o[i] += x[i] * w[i] for i < n (n a multiple of 8, checked by the Go wrapper).
TEXT ·mulAddAVX2(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   madone

maloop:
	VMOVUPS     (SI), Y0
	VMOVUPS     (DI), Y1
	VFMADD231PS (DX), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, DX
	DECQ        CX
	JNZ         maloop

madone:
	VZEROUPPER
	RET

// func biasPreluAVX2(row, bias, alpha *float32, n int)
// v = row[i] + bias[i]; row[i] = max(v, 0) + alpha[i] * min(v, 0) for i < n (n a multiple of 8);
// alpha == nil: row[i] = v.
TEXT ·biasPreluAVX2(SB), NOSPLIT, $0-32
	MOVQ   row+0(FP), DI
	MOVQ   bias+8(FP), SI
	MOVQ   alpha+16(FP), DX
	MOVQ   n+24(FP), CX
	SHRQ   $3, CX
	JZ     bpdone
	VXORPS Y15, Y15, Y15
	TESTQ  DX, DX
	JZ     biasloop

bploop:
	VMOVUPS     (DI), Y0
	VADDPS      (SI), Y0, Y0
	VMAXPS      Y15, Y0, Y1
	VMINPS      Y15, Y0, Y2
	VFMADD231PS (DX), Y2, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, DI
	ADDQ        $32, SI
	ADDQ        $32, DX
	DECQ        CX
	JNZ         bploop
	JMP         bpdone

biasloop:
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	DECQ    CX
	JNZ     biasloop

bpdone:
	VZEROUPPER
	RET
