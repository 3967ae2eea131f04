package qrdecode

import "errors"

// GF(2^8) with the QR code's field polynomial x^8+x^4+x^3+x^2+1 (0x11D, ISO/IEC 18004:2015 §7.5.2)
// and generator α = 2.
var gfExp, gfLog = func() (exp [512]byte, log [256]int) {
	x := 1
	for i := 0; i < 255; i++ {
		exp[i] = byte(x)
		log[x] = i
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11D
		}
	}
	for i := 255; i < 512; i++ {
		exp[i] = exp[i-255]
	}
	return
}()

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[gfLog[a]+gfLog[b]]
}

func gfDiv(a, b byte) byte {
	if a == 0 {
		return 0
	}
	return gfExp[gfLog[a]+255-gfLog[b]]
}

// gfPow returns α^e for any integer e.
func gfPow(e int) byte {
	e %= 255
	if e < 0 {
		e += 255
	}
	return gfExp[e]
}

var errUncorrectable = errors.New("too many errors to correct")

// correct fixes up to ecc/2 symbol errors in block in place (data codewords followed by ecc
// error-correction codewords, highest-degree coefficient first). The code's generator polynomial
// has the roots α^0 … α^(ecc-1) (ISO/IEC 18004:2015 §7.5.2). It returns the number of errors fixed.
func correct(block []byte, ecc int) (int, error) {
	n := len(block)
	if ecc <= 0 || ecc >= n || n > 255 {
		return 0, errors.New("bad block geometry")
	}
	// Syndromes S_j = r(α^j).
	synd := make([]byte, ecc)
	clean := true
	for j := 0; j < ecc; j++ {
		var s byte
		a := gfPow(j)
		for _, c := range block {
			s = gfMul(s, a) ^ c
		}
		synd[j] = s
		if s != 0 {
			clean = false
		}
	}
	if clean {
		return 0, nil
	}
	// Berlekamp–Massey: the error locator Λ(x), lowest degree first.
	lambda := []byte{1}
	prev := []byte{1}
	l, m := 0, 1
	b := byte(1)
	for k := 0; k < ecc; k++ {
		d := synd[k]
		for i := 1; i <= l && i < len(lambda); i++ {
			d ^= gfMul(lambda[i], synd[k-i])
		}
		if d == 0 {
			m++
			continue
		}
		coef := gfDiv(d, b)
		next := make([]byte, max(len(lambda), len(prev)+m))
		copy(next, lambda)
		for i, p := range prev {
			next[i+m] ^= gfMul(coef, p)
		}
		if 2*l <= k {
			prev = lambda
			l = k + 1 - l
			b = d
			m = 1
		} else {
			m++
		}
		lambda = next
	}
	for len(lambda) > 1 && lambda[len(lambda)-1] == 0 {
		lambda = lambda[:len(lambda)-1]
	}
	nerr := len(lambda) - 1
	if nerr == 0 || 2*nerr > ecc {
		return 0, errUncorrectable
	}
	// Chien search: position p (from the start) has power i = n-1-p; an error there makes
	// Λ(α^-i) = 0.
	var pos []int
	for p := 0; p < n; p++ {
		xinv := gfPow(-(n - 1 - p))
		var v byte
		for i := len(lambda) - 1; i >= 0; i-- {
			v = gfMul(v, xinv) ^ lambda[i]
		}
		if v == 0 {
			pos = append(pos, p)
		}
	}
	if len(pos) != nerr {
		return 0, errUncorrectable
	}
	// Forney: Ω(x) = S(x)Λ(x) mod x^ecc; with first root α^0, e = X·Ω(X⁻¹)/Λ'(X⁻¹).
	omega := make([]byte, ecc)
	for i := 0; i < ecc; i++ {
		for j := 0; j <= i && j < len(lambda); j++ {
			omega[i] ^= gfMul(synd[i-j], lambda[j])
		}
	}
	for _, p := range pos {
		x := gfPow(n - 1 - p)
		xinv := gfPow(-(n - 1 - p))
		var om byte
		for i := ecc - 1; i >= 0; i-- {
			om = gfMul(om, xinv) ^ omega[i]
		}
		// Formal derivative: only odd powers survive in characteristic 2.
		var der byte
		for i := len(lambda) - 1; i >= 1; i-- {
			if i%2 == 1 {
				der ^= gfMul(lambda[i], gfPow(-(n-1-p)*(i-1)))
			}
		}
		if der == 0 {
			return 0, errUncorrectable
		}
		block[p] ^= gfMul(x, gfDiv(om, der))
	}
	// The corrected block must be a codeword.
	for j := 0; j < ecc; j++ {
		var s byte
		a := gfPow(j)
		for _, c := range block {
			s = gfMul(s, a) ^ c
		}
		if s != 0 {
			return 0, errUncorrectable
		}
	}
	return nerr, nil
}
